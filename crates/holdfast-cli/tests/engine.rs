//! The engine through the binary: `holdfast run` killed with SIGKILL at random moments and
//! started again, against a real SMTP server (the channels crate's sink) in this process.
//!
//! The bounded version runs here (1,000 messages, 5 kills); `scripts/crash-engine` runs the full
//! size (10,000 messages, 20 kills) through the same test with `HOLDFAST_CRASH_N` and
//! `HOLDFAST_CRASH_KILLS`.

mod common;

use common::{ok, Db};
use holdfast_channels::testing::SmtpSink;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WORKERS: usize = 4;
const NOW: &str = "2025-03-01T12:00:00Z";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator of kill moments (xorshift).
struct Draw(u64);
impl Draw {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn run_engine(db: &str, sink: &SmtpSink) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["--db", db, "--quiet", "run", "--until-idle", "--now", NOW, "--workers", &WORKERS.to_string(), "--lease", "2", "--batch", "10"])
        .env("HOLDFAST_SMTP_URL", sink.url())
        .env("HOLDFAST_SMTP_FROM", "news@shop.example")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start holdfast run")
}

#[test]
fn killed_runs_lose_nothing_and_repeat_at_most_one_message_per_worker_per_kill() {
    let n = env_or("HOLDFAST_CRASH_N", 1000);
    let kills = env_or("HOLDFAST_CRASH_KILLS", 5);
    let db = Db::new(false);
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("customer_id,name,email\n");
    for i in 0..n {
        csv.push_str(&format!("K{i:06},Customer {i},k{i:06}@example.com\n"));
    }
    let customers = dir.path().join("customers.csv");
    std::fs::write(&customers, csv).unwrap();
    ok(&db.url, &["import", "customers", customers.to_str().unwrap()]);
    ok(&db.url, &["budget", "set", "--per-day", "5", "--per-week", "10", "--per-month", "20"]);
    let campaign = dir.path().join("spring.toml");
    std::fs::write(
        &campaign,
        "name = \"spring-note\"\ntrigger = { kind = \"once\", at = \"2025-03-01T10:00:00Z\" }\naudience = { all = true }\nholdout = 0.10\n\
         [[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"Hello, {{ customer.name }}\"\nbody = \"Spring is here, {{ customer.first_name }}.\"\n",
    )
    .unwrap();
    ok(&db.url, &["campaign", "add", campaign.to_str().unwrap()]);

    let sink = SmtpSink::start_background().unwrap();
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut killed = 0;
    // Kill moments while messages flow: after a random number of further deliveries (up to the
    // share of the messages one kill may cover, so every kill lands before the sending ends),
    // whatever the speed of the machine. The first kill may also land during start-up.
    let step = (n * 9 / 10 / (kills + 1)).max(2) as u64;
    while killed < kills {
        let mut child = run_engine(&db.url, &sink);
        if killed == 0 && draw.next(2) == 0 {
            std::thread::sleep(Duration::from_millis(20 + draw.next(100)));
        } else {
            let target = sink.count() as u64 + 1 + draw.next(step);
            while (sink.count() as u64) < target && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        match child.try_wait().unwrap() {
            Some(status) => {
                // Finished before the kill: nothing more to kill.
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).ok();
                assert!(status.success(), "holdfast run failed: {err}");
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
            }
        }
    }
    // The last run finishes (waiting out the dead runs' leases).
    let out = run_engine(&db.url, &sink).wait_with_output().unwrap();
    assert!(out.status.success(), "holdfast run failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(sink.count() >= n * 8 / 10, "only {} messages arrived", sink.count());

    // Who should have received it: everyone outside the 10% control group, by the same stable
    // hash of (workspace, campaign salt, customer) into 10,000 buckets.
    let expected: Vec<String> = (0..n)
        .map(|i| format!("K{i:06}"))
        .filter(|id| holdfast_experiments::bucket::bucket("default/spring-note", id) >= 1000)
        .map(|id| format!("{}@example.com", id.to_lowercase()))
        .collect();
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in sink.received() {
        got.entry(m.to[0].clone()).or_default().push(m.message_id.clone());
    }
    let received: Vec<&String> = got.keys().collect();
    assert_eq!(received, expected.iter().collect::<Vec<_>>(), "received set != the customers outside the control group");
    let mut duplicates = 0;
    for (to, ids) in &got {
        assert!(ids.iter().all(|i| i == &ids[0]), "{to} got two different Message-IDs: {ids:?}");
        duplicates += ids.len() - 1;
    }
    eprintln!(
        "crash test: {} customers, {} expected, {} received, {} duplicates after {killed} kills with {WORKERS} workers, {:.1} s",
        n,
        expected.len(),
        sink.count(),
        duplicates,
        started.elapsed().as_secs_f64()
    );
    assert!(duplicates <= WORKERS * killed, "{duplicates} duplicates after {killed} kills of {WORKERS} workers");
    assert_eq!(killed, kills, "every kill landed while messages were being sent");
    // The store agrees: every message sent or held out, and the ledger holds what arrived.
    let counts = common::json(&db.url, &["run", "--now", NOW, "--no-send", "--json"]);
    assert_eq!(counts["outbox"]["sent"].as_u64(), Some(expected.len() as u64), "{counts}");
    assert_eq!(counts["outbox"]["held_out"].as_u64(), Some((n - expected.len()) as u64), "{counts}");
}
