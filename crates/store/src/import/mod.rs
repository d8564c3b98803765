//! Streaming import of notes (and any labels they carry) into a project.
//!
//! Each reader turns its source into [`Record`]s one at a time; [`Sink`] collects them into
//! batches and writes each batch in one transaction, so memory stays flat and a killed import
//! leaves whole batches only. Malformed rows are reported (file, line, reason) and skipped;
//! re-importing a note already in the project (same external id and text) changes nothing.

mod brat_dir;
mod csv_file;
mod jsonl;
pub(crate) mod label_studio;
mod prodigy;
mod text_dir;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use api::{AnnotationStatus, Fragment, ImportSummary, JobProgress, NoteId, NoteStatus, Rejection};

use crate::annotations::SpanRow;
use crate::db::{Store, Tx};
use crate::error::{Error, Result};
use crate::notes::NewNote;

/// The formats notes are imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header (MIMIC-III NOTEEVENTS recognised).
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// A folder of `.txt` files, one note each.
    Txt,
    /// A folder of brat `.txt` + `.ann` pairs.
    Brat,
    /// A Label Studio JSON export: an array of text tasks with annotators' results.
    LabelStudio,
    /// Prodigy JSONL (`db-out`): one task per line with spans, choices and an answer.
    Prodigy,
}

impl Format {
    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "txt" | "text" => Some(Format::Txt),
            "brat" | "ann" => Some(Format::Brat),
            "label-studio" | "labelstudio" | "label_studio" => Some(Format::LabelStudio),
            "prodigy" => Some(Format::Prodigy),
            _ => None,
        }
    }

    /// Guesses the format from the path: extension for files; for folders, brat when any
    /// `.ann` file is inside, plain text otherwise.
    pub fn guess(path: &Path) -> Option<Format> {
        if path.is_dir() {
            let has_ann = std::fs::read_dir(path).ok()?.flatten().any(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("ann"))
            });
            return Some(if has_ann { Format::Brat } else { Format::Txt });
        }
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "txt" => Some(Format::Txt),
            "ann" => Some(Format::Brat),
            _ => None,
        }
    }
}

/// Which source columns (CSV) or keys (JSONL) hold which field; `None` = recognise by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Note text.
    pub text: Option<String>,
    /// External id.
    pub id: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Description / title.
    pub description: Option<String>,
    /// Patient id.
    pub subject: Option<String>,
    /// Admission id.
    pub hadm: Option<String>,
    /// Chart date.
    pub date: Option<String>,
    /// Comma-joined document labels.
    pub label: Option<String>,
    /// Comma-joined adverse/nonadverse values aligned with the labels.
    pub adverse: Option<String>,
}

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Source format.
    pub format: Format,
    /// Column or key mapping.
    pub columns: Columns,
    /// Replace invalid UTF-8 with U+FFFD instead of refusing the file.
    pub lossy: bool,
    /// Annotator name given to imported annotations.
    pub annotator: String,
    /// Notes per transaction.
    pub batch_size: usize,
}

impl ImportOptions {
    /// Defaults for a format: names recognised, strict UTF-8, annotator `import`.
    pub fn new(format: Format) -> ImportOptions {
        ImportOptions {
            format,
            columns: Columns::default(),
            lossy: false,
            annotator: "import".to_owned(),
            batch_size: 5000,
        }
    }
}

/// Progress reporting and cancellation for a running import.
pub struct Control<'a> {
    /// Receives progress after each batch.
    pub progress: &'a mut dyn FnMut(JobProgress),
    /// Polled between batches; `true` stops the import after the current batch.
    pub cancelled: &'a dyn Fn() -> bool,
}

/// A document label found in a source row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordLabel {
    pub label: String,
    pub status: AnnotationStatus,
    pub attributes: BTreeMap<String, String>,
    /// Who made it in the source (Label Studio, Prodigy); `None`: the import's annotator.
    pub annotator: Option<String>,
}

