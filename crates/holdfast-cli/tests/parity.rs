//! One truth for a file and a store: every report of an orders file is the same when the file is
//! imported into a SQLite store and into a PostgreSQL store and the report is run over the store.
//!
//! Files: the CDNOW sample (slow, irregular buyers), a Russian spreadsheet export in Windows-1251
//! with `;`, decimal commas, `dd.mm.yyyy` dates and Russian cancellation and refund words, a file
//! with order lines (products, several rows per order id) and `failed`/`pending`/`chargeback`
//! orders, and a file with timestamps carrying offsets (days cut in the workspace zone).

mod common;
use common::*;
use std::path::Path;

/// The reports compared, each as `holdfast ARGS --json` (plus `--orders FILE` for the file).
const REPORTS: &[&[&str]] = &[
    &["movement", "--json"],
    &["movement", "--period", "quarter", "--window", "90", "--json"],
    &["cohorts", "--json"],
    &["cohorts", "--metric", "revenue", "--period", "quarter", "--json"],
    &["segments", "--json"],
    &["at-risk", "--json"],
    &["predict", "--json"],
];

/// A report's JSON without what names its source, or its exit code and error message (a model
/// that cannot be fitted on a small file must fail the same way from both).
fn outcome(db: &str, args: &[&str]) -> Result<serde_json::Value, (Option<i32>, String)> {
    let o = holdfast(db, args);
    if o.status.success() {
        Ok(normalised(serde_json::from_slice(&o.stdout).expect("JSON")))
    } else {
        Err((o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()))
    }
}

/// The JSON of a report without what names its source, nor what a store run did besides
/// reporting (`at-risk`'s `saved`: the tasks it opened, rolled over and closed).
fn normalised(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("source");
        o.remove("saved");
    }
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_owned()
}

fn russian_cp1251() -> Vec<u8> {
    let mut text = String::from("Номер заказа;Клиент;Дата;Сумма;Статус\n");
    let statuses = ["Выполнен", "Доставлен", "Отменён", "Возврат", "выполнен", "ОТМЕНА", "Выполнен"];
    let mut n = 0;
    for c in 0..40 {
        for k in 0..(1 + c % 5) {
            n += 1;
            let day = 1 + (c * 7 + k * 53) % 28;
            let month = 1 + (c + k * 3) % 12;
            let year = 2022 + (k % 3);
            let amount = 1000 + (c * 137 + k * 911) % 9000;
            text.push_str(&format!(
                "З-{n};Клиент {c};{day:02}.{month:02}.{year};{} {:03},{:02};{}\n",
                amount / 1000,
                amount % 1000,
                k * 7 % 100,
                statuses[(c + k) % statuses.len()]
            ));
        }
    }
    holdfast_import::encoding_rs::WINDOWS_1251.encode(&text).0.into_owned()
}

fn lines_and_statuses() -> Vec<u8> {
    let mut text = String::from("order_id,customer_id,ordered_at,amount,status,product,category,quantity\n");
    let products = [("Cleaning", "Service"), ("Whitening", "Service"), ("Toothbrush", "Goods"), ("Paste", "Goods")];
    let statuses = ["completed", "completed", "paid", "failed", "pending", "chargeback", "completed", "shipped"];
    let mut n = 0;
    for c in 0..60 {
        for k in 0..(1 + (c * 3) % 7) {
            n += 1;
            let date = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + chrono::Duration::days((c * 11 + k * 47) as i64 % 700);
            let status = statuses[(c + 2 * k) % statuses.len()];
            // Two lines for every third order: the same order id on adjacent rows.
            for l in 0..(1 + (n % 3 == 0) as usize) {
                let (p, cat) = products[(c + k + l) % products.len()];
                text.push_str(&format!("o{n},cust{c},{date},{}.{:02},{status},{p},{cat},{}\n", 10 + (c * 7 + k * 13 + l) % 90, (c + l) % 100, 1 + l));
            }
        }
    }
    text.into_bytes()
}

