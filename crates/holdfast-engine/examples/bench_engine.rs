//! Throughput of the outbox: N messages of a one-off campaign through claim → SMTP → record, to
//! the channels crate's SMTP sink on this machine, with 1, 2, 4 and 8 workers (a fresh campaign
//! for each, so each count sends the same N). Run by `scripts/bench-engine`.
//!
//! Every customer has a budget of 5 a day, 10 a week and 20 a month, so each claim counts the
//! customer's contacts as it reserves (the four runs stay within it).
//!
//! Usage: bench_engine [MESSAGES] [sqlite|postgres] [WORKERS,…]   (default 1,2,4,8)

use holdfast_channels::testing::SmtpSink;
use holdfast_engine::{Engine, Options};
use holdfast_store::engine::{BudgetRule, BudgetScope, EngineSettings};
use holdfast_store::{CustomerRecord, Entity, Record, Store};
use std::sync::Arc;
use std::time::Instant;

const T0: i64 = 1_740_823_200; // 2025-03-01T10:00:00Z

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let backend = args.get(2).map(String::as_str).unwrap_or("sqlite");
    let counts: Vec<usize> = args.get(3).map(|v| v.split(',').filter_map(|w| w.trim().parse().ok()).collect()).unwrap_or_else(|| vec![1, 2, 4, 8]);
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg) = match backend {
        "postgres" => {
            let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("holdfast_bench_engine_{}", std::process::id());
            (holdfast_store::admin::create_database(&admin, &name).await.expect("PostgreSQL"), Some((admin, name)))
        }
        _ => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
    };
    let store = Store::open(&url).await.expect("store");
    let ws = store.workspace("default").await.expect("workspace");
    let rows = (0..n).map(|i| {
        (
            i as u64 + 2,
            Record::Customer(CustomerRecord {
                external_id: format!("B{i:07}"),
                name: Some(format!("Customer {i}")),
                email: Some(format!("b{i:07}@example.com")),
                ..Default::default()
            }),
        )
    });
    store.import(ws.id, Entity::Customers, rows).await.expect("customers");
    store.set_engine_settings(ws.id, &EngineSettings { quiet_start: 0, quiet_end: 0, ..Default::default() }).await.expect("settings");
    store.set_budget(ws.id, &BudgetScope::Workspace, BudgetRule { per_day: Some(5), per_week: Some(10), per_month: Some(20) }).await.expect("budget");
    let sink = SmtpSink::start().await.expect("sink");
    let wall: Arc<dyn Fn() -> i64 + Send + Sync> =
        Arc::new(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0));
    let mut o = Options::new("bench-secret-bench-secret-bench-secret-01".into(), wall);
    o.smtp_url = Some(sink.url());
    o.smtp_from = Some("news@shop.example".into());
    let e = Engine::new(store.clone(), ws.clone(), o).await.expect("engine");
    println!("{n} messages per run, {backend}, SMTP sink on 127.0.0.1");
    for (k, workers) in counts.into_iter().enumerate() {
        let name = format!("bench-{workers}");
        let text = format!(
            "name = \"{name}\"\ntrigger = {{ kind = \"once\", at = \"2025-03-01T10:00:00Z\" }}\nholdout = 0\n[[steps]]\nchannel = \"email\"\nsubject = \"Hello {{{{ customer.name }}}}\"\nbody = \"Spring note {k}\"\n"
        );
        e.add_campaign("bench.toml", &text, T0).await.expect("campaign");
        let t = Instant::now();
        let ev = e.evaluate(T0 + k as i64).await.expect("evaluate");
        let written = t.elapsed().as_secs_f64();
        let before = sink.count();
        let t = Instant::now();
        let s = e.send_due(T0 + k as i64, workers).await.expect("send");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(sink.count() - before, n, "every message arrives once");
        println!(
            "workers {workers}: outbox written in {written:.1} s ({} rows); sent {} in {secs:.1} s = {:.0} messages/s",
            ev.written,
            s.sent,
            s.sent as f64 / secs
        );
        // Pause the campaign so the next run sends only its own.
        store.set_engine_campaign_state(ws.id, &name, "archived", T0).await.expect("archive");
    }
    store.close().await.expect("close");
    if let Some((admin, name)) = pg {
        let _ = holdfast_store::admin::drop_database(&admin, &name).await;
    }
}