/// A span found in a source, already in UTF-8 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordSpan {
    pub label: String,
    pub status: AnnotationStatus,
    pub fragments: Vec<Fragment>,
    pub attributes: BTreeMap<String, String>,
    pub comment: Option<String>,
    pub source_ref: Option<String>,
    /// Who made it in the source (Label Studio, Prodigy); `None`: the import's annotator.
    pub annotator: Option<String>,
}

/// One note read from a source, with whatever annotations came with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Record {
    pub note: NewNote,
    pub labels: Vec<RecordLabel>,
    pub spans: Vec<RecordSpan>,
    /// brat lines kept verbatim: (kind, line).
    pub extras: Vec<(String, String)>,
    /// Workflow status a new note starts with (Prodigy's `ignore` is `Skipped`); `None`: todo.
    pub status: Option<NoteStatus>,
    /// When the note is already in the project, still add the annotations it does not have
    /// (same label, annotator and offsets): a Prodigy file holds one line per annotator and
    /// answer for the same text, and importing the same file again still adds nothing.
    pub add_to_existing: bool,
    /// Source results kept verbatim in the note's metadata (counted when the note is added).
    pub kept_results: u64,
    /// Content hash and metadata JSON, computed when the record is queued.
    pub prepared: Option<([u8; 32], String)>,
}

/// Imports `path` into `store`; see the module docs for what is guaranteed.
///
/// Reading and parsing run on this thread, writing on a second one, so both cores work; the
/// channel between them holds one batch, so memory stays bounded.
pub fn import(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    control: Control<'_>,
) -> Result<ImportSummary> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Record>>(1);
    std::thread::scope(|scope| {
        let annotator = options.annotator.clone();
        let writer = scope.spawn(move || {
            let mut writer = Writer {
                store,
                annotator,
                label_ids: HashMap::new(),
            };
            let mut written = ImportSummary::default();
            for batch in receiver {
                add_counts(&mut written, writer.write(batch)?);
            }
            Ok::<_, Error>(written)
        });
        let mut sink = Sink::new(options, control, sender);
        let read = match options.format {
            Format::Csv => csv_file::read(path, options, &mut sink),
            Format::Jsonl => jsonl::read(path, options, &mut sink),
            Format::Txt => text_dir::read(path, options, &mut sink),
            Format::Brat => brat_dir::read(path, options, &mut sink),
            Format::LabelStudio => label_studio::read(path, options, &mut sink),
            Format::Prodigy => prodigy::read(path, options, &mut sink),
        }
        .and_then(|()| sink.flush());
        let (mut summary, control) = sink.finish(); // closes the channel
        let written = writer.join().map_err(|_| {
            Error::Invalid("the import stopped unexpectedly (writer crashed)".to_owned())
        })?;
        // A write error explains a read that stopped early, so it is reported first.
        let written = written?;
        read?;
        add_counts(&mut summary, written);
        (control.progress)(JobProgress {
            stage: "imported".to_owned(),
            done: summary.imported + summary.duplicates,
            total: Some(summary.imported + summary.duplicates),
            unit: "notes".to_owned(),
        });
        Ok(summary)
    })
}

fn add_counts(total: &mut ImportSummary, batch: ImportSummary) {
    total.imported += batch.imported;
    total.duplicates += batch.duplicates;
    total.spans += batch.spans;
    total.doc_labels += batch.doc_labels;
    total.kept_standoff_lines += batch.kept_standoff_lines;
    total.kept_results += batch.kept_results;
    total.labels_created.extend(batch.labels_created);
}

/// The writing side: one transaction per batch, label ids cached across batches.
struct Writer<'s> {
    store: &'s mut Store,
    annotator: String,
    label_ids: HashMap<String, i64>,
}

