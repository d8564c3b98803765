//! A folder of `.txt` files: one note per file, its external id the path without `.txt`.

use std::path::Path;

use super::{ImportOptions, Record, Sink, file_external_id, files_with_extension, read_text};
use crate::error::{Error, Result};
use crate::notes::NewNote;

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    let (root, files) = if path.is_dir() {
        (path.to_owned(), files_with_extension(path, &["txt"])?)
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
            Err(Error::NotUtf8 { offset, .. }) => {
                sink.reject(
                    file,
                    0,
                    format!(
                        "not UTF-8 (bad byte at offset {offset}); use --lossy to replace bad bytes"
                    ),
                );
                continue;
            }
            Err(e) => return Err(e),
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
