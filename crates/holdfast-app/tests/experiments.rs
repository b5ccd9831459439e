//! Experiments through the application layer, on SQLite and PostgreSQL: a simulated workspace
//! with a planted effect, assignments imported from a file, the report with its intervals and
//! verdict; bad files refused with file, line, column and value, leaving the store unchanged;
//! "not final" before the window closes; a sample-ratio mismatch blocking the verdict; the plan
//! and the global holdout.

mod common;

use common::TestDb;
use holdfast_app::experiments::*;
use holdfast_app::{App, ErrorKind, Quiet};
use holdfast_core::{Currency, OrderStatus, DAY};
use holdfast_experiments::{assign, BootstrapOptions, Share, Status};
use holdfast_store::{CampaignSettings, Entity, OrderRecord, Record};

const T0: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z, the campaign's send day

/// SplitMix64: a small deterministic generator for the simulated shop.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// An app over a fresh store in roubles.
async fn app(db: &TestDb) -> App {
    let mut app = App::open(&db.url).await.unwrap();
    app.ws.currency = Currency::RUB;
    app.store.update_workspace(&app.ws).await.unwrap();
    app
}

/// A shop of `n` customers, each with one order a year before the campaign. The campaign holds
/// out 20% (by the stable bucket of campaign "win-back"); in the 30 days after the send day a
/// control customer orders with probability 10%, a treated one with 20%, for 1,000–3,000 ₽
/// (mean 2,000). Returns the assignments file.
async fn simulated_shop(app: &App, n: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let split = [Share::from_fraction(0.2).unwrap(), Share::from_fraction(0.8).unwrap()];
    let mut orders = Vec::new();
    let mut csv = String::from("customer_id,campaign,group,assigned_at,cost\n");
    for i in 0..n {
        let c = format!("C{i:05}");
        let order = |k: usize, at: i64, amount: i64| {
            Record::Order(OrderRecord {
                external_id: format!("{c}-{k}"),
                customer: c.clone(),
                ordered_at: at,
                amount,
                currency: Currency::RUB,
                status: OrderStatus::parse("completed"),
                lines: Vec::new(),
            })
        };
        orders.push(order(0, T0 - 365 * DAY + (i as i64 % 300) * DAY, 150_000 + (i as i64 % 7) * 10_000));
        let treated = assign("win-back", &c, &split) == Some(1);
        let p = if treated { 0.2 } else { 0.1 };
        if rng.unit() < p {
            let at = T0 + (rng.unit() * 30.0 * DAY as f64) as i64;
            orders.push(order(1, at, 100_000 + (rng.unit() * 200_000.0) as i64));
        }
        // A cancelled order in the window counts for nothing.
        if i % 17 == 0 {
            orders.push(Record::Order(OrderRecord {
                external_id: format!("{c}-x"),
                customer: c.clone(),
                ordered_at: T0 + 3 * DAY,
                amount: 500_000,
                currency: Currency::RUB,
                status: OrderStatus::parse("cancelled"),
                lines: Vec::new(),
            }));
        }
        let (group, cost) = if treated { ("treatment", "45") } else { ("control", "") };
        csv.push_str(&format!("{c},win-back,{group},2024-03-01,{cost}\n"));
    }
    // The last order of the shop, so the default as-of falls after the window.
    orders.push(Record::Order(OrderRecord {
        external_id: "late".into(),
        customer: "C00000".into(),
        ordered_at: T0 + 60 * DAY,
        amount: 1,
        currency: Currency::RUB,
        status: OrderStatus::parse("completed"),
        lines: Vec::new(),
    }));
    app.store.import(app.ws.id, Entity::Orders, orders.into_iter().enumerate().map(|(k, r)| (k as u64 + 2, r))).await.unwrap();
    csv
}

fn fast(campaign: &str) -> ReportRequest {
    ReportRequest { bootstrap: BootstrapOptions { replicates: 400, ..Default::default() }, ..ReportRequest::new(campaign) }
}

fn bytes(name: &str, csv: &str) -> FileInput<'static> {
    FileInput::Bytes { name: Box::leak(name.to_owned().into_boxed_str()), bytes: csv.as_bytes().to_vec() }
}

fn settings() -> AssignmentOptions {
    AssignmentOptions {
        settings: CampaignSettings { window_days: Some(30), planned_split: Some(vec![("Control".into(), 0.2), ("treatment".into(), 0.8)]), margin: Some(0.5) },
        ..Default::default()
    }
}

