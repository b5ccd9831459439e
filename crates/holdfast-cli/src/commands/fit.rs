//! `holdfast fit`: fits a customer-base model to an orders file (at a calibration end) or a
//! summary file and prints its parameters. Parsing and presentation only; the models live in
//! `holdfast-models`.

use crate::summary_input::{csv_error, load_summary, read_text, SummarySource};
use crate::Global;
use anyhow::anyhow;
use holdfast_models::{BgBb, BgBbData, BgNbd, FitOptions, GammaGamma, MbgNbd, ParetoNbd, PurchaseModel, Sbg};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// BG/NBD (Fader, Hardie & Lee 2005): r, alpha, a, b
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987): r, alpha, s, beta
    Pareto,
    /// MBG/NBD (Batislam, Denizel & Filiztekin 2007): r, alpha, a, b
    Mbgnbd,
    /// Gamma-Gamma spend model (repeat customers): p, q, v
    Gg,
    /// Shifted-beta-geometric retention model from survivor counts: alpha, beta
    Sbg,
    /// BG/BB for discrete opportunities: alpha, beta, gamma, delta
    Bgbb,
}

/// Fits a customer-base model and prints its parameters.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  holdfast fit bgnbd --orders orders.csv --calibration-end 1997-09-30 --unit week --json
  holdfast fit pareto --summary cdnow_summary.csv
  holdfast fit gg --summary cdnow_summary.csv
  holdfast fit sbg --survival sbg_survival.csv --column regular --periods 7
  holdfast fit bgbb --summary donations.csv

A summary has columns frequency,recency,T[,monetary_value] (or x,t_x,T[,m]), one row per customer,
in --unit; for bgbb frequency,recency,periods[,weights].")]
pub struct Args {
    /// Model to fit.
    #[arg(value_enum)]
    pub model: Model,
    #[command(flatten)]
    pub source: SummarySource,
    /// Survivor counts CSV, one row per period starting with the cohort size (sbg).
    #[arg(long, value_name = "FILE")]
    pub survival: Option<PathBuf>,
    /// Column of the survival file holding the counts (sbg).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Periods after the start to fit on (sbg; default: all rows).
    #[arg(long)]
    pub periods: Option<usize>,
    /// L2 penalizer on the parameters, as lifetimes' `penalizer_coef` (0 = plain maximum likelihood).
    #[arg(long, default_value_t = 0.0)]
    pub penalizer: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn finite(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let opts = FitOptions { penalizer: args.penalizer, ..FitOptions::default() };
    let mut extra: Vec<(&str, Value)> = Vec::new();
    let (name, params, ll, customers, converged): (&str, Vec<(&str, f64)>, f64, f64, bool) = match args.model {
        Model::Bgnbd | Model::Pareto | Model::Mbgnbd => {
            let (s, _) = load_summary(&args.source, g)?;
            let d = s.compress();
            let (name, params, ll, c, conv) = match args.model {
                Model::Bgnbd => {
                    let f = BgNbd::fit(&d, &opts)?;
                    ("bgnbd", f.model.params(), f.log_likelihood, f.customers, f.converged)
                }
                Model::Pareto => {
                    let f = ParetoNbd::fit(&d, &opts)?;
                    ("pareto", f.model.params(), f.log_likelihood, f.customers, f.converged)
                }
                _ => {
                    let f = MbgNbd::fit(&d, &opts)?;
                    ("mbgnbd", f.model.params(), f.log_likelihood, f.customers, f.converged)
                }
            };
            extra.push(("distinct_rows", json!(d.len())));
            (name, params, ll, c, conv)
        }
        Model::Gg => {
            let (s, _) = load_summary(&args.source, g)?;
            if !s.has_monetary {
                anyhow::bail!("`holdfast fit gg` needs spend: a monetary_value column in the summary, or --orders");
            }
            let f = GammaGamma::fit(&s.spend(), &opts)?;
            extra.push(("frequency_spend_correlation", f.frequency_spend_correlation.map_or(Value::Null, finite)));
            let m = f.fit.model;
            ("gg", vec![("p", m.p), ("q", m.q), ("v", m.v)], f.fit.log_likelihood, f.fit.customers, f.fit.converged)
        }
        Model::Bgbb => {
            let path = args.source.summary.as_ref().ok_or_else(|| anyhow!("`holdfast fit bgbb` needs --summary FILE (frequency,recency,periods,weights)"))?;
            let d = BgBbData::parse_csv(&read_text(path)?).map_err(|e| csv_error(path, e))?;
            let f = BgBb::fit(&d, &opts)?;
            let m = f.model;
            ("bgbb", vec![("alpha", m.alpha), ("beta", m.beta), ("gamma", m.gamma), ("delta", m.delta)], f.log_likelihood, f.customers, f.converged)
        }
        Model::Sbg => {
            let path = args.survival.as_ref().ok_or_else(|| anyhow!("`holdfast fit sbg` needs --survival FILE"))?;
            let col = args.column.as_deref().ok_or_else(|| anyhow!("`holdfast fit sbg` needs --column NAME"))?;
            let text = read_text(path)?;
            let periods = match args.periods {
                Some(p) => p,
                None => text.lines().filter(|l| !l.trim().is_empty()).count().saturating_sub(2),
            };
            let n = holdfast_models::parse_survival_csv(&text, col, periods).map_err(|e| csv_error(path, e))?;
            let f = Sbg::fit(&n, &opts)?;
            let m = f.model;
            let k = periods as u32;
            extra.push(("retention_next_period", finite(m.retention_rate(k + 1))));
            extra.push(("projected_survival", json!((0..=k + 5).map(|t| m.survival(t)).collect::<Vec<_>>())));
            extra.push(("derl_10pct", m.derl(0.1, k).map_or(Value::Null, finite)));
            ("sbg", vec![("alpha", m.alpha), ("beta", m.beta)], f.log_likelihood, f.customers, f.converged)
        }
    };
    if args.json {
        let mut p = Map::new();
        for (n, v) in &params {
            p.insert((*n).to_string(), finite(*v));
        }
        let mut out = Map::new();
        out.insert("model".into(), json!(name));
        out.insert("params".into(), Value::Object(p));
        out.insert("log_likelihood".into(), finite(ll));
        out.insert("customers".into(), json!(customers));
        out.insert("converged".into(), json!(converged));
        for (n, v) in extra {
            out.insert(n.to_string(), v);
        }
        return crate::output::print_json(&Value::Object(out));
    }
    let mut s = String::new();
    s.push_str(&format!("Model            {name}\nCustomers        {customers}\n"));
    for (n, v) in &params {
        s.push_str(&format!("  {n:<14} {v:.4}\n"));
    }
    s.push_str(&format!("Log-likelihood   {ll:.2}\n"));
    s.push_str(&format!("Converged        {}\n", if converged { "yes" } else { "no (treat the parameters with care)" }));
    for (n, v) in extra {
        let shown = match &v {
            Value::Number(x) => x.as_f64().map_or(v.to_string(), |f| if f.fract() == 0.0 { format!("{f}") } else { format!("{f:.4}") }),
            Value::Null => "n/a".into(),
            Value::Array(a) => a.iter().map(|x| x.as_f64().map_or("n/a".into(), |f| format!("{f:.3}"))).collect::<Vec<_>>().join(" "),
            other => other.to_string(),
        };
        s.push_str(&format!("{:<16} {shown}\n", n.replace('_', " ")));
    }
    crate::output::print(&s)
}
