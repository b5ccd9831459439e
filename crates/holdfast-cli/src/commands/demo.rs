//! `holdfast demo`: generates a demo orders file and analyses it into `report.html`.

use crate::output::print;
use crate::session::Session;
use crate::Global;
use anyhow::Context;
use holdfast_app::{AnalyzeRequest, ReadOptions, Sections, Source};
use holdfast_core::Granularity;
use holdfast_report::render;
use std::path::{Path, PathBuf};

/// Generates a demo data set and analyses it into report.html.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast demo\n  holdfast demo --customers 50000 --seed 2 --dir /tmp/holdfast-demo")]
pub struct Args {
    /// Number of customers (about 10 orders each).
    #[arg(long, default_value_t = 20_000)]
    pub customers: u32,
    /// Random seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for demo-orders.csv and report.html.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
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
    let mut cfg = holdfast_synth::Config::new(args.customers, args.seed);
    cfg.chains = holdfast_synth::Chain::defaults();
    let truth = crate::synth_file::write_file(&cfg, &orders, g.quiet)?.context("the demo file was not written")?;
    println!("Generated {} orders of {} customers (3 years, seed {}): {}", truth.orders, truth.customers, args.seed, shown(&orders));
    // The same report `holdfast analyze demo-orders.csv --out report.html` writes.
    let s = Session::new(g)?;
    let source = Source::File { path: orders.clone(), read: ReadOptions::default() };
    let cal = source.calendar(None)?;
    let req = AnalyzeRequest { as_of: None, window_days: 365, granularity: Granularity::Month, sections: Sections::ALL };
    let bar = s.bar();
    let (analysis, _) =
        s.run(holdfast_app::analyze_report(&source, &cal, &req, &bar)).map_err(|e| anyhow::Error::from(e).context(format!("analysing {}", shown(&orders))))?;
    std::fs::write(&report, render(&analysis)).with_context(|| format!("cannot write {}", report.display()))?;
    print(&analysis.to_terminal())?;
    let me = self_name();
    println!("\nReport written to {}", shown(&report));
    println!("Next, try: {me} movement --orders {} --period month", shown(&orders));
    Ok(())
}
