//! Issue 13 with issue 16's kept evaluations: the Evaluate page scores a classifier run on the
//! project's annotated notes in the release app under Xvfb, keeps the score (the same figures
//! `clinitune eval list` reads back), shows its per-label table and ROC curves, and compares
//! two kept scores. Screenshots, light and dark, go to `<target>/e2e-screenshots/`.

use fantoccini::Locator;
use serde_json::Value;

use crate::Sandbox;
use crate::desktop::App;
use crate::predict::{test_items, tiny, train_classifier_into, write_jsonl};

/// A project whose five notes carry gold document labels, and a classifier run in its runs
/// folder, all made with the CLI.
fn project_with_classifier() -> Sandbox {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let items = test_items();
    let lines: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| serde_json::json!({"id": format!("n{i}"), "text": item["text"]}))
        .collect();
    let notes = s.path("notes.jsonl");
    write_jsonl(&notes, &lines);
    s.ok(&["import", notes.to_str().unwrap()]);
    for (i, item) in items.iter().enumerate() {
        let note = format!("n{i}");
        let mut any = false;
        for label in item["labels"].as_array().unwrap() {
            let label = label.as_str().unwrap();
            if label != "OTHER" {
                s.ok(&["annotate", "doc", "--note", &note, "--label", label]);
                any = true;
            }
        }
        if !any {
            s.ok(&["notes", "status", &note, "done"]);
        }
    }
    train_classifier_into(&s, &s.path("p-runs").join("001-classify"));
    s
}

async fn pick_option(app: &App, css: &str) {
    app.client
        .find(Locator::Css(css))
        .await
        .expect("option shown")
        .click()
        .await
        .expect("option chosen");
}

/// Scrolls the element with `id` to the top of the window (for the screenshots).
async fn scroll_to(app: &App, id: &str) {
    app.client
        .execute(
            "document.getElementById(arguments[0]).scrollIntoView()",
            vec![Value::from(id)],
        )
        .await
        .expect("scrolled");
}