impl Writer<'_> {
    fn write(&mut self, batch: Vec<Record>) -> Result<ImportSummary> {
        let Writer {
            store,
            annotator,
            label_ids,
        } = self;
        let mut counts = ImportSummary::default();
        let source = batch.first().and_then(|r| r.note.source.clone());
        store.write(|tx| {
            let mut annotators = Annotators {
                default: tx.ensure_annotator(annotator, "import")?,
                by_name: HashMap::new(),
            };
            let before = tx.max_note_id()?;
            for record in &batch {
                write_record(tx, record, &mut annotators, label_ids, &mut counts)?;
            }
            tx.index_notes_after(before)?;
            if counts.imported > 0 {
                // One audit entry per committed batch: which notes, from where, how many.
                tx.audit(
                    annotator,
                    "import_notes",
                    "note",
                    None,
                    None,
                    &serde_json::json!({
                        "source": source,
                        "first_note": before + 1,
                        "last_note": tx.max_note_id()?,
                        "notes": counts.imported,
                        "duplicates": counts.duplicates,
                        "spans": counts.spans,
                        "doc_labels": counts.doc_labels,
                    }),
                )?;
            }
            Ok::<_, Error>(())
        })?;
        tracing::debug!(notes = batch.len(), "import batch committed");
        Ok(counts)
    }
}

/// The reading side: collects records into batches and hands them to the writer.
pub(crate) struct Sink<'s, 'c> {
    options: &'s ImportOptions,
    control: Control<'c>,
    sender: std::sync::mpsc::SyncSender<Vec<Record>>,
    batch: Vec<Record>,
    batch_bytes: usize,
    summary: ImportSummary,
    stage: String,
    done: u64,
    total: Option<u64>,
    unit: &'static str,
    /// Notes read so far (empty ones included): what progress counts when the reader counts bytes.
    notes: u64,
}

/// Bytes of text after which a batch is committed even if it has fewer notes.
const BATCH_BYTES: usize = 16 << 20;

impl<'s, 'c> Sink<'s, 'c> {
    fn new(
        options: &'s ImportOptions,
        control: Control<'c>,
        sender: std::sync::mpsc::SyncSender<Vec<Record>>,
    ) -> Self {
        Sink {
            options,
            control,
            sender,
            batch: Vec::new(),
            batch_bytes: 0,
            summary: ImportSummary::default(),
            stage: String::new(),
            done: 0,
            total: None,
            unit: "bytes",
            notes: 0,
        }
    }

    /// Names the file being read and how progress is counted.
    pub(crate) fn begin(&mut self, stage: String, total: Option<u64>, unit: &'static str) {
        self.stage = stage;
        self.total = total;
        self.unit = unit;
        self.done = 0;
        self.report();
    }

    /// Records how far the reader has got (bytes or files).
    pub(crate) fn advance_to(&mut self, done: u64) {
        self.done = done;
    }

    /// Reports progress in notes, as people count an import: a reader that counts bytes gives
    /// the notes read so far and a total estimated from the share of the file read (exact
    /// once the import ends).
    fn report(&mut self) {
        let progress = if self.unit == "bytes" {
            JobProgress {
                stage: self.stage.clone(),
                done: self.notes,
                total: notes_estimate(self.notes, self.done, self.total),
                unit: "notes".to_owned(),
            }
        } else {
            JobProgress {
                stage: self.stage.clone(),
                done: self.done,
                total: self.total,
                unit: self.unit.to_owned(),
            }
        };
        (self.control.progress)(progress);
    }

    /// Whether the user asked to stop; readers stop reading when this is true.
    pub(crate) fn stopped(&self) -> bool {
        self.summary.cancelled
    }

    /// Reports a refused row or annotation.
    pub(crate) fn reject(&mut self, file: &Path, line: u64, reason: impl Into<String>) {
        self.summary.rejected.push(Rejection {
            file: file.display().to_string(),
            line,
            reason: reason.into(),
        });
    }

