//! The block kernels against candle's f16 conversion and dequantisation, against float dot
//! products, and the SIMD kernels against the scalar ones.

use std::borrow::Cow;

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{DType, Device, Tensor};

use super::*;
use crate::rng::Rng;

fn normal(rng: &mut Rng) -> f32 {
    // Box–Muller: weights and activations look roughly Gaussian.
    let (u, v) = (rng.next_f64().max(1e-12), rng.next_f64());
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

fn random(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| normal(rng) * scale).collect()
}

/// A repacked matrix and the GGUF blocks it came from.
struct Case {
    m: QMatrix,
    blocks: Vec<u8>,
}

/// `values` `(rows, cols)` quantised by candle (ggml's reference quantisers) into `format`.
fn candle_matrix(values: &[f32], rows: usize, cols: usize, format: Format) -> Case {
    let t = Tensor::from_slice(values, (rows, cols), &Device::Cpu).unwrap();
    let blocks = QTensor::quantize(&t, dtype(format))
        .unwrap()
        .data()
        .unwrap()
        .into_owned();
    Case {
        m: QMatrix::new(format, rows, cols, &blocks).unwrap(),
        blocks,
    }
}

fn dtype(format: Format) -> GgmlDType {
    match format {
        Format::Q4_1 => GgmlDType::Q4_1,
        Format::Q8_0 => GgmlDType::Q8_0,
    }
}

/// Candle's dequantisation of the same blocks, row-major.
fn candle_dequantized(c: &Case) -> Vec<f32> {
    let m = &c.m;
    let storage = QStorage::from_data(Cow::Borrowed(&c.blocks), &Device::Cpu, dtype(m.format));
    QTensor::new(storage.unwrap(), (m.rows, m.cols))
        .unwrap()
        .dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Blocks of random bytes with sane scales, plus a block of zero scales and extreme nibbles /
/// bytes (0, 15, -127, 127; -128 is not produced by ggml's quantisers but is valid input).
fn random_blocks(rng: &mut Rng, format: Format, rows: usize, cols: usize) -> Case {
    let block_bytes = format.block_bytes();
    let blocks = rows * cols / BLOCK;
    let half = |v: f32| -> [u8; 2] {
        // An f16 near v: take the f32 bits' top of mantissa (normal range only here).
        let bits = v.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let exponent = ((bits >> 23) & 0xff) as i32 - 127 + 15;
        let mantissa = ((bits >> 13) & 0x3ff) as u16;
        (sign | ((exponent.clamp(1, 30) as u16) << 10) | mantissa).to_le_bytes()
    };
    let mut data = Vec::with_capacity(blocks * block_bytes);
    for b in 0..blocks {
        let mut block = vec![0u8; block_bytes];
        for byte in block.iter_mut() {
            *byte = rng.next_u64() as u8;
        }
        let d = half(normal(rng).abs() * 0.01 + 1e-4);
        block[..2].copy_from_slice(&d);
        if format == Format::Q4_1 {
            block[2..4].copy_from_slice(&half(normal(rng) * 0.05));
        }
        match b % 7 {
            1 => block[..4].fill(0),
            2 => block[4..].fill(if format == Format::Q4_1 { 0xff } else { 0x7f }),
            3 => block[4..].fill(if format == Format::Q4_1 { 0x00 } else { 0x81 }),
            4 if format == Format::Q8_0 => block[2..].fill(0x80),
            _ => {}
        }
        data.extend_from_slice(&block);
    }
    Case {
        m: QMatrix::new(format, rows, cols, &data).unwrap(),
        blocks: data,
    }
}

/// Σ_i w_i · x_i in f64 with the activation as quantised (what the integer kernels compute
/// exactly, up to float rounding).
fn reference_dot(w: &[f32], x: Q8Row<'_>) -> f64 {
    w.chunks_exact(BLOCK)
        .zip(x.qs.iter().zip(x.d))
        .map(|(w, (q, d))| {
            w.iter()
                .zip(q)
                .map(|(w, q)| f64::from(*w) * f64::from(*q) * f64::from(*d))
                .sum::<f64>()
        })
        .sum()
}

/// Runs `f` on a pool of `threads` threads.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn isas() -> Vec<Isa> {
    let detected = Isa::detect();
    eprintln!("kernels: {detected:?}");
    vec![Isa::Scalar, detected]
}

#[test]
fn f16_conversion_matches_candle_for_every_bit_pattern() {
    let bytes: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
    let halves = Tensor::from_raw_buffer(&bytes, DType::F16, &[65536], &Device::Cpu).unwrap();
    let expected = halves
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for (bits, want) in expected.iter().enumerate() {
        let got = f16_to_f32(bits as u16);
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "f16 {bits:#06x}: {got} vs {want}"
        );
    }
}

#[test]
fn dequantised_rows_match_candle() {
    let mut rng = Rng::new(7);
    for format in [Format::Q4_1, Format::Q8_0] {
        let (rows, cols) = (5, 96);
        let values = random(&mut rng, rows * cols, 0.1);
        for c in [
            candle_matrix(&values, rows, cols, format),
            random_blocks(&mut rng, format, rows, cols),
        ] {
            let (m, expected) = (&c.m, candle_dequantized(&c));
            let mut row = vec![0f32; cols];
            for r in 0..rows {
                m.dequantize_row(r, &mut row);
                assert_eq!(
                    row,
                    expected[r * cols..(r + 1) * cols],
                    "{format:?} row {r}"
                );
            }
        }
    }
}

