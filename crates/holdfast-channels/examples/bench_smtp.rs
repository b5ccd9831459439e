//! SMTP throughput: N messages through lettre's pooled transport to the in-process SMTP sink
//! with K concurrent senders (`scripts/bench-smtp` runs it for K = 1, 4, 8).
//!
//! `cargo run --release -p holdfast-channels --features testing --example bench_smtp -- N K`
//! prints one line: `senders=K messages=N seconds=S per_second=R connections=C`.

use holdfast_channels::testing::SmtpSink;
use holdfast_channels::{render, sample_context, Delivery, Email, Smtp};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("N and K are numbers")).collect();
    let (n, k) = (args.first().copied().unwrap_or(10_000), args.get(1).copied().unwrap_or(4).max(1));
    let sink = SmtpSink::start().await.expect("the sink starts");
    let smtp = Smtp::from_url(&sink.url(), k as u32).expect("a valid URL");
    let r = render("Hello, {{ customer.first_name }}", "Hello {{ customer.first_name }},\n\nwe miss you.\n\n{{ workspace.name }}", &sample_context())
        .expect("renders");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..k {
        let (smtp, r) = (smtp.clone(), r.clone());
        tasks.push(tokio::spawn(async move {
            let mut failed = 0usize;
            for i in (s..n).step_by(k) {
                let e = Email {
                    key: format!("bench/{i}"),
                    from: "Shop <news@shop.example>".into(),
                    to: format!("customer{i}@example.com"),
                    subject: r.subject.clone(),
                    text: r.text.clone(),
                    html: r.html.clone(),
                    unsubscribe_url: Some(format!("https://holdfast.example.com/u/{i}")),
                };
                if smtp.send(&e).await != Delivery::Sent {
                    failed += 1;
                }
            }
            failed
        }));
    }
    let mut failed = 0;
    for t in tasks {
        failed += t.await.expect("a sender task");
    }
    let secs = started.elapsed().as_secs_f64();
    assert!(sink.wait_for(n - failed, Duration::from_secs(5)).await, "the sink got every message");
    println!("senders={k} messages={n} failed={failed} seconds={secs:.2} per_second={:.0} connections={}", n as f64 / secs, sink.connections());
}
