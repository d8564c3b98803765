//! Types shared by the desktop UI (compiled to wasm32) and the backend.
//!
//! Everything here is plain serde data: ids, notes, annotations, label schemas, job progress,
//! the review loop (prompt tasks, model outputs, preference pairs, SFT examples),
//! inter-annotator agreement, merging team projects, evaluation figures, classifier predictions and the one error type that crosses the Tauri boundary,
//! [`ApiError`]. This crate must never depend on rusqlite, candle, tokio or tauri, so that the
//! UI can share it.
//!
//! Offsets inside [`Span`] are UTF-8 byte offsets into the note text (how the store keeps them);
//! [`offsets`] converts them to the code points brat and the CLI use and to the UTF-16 units a
//! browser uses.

#![deny(missing_docs)]

pub mod offsets;

mod agreement;
mod app;
mod audit;
mod error;
mod evaluation;
mod labels;
mod merge;
#[macro_use]
mod notes;
mod pairs;
mod prediction;
mod review;
mod training;

// After `notes`: its stored-run ids are made by `id_type!`.
mod evaluations;

pub use agreement::{
    AgreementReport, AgreementRequest, DocLabelAgreement, DocLabelComparison, F1Score,
    NoteComparison, SpanAgreement, SpanComparison, SpanLabelAgreement,
};
pub use app::{ProjectInfo, RecentProject};
pub use audit::{AuditBreak, AuditEntry, AuditVerification};
pub use error::{ApiError, ErrorKind};
pub use evaluation::{
    BootstrapInfo, ComparisonReport, FigureComparison, LabelFigures, LabelMetrics, MetricSettings,
    MetricsReport, TextMetrics, UnmatchedIds,
};
pub use evaluations::{
    BiasComparison, BiasFigures, BiasReport, BiasRequest, EvaluateProgress, EvaluateRequest,
    Evaluation, EvaluationDetail, EvaluationId, EvaluationItem, EvaluationKind, EvaluationSubject,
    EvaluationSummary, GroupChange, Headline, ItemValue, RocCurve,
};
pub use labels::{
    AttributeDef, AttributeKind, AttributeValue, Label, LabelLook, LabelScope, SchemaSummary,
};
pub use merge::{LabelConflict, MergeSummary, UnmatchedNote};
pub use notes::{
    AnnotationStatus, DocLabel, DocLabelId, ExportSummary, Fragment, GenerateRequest,
    GenerateResult, ImportRequest, ImportSummary, JobProgress, ModelInfo, NoteDetail, NoteId,
    NoteNotExported, NoteStatus, NoteSummary, Rejection, SearchOrder, SearchQuery, Span, SpanId,
    SpanRecord, SpanRequest, Stats, Transferred,
};
pub use pairs::{
    DatasetDetail, DatasetFilter, DatasetItem, DatasetKind, DatasetListing, DatasetRow, SplitCounts,
};
pub use prediction::{
    ItemId, PredictRequest, PredictSource, PredictSummary, Prediction, SuggestionSummary,
    ThresholdOrigin, ThresholdSource, TunedThresholds,
};
pub use review::{
    ChatMessage, DatasetExportRequest, DatasetExportSummary, DatasetFormat, DatasetImportSummary,
    DiffStats, EditId, ModelChoice, ModelOutput, OutputId, OutputQuery, PairId, PairOrigin,
    PreferencePair, PromptTask, RankingId, ReviewMark, ReviewOutcome, ReviewRunRequest,
    ReviewedOutput, RunEvent, RunRequest, RunSummary, SamplingParams, SftExample, SftId, SftOrigin,
    Split, SplitRequest, SplitSummary, TaskId, TaskKind,
};
pub use training::{
    AdapterInfo, Device, DeviceOption, LoraSettings, LoraTarget, Objective, RunStatus, Scheduler,
    TrainData, TrainDataSize, TrainEstimate, TrainEvent, TrainFinish, TrainJobExport, TrainLength,
    TrainOptions, TrainPlan, TrainRequest, TrainRun, TrainSettings, TrainStep, TrainSummary,
};
