//! `holdfast demo`: generates a demo orders file, analyses it into `report.html`, builds a demo
//! store from it and serves the dashboard over it.

use crate::session::Session;
use crate::Global;
use anyhow::Context;
use holdfast_app::demo::{build_demo_store, DEMO_EMAIL, DEMO_PASSWORD};
use holdfast_app::{AnalyzeRequest, App, ReadOptions, Sections, Source};
use holdfast_core::Granularity;
use holdfast_report::render_in;
use std::path::{Path, PathBuf};

/// Generates a demo data set, analyses it into report.html, builds a demo store from it and serves
/// the dashboard over that store (Ctrl-C stops it).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast demo\n  holdfast demo --customers 50000 --seed 2 --dir /tmp/holdfast-demo --addr 127.0.0.1:9000\n  holdfast demo --no-serve"
)]
pub struct Args {
    /// Number of customers (about 10 orders each).
    #[arg(long, default_value_t = 20_000)]
    pub customers: u32,
    /// Random seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for demo-orders.csv, report.html and the store demo.db.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Address the dashboard listens on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// Make the files and the store, then stop instead of serving the dashboard.
    #[arg(long)]
    pub no_serve: bool,
}

/// How to call this binary in the printed hint: relative to the current directory when it lives
/// below it (e.g. `./target/release/holdfast` after `cargo run`), else `holdfast`.
fn self_name() -> String {
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    if let (Some(exe), Some(cwd)) = (exe, cwd) {
        if let Ok(rel) = exe.strip_prefix(&cwd) {
            return format!("./{}", rel.display());
        }
    }
    "holdfast".into()
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let orders = args.dir.join("demo-orders.csv");
    let report = args.dir.join("report.html");
    let db_file = args.dir.join("demo.db");
    let mut cfg = holdfast_synth::Config::new(args.customers, args.seed);
    cfg.chains = holdfast_synth::Chain::defaults();
    crate::synth_file::write_file(&cfg, &orders, g.quiet)?.context("the demo file was not written")?;
    // The same report `holdfast analyze demo-orders.csv --out report.html` writes.
    let s = Session::new(g)?;
    let source = Source::File { path: orders.clone(), read: ReadOptions::default() };
    let cal = source.calendar(None)?;
    let req = AnalyzeRequest { as_of: None, window_days: 365, granularity: Granularity::Month, sections: Sections::ALL };
    let bar = s.bar();
    let (analysis, _) =
        s.run(holdfast_app::analyze_report(&source, &cal, &req, &bar)).map_err(|e| anyhow::Error::from(e).context(format!("analysing {}", shown(&orders))))?;
    std::fs::write(&report, render_in(&analysis, g.lang())).with_context(|| format!("cannot write {}", report.display()))?;
    // A fresh demo store: customers, orders, events, survey answers, notes, scores, tasks.
    for ext in ["", "-wal", "-shm"] {
        let f = args.dir.join(format!("demo.db{ext}"));
        if f.exists() {
            std::fs::remove_file(&f).with_context(|| format!("cannot replace {}", f.display()))?;
        }
    }
    let url = format!("sqlite://{}", db_file.display());
    let app = s.run(App::open(&url))?;
    let made = s.run(build_demo_store(&app, &orders, args.seed, chrono::Utc::now().timestamp(), &bar))?;
    let me = self_name();
    println!(
        "Made {} customers with {} orders, {} events, {} survey answers and {} notes (3 years, seed {}); {} tasks in the queue.",
        made.customers, made.orders, made.events, made.feedback, made.notes, args.seed, made.tasks
    );
    println!("Report: {}", shown(&report));
    println!("Store:  {url}");
    println!("Try next:");
    println!("  {me} --db {url} at-risk --limit 10");
    println!("  {me} --db {url} customer {}", first_customer(&orders));
    println!("  {me} analyze {} --sections retention", shown(&orders));
    if args.no_serve {
        return Ok(());
    }
    println!("Sign in as {DEMO_EMAIL} with the password {DEMO_PASSWORD}");
    s.run(holdfast_web::serve(app, &args.addr, holdfast_web::shutdown_signal()))
}

/// The first customer id of the generated file.
fn first_customer(orders: &Path) -> String {
    std::fs::read_to_string(orders).ok().and_then(|t| t.lines().nth(1).and_then(|l| l.split(',').nth(1)).map(str::to_owned)).unwrap_or_else(|| "C000001".into())
}
