//! `holdfast suppress`: the addresses never e-mailed — add one, list them, remove one.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_app::sending;
use holdfast_report::Table;

/// The suppression list: addresses the engine never e-mails, checked at the moment of sending.
/// Hard bounces and complaints are added by the engine; add or remove others by hand.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db suppress add anna@example.com\n  holdfast --db sqlite://shop.db suppress add anna@example.com --reason complaint\n  holdfast --db sqlite://shop.db suppress list --json\n  holdfast --db sqlite://shop.db suppress remove anna@example.com"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Never e-mails this address again (an address already on the list keeps its reason).
    Add {
        email: String,
        /// manual, hard_bounce or complaint.
        #[arg(long, default_value = "manual", value_name = "REASON")]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// The suppressed addresses.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Takes an address off the list: it may be e-mailed again.
    Remove { email: String },
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let now = chrono::Utc::now().timestamp();
    match args.action {
        Action::Add { email, reason, json } => {
            let r = s.run(async {
                sending::suppress(&app, &email, Some(&reason), "cli", now).await.map_err(|e| {
                    if e.field.as_deref() == Some("reason") {
                        e.context("--reason")
                    } else {
                        e
                    }
                })
            })?;
            if json {
                return print_json(&r);
            }
            print(&if r.added {
                format!("{} is suppressed ({})\n", r.suppression.email, r.suppression.reason)
            } else {
                format!("{} was already suppressed ({})\n", r.suppression.email, r.suppression.reason)
            })
        }
        Action::List { json } => {
            let all = s.run(sending::suppressions(&app))?;
            if json {
                return print_json(&serde_json::json!({ "suppressions": all }));
            }
            let cal = app.calendar()?;
            let mut t = Table::new(&["E-mail", "Reason", "Since"]);
            for x in &all {
                t.row(vec![x.email.clone(), x.reason.clone(), cal.date(x.created_at).to_string()]);
            }
            print(&format!(
                "{} suppressed address{}\n{}",
                all.len(),
                if all.len() == 1 { "" } else { "es" },
                if all.is_empty() { String::new() } else { t.to_text() }
            ))
        }
        Action::Remove { email } => {
            s.run(sending::unsuppress(&app, &email, "cli", now))?;
            print(&format!("{} is no longer suppressed\n", email.trim()))
        }
    }
}
