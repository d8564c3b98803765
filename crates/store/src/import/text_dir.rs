//! A folder of `.txt` files: one note per file, its external id the path without `.txt`.

use std::path::Path;

use super::{
    ImportOptions, Record, Sink, file_external_id, files_with_extension, read_text, skip_reason,
};
use crate::error::Result;
use crate::notes::NewNote;

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    let (root, files) = if path.is_dir() {
        let listing = files_with_extension(path, &["txt"])?;
        for (skipped, reason) in &listing.skipped {
            sink.reject(skipped, 0, reason.clone());
        }
        (path.to_owned(), listing.files)
    } else {
        let root = path.parent().map(Path::to_owned).unwrap_or_default();
        (root, vec![path.to_owned()])
    };
    sink.begin(
        format!("importing {}", path.display()),
        Some(files.len() as u64),
        "files",
    );
    for (i, file) in files.iter().enumerate() {
        if sink.stopped() {
            break;
        }
        sink.advance_to(i as u64 + 1);
        let text = match read_text(file, options.lossy) {
            Ok(text) => text,
            // One unreadable file is reported; the others are still imported.
            Err(e) => {
                sink.reject(file, 0, skip_reason(&e));
                continue;
            }
        };
        let rel = file.strip_prefix(&root).unwrap_or(file);
        sink.push(Record {
            note: NewNote {
                external_id: Some(file_external_id(&root, file)),
                source: Some(rel.to_string_lossy().into_owned()),
                text,
                ..NewNote::default()
            },
            ..Record::default()
        })?;
    }
    Ok(())
}