async fn planted_effect_end_to_end(pg: bool) {
    let db = TestDb::new(pg).await;
    let app = app(&db).await;
    let csv = simulated_shop(&app, 2_000, 11).await;
    let imp = import_assignments(&app, bytes("assignments.csv", &csv), &settings(), &Quiet).await.unwrap();
    assert_eq!((imp.rows, imp.inserted, imp.campaigns.clone()), (2_000, 2_000, vec!["win-back".to_owned()]));
    let again = import_assignments(&app, bytes("assignments.csv", &csv), &AssignmentOptions::default(), &Quiet).await.unwrap();
    assert_eq!((again.inserted, again.unchanged), (0, 2_000));

    let r = experiment_report(&app, &fast("win-back")).await.unwrap();
    assert_eq!((r.status, r.is_final, r.window_days, r.as_of.as_str()), (Status::Verdict, true, 30, "2024-05-01"));
    let control = r.groups.iter().find(|g| g.name == "control").unwrap();
    let treated = r.groups.iter().find(|g| g.name == "treatment").unwrap();
    assert_eq!(control.n + treated.n, 2_000);
    assert!((control.n as f64 / 2_000.0 - 0.2).abs() < 0.03, "{}", control.n);
    // Planted: conversion +10 points, revenue +0.1 × 2,000 ₽ = +200 ₽ per customer.
    for e in &r.effects {
        let truth = if e.metric == "conversion" {
            0.1
        } else if e.metric == "revenue" {
            200.0
        } else {
            continue;
        };
        assert!(e.ci_low.unwrap() <= truth && truth <= e.ci_high.unwrap(), "{e:?} misses {truth}");
        assert!(e.ci_low.unwrap() > 0.0, "{e:?}: the planted effect should be clear at n = 2,000");
    }
    assert!(r.significant && r.srm.as_ref().unwrap().passed);
    let roi = r.roi.as_ref().unwrap();
    let inc = r.incremental.as_ref().unwrap();
    assert!((inc.cost - 45.0 * treated.n as f64).abs() < 1e-6);
    assert!((roi.value - (inc.profit - inc.cost) / inc.cost).abs() < 1e-9 && roi.ci_low < roi.value && roi.value < roi.ci_high);
    assert_eq!(inc.margin, Some(0.5));
    assert!(r.verdict.en.starts_with("Campaign \"win-back\" brought ") && r.verdict.en.contains("of extra profit (95% CI"), "{}", r.verdict.en);
    assert!(r.verdict.ru.starts_with("Кампания «win-back» принесла "), "{}", r.verdict.ru);
    // The naive attribution counts every treated customer's revenue.
    assert!(r.revenue_attributed > inc.revenue);

    // The JSON contract.
    let j = serde_json::to_value(&r).unwrap();
    for k in ["campaign", "window_days", "groups", "effects", "roi", "srm_p", "final"] {
        assert!(j.get(k).is_some(), "{k} missing in {j}");
    }
    for k in ["name", "n", "conversion", "revenue_mean"] {
        assert!(j["groups"][0].get(k).is_some(), "groups[].{k}");
    }
    for k in ["metric", "difference", "ci_low", "ci_high", "method"] {
        assert!(j["effects"][0].get(k).is_some(), "effects[].{k}");
    }
    for k in ["value", "ci_low", "ci_high"] {
        assert!(j["roi"][k].is_number(), "roi.{k}");
    }
    let methods: Vec<&str> = j["effects"].as_array().unwrap().iter().map(|e| e["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["welch", "welch", "bootstrap", "cuped", "welch"]);
    assert_eq!(j["final"], true);

    // Before the window closes: not final, no verdict; a shorter window is final earlier.
    let early = experiment_report(&app, &ReportRequest { as_of: Some("2024-03-20".into()), ..fast("win-back") }).await.unwrap();
    assert_eq!((early.status, early.is_final), (Status::NotFinal, false));
    assert!(early.verdict.en.starts_with("Not final: the attribution window closes on 2024-03-31."), "{}", early.verdict.en);
    let short = experiment_report(&app, &ReportRequest { as_of: Some("2024-03-20".into()), window_days: Some(7), ..fast("win-back") }).await.unwrap();
    assert_eq!((short.status, short.window_days), (Status::Verdict, 7));

    let list = list_experiments(&app, None).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].is_final && list[0].has_control && list[0].assigned == 2_000);

    let plan = plan_experiment(
        &app,
        &PlanRequest {
            audience: 10_000,
            holdout: 0.1,
            metric: PlanMetric::Revenue,
            window_days: 30,
            as_of: Some("2024-04-01".into()),
            baseline_mean: None,
            baseline_sd: None,
        },
    )
    .await
    .unwrap();
    assert_eq!((plan.plan.treated, plan.plan.control, plan.baseline_customers), (9_000, 1_000, Some(2_000)));
    assert!(plan.plan.mde > 0.0 && plan.plan.baseline_mean > 0.0, "{plan:?}");
    let e = experiment_report(&app, &fast("nope")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}
both!(planted_effect_end_to_end);

async fn bad_files_change_nothing(pg: bool) {
    let db = TestDb::new(pg).await;
    let app = app(&db).await;
    let good = simulated_shop(&app, 50, 3).await;
    let unchanged = |app: App| async move { app.store.campaigns(app.ws.id).await.unwrap().iter().map(|c| (c.name.clone(), c.assigned())).collect::<Vec<_>>() };
    let cases: [(&str, String, &str); 8] = [
        (
            "unknown.csv",
            format!("{good}C99999,win-back,treatment,2024-03-01,45\n"),
            "unknown.csv:52: column customer_id: customer \"C99999\" is not in the store",
        ),
        (
            "twice.csv",
            format!("{good}C00003,win-back,{},2024-03-01,\n", if good.contains("C00003,win-back,control") { "treatment" } else { "control" }),
            "twice.csv:52: column group: customer \"C00003\" is put in group",
        ),
        (
            "nocontrol.csv",
            "customer_id,campaign,group,assigned_at\nC00001,spring,treatment,2024-03-01\nC00002,spring,letter b,2024-03-01\n".into(),
            "nocontrol.csv: campaign \"spring\" has no control group (its groups: letter b, treatment)",
        ),
        ("date.csv", "customer_id,campaign,group,assigned_at\nC00001,spring,control,2024-02-31\n".into(), "date.csv:2: column \"assigned_at\""),
        ("group.csv", "customer_id,campaign,group,assigned_at\nC00001,spring,,2024-02-01\n".into(), "group.csv:2: column \"group\""),
        ("cost.csv", "customer_id,campaign,group,assigned_at,cost\nC00001,spring,control,2024-02-01,-5\n".into(), "cost.csv:2: column cost: -5.00 is negative"),
        (
            "amount.csv",
            "customer_id,campaign,group,assigned_at,cost\nC00001,spring,control,2024-02-01,\nC00002,spring,treatment,2024-02-01,abc\n".into(),
            "amount.csv:3: column \"cost\": \"abc\" is not an amount",
        ),
        ("header.csv", "customer_id,campaign,assigned_at\nC00001,spring,2024-02-01\n".into(), "group"),
    ];
    for (name, csv, want) in cases {
        let e = import_assignments(&app, bytes(name, &csv), &settings(), &Quiet).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::User, "{name}: {e}");
        eprintln!("{name}: {e}");
        assert!(e.message.contains(want), "{name}: {e}\nexpected: {want}");
        assert_eq!(unchanged(app.clone()).await, vec![], "{name} wrote something");
    }
    // A good file, then one conflicting with it: still as the good one left it.
    import_assignments(&app, bytes("good.csv", &good), &settings(), &Quiet).await.unwrap();
    let flipped = good.replacen(",control,", ",treatment,", 1);
    let e = import_assignments(&app, bytes("flip.csv", &flipped), &settings(), &Quiet).await.unwrap_err();
    assert!(e.message.contains("is already in group \"control\" of campaign \"win-back\""), "{e}");
    assert_eq!(unchanged(app.clone()).await, vec![("win-back".to_owned(), 50)]);
}
both!(bad_files_change_nothing);

