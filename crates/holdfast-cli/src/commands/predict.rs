//! `holdfast predict`: per-customer predictions from an RFM summary file — probability alive,
//! expected purchases over the horizon, expected average order value (Gamma-Gamma) and CLV.
//!
//! Parsing and presentation only; fitting and formulas live in `holdfast-models`.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use holdfast_models::{bgnbd, compress, gamma_gamma, pareto_nbd, RfmRow};

use crate::Global;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Bgnbd,
    Pareto,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
}

/// Predict, per customer, P(alive), expected purchases, expected order value and CLV.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  holdfast predict --summary cdnow_summary.csv --unit week --horizon 12 --discount 0.01 --csv

The summary has columns [customer_id,]frequency,recency,T[,monetary_value] (or x,t_x,T[,m]).
CLV sums the expected purchases of each month of the horizon times the expected order value,
discounted monthly; without monetary values expected_aov and clv are empty.")]
pub struct Args {
    /// RFM summary CSV.
    #[arg(long)]
    pub summary: PathBuf,
    /// Time unit of recency and T in the summary.
    #[arg(long, value_enum, default_value = "week")]
    pub unit: Unit,
    /// Purchase model.
    #[arg(long, value_enum, default_value = "bgnbd")]
    pub model: Model,
    /// Horizon in months.
    #[arg(long, default_value_t = 12)]
    pub horizon: u32,
    /// Monthly discount rate.
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
}

struct Customer {
    id: String,
    x: f64,
    t_x: f64,
    t: f64,
    m: Option<f64>,
}

fn read_summary(path: &std::path::Path) -> anyhow::Result<Vec<Customer>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or_else(|| anyhow!("{}: the file is empty", path.display()))?;
    let header: Vec<&str> = head.split(',').map(|h| h.trim().trim_matches('"')).collect();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(h));
    let need = |names: &[&str]| {
        col(names).ok_or_else(|| anyhow!("{}: no column {}", path.display(), names.join(" or ")))
    };
    let (cx, ctx, ct) = (need(&["frequency", "x"])?, need(&["recency", "t_x"])?, need(&["T"])?);
    let (cid, cm) = (col(&["customer_id", "id"]), col(&["monetary_value", "m"]));
    let mut out = Vec::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split(',').map(|v| v.trim().trim_matches('"')).collect();
        if f.len() != header.len() {
            bail!("{}:{}: expected {} fields, found {}", path.display(), i + 1, header.len(), f.len());
        }
        let num = |j: usize| -> anyhow::Result<f64> {
            f[j].parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                anyhow!("{}:{}:{}: cannot read {:?} as a number (column {})", path.display(), i + 1, j + 1, f[j], header[j])
            })
        };
        out.push(Customer {
            id: cid.map_or_else(|| (out.len() + 1).to_string(), |c| f[c].to_string()),
            x: num(cx)?,
            t_x: num(ctx)?,
            t: num(ct)?,
            m: cm.map(num).transpose()?,
        });
    }
    Ok(out)
}

