//! `holdfast bench`: runs the repository's side-by-side benchmarks. The measurement lives in one
//! place, the script, so the command and the script cannot disagree.

use crate::Global;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Benchmarks against reference tools, measured side by side in one run.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  holdfast bench analyze --orders 5000000\n  holdfast bench models --customers 100000")]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// `holdfast analyze` vs DuckDB on the same generated orders file (runs scripts/bench-analyze;
    /// needs the repository, cargo and python3).
    Analyze(AnalyzeArgs),
    /// The customer-base models vs lifetimes 0.11.3 on the same summary (runs scripts/bench-models;
    /// needs the repository, cargo and python3).
    Models(ModelsArgs),
    /// The Holdfast side of `bench models`, in one process: reads a summary, then for BG/NBD and
    /// Pareto/NBD times fitting and predicting P(alive) and expected purchases for every customer —
    /// the work lifetimes is timed on — and prints the times as JSON.
    ModelsTimed(ModelsTimedArgs),
}

#[derive(clap::Args, Debug)]
pub struct ModelsArgs {
    /// Customers to generate.
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Runs of each Holdfast measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct ModelsTimedArgs {
    /// RFM summary CSV ([customer_id,]frequency,recency,T[,monetary_value]).
    #[arg(long, value_name = "FILE")]
    pub summary: PathBuf,
    /// Time unit of the summary: day or week.
    #[arg(long, default_value = "day", value_parser = |s: &str| s.parse::<holdfast_models::TimeUnit>())]
    pub unit: holdfast_models::TimeUnit,
    /// Horizon of the expected purchases, in the summary's unit.
    #[arg(long, default_value_t = 364.0)]
    pub horizon: f64,
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
    let status = Command::new("python3").arg(script).args(args).status().with_context(|| format!("cannot run python3 {}", script.display()))?;
    if !status.success() {
        anyhow::bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

/// Fits a model and predicts P(alive) and expected purchases for every customer; the time taken
/// and what came out.
fn timed_model<M: holdfast_models::PurchaseModel>(
    summary: &holdfast_models::Summary,
    horizon: f64,
    fit: impl Fn(&holdfast_models::Compressed) -> Result<holdfast_models::Fitted<M>, holdfast_models::FitError>,
) -> anyhow::Result<serde_json::Value> {
    let t0 = std::time::Instant::now();
    let f = fit(&summary.compress())?;
    let out = holdfast_models::alive_and_purchases(&f.model, summary, horizon);
    let seconds = t0.elapsed().as_secs_f64();
    let params: serde_json::Map<String, serde_json::Value> = f.model.params().into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
    Ok(serde_json::json!({
        "seconds": seconds,
        "params": params,
        "log_likelihood": f.log_likelihood,
        "converged": f.converged,
        "customers": out.len(),
        "sum_p_alive": out.iter().map(|v| v.0).sum::<f64>(),
        "sum_expected_purchases": out.iter().map(|v| v.1).sum::<f64>(),
    }))
}

pub fn run(args: Args, _g: &Global) -> anyhow::Result<()> {
    match args.what {
        What::ModelsTimed(a) => {
            let text = crate::summary_input::read_text(&a.summary)?;
            let summary = holdfast_models::Summary::parse_csv(&text, a.unit).map_err(|e| crate::summary_input::csv_error(&a.summary, e))?;
            let opts = holdfast_models::FitOptions::default();
            let bg = timed_model(&summary, a.horizon, |d| holdfast_models::BgNbd::fit(d, &opts))?;
            let pa = timed_model(&summary, a.horizon, |d| holdfast_models::ParetoNbd::fit(d, &opts))?;
            crate::output::print_json(&serde_json::json!({ "bgnbd": bg, "pareto": pa }))
        }
        What::Models(a) => {
            let script = find_script("bench-models").context("scripts/bench-models not found: run `holdfast bench models` inside the Holdfast repository")?;
            run_script(&script, &["--customers".into(), a.customers.to_string(), "--runs".into(), a.runs.to_string(), "--seed".into(), a.seed.to_string()])
        }
        What::Analyze(a) => {
            let script =
                find_script("bench-analyze").context("scripts/bench-analyze not found: run `holdfast bench analyze` inside the Holdfast repository")?;
            run_script(&script, &["--orders".into(), a.orders.to_string(), "--runs".into(), a.runs.to_string(), "--seed".into(), a.seed.to_string()])
        }
    }
}
