//! `holdfast webhook`: the endpoints webhook steps of campaigns post to — add one (its signing
//! secret shown once), list them, disable one.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_app::sending;
use holdfast_report::Table;

/// Webhook endpoints: a name campaign files refer to (`endpoint = "NAME"`), a URL, and a `whsec_`
/// secret every request is signed with (Standard Webhooks). Addresses that are not public are
/// refused unless `holdfast sending set --allow-private-webhooks true`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db webhook add crm https://crm.example.com/hooks/holdfast\n  holdfast --db sqlite://shop.db webhook add crm https://crm.example.com/hooks/holdfast --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n  holdfast --db sqlite://shop.db webhook list --json\n  holdfast --db sqlite://shop.db webhook disable crm"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Adds an endpoint, or replaces the URL and secret of the one of the same name. Without
    /// --secret a secret is made and printed once: give it to the receiver.
    Add {
        /// The endpoint's name (letters, digits, - _ .).
        name: String,
        /// https:// or http:// URL.
        url: String,
        /// whsec_ followed by base64 of 24 to 64 bytes.
        #[arg(long, value_name = "whsec_…")]
        secret: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The endpoints (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disables an endpoint: webhook steps naming it fail until it is added again.
    Disable { name: String },
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let now = chrono::Utc::now().timestamp();
    match args.action {
        Action::Add { name, url, secret, json } => {
            let a = s.run(sending::add_webhook(&app, &name, &url, secret.as_deref(), "cli", now))?;
            if json {
                return print_json(&a);
            }
            let mut out = format!("webhook endpoint {} → {}\n", a.endpoint.name, a.endpoint.url);
            if a.generated {
                out.push_str(&format!("signing secret (shown once; give it to the receiver):\n  {}\n", a.secret));
            }
            print(&out)
        }
        Action::List { json } => {
            let all = s.run(sending::webhooks(&app))?;
            if json {
                return print_json(&serde_json::json!({ "webhooks": all }));
            }
            let cal = app.calendar()?;
            let mut t = Table::new(&["Endpoint", "URL", "State"]);
            for w in &all {
                let state = w.disabled_at.map_or_else(|| "enabled".to_owned(), |d| format!("disabled {}", cal.date(d)));
                t.row(vec![w.name.clone(), w.url.clone(), state]);
            }
            print(&format!(
                "{} webhook endpoint{}\n{}",
                all.len(),
                if all.len() == 1 { "" } else { "s" },
                if all.is_empty() { String::new() } else { t.to_text() }
            ))
        }
        Action::Disable { name } => {
            let w = s.run(sending::disable_webhook(&app, &name, "cli", now))?;
            print(&format!("webhook endpoint {} is disabled\n", w.name))
        }
    }
}
