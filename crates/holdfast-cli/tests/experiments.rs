//! `holdfast import assignments` and `holdfast experiment …` through the real binary, on SQLite
//! and PostgreSQL: a shop with a planted effect measured end to end (JSON contract, human
//! verdict, HTML with SVG bars, "not final"), bad files refused with exit code 1 and the store
//! unchanged, the list, the plan and the global holdout.

use std::fmt::Write;

mod common;
use common::*;

/// 600 customers with an order in 2023; the campaign "win-back" on 2024-03-01 holds out every
/// fifth customer. In the 30 days after it a control customer orders with probability 10%, a
/// treated one with 30% (amounts 80.00–119.00). Returns (orders.csv, assignments.csv).
fn shop() -> (String, String) {
    let mut orders = String::from("order_id,customer_id,ordered_at,amount\n");
    let mut assignments = String::from("customer_id,campaign,group,assigned_at,cost\n");
    let mut x: u64 = 17;
    let mut unit = || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..600 {
        let c = format!("K{i:04}");
        let _ = writeln!(orders, "{c}-0,{c},2023-{:02}-{:02},{}.00", 1 + i % 12, 1 + i % 28, 50 + i % 40);
        let control = i % 5 == 0;
        if unit() < if control { 0.1 } else { 0.3 } {
            let _ = writeln!(orders, "{c}-1,{c},2024-03-{:02},{}.00", 2 + (unit() * 27.0) as u32, 80 + (unit() * 40.0) as u32);
        }
        let _ = writeln!(assignments, "{c},win-back,{},2024-03-01,{}", if control { "control" } else { "treatment" }, if control { "" } else { "2.50" });
    }
    orders.push_str("late,K0001,2024-06-01,1.00\n");
    (orders, assignments)
}

