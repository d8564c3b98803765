//! Block-quantised matrices as llama.cpp stores them (Q4_1, Q8_0) and the integer dot products
//! the CPU decoder multiplies them with: the activation is quantised once per product to 8-bit
//! blocks with a scale and a scaled sum (llama.cpp's Q8_1), so each block of 32 weights costs
//! one integer dot product and two multiply-adds (`ggml_vec_dot_q4_1_q8_1`).
//!
//! Every kernel has a scalar version and an AVX2 one (through `pulp`, so without `unsafe`); they
//! differ only in the order floats are summed. Rows of a product are split across rayon's threads.
//!
//! Rows are repacked at load, in as many bytes as the file's blocks: the block scales of a row
//! are stored together after its weights, so the kernel converts eight f16 scales at once
//! instead of one per block, and in Q4_1 two neighbouring blocks share 32 bytes (block `2p` in
//! the low nibbles, `2p + 1` in the high ones), so one load and one shift unpack both.

use rayon::prelude::{IndexedParallelIterator, ParallelIterator, ParallelSliceMut};

/// Weights per block in every format here.
pub(crate) const BLOCK: usize = 32;

/// The block formats the decoder multiplies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `f16 d, f16 m, 16 bytes of nibbles`: weight = d·q + m, q in 0..16. Byte `j` holds
    /// weight `j` (low nibble) and weight `j + 16` (high nibble).
    Q4_1,
    /// `f16 d, 32 × i8`: weight = d·q.
    Q8_0,
}

impl Format {
    /// Bytes per block of 32 weights.
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            Format::Q4_1 => 20,
            Format::Q8_0 => 34,
        }
    }
}

/// Which kernels run: AVX2 + FMA where the CPU has them (checked once at run time), else scalar.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Isa {
    /// Portable Rust.
    Scalar,
    /// 256-bit integer and float SIMD.
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
}

impl Isa {
    /// The best instruction set this CPU offers.
    pub(crate) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            return Isa::Avx2(simd);
        }
        Isa::Scalar
    }
}

/// IEEE half → single precision, exact for every value (subnormals, infinities, NaN).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    match exponent {
        0 => {
            // Subnormal (or zero): mantissa · 2⁻²⁴, exact in f32.
            let magnitude = mantissa as f32 * f32::from_bits(0x3380_0000);
            f32::from_bits(sign | magnitude.to_bits())
        }
        0x1f => f32::from_bits(sign | 0x7f80_0000 | (mantissa << 13)),
        _ => f32::from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13)),
    }
}

/// 1.5 · 2²³: added to a float below 2²², pushes its fraction out of the mantissa.
const ROUNDER: f32 = 12_582_912.0;

/// Rows of activations quantised to 8-bit blocks: per block a scale `d` and `s = d · Σq`
/// (llama.cpp's Q8_1, with the two kept in f32). Buffers are reused between calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct Q8Rows {
    cols: usize,
    qs: Vec<[i8; BLOCK]>,
    d: Vec<f32>,
    s: Vec<f32>,
}

/// One quantised row of [`Q8Rows`].
#[derive(Clone, Copy)]
pub(crate) struct Q8Row<'a> {
    qs: &'a [[i8; BLOCK]],
    d: &'a [f32],
    s: &'a [f32],
}

impl Q8Rows {
    /// Quantises `x`, rows of `cols` values each (`cols` a multiple of [`BLOCK`]).
    pub(crate) fn quantize(&mut self, x: &[f32], cols: usize) {
        debug_assert!(cols.is_multiple_of(BLOCK) && x.len().is_multiple_of(cols));
        let blocks = x.len() / BLOCK;
        self.cols = cols;
        self.qs.resize(blocks, [0; BLOCK]);
        self.d.resize(blocks, 0.0);
        self.s.resize(blocks, 0.0);
        let (xs, _) = pulp::as_arrays::<BLOCK, f32>(x);
        for (((x, q), d), s) in xs
            .iter()
            .zip(self.qs.iter_mut())
            .zip(self.d.iter_mut())
            .zip(self.s.iter_mut())
        {
            let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = amax / 127.0;
            let inverse = if scale == 0.0 { 0.0 } else { 1.0 / scale };
            let mut sum = 0i32;
            for (q, v) in q.iter_mut().zip(x) {
                // |v · inverse| ≤ 127 (up to rounding), so the saturating cast never clips.
                // Adding and removing 1.5·2²³ rounds to nearest, ties to even, as AVX2's
                // `_mm256_round_ps` does in llama.cpp (and without a libm call).
                *q = ((v * inverse + ROUNDER) - ROUNDER) as i8;
                sum += i32::from(*q);
            }
            *d = scale;
            *s = scale * sum as f32;
        }
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        (self.d.len() * BLOCK).checked_div(self.cols).unwrap_or(0)
    }

