//! Block-quantised matrices as llama.cpp stores them (Q4_1, Q8_0) and the integer dot products
//! the CPU decoder multiplies them with: the activation is quantised once per product to 8-bit
//! blocks with a scale and a scaled sum (llama.cpp's Q8_1), so each block of 32 weights costs
//! one integer dot product and two multiply-adds (`ggml_vec_dot_q4_1_q8_1`).
//!
//! Every kernel has a scalar version and an AVX2 one (through `pulp`, so without `unsafe`); they
//! differ only in the order floats are summed. Rows of a product are split across rayon's threads.

use std::sync::OnceLock;

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

/// Every f16 bit pattern as f32: block scales are looked up, not converted (as ggml does without
/// F16C), so the scalar and SIMD kernels see the same scales.
fn f16_table() -> &'static [f32; 65536] {
    static TABLE: OnceLock<Box<[f32; 65536]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let values: Vec<f32> = (0..=u16::MAX).map(f16_to_f32).collect();
        values
            .into_boxed_slice()
            .try_into()
            .expect("65536 f16 bit patterns")
    })
}

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
                *q = (v * inverse).round() as i8;
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
    /// Wraps raw blocks; `None` when `data` is not `rows × cols` weights in `format`.
    pub(crate) fn new(format: Format, rows: usize, cols: usize, data: Vec<u8>) -> Option<QMatrix> {
        let fits = cols.is_multiple_of(BLOCK)
            && rows
                .checked_mul(cols / BLOCK * format.block_bytes())
                .is_some_and(|n| n == data.len());
        fits.then_some(QMatrix {
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
        let data = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
        QMatrix::new(
            first.format,
            parts.iter().map(|p| p.rows).sum(),
            first.cols,
            data,
        )
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
        let table = f16_table();
        let data = self.row_data(r);
        let (out, _) = pulp::as_arrays_mut::<BLOCK, f32>(out);
        match self.format {
            Format::Q4_1 => {
                for (block, out) in pulp::as_arrays::<20, u8>(data).0.iter().zip(out) {
                    let [d0, d1, m0, m1, q @ ..] = *block;
                    let d = table[usize::from(u16::from_le_bytes([d0, d1]))];
                    let m = table[usize::from(u16::from_le_bytes([m0, m1]))];
                    let (lo, hi) = out.split_at_mut(BLOCK / 2);
                    for ((lo, hi), q) in lo.iter_mut().zip(hi).zip(q) {
                        *lo = d * f32::from(q & 0x0f) + m;
                        *hi = d * f32::from(q >> 4) + m;
                    }
                }
            }
            Format::Q8_0 => {
                for (block, out) in pulp::as_arrays::<34, u8>(data).0.iter().zip(out) {
                    let [d0, d1, q @ ..] = *block;
                    let d = table[usize::from(u16::from_le_bytes([d0, d1]))];
                    for (o, q) in out.iter_mut().zip(q) {
                        *o = d * f32::from(q as i8);
                    }
                }
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
            .for_each(|(i, out)| {
                let first = i * per;
                let count = out.len() / self.rows;
                // Row-major over weights: each weight row is used for every input in turn.
                let mut column = vec![0f32; count];
                for r in 0..self.rows {
                    self.dot_inputs(isa, r, x, first, &mut column);
                    for (t, v) in column.iter().enumerate() {
                        out[t * self.rows + r] = *v;
                    }
                }
            });
    }

    /// `out[i] = W[first + i] · x`.
    fn dot_rows(&self, isa: Isa, first: usize, x: Q8Row<'_>, out: &mut [f32]) {
        let n = self.row_bytes();
        let data = &self.data[first * n..(first + out.len()) * n];
        let table = f16_table();
        match isa {
            Isa::Scalar => {
                for (row, o) in data.chunks_exact(n).zip(out.iter_mut()) {
                    *o = dot_scalar(self.format, row, x, table);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(simd) => simd.vectorize(avx2::Rows {
                simd,
                format: self.format,
                data,
                row_bytes: n,
                x,
                table,
                out,
            }),
        }
    }

    /// `out[i] = W[r] · x[first + i]`.
    fn dot_inputs(&self, isa: Isa, r: usize, x: &Q8Rows, first: usize, out: &mut [f32]) {
        let row = self.row_data(r);
        let table = f16_table();
        match isa {
            Isa::Scalar => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = dot_scalar(self.format, row, x.row(first + i), table);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(simd) => simd.vectorize(avx2::Inputs {
                simd,
                format: self.format,
                row,
                x,
                first,
                table,
                out,
            }),
        }
    }
}

/// One row of blocks · one quantised activation row, in portable Rust.
fn dot_scalar(format: Format, row: &[u8], x: Q8Row<'_>, table: &[f32; 65536]) -> f32 {
    let mut sum = 0f32;
    match format {
        Format::Q4_1 => {
            let blocks = pulp::as_arrays::<20, u8>(row).0;
            for (((block, y), yd), ys) in blocks.iter().zip(x.qs).zip(x.d).zip(x.s) {
                let [d0, d1, m0, m1, q @ ..] = *block;
                let d = table[usize::from(u16::from_le_bytes([d0, d1]))];
                let m = table[usize::from(u16::from_le_bytes([m0, m1]))];
                let (lo, hi) = y.split_at(BLOCK / 2);
                let mut sumi = 0i32;
                for ((q, lo), hi) in q.iter().zip(lo).zip(hi) {
                    sumi +=
                        i32::from(q & 0x0f) * i32::from(*lo) + i32::from(q >> 4) * i32::from(*hi);
                }
                sum += sumi as f32 * (d * yd) + m * ys;
            }
        }
        Format::Q8_0 => {
            let blocks = pulp::as_arrays::<34, u8>(row).0;
            for ((block, y), yd) in blocks.iter().zip(x.qs).zip(x.d) {
                let [d0, d1, q @ ..] = *block;
                let d = table[usize::from(u16::from_le_bytes([d0, d1]))];
                let sumi: i32 = q
                    .iter()
                    .zip(y)
                    .map(|(q, y)| i32::from(*q as i8) * i32::from(*y))
                    .sum();
                sum += sumi as f32 * (d * yd);
            }
        }
    }
    sum
}

/// The AVX2 kernels: `maddubs` multiplies unsigned weight nibbles (or |weights|) by signed
/// activation bytes, `madd` widens the pair sums to i32, and one FMA per block applies the scales.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{__m128i, __m256, __m256i};

    use pulp::x86::V3;

    use super::{Format, Q8Row, Q8Rows};

    /// [`super::QMatrix::dot_rows`] as a `pulp` kernel.
    pub(super) struct Rows<'a> {
        pub simd: V3,
        pub format: Format,
        pub data: &'a [u8],
        pub row_bytes: usize,
        pub x: Q8Row<'a>,
        pub table: &'a [f32; 65536],
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
                x,
                table,
                out,
            } = self;
            for (row, o) in data.chunks_exact(row_bytes).zip(out.iter_mut()) {
                *o = dot(simd, format, row, x, table);
            }
        }
    }

    /// [`super::QMatrix::dot_inputs`] as a `pulp` kernel.
    pub(super) struct Inputs<'a> {
        pub simd: V3,
        pub format: Format,
        pub row: &'a [u8],
        pub x: &'a Q8Rows,
        pub first: usize,
        pub table: &'a [f32; 65536],
        pub out: &'a mut [f32],
    }

    impl pulp::NullaryFnOnce for Inputs<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Inputs {
                simd,
                format,
                row,
                x,
                first,
                table,
                out,
            } = self;
            for (i, o) in out.iter_mut().enumerate() {
                *o = dot(simd, format, row, x.row(first + i), table);
            }
        }
    }

    #[inline(always)]
    fn dot(simd: V3, format: Format, row: &[u8], x: Q8Row<'_>, table: &[f32; 65536]) -> f32 {
        match format {
            Format::Q4_1 => dot_q4_1(simd, row, x, table),
            Format::Q8_0 => dot_q8_0(simd, row, x, table),
        }
    }

    #[inline(always)]
    fn hsum(acc: __m256) -> f32 {
        let lanes: [f32; 8] = pulp::cast(acc);
        ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
    }

    /// Σ over 32 lanes of `u · s` (u unsigned, s signed bytes) as eight i32 lanes.
    #[inline(always)]
    fn madd_bytes(simd: V3, u: __m256i, s: __m256i) -> __m256i {
        let pairs = simd.avx2._mm256_maddubs_epi16(u, s);
        simd.avx2
            ._mm256_madd_epi16(pairs, simd.avx._mm256_set1_epi16(1))
    }

    #[inline(always)]
    fn dot_q4_1(simd: V3, row: &[u8], x: Q8Row<'_>, table: &[f32; 65536]) -> f32 {
        let low = simd.sse2._mm_set1_epi8(0x0f);
        // Two accumulators, swapped every block, so consecutive blocks' FMAs do not wait on
        // each other.
        let (mut acc, mut other) = (simd.avx._mm256_setzero_ps(), simd.avx._mm256_setzero_ps());
        let (mut mins, mut other_mins) = (0f32, 0f32);
        let blocks = pulp::as_arrays::<20, u8>(row).0;
        for (((block, y), yd), ys) in blocks.iter().zip(x.qs).zip(x.d).zip(x.s) {
            let [d0, d1, m0, m1, q @ ..] = *block;
            let d = table[usize::from(u16::from_le_bytes([d0, d1]))];
            let m = table[usize::from(u16::from_le_bytes([m0, m1]))];
            let q: __m128i = pulp::cast(q);
            let lo = simd.sse2._mm_and_si128(q, low);
            let hi = simd
                .sse2
                ._mm_and_si128(simd.sse2._mm_srli_epi16::<4>(q), low);
            let w = simd.avx._mm256_set_m128i(hi, lo);
            let y: __m256i = pulp::cast(*y);
            let sumi = simd.avx._mm256_cvtepi32_ps(madd_bytes(simd, w, y));
            let next = simd
                .fma
                ._mm256_fmadd_ps(sumi, simd.avx._mm256_set1_ps(d * yd), other);
            (other, acc) = (acc, next);
            (other_mins, mins) = (mins, other_mins + m * ys);
        }
        hsum(simd.avx._mm256_add_ps(acc, other)) + (mins + other_mins)
    }

    #[inline(always)]
    fn dot_q8_0(simd: V3, row: &[u8], x: Q8Row<'_>, table: &[f32; 65536]) -> f32 {
        let (mut acc, mut other) = (simd.avx._mm256_setzero_ps(), simd.avx._mm256_setzero_ps());
        let blocks = pulp::as_arrays::<34, u8>(row).0;
        for ((block, y), yd) in blocks.iter().zip(x.qs).zip(x.d) {
            let [d0, d1, q @ ..] = *block;
            let d = table[usize::from(u16::from_le_bytes([d0, d1]))];
            let w: __m256i = pulp::cast(q);
            let y: __m256i = pulp::cast(*y);
            // |w| · (y · sign w) = w · y, with the unsigned operand maddubs needs.
            let abs = simd.avx2._mm256_sign_epi8(w, w);
            let signed = simd.avx2._mm256_sign_epi8(y, w);
            let sumi = simd.avx._mm256_cvtepi32_ps(madd_bytes(simd, abs, signed));
            let next = simd
                .fma
                ._mm256_fmadd_ps(sumi, simd.avx._mm256_set1_ps(d * yd), other);
            (other, acc) = (acc, next);
        }
        hsum(simd.avx._mm256_add_ps(acc, other))
    }
}

#[cfg(test)]
mod tests;