#[test]
fn kernels_agree_with_float_dot_products_and_each_other() {
    let mut rng = Rng::new(42);
    // Rows that do not split evenly over 2 or 3 threads, one row; widths of 1, 2, 18 and 48
    // blocks, 65 (an odd last block after a full chunk of scales) and 129.
    let shapes = [
        (37, 576),
        (1, 64),
        (5, 32),
        (96, 1536),
        (3, 2080),
        (4, 4128),
    ];
    for format in [Format::Q4_1, Format::Q8_0] {
        for (s, &(rows, cols)) in shapes.iter().enumerate() {
            let values = random(&mut rng, rows * cols, 0.05);
            let matrices = [
                candle_matrix(&values, rows, cols, format),
                random_blocks(&mut rng, format, rows, cols),
            ];
            for (k, c) in matrices.iter().enumerate() {
                let (m, w) = (&c.m, candle_dequantized(c));
                // Three inputs: Gaussian, one with an all-zero block, one with outliers.
                let mut x = random(&mut rng, 3 * cols, 1.0);
                x[cols..cols + BLOCK].fill(0.0);
                x[2 * cols] = 40.0;
                let mut q = Q8Rows::default();
                q.quantize(&x, cols);
                assert_eq!(q.rows(), 3);
                let case = format!("{format:?} shape {s} matrix {k}");
                let mut by_isa = Vec::new();
                for isa in isas() {
                    for threads in [1, 2, 3] {
                        // All inputs at once (split by input) and one at a time (split by row).
                        let mut all = vec![0f32; 3 * rows];
                        on_threads(threads, || m.mul(isa, &q, &mut all));
                        for t in 0..3 {
                            let mut one = Q8Rows::default();
                            one.quantize(&x[t * cols..(t + 1) * cols], cols);
                            let mut single = vec![0f32; rows];
                            on_threads(threads, || m.mul(isa, &one, &mut single));
                            assert_eq!(single, all[t * rows..(t + 1) * rows], "{case} {isa:?}");
                        }
                        by_isa.push(all);
                    }
                    let all = by_isa.last().unwrap();
                    for t in 0..3 {
                        let xq = q.row(t);
                        for r in 0..rows {
                            let wr = &w[r * cols..(r + 1) * cols];
                            let exact = reference_dot(wr, xq);
                            let magnitude: f64 = wr
                                .iter()
                                .zip(&x[t * cols..])
                                .map(|(a, b)| f64::from(a.abs() * b.abs()))
                                .sum();
                            let got = f64::from(all[t * rows + r]);
                            assert!(
                                (got - exact).abs() <= 1e-5 * magnitude + 1e-6,
                                "{case} {isa:?} input {t} row {r}: {got} vs {exact}"
                            );
                            // Against the unquantised input: each activation moves by at most
                            // half a step of its block.
                            let float: f64 = wr
                                .iter()
                                .zip(&x[t * cols..])
                                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                                .sum();
                            let bound: f64 = wr
                                .chunks_exact(BLOCK)
                                .zip(xq.d)
                                .map(|(w, d)| {
                                    w.iter().map(|w| f64::from(w.abs())).sum::<f64>()
                                        * f64::from(*d)
                                        / 2.0
                                })
                                .sum();
                            assert!(
                                (got - float).abs() <= bound * 1.001 + 1e-5 * magnitude + 1e-6,
                                "{case} {isa:?} input {t} row {r}: {got} vs float {float}"
                            );
                        }
                    }
                }
                // Scalar and SIMD differ only in the order of float sums.
                let (scalar, simd) = (&by_isa[0], by_isa.last().unwrap());
                for (a, b) in scalar.iter().zip(simd) {
                    assert!(
                        (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                        "{case}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn activation_blocks_keep_scale_and_sum() {
    let mut rng = Rng::new(3);
    let mut x = random(&mut rng, 64, 2.0);
    x[32..].fill(0.0);
    let mut q = Q8Rows::default();
    q.quantize(&x, 64);
    let row = q.row(0);
    let amax = x[..32].iter().fold(0f32, |m, v| m.max(v.abs()));
    assert_eq!(row.d[0], amax / 127.0);
    assert_eq!(row.qs[0].iter().map(|q| q.unsigned_abs()).max(), Some(127));
    let sum: i32 = row.qs[0].iter().map(|q| i32::from(*q)).sum();
    assert_eq!(row.s[0], row.d[0] * sum as f32);
    for (v, q) in x[..32].iter().zip(&row.qs[0]) {
        assert!((v - row.d[0] * f32::from(*q)).abs() <= row.d[0] / 2.0 * 1.0001);
    }
    // An all-zero block quantises to zeros with a zero scale (no division by zero).
    assert_eq!((row.d[1], row.s[1]), (0.0, 0.0));
    assert!(row.qs[1].iter().all(|q| *q == 0));
}

#[test]
fn infinite_scales_and_short_data_are_refused() {
    let mut blocks = vec![0u8; 20];
    blocks[1] = 0x7c; // d = +inf
    let err = QMatrix::new(Format::Q4_1, 1, 32, &blocks).unwrap_err();
    assert!(err.contains("infinite"), "{err}");
    let err = QMatrix::new(Format::Q8_0, 2, 32, &[0u8; 34]).unwrap_err();
    assert!(err.contains("do not make a 2×32 matrix"), "{err}");
}

// Issue 17, item 3: a zero dimension made the row chunks zero-sized and panicked.
#[test]
fn a_matrix_with_a_zero_dimension_is_refused_not_a_panic() {
    for format in [Format::Q4_1, Format::Q8_0] {
        let err = QMatrix::new(format, 4, 0, &[]).unwrap_err();
        assert!(err.contains("no weights"), "{err}");
        let err = QMatrix::new(format, 0, 32, &[]).unwrap_err();
        assert!(err.contains("no weights"), "{err}");
    }
}
