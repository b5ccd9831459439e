//! Progress of long work, reported to whichever front end runs it (a bar in the terminal, nothing
//! in a web request).

/// Receives progress of long work. `total` 0 means the size is not known (a spinner).
pub trait Progress: Sync {
    /// `what` is being done: `done` of `total` units (bytes for files).
    fn update(&self, what: &'static str, done: u64, total: u64);
    /// The current work is over; hide what was shown.
    fn finish(&self) {}
}

/// Shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn update(&self, _: &'static str, _: u64, _: u64) {}
}
