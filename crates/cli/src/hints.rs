//! The command line's hints: what to type next, naming flags and commands. The app's hints
//! (in `studio`'s `ApiError` conversion) name none; these replace them here.

use studio::{Cause, Error};

/// The hint `clinitune` prints under `e`, when it has one of its own.
pub fn hint(e: &Error) -> Option<String> {
    let hint = match e.cause() {
        Cause::NoProject => "Create it with `clinitune init PATH`, or check the path.",
        Cause::NotAProject => {
            "Open a .clinitune project file, or create one with `clinitune init`."
        }
        Cause::NotUtf8 => {
            "Convert the file to UTF-8, or import with --lossy to replace bad bytes with U+FFFD."
        }
        Cause::BadHeader => "Name the columns with --text-col, --id-col, --category-col …",
        Cause::Offset => {
            "Offsets count characters (code points) on the command line; check the note's \
             length with `clinitune notes show`."
        }
        Cause::LabelScope => "Use `clinitune schema list` to see each label's scope.",
        Cause::LabelAttribute => "Use `clinitune schema list` to see each label's attributes.",
        Cause::ModelMissing => {
            "Give a model folder or .gguf file; `cargo xtask fetch-model` puts the default \
             model in models/."
        }
        Cause::DeviceUnavailable => "Pass --device cpu, or a device this build and machine have.",
        Cause::Setting(setting) => {
            return Some(format!(
                "Pass --{} with a value in that range.",
                setting.replace('_', "-")
            ));
        }
        Cause::NoTrainingData => "Give --data FILE.jsonl, or --project PATH to train on a project.",
        Cause::NothingToTrain => {
            "Review some model outputs first (`clinitune review`), annotate notes, or give \
             --data FILE."
        }
        Cause::RunExists => "Pass --resume to continue it, or choose another --out.",
        Cause::NotAClassifier => {
            "Give the --out folder of `clinitune train classify` (it holds the score head and \
             labels.json) as the last --adapter; a folder without labels.json needs it written \
             there as a JSON list of the label names in head order."
        }
        Cause::Other => return None,
    };
    Some(hint.to_owned())
}
