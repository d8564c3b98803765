use std::path::PathBuf;

/// What can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `config.json` is malformed or describes something unsupported.
    #[error("model config {}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A weight the architecture needs is missing or has the wrong shape.
    #[error("tensor {name}: {message}")]
    Tensor {
        /// The tensor's name in the checkpoint.
        name: String,
        /// Missing, or expected vs found shape.
        message: String,
    },
    /// An adapter folder is malformed or asks for something unsupported.
    #[error("adapter {}: {message}", path.display())]
    Adapter {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// Training data or settings are unusable.
    #[error("{message}")]
    Train {
        /// What is wrong, with the file and line when there is one.
        message: String,
    },
    /// The tokenizer could not be loaded or used.
    #[error("tokenizer {}: {message}", path.display())]
    Tokenizer {
        /// Its file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The chat template could not be rendered.
    #[error("chat template: {message}")]
    Template {
        /// What went wrong, with the template's line when known.
        message: String,
    },
    /// A GPU backend was asked for that this build does not include.
    #[error("this build of Clinitune has no {device} support; rebuild with `--features {device}`")]
    DeviceNotBuilt {
        /// `cuda` or `metal`.
        device: &'static str,
    },
    /// The GPU backend is built in but the device could not be opened.
    #[error("cannot open the {device} device: {message}")]
    DeviceUnavailable {
        /// `cuda` or `metal`.
        device: &'static str,
        /// What the driver said.
        message: String,
    },
    /// A caller's arguments do not fit together (shapes, lengths).
    #[error("{message}")]
    Invalid {
        /// What does not fit.
        message: String,
    },
    /// candle failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
