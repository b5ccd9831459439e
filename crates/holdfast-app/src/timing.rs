//! Wall time per phase on stderr when `HOLDFAST_TIMING` is set (for benchmarks and profiling).

/// A phase clock; silent unless `HOLDFAST_TIMING` is set.
pub struct Phases(Option<std::time::Instant>);

impl Phases {
    pub fn from_env() -> Self {
        Phases(std::env::var_os("HOLDFAST_TIMING").map(|_| std::time::Instant::now()))
    }

    /// Prints the time since the last mark, named `phase`.
    pub fn mark(&mut self, phase: &str) {
        if let Some(t) = &mut self.0 {
            eprintln!("timing: {phase:<10} {:>7.3} s", t.elapsed().as_secs_f64());
            *t = std::time::Instant::now();
        }
    }
}