fn offsets() -> Vec<u8> {
    let mut text = String::from("order_id,customer_id,ordered_at,amount\n");
    let zones = ["+03:00", "-05:00", "Z", "+10:00", "+00:00"];
    let mut n = 0;
    for c in 0..30 {
        for k in 0..(1 + c % 4) {
            n += 1;
            let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days((c * 5 + k * 61) as i64 % 400);
            // Late evening and early morning: the local day depends on the offset.
            let hour = [23, 0, 22, 1][(c + k) % 4];
            text.push_str(&format!("t{n},c{c},{date}T{hour:02}:30:00{},{}.50\n", zones[(c + k) % zones.len()], 20 + (c * 3 + k) % 50));
        }
    }
    text.into_bytes()
}

fn same_reports(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let cdnow = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdnow_sample_orders.csv")).unwrap();
    let files = [
        ("cdnow.csv", cdnow, Vec::<&str>::new()),
        ("russian.csv", russian_cp1251(), vec!["--currency", "RUB"]),
        ("lines.csv", lines_and_statuses(), vec![]),
        ("offsets.csv", offsets(), vec![]),
    ];
    let nodb = "sqlite:///nonexistent/never.db";
    for (name, bytes, extra) in files {
        let file = write(dir.path(), name, &bytes);
        let db = Db::new(pg);
        ok(&db.url, &[&["import", "orders", &file][..], &extra].concat());
        for report in REPORTS {
            let from_file = outcome(nodb, &[*report, &["--orders", &file], &extra].concat());
            let from_store = outcome(&db.url, report);
            assert!(from_file.is_ok() || report[0] == "predict", "{name}: `{}` failed: {from_file:?}", report.join(" "));
            assert_eq!(from_store, from_file, "{name}: `{}` over the store differs from the file", report.join(" "));
        }
        // The whole report, every section.
        let a = normalised(json(nodb, &[&["analyze", &file, "--json"][..], &extra].concat()));
        let b = normalised(json(&db.url, &["analyze", "--json"]));
        assert_eq!(b, a, "{name}: analyze over the store differs from the file");
    }
}
both!(same_reports);

/// The import crate's parity fixtures (`crates/holdfast-import/tests/data/parity`, hand-worked in
/// its README): partial refunds, repeated order ids on one day, statuses in four languages,
/// local times and offsets — the same reports from the file and the store; and the files the
/// rules refuse (an order id used again two years later, refunds naming no order) are refused by
/// both paths with the same message, and read the same with `--skip-bad-rows`.
fn same_rules(pg: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-import/tests/data/parity");
    let nodb = "sqlite:///nonexistent/never.db";
    for name in
        ["cdnow.csv", "ru_cp1251.csv", "repeat_same_day.csv", "statuses.csv", "offsets.csv", "repeat_two_years.csv", "refund_errors.csv", "far_dates.csv"]
    {
        let file = dir.join(name);
        let file = file.to_str().unwrap();
        for skip in [false, true] {
            let extra: &[&str] = if skip { &["--skip-bad-rows"] } else { &[] };
            let db = Db::new(pg);
            let imported = holdfast(&db.url, &[&["import", "orders", file][..], extra].concat());
            let read = holdfast(nodb, &[&["movement", "--orders", file, "--json"][..], extra].concat());
            assert_eq!(imported.status.code(), read.status.code(), "{name} (skip {skip}): import and file reading disagree");
            if !imported.status.success() {
                let (a, b) = (String::from_utf8_lossy(&imported.stderr), String::from_utf8_lossy(&read.stderr));
                assert_eq!(a, b, "{name}: the store and the file refuse it differently");
                continue;
            }
            for report in REPORTS.iter().chain([&["analyze", "--json"][..]].iter()) {
                let file_args: Vec<&str> = if report[0] == "analyze" { vec!["analyze", file, "--json"] } else { [*report, &["--orders", file]].concat() };
                let from_file = outcome(nodb, &[&file_args[..], extra].concat());
                let from_store = outcome(&db.url, report);
                assert_eq!(from_store, from_file, "{name} (skip {skip}): `{}` over the store differs from the file", report.join(" "));
            }
        }
    }
}
both!(same_rules);
