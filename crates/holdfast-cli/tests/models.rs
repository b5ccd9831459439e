//! `holdfast fit` end to end on the reference data of holdfast-models (published fits).

use std::path::Path;
use std::process::Command;

fn data(name: &str) -> String {
    format!("{}/../holdfast-models/tests/data/{}", env!("CARGO_MANIFEST_DIR"), name)
}

fn fit_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast")).arg("fit").args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn near(v: &serde_json::Value, want: f64, tol: f64) {
    let got = v.as_f64().unwrap();
    assert!((got - want).abs() <= tol, "got {got}, published {want}");
}

#[test]
fn fit_bgnbd_pareto_gg_on_cdnow() {
    let f = data("cdnow_sample_summary_weeks.csv");
    let j = fit_json(&["bgnbd", "--summary", &f]);
    assert_eq!(j["model"], "bgnbd");
    assert_eq!(j["customers"].as_f64(), Some(2357.0));
    assert_eq!(j["converged"], true);
    near(&j["params"]["r"], 0.243, 0.0005);
    near(&j["params"]["alpha"], 4.414, 0.005);
    near(&j["params"]["a"], 0.793, 0.0005);
    near(&j["params"]["b"], 2.426, 0.005);
    near(&j["log_likelihood"], -9582.4, 0.1);

    let j = fit_json(&["pareto", "--summary", &f]);
    near(&j["params"]["r"], 0.553, 0.0005);
    near(&j["params"]["alpha"], 10.58, 0.005);
    near(&j["params"]["s"], 0.606, 0.0005);
    near(&j["params"]["beta"], 11.67, 0.005);
    near(&j["log_likelihood"], -9595.0, 0.1);

    let j = fit_json(&["gg", "--summary", &f]);
    assert_eq!(j["customers"].as_f64(), Some(946.0));
    near(&j["params"]["p"], 6.25, 0.005);
    near(&j["params"]["q"], 3.74, 0.005);
    near(&j["params"]["v"], 15.44, 0.01);
    assert!(j["frequency_spend_correlation"].is_number());
}

#[test]
fn fit_sbg_and_bgbb() {
    let j = fit_json(&["sbg", "--survival", &data("sbg_survival.csv"), "--column", "high_end", "--periods", "7"]);
    near(&j["params"]["alpha"], 0.668, 0.0005);
    near(&j["params"]["beta"], 3.806, 0.0005);
    near(&j["log_likelihood"], -1611.2, 0.1);

    let j = fit_json(&["bgbb", "--summary", &data("donations_bgbb.csv")]);
    near(&j["params"]["alpha"], 1.204, 0.0005);
    near(&j["params"]["beta"], 0.750, 0.0005);
    near(&j["params"]["gamma"], 0.657, 0.0005);
    near(&j["params"]["delta"], 2.783, 0.0005);
    near(&j["log_likelihood"], -33225.6, 0.1);
}

