//! `holdfast movement`: period movement (start, new, reactivated, lost, kept) and the rates.

use crate::args::{parse_period, When};
use crate::output::{print, print_json};
use crate::session::{Loaded, Session};
use crate::Global;
use holdfast_app::parse_month;
use holdfast_core::{movement, Granularity, MovementOptions};
use holdfast_report::movement_table;
use std::path::PathBuf;

/// Period movement: customers active at the start, new, reactivated, lost and kept per period,
/// with retention rate K/S, churn rate L/S and the simple ratio E/S.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast movement --orders orders.csv --period month --window 365 --json\n  holdfast movement --orders orders.csv --period quarter --from 2023-01 --to 2024-12"
)]
pub struct Args {
    /// Orders file (CSV). Omitted: the orders in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    /// Period: month, quarter or year.
    #[arg(long, default_value = "month", value_parser = parse_period)]
    pub period: Granularity,
    /// Inactivity window W in days.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub window: u32,
    /// First period: the one containing this month (YYYY-MM). Default: the first order's.
    #[arg(long, value_name = "YYYY-MM")]
    pub from: Option<String>,
    /// Last period: the one containing this month (YYYY-MM). Default: the one holding the as-of date.
    #[arg(long, value_name = "YYYY-MM")]
    pub to: Option<String>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    if args.window == 0 {
        anyhow::bail!("--window must be at least 1 day");
    }
    let s = Session::new(g)?;
    let Loaded { cal, log, as_of, .. } = s.load(args.orders.as_deref(), &args.input, &args.when, false)?;
    let from = args.from.as_deref().map(|s| parse_month(s, &cal)).transpose().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = args.to.as_deref().map(|s| parse_month(s, &cal)).transpose().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            anyhow::bail!("--to is before --from");
        }
    }
    let mv = movement(&log, &cal, &MovementOptions { granularity: args.period, window_days: args.window, as_of, from, to });
    if args.json {
        print_json(&mv)
    } else {
        let l = g.lang();
        let per = holdfast_report::vocab::period(l, args.period);
        print(&match l {
            holdfast_report::Lang::En => format!("Movement per {per} (inactivity window {} days)\n", args.window),
            holdfast_report::Lang::Ru => format!("Движение клиентов по периодам: {per} (окно неактивности {} дн.)\n", args.window),
        })?;
        print(&movement_table(&mv, l).to_text())?;
        for w in mv.warnings.iter().filter(|w| !w.starts_with("The last period has not ended")) {
            print(&format!("{} {}\n", l.t("Note:", "Примечание:"), holdfast_report::vocab::warning(l, w, args.window, args.period)))?;
        }
        Ok(())
    }
}
