//! `holdfast risk` end to end: a generated SaaS workspace (invoices and events) from files and from
//! both stores; the JSON contract, the table with its model line, Russian reasons, and the error
//! for a history too short to learn from.

mod common;

use common::{holdfast, json, ok, Db};
use holdfast_synth::saas::{generate_saas, SaasConfig};
use std::path::{Path, PathBuf};

const NODB: &str = "sqlite:///nonexistent/never.db";

/// Writes a small generated SaaS workspace: (orders, events).
fn files(dir: &Path) -> (PathBuf, PathBuf) {
    let data = generate_saas(&SaasConfig { customers: 600, ..SaasConfig::default() });
    let (o, e) = (dir.join("invoices.csv"), dir.join("events.csv"));
    data.write_orders_csv(&mut std::fs::File::create(&o).unwrap()).unwrap();
    data.write_events_csv(&mut std::fs::File::create(&e).unwrap()).unwrap();
    (o, e)
}

fn check_contract(j: &serde_json::Value) {
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(j), ["as_of", "customers", "model"]);
    assert_eq!(j["as_of"], "2024-11-01T00:00:00Z");
    assert_eq!(keys(&j["model"]), ["baseline_auc", "features", "holdout_auc", "horizon_days", "kind", "train_rows"]);
    assert_eq!(j["model"]["kind"], "logistic_l2");
    let features: Vec<&str> = j["model"]["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for f in ["recency_ratio", "login_trend", "negative_tickets", "emails_ignored"] {
        assert!(features.contains(&f), "{f} in {features:?}");
    }
    assert!(j["model"]["holdout_auc"].as_f64().unwrap() > 0.7);
    assert!(j["model"]["train_rows"].as_u64().unwrap() > 200);
    let customers = j["customers"].as_array().unwrap();
    assert!(customers.len() > 400);
    for w in customers.windows(2) {
        let (a, b) = (w[0]["risk"].as_f64().unwrap(), w[1]["risk"].as_f64().unwrap());
        assert!(a > b || (a == b && w[0]["customer_id"].as_str() < w[1]["customer_id"].as_str()), "sorted by risk, then id");
    }
    let top = &customers[0];
    assert_eq!(keys(top), ["customer_id", "reasons", "risk"]);
    let r = &top["reasons"][0];
    assert_eq!(keys(r), ["contribution", "explanation", "feature", "value"]);
    assert!(r["contribution"].as_f64().unwrap() > 0.0);
    assert!(!r["explanation"].as_str().unwrap().is_empty());
}

#[test]
fn risk_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let (o, e) = files(dir.path());
    let (o, e) = (o.to_str().unwrap(), e.to_str().unwrap());
    let j = json(NODB, &["risk", "--orders", o, "--events", e, "--as-of", "2024-11-01", "--json"]);
    check_contract(&j);
    let table = ok(NODB, &["risk", "--orders", o, "--events", e, "--as-of", "2024-11-01", "--limit", "5"]);
    assert!(table.contains("Churn risk as of 2024-11-01: probability of no purchase within 35 days"), "{table}");
    assert!(table.contains("Model: logistic_l2") && table.contains("holdout AUC") && table.contains("and "), "{table}");
    assert_eq!(table.lines().filter(|l| l.contains("C000")).count(), 5, "{table}");
    let ru = ok(NODB, &["risk", "--orders", o, "--events", e, "--as-of", "2024-11-01", "--limit", "3", "--lang", "ru"]);
    assert!(ru.contains("дн") || ru.contains("за последние"), "{ru}");
    // Without events the model learns from orders alone, and says so.
    let orders_only = ok(NODB, &["risk", "--orders", o, "--as-of", "2024-11-01", "--limit", "3"]);
    assert!(orders_only.contains("learns from orders alone"), "{orders_only}");
    assert!(ok(NODB, &["risk", "--help"]).contains("holdfast risk --orders orders.csv"));
    // The queue ranked by the learned risk: each task's P(churn) is the model's.
    let risk = json(NODB, &["risk", "--orders", o, "--as-of", "2024-11-01", "--json"]);
    let by: std::collections::HashMap<&str, f64> =
        risk["customers"].as_array().unwrap().iter().map(|c| (c["customer_id"].as_str().unwrap(), c["risk"].as_f64().unwrap())).collect();
    let queue = json(NODB, &["at-risk", "--orders", o, "--as-of", "2024-11-01", "--learned-risk", "--json"]);
    let tasks = queue["tasks"].as_array().expect("tasks");
    assert!(!tasks.is_empty());
    for t in tasks {
        let id = t["customer_id"].as_str().unwrap();
        assert!((t["p_churn"].as_f64().unwrap() - by[id]).abs() < 1e-9, "{id}: {t} vs {}", by[id]);
    }
}