#[tokio::test(flavor = "current_thread")]
async fn evaluate_page_scores_a_classifier_run_keeps_it_and_compares_two_scores() {
    let s = project_with_classifier();
    let project = s.project();
    let model = tiny();
    let args = ["--project", project.to_str().unwrap(), "--page", "evaluate"];
    let desktop = crate::desktop::Desktop::new();
    let app = desktop
        .launch_with(&args, &[("CLINITUNE_MODEL", model.as_str())])
        .await;
    app.wait_until("#evaluate-title", |t| t == "Evaluate").await;
    app.wait_until("#kept-empty", |t| t.contains("No scores kept yet"))
        .await;
    app.wait_until("#kept-run", |t| t.contains("001-classify"))
        .await;

    // No note has a split: scoring the test split says why, and what to do instead.
    app.click("#kept-score").await;
    app.wait_until("#error", |t| {
        t.to_lowercase().contains("no notes in the test split")
    })
    .await;
    app.screenshot("evaluate-3-no-test-split-light.png").await;

    pick_option(&app, "#kept-split option[value='all']").await;
    app.click("#kept-score").await;
    let row = app
        .wait_until("#kept-table tbody tr", |t| {
            t.contains("001-classify on all notes")
        })
        .await
        .text()
        .await
        .unwrap();
    // The earlier error went away when scoring started.
    assert!(app.client.find(Locator::Css("#error")).await.is_err());
    // The kept figures are the ones the CLI reads back from the project file.
    let kept = s.json(&["eval", "list"]);
    let first = &kept[0];
    assert_eq!(first["items"], 5);
    let macro_f1 = first["headline"]["macro_f1"]["value"].as_f64().unwrap();
    assert!(row.contains(&format!("macro F1 {macro_f1:.3}")), "{row}");
    let headline = app
        .wait_until("#kept-headline", |t| t.contains("5 items"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        headline.contains(&format!("macro F1 {macro_f1:.3}")),
        "{headline}"
    );
    let points: usize = app
        .attr("#chart-roc", "data-points")
        .await
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    assert!(points >= 3, "the ROC chart has {points} points");
    scroll_to(&app, "kept-scores").await;
    app.screenshot("evaluate-4-kept-light.png").await;

    // A second score of the same run: ticked with the first, the two compare with no
    // difference.
    app.click("#kept-score").await;
    app.wait_until("#kept-table tbody", |t| {
        t.matches("on all notes").count() == 2
    })
    .await;
    let older = kept[0]["id"].as_i64().unwrap();
    app.click(&format!("#kept-{older}")).await;
    let compared = app
        .wait_until("#kept-compare-table", |t| t.contains("macro F1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(compared.contains("+0.000"), "{compared}");
    scroll_to(&app, "kept-compare").await;
    app.screenshot("evaluate-5-compare-light.png").await;
    app.switch_theme("dark").await;
    app.screenshot("evaluate-6-compare-dark.png").await;
    app.close().await;
}

/// The document labels a note has with `status`, by label.
fn doc_labels(s: &Sandbox, note: &str, status: &str) -> Vec<String> {
    let shown = s.json(&["notes", "show", note]);
    let mut labels: Vec<String> = shown["doc_labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == status)
        .map(|d| d["label"].as_str().unwrap().to_owned())
        .collect();
    labels.sort();
    labels
}

/// Issue 16 item 1 in the app: labels a classifier suggested (`predict --as-suggestions`) are
/// listed on the Annotate page and accepted with `a` (they become the annotator's gold) or
/// rejected with their button (kept, never gold).
#[tokio::test(flavor = "current_thread")]
async fn annotate_page_accepts_and_rejects_a_classifiers_suggested_document_labels() {
    let s = project_with_classifier();
    let adapter = s.path("p-runs").join("001-classify");
    s.ok(&[
        "predict",
        "--model",
        &tiny(),
        "--adapter",
        adapter.to_str().unwrap(),
        "--threshold",
        "0",
        "--as-suggestions",
        "--out",
        s.path("p.jsonl").to_str().unwrap(),
    ]);
    // n1 ("Takes the bus to work.") has gold TRANSPORTATION; EMPLOYMENT and HOUSING are
    // suggested.
    assert_eq!(doc_labels(&s, "n1", "suggested"), ["EMPLOYMENT", "HOUSING"]);
    let project = s.project();
    let desktop = crate::desktop::Desktop::new();
    let app = desktop
        .launch(&["--project", project.to_str().unwrap(), "--page", "notes"])
        .await;
    app.wait_css("#note-row-1 .note-id").await;
    app.click("#note-row-1 .note-id").await;
    app.wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;
    // Listed by the labels' display names.
    app.wait_until("#doc-suggestions", |t| {
        t.contains("Employment") && t.contains("Housing")
    })
    .await;
    app.screenshot("annotate-doc-suggestions-light.png").await;

    // `a` accepts the first suggestion; the other is rejected with its button.
    app.keys("#note-text", "a").await;
    app.wait_until("#doc-suggestions", |t| !t.contains("Employment"))
        .await;
    app.wait_saved().await;
    app.click("#doc-suggestions li button:last-child").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !doc_labels(&s, "n1", "suggested").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the rejection was not saved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        doc_labels(&s, "n1", "gold"),
        ["EMPLOYMENT", "TRANSPORTATION"]
    );
    assert_eq!(doc_labels(&s, "n1", "rejected"), ["HOUSING"]);
    let shown = s.json(&["notes", "show", "n1"]);
    let accepted = shown["doc_labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["label"] == "EMPLOYMENT")
        .unwrap()
        .clone();
    assert_eq!(accepted["annotator"], "tester");
    app.close().await;
}

/// Issue 13 item 4 with issue 16 item 4: the Evaluate page runs the bias audit of a classifier
/// run on a pairs file chosen through the dialog, with the same counts `clinitune eval bias`
/// gives, per group too.
#[tokio::test(flavor = "current_thread")]
async fn evaluate_page_runs_the_bias_audit_like_the_cli() {
    let s = project_with_classifier();
    let pairs = s.path("pairs.csv");
    let rows = [
        (
            "Lives alone in a walk-up.",
            "Black woman lives alone in a walk-up.",
            "Black female",
        ),
        (
            "Lost his job in May.",
            "White man lost his job in May.",
            "White male",
        ),
        (
            "No car; takes the bus.",
            "Asian woman has no car; takes the bus.",
            "Asian female",
        ),
        (
            "Two children at home.",
            "Black woman with two children at home.",
            "Black female",
        ),
    ];
    let mut text =
        String::from("original_sentence,label,demographic,demographic_inserted,adverse\n");
    for (o, n, g) in rows {
        text.push_str(&format!("\"{o}\",X,{g},\"{n}\",adverse\n"));
    }
    std::fs::write(&pairs, text).unwrap();
    let run = s.path("p-runs").join("001-classify");
    let model = tiny();
    let cli = s.json(&[
        "eval",
        "bias",
        "--model",
        &model,
        "--adapter",
        run.to_str().unwrap(),
        "--pairs",
        pairs.to_str().unwrap(),
    ]);
    let changed = cli["model"]["changed"].as_u64().unwrap();

    let project = s.project();
    let desktop = crate::desktop::Desktop::new();
    let app = desktop
        .launch_with(
            &["--project", project.to_str().unwrap(), "--page", "evaluate"],
            &[
                ("CLINITUNE_MODEL", model.as_str()),
                ("CLINITUNE_TEST_PICK", pairs.to_str().unwrap()),
            ],
        )
        .await;
    app.wait_until("#bias-run", |t| t.contains("001-classify"))
        .await;
    app.click("#bias-start").await;
    let headline = app
        .wait_until("#bias-headline", |t| t.contains("labels changed on"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        headline.contains(&format!("changed on {changed} of 4 pairs")),
        "{headline}"
    );
    // The largest group comes first: Black female, 2 pairs.
    app.wait_css("#bias-table").await;
    let mut cells = Vec::new();
    for cell in app
        .client
        .find_all(Locator::Css(
            "#bias-table tbody tr:first-child th, #bias-table tbody tr:first-child td",
        ))
        .await
        .unwrap()
    {
        cells.push(cell.text().await.unwrap());
    }
    let black_female = cli["model"]["per_group"]["Black female"]["changed"]
        .as_u64()
        .unwrap();
    assert_eq!(
        cells[..3],
        [
            "Black female".to_owned(),
            "2".to_owned(),
            black_female.to_string()
        ]
    );
    scroll_to(&app, "bias-audit").await;
    app.screenshot("evaluate-7-bias-light.png").await;
    app.close().await;
}
