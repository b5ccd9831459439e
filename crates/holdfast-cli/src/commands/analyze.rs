//! `holdfast analyze`: the full retention report of an orders file or the store, in one command.

use crate::args::{parse_period, When};
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use anyhow::Context;
use holdfast_app::{AnalyzeRequest, Sections};
use holdfast_core::Granularity;
use holdfast_report::render_in;
use std::path::PathBuf;

/// The full retention report of an orders file: movement, retention and churn, cohorts, repeat
/// purchases, customer value. Terminal tables by default, `--json` for one JSON document,
/// `--out report.html` for a self-contained HTML report with charts.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast analyze orders.csv --out report.html\n  holdfast --lang ru analyze orders.csv --out otchet.html\n  holdfast analyze orders.csv --period quarter --window 180 --as-of 2024-07-01 --json"
)]
pub struct Args {
    /// Orders file (CSV: customer, date, amount; optional order_id, status, …). Omitted: the
    /// orders in the store given by --db.
    #[arg(value_name = "ORDERS")]
    pub orders: Option<PathBuf>,
    /// Customers file: accepted for scripts written for it, not used by this report (hidden).
    #[arg(hide = true, long, value_name = "FILE")]
    pub customers: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Inactivity window W in days: a customer is active while the last order is at most this old.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub window: u32,
    /// Reporting period: month, quarter or year (cohorts use it too).
    #[arg(long, default_value = "month", value_parser = parse_period)]
    pub period: Granularity,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Which parts of the report to compute, comma-separated: retention (movement, rates,
    /// cohorts, repeat purchases, historical value, the RFM grid: always included), segments (RFM
    /// segments, tiers, the top of the at-risk list, service chains), prediction (P(alive),
    /// expected purchases and CLV from BG/NBD and Gamma-Gamma, with a holdout check), risk (the
    /// learned churn risk by segment, with segments; `holdfast risk` for each customer), all.
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = parse_sections)]
    pub sections: Sections,
}

fn parse_sections(s: &str) -> Result<Sections, String> {
    Sections::parse(s)
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    if args.window == 0 {
        anyhow::bail!("--window must be at least 1 day");
    }
    let s = Session::new(g)?;
    let source = s.source(args.orders.as_deref(), &args.input)?;
    let cal = source.calendar(args.when.tz.as_deref()).map_err(|e| e.context("--tz"))?;
    if args.customers.is_some() && !g.quiet {
        eprintln!("note: --customers is accepted but not used by this report yet");
    }
    let req = AnalyzeRequest { as_of: args.when.as_of.clone(), window_days: args.window, granularity: args.period, sections: args.sections };
    let bar = s.bar();
    let (report, notes) = s.run(holdfast_app::analyze_report(&source, &cal, &req, &bar))?;
    s.say_read_notes(&source.name(), &notes);
    if let Some(out) = &args.out {
        std::fs::write(out, render_in(&report, g.lang())).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        print_json(&report)?;
    } else {
        let l = g.lang();
        print(&report.to_terminal_in(l))?;
        if let Some(out) = &args.out {
            print(&format!("\n{} {}\n", l.t("Report written to", "Отчёт записан в"), out.display()))?;
        }
    }
    Ok(())
}
