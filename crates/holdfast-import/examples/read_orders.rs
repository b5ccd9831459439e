//! Reads an orders file and prints what was read: `cargo run --release -p holdfast-import
//! --example read_orders -- FILE`.

use holdfast_import::{read_orders, ImportOptions};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: read_orders FILE");
        std::process::exit(2);
    };
    let t = Instant::now();
    match read_orders(path.as_ref(), &ImportOptions::default(), &|_, _| {}) {
        Ok(f) => println!(
            "{} rows, {} orders of {} customers, {} excluded, {} skipped, {} {}, delimiter {:?}: {:.2} s",
            f.rows,
            f.log.n_orders(),
            f.log.n_customers(),
            f.excluded_by_status,
            f.skipped,
            f.encoding,
            f.currency,
            f.delimiter as char,
            t.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
