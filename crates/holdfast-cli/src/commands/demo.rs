//! `holdfast demo`: generates a demo orders file and analyses it into `report.html`.

use crate::commands::{analyze, generate};
use crate::Global;
use anyhow::Context;
use clap::Parser;
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

/// `holdfast analyze`'s arguments, parsed from its command line (the stable CLI contract), so the
/// demo runs exactly what a user would type.
#[derive(Parser, Debug)]
#[command(name = "analyze")]
struct AnalyzeLine {
    #[command(flatten)]
    args: analyze::Args,
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
    let truth = generate::write_file(&cfg, &orders, g.quiet)?.context("the demo file was not written")?;
    println!(
        "Generated {} orders of {} customers (3 years, seed {}): {}",
        truth.orders,
        truth.customers,
        args.seed,
        shown(&orders)
    );
    let line = AnalyzeLine::try_parse_from([
        "analyze".into(),
        orders.clone().into_os_string(),
        "--out".into(),
        report.clone().into_os_string(),
    ]);
    let analyzed = match line {
        Ok(l) => analyze::run(l.args, g),
        // A build whose `analyze` takes no file yet: run it bare to get its own message.
        Err(e) => match AnalyzeLine::try_parse_from(["analyze"]) {
            Ok(bare) => analyze::run(bare.args, g),
            Err(_) => Err(anyhow::anyhow!("{e}")),
        },
    };
    let me = self_name();
    match analyzed {
        Ok(()) => {
            println!("Report: {}", shown(&report));
            println!("Next, try: {me} movement --orders {} --period month", shown(&orders));
            Ok(())
        }
        // Until `holdfast analyze` lands in this build, the demo generates only.
        Err(e) if e.to_string().contains("not available in this build yet") => {
            println!("The report is not available in this build yet; the orders file is ready.");
            println!("Next, try: {me} generate --help");
            Ok(())
        }
        Err(e) => Err(e.context(format!("analysing {}", shown(&orders)))),
    }
}