    /// Queues a note; hands the batch over when it is full. Empty notes are counted and dropped.
    pub(crate) fn push(&mut self, mut record: Record) -> Result<()> {
        self.notes += 1;
        if record.note.text.trim().is_empty() {
            self.summary.empty += 1;
            return Ok(());
        }
        let hash =
            crate::notes::content_hash(record.note.external_id.as_deref(), &record.note.text);
        let metadata =
            serde_json::Value::Object(std::mem::take(&mut record.note.metadata)).to_string();
        record.prepared = Some((hash, metadata));
        self.batch_bytes += record.note.text.len();
        self.batch.push(record);
        if self.batch.len() >= self.options.batch_size.max(1) || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the queued notes to the writer, reports progress and checks for cancellation.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            self.batch_bytes = 0;
            // A closed channel means the writer failed; `import` reports its error.
            self.sender
                .send(batch)
                .map_err(|_| Error::Invalid("the import writer stopped".to_owned()))?;
        }
        self.report();
        if (self.control.cancelled)() {
            self.summary.cancelled = true;
        }
        Ok(())
    }

    fn finish(self) -> (ImportSummary, Control<'c>) {
        (self.summary, self.control)
    }
}

/// The notes a file holds, estimated from `notes` read in `bytes_read` of `bytes` (never fewer
/// than read); `None` before anything is read.
fn notes_estimate(notes: u64, bytes_read: u64, bytes: Option<u64>) -> Option<u64> {
    let bytes = bytes?;
    if bytes_read == 0 || notes == 0 {
        return None;
    }
    let estimate = u128::from(notes) * u128::from(bytes) / u128::from(bytes_read);
    Some(u64::try_from(estimate).unwrap_or(u64::MAX).max(notes))
}

/// Annotator ids of one batch's transaction: the import's own and those named by the source.
struct Annotators {
    default: i64,
    by_name: HashMap<String, i64>,
}

impl Annotators {
    fn id(&mut self, tx: &Tx<'_>, name: Option<&str>) -> Result<i64> {
        let Some(name) = name else {
            return Ok(self.default);
        };
        if let Some(id) = self.by_name.get(name) {
            return Ok(*id);
        }
        let id = tx.ensure_annotator(name, "import")?;
        self.by_name.insert(name.to_owned(), id);
        Ok(id)
    }
}

fn write_record(
    tx: &Tx<'_>,
    record: &Record,
    annotators: &mut Annotators,
    label_ids: &mut HashMap<String, i64>,
    counts: &mut ImportSummary,
) -> Result<()> {
    let (hash, inserted) = match &record.prepared {
        Some((hash, metadata)) => (
            *hash,
            tx.insert_note_prepared(&record.note, hash, metadata)?,
        ),
        None => (
            crate::notes::content_hash(record.note.external_id.as_deref(), &record.note.text),
            tx.insert_note(&record.note)?,
        ),
    };
    // On a note already in the project, annotations it already has are not added again.
    let existing: bool;
    let note: NoteId = match inserted {
        Some(note) => {
            existing = false;
            counts.imported += 1;
            counts.kept_results += record.kept_results;
            if let Some(status) = record.status {
                tx.set_note_status(note, status)?;
            }
            note
        }
        None => {
            counts.duplicates += 1;
            if !record.add_to_existing {
                return Ok(());
            }
            let Some(note) = tx.note_by_hash(&hash)? else {
                return Ok(());
            };
            existing = true;
            note
        }
    };
    let mut label_id = |name: &str, counts: &mut ImportSummary| -> Result<i64> {
        if let Some(id) = label_ids.get(name) {
            return Ok(*id);
        }
        let id = match tx.find_label_id(name)? {
            Some(id) => id,
            None => {
                counts.labels_created.push(name.to_owned());
                tx.create_imported_label(name)?
            }
        };
        label_ids.insert(name.to_owned(), id);
        Ok(id)
    };
    for label in &record.labels {
        let annotator = annotators.id(tx, label.annotator.as_deref())?;
        let id = label_id(&label.label, counts)?;
        if existing && tx.has_doc_label(note, id, annotator)? {
            continue;
        }
        tx.insert_doc_row(note, id, annotator, label.status, &label.attributes, None)?;
        counts.doc_labels += 1;
    }
    for span in &record.spans {
        let annotator = annotators.id(tx, span.annotator.as_deref())?;
        let id = label_id(&span.label, counts)?;
        if existing && tx.has_span(note, id, annotator, &span.fragments)? {
            continue;
        }
        let row = SpanRow {
            status: span.status,
            fragments: &span.fragments,
            attributes: &span.attributes,
            comment: span.comment.as_deref(),
            source_ref: span.source_ref.as_deref(),
        };
        tx.insert_span_row(note, id, annotator, &row, None)?;
        counts.spans += 1;
    }
    for (kind, line) in &record.extras {
        tx.insert_standoff_extra(note, kind, line)?;
        counts.kept_standoff_lines += 1;
    }
    Ok(())
}

