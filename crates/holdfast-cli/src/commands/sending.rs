//! `holdfast sending`: the engine's sending settings — quiet hours, the from-address, whether
//! webhooks may go to private addresses — and a customer's own time zone.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_app::sending::{self, SendingChange, SendingSettings};

/// Sending settings: quiet hours (nothing but transactional messages goes out then, in each
/// customer's local time), the from-address of e-mail (overrides HOLDFAST_SMTP_FROM), whether
/// webhooks may go to private addresses, and a customer's own time zone.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db sending show\n  holdfast --db sqlite://shop.db sending set --quiet-hours 21:00-09:00 --from \"Shop <news@shop.example>\"\n  holdfast --db sqlite://shop.db sending set --quiet-hours none --allow-private-webhooks true\n  holdfast --db sqlite://shop.db sending zone C-1042 Europe/Berlin\n  holdfast --db sqlite://shop.db sending zone C-1042 none\n  holdfast --db sqlite://shop.db sending window C-1042 09:00-12:00"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// The settings in force.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Changes the settings given (the others are kept).
    Set {
        /// Quiet hours in the customer's local time, HH:MM-HH:MM (e.g. 21:00-09:00), or none.
        #[arg(long, value_name = "HH:MM-HH:MM|none")]
        quiet_hours: Option<String>,
        /// The from-address: news@shop.example or "Shop <news@shop.example>"; none for the
        /// server's HOLDFAST_SMTP_FROM.
        #[arg(long, value_name = "ADDR")]
        from: Option<String>,
        /// Whether webhooks may go to loopback and private-network addresses: true or false.
        #[arg(long, value_name = "true|false")]
        allow_private_webhooks: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Sets a customer's own time zone (IANA name, e.g. Europe/Berlin), or none for the
    /// workspace's: quiet hours and the contact budget's days follow it.
    Zone {
        /// The customer's id.
        customer: String,
        /// An IANA time zone, or none.
        zone: String,
    },
    /// Sets a customer's preferred sending hours in their local time (e.g. 09:00-12:00 for
    /// "works mornings"), or none: messages wait until the window opens.
    Window {
        /// The customer's id.
        customer: String,
        /// HH:MM-HH:MM, or none.
        window: String,
    },
}

fn text(s: &SendingSettings) -> String {
    format!(
        "quiet hours: {}\nfrom: {}\nprivate webhooks: {}\n",
        s.quiet_hours,
        s.from.as_deref().unwrap_or("(HOLDFAST_SMTP_FROM of the server)"),
        if s.allow_private_webhooks { "allowed" } else { "refused" }
    )
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let now = chrono::Utc::now().timestamp();
    match args.action {
        Action::Show { json } => {
            let st = s.run(sending::sending_settings(&app))?;
            if json {
                return print_json(&st);
            }
            print(&text(&st))
        }
        Action::Set { quiet_hours, from, allow_private_webhooks, json } => {
            let allow = match allow_private_webhooks {
                Some(v) => Some(sending::parse_bool("allow_private_webhooks", &v).map_err(|e| e.context("--allow-private-webhooks"))?),
                None => None,
            };
            if quiet_hours.is_none() && from.is_none() && allow.is_none() {
                return Err(holdfast_app::Error::user("nothing to set: give --quiet-hours, --from or --allow-private-webhooks").into());
            }
            let change = SendingChange { quiet_hours, from, allow_private_webhooks: allow };
            let st = s.run(async {
                sending::change_sending(&app, &change, "cli", now).await.map_err(|e| match e.field.as_deref() {
                    Some("quiet_hours") => e.context("--quiet-hours"),
                    Some("from") => e.context("--from"),
                    _ => e,
                })
            })?;
            if json {
                return print_json(&st);
            }
            print(&text(&st))
        }
        Action::Window { customer, window } => {
            let w = s.run(sending::set_customer_window(&app, &customer, &window, "cli", now))?;
            print(&format!("customer {customer}: sending window {w}\n"))
        }
        Action::Zone { customer, zone } => {
            let z = s.run(sending::set_customer_zone(&app, &customer, &zone, "cli", now))?;
            print(&format!("customer {customer}: time zone {z}{}\n", if zone.trim().eq_ignore_ascii_case("none") { " (the workspace's)" } else { "" }))
        }
    }
}
