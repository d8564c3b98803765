use std::path::{Path, PathBuf};

use api::{NoteStatus, SearchQuery};

use super::*;
use crate::export::{ExportFormat, ExportOptions, export};

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("p.clinitune")).unwrap();
    (dir, store)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(store: &mut Store, path: &Path, options: &ImportOptions) -> Result<ImportSummary> {
    let never = || false;
    import(
        store,
        path,
        options,
        Control {
            progress: &mut |_| {},
            cancelled: &never,
        },
    )
}

fn all_notes(store: &Store) -> Vec<api::NoteDetail> {
    store
        .db()
        .note_ids()
        .unwrap()
        .into_iter()
        .map(|id| store.db().note(id).unwrap())
        .collect()
}

// MIMIC-III NOTEEVENTS columns, quoted multi-line TEXT, padded CATEGORY as in the real file.
const MIMIC: &str = "\"ROW_ID\",\"SUBJECT_ID\",\"HADM_ID\",\"CHARTDATE\",\"CHARTTIME\",\"STORETIME\",\"CATEGORY\",\"DESCRIPTION\",\"CGID\",\"ISERROR\",\"TEXT\"
174,22532,167853,2151-08-04,,,\"Discharge summary\",\"Report\",,,\"Admission Date:  [**2151-7-16**]
Discharge Date:  [**2151-8-4**]

Pt lives alone, \"\"independent\"\" at baseline.\"
175,13702,107527,2118-06-14,,,\"Physician \",\"Physician Resident Progress Note\",,,\"Chief Complaint: SOB
HPI: 3 days of dyspnea.\"
176,13702,,2118-06-14,,,\"Nursing\",\"Nursing Progress Note\",,,
177,13702,107527,2118-06-15,,,\"Nursing\"
178,13703,107528,2118-06-16,,,\"Radiology\",\"CHEST (PA & LAT)\",,,\"No acute process.\"
";

#[test]
fn mimic_csv_is_recognised_with_quoted_multiline_text() {
    let (dir, mut store) = temp_store();
    let path = write(dir.path(), "NOTEEVENTS.csv", MIMIC.as_bytes());
    let summary = run(&mut store, &path, &ImportOptions::new(Format::Csv)).unwrap();
    assert_eq!(summary.imported, 3, "{summary:?}");
    assert_eq!(summary.empty, 1, "row 176 has no text");
    assert_eq!(summary.rejected.len(), 1);
    let bad = &summary.rejected[0];
    assert_eq!(
        bad.line, 9,
        "row 177 starts on line 9 (row 174 spans 4 lines): {bad:?}"
    );
    assert!(
        bad.reason.contains("7 columns; expected 11"),
        "{}",
        bad.reason
    );
    assert!(bad.file.ends_with("NOTEEVENTS.csv"));

    let notes = all_notes(&store);
    let first = &notes[0];
    assert_eq!(first.external_id.as_deref(), Some("174"));
    assert_eq!(first.subject_id.as_deref(), Some("22532"));
    assert_eq!(first.hadm_id.as_deref(), Some("167853"));
    assert_eq!(first.chart_date.as_deref(), Some("2151-08-04"));
    assert_eq!(first.category.as_deref(), Some("Discharge summary"));
    assert!(
        first
            .text
            .contains("Discharge Date:  [**2151-8-4**]\n\nPt lives alone, \"independent\"")
    );
    assert_eq!(
        notes[1].category.as_deref(),
        Some("Physician"),
        "padded value is trimmed"
    );
    assert!(
        notes[1].metadata.contains_key("CGID"),
        "unmapped columns are kept"
    );
}

#[test]
fn reimporting_the_same_file_changes_nothing() {
    let (dir, mut store) = temp_store();
    let path = write(dir.path(), "n.csv", MIMIC.as_bytes());
    run(&mut store, &path, &ImportOptions::new(Format::Csv)).unwrap();
    let before = store.db().stats().unwrap();
    let again = run(&mut store, &path, &ImportOptions::new(Format::Csv)).unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.duplicates, 3);
    assert_eq!(store.db().stats().unwrap(), before);
}