    /// Row `r` (`r < rows()`).
    pub(crate) fn row(&self, r: usize) -> Q8Row<'_> {
        let per = self.cols / BLOCK;
        let range = r * per..(r + 1) * per;
        Q8Row {
            qs: &self.qs[range.clone()],
            d: &self.d[range.clone()],
            s: &self.s[range],
        }
    }
}

/// A weight matrix `(rows, cols)` in one block format, rows as in the GGUF file.
#[derive(Debug, Clone)]
pub(crate) struct QMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    data: Vec<u8>,
}

impl QMatrix {
    /// Repacks raw GGUF blocks `(rows, cols)` of `format`; says what is wrong when the bytes
    /// do not make that matrix or a block scale is not finite.
    pub(crate) fn new(
        format: Format,
        rows: usize,
        cols: usize,
        blocks: &[u8],
    ) -> Result<QMatrix, String> {
        let block_bytes = format.block_bytes();
        let per_row = cols / BLOCK;
        if rows == 0 || cols == 0 {
            return Err(format!(
                "a {rows}×{cols} matrix has no weights; the file is damaged"
            ));
        }
        if !cols.is_multiple_of(BLOCK)
            || rows.checked_mul(per_row * block_bytes) != Some(blocks.len())
        {
            return Err(format!(
                "{} bytes of {format:?} blocks do not make a {rows}×{cols} matrix",
                blocks.len()
            ));
        }
        let mut data = Vec::with_capacity(blocks.len());
        for row in blocks.chunks_exact(per_row * block_bytes) {
            let blocks: Vec<&[u8]> = row.chunks_exact(block_bytes).collect();
            if blocks.iter().any(|b| {
                let scales = if format == Format::Q4_1 {
                    &b[..4]
                } else {
                    &b[..2]
                };
                scales
                    .chunks_exact(2)
                    .any(|h| u16::from_le_bytes([h[0], h[1]]) & 0x7c00 == 0x7c00)
            }) {
                return Err("a block scale is infinite or NaN".to_owned());
            }
            match format {
                Format::Q4_1 => {
                    for pair in blocks.chunks_exact(2) {
                        let (a, b) = (&pair[0][4..20], &pair[1][4..20]);
                        // Weight j of a block is nibble j % 16 of byte j / 16 … in the file;
                        // here byte j holds weight j of block A (low) and of block B (high).
                        let value = |q: &[u8], j: usize| {
                            if j < 16 { q[j] & 0x0f } else { q[j - 16] >> 4 }
                        };
                        data.extend((0..BLOCK).map(|j| value(a, j) | (value(b, j) << 4)));
                    }
                    if let Some(last) = blocks.chunks_exact(2).remainder().first() {
                        data.extend_from_slice(&last[4..20]);
                    }
                    data.extend(blocks.iter().flat_map(|b| [b[0], b[1]]));
                    data.extend(blocks.iter().flat_map(|b| [b[2], b[3]]));
                }
                Format::Q8_0 => {
                    data.extend(blocks.iter().flat_map(|b| b[2..].iter().copied()));
                    data.extend(blocks.iter().flat_map(|b| [b[0], b[1]]));
                }
            }
        }
        Ok(QMatrix {
            format,
            rows,
            cols,
            data,
        })
    }

    /// The rows of several matrices of one format and width, stacked (fused projections);
    /// `None` when formats or widths differ.
    pub(crate) fn stack(parts: &[QMatrix]) -> Option<QMatrix> {
        let first = parts.first()?;
        if parts
            .iter()
            .any(|p| p.format != first.format || p.cols != first.cols)
        {
            return None;
        }
        let mut data = Vec::with_capacity(parts.iter().map(|p| p.data.len()).sum());
        for p in parts {
            data.extend_from_slice(&p.data);
        }
        Some(QMatrix {
            format: first.format,
            rows: parts.iter().map(|p| p.rows).sum(),
            cols: first.cols,
            data,
        })
    }

