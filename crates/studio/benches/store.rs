//! In-process half of `cargo xtask bench store`: search and span-saving latency on a project
//! that the xtask has filled with 100,000 generated notes. Prints one JSON object.
//!
//! Run through `cargo xtask bench store`; by hand: `cargo bench -p studio --bench store -- PROJECT`.

#![allow(clippy::print_stdout)] // a benchmark binary reports on stdout

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use api::{ApiError, Fragment, NoteId, SearchQuery, SpanRequest};

fn main() -> Result<(), ApiError> {
    // `cargo bench` passes `--bench`; the project path is the other argument.
    let Some(path) = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: cargo bench -p studio --bench store -- PROJECT");
        return Ok(());
    };
    let figures = run(&path)?;
    println!("{figures}");
    Ok(())
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn run(path: &std::path::Path) -> Result<serde_json::Value, ApiError> {
    let mut project = studio::Project::open(path)?;
    let stats = studio::notes::stats(&project)?;
    // Two-word queries a clinician would type, each with a category filter.
    let queries = [
        ("lives alone", "Social work"),
        ("heart failure", "Discharge summary"),
        ("shortness breath", "Admission note"),
        ("bus appointments", "Social work"),
        ("insulin glucose", "Discharge summary"),
        ("chest pain", "Admission note"),
        ("sepsis antibiotics", "Discharge summary"),
        ("daughter helps", "Social work"),
    ];
    let mut search = Vec::new();
    let mut relevance = Vec::new();
    let mut hits = BTreeMap::new();
    for round in 0..25 {
        for (text, category) in queries {
            let query = SearchQuery {
                text: text.to_owned(),
                category: Some(category.to_owned()),
                limit: 50,
                ..SearchQuery::default()
            };
            let t = Instant::now();
            let found = studio::notes::search(&project, &query)?;
            search.push(t.elapsed());
            if round == 0 {
                hits.insert(text.to_owned(), found.len());
            }
            if round < 5 {
                let ranked = SearchQuery {
                    order: api::SearchOrder::Relevance,
                    ..query
                };
                let t = Instant::now();
                studio::notes::search(&project, &ranked)?;
                relevance.push(t.elapsed());
            }
        }
    }
    // Saving spans: the call the annotator makes on each keystroke.
    let mut save = Vec::new();
    let notes = i64::try_from(stats.notes).unwrap_or(0).max(1);
    for i in 0..300i64 {
        let note = NoteId(1 + (i * 7919) % notes);
        let text = studio::notes::show(&project, note)?.text;
        let end = text.char_indices().nth(12).map_or(text.len(), |(b, _)| b);
        let request = SpanRequest {
            note,
            label: "HOUSING".to_owned(),
            fragments: vec![Fragment { start: 0, end }],
            attributes: BTreeMap::from([("type".to_owned(), "poor".to_owned())]),
        };
        let t = Instant::now();
        studio::annotation::add_span(&mut project, &request, "bench")?;
        save.push(t.elapsed());
    }
    let mut sorted = search.clone();
    sorted.sort();
    let p95 = sorted
        .get(sorted.len() * 95 / 100)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Ok(serde_json::json!({
        "search_median_ms": median_ms(search),
        "search_relevance_order_median_ms": median_ms(relevance),
        "search_p95_ms": p95,
        "search_hits": hits,
        "save_span_median_ms": median_ms(save),
    }))
}