#[derive(serde::Serialize)]
struct Row {
    customer_id: String,
    frequency: f64,
    recency: f64,
    #[serde(rename = "T")]
    t: f64,
    p_alive: Option<f64>,
    expected_purchases: Option<f64>,
    expected_aov: Option<f64>,
    clv: Option<f64>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

pub fn run(args: Args, _g: &Global) -> anyhow::Result<()> {
    if !(args.discount >= 0.0 && args.discount.is_finite()) {
        bail!("--discount must be a non-negative rate, e.g. 0.01");
    }
    let customers = read_summary(&args.summary)?;
    let rows: Vec<RfmRow> = customers.iter().map(|c| RfmRow { x: c.x, t_x: c.t_x, t: c.t, weight: 1.0 }).collect();
    let rows = compress(&rows);
    // units per month: 365.25/12 days, or that over 7 weeks
    let per_month = match args.unit {
        Unit::Day => 365.25 / 12.0,
        Unit::Week => 365.25 / 12.0 / 7.0,
    };
    type Cum = Box<dyn Fn(f64, &Customer) -> Option<f64>>;
    type Alive = Box<dyn Fn(&Customer) -> f64>;
    let (cum, pa): (Cum, Alive) = match args.model {
        Model::Bgnbd => {
            let p = bgnbd::Params::from_fit(&bgnbd::fit(&rows)?).ok_or_else(|| anyhow!("internal: parameters"))?;
            (
                Box::new(move |h, c| p.conditional_expected_purchases(h, c.x, c.t_x, c.t)),
                Box::new(move |c| p.p_alive(c.x, c.t_x, c.t)),
            )
        }
        Model::Pareto => {
            let p = pareto_nbd::Params::from_fit(&pareto_nbd::fit(&rows)?)
                .ok_or_else(|| anyhow!("internal: parameters"))?;
            (
                Box::new(move |h, c| Some(p.conditional_expected_purchases(h, c.x, c.t_x, c.t))),
                Box::new(move |c| p.p_alive(c.x, c.t_x, c.t)),
            )
        }
    };
    let spend: Vec<gamma_gamma::SpendRow> = customers
        .iter()
        .filter_map(|c| c.m.map(|m| gamma_gamma::SpendRow { x: c.x, m, weight: 1.0 }))
        .collect();
    let gg = if spend.iter().any(|s| s.x > 0.0 && s.m > 0.0) {
        gamma_gamma::Params::from_fit(&gamma_gamma::fit(&spend)?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(customers.len());
    for c in &customers {
        let horizon = args.horizon as f64 * per_month;
        let expected = cum(horizon, c).and_then(finite);
        let aov = match (gg, c.m) {
            // Gamma-Gamma conditional expectation; customers without repeats get the population mean
            (Some(g), Some(m)) if c.x > 0.0 => g.expected_aov(c.x, m),
            (Some(g), _) => g.expected_aov(0.0, 0.0),
            _ => None,
        }
        .and_then(finite);
        let clv = aov.and_then(|aov| {
            let mut total = 0.0;
            let mut prev = 0.0;
            for k in 1..=args.horizon {
                let e = cum(k as f64 * per_month, c)?;
                total += (e - prev) * aov / (1.0 + args.discount).powi(k as i32);
                prev = e;
            }
            finite(total)
        });
        out.push(Row {
            customer_id: c.id.clone(),
            frequency: c.x,
            recency: c.t_x,
            t: c.t,
            p_alive: finite(pa(c)),
            expected_purchases: expected,
            expected_aov: aov,
            clv,
        });
    }
    match render(&args, &out) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn render(args: &Args, out: &[Row]) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    if args.json {
        writeln!(w, "{}", serde_json::to_string_pretty(&out).map_err(std::io::Error::other)?)?;
    } else if args.csv {
        writeln!(w, "customer_id,frequency,recency,T,p_alive,expected_purchases,expected_aov,clv")?;
        for r in out {
            writeln!(w, 
                "{},{},{},{},{},{},{},{}",
                r.customer_id, r.frequency, r.recency, r.t,
                cell(r.p_alive), cell(r.expected_purchases), cell(r.expected_aov), cell(r.clv)
            )?;
        }
    } else {
        let mut idx: Vec<usize> = (0..out.len()).collect();
        idx.sort_by(|&a, &b| {
            out[b].clv.unwrap_or(f64::MIN).total_cmp(&out[a].clv.unwrap_or(f64::MIN)).then(a.cmp(&b))
        });
        writeln!(w, 
            "{} customers; model {:?}; horizon {} months; monthly discount {}. Top 20 by CLV (--csv for all):",
            out.len(), args.model, args.horizon, args.discount
        )?;
        writeln!(w, "{:<14} {:>5} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}", "customer", "x", "t_x", "T", "P(alive)", "E[purch.]", "E[AOV]", "CLV")?;
        let dash = |v: Option<f64>, p: usize| v.map_or("—".to_string(), |v| format!("{v:.p$}"));
        for &i in idx.iter().take(20) {
            let r = &out[i];
            writeln!(w, 
                "{:<14} {:>5} {:>8.2} {:>8.2} {:>8} {:>10} {:>10} {:>10}",
                r.customer_id, r.frequency, r.recency, r.t,
                dash(r.p_alive, 3), dash(r.expected_purchases, 2), dash(r.expected_aov, 2), dash(r.clv, 2)
            )?;
        }
    }
    w.flush()
}