#[test]
fn table_by_default_and_errors_name_the_cell() {
    let bin = env!("CARGO_BIN_EXE_holdfast");
    let out = Command::new(bin)
        .args(["fit", "sbg", "--survival", &data("sbg_survival.csv"), "--column", "regular", "--periods", "7"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alpha") && text.contains("0.704"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "frequency,recency,T\n1,2,3\n2,abc,10\n").unwrap();
    let out = Command::new(bin).args(["fit", "bgnbd", "--summary"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3:2"), "{err}");

    // no repeat customers: a clear error, not NaN
    let none = dir.path().join("none.csv");
    std::fs::write(&none, "x,t_x,T\n0,0,10\n0,0,20\n0,0,30\n").unwrap();
    let out = Command::new(bin).args(["fit", "bgnbd", "--json", "--summary"]).arg(&none).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no repeat customers"));
}

#[test]
fn predict_per_customer_from_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["predict", "--summary", &data("cdnow_sample_summary_weeks.csv"), "--unit", "week", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["customers"].as_array().unwrap();
    assert_eq!(rows.len(), 2357);
    // customer 1 (x=2, t_x=30.43, T=38.86): P(alive) = 0.72658 with the published parameters
    // (mpmath, see holdfast-models/tests/closed_form.rs); the fitted ones differ in the 4th digit.
    assert_eq!(rows[0]["customer_id"], "1");
    near(&rows[0]["p_alive"], 0.7266, 0.001);
    for r in rows {
        let p = r["p_alive"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert!(r["expected_purchases"].as_f64().unwrap() >= 0.0);
        assert!(r["clv"].as_f64().unwrap() >= 0.0);
    }
    // a customer never seen again after one early repeat is less likely alive than a recent one
    let pa = |i: usize| rows[i]["p_alive"].as_f64().unwrap();
    assert!(pa(1) < pa(0));
}

#[test]
fn fit_bgnbd_from_orders_lands_on_the_published_parameters() {
    // The published summary was built from this orders file at calibration end 1997-09-30 in weeks.
    let j = fit_json(&["bgnbd", "--orders", &data("cdnow_sample_orders.csv"), "--calibration-end", "1997-09-30", "--unit", "week"]);
    assert_eq!(j["model"], "bgnbd");
    assert_eq!(j["customers"].as_f64(), Some(2357.0));
    assert_eq!(j["converged"], true);
    near(&j["params"]["r"], 0.243, 0.0005);
    near(&j["params"]["alpha"], 4.414, 0.005);
    near(&j["params"]["a"], 0.793, 0.0005);
    near(&j["params"]["b"], 2.426, 0.005);
    near(&j["log_likelihood"], -9582.4, 0.1);
}

#[test]
fn predict_from_orders_dates_the_next_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["predict", "--orders", &data("cdnow_sample_orders.csv"), "--as-of", "1997-10-01", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["as_of"], "1997-10-01");
    near(&doc["params"]["r"], 0.243, 0.0005);
    let rows = doc["customers"].as_array().unwrap();
    assert_eq!(rows.len(), 2357);
    let mut dated = 0;
    for r in rows {
        if let Some(d) = r["expected_next_order"].as_str() {
            assert!(d > "1997-09-30" && d < "1998-10-01", "{d}");
            dated += 1;
        } else {
            assert!(r["expected_next_order_in"].is_null());
        }
        assert!(r["clv"].as_f64().unwrap() >= 0.0);
    }
    assert!(dated > 0 && dated < rows.len(), "{dated}");
}

/// `analyze` has a "value and prediction" section: BG/NBD and Gamma-Gamma on the orders, P(alive)
/// distribution, the most valuable customers and the holdout check, in the JSON and the HTML.
#[test]
fn analyze_has_the_value_and_prediction_section() {
    let orders = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdnow_sample_orders.csv");
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["--quiet", "analyze", orders.to_str().unwrap(), "--sections", "prediction", "--json", "--out", html.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["prediction"];
    assert!(p["unavailable"].is_null(), "{}", p["unavailable"]);
    assert_eq!(p["customers"], 2357);
    assert_eq!(p["purchases"]["model"], "bgnbd");
    assert_eq!(p["purchases"]["converged"], true);
    let alive = p["expected_alive"].as_f64().unwrap();
    assert!(alive > 0.0 && alive < 2357.0, "{alive}");
    let buckets: u64 = p["p_alive_distribution"].as_array().unwrap().iter().map(|b| b["customers"].as_u64().unwrap()).sum();
    assert_eq!(buckets, 2357);
    let top = p["top"].as_array().unwrap();
    assert_eq!(top.len(), 20);
    let clv: Vec<f64> = top.iter().map(|r| r["clv"].as_f64().unwrap()).collect();
    assert!(clv.windows(2).all(|w| w[0] >= w[1]), "top customers by CLV, highest first: {clv:?}");
    assert!(top.iter().all(|r| (0.0..=1.0).contains(&r["p_alive"].as_f64().unwrap())));
    // The holdout check: the last quarter of the history, predictions within 15% of what happened.
    let c = &p["check"];
    let (actual, predicted) = (c["actual_holdout_purchases"].as_f64().unwrap(), c["predicted_holdout_purchases"].as_f64().unwrap());
    assert!(actual > 0.0 && (predicted / actual - 1.0).abs() < 0.15, "actual {actual}, predicted {predicted}");
    assert!(!c["tracking"].as_array().unwrap().is_empty() && !c["conditional"].as_array().unwrap().is_empty());
    let page = std::fs::read_to_string(&html).unwrap();
    for needle in ["Value and prediction", "Tracking plot", "Conditional expectations", "Customers by P(alive)"] {
        assert!(page.contains(needle), "the HTML report lacks {needle:?}");
    }
    assert!(!page.contains("NaN"));
}

/// Data the model cannot support (nobody ordered twice) gives a plain explanation, not a failure.
#[test]
fn prediction_section_explains_when_the_data_cannot_support_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("once.csv");
    std::fs::write(&f, "customer_id,date,amount\na,2024-01-01,10\nb,2024-01-02,20\nc,2024-02-01,30\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast")).args(["--quiet", "analyze", f.to_str().unwrap(), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let why = v["prediction"]["unavailable"].as_str().unwrap();
    assert!(why.contains("repeat"), "{why}");
}
