//! `holdfast generate`: writes a realistic synthetic orders file (see `holdfast-synth`).

use crate::Global;
use anyhow::Context;
use chrono::NaiveDate;
use holdfast_synth::{Chain, Config, Progress, Truth};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Writes a realistic synthetic orders file, deterministic by seed.
///
/// Customers arrive over the span, buy at their own rates with seasonality, drop out BG/NBD-style,
/// spend at their own level; about 2% of orders are refunded or cancelled; service chains and
/// replenishment rhythms are planted. With the default 36 months, N customers give about 10 × N
/// orders.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast generate --customers 500000 --seed 1 --out orders.csv\n  holdfast generate --customers 5000 --seed 2 --out small.csv --chain landing-page:analytics:0.4:60")]
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
            cfg.chains = self
                .chains
                .iter()
                .filter(|s| !s.eq_ignore_ascii_case("none"))
                .map(|s| s.parse::<Chain>())
                .collect::<Result<_, _>>()?;
        }
        Ok(cfg)
    }
}

/// Generates `cfg` into `path` (or stdout for `-`), with a progress bar on stderr once it takes
/// more than a second (unless `quiet`).
/// `None` when writing to standard output stopped early because the reader closed the pipe.
pub fn write_file(cfg: &Config, path: &std::path::Path, quiet: bool) -> anyhow::Result<Option<Truth>> {
    let started = Instant::now();
    let bar = ProgressBar::with_draw_target(Some(cfg.customers as u64), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut shown = false;
    // Phase boundaries (simulating → sorting → writing), printed with HOLDFAST_SYNTH_TIMING set.
    let mut sorting_at = None;
    let mut writing_at = None;
    let mut on_progress = |p: Progress| {
        match p {
            Progress::Sorting { .. } => sorting_at = sorting_at.or(Some(started.elapsed())),
            Progress::Writing { .. } => writing_at = writing_at.or(Some(started.elapsed())),
            Progress::Simulating { .. } => {}
        }
        if quiet {
            return;
        }
        if !shown && started.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            shown = true;
        }
        match p {
            Progress::Simulating { customers_done, customers } => {
                bar.set_message("simulating");
                bar.set_length(customers);
                bar.set_position(customers_done);
            }
            Progress::Sorting { .. } => bar.set_message("sorting"),
            Progress::Writing { rows_done, rows } => {
                bar.set_message("writing");
                bar.set_length(rows);
                bar.set_position(rows_done);
            }
        }
    };
    let timing = std::env::var_os("HOLDFAST_SYNTH_TIMING").is_some();
    let truth = if path.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
        let written = holdfast_synth::write_csv(cfg, &mut w, &mut on_progress).and_then(|t| Ok(w.flush().map(|_| t)?));
        match written {
            Ok(t) => t,
            // The reader stopped early (`| head`): not an error of ours.
            Err(holdfast_synth::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    } else {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(8 << 20, f);
        let t = holdfast_synth::write_csv(cfg, &mut w, &mut on_progress)
            .with_context(|| format!("writing {}", path.display()))?;
        w.flush().with_context(|| format!("writing {}", path.display()))?;
        t
    };
    let truth = Some(truth);
    bar.finish_and_clear();
    if timing {
        let total = started.elapsed().as_secs_f64();
        let s = sorting_at.map(|d| d.as_secs_f64()).unwrap_or(total);
        let w = writing_at.map(|d| d.as_secs_f64()).unwrap_or(total);
        eprintln!("generate: simulate {s:.2} s, sort {:.2} s, format+write {:.2} s, total {total:.2} s", w - s, total - w);
    }
    Ok(truth)
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let cfg = args.config()?;
    let Some(truth) = write_file(&cfg, &args.out, g.quiet)? else {
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