    /// Number of rows (outputs).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs).
    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of block data.
    pub(crate) fn bytes(&self) -> usize {
        self.data.len()
    }

    fn row_bytes(&self) -> usize {
        self.cols / BLOCK * self.format.block_bytes()
    }

    fn row_data(&self, r: usize) -> &[u8] {
        let n = self.row_bytes();
        &self.data[r * n..(r + 1) * n]
    }

    /// Row `r` dequantised into `out` (`cols` values).
    pub(crate) fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let row = Row::new(self.format, self.row_data(r), self.cols / BLOCK);
        let (out, _) = pulp::as_arrays_mut::<BLOCK, f32>(out);
        for (k, out) in out.iter_mut().enumerate() {
            let (d, m) = row.scales(k);
            let q = row.weights(k);
            for (o, q) in out.iter_mut().zip(q) {
                *o = d * f32::from(q) + m;
            }
        }
    }

    /// `out[t · rows + r] = W[r] · x[t]` for every row `t` of `x` (`x.cols == cols`).
    /// One input row splits the output rows across threads; several split the inputs.
    pub(crate) fn mul(&self, isa: Isa, x: &Q8Rows, out: &mut [f32]) {
        debug_assert_eq!(x.cols, self.cols);
        let n = x.rows();
        debug_assert_eq!(out.len(), n * self.rows);
        let threads = rayon::current_num_threads().max(1);
        if n == 1 {
            let x = x.row(0);
            let chunk = self.rows.div_ceil(threads).max(1);
            if threads == 1 {
                self.dot_rows(isa, 0, x, out);
            } else {
                out.par_chunks_mut(chunk)
                    .enumerate()
                    .for_each(|(i, out)| self.dot_rows(isa, i * chunk, x, out));
            }
            return;
        }
        let per = n.div_ceil(threads).max(1);
        out.par_chunks_mut(per * self.rows)
            .enumerate()
            .for_each(|(i, out)| self.dot_inputs(isa, x, i * per, out));
    }

    /// `out[i] = W[first + i] · x`.
    fn dot_rows(&self, isa: Isa, first: usize, x: Q8Row<'_>, out: &mut [f32]) {
        let n = self.row_bytes();
        let data = &self.data[first * n..(first + out.len()) * n];
        let blocks = self.cols / BLOCK;
        match isa {
            Isa::Scalar => {
                for (row, o) in data.chunks_exact(n).zip(out.iter_mut()) {
                    *o = dot_scalar(Row::new(self.format, row, blocks), x);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(simd) => simd.vectorize(avx2::Rows {
                simd,
                format: self.format,
                data,
                row_bytes: n,
                blocks,
                x,
                out,
            }),
        }
    }

    /// `out[t · rows + r] = W[r] · x[first + t]` for every row, inputs `first..` as many as
    /// `out` holds; row-major over weights, so a row is reused for every input in turn.
    fn dot_inputs(&self, isa: Isa, x: &Q8Rows, first: usize, out: &mut [f32]) {
        let blocks = self.cols / BLOCK;
        match isa {
            Isa::Scalar => {
                for (r, row) in self.data.chunks_exact(self.row_bytes()).enumerate() {
                    let row = Row::new(self.format, row, blocks);
                    for (t, o) in out.chunks_exact_mut(self.rows).enumerate() {
                        o[r] = dot_scalar(row, x.row(first + t));
                    }
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(simd) => simd.vectorize(avx2::Inputs {
                simd,
                format: self.format,
                data: &self.data,
                row_bytes: self.row_bytes(),
                blocks,
                rows: self.rows,
                x,
                first,
                out,
            }),
        }
    }
}

/// One repacked row: its weight bytes and its block scales, split apart.
#[derive(Clone, Copy)]
pub(crate) struct Row<'a> {
    format: Format,
    blocks: usize,
    /// Q4_1: pairs of blocks in 32 bytes, then an odd last block in the file's 16 bytes;
    /// Q8_0: 32 bytes per block.
    qs: &'a [u8],
    /// f16 `d` per block.
    d: &'a [u8],
    /// f16 `m` per block (Q4_1; empty for Q8_0).
    m: &'a [u8],
}

impl<'a> Row<'a> {
    fn new(format: Format, data: &'a [u8], blocks: usize) -> Row<'a> {
        let weight_bytes = match format {
            Format::Q4_1 => blocks * 16,
            Format::Q8_0 => blocks * BLOCK,
        };
        let (qs, scales) = data.split_at(weight_bytes);
        let (d, m) = scales.split_at(2 * blocks);
        Row {
            format,
            blocks,
            qs,
            d,
            m,
        }
    }

    /// `(d, m)` of block `k` (`m` is 0 in Q8_0).
    fn scales(&self, k: usize) -> (f32, f32) {
        let half = |bytes: &[u8]| {
            bytes
                .get(2 * k..2 * k + 2)
                .map_or(0.0, |h| f16_to_f32(u16::from_le_bytes([h[0], h[1]])))
        };
        (half(self.d), half(self.m))
    }

    /// The 32 integer weights of block `k`, in order.
    fn weights(&self, k: usize) -> [i16; BLOCK] {
        let mut out = [0i16; BLOCK];
        match self.format {
            Format::Q8_0 => {
                for (o, q) in out.iter_mut().zip(&self.qs[k * BLOCK..(k + 1) * BLOCK]) {
                    *o = i16::from(*q as i8);
                }
            }
            Format::Q4_1 if k / 2 < self.blocks / 2 => {
                let pair = &self.qs[k / 2 * BLOCK..(k / 2 + 1) * BLOCK];
                let shift = 4 * (k % 2);
                for (o, q) in out.iter_mut().zip(pair) {
                    *o = i16::from((q >> shift) & 0x0f);
                }
            }
            Format::Q4_1 => {
                let q = &self.qs[self.blocks / 2 * BLOCK..];
                for (j, o) in out.iter_mut().enumerate() {
                    *o = i16::from(if j < 16 { q[j] & 0x0f } else { q[j - 16] >> 4 });
                }
            }
        }
        out
    }
}

/// One row · one quantised activation row, in portable Rust.
fn dot_scalar(row: Row<'_>, x: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (k, ((y, yd), ys)) in x.qs.iter().zip(x.d).zip(x.s).enumerate().take(row.blocks) {
        let (d, m) = row.scales(k);
        let sumi: i32 = row
            .weights(k)
            .iter()
            .zip(y)
            .map(|(q, y)| i32::from(*q) * i32::from(*y))
            .sum();
        sum += sumi as f32 * (d * yd) + m * ys;
    }
    sum
}

/// The AVX2 kernels: `maddubs` multiplies unsigned weight nibbles (or |weights|) by signed
/// activation bytes, `madd` widens the pair sums to i32, and one FMA per block applies the scales,
/// which are converted eight at a time beforehand.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{__m128i, __m256, __m256i};

    use pulp::x86::V3;

    use super::{BLOCK, Format, Q8Row, Q8Rows, Row};

    /// Blocks whose scales are converted in one go (a stack buffer).
    const CHUNK: usize = 64;

    /// [`super::QMatrix::dot_rows`] as a `pulp` kernel.
    pub(super) struct Rows<'a> {
        pub simd: V3,
        pub format: Format,
        pub data: &'a [u8],
        pub row_bytes: usize,
        pub blocks: usize,
        pub x: Q8Row<'a>,
        pub out: &'a mut [f32],
    }

    impl pulp::NullaryFnOnce for Rows<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Rows {
                simd,
                format,
                data,
                row_bytes,
                blocks,
                x,
                out,
            } = self;
            for (row, o) in data.chunks_exact(row_bytes).zip(out.iter_mut()) {
                *o = dot(simd, Row::new(format, row, blocks), x);
            }
        }
    }

    /// [`super::QMatrix::dot_inputs`] as a `pulp` kernel.
    pub(super) struct Inputs<'a> {
        pub simd: V3,
        pub format: Format,
        pub data: &'a [u8],
        pub row_bytes: usize,
        pub blocks: usize,
        pub rows: usize,
        pub x: &'a Q8Rows,
        pub first: usize,
        pub out: &'a mut [f32],
    }

    impl pulp::NullaryFnOnce for Inputs<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Inputs {
                simd,
                format,
                data,
                row_bytes,
                blocks,
                rows,
                x,
                first,
                out,
            } = self;
            let count = out.len() / rows;
            for (r, row) in data.chunks_exact(row_bytes).enumerate() {
                let row = Row::new(format, row, blocks);
                // Four inputs at a time share each unpacked weight pair.
                let mut t = 0;
                while t + 4 <= count {
                    let xs = std::array::from_fn(|j| x.row(first + t + j));
                    for (j, v) in dot4(simd, row, xs).into_iter().enumerate() {
                        out[(t + j) * rows + r] = v;
                    }
                    t += 4;
                }
                for t in t..count {
                    out[t * rows + r] = dot(simd, row, x.row(first + t));
                }
            }
        }
    }

    /// f16 values (2 bytes each, at most [`CHUNK`]) as f32, eight at a time.
    #[inline(always)]
    fn convert(simd: V3, halves: &[u8], out: &mut [f32; CHUNK]) {
        let n = halves.len() / 2;
        let (h8, rest) = pulp::as_arrays::<16, u8>(halves);
        let (o8, _) = pulp::as_arrays_mut::<8, f32>(&mut out[..]);
        for (o, h) in o8.iter_mut().zip(h8) {
            *o = pulp::cast(f16x8(simd, *h));
        }
        if rest.is_empty() {
            return;
        }
        let start = n.saturating_sub(8);
        let padded: [u8; 16] = match halves.get(2 * start..2 * start + 16) {
            // The last eight values again (those already converted come out the same).
            Some(last) => last.try_into().unwrap_or_default(),
            None => {
                let mut padded = [0u8; 16];
                for (p, h) in padded.iter_mut().zip(halves) {
                    *p = *h;
                }
                padded
            }
        };
        let v: [f32; 8] = pulp::cast(f16x8(simd, padded));
        for (o, v) in out[start..n].iter_mut().zip(v) {
            *o = v;
        }
    }

    /// [`dot`] of one row with four inputs.
    #[inline(always)]
    fn dot4(simd: V3, row: Row<'_>, xs: [Q8Row<'_>; 4]) -> [f32; 4] {
        let mut dw = [0f32; CHUNK];
        let mut mw = [0f32; CHUNK];
        let mut acc = [simd.avx._mm256_setzero_ps(); 4];
        let mut tail = [0f32; 4];
        let low = simd.avx._mm256_set1_epi8(0x0f);
        let mut first = 0;
        while first < row.blocks {
            let n = CHUNK.min(row.blocks - first);
            convert(simd, &row.d[2 * first..2 * (first + n)], &mut dw);
            if !row.m.is_empty() {
                convert(simd, &row.m[2 * first..2 * (first + n)], &mut mw);
                for (x, tail) in xs.iter().zip(tail.iter_mut()) {
                    let ys = &x.s[first..first + n];
                    *tail += mw[..n].iter().zip(ys).map(|(m, s)| m * s).sum::<f32>();
                }
            }
            let y2: [&[[[i8; BLOCK]; 2]]; 4] =
                xs.map(|x| pulp::as_arrays::<2, [i8; BLOCK]>(&x.qs[first..first + n]).0);
            let yd: [&[f32]; 4] = xs.map(|x| &x.d[first..first + n]);
            let pairs = n / 2;
            let yd2: [&[[f32; 2]]; 4] = yd.map(|yd| pulp::as_arrays::<2, f32>(yd).0);
            let [y0, y1, y2, y3] = y2;
            let [d0, d1, d2, d3] = yd2;
            let inputs = y0
                .iter()
                .zip(d0)
                .zip(y1.iter().zip(d1))
                .zip(y2.iter().zip(d2))
                .zip(y3.iter().zip(d3));
            let [mut a0, mut a1, mut a2, mut a3] = acc;
            // One pair of blocks · one input: both blocks' integer sums scaled into `acc`.
            let step = |acc: __m256, sa: __m256, sb: __m256, w: [f32; 2], yd: &[f32; 2]| {
                let acc = simd
                    .fma
                    ._mm256_fmadd_ps(sa, simd.avx._mm256_set1_ps(w[0] * yd[0]), acc);
                simd.fma
                    ._mm256_fmadd_ps(sb, simd.avx._mm256_set1_ps(w[1] * yd[1]), acc)
            };
            let (dw2, _) = pulp::as_arrays::<2, f32>(&dw[..pairs * 2]);
            match row.format {
                Format::Q4_1 => {
                    let bytes = &row.qs[first * 16..(first + pairs * 2) * 16];
                    let (q2, _) = pulp::as_arrays::<BLOCK, u8>(bytes);
                    for ((q, w), ((((ya0, yd0), (ya1, yd1)), (ya2, yd2)), (ya3, yd3))) in
                        q2.iter().zip(dw2).zip(inputs)
                    {
                        let v: __m256i = pulp::cast(*q);
                        let a = simd.avx2._mm256_and_si256(v, low);
                        let b = simd
                            .avx2
                            ._mm256_and_si256(simd.avx2._mm256_srli_epi16::<4>(v), low);
                        let sums = |y: &[[i8; BLOCK]; 2]| {
                            (
                                madd_bytes(simd, a, pulp::cast(y[0])),
                                madd_bytes(simd, b, pulp::cast(y[1])),
                            )
                        };
                        let (sa, sb) = sums(ya0);
                        a0 = step(a0, sa, sb, *w, yd0);
                        let (sa, sb) = sums(ya1);
                        a1 = step(a1, sa, sb, *w, yd1);
                        let (sa, sb) = sums(ya2);
                        a2 = step(a2, sa, sb, *w, yd2);
                        let (sa, sb) = sums(ya3);
                        a3 = step(a3, sa, sb, *w, yd3);
                    }
                }
                Format::Q8_0 => {
                    let bytes = &row.qs[first * BLOCK..(first + pairs * 2) * BLOCK];
                    let (q2, _) =
                        pulp::as_arrays::<2, [u8; BLOCK]>(pulp::as_arrays::<BLOCK, u8>(bytes).0);
                    for (([qa, qb], w), ((((ya0, yd0), (ya1, yd1)), (ya2, yd2)), (ya3, yd3))) in
                        q2.iter().zip(dw2).zip(inputs)
                    {
                        let (qa, qb): (__m256i, __m256i) = (pulp::cast(*qa), pulp::cast(*qb));
                        let sums = |y: &[[i8; BLOCK]; 2]| {
                            (
                                signed_dot(simd, qa, pulp::cast(y[0])),
                                signed_dot(simd, qb, pulp::cast(y[1])),
                            )
                        };
                        let (sa, sb) = sums(ya0);
                        a0 = step(a0, sa, sb, *w, yd0);
                        let (sa, sb) = sums(ya1);
                        a1 = step(a1, sa, sb, *w, yd1);
                        let (sa, sb) = sums(ya2);
                        a2 = step(a2, sa, sb, *w, yd2);
                        let (sa, sb) = sums(ya3);
                        a3 = step(a3, sa, sb, *w, yd3);
                    }
                }
            }
            acc = [a0, a1, a2, a3];
            if n % 2 == 1 {
                let k = first + n - 1;
                let w = row.weights(k);
                for (j, x) in xs.iter().enumerate() {
                    let sumi: i32 = w
                        .iter()
                        .zip(&x.qs[k])
                        .map(|(q, y)| i32::from(*q) * i32::from(*y))
                        .sum();
                    tail[j] += sumi as f32 * (dw[n - 1] * x.d[k]);
                }
            }
            first += n;
        }
        std::array::from_fn(|j| hsum(simd, acc[j]) + tail[j])
    }

    #[inline(always)]
    fn hsum(simd: V3, acc: __m256) -> f32 {
        let high = simd.avx._mm256_extractf128_ps::<1>(acc);
        let four = simd
            .sse
            ._mm_add_ps(simd.avx._mm256_castps256_ps128(acc), high);
        let two = simd
            .sse
            ._mm_add_ps(four, simd.sse._mm_movehl_ps(four, four));
        let one = simd.sse._mm_add_ss(two, simd.sse3._mm_movehdup_ps(two));
        simd.sse._mm_cvtss_f32(one)
    }

    /// Eight f16 values (16 bytes) as f32: the magnitude bits moved into place and rescaled by
    /// 2¹¹², exact for every finite value (load refuses the others).
    #[inline(always)]
    fn f16x8(simd: V3, bytes: [u8; 16]) -> __m256 {
        let h: __m128i = pulp::cast(bytes);
        let w = simd.avx2._mm256_cvtepu16_epi32(h);
        let sign = simd.avx2._mm256_slli_epi32::<16>(
            simd.avx2
                ._mm256_and_si256(w, simd.avx._mm256_set1_epi32(0x8000)),
        );
        let magnitude = simd.avx2._mm256_slli_epi32::<13>(
            simd.avx2
                ._mm256_and_si256(w, simd.avx._mm256_set1_epi32(0x7fff)),
        );
        let value = simd.avx._mm256_mul_ps(
            simd.avx._mm256_castsi256_ps(magnitude),
            simd.avx._mm256_set1_ps(f32::from_bits(0x7780_0000)),
        );
        simd.avx
            ._mm256_or_ps(value, simd.avx._mm256_castsi256_ps(sign))
    }

    /// `dd[i] = d_w · d_x` for blocks `first..first + n` and `Σ m_w · s_x` over them; a last
    /// group of fewer than eight blocks goes through zero-padded copies.
    #[inline(always)]
    fn scales(
        simd: V3,
        row: Row<'_>,
        x: Q8Row<'_>,
        first: usize,
        n: usize,
        dd: &mut [f32; CHUNK],
    ) -> __m256 {
        let d = &row.d[2 * first..2 * (first + n)];
        let m = row.m.get(2 * first..2 * (first + n)).unwrap_or_default();
        let yd = &x.d[first..first + n];
        let ys = &x.s[first..first + n];
        let mut mins = simd.avx._mm256_setzero_ps();
        let (d8, d_rest) = pulp::as_arrays::<16, u8>(d);
        let (m8, m_rest) = pulp::as_arrays::<16, u8>(m);
        let (yd8, yd_rest) = pulp::as_arrays::<8, f32>(yd);
        let (ys8, ys_rest) = pulp::as_arrays::<8, f32>(ys);
        let groups = d8.len();
        let (dd8, dd_rest) = pulp::as_arrays_mut::<8, f32>(&mut dd[..]);
        for (out, (dw, yd)) in dd8.iter_mut().zip(d8.iter().zip(yd8)) {
            *out = pulp::cast(simd.avx._mm256_mul_ps(f16x8(simd, *dw), pulp::cast(*yd)));
        }
        for (mw, ys) in m8.iter().zip(ys8) {
            mins = simd
                .fma
                ._mm256_fmadd_ps(f16x8(simd, *mw), pulp::cast(*ys), mins);
        }
        let rest = yd_rest.len();
        if rest > 0 && n >= 8 {
            // The last eight blocks again: their scales are rewritten with the same values,
            // and only the `rest` new ones count towards the mins.
            let last = n - 8;
            let dw: [u8; 16] = d[2 * last..2 * n].try_into().unwrap_or_default();
            let yd: [f32; 8] = yd[last..n].try_into().unwrap_or_default();
            let v: [f32; 8] = pulp::cast(simd.avx._mm256_mul_ps(f16x8(simd, dw), pulp::cast(yd)));
            dd[last..n].copy_from_slice(&v);
            if let (Ok(mw), Ok(ys)) = (
                <[u8; 16]>::try_from(m.get(2 * last..2 * n).unwrap_or_default()),
                <[f32; 8]>::try_from(&ys[last..n]),
            ) {
                let keep: [f32; 8] =
                    std::array::from_fn(|lane| if lane >= 8 - rest { 1.0 } else { 0.0 });
                let ys = simd.avx._mm256_mul_ps(pulp::cast(ys), pulp::cast(keep));
                mins = simd.fma._mm256_fmadd_ps(f16x8(simd, mw), ys, mins);
            }
        } else if rest > 0 {
            let pad16 = |bytes: &[u8]| {
                let mut out = [0u8; 16];
                for (o, b) in out.iter_mut().zip(bytes) {
                    *o = *b;
                }
                out
            };
            let pad8 = |values: &[f32]| {
                let mut out = [0f32; 8];
                for (o, v) in out.iter_mut().zip(values) {
                    *o = *v;
                }
                out
            };
            let v: [f32; 8] = pulp::cast(
                simd.avx
                    ._mm256_mul_ps(f16x8(simd, pad16(d_rest)), pulp::cast(pad8(yd_rest))),
            );
            for (o, v) in dd_rest
                .iter_mut()
                .chain(dd8.get_mut(groups).into_iter().flatten())
                .zip(v)
            {
                *o = v;
            }
            if !m_rest.is_empty() {
                mins = simd.fma._mm256_fmadd_ps(
                    f16x8(simd, pad16(m_rest)),
                    pulp::cast(pad8(ys_rest)),
                    mins,
                );
            }
        }
        mins
    }

    /// Σ over 32 lanes of `u · s` (u unsigned, s signed bytes) as eight f32 lanes.
    #[inline(always)]
    fn madd_bytes(simd: V3, u: __m256i, s: __m256i) -> __m256 {
        let pairs = simd.avx2._mm256_maddubs_epi16(u, s);
        let sums = simd
            .avx2
            ._mm256_madd_epi16(pairs, simd.avx._mm256_set1_epi16(1));
        simd.avx._mm256_cvtepi32_ps(sums)
    }

    #[inline(always)]
    fn dot(simd: V3, row: Row<'_>, x: Q8Row<'_>) -> f32 {
        let mut dd = [0f32; CHUNK];
        let (mut even, mut odd) = (simd.avx._mm256_setzero_ps(), simd.avx._mm256_setzero_ps());
        let mut mins = simd.avx._mm256_setzero_ps();
        let mut tail = 0f32;
        let low = simd.avx._mm256_set1_epi8(0x0f);
        let mut first = 0;
        while first < row.blocks {
            let n = CHUNK.min(row.blocks - first);
            mins = simd
                .avx
                ._mm256_add_ps(mins, scales(simd, row, x, first, n, &mut dd));
            let ys = &x.qs[first..first + n];
            let (y2, _) = pulp::as_arrays::<2, [i8; BLOCK]>(ys);
            let (dd2, _) = pulp::as_arrays::<2, f32>(&dd[..n]);
            match row.format {
                Format::Q4_1 => {
                    // Chunks start at even blocks, so pairs of the chunk are pairs of the row.
                    let pairs = &row.qs[first * 16..(first + n / 2 * 2) * 16];
                    let (q2, _) = pulp::as_arrays::<BLOCK, u8>(pairs);
                    for ((q, [ya, yb]), [da, db]) in q2.iter().zip(y2).zip(dd2) {
                        let v: __m256i = pulp::cast(*q);
                        let a = simd.avx2._mm256_and_si256(v, low);
                        let b = simd
                            .avx2
                            ._mm256_and_si256(simd.avx2._mm256_srli_epi16::<4>(v), low);
                        let sa = madd_bytes(simd, a, pulp::cast(*ya));
                        let sb = madd_bytes(simd, b, pulp::cast(*yb));
                        even = simd
                            .fma
                            ._mm256_fmadd_ps(sa, simd.avx._mm256_set1_ps(*da), even);
                        odd = simd
                            .fma
                            ._mm256_fmadd_ps(sb, simd.avx._mm256_set1_ps(*db), odd);
                    }
                }
                Format::Q8_0 => {
                    let weights = &row.qs[first * BLOCK..(first + n / 2 * 2) * BLOCK];
                    let (q2, _) =
                        pulp::as_arrays::<2, [u8; BLOCK]>(pulp::as_arrays::<BLOCK, u8>(weights).0);
                    for (([qa, qb], [ya, yb]), [da, db]) in q2.iter().zip(y2).zip(dd2) {
                        let (wa, wb): (__m256i, __m256i) = (pulp::cast(*qa), pulp::cast(*qb));
                        let sa = signed_dot(simd, wa, pulp::cast(*ya));
                        let sb = signed_dot(simd, wb, pulp::cast(*yb));
                        even = simd
                            .fma
                            ._mm256_fmadd_ps(sa, simd.avx._mm256_set1_ps(*da), even);
                        odd = simd
                            .fma
                            ._mm256_fmadd_ps(sb, simd.avx._mm256_set1_ps(*db), odd);
                    }
                }
            }
            if n % 2 == 1 {
                // The odd last block of the row.
                let k = first + n - 1;
                let w = row.weights(k);
                let sumi: i32 = w
                    .iter()
                    .zip(&x.qs[k])
                    .map(|(q, y)| i32::from(*q) * i32::from(*y))
                    .sum();
                tail += sumi as f32 * dd[n - 1];
            }
            first += n;
        }
        let all = simd
            .avx
            ._mm256_add_ps(simd.avx._mm256_add_ps(even, odd), mins);
        hsum(simd, all) + tail
    }

    /// Σ w·y of signed bytes: |w| · (y · sign w), the unsigned operand `maddubs` needs.
    #[inline(always)]
    fn signed_dot(simd: V3, w: __m256i, y: __m256i) -> __m256 {
        let abs = simd.avx2._mm256_sign_epi8(w, w);
        let signed = simd.avx2._mm256_sign_epi8(y, w);
        madd_bytes(simd, abs, signed)
    }
}

#[cfg(test)]
mod tests;
