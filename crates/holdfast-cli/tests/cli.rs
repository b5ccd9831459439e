//! What a person meets first: completions, the manual page, help that names what exists, tables
//! limited like `at-risk`, amounts with their currency.

mod common;

use common::{holdfast, ok};
use std::path::Path;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name).display().to_string()
}

const NODB: &str = "sqlite:///nonexistent/never.db";

#[test]
fn completions_and_the_manual_page() {
    assert!(ok(NODB, &["completions", "bash"]).contains("_holdfast()"));
    assert!(ok(NODB, &["completions", "zsh"]).contains("#compdef holdfast"));
    assert!(ok(NODB, &["completions", "fish"]).contains("complete -c holdfast"));
    assert!(ok(NODB, &["man"]).contains(".TH holdfast 1"));
    let dir = tempfile::tempdir().unwrap();
    ok(NODB, &["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(dir.path().join("holdfast-import.1").exists());
}

#[test]
fn help_names_what_a_user_runs() {
    let top = ok(NODB, &["--help"]);
    // `bench` needs the repository, cargo and Python: under a developer heading, not among the
    // user commands.
    let commands = top.split("Options:").next().unwrap();
    assert!(!commands.contains("  bench "), "{top}");
    assert!(top.contains("For developers"), "{top}");
    assert!(!ok(NODB, &["analyze", "--help"]).contains("--customers"));
    let import = ok(NODB, &["import", "--help"]);
    for entity in ["orders ", "customers ", "events ", "subscriptions ", "feedback ", "notes ", "dates ", "contacts ", "interactions "] {
        assert!(import.contains(&format!("\n  {entity}")), "import --help lists the columns of {entity}");
    }
}

#[test]
fn predict_lists_the_most_valuable_customers_in_days() {
    let out = ok(NODB, &["predict", "--orders", &data("cdnow_sample_orders.csv"), "--as-of", "1997-10-01"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("Customer  Repeat purchases  Days since last  Customer for (days)  P(alive)"), "{}", lines[1]);
    assert!(lines[1].ends_with("CLV (USD)"), "{}", lines[1]);
    // A header, a rule, 25 rows, "and 2332 more".
    assert_eq!(lines.len(), 1 + 2 + 25 + 1, "{out}");
    assert!(lines.last().unwrap().starts_with("… and 2332 more customers"), "{out}");
    let five = ok(NODB, &["predict", "--orders", &data("cdnow_sample_orders.csv"), "--as-of", "1997-10-01", "--limit", "5", "--csv"]);
    assert_eq!(five.lines().count(), 6);
}

#[test]
fn task_lists_are_limited_and_task_json_speaks_rfc3339_and_major_units() {
    let db = common::Db::new(false);
    ok(&db.url, &["import", "orders", &data("cdnow_sample_orders.csv")]);
    ok(&db.url, &["at-risk", "--as-of", "1998-01-01"]);
    let all: serde_json::Value = serde_json::from_str(&ok(&db.url, &["task", "list", "--json"])).unwrap();
    let tasks = all["tasks"].as_array().unwrap();
    assert!(tasks.len() > 25, "{}", tasks.len());
    assert_eq!(all["currency"], "USD");
    let t = &tasks[0];
    assert!(t["created_at"].as_str().unwrap().ends_with('Z') && t["due_at"].as_str().unwrap().len() == 20, "{t}");
    assert!(t["stake"].is_f64(), "{t}");
    let text = ok(&db.url, &["task", "list", "--limit", "3"]);
    assert!(text.contains("Stake (USD)"), "{text}");
    assert!(text.lines().last().unwrap().starts_with(&format!("… and {} more", tasks.len() - 3)), "{text}");
    assert!(!holdfast(&db.url, &["task", "list", "--limit", "x"]).status.success());
}
