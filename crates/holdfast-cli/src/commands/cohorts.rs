//! `holdfast cohorts`: cohort tables of customers and revenue.

use crate::args::When;
use crate::output::{print, print_json};
use crate::session::{Loaded, Session};
use crate::Global;
use holdfast_core::cohorts::{cohorts, CohortOptions, CohortTable};
use holdfast_core::Granularity;
use holdfast_report::{cohort_table, CohortMetric};
use serde::Serialize;
use std::path::PathBuf;

/// Cohort tables: customers grouped by the month (or quarter) of their first order, followed period
/// by period. `--metric customers` shows the share of each cohort ordering in each later period;
/// `--metric revenue` the cohort's revenue, per cohort customer and cumulative per customer (the LTV
/// curve). Cells of periods not over yet are marked `~`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast cohorts --orders orders.csv --period month --metric customers\n  holdfast cohorts --orders orders.csv --period quarter --metric revenue --json"
)]
pub struct Args {
    /// Orders file (CSV). Omitted: the orders in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    /// Cohort period: month or quarter.
    #[arg(long, default_value = "month", value_parser = parse_cohort_period)]
    pub period: Granularity,
    /// What the table shows: customers or revenue.
    #[arg(long, default_value = "customers", value_parser = ["customers", "revenue"])]
    pub metric: String,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn parse_cohort_period(s: &str) -> Result<Granularity, String> {
    match s.parse::<Granularity>()? {
        g @ (Granularity::Month | Granularity::Quarter) => Ok(g),
        _ => Err(format!("{s:?}: expected month or quarter")),
    }
}

#[derive(Serialize)]
struct Out<'a> {
    metric: &'a str,
    #[serde(flatten)]
    table: &'a CohortTable,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let Loaded { cal, log, as_of, .. } = s.load(args.orders.as_deref(), &args.input, &args.when, false)?;
    let table = cohorts(&log, &cal, &CohortOptions { granularity: args.period, as_of });
    if args.json {
        return print_json(&Out { metric: &args.metric, table: &table });
    }
    let l = g.lang();
    let per = holdfast_report::vocab::period(l, args.period);
    let ru = l == holdfast_report::Lang::Ru;
    let mut text = String::new();
    if args.metric == "customers" {
        text.push_str(&if ru {
            format!("Доля когорты, заказавшей через k периодов ({per}) после первого заказа (~ = период ещё не закончился)\n")
        } else {
            format!("Share of each cohort with an order k {per}s after its first (~ = {per} not over yet)\n")
        });
        text.push_str(&cohort_table(&table, CohortMetric::Customers, usize::MAX, usize::MAX, l).to_text());
    } else {
        let cur = l.currency_name(log.currency());
        for (title, m) in [
            (
                if ru {
                    format!("Выручка когорты через k периодов ({per}) после первого заказа, {cur} (~ = период ещё не закончился)")
                } else {
                    format!("Revenue of each cohort k {per}s after its first order, {cur} (~ = {per} not over yet)")
                },
                CohortMetric::Revenue,
            ),
            (format!("{}, {cur}", l.t("Revenue per cohort customer", "Выручка на клиента когорты")), CohortMetric::RevenuePerCustomer),
            (
                format!("{}, {cur}", l.t("Cumulative revenue per cohort customer (LTV curve)", "Выручка на клиента когорты нарастающим итогом (кривая LTV)")),
                CohortMetric::CumulativeRevenuePerCustomer,
            ),
        ] {
            text.push_str(&format!("{title}\n"));
            text.push_str(&cohort_table(&table, m, usize::MAX, usize::MAX, l).to_text());
            text.push('\n');
        }
    }
    print(&text)
}