/// Merges labels that a row names twice (per annotator): one document label each, adverse if
/// any is adverse.
pub(crate) fn merge_labels(labels: Vec<RecordLabel>) -> Vec<RecordLabel> {
    let mut out: Vec<RecordLabel> = Vec::new();
    for label in labels {
        match out.iter_mut().find(|l| {
            // As the project compares label names (SQLite's NOCASE folds ASCII only).
            l.label.eq_ignore_ascii_case(&label.label) && l.annotator == label.annotator
        }) {
            Some(existing) => {
                for (k, v) in label.attributes {
                    let slot = existing.attributes.entry(k).or_insert_with(|| v.clone());
                    if v == "true" {
                        *slot = v;
                    }
                }
            }
            None => out.push(label),
        }
    }
    out
}

/// Splits aligned `label` and `adverse` cells (`"SUPPORT,PARENT"`, `"nonadverse,adverse"`).
pub(crate) fn labels_from_cells(
    labels: &str,
    adverse: Option<&str>,
) -> Result<Vec<RecordLabel>, String> {
    let names: Vec<&str> = labels
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let flags: Option<Vec<&str>> = adverse.map(|a| {
        a.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    if let Some(flags) = &flags
        && !flags.is_empty()
        && flags.len() != names.len()
    {
        return Err(format!(
            "{} labels but {} adverse values; they must be aligned one to one",
            names.len(),
            flags.len()
        ));
    }
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut attributes = BTreeMap::new();
        if let Some(flag) = flags.as_ref().and_then(|f| f.get(i)) {
            let value = match flag.to_ascii_lowercase().as_str() {
                "adverse" | "true" | "yes" | "1" => "true",
                "nonadverse" | "non-adverse" | "not adverse" | "false" | "no" | "0" => "false",
                other => {
                    return Err(format!(
                        "adverse value {other:?} is not adverse or nonadverse"
                    ));
                }
            };
            attributes.insert("adverse".to_owned(), value.to_owned());
        }
        out.push(RecordLabel {
            label: name.to_ascii_uppercase(),
            status: AnnotationStatus::Gold,
            attributes,
            annotator: None,
        });
    }
    Ok(merge_labels(out))
}

/// Finds the first invalid UTF-8 sequence in a file, reading it in chunks.
pub(crate) fn first_invalid_utf8(path: &Path) -> Result<Option<u64>> {
    let mut file = std::fs::File::open(path).map_err(|source| Error::Io {
        action: "open",
        path: path.to_owned(),
        source,
    })?;
    let mut buf = vec![0u8; 1 << 16];
    let mut carry = 0usize; // bytes of an incomplete sequence kept from the last chunk
    let mut offset = 0u64; // file offset of buf[0]
    loop {
        let n = file.read(&mut buf[carry..]).map_err(|source| Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let filled = carry + n;
        if filled == 0 {
            return Ok(None);
        }
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) if n == 0 => return Ok(None),
            Ok(_) => {
                offset += filled as u64;
                carry = 0;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                if e.error_len().is_some() || n == 0 {
                    return Ok(Some(offset + valid as u64));
                }
                // An incomplete sequence at the end of the chunk: finish it with the next read.
                buf.copy_within(valid..filled, 0);
                carry = filled - valid;
                offset += valid as u64;
            }
        }
    }
}

