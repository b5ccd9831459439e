//! `holdfast fit`: fit a customer-base model to a summary file and print its parameters.
//!
//! Parsing and presentation only; the models live in `holdfast-models`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use holdfast_models::{bgbb, bgnbd, compress, gamma_gamma, pareto_nbd, sbg, Fit, RfmRow};

use crate::Global;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// BG/NBD (Fader, Hardie & Lee 2005): r, alpha, a, b
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987): r, alpha, s, beta
    Pareto,
    /// Gamma-Gamma spend model: p, q, v (customers with frequency > 0)
    Gg,
    /// shifted-beta-geometric retention model from survivor counts: alpha, beta
    Sbg,
    /// BG/BB for discrete opportunities: alpha, beta, gamma, delta
    Bgbb,
}

/// Fit a customer-base model and print its parameters.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  holdfast fit bgnbd --summary cdnow_summary.csv --json
  holdfast fit gg --summary cdnow_summary.csv
  holdfast fit sbg --survival sbg_survival.csv --column regular --periods 7
  holdfast fit bgbb --summary donations.csv

Summary columns: frequency,recency,T[,monetary_value] (or x,t_x,T[,m]); for bgbb
frequency,recency,periods,weights. A `weights` column, if present, counts customers per row.")]
pub struct Args {
    /// Model to fit.
    #[arg(value_enum)]
    pub model: Model,
    /// RFM summary CSV (bgnbd, pareto, gg, bgbb).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Survivor counts CSV, one row per period starting with the cohort size (sbg).
    #[arg(long)]
    pub survival: Option<PathBuf>,
    /// Column of the survival file holding the counts (sbg).
    #[arg(long)]
    pub column: Option<String>,
    /// Number of periods after the start to fit on (sbg; default: all rows).
    #[arg(long)]
    pub periods: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A parsed CSV: header names and numeric rows, with the file name for messages.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

fn read_numeric_csv(path: &Path) -> anyhow::Result<Table> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or_else(|| anyhow!("{}: the file is empty", path.display()))?;
    let header: Vec<String> = head.split(',').map(|h| h.trim().trim_matches('"').to_string()).collect();
    let mut rows = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            bail!("{}:{}: expected {} fields, found {}", path.display(), i + 1, header.len(), fields.len());
        }
        let mut row = Vec::with_capacity(fields.len());
        for (j, f) in fields.iter().enumerate() {
            let f = f.trim().trim_matches('"');
            match f.parse::<f64>() {
                Ok(v) if v.is_finite() => row.push(v),
                _ => bail!(
                    "{}:{}:{}: cannot read {:?} as a number (column {})",
                    path.display(),
                    i + 1,
                    j + 1,
                    f,
                    header[j]
                ),
            }
        }
        rows.push(row);
    }
    Ok(Table { header, rows })
}

impl Table {
    fn col(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| names.iter().any(|n| h == n))
    }
    fn need(&self, names: &[&str], path: &Path) -> anyhow::Result<usize> {
        self.col(names).ok_or_else(|| {
            anyhow!("{}: no column {} (found: {})", path.display(), names.join(" or "), self.header.join(", "))
        })
    }
}

fn summary_path(args: &Args) -> anyhow::Result<&Path> {
    args.summary.as_deref().ok_or_else(|| anyhow!("`holdfast fit {:?}` needs --summary FILE", args.model).into())
}

