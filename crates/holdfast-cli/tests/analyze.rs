//! `holdfast movement`, `cohorts` and `analyze` through the real binary, on a copy of the CDNOW
//! sample (`tests/data/cdnow_sample_orders.csv`: 6,919 orders of 2,357 customers, 1997-01-01 to
//! 1998-06-30, amounts in USD).

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn cdnow() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdnow_sample_orders.csv")
}

fn holdfast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_holdfast")).args(args).output().expect("run holdfast")
}

fn json(args: &[&str]) -> Value {
    let out = holdfast(args);
    assert!(out.status.success(), "holdfast {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn u(p: &Value, k: &str) -> u64 {
    p[k].as_u64().unwrap_or_else(|| panic!("{k} is not a count in {p}"))
}

/// Periods of `movement --period month --window 365 --json` on CDNOW.
///
/// Pinned values were verified independently with this Python computation over the CSV (dates
/// are days, W = 365 days, active at t = last order strictly before t is >= t - W):
///
/// ```text
/// active = lambda ts, t: any(x < t for x in ts) and max(x for x in ts if x < t) >= t - W
/// for each customer: a0 = active(ts, p0); a1 = active(ts, p1); f = min(ts)
///   S += a0; E += a1; N += a1 and p0 <= f < p1; R += a1 and not a0 and f < p0
///   L += a0 and not a1; K += a0 and a1
/// orders / revenue: count and sum of the amounts dated in [p0, p1)
/// ```
///
/// which printed (S E N R L K orders revenue):
/// 1997-03: 1638 2357 719 0 0 1638 1204 43472.10
/// 1998-02: 1909 1372 0 4 541 1368 198 7679.71
/// 1998-03: 1372 934 0 21 459 913 278 9850.05
#[test]
fn movement_on_cdnow_holds_identities_and_pinned_months() {
    let path = cdnow();
    let v = json(&["movement", "--orders", path.to_str().unwrap(), "--period", "month", "--window", "365", "--json"]);
    let periods = v["periods"].as_array().expect("periods");
    assert_eq!(periods.len(), 18, "1997-01 to 1998-06");
    assert_eq!(periods[0]["start"], "1997-01-01");
    assert_eq!(periods[0]["end"], "1997-02-01");
    let mut prev_end = 0;
    for p in periods {
        let (s, e, n, r, l, k) = (u(p, "active_start"), u(p, "active_end"), u(p, "new"), u(p, "reactivated"), u(p, "lost"), u(p, "kept"));
        assert_eq!(e, s - l + n + r, "E = S - L + N + R in {}", p["start"]);
        assert_eq!(k, s - l, "K = S - L in {}", p["start"]);
        assert_eq!(s, prev_end, "S is the previous E in {}", p["start"]);
        prev_end = e;
        if s == 0 {
            assert!(p["retention_rate"].is_null() && p["churn_rate"].is_null() && p["simple_retention_ratio"].is_null());
        } else {
            let (rr, ch) = (p["retention_rate"].as_f64().unwrap(), p["churn_rate"].as_f64().unwrap());
            assert!((rr - k as f64 / s as f64).abs() < 1e-12 && (rr + ch - 1.0).abs() < 1e-12);
            assert!((p["simple_retention_ratio"].as_f64().unwrap() - e as f64 / s as f64).abs() < 1e-12);
        }
    }
    let month = |label: &str| periods.iter().find(|p| p["label"] == label).unwrap_or_else(|| panic!("no {label}"));
    let pinned = [
        ("1997-03", [1638, 2357, 719, 0, 0, 1638, 1204], 43472.10),
        ("1998-02", [1909, 1372, 0, 4, 541, 1368, 198], 7679.71),
        ("1998-03", [1372, 934, 0, 21, 459, 913, 278], 9850.05),
    ];
    for (label, want, revenue) in pinned {
        let p = month(label);
        let got = ["active_start", "active_end", "new", "reactivated", "lost", "kept", "orders"].map(|k| u(p, k));
        assert_eq!(got, want, "{label}");
        assert!((p["revenue"].as_f64().unwrap() - revenue).abs() < 1e-6, "{label} revenue {}", p["revenue"]);
    }
    // 1998-03: retention 913 / 1372, churn 459 / 1372.
    assert_eq!(month("1998-03")["retention_rate"].as_f64(), Some(913.0 / 1372.0));
}

#[test]
fn movement_from_to_selects_periods() {
    let path = cdnow();
    let v = json(&["movement", "--orders", path.to_str().unwrap(), "--period", "quarter", "--from", "1997-04", "--to", "1997-12", "--json"]);
    let labels: Vec<_> = v["periods"].as_array().unwrap().iter().map(|p| p["label"].as_str().unwrap().to_string()).collect();
    assert_eq!(labels, ["1997-Q2", "1997-Q3", "1997-Q4"]);
}

/// Every CDNOW customer first bought in Q1 1997, so the quarterly cohort table has one row whose
/// first cell is the whole sample (2,357 customers, 100%).
#[test]
fn cohorts_json() {
    let path = cdnow();
    let v = json(&["cohorts", "--orders", path.to_str().unwrap(), "--period", "quarter", "--metric", "revenue", "--json"]);
    assert_eq!(v["metric"], "revenue");
    let c = &v["cohorts"][0];
    assert_eq!((c["label"].as_str(), c["customers"].as_u64()), (Some("1997-Q1"), Some(2357)));
    assert_eq!(c["cells"][0]["retention"], 1.0);
    assert_eq!(c["cells"].as_array().unwrap().len(), 6, "1997-Q1 to 1998-Q2");
    assert!(c["cells"].as_array().unwrap().iter().all(|x| x["complete"] == true));
    let text = holdfast(&["cohorts", "--orders", path.to_str().unwrap()]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("1997-01"));
}

#[test]
fn analyze_json_shape() {
    let path = cdnow();
    let v = json(&["analyze", path.to_str().unwrap(), "--json"]);
    for key in ["source", "headline", "movement", "cohorts", "repeat", "ltv", "warnings"] {
        assert!(v.get(key).is_some(), "analyze --json lacks {key}");
    }
    let s = &v["source"];
    assert_eq!((s["orders"].as_u64(), s["customers"].as_u64()), (Some(6919), Some(2357)));
    assert_eq!((s["as_of"].as_str(), s["period"].as_str(), s["window_days"].as_u64()), (Some("1998-07-01"), Some("month"), Some(365)));
    let h = &v["headline"];
    for key in ["customers", "active_now", "last_complete_period", "retention_rate", "churn_rate", "simple_retention_ratio", "repeat_purchase_rate", "aov", "median_days_between_orders", "ltv_mean", "ltv_median"] {
        assert!(h.get(key).is_some(), "headline lacks {key}");
    }
    // The last complete month is 1998-06 and 812 customers are active at 1998-07-01 (see the
    // movement table); the movement block has the same shape as `holdfast movement --json`.
    assert_eq!((h["last_complete_period"].as_str(), h["active_now"].as_u64()), (Some("1998-06"), Some(812)));
    let p = &v["movement"]["periods"][0];
    for key in ["start", "end", "active_start", "active_end", "new", "reactivated", "lost", "kept", "orders", "revenue", "retention_rate", "churn_rate", "simple_retention_ratio"] {
        assert!(p.get(key).is_some(), "movement period lacks {key}");
    }
    for key in ["customers", "repeat_customers", "repeat_purchase_rate", "median_days_between_orders", "mean_days_between_orders"] {
        assert!(v["repeat"].get(key).is_some(), "repeat lacks {key}");
    }
    for key in ["customers", "orders", "revenue", "mean", "median", "distribution"] {
        assert!(v["ltv"].get(key).is_some(), "ltv lacks {key}");
    }
    let buckets = v["ltv"]["distribution"].as_array().unwrap();
    assert_eq!(buckets.iter().map(|b| b["customers"].as_u64().unwrap()).sum::<u64>(), 2357);
    // The RFM grid holds every customer once, by recency and by frequency score.
    let rfm = &v["rfm"];
    assert_eq!(rfm["customers"].as_u64(), Some(2357));
    let cells: u64 = rfm["cells"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|c| c["customers"].as_u64().unwrap()).sum();
    assert_eq!(cells, 2357);
    for k in ["recency", "frequency", "monetary"] {
        assert_eq!(rfm[k].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum::<u64>(), 2357, "{k}");
    }
    assert!(v.get("segments").is_some(), "the default report has the segments section");
}

#[test]
fn sections_choose_the_optional_parts() {
    let path = cdnow();
    let all = json(&["analyze", path.to_str().unwrap(), "--json"]);
    let lean = json(&["analyze", path.to_str().unwrap(), "--json", "--sections", "retention"]);
    assert!(lean.get("segments").is_none(), "--sections retention leaves the segments out");
    for key in ["headline", "movement", "cohorts", "repeat", "ltv", "rfm"] {
        assert_eq!(lean[key], all[key], "{key} is the same with and without the optional sections");
    }
    let bad = holdfast(&["analyze", path.to_str().unwrap(), "--sections", "everything"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected retention, segments, prediction, risk or all"));
}

#[test]
fn analyze_out_writes_self_contained_html() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let path = cdnow();
    let r = holdfast(&["analyze", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<svg"));
    assert!(!html.contains("http://") && !html.contains("https://"), "external reference in the report");
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("<img"));
    assert!(html.contains("losing 21 and winning 20 looks like losing 1"));
    assert!(!html.contains("NaN"));
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(stdout.contains("Retention rate") && stdout.contains("Report written to"));
}

#[test]
fn user_errors_exit_with_1() {
    let path = cdnow();
    let p = path.to_str().unwrap();
    for args in [
        vec!["analyze", "/nonexistent/orders.csv"],
        vec!["analyze", p, "--as-of", "31.02.2024"],
        vec!["analyze", p, "--tz", "Mars/Olympus"],
        vec!["movement", "--orders", p, "--from", "1997-13"],
    ] {
        let r = holdfast(&args);
        assert_eq!(r.status.code(), Some(1), "{args:?}");
        assert!(!r.stderr.is_empty());
    }
}

/// As of 1997-02-15 (mid-February), only the January and early February orders count and
/// February is marked incomplete.
#[test]
fn as_of_cuts_the_data() {
    let path = cdnow();
    let v = json(&["movement", "--orders", path.to_str().unwrap(), "--as-of", "1997-02-15", "--json"]);
    let ps = v["periods"].as_array().unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!((ps[0]["complete"].as_bool(), ps[1]["complete"].as_bool()), (Some(true), Some(false)));
}

/// `segments` shows the learned churn risk by segment: on CDNOW as of 1997-10-01, every scored
/// customer is in one segment's row, champions are the least at risk and lost customers more at
/// risk than champions; the rows add up to the customers with orders.
#[test]
fn segments_show_the_learned_churn_risk() {
    let path = cdnow();
    let j = json(&["segments", "--orders", path.to_str().unwrap(), "--as-of", "1997-10-01", "--json"]);
    let r = &j["churn_risk"];
    assert!(r["horizon_days"].as_i64().is_some_and(|h| h > 0), "{r}");
    let rows = r["segments"].as_array().expect("rows");
    let total: u64 = rows.iter().map(|x| u(x, "customers")).sum();
    assert_eq!(total as usize, j["customers"].as_array().unwrap().len());
    let mean = |k: &str| rows.iter().find(|x| x["segment"] == k).and_then(|x| x["mean_risk"].as_f64()).unwrap_or_else(|| panic!("{k} in {r}"));
    assert!(rows.iter().all(|x| x["mean_risk"].as_f64().is_some_and(|m| (0.0..=1.0).contains(&m))));
    assert!(mean("champions") < mean("loyal") && mean("champions") < mean("lost"), "{r}");
    let text = String::from_utf8(holdfast(&["segments", "--orders", path.to_str().unwrap(), "--as-of", "1997-10-01"]).stdout).unwrap();
    assert!(text.contains("Churn risk by segment"), "{text}");
}

/// The report's segments section carries the learned churn risk by segment with `--sections
/// all` (and `risk`), and leaves it out with `segments` alone.
#[test]
fn the_report_shows_the_learned_churn_risk_by_segment() {
    let path = cdnow();
    let p = path.to_str().unwrap();
    let all = json(&["analyze", p, "--as-of", "1997-10-01", "--json"]);
    let r = &all["segments"]["churn_risk"];
    assert!(r["horizon_days"].as_i64().is_some_and(|h| h > 0) && r["holdout_auc"].as_f64().is_some(), "{r}");
    assert!(r["segments"].as_array().is_some_and(|rows| rows.len() >= 5), "{r}");
    assert_eq!(json(&["analyze", p, "--as-of", "1997-10-01", "--sections", "risk", "--json"])["segments"]["churn_risk"], *r);
    assert!(json(&["analyze", p, "--as-of", "1997-10-01", "--sections", "segments", "--json"])["segments"].get("churn_risk").is_none());
    let text = String::from_utf8(holdfast(&["--lang", "ru", "analyze", p, "--as-of", "1997-10-01"]).stdout).unwrap();
    assert!(text.contains("Средний риск оттока"), "{text}");
}