/// Refuses a non-UTF-8 file unless `lossy` is set.
pub(crate) fn check_utf8(path: &Path, lossy: bool) -> Result<()> {
    if lossy {
        return Ok(());
    }
    match first_invalid_utf8(path)? {
        Some(offset) => Err(Error::NotUtf8 {
            path: path.to_owned(),
            offset,
        }),
        None => Ok(()),
    }
}

/// Largest single note file (`.txt`, `.ann`) an import reads; a bigger one is reported and
/// skipped rather than read into memory.
pub(crate) const MAX_NOTE_FILE_BYTES: u64 = 32 << 20;

/// Refuses anything but a regular file (after following links) before it is opened: opening a
/// FIFO blocks, and a device such as `/dev/zero` never ends. Returns the file's size.
pub(crate) fn regular_file(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_file() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
            kind: file_kind(&meta.file_type()),
        });
    }
    Ok(meta.len())
}

/// What a file type is, in words, for a file that is not a regular file.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        return "a folder";
    }
    "not a file"
}

/// Reads a whole note file as text, replacing bad UTF-8 only when `lossy`; refuses what is not a
/// regular file or is larger than [`MAX_NOTE_FILE_BYTES`].
pub(crate) fn read_text(path: &Path, lossy: bool) -> Result<String> {
    let io = |source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let too_large = |size| Error::TooLarge {
        path: path.to_owned(),
        size,
        limit: MAX_NOTE_FILE_BYTES,
    };
    let size = regular_file(path)?;
    if size > MAX_NOTE_FILE_BYTES {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The file may grow after it was measured: never read more than the limit.
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_NOTE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_NOTE_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) if lossy => Ok(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => Err(Error::NotUtf8 {
            path: path.to_owned(),
            offset: e.utf8_error().valid_up_to() as u64,
        }),
    }
}

/// Why a file of a folder import was skipped, without its path (the report gives it).
pub(crate) fn skip_reason(e: &Error) -> String {
    match e {
        Error::NotUtf8 { offset, .. } => {
            format!("not UTF-8 (bad byte at offset {offset}); use --lossy to replace bad bytes")
        }
        Error::Io { action, source, .. } => format!("cannot {action} it: {source}; skipped"),
        Error::NotAFile { kind, .. } => format!("{kind}, not a regular file; skipped"),
        Error::TooLarge { size, limit, .. } => format!(
            "{size} bytes; a note file may be at most {limit} bytes (import it as CSV or JSONL); skipped"
        ),
        other => other.to_string(),
    }
}

/// The files a folder walk found, and the entries it skipped with why.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Regular files with a wanted extension, sorted, each real file once.
    pub files: Vec<PathBuf>,
    /// Entries not read: broken links, FIFOs and devices, oversized files, folders reached
    /// twice through links, unreadable subfolders.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Files in a folder with one of `extensions`, recursing into subfolders.
