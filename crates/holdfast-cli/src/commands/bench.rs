//! `holdfast bench`: runs the repository's side-by-side benchmarks. The measurement lives in one
//! place, the script, so the command and the script cannot disagree.

use crate::Global;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Benchmarks against reference tools, measured side by side in one run.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast bench analyze --orders 5000000")]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// `holdfast analyze` vs DuckDB on the same generated orders file (runs scripts/bench-analyze;
    /// needs the repository, cargo and python3).
    Analyze(AnalyzeArgs),
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// About how many orders to generate (customers = orders / 10).
    #[arg(long, default_value_t = 5_000_000)]
    pub orders: u64,
    /// Runs of each side; the best is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The repository root: the nearest ancestor of the current directory holding the script.
fn find_script(name: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join("scripts").join(name)).find(|p| p.is_file())
}

fn run_script(script: &Path, args: &[String]) -> anyhow::Result<()> {
    let status = Command::new("python3")
        .arg(script)
        .args(args)
        .status()
        .with_context(|| format!("cannot run python3 {}", script.display()))?;
    if !status.success() {
        anyhow::bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

pub fn run(args: Args, _g: &Global) -> anyhow::Result<()> {
    match args.what {
        What::Analyze(a) => {
            let script = find_script("bench-analyze").context(
                "scripts/bench-analyze not found: run `holdfast bench analyze` inside the Holdfast repository",
            )?;
            run_script(
                &script,
                &[
                    "--orders".into(),
                    a.orders.to_string(),
                    "--runs".into(),
                    a.runs.to_string(),
                    "--seed".into(),
                    a.seed.to_string(),
                ],
            )
        }
    }
}
