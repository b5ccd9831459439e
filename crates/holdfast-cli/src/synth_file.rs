//! Writing a synthetic orders file with a progress bar, for `generate` and `demo`.

use anyhow::Context;
use holdfast_synth::{Config, Progress, Truth};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

/// Generates `cfg` into `path` (or stdout for `-`), with a progress bar on stderr once it takes
/// more than a second (unless `quiet`).
/// `None` when writing to standard output stopped early because the reader closed the pipe.
pub fn write_file(cfg: &Config, path: &std::path::Path, quiet: bool) -> anyhow::Result<Option<Truth>> {
    let started = Instant::now();
    let bar = ProgressBar::with_draw_target(Some(cfg.customers as u64), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {percent:>3}% {elapsed}").unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
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
        let t = holdfast_synth::write_csv(cfg, &mut w, &mut on_progress).with_context(|| format!("writing {}", path.display()))?;
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