async fn srm_blocks_and_holdout(pg: bool) {
    let db = TestDb::new(pg).await;
    let app = app(&db).await;
    let csv = simulated_shop(&app, 1_000, 5).await;
    // Planned 50/50, observed about 20/80: blocked.
    let opts = AssignmentOptions {
        settings: CampaignSettings { planned_split: Some(vec![("control".into(), 1.0), ("treatment".into(), 1.0)]), ..Default::default() },
        ..Default::default()
    };
    import_assignments(&app, bytes("a.csv", &csv), &opts, &Quiet).await.unwrap();
    let r = experiment_report(&app, &fast("win-back")).await.unwrap();
    assert_eq!(r.status, Status::Blocked);
    assert!(r.srm_p.unwrap() < 1e-10 && r.verdict.en.starts_with("No verdict"), "{}", r.verdict.en);
    // Without a control group the report refuses (a campaign written by another path).
    assert_eq!(global_holdout(&app).await.unwrap().buckets, 0);
    let h = set_global_holdout(&app, 0.05).await.unwrap();
    assert_eq!((h.buckets, h.share), (500, 0.05));
    assert_eq!(global_holdout(&app).await.unwrap(), h);
    assert!(set_global_holdout(&app, 0.7).await.is_err());
    let held = (0..1_000).filter(|i| is_held_out(&format!("C{i:05}"), &h)).count();
    assert!((20..=80).contains(&held), "{held}");
    let again = import_assignments(&app, bytes("a.csv", &csv), &AssignmentOptions::default(), &Quiet).await.unwrap();
    assert!(again.warnings.iter().any(|w| w.contains("global holdout")), "{:?}", again.warnings);
}
both!(srm_blocks_and_holdout);
