//! The fuzz targets: each feeds one input to a real entry point of the library crates, exactly as
//! the app and the CLI reach it (a file on disk, a project to import into), and reports whether
//! the input was read (`Ok`) or refused (`Err`). Either is fine; a panic, a hang or an absurd
//! allocation is a bug.

use std::path::{Path, PathBuf};

use store::import::{Control, Format, ImportOptions};

/// The note text beside the fuzzed `.ann` file (the brat seed's offsets point into it).
const BRAT_TEXT: &str = "Pt lives alone. Retired machinist; 肺 mass 😀 in Zürich.\n";

/// The fixture model's `config.json` (tiny-llama), which adapters are checked against.
const MODEL_CONFIG: &str = include_str!("../seeds/model_config.json");

/// Imports are made into a fresh project after this many inputs, so the file stays small.
const FRESH_PROJECT_EVERY: usize = 200;

/// One input in, read or refused.
pub trait Harness {
    /// Feeds `input` to the target's entry point: `Ok` with what was read (counts, reasons for
    /// rows skipped), `Err` with the reader's reason for refusing the whole input.
    fn run(&mut self, input: &[u8]) -> Result<String, String>;
}

/// A named target and how to set one up.
pub struct Target {
    /// Name used on the command line and as the seeds' and regressions' folder.
    pub name: &'static str,
    /// The entry point it calls.
    pub entry: &'static str,
    make: fn() -> Result<Box<dyn Harness>, String>,
}

impl Target {
    /// Sets the target up (temporary folder, project, fixed companion files).
    pub fn harness(&self) -> Result<Box<dyn Harness>, String> {
        (self.make)()
    }
}