pub fn run(args: Args, _g: &Global) -> anyhow::Result<()> {
    let mut extra: Vec<(&str, Option<f64>)> = Vec::new();
    let fit: Fit = match args.model {
        Model::Bgnbd | Model::Pareto | Model::Gg => {
            let path = summary_path(&args)?;
            let t = read_numeric_csv(path)?;
            let cx = t.need(&["frequency", "x"], path)?;
            let weight = t.col(&["weights", "weight", "count"]);
            if args.model == Model::Gg {
                let cm = t.need(&["monetary_value", "m"], path)?;
                let rows: Vec<gamma_gamma::SpendRow> = t
                    .rows
                    .iter()
                    .map(|r| gamma_gamma::SpendRow { x: r[cx], m: r[cm], weight: weight.map_or(1.0, |w| r[w]) })
                    .collect();
                extra.push(("frequency_spend_correlation", gamma_gamma::frequency_spend_correlation(&rows)));
                gamma_gamma::fit(&rows)?
            } else {
                let ctx = t.need(&["recency", "t_x"], path)?;
                let ct = t.need(&["T"], path)?;
                let rows: Vec<RfmRow> = t
                    .rows
                    .iter()
                    .map(|r| RfmRow { x: r[cx], t_x: r[ctx], t: r[ct], weight: weight.map_or(1.0, |w| r[w]) })
                    .collect();
                let rows = compress(&rows);
                if args.model == Model::Bgnbd {
                    bgnbd::fit(&rows)?
                } else {
                    pareto_nbd::fit(&rows)?
                }
            }
        }
        Model::Bgbb => {
            let path = summary_path(&args)?;
            let t = read_numeric_csv(path)?;
            let cx = t.need(&["frequency", "x"], path)?;
            let ctx = t.need(&["recency", "t_x"], path)?;
            let cn = t.need(&["periods", "n"], path)?;
            let weight = t.col(&["weights", "weight", "count"]);
            let rows: Vec<bgbb::Row> = t
                .rows
                .iter()
                .map(|r| bgbb::Row { x: r[cx], t_x: r[ctx], n: r[cn], weight: weight.map_or(1.0, |w| r[w]) })
                .collect();
            bgbb::fit(&rows)?
        }
        Model::Sbg => {
            let path =
                args.survival.as_deref().ok_or_else(|| anyhow!("`holdfast fit sbg` needs --survival FILE"))?;
            let name = args.column.as_deref().ok_or_else(|| anyhow!("`holdfast fit sbg` needs --column NAME"))?;
            let t = read_numeric_csv(path)?;
            let c = t.need(&[name], path)?;
            let mut counts: Vec<f64> = t.rows.iter().map(|r| r[c]).collect();
            if let Some(p) = args.periods {
                if counts.len() < p + 1 {
                    bail!("{}: {} periods asked, the file has {}", path.display(), p, counts.len().saturating_sub(1));
                }
                counts.truncate(p + 1);
            }
            let fit = sbg::fit(&counts)?;
            if let Some(p) = sbg::Params::from_fit(&fit) {
                let n = counts.len() as u32 - 1;
                extra.push(("retention_next_period", Some(p.retention(n + 1))));
                extra.push(("derl_10pct", p.derl(0.1, n + 1)));
            }
            fit
        }
    };
    print_fit(&fit, &extra, args.json)
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn print_fit(fit: &Fit, extra: &[(&str, Option<f64>)], json: bool) -> anyhow::Result<()> {
    if json {
        let mut params = serde_json::Map::new();
        for (n, v) in &fit.params {
            params.insert((*n).to_string(), serde_json::json!(finite(*v)));
        }
        let mut out = serde_json::Map::new();
        out.insert("model".into(), serde_json::json!(fit.model));
        out.insert("params".into(), serde_json::Value::Object(params));
        out.insert("log_likelihood".into(), serde_json::json!(finite(fit.log_likelihood)));
        out.insert("customers".into(), serde_json::json!(fit.customers));
        out.insert("converged".into(), serde_json::json!(fit.converged));
        for (n, v) in extra {
            out.insert((*n).to_string(), serde_json::json!(v.and_then(finite)));
        }
        println!("{}", serde_json::to_string_pretty(&serde_json::Value::Object(out))?);
        return Ok(());
    }
    let fmt = |v: Option<f64>| v.and_then(finite).map_or("n/a".to_string(), |v| format!("{v:.4}"));
    println!("Model            {}", fit.model);
    println!("Customers        {}", fit.customers);
    for (n, v) in &fit.params {
        println!("  {:<14} {}", n, fmt(Some(*v)));
    }
    println!("Log-likelihood   {}", fmt(Some(fit.log_likelihood)).replace("n/a", "not finite"));
    println!("Converged        {}", if fit.converged { "yes" } else { "no (treat the parameters with care)" });
    for (n, v) in extra {
        println!("{:<16} {}", n.replace('_', " "), fmt(*v));
    }
    Ok(())
}