#[test]
fn other_columns_are_mapped_by_name_given() {
    let (dir, mut store) = temp_store();
    let csv =
        "note_no,kind,body\nA1,Social work,\"Lives with wife.\"\nA2,Social work,Uses the bus.\n";
    let path = write(dir.path(), "other.csv", csv.as_bytes());
    let mut options = ImportOptions::new(Format::Csv);
    options.columns.id = Some("note_no".into());
    options.columns.category = Some("KIND".into());
    let summary = run(&mut store, &path, &options).unwrap();
    assert_eq!(summary.imported, 2);
    let notes = all_notes(&store);
    assert_eq!(notes[1].external_id.as_deref(), Some("A2"));
    assert_eq!(notes[1].category.as_deref(), Some("Social work"));

    options.columns.text = Some("missing".into());
    let err = run(&mut store, &path, &options).unwrap_err();
    assert!(
        err.to_string().contains("\"missing\" is not a column"),
        "{err}"
    );
}

#[test]
fn shadr_label_columns_become_document_labels_with_adverse() {
    let (dir, mut store) = temp_store();
    let csv = "text,label,adverse\n\
Pt relies on daughter for rides,\"SUPPORT,TRANSPORTATION\",\"nonadverse,adverse\"\n\
Separated couple discusses parenting,\"RELATIONSHIP,PARENT\",\"adverse,adverse\"\n\
Bad row,\"HOUSING,EMPLOYMENT\",adverse\n";
    let path = write(dir.path(), "shadr.csv", csv.as_bytes());
    let summary = run(&mut store, &path, &ImportOptions::new(Format::Csv)).unwrap();
    assert_eq!(summary.imported, 3);
    assert_eq!(summary.doc_labels, 4);
    assert_eq!(summary.rejected.len(), 1);
    assert_eq!(summary.rejected[0].line, 4);
    let notes = all_notes(&store);
    let labels: Vec<(String, String)> = notes[0]
        .doc_labels
        .iter()
        .map(|d| (d.label.clone(), d.attributes["adverse"].clone()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("SUPPORT".into(), "false".into()),
            ("TRANSPORTATION".into(), "true".into())
        ]
    );
    assert!(
        notes[2].doc_labels.is_empty(),
        "misaligned labels are refused, the note kept"
    );
}

#[test]
fn non_utf8_file_is_refused_with_the_offset_unless_lossy() {
    let (dir, mut store) = temp_store();
    let mut bytes = b"text\nfine\n".to_vec();
    bytes.extend_from_slice(b"caf\xe9\n");
    let path = write(dir.path(), "latin1.csv", &bytes);
    let err = run(&mut store, &path, &ImportOptions::new(Format::Csv)).unwrap_err();
    assert!(matches!(err, Error::NotUtf8 { offset: 13, .. }), "{err:?}");
    assert_eq!(
        store.db().stats().unwrap().notes,
        0,
        "nothing imported from a refused file"
    );

    let mut lossy = ImportOptions::new(Format::Csv);
    lossy.lossy = true;
    let summary = run(&mut store, &path, &lossy).unwrap();
    assert_eq!(summary.imported, 2);
    assert_eq!(all_notes(&store)[1].text, "caf\u{fffd}");
}

#[test]
fn first_invalid_utf8_finds_sequences_split_across_reads() {
    let dir = tempfile::tempdir().unwrap();
    // A valid 4-byte emoji straddling the 64 KiB read boundary, then a bad byte far later.
    let mut bytes = vec![b'a'; (1 << 16) - 2];
    bytes.extend_from_slice("🫁".as_bytes());
    bytes.extend_from_slice(&vec![b'b'; 70_000]);
    let good = write(dir.path(), "good.txt", &bytes);
    assert_eq!(first_invalid_utf8(&good).unwrap(), None);
    let at = bytes.len() as u64;
    bytes.push(0xff);
    let bad = write(dir.path(), "bad.txt", &bytes);
    assert_eq!(first_invalid_utf8(&bad).unwrap(), Some(at));
    // A truncated sequence at the very end.
    let truncated = write(dir.path(), "trunc.txt", &"é".as_bytes()[..1]);
    assert_eq!(first_invalid_utf8(&truncated).unwrap(), Some(0));
}