#[test]
fn too_short_a_history_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = files(dir.path());
    let out = holdfast(NODB, &["risk", "--orders", o.to_str().unwrap(), "--as-of", "2023-01-20"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invoices.csv") && err.contains("needs at least 56 days"), "{err}");
}

fn risk_from_store(pg: bool) {
    let db = Db::new(pg);
    let dir = tempfile::tempdir().unwrap();
    let (o, e) = files(dir.path());
    ok(&db.url, &["import", "orders", o.to_str().unwrap()]);
    ok(&db.url, &["import", "events", e.to_str().unwrap()]);
    let j = json(&db.url, &["risk", "--as-of", "2024-11-01", "--json"]);
    check_contract(&j);
    // The store gives the same answer as the files.
    let f = json(NODB, &["risk", "--orders", o.to_str().unwrap(), "--events", e.to_str().unwrap(), "--as-of", "2024-11-01", "--json"]);
    assert_eq!(j["model"], f["model"]);
    assert_eq!(j["customers"][0], f["customers"][0]);
    // `segments` and the report over the store learn the risk with the store's events too: the
    // same model as `risk` (without the events the holdout AUC differs).
    let auc = j["model"]["holdout_auc"].as_f64().unwrap();
    let seg = json(&db.url, &["segments", "--as-of", "2024-11-01", "--json"]);
    assert_eq!(seg["churn_risk"]["holdout_auc"].as_f64(), Some(auc), "{}", seg["churn_risk"]);
    let rep = json(&db.url, &["analyze", "--as-of", "2024-11-01", "--sections", "risk", "--json"]);
    assert_eq!(rep["segments"]["churn_risk"]["holdout_auc"].as_f64(), Some(auc), "{}", rep["segments"]["churn_risk"]);
    let orders_only = json(NODB, &["segments", "--orders", o.to_str().unwrap(), "--as-of", "2024-11-01", "--json"]);
    assert_ne!(orders_only["churn_risk"]["holdout_auc"].as_f64(), Some(auc));
    // and so does the store's queue with --learned-risk: each task's P(churn) is that model's
    let by: std::collections::HashMap<&str, f64> =
        j["customers"].as_array().unwrap().iter().map(|c| (c["customer_id"].as_str().unwrap(), c["risk"].as_f64().unwrap())).collect();
    let queue = json(&db.url, &["at-risk", "--as-of", "2024-11-01", "--learned-risk", "--json"]);
    assert_eq!(queue["p_churn_from"], "learned");
    let tasks = queue["tasks"].as_array().expect("tasks");
    assert!(!tasks.is_empty());
    for t in tasks {
        let id = t["customer_id"].as_str().unwrap();
        assert!((t["p_churn"].as_f64().unwrap() - by[id]).abs() < 1e-9, "{id}: {t} vs {}", by[id]);
    }
    // `score` saves the learned risk (with its reasons) in the snapshot; the customer view shows
    // it and the store's queue at the same as-of takes it as P(churn).
    assert_eq!(json(&db.url, &["at-risk", "--as-of", "2024-11-01", "--json"])["p_churn_from"], "rhythm");
    let s = json(&db.url, &["score", "--as-of", "2024-11-01", "--json"]);
    assert!(s["risk"]["customers"].as_u64().is_some_and(|n| n > 0) && s["risk"]["holdout_auc"].as_f64().is_some(), "{s}");
    let top = &j["customers"][0];
    let id = top["customer_id"].as_str().unwrap();
    let v = json(&db.url, &["customer", id, "--json"]);
    let stored = v["score"]["risk"].as_f64().expect("the snapshot's risk");
    assert!((stored - top["risk"].as_f64().unwrap()).abs() < 1e-9, "{v}");
    assert_eq!(v["score"]["risk_reasons"][0]["feature"], top["reasons"][0]["feature"]);
    let text = ok(&db.url, &["customer", id]);
    assert!(text.contains("Churn risk (learned)"), "{text}");
    let q = json(&db.url, &["at-risk", "--as-of", "2024-11-01", "--json"]);
    assert_eq!(q["p_churn_from"], "snapshot", "{}", q["p_churn_from"]);
}

both!(risk_from_store);
