//! Progress bars on stderr for long work, shown after about a second unless `--quiet`.

use holdfast_app::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A progress bar that appears only when the work takes more than a second.
pub struct Bar {
    quiet: bool,
    started: Instant,
    bar: Mutex<Option<(&'static str, ProgressBar)>>,
}

impl Bar {
    pub fn new(quiet: bool) -> Bar {
        Bar { quiet, started: Instant::now(), bar: Mutex::new(None) }
    }

    fn make(what: &'static str, total: u64) -> ProgressBar {
        if total == 0 {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(&format!("{{spinner}} {what} {{elapsed}}")) {
                pb.set_style(style);
            }
            pb.enable_steady_tick(Duration::from_millis(120));
            return pb;
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        // Files are read in bytes; everything else counts records.
        let counts = if what.starts_with("reading") { "{bytes}/{total_bytes}" } else { "{pos}/{len}" };
        if let Ok(style) = ProgressStyle::with_template(&format!("{what} {counts} [{{bar:30}}] {{eta}}")) {
            pb.set_style(style);
        }
        pb
    }
}

impl Progress for Bar {
    fn update(&self, what: &'static str, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        // A spinner starts at once (its work gives no news until it ends); a bar after a second.
        if total > 0 && slot.is_none() && self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        match slot.as_ref() {
            Some((w, _)) if *w == what => {}
            _ => {
                if let Some((_, old)) = slot.take() {
                    old.finish_and_clear();
                }
                *slot = Some((what, Bar::make(what, total)));
            }
        }
        if let Some((_, pb)) = slot.as_ref() {
            if total > 0 {
                pb.set_length(total);
                pb.set_position(done);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some((_, pb)) = slot.take() {
                pb.finish_and_clear();
            }
        }
    }
}