/// Every target, in the order `cargo xtask reliability fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "csv",
        entry: "store::import::import (Format::Csv)",
        make: || Importer::boxed(Format::Csv, "notes.csv"),
    },
    Target {
        name: "jsonl",
        entry: "store::import::import (Format::Jsonl)",
        make: || Importer::boxed(Format::Jsonl, "notes.jsonl"),
    },
    Target {
        name: "txt",
        entry: "store::import::import (Format::Txt, a folder)",
        make: || Importer::boxed(Format::Txt, "notes/note.txt"),
    },
    Target {
        name: "brat",
        entry: "store::brat::parse, store::import::import (Format::Brat)",
        make: || Importer::boxed(Format::Brat, "brat/note.ann"),
    },
    Target {
        name: "label_studio",
        entry: "store::import::import (Format::LabelStudio)",
        make: || Importer::boxed(Format::LabelStudio, "export.json"),
    },
    Target {
        name: "prodigy",
        entry: "store::import::import (Format::Prodigy)",
        make: || Importer::boxed(Format::Prodigy, "tasks.jsonl"),
    },
    Target {
        name: "schema",
        entry: "store::schema::parse_schema, Tx::add_schema",
        make: || Ok(Box::new(Schema::new()?)),
    },
    Target {
        name: "trl",
        entry: "studio::datasets::import",
        make: || Ok(Box::new(Trl::new()?)),
    },
    Target {
        name: "gguf",
        entry: "tune::gguf::Gguf::open, config, tokenizer, model",
        make: || Ok(Box::new(Gguf::new()?)),
    },
    Target {
        name: "safetensors",
        entry: "tune::lora::Lora::load (adapter_model.safetensors), lora::tensor_shapes",
        make: || Ok(Box::new(Adapter::new(AdapterPart::Weights)?)),
    },
    Target {
        name: "adapter_config",
        entry: "tune::lora::Lora::load (adapter_config.json)",
        make: || Ok(Box::new(Adapter::new(AdapterPart::Config)?)),
    },
    Target {
        name: "chat_template",
        entry: "tune::tokenizer::render_chat",
        make: || Ok(Box::new(ChatTemplate)),
    },
    Target {
        name: "extraction",
        entry: "studio::extraction::{parse_extraction, parse_labels, locate}",
        make: || Ok(Box::new(Extraction)),
    },
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn temp_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("clinitune-fuzz-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A project file in a temporary folder, replaced by a fresh one every
/// [`FRESH_PROJECT_EVERY`] inputs.
struct Scratch<P> {
    dir: tempfile::TempDir,
    project: Option<P>,
    uses: usize,
    generation: usize,
    create: fn(&Path) -> Result<P, String>,
}

impl<P> Scratch<P> {
    fn new(create: fn(&Path) -> Result<P, String>) -> Result<Scratch<P>, String> {
        Ok(Scratch {
            dir: temp_dir()?,
            project: None,
            uses: 0,
            generation: 0,
            create,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn project(&mut self) -> Result<&mut P, String> {
        if self.uses >= FRESH_PROJECT_EVERY {
            self.project = None;
            let old = self.path(&format!("p{}.clinitune", self.generation));
            for suffix in ["", "-wal", "-shm"] {
                let mut name = old.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
            self.generation += 1;
            self.uses = 0;
        }
        self.uses += 1;
        if self.project.is_none() {
            let path = self.path(&format!("p{}.clinitune", self.generation));
            self.project = Some((self.create)(&path)?);
        }
        self.project.as_mut().ok_or_else(|| "no project".to_owned())
    }
}

fn create_store(path: &Path) -> Result<store::Store, String> {
    store::Store::create(path).map_err(|e| e.to_string())
}

fn create_project(path: &Path) -> Result<studio::Project, String> {
    studio::Project::create(path, &[]).map_err(|e| e.to_string())
}

/// An importer fed one file (or one file of a folder) per input.
struct Importer {
    format: Format,
    scratch: Scratch<store::Store>,
    /// The fuzzed file, relative to the scratch folder.
    file: &'static str,
}

impl Importer {
    fn boxed(format: Format, file: &'static str) -> Result<Box<dyn Harness>, String> {
        let scratch = Scratch::new(create_store)?;
        let path = scratch.path(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        if format == Format::Brat {
            write(&path.with_extension("txt"), BRAT_TEXT.as_bytes())?;
        }
        Ok(Box::new(Importer {
            format,
            scratch,
            file,
        }))
    }
}

impl Harness for Importer {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let path = self.scratch.path(self.file);
        write(&path, input)?;
        if self.format == Format::Brat {
            // The parser alone first: it is what reads a `.ann` in every other place.
            let _ = store::brat::parse(&String::from_utf8_lossy(input));
        }
        // Folders are imported whole, as the app does.
        let source = match self.format {
            Format::Txt | Format::Brat => path.parent().map(Path::to_owned).unwrap_or(path),
            _ => path,
        };
        let options = ImportOptions::new(self.format);
        let store = self.scratch.project()?;
        let never = || false;
        store::import::import(
            store,
            &source,
            &options,
            Control {
                progress: &mut |_| {},
                cancelled: &never,
            },
        )
        .map(|s| {
            let reasons: Vec<&str> = s.rejected.iter().map(|r| r.reason.as_str()).collect();
            format!(
                "{} notes, {} duplicates, {} empty, {} spans, {} labels, {} kept; {}",
                s.imported,
                s.duplicates,
                s.empty,
                s.spans,
                s.doc_labels,
                s.kept_standoff_lines + s.kept_results,
                reasons.join("; ")
            )
        })
        .map_err(|e| e.to_string())
    }
}

/// Label-schema TOML: parsed, then added to a project.
struct Schema {
    scratch: Scratch<store::Store>,
}

impl Schema {
    fn new() -> Result<Schema, String> {
        Ok(Schema {
            scratch: Scratch::new(create_store)?,
        })
    }
}

impl Harness for Schema {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let text = std::str::from_utf8(input).map_err(|e| e.to_string())?;
        let (file, labels) =
            store::schema::parse_schema("fuzz.toml", text).map_err(|e| e.to_string())?;
        self.scratch
            .project()?
            .write(|tx| tx.add_schema(&file, &labels, text))
            .map(|()| format!("{} labels", labels.len()))
            .map_err(|e: store::Error| e.to_string())
    }
}

/// TRL JSONL (SFT or preference) imported into a project's datasets.
struct Trl {
    scratch: Scratch<studio::Project>,
}

impl Trl {
    fn new() -> Result<Trl, String> {
        Ok(Trl {
            scratch: Scratch::new(create_project)?,
        })
    }
}

impl Harness for Trl {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let path = self.scratch.path("train.jsonl");
        write(&path, input)?;
        let project = self.scratch.project()?;
        studio::datasets::import(project, &path)
            .map(|s| {
                let reasons: Vec<&str> = s.rejected.iter().map(|r| r.reason.as_str()).collect();
                format!(
                    "{} pairs, {} examples, {} duplicates; {}",
                    s.pairs,
                    s.sft_examples,
                    s.duplicates,
                    reasons.join("; ")
                )
            })
            .map_err(|e| e.to_string())
    }
}

/// A GGUF file: header, configuration, tokenizer, then the weights and model when the
/// configuration reads.
struct Gguf {
    dir: tempfile::TempDir,
}

impl Gguf {
    fn new() -> Result<Gguf, String> {
        Ok(Gguf { dir: temp_dir()? })
    }
}

impl Harness for Gguf {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let path = self.dir.path().join("model.gguf");
        write(&path, input)?;
        let err = |e: tune::Error| e.to_string();
        let gguf = tune::gguf::Gguf::open(&path).map_err(err)?;
        let tokenizer = gguf.tokenizer();
        if let Ok(tokenizer) = &tokenizer {
            let _ = tokenizer.encode("Pt lives alone.", true);
        }
        let config = gguf.config().map_err(err)?;
        gguf.model(tune::DType::F32, &tune::Device::Cpu)
            .map_err(err)?;
        tokenizer.map_err(err)?;
        Ok(format!(
            "{} layers, vocabulary {}",
            config.num_layers, config.vocab_size
        ))
    }
}

/// Which file of an adapter folder is fuzzed; the other is the fixture's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AdapterPart {
    Config,
    Weights,
}

/// A PEFT adapter folder loaded against the tiny fixture model's configuration.
struct Adapter {
    part: AdapterPart,
    dir: tempfile::TempDir,
    model: tune::config::Config,
}

impl Adapter {
    fn new(part: AdapterPart) -> Result<Adapter, String> {
        let dir = temp_dir()?;
        let seeds = crate::seeds::folder();
        let (companion, name) = match part {
            AdapterPart::Config => (
                "safetensors/adapter_model.safetensors",
                "adapter_model.safetensors",
            ),
            AdapterPart::Weights => ("adapter_config/adapter_config.json", "adapter_config.json"),
        };
        std::fs::copy(seeds.join(companion), dir.path().join(name))
            .map_err(|e| format!("cannot copy the seed {companion}: {e}"))?;
        let model = tune::config::Config::from_json(Path::new("config.json"), MODEL_CONFIG)
            .map_err(|e| e.to_string())?;
        Ok(Adapter { part, dir, model })
    }
}

impl Harness for Adapter {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let name = match self.part {
            AdapterPart::Config => "adapter_config.json",
            AdapterPart::Weights => "adapter_model.safetensors",
        };
        let path = self.dir.path().join(name);
        write(&path, input)?;
        if self.part == AdapterPart::Weights {
            let _ = tune::lora::tensor_shapes(&path);
        }
        tune::lora::Lora::load(self.dir.path(), &self.model, &tune::Device::Cpu)
            .map(|lora| format!("{} parameters", lora.parameter_count()))
            .map_err(|e| e.to_string())
    }
}

