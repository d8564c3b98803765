//! GGUF and Ollama exports against llama.cpp itself (issue 14 item 1): llama.cpp, through the
//! llama-cpp-python virtualenv `cargo xtask test` caches and names in `CLINITUNE_LLAMA_PYTHON`,
//! loads what `clinitune adapter merge --format gguf`, `model export` and `adapter export`
//! write, and its logits for the same token ids match ours.
//!
//! Tolerances (max abs difference of last-position logits, which span about ±4.5 on the tiny
//! model and ±25 on SmolLM2): llama.cpp's CPU kernels round activations for quantised weights —
//! to f16 for f16 matrices, to 8-bit blocks for q8_0 — where we multiply in f32, so the same
//! file gives f32: 1e-4, f16: 1e-2, q8_0: 0.15 on the tiny model (measured 2e-6, 3e-3, 0.06).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Sandbox;

const PROMPTS: [&str; 3] = [
    "Patient is a 72 y/o man w/ CHF (EF 25%), DM2 and CKD stage 3.",
    "Pt currently staying in a shelter after eviction last month.",
    "<|im_start|>user\nLives alone, unemployed since March.<|im_end|>\n<|im_start|>assistant\n",
];

fn fixture(name: &str) -> String {
    crate::shared_dir()
        .join("fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The Python with llama-cpp-python: `CLINITUNE_LLAMA_PYTHON`, which must work when set, or
/// the cached virtualenv beside the target folder; `None` (the test prints why and passes
/// without checking) only when the variable is unset and no virtualenv is there.
fn llama_python() -> Option<PathBuf> {
    let probe = |python: &Path| {
        Command::new(python)
            .args(["-c", "import llama_cpp, numpy"])
            .output()
    };
    if let Some(python) = std::env::var_os("CLINITUNE_LLAMA_PYTHON") {
        let python = PathBuf::from(python);
        let out = probe(&python);
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "CLINITUNE_LLAMA_PYTHON={} cannot import llama_cpp and numpy ({}); run `cargo xtask \
             test`, which makes that virtualenv, or unset the variable",
            python.display(),
            match &out {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            }
        );
        return Some(python);
    }
    let cached = crate::target_dir()
        .parent()
        .map(|d| d.join("llamacpp-venv/bin/python"))?;
    if probe(&cached).is_ok_and(|o| o.status.success()) {
        return Some(cached);
    }
    eprintln!(
        "skipped: llama.cpp interop needs llama-cpp-python; CLINITUNE_LLAMA_PYTHON is unset and \
         {} is not a working virtualenv (`cargo xtask test` makes it)",
        cached.display()
    );
    None
}

/// What llama.cpp computes for `prompts` (token ids): last-position logits and `greedy` ids.
struct LlamaCpp {
    logits: Vec<Vec<f64>>,
    greedy: Vec<Vec<u64>>,
}

fn llama_cpp(
    python: &Path,
    model: &Path,
    lora: Option<&Path>,
    prompts: &[Vec<u64>],
    greedy: usize,
) -> LlamaCpp {
    let script = crate::manifest_dir().join("it/llama_cpp_logits.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg("--model")
        .arg(model)
        .args(["--ids", &serde_json::to_string(prompts).unwrap()])
        .args(["--greedy", &greedy.to_string()]);
    if let Some(lora) = lora {
        cmd.arg("--lora").arg(lora);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "llama.cpp failed on {}: {}",
        model.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let floats = |row: &serde_json::Value| -> Vec<f64> {
        row.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    LlamaCpp {
        logits: v["logits"].as_array().unwrap().iter().map(floats).collect(),
        greedy: v["greedy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            })
            .collect(),
    }
}

fn ids(s: &Sandbox, model: &str, text: &str) -> Vec<u64> {
    s.json(&["tokenize", "--model", model, "--text", text])["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// Our last-position logits for `text` (GGUF weights dequantised to f32).
fn ours(s: &Sandbox, model: &str, adapter: Option<&str>, text: &str) -> Vec<f64> {
    let mut args = vec!["logits", "--model", model, "--prompt", text, "--dequantize"];
    if let Some(a) = adapter {
        args.extend(["--adapter", a]);
    }
    s.json(&args)["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "vocabulary sizes differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap()
}

#[test]
fn llama_cpp_runs_our_merged_gguf_with_our_logits_and_greedy_ids() {
    let Some(python) = llama_python() else {
        return;
    };
    let s = Sandbox::new();
    let (base, adapter) = (fixture("tiny-llama"), fixture("peft-lora"));
    let prompts: Vec<Vec<u64>> = PROMPTS.iter().map(|p| ids(&s, &base, p)).collect();
    let adapted: Vec<Vec<f64>> = PROMPTS
        .iter()
        .map(|p| ours(&s, &base, Some(&adapter), p))
        .collect();
    for (quant, tolerance) in [("f32", 1e-4), ("f16", 1e-2), ("q8_0", 0.15), ("q4_1", 0.15)] {
        let file = s.path(&format!("merged-{quant}.gguf"));
        let file_s = file.to_str().unwrap();
        s.ok(&[
            "adapter",
            "merge",
            "--model",
            &base,
            "--adapter",
            &adapter,
            "--format",
            "gguf",
            "--quant",
            quant,
            "--out",
            file_s,
        ]);
        let greedy = if quant == "f16" { 12 } else { 0 };
        let theirs = llama_cpp(&python, &file, None, &prompts, greedy);
        for (i, text) in PROMPTS.iter().enumerate() {
            // Our loader on the same file: only the two runtimes' arithmetic differs.
            let same_file = ours(&s, file_s, None, text);
            let d = max_diff(&theirs.logits[i], &same_file);
            // Against the adapter applied in float32: adds the format's own rounding.
            let end_to_end = max_diff(&theirs.logits[i], &adapted[i]);
            eprintln!(
                "merged {quant} prompt {i}: llama.cpp vs ours on the file {d:.2e}, \
                 vs our adapter in f32 {end_to_end:.2e}"
            );
            assert!(d <= tolerance, "{quant} prompt {i}: max abs diff {d}");
            assert_eq!(
                argmax(&theirs.logits[i]),
                argmax(&same_file),
                "{quant} prompt {i}"
            );
            if quant == "f32" {
                assert!(
                    end_to_end <= 1e-4,
                    "f32 prompt {i}: {end_to_end} from our adapter"
                );
            }
            if greedy > 0 {
                let g = s.json(&[
                    "generate",
                    "--model",
                    file_s,
                    "--dequantize",
                    "--prompt",
                    text,
                    "--max-tokens",
                    &greedy.to_string(),
                    "--greedy",
                ]);
                let ours: Vec<u64> = g["token_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect();
                assert!(!ours.is_empty());
                assert_eq!(theirs.greedy[i][..ours.len()], ours[..], "f16 prompt {i}");
            }
        }
    }
}

#[test]
fn llama_cpp_applies_our_lora_gguf_to_the_base_gguf_as_we_apply_the_adapter() {
    let Some(python) = llama_python() else {
        return;
    };
    let s = Sandbox::new();
    let (base, adapter) = (fixture("tiny-llama"), fixture("peft-lora"));
    let lora = s.path("adapter.gguf");
    s.ok(&[
        "adapter",
        "export",
        "--format",
        "gguf-lora",
        "--model",
        &base,
        &adapter,
        lora.to_str().unwrap(),
    ]);
    let prompts: Vec<Vec<u64>> = PROMPTS.iter().map(|p| ids(&s, &base, p)).collect();
    for (quant, tolerance) in [("f32", 1e-4), ("f16", 1e-2)] {
        let base_gguf = s.path(&format!("base-{quant}.gguf"));
        s.ok(&[
            "model",
            "export",
            "--model",
            &base,
            "--format",
            "gguf",
            "--quant",
            quant,
            "--out",
            base_gguf.to_str().unwrap(),
        ]);
        let with = llama_cpp(&python, &base_gguf, Some(&lora), &prompts, 0);
        let without = llama_cpp(&python, &base_gguf, None, &prompts, 0);
        for (i, text) in PROMPTS.iter().enumerate() {
            let ours_adapted = ours(&s, &base, Some(&adapter), text);
            let d = max_diff(&with.logits[i], &ours_adapted);
            let effect = max_diff(&with.logits[i], &without.logits[i]);
            eprintln!(
                "lora on {quant} base, prompt {i}: llama.cpp vs ours {d:.2e} (the adapter moves \
                 logits by {effect:.2})"
            );
            assert!(d <= tolerance, "{quant} prompt {i}: max abs diff {d}");
            // The adapter was applied, not ignored: it moves logits far more than the tolerance.
            assert!(
                effect > 100.0 * tolerance,
                "{quant} prompt {i}: effect {effect}"
            );
        }
    }
}

#[test]
fn llama_cpp_runs_our_f16_conversion_of_smollm2_as_we_do() {
    let Some(python) = llama_python() else {
        return;
    };
    let s = Sandbox::new();
    let source = crate::manifest_dir().join("../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        source.is_file(),
        "{} is missing: run `cargo xtask fetch-model`",
        source.display()
    );
    let source = source.to_string_lossy().into_owned();
    let out = s.path("smollm2-f16.gguf");
    let out_s = out.to_str().unwrap();
    s.ok(&[
        "model", "export", "--model", &source, "--format", "gguf", "--quant", "f16", "--out", out_s,
    ]);
    let prompts: Vec<Vec<u64>> = PROMPTS[..2].iter().map(|p| ids(&s, out_s, p)).collect();
    // The tokenizer came across: the exported file tokenizes as the source does.
    let source_ids: Vec<Vec<u64>> = PROMPTS[..2].iter().map(|p| ids(&s, &source, p)).collect();
    assert_eq!(prompts, source_ids);
    let theirs = llama_cpp(&python, &out, None, &prompts, 0);
    for (i, text) in PROMPTS[..2].iter().enumerate() {
        let same_file = ours(&s, out_s, None, text);
        let d = max_diff(&theirs.logits[i], &same_file);
        eprintln!("smollm2 f16 prompt {i}: llama.cpp vs ours on the file {d:.2e}");
        // 30 layers of f16 activation rounding in llama.cpp, on logits of ±25.
        assert!(d <= 0.1, "prompt {i}: max abs diff {d}");
        assert_eq!(argmax(&theirs.logits[i]), argmax(&same_file), "prompt {i}");
    }
}

#[test]
fn ollama_export_is_a_folder_llama_cpp_loads_with_a_modelfile() {
    let s = Sandbox::new();
    let (base, adapter) = (fixture("tiny-llama"), fixture("peft-lora"));
    // A GGUF base is copied unchanged into the folder.
    let base_gguf = s.path("base.gguf");
    s.ok(&[
        "model",
        "export",
        "--model",
        &base,
        "--format",
        "gguf",
        "--quant",
        "f32",
        "--out",
        base_gguf.to_str().unwrap(),
    ]);
    let dir = s.path("ollama");
    let files = s.json(&[
        "adapter",
        "export",
        "--format",
        "ollama",
        "--model",
        base_gguf.to_str().unwrap(),
        &adapter,
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(dir.join("model.gguf")).unwrap(),
        std::fs::read(&base_gguf).unwrap()
    );
    let modelfile = std::fs::read_to_string(dir.join("Modelfile")).unwrap();
    assert_eq!(files["modelfile"], dir.join("Modelfile").to_str().unwrap());
    for line in [
        "FROM ./model.gguf\n",
        "ADAPTER ./adapter.gguf\n",
        "TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>{{ .Role }}\n",
        "SYSTEM \"\"\"You are a helpful AI assistant named SmolLM, trained by Hugging Face\"\"\"\n",
        "PARAMETER stop \"<|im_end|>\"\n",
    ] {
        assert!(
            modelfile.contains(line),
            "{line:?} missing from\n{modelfile}"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Modelfile", "adapter.gguf", "model.gguf"]);
    let Some(python) = llama_python() else {
        return;
    };
    let prompts = vec![ids(&s, &base, PROMPTS[0])];
    let theirs = llama_cpp(
        &python,
        &dir.join("model.gguf"),
        Some(&dir.join("adapter.gguf")),
        &prompts,
        0,
    );
    let d = max_diff(
        &theirs.logits[0],
        &ours(&s, &base, Some(&adapter), PROMPTS[0]),
    );
    assert!(d <= 1e-4, "max abs diff {d}");
}

#[test]
fn gguf_exports_refuse_bad_requests_before_writing() {
    let s = Sandbox::new();
    let (base, adapter) = (fixture("tiny-llama"), fixture("peft-lora"));
    let err = s.fails(&[
        "adapter",
        "merge",
        "--model",
        &base,
        "--adapter",
        &adapter,
        "--quant",
        "q8_0",
        "--out",
        "merged",
    ]);
    assert!(err.contains("--quant applies to --format gguf"), "{err}");
    let err = s.fails(&[
        "model",
        "export",
        "--model",
        &base,
        "--format",
        "gguf",
        "--out",
        "model.bin",
    ]);
    assert!(err.contains("does not end in .gguf"), "{err}");
    // A classifier adapter has a score head llama.cpp cannot apply.
    let err = s.fails(&[
        "adapter",
        "export",
        "--format",
        "gguf-lora",
        "--model",
        &base,
        &fixture("classify"),
        "cls.gguf",
    ]);
    assert!(err.contains("classification adapter"), "{err}");
    let left: Vec<_> = std::fs::read_dir(s.dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files were left: {left:?}");
}
