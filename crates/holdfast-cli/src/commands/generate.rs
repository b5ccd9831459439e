//! `holdfast generate`: writes a realistic synthetic orders file (see `holdfast-synth`).

use crate::Global;
use chrono::NaiveDate;
use holdfast_synth::{Chain, Config};
use std::path::PathBuf;

/// Writes a realistic synthetic orders file, deterministic by seed.
///
/// Customers arrive over the span, buy at their own rates with seasonality, drop out BG/NBD-style,
/// spend at their own level; about 2% of orders are refunded or cancelled; service chains and
/// replenishment rhythms are planted. With the default 36 months, N customers give about 10 × N
/// orders.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast generate --customers 500000 --seed 1 --out orders.csv\n  holdfast generate --customers 5000 --seed 2 --out small.csv --chain landing-page:analytics:0.4:60"
)]
pub struct Args {
    /// Number of customers (about 10 orders each over 36 months).
    #[arg(long, default_value_t = 20_000)]
    pub customers: u32,
    /// Random seed: the same seed gives a byte-identical file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (`-` for standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// First day of the span (YYYY-MM-DD).
    #[arg(long, default_value = "2022-01-01")]
    pub start: NaiveDate,
    /// Length of the span in months.
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    /// A planted chain FROM:TO:SHARE:DAYS (repeatable; replaces the default chains; FROM = TO is a
    /// replenishment rhythm; `none` plants none).
    #[arg(long = "chain", value_name = "FROM:TO:SHARE:DAYS")]
    pub chains: Vec<String>,
}

impl Args {
    /// The generator configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut cfg = Config::new(self.customers, self.seed);
        cfg.start = self.start;
        cfg.months = self.months;
        if !self.chains.is_empty() {
            cfg.chains = self.chains.iter().filter(|s| !s.eq_ignore_ascii_case("none")).map(|s| s.parse::<Chain>()).collect::<Result<_, _>>()?;
        }
        Ok(cfg)
    }
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let cfg = args.config()?;
    let Some(truth) = crate::synth_file::write_file(&cfg, &args.out, g.quiet)? else {
        return Ok(());
    };
    if args.out.as_os_str() != "-" && !g.quiet {
        println!(
            "Wrote {} orders of {} customers ({} refunded, {} cancelled) to {}",
            truth.orders,
            truth.customers,
            truth.refunded,
            truth.cancelled,
            args.out.display()
        );
        for c in &truth.chains {
            let share = c.observed_share.map(|s| format!("{:.1}%", s * 100.0)).unwrap_or_else(|| "-".into());
            let kind = if c.replenishment { "replenishment" } else { "chain" };
            println!(
                "  {kind} {} -> {} (planted {:.0}% within {} days): observed {share} of {}",
                c.chain.from,
                c.chain.to,
                c.chain.share * 100.0,
                c.chain.days,
                c.eligible
            );
        }
    }
    Ok(())
}