/// A chat template rendered over a short conversation, as a model folder's template is.
struct ChatTemplate;

impl Harness for ChatTemplate {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let template = std::str::from_utf8(input).map_err(|e| e.to_string())?;
        let message = |role: &str, content: &str| tune::tokenizer::ChatMessage {
            role: role.to_owned(),
            content: content.to_owned(),
        };
        let messages = [
            message("system", "You extract social determinants."),
            message("user", "Pt lives alone 😀."),
            message("assistant", "{\"mentions\": []}"),
            message("user", "And now?"),
        ];
        tune::tokenizer::render_chat(template, &messages, true, Some("<s>"), Some("</s>"))
            .map(|text| format!("{} bytes", text.len().min(1000)))
            .map_err(|e| e.to_string())
    }
}

/// A model's answer read as an extraction and as labels, its evidence located in a note.
struct Extraction;

impl Harness for Extraction {
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let output = String::from_utf8_lossy(input);
        let _ = studio::extraction::parse_labels(&output);
        let extraction = studio::extraction::parse_extraction(&output)?;
        let mut used = Vec::new();
        for mention in &extraction.mentions {
            if let Some(evidence) = &mention.evidence
                && let Some(found) = studio::extraction::locate(BRAT_TEXT, evidence, &used)
            {
                used.push(found);
            }
        }
        Ok(format!(
            "{} mentions, {} located; {}",
            extraction.mentions.len(),
            used.len(),
            extraction.warnings.join("; ")
        ))
    }
}