fn fails(db: &str, args: &[&str]) -> String {
    let o = holdfast(db, args);
    assert_eq!(o.status.code(), Some(1), "holdfast {args:?} should fail with 1: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8(o.stderr).unwrap()
}

fn experiments(pg: bool) {
    let db = Db::new(pg);
    let dir = tempfile::tempdir().unwrap();
    let (orders, assignments) = shop();
    let path = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (o, a) = (path("orders.csv", &orders), path("assignments.csv", &assignments));
    ok(&db.url, &["import", "orders", &o, "--currency", "RUB"]);

    // Bad files first: refused with the file, line and column, nothing written.
    let unknown = path("unknown.csv", &format!("{assignments}NOBODY,win-back,treatment,2024-03-01,2.50\n"));
    let e = fails(&db.url, &["import", "assignments", &unknown]);
    assert!(e.contains("unknown.csv:602: column customer_id: customer \"NOBODY\" is not in the store"), "{e}");
    let twice = path("twice.csv", &format!("{assignments}K0000,win-back,treatment,2024-03-01,\n"));
    let e = fails(&db.url, &["import", "assignments", &twice]);
    assert!(e.contains("twice.csv:602: column group: customer \"K0000\" is put in group \"treatment\""), "{e}");
    let nocontrol = path("nocontrol.csv", "customer_id,campaign,group,assigned_at\nK0001,spring,treatment,2024-03-01\n");
    let e = fails(&db.url, &["import", "assignments", &nocontrol]);
    assert!(e.contains("campaign \"spring\" has no control group"), "{e}");
    assert_eq!(json(&db.url, &["experiment", "list", "--json"])["campaigns"], serde_json::json!([]));
    assert!(fails(&db.url, &["import", "orders", &o, "--split", "control=0.2,treatment=0.8"]).contains("--split"));

    let imp = json(&db.url, &["import", "assignments", &a, "--window", "30", "--split", "control=0.2,treatment=0.8", "--margin", "40%", "--json"]);
    assert_eq!((imp["rows"].as_u64(), imp["inserted"].as_u64()), (Some(600), Some(600)), "{imp}");

    // The JSON contract.
    let r = json(&db.url, &["experiment", "report", "win-back", "--json", "--replicates", "500"]);
    assert_eq!((r["campaign"].as_str(), r["window_days"].as_u64(), r["final"].as_bool()), (Some("win-back"), Some(30), Some(true)), "{r}");
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.iter().map(|g| (g["name"].as_str().unwrap(), g["n"].as_u64().unwrap())).collect::<Vec<_>>(), [("control", 120), ("treatment", 480)]);
    for g in groups {
        assert!(g["conversion"].is_number() && g["revenue_mean"].is_number());
    }
    let effects = r["effects"].as_array().unwrap();
    assert_eq!(effects.len(), 5);
    for e in effects {
        assert!(["conversion", "revenue", "orders"].contains(&e["metric"].as_str().unwrap()));
        assert!(["welch", "bootstrap", "cuped"].contains(&e["method"].as_str().unwrap()));
        assert!(e["difference"].is_number() && e["ci_low"].is_number() && e["ci_high"].is_number(), "{e}");
    }
    // Planted: conversion +20 points; revenue +0.2 × 99.50 ≈ +19.90 per customer.
    let conv = effects.iter().find(|e| e["metric"] == "conversion").unwrap();
    assert!(conv["ci_low"].as_f64().unwrap() > 0.1 && conv["ci_high"].as_f64().unwrap() > 0.2, "{conv}");
    assert!(r["roi"]["value"].is_number() && r["roi"]["ci_low"].is_number() && r["roi"]["ci_high"].is_number());
    assert!(r["srm_p"].as_f64().unwrap() > 0.001);
    assert_eq!(r["status"], "verdict");
    // The same request gives the same answer (seeded).
    assert_eq!(json(&db.url, &["experiment", "report", "win-back", "--json", "--replicates", "500"]), r);

    // People's output: the verdict sentence, the groups, the bars; an HTML file with SVG bars.
    let html = dir.path().join("wb.html");
    let text = ok(&db.url, &["experiment", "report", "win-back", "--replicates", "500", "--out", html.to_str().unwrap()]);
    assert!(text.contains("Campaign \"win-back\" brought ") && text.contains(" ₽ of extra profit (95% CI ") && text.contains("ROI "), "{text}");
    assert!(text.contains("Кампания «win-back» принесла") && text.contains("Groups") && text.contains('●'), "{text}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg") && page.contains("(decides)"));

    // Before the window closes: not final.
    let early = ok(&db.url, &["experiment", "report", "win-back", "--as-of", "2024-03-15", "--replicates", "200"]);
    assert!(early.contains("(NOT FINAL)") && early.contains("Not final: the attribution window closes on 2024-03-31."), "{early}");
    let e = fails(&db.url, &["experiment", "report", "nope"]);
    assert!(e.contains("no campaign named \"nope\""), "{e}");

    let list = json(&db.url, &["experiment", "list", "--json"]);
    assert_eq!(list["campaigns"][0]["assigned"], 600);
    assert_eq!(list["campaigns"][0]["final"], true);
    let plan = json(&db.url, &["experiment", "plan", "--audience", "5000", "--holdout", "0.2", "--metric", "conversion", "--as-of", "2024-04-01", "--json"]);
    assert_eq!((plan["treated"].as_u64(), plan["control"].as_u64()), (Some(4_000), Some(1_000)), "{plan}");
    assert!(plan["mde"].as_f64().unwrap() > 0.0);
    assert!(ok(&db.url, &["experiment", "plan", "--audience", "5000", "--metric", "conversion", "--baseline-mean", "0.05"]).contains("The smallest effect this campaign can detect"));
    assert!(ok(&db.url, &["experiment", "holdout"]).starts_with("No global holdout"));
    assert_eq!(json(&db.url, &["experiment", "holdout", "--set", "0.1", "--json"])["buckets"], 1000);
    assert!(ok(&db.url, &["experiment", "holdout"]).starts_with("Global holdout: 10.00%"));
    assert!(fails(&db.url, &["experiment", "holdout", "--set", "0.9"]).contains("between 0 and 0.5"));
}
both!(experiments);

#[test]
fn help_has_examples() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast")).args(["experiment", "--help"]).output().unwrap();
    let h = String::from_utf8(o.stdout).unwrap();
    assert!(h.contains("Examples:") && h.contains("holdfast experiment report win-back"), "{h}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast")).args(["import", "--help"]).output().unwrap();
    assert!(String::from_utf8(o.stdout).unwrap().contains("assignments   customer_id, campaign, group"));
}
