//! `holdfast serve` killed (SIGKILL) in the middle of a batch write, and a command-line import
//! racing a write over the API, on SQLite and PostgreSQL: every write lands whole or not at all,
//! the server starts again on what was left, and two writers at once both land.

mod common;
mod webdriver;

use common::{ok, Db};
use std::time::Duration;
use webdriver::{http, serve, Proc};

const BATCH: usize = 10_000;
/// When the server is killed after the batch is sent: before it arrives, while it is read,
/// checked, written, and after it is answered.
const KILL_AFTER_MS: [u64; 6] = [0, 40, 120, 250, 600, 1500];

/// SIGKILL: no shutdown, no checkpoint, nothing finished.
fn kill(p: &mut Proc) {
    unsafe {
        libc::kill(p.child.id() as i32, libc::SIGKILL);
    }
    let _ = p.child.wait();
}

/// A batch of `n` orders of round `round` as the API takes them.
fn batch(round: usize, n: usize) -> String {
    let orders: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "order_id": format!("R{round}-{i}"),
                "customer_id": format!("C{}", i % 700),
                "ordered_at": format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                "amount": format!("{}.{:02}", 10 + i % 90, i % 100),
                "lines": [{"product": format!("P{}", i % 40), "quantity": 1 + i % 3}]
            })
        })
        .collect();
    serde_json::to_string(&orders).unwrap()
}

fn orders_in(db: &str) -> i64 {
    let rt = holdfast_store::runtime().expect("runtime");
    rt.block_on(async {
        let s = holdfast_store::Store::open(db).await.expect("open the store");
        let ws = s.workspace("default").await.expect("workspace");
        let n = s.count(ws.id, holdfast_store::Entity::Orders).await.expect("count");
        s.close().await.expect("close");
        n
    })
}

fn post(port: u16, token: &str, body: &str) -> std::io::Result<webdriver::Reply> {
    let auth = format!("Bearer {token}");
    http(port, "POST", "/api/v1/orders", &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes())
}

fn crash_and_race(pg: bool) {
    let db = Db::new(pg);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let token = ok(&db.url, &["token", "create", "--name", "shop", "--scope", "write"]).trim().to_owned();
    assert!(token.starts_with("hf_"), "{token}");

    // Killed at moments from before the batch arrives to after it is written: each time the
    // store holds every order of the batch or none of them, and the server starts again on it.
    let mut landed = 0i64;
    for (round, delay_ms) in KILL_AFTER_MS.into_iter().enumerate() {
        let (mut p, port) = serve(&db.url, &log, Duration::from_secs(30));
        let body = batch(round, BATCH);
        let t = token.clone();
        let sender = std::thread::spawn(move || post(port, &t, &body));
        std::thread::sleep(Duration::from_millis(delay_ms));
        kill(&mut p);
        let _ = sender.join();
        let n = orders_in(&db.url);
        assert!(n == landed || n == landed + BATCH as i64, "after a kill {delay_ms} ms into round {round}: {n} orders (had {landed}; a batch is {BATCH})");
        eprintln!("round {round}: killed after {delay_ms} ms, the batch {}", if n == landed { "was not written" } else { "was written whole" });
        landed = n;
    }

    // The server comes back, and the rounds sent again fill in exactly what was missing.
    let (mut p, port) = serve(&db.url, &log, Duration::from_secs(30));
    for round in 0..KILL_AFTER_MS.len() {
        let r = post(port, &token, &batch(round, BATCH)).expect("the batch is answered");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(orders_in(&db.url), (KILL_AFTER_MS.len() * BATCH) as i64);

    // A command-line import while the server writes a batch: both land whole.
    let csv = dir.path().join("more.csv");
    let mut text = String::from("order_id,customer_id,ordered_at,amount\n");
    for i in 0..20_000 {
        text.push_str(&format!("F{i},D{},2024-{:02}-{:02},{}.50\n", i % 900, 1 + i % 12, 1 + i % 28, 5 + i % 60));
    }
    std::fs::write(&csv, text).unwrap();
    let t = token.clone();
    let sender = std::thread::spawn(move || post(port, &t, &batch(9, BATCH)));
    let cli = common::holdfast(&db.url, &["import", "orders", csv.to_str().unwrap()]);
    assert!(cli.status.success(), "the import beside the server failed: {}", String::from_utf8_lossy(&cli.stderr));
    let r = sender.join().unwrap().expect("the API write is answered");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(orders_in(&db.url), ((KILL_AFTER_MS.len() + 1) * BATCH + 20_000) as i64);
    assert_eq!(http(port, "GET", "/healthz", &[], b"").unwrap().status, 200);
    p.stop(Duration::from_secs(10));
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn serve_killed_mid_write_and_racing_an_import_on_sqlite() {
    crash_and_race(false);
}

#[test]
fn serve_killed_mid_write_and_racing_an_import_on_postgres() {
    crash_and_race(true);
}
