//! `holdfast serve`: the web dashboard and the HTTP API over the store of `--db`.

use crate::session::Session;
use crate::Global;

/// Serves the dashboard, the JSON API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`, docs at
/// `/api/v1/docs`), `/healthz`, `/readyz` and `/metrics`. Stops cleanly on Ctrl-C or SIGTERM,
/// finishing the requests in flight.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  holdfast --db sqlite://shop.db serve\n  holdfast --db postgres://postgres@127.0.0.1/shop serve --addr 0.0.0.0:8080")]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open()?;
    // The engine's loop, every minute (holdfast run).
    super::run::spawn_every_minute(&s, &app)?;
    s.run(holdfast_web::serve(app, &args.addr, holdfast_web::shutdown_signal()))
}