///
/// Links are followed, but every folder is read once (by its real path), so links that loop
/// end; a file reached twice is listed once (the first path in sorted order). Only regular files
/// are listed; anything else and anything unreadable is in [`Listing::skipped`] and the walk
/// goes on. Only the folder itself being unreadable is an error.
pub(crate) fn files_with_extension(dir: &Path, extensions: &[&str]) -> Result<Listing> {
    let list_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io {
            action: "list",
            path,
            source,
        }
    };
    let mut listing = Listing::default();
    let mut seen_dirs = std::collections::HashSet::new();
    seen_dirs.insert(std::fs::canonicalize(dir).map_err(list_err(dir))?);
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new(); // (path, real path)
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(source) if d == dir => return Err(list_err(dir)(source)),
            Err(e) => {
                listing
                    .skipped
                    .push((d, format!("folder cannot be read: {e}; skipped")));
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        // Reverse order on the stack, so folders are walked in name order.
        paths.sort_unstable_by(|a, b| b.cmp(a));
        for p in paths {
            let wanted = p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| extensions.iter().any(|e| x.eq_ignore_ascii_case(e)));
            let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_symlink());
            let meta = match std::fs::metadata(&p) {
                Ok(meta) => meta,
                Err(e) => {
                    if wanted || is_link {
                        let what = if is_link {
                            "a broken link"
                        } else {
                            "unreadable"
                        };
                        listing.skipped.push((p, format!("{what} ({e}); skipped")));
                    }
                    continue;
                }
            };
            let real = match std::fs::canonicalize(&p) {
                Ok(real) => real,
                Err(e) => {
                    if wanted || meta.is_dir() {
                        listing
                            .skipped
                            .push((p, format!("cannot resolve its path ({e}); skipped")));
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                if seen_dirs.insert(real) {
                    stack.push(p);
                } else {
                    listing.skipped.push((
                        p,
                        "a folder already read (through a link); not read again".to_owned(),
                    ));
                }
                continue;
            }
            if !wanted {
                continue;
            }
            if !meta.is_file() {
                let kind = file_kind(&meta.file_type());
                listing
                    .skipped
                    .push((p, format!("{kind}, not a regular file; skipped")));
                continue;
            }
            found.push((p, real));
        }
    }
    found.sort();
    let mut seen_files = std::collections::HashSet::new();
    for (path, real) in found {
        if seen_files.insert(real) {
            listing.files.push(path);
        } else {
            listing.skipped.push((
                path,
                "the same file as another one in the folder (a link); read once".to_owned(),
            ));
        }
    }
    listing.skipped.sort();
    Ok(listing)
}

/// The note's external id for a file: its path under the folder without the extension.
pub(crate) fn file_external_id(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    rel.to_string_lossy().replace('\\', "/")
}

/// How a source counts offsets into the note text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Unicode code points (brat, Prodigy, our JSONL).
    Chars,
    /// UTF-16 code units (Label Studio, which counts as JavaScript does).
    Utf16,
}

/// Converts code-point fragments into byte fragments of `text`, or says which is out of range.
pub(crate) fn fragments_to_bytes(
    text: &str,
    fragments: &[(usize, usize)],
) -> Result<Vec<Fragment>, String> {
    fragments_to_bytes_in(text, fragments, Unit::Chars)
}

/// Converts fragments counted in `unit` into byte fragments of `text`, or says which is out of
/// range or splits a character.
pub(crate) fn fragments_to_bytes_in(
    text: &str,
    fragments: &[(usize, usize)],
    unit: Unit,
) -> Result<Vec<Fragment>, String> {
    let mut wanted: Vec<usize> = fragments.iter().flat_map(|&(s, e)| [s, e]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let (converted, length, unit_name) = match unit {
        Unit::Chars => (
            api::offsets::chars_to_bytes(text, &wanted),
            text.chars().count(),
            "characters",
        ),
        Unit::Utf16 => (
            api::offsets::utf16s_to_bytes(text, &wanted),
            text.chars().map(char::len_utf16).sum(),
            "UTF-16 units",
        ),
    };
    let lookup = |offset: usize| -> Option<usize> {
        wanted
            .binary_search(&offset)
            .ok()
            .and_then(|i| converted.get(i).copied().flatten())
    };
    let mut out = Vec::with_capacity(fragments.len());
    for &(s, e) in fragments {
        if s >= e {
            return Err(format!("fragment {s}-{e} is empty or reversed"));
        }
        match (lookup(s), lookup(e)) {
            (Some(start), Some(end)) => out.push(Fragment { start, end }),
            _ if e <= length => {
                return Err(format!(
                    "fragment {s}-{e} starts or ends inside a character (between the two \
                     UTF-16 halves of an emoji or other astral character)"
                ));
            }
            _ => {
                return Err(format!(
                    "fragment {s}-{e} ends past the text ({length} {unit_name})"
                ));
            }
        }
    }
    out.sort_by_key(|f| (f.start, f.end));
    Ok(out)
}

#[cfg(test)]
mod tests;