#[test]
fn jsonl_keeps_extra_keys_and_reports_bad_lines() {
    let (dir, mut store) = temp_store();
    let jsonl = concat!(
        "{\"id\": 7, \"text\": \"Zoë lives with her partner.\", \"site\": \"B\", \"labels\": [\"RELATIONSHIP\"]}\n",
        "{\"id\": \"x\", \"text\": 5}\n",
        "not json\n",
        "\n",
        "{\"id\": \"e\", \"text\": \"   \"}\n",
        "{\"text\": \"µg dose → 🫁 ok\", \"spans\": [{\"start\": 12, \"end\": 14, \"label\": \"OK\"}, {\"start\": 12, \"end\": 99, \"label\": \"OK\"}]}\n",
    );
    let path = write(dir.path(), "notes.jsonl", jsonl.as_bytes());
    let summary = run(&mut store, &path, &ImportOptions::new(Format::Jsonl)).unwrap();
    assert_eq!(summary.imported, 2);
    assert_eq!(summary.empty, 1);
    let lines: Vec<u64> = summary.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 6], "{:?}", summary.rejected);
    assert_eq!(
        summary.labels_created,
        vec!["RELATIONSHIP".to_owned(), "OK".to_owned()]
    );
    let notes = all_notes(&store);
    assert_eq!(notes[0].external_id.as_deref(), Some("7"));
    assert_eq!(notes[0].metadata["site"], "B");
    let span = &notes[1].spans[0];
    assert_eq!(
        &notes[1].text[span.start()..span.end()],
        "ok",
        "code points became bytes"
    );
}

const BRAT_TEXT: &str = "Zoë (72) lives alone → no car; takes the bus.\nSon visits weekly.\n";
const BRAT_ANN: &str = "T1\tSUPPORT 9 20\tlives alone\n\
T2\tTRANSPORTATION 23 29;37 44\tno car the bus\n\
A1\tadverse T1\n\
A2\ttype T2 resource\n\
#1\tAnnotatorNotes T2\tdiscontinuous on purpose\n\
R1\tRelated Arg1:T1 Arg2:T2\n\
T3\tSUPPORT 46 64\tSon visits weekly.\n\
T4\tSUPPORT 0 3\tZoe\n";

#[test]
fn brat_offsets_are_code_points_and_nothing_is_silently_dropped() {
    let (dir, mut store) = temp_store();
    let corpus = dir.path().join("brat");
    write(&corpus, "n1.txt", BRAT_TEXT.as_bytes());
    write(&corpus, "n1.ann", BRAT_ANN.as_bytes());
    write(&corpus, "orphan.ann", b"T1\tX 0 1\ta\n");
    let summary = run(&mut store, &corpus, &ImportOptions::new(Format::Brat)).unwrap();
    assert_eq!(summary.imported, 1);
    assert_eq!(summary.spans, 3);
    assert_eq!(summary.kept_standoff_lines, 1, "the relation is kept");
    let reasons: Vec<String> = summary
        .rejected
        .iter()
        .map(|r| format!("{}:{}", r.line, r.reason))
        .collect();
    assert_eq!(summary.rejected.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.starts_with("8:T4 not imported")),
        "{reasons:?}"
    );
    assert!(
        summary
            .rejected
            .iter()
            .any(|r| r.file.ends_with("orphan.ann"))
    );

    let note = &all_notes(&store)[0];
    let covered: Vec<String> = note
        .spans
        .iter()
        .map(|s| {
            s.fragments
                .iter()
                .map(|f| &note.text[f.start..f.end])
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert_eq!(
        covered,
        vec!["lives alone", "no car|the bus", "Son visits weekly."]
    );
    assert_eq!(note.spans[0].attributes["adverse"], "true");
    assert_eq!(note.spans[1].attributes["type"], "resource");
    assert_eq!(
        note.spans[1].comment.as_deref(),
        Some("discontinuous on purpose")
    );
}

#[test]
fn brat_export_of_an_imported_corpus_reproduces_its_spans() {
    let (dir, mut store) = temp_store();
    let corpus = dir.path().join("in");
    let ann = BRAT_ANN.replace("T4\tSUPPORT 0 3\tZoe\n", "");
    write(&corpus, "sub/n1.txt", BRAT_TEXT.as_bytes());
    write(&corpus, "sub/n1.ann", ann.as_bytes());
    run(&mut store, &corpus, &ImportOptions::new(Format::Brat)).unwrap();
    let out = dir.path().join("out");
    let options = ExportOptions {
        format: ExportFormat::Brat,
        annotator: None,
        annotations: true,
    };
    export(store.db(), &out, &options, &mut |_| {}).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("sub/n1.txt")).unwrap(),
        BRAT_TEXT
    );
    let (original, _) = crate::brat::parse(&ann);
    let (exported, errors) =
        crate::brat::parse(&std::fs::read_to_string(out.join("sub/n1.ann")).unwrap());
    assert!(errors.is_empty());
    let key = |s: &crate::brat::Standoff| {
        let mut v: Vec<_> = s
            .text_bounds
            .iter()
            .map(|t| (t.id.clone(), t.label.clone(), t.fragments.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&exported), key(&original));
    assert_eq!(
        exported.others, original.others,
        "the kept relation is written back"
    );
    assert_eq!(exported.notes.len(), 1);

    // And the exported corpus imports into a fresh project as the same spans.
    let (_dir2, mut again) = temp_store();
    run(&mut again, &out, &ImportOptions::new(Format::Brat)).unwrap();
    let a = &all_notes(&store)[0];
    let b = &all_notes(&again)[0];
    let frags = |n: &api::NoteDetail| {
        n.spans
            .iter()
            .map(|s| (s.label.clone(), s.fragments.clone(), s.attributes.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(frags(a), frags(b));
}

#[test]
fn jsonl_export_imports_back_to_the_same_notes_and_labels() {
    let (dir, mut store) = temp_store();
    let jsonl = "{\"id\": \"a\", \"text\": \"José has no car → misses visits.\", \"category\": \"Social work\", \"labels\": [{\"label\": \"TRANSPORTATION\", \"attributes\": {\"adverse\": \"true\"}}], \"spans\": [{\"start\": 5, \"end\": 15, \"label\": \"TRANSPORTATION\", \"attributes\": {\"type\": \"resource\"}}], \"site\": 3}\n";
    let path = write(dir.path(), "a.jsonl", jsonl.as_bytes());
    run(&mut store, &path, &ImportOptions::new(Format::Jsonl)).unwrap();
    let out = dir.path().join("out.jsonl");
    let options = ExportOptions {
        format: ExportFormat::Jsonl,
        annotator: None,
        annotations: true,
    };
    let summary = export(store.db(), &out, &options, &mut |_| {}).unwrap();
    assert_eq!(
        (summary.notes, summary.spans, summary.doc_labels),
        (1, 1, 1)
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert_eq!(line["spans"][0]["text"], "has no car");
    assert_eq!(line["spans"][0]["start"], 5);

    let (_d, mut again) = temp_store();
    run(&mut again, &out, &ImportOptions::new(Format::Jsonl)).unwrap();
    let (a, b) = (&all_notes(&store)[0], &all_notes(&again)[0]);
    assert_eq!(a.text, b.text);
    assert_eq!(a.category, b.category);
    assert_eq!(a.spans[0].fragments, b.spans[0].fragments);
    assert_eq!(a.doc_labels[0].attributes, b.doc_labels[0].attributes);
}

#[test]
fn text_folder_and_search_filters() {
    let (dir, mut store) = temp_store();
    let folder = dir.path().join("txt");
    write(
        &folder,
        "a.txt",
        "Patient lives alone in a walk-up apartment.".as_bytes(),
    );
    write(
        &folder,
        "b.txt",
        "Lives with daughter; she drives him to dialysis.".as_bytes(),
    );
    write(&folder, "c.txt", b"\xff\xfe bad bytes");
    let summary = run(&mut store, &folder, &ImportOptions::new(Format::Txt)).unwrap();
    assert_eq!(summary.imported, 2);
    assert_eq!(summary.rejected.len(), 1);
    assert!(summary.rejected[0].reason.contains("offset 0"));

    let found = store
        .db()
        .search_notes(&SearchQuery {
            text: "lives".into(),
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(found.len(), 2);
    let found = store
        .db()
        .search_notes(&SearchQuery {
            text: "lives alone".into(),
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].external_id.as_deref(), Some("a"));
    let marked: Vec<&str> = found[0]
        .highlights
        .iter()
        .map(|h| &found[0].snippet[h.start..h.end])
        .collect();
    assert_eq!(marked, vec!["lives", "alone"]);
    let none = store
        .db()
        .search_notes(&SearchQuery {
            text: "lives".into(),
            status: Some(NoteStatus::Done),
            ..SearchQuery::default()
        })
        .unwrap();
    assert!(none.is_empty());
    // Counts agree with the searches, filtered or not (the unfiltered count has its own path).
    let count = |q: SearchQuery| store.db().count_notes(&q).unwrap() as usize;
    let all = store
        .db()
        .search_notes(&SearchQuery::default())
        .unwrap()
        .len();
    assert_eq!(count(SearchQuery::default()), all);
    let lives = SearchQuery {
        text: "lives".into(),
        ..SearchQuery::default()
    };
    assert_eq!(count(lives.clone()), 2);
    assert_eq!(
        count(SearchQuery {
            status: Some(NoteStatus::Done),
            ..lives
        }),
        0
    );
    assert!(store.db().integrity_problems().unwrap().is_empty());
}

#[test]
fn audit_log_is_append_only() {
    let (dir, mut store) = temp_store();
    let path = write(dir.path(), "a.jsonl", b"{\"text\": \"x\"}\n");
    run(&mut store, &path, &ImportOptions::new(Format::Jsonl)).unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let err = conn.execute("DELETE FROM audit_log", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(
        conn.execute("UPDATE audit_log SET actor = 'x'", [])
            .is_err()
    );
}

#[test]
fn search_orders_by_id_or_by_relevance() {
    let (dir, mut store) = temp_store();
    let jsonl = "{\"id\": \"a\", \"text\": \"Housing: stable. Lives with wife in their own home.\"}\n\
{\"id\": \"b\", \"text\": \"Housing insecure: housing voucher pending, housing search ongoing.\"}\n";
    let path = write(dir.path(), "h.jsonl", jsonl.as_bytes());
    run(&mut store, &path, &ImportOptions::new(Format::Jsonl)).unwrap();
    let ids = |order| -> Vec<String> {
        let q = SearchQuery {
            text: "housing".into(),
            order,
            ..SearchQuery::default()
        };
        store
            .db()
            .search_notes(&q)
            .unwrap()
            .into_iter()
            .filter_map(|n| n.external_id)
            .collect()
    };
    assert_eq!(ids(api::SearchOrder::Id), vec!["a", "b"]);
    assert_eq!(
        ids(api::SearchOrder::Relevance),
        vec!["b", "a"],
        "three mentions rank first"
    );
}

#[test]
fn opening_something_that_is_not_a_project_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = write(dir.path(), "notes.clinitune", b"just some text, not SQLite");
    assert!(matches!(Store::open(&text), Err(Error::NotAProject { .. })));
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    assert!(matches!(
        Store::open(&other),
        Err(Error::NotAProject { .. })
    ));
    assert!(matches!(
        Store::open(&dir.path().join("missing.clinitune")),
        Err(Error::NoProject { .. })
    ));
    let (_d, store) = temp_store();
    let path = store.path().to_owned();
    drop(store);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(Error::NewerSchema { found: 99, .. })
    ));
    assert!(matches!(
        Store::create(&path),
        Err(Error::AlreadyExists { .. })
    ));
}

/// External ids of the project's notes, sorted.
fn ids_of(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = all_notes(store)
        .into_iter()
        .filter_map(|n| n.external_id)
        .collect();
    ids.sort();
    ids
}

// Issue 17, item 2: a link to its own folder imported the same note once per level (41 times);
// two such links never finished.
#[cfg(unix)]
#[test]
fn folder_import_reads_each_folder_once_however_links_loop() {
    let (dir, mut store) = temp_store();
    let corpus = dir.path().join("notes");
    write(&corpus, "a.txt", b"Lives alone.");
    write(&corpus, "sub/b.txt", b"Son visits weekly.");
    std::os::unix::fs::symlink(".", corpus.join("again")).unwrap();
    let summary = run(&mut store, &corpus, &ImportOptions::new(Format::Txt)).unwrap();
    assert_eq!(summary.imported, 2, "{summary:?}");
    assert_eq!(ids_of(&store), vec!["a", "sub/b"]);

    std::os::unix::fs::symlink(".", corpus.join("and_again")).unwrap();
    std::os::unix::fs::symlink("..", corpus.join("sub/up")).unwrap();
    let (_d, mut fresh) = temp_store();
    let summary = run(&mut fresh, &corpus, &ImportOptions::new(Format::Txt)).unwrap();
    assert_eq!(summary.imported, 2, "{summary:?}");
}

// Issue 17, item 2: one broken link aborted the whole folder; a FIFO blocked for ever; a link
// to /dev/zero read until memory ran out.
#[cfg(unix)]
#[test]
fn folder_import_skips_what_is_not_a_note_file_and_imports_the_rest() {
    let (dir, mut store) = temp_store();
    let corpus = dir.path().join("notes");
    write(&corpus, "a.txt", b"Lives alone.");
    write(&corpus, "b.txt", b"Son visits weekly.");
    std::os::unix::fs::symlink(corpus.join("missing.txt"), corpus.join("broken.txt")).unwrap();
    let summary = run(&mut store, &corpus, &ImportOptions::new(Format::Txt)).unwrap();
    assert_eq!(summary.imported, 2, "{summary:?}");
    assert_eq!(summary.rejected.len(), 1, "{:?}", summary.rejected);
    assert!(summary.rejected[0].file.ends_with("broken.txt"));
    assert!(summary.rejected[0].reason.contains("broken link"));

    let made = std::process::Command::new("mkfifo")
        .arg(corpus.join("fifo.txt"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", corpus.join("zero.txt")).unwrap();
    // Bigger than any note may be, without writing the bytes (a sparse file).
    std::fs::File::create(corpus.join("huge.txt"))
        .unwrap()
        .set_len(MAX_NOTE_FILE_BYTES + 1)
        .unwrap();
    write(&corpus, "c.txt", b"Takes the bus.");
    let summary = run(&mut store, &corpus, &ImportOptions::new(Format::Txt)).unwrap();
    assert_eq!(
        (summary.imported, summary.duplicates),
        (1, 2),
        "{summary:?}"
    );
    let reason = |name: &str| {
        summary
            .rejected
            .iter()
            .find(|r| r.file.ends_with(name))
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", summary.rejected))
    };
    assert!(reason("fifo.txt").contains("FIFO"));
    assert!(reason("zero.txt").contains("device"));
    assert!(reason("huge.txt").contains("at most"));
    assert!(reason("broken.txt").contains("broken link"));
    // A single FIFO given as the file to import is refused, not read.
    assert!(matches!(
        run(&mut store, &corpus.join("fifo.txt"), &ImportOptions::new(Format::Txt)),
        Ok(ref s) if s.imported == 0 && s.rejected.len() == 1
    ));
    assert!(matches!(
        run(
            &mut store,
            &corpus.join("fifo.txt"),
            &ImportOptions::new(Format::Jsonl)
        ),
        Err(Error::NotAFile { .. })
    ));
}

// Issue 17, item 7: a byte-order mark made the first JSONL line invalid JSON.
#[test]
fn jsonl_and_csv_with_a_byte_order_mark_keep_their_first_note() {
    let (dir, mut store) = temp_store();
    let jsonl = write(
        dir.path(),
        "bom.jsonl",
        "\u{feff}{\"id\": \"j1\", \"text\": \"First note.\"}\n{\"id\": \"j2\", \"text\": \"Second.\"}\n"
            .as_bytes(),
    );
    let summary = run(&mut store, &jsonl, &ImportOptions::new(Format::Jsonl)).unwrap();
    assert_eq!(summary.imported, 2, "{summary:?}");
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);

    let csv = write(
        dir.path(),
        "bom.csv",
        "\u{feff}id,text\nc1,First CSV note.\n".as_bytes(),
    );
    run(&mut store, &csv, &ImportOptions::new(Format::Csv)).unwrap();
    let quoted = write(
        dir.path(),
        "bom-quoted.csv",
        "\u{feff}\"id\",\"text\"\nq1,\"Quoted header.\"\n".as_bytes(),
    );
    run(&mut store, &quoted, &ImportOptions::new(Format::Csv)).unwrap();
    assert_eq!(ids_of(&store), vec!["c1", "j1", "j2", "q1"]);
}

// Issue 17, item 7: an unclosed quote swallowed the rows after it into one note.
#[test]
fn csv_row_with_a_broken_quote_is_reported_and_the_rows_it_swallowed_are_kept() {
    let (dir, mut store) = temp_store();
    let stray = write(
        dir.path(),
        "stray.csv",
        b"id,text\n1,\"first note\n2,second note\n3,\"third, quoted\"\n4,\"multi\nline\"\n",
    );
    let summary = run(&mut store, &stray, &ImportOptions::new(Format::Csv)).unwrap();
    assert_eq!(ids_of(&store), vec!["2", "3", "4"]);
    assert_eq!(summary.rejected.len(), 1, "{:?}", summary.rejected);
    assert_eq!(summary.rejected[0].line, 2);
    assert!(summary.rejected[0].reason.contains("quoted field"));
    let multi = all_notes(&store)
        .into_iter()
        .find(|n| n.external_id.as_deref() == Some("4"))
        .unwrap();
    assert_eq!(multi.text, "multi\nline");

    let (_d, mut fresh) = temp_store();
    let unclosed = write(
        dir.path(),
        "unclosed.csv",
        b"id,text\n1,ok\n2,\"never closed\n3,fine\n",
    );
    let summary = run(&mut fresh, &unclosed, &ImportOptions::new(Format::Csv)).unwrap();
    assert_eq!(ids_of(&fresh), vec!["1", "3"]);
    assert_eq!(summary.rejected.len(), 1, "{:?}", summary.rejected);
    assert_eq!(summary.rejected[0].line, 3);
}

// Issue 17, item 5: a CSV without a header printed its first row (a note) in the error.
#[test]
fn csv_header_error_gives_the_column_count_never_the_cells() {
    let (dir, mut store) = temp_store();
    let path = write(
        dir.path(),
        "no-header.csv",
        b"17,Mrs Example lives alone in Springfield\n18,Another note\n",
    );
    let err = run(&mut store, &path, &ImportOptions::new(Format::Csv))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("2 columns"), "{err}");
    assert!(
        !err.contains("Springfield") && !err.contains("Mrs Example"),
        "{err}"
    );
    let mut options = ImportOptions::new(Format::Csv);
    options.columns.text = Some("note_body".to_owned());
    let err = run(&mut store, &path, &options).err().unwrap().to_string();
    assert!(!err.contains("Springfield"), "{err}");
}

// Issue 17, item 7: a repeated T id was accepted and its attribute moved to the other span.
#[test]
fn brat_repeated_span_id_is_refused_with_its_line_and_attributes_stay_put() {
    let (dir, mut store) = temp_store();
    let corpus = dir.path().join("in");
    write(&corpus, "n1.txt", b"hello world");
    write(
        &corpus,
        "n1.ann",
        b"T1\tHOUSING 0 5\thello\nT1\tSUPPORT 6 11\tworld\nA1\tadverse T1\n",
    );
    let summary = run(&mut store, &corpus, &ImportOptions::new(Format::Brat)).unwrap();
    assert_eq!(summary.rejected.len(), 1, "{:?}", summary.rejected);
    let refused = &summary.rejected[0];
    assert!(
        refused.file.ends_with("n1.ann") && refused.line == 2,
        "{refused}"
    );
    let note = &all_notes(&store)[0];
    assert_eq!(note.spans.len(), 1);
    assert_eq!(note.spans[0].label, "HOUSING");
    assert_eq!(
        note.spans[0].attributes.get("adverse").map(String::as_str),
        Some("true")
    );
}

#[test]
fn progress_estimates_notes_from_share_of_file_read() {
    assert_eq!(super::notes_estimate(0, 0, Some(1000)), None);
    assert_eq!(super::notes_estimate(10, 250, Some(1000)), Some(40));
    // Never fewer than read, even when the file grew or the reader overshot.
    assert_eq!(super::notes_estimate(10, 2000, Some(1000)), Some(10));
    assert_eq!(super::notes_estimate(3, 10, None), None);
}

// See: issue 17, item 8 (an unreadable annotation status must not become gold).
#[test]
fn jsonl_annotations_with_an_unknown_status_are_refused_not_made_gold() {
    let (dir, mut store) = temp_store();
    let jsonl = concat!(
        "{\"id\": 1, \"text\": \"Lives alone.\", ",
        "\"spans\": [{\"start\": 0, \"end\": 5, \"label\": \"SUPPORT\", \"status\": \"probably\"}, ",
        "{\"start\": 6, \"end\": 11, \"label\": \"SUPPORT\", \"status\": \"suggested\"}], ",
        "\"labels\": [{\"label\": \"HOUSING\", \"status\": \"golden\"}, {\"label\": \"SUPPORT\"}]}\n",
    );
    let path = write(dir.path(), "notes.jsonl", jsonl.as_bytes());
    let summary = run(&mut store, &path, &ImportOptions::new(Format::Jsonl)).unwrap();
    assert_eq!(summary.imported, 1);
    let problems: Vec<&str> = summary.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"status\" must be gold, suggested or rejected")),
        "{problems:?}"
    );
    let note = &all_notes(&store)[0];
    assert_eq!(note.spans.len(), 1);
    assert_eq!(note.spans[0].status, AnnotationStatus::Suggested);
    assert_eq!(note.doc_labels.len(), 1);
    assert_eq!(note.doc_labels[0].label, "SUPPORT");
    assert_eq!(note.doc_labels[0].status, AnnotationStatus::Gold);
}
