//! `holdfast customer`: everything known about one customer.

use crate::output::{print, print_store_json};
use crate::session::Session;
use crate::Global;
use holdfast_report::format::fmt_minor;
use holdfast_store::{Contact, ImportantDate, Interaction, Note, Record};
use std::fmt::Write;

/// Everything the store knows about one customer: profile and consents, contacts, notes,
/// important dates, orders, subscriptions, events per kind, feedback, interactions, scores, tasks.
/// With a subcommand, records a note, an important date, a contact person or an interaction.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db customer C000042\n  holdfast --db sqlite://shop.db customer C000042 --json\n  holdfast --db sqlite://shop.db customer C000042 note \"prefers short summaries\" --channel telegram --time mornings\n  holdfast --db sqlite://shop.db customer C000042 date birthday 1985-04-12\n  holdfast --db sqlite://shop.db customer C000042 contact \"Anna Petrova\" --role buyer --email anna@example.com\n  holdfast --db sqlite://shop.db customer C000042 interaction call --at 2024-03-01 --by oleg --summary \"asked about delivery\""
)]
pub struct Args {
    /// The customer's id (as in the imported files).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub add: Option<Add>,
}

/// What to record about the customer.
#[derive(clap::Subcommand, Debug)]
pub enum Add {
    /// A note: free text plus typed fields (pain points, goals, preferred channel and time, style).
    Note {
        /// The note itself.
        body: String,
        #[arg(long)]
        pain_points: Option<String>,
        #[arg(long)]
        goals: Option<String>,
        /// Preferred channel, e.g. email, phone, telegram.
        #[arg(long)]
        channel: Option<String>,
        /// Preferred time, e.g. mornings.
        #[arg(long)]
        time: Option<String>,
        /// How they like to be addressed, e.g. "short summaries, not detailed reports".
        #[arg(long)]
        style: Option<String>,
        #[arg(long)]
        author: Option<String>,
        /// When the note was taken (YYYY-MM-DD or RFC 3339; default: now).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
    },
    /// An important date, yearly unless --once: birthday, company_birthday, product_launch,
    /// seasonal_campaign, contract_renewal or other.
    Date {
        #[arg(value_parser = parse_date_kind)]
        kind: holdfast_store::DateKind,
        /// YYYY-MM-DD.
        #[arg(value_parser = parse_day)]
        on: chrono::NaiveDate,
        #[arg(long)]
        label: Option<String>,
        /// A one-off date rather than a yearly one.
        #[arg(long)]
        once: bool,
    },
    /// A contact person of a company customer.
    Contact {
        name: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
    /// A call, meeting, email, message or other interaction.
    Interaction {
        /// call, meeting, email, message or other.
        kind: String,
        /// When (YYYY-MM-DD or RFC 3339; default: now).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Who on the customer's side.
        #[arg(long = "with")]
        with_whom: Option<String>,
        /// Who on ours.
        #[arg(long = "by")]
        by_whom: Option<String>,
        #[arg(long)]
        summary: Option<String>,
    },
}

fn parse_date_kind(s: &str) -> Result<holdfast_store::DateKind, String> {
    holdfast_store::DateKind::parse(s)
        .ok_or_else(|| format!("{s:?}: expected birthday, company_birthday, product_launch, seasonal_campaign, contract_renewal or other"))
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date (expected YYYY-MM-DD)"))
}

/// Records `add` for customer `id`.
fn record(s: &Session, db: &holdfast_app::App, id: &str, add: Add) -> anyhow::Result<String> {
    let cal = db.calendar()?;
    // The moment something is recorded by a person is the one place the wall clock belongs.
    let when = |at: Option<String>| -> anyhow::Result<i64> {
        match at {
            Some(s) => holdfast_app::parse_instant(&s, &cal).map_err(|e| anyhow::anyhow!("--at: {e}")),
            None => Ok(chrono::Utc::now().timestamp()),
        }
    };
    let (customer, external_id) = (id.to_owned(), String::new());
    let (what, rec) = match add {
        Add::Note { body, pain_points, goals, channel, time, style, author, at } => {
            let created_at = Some(when(at)?);
            (
                "note",
                Record::Note(Note {
                    external_id,
                    customer,
                    body,
                    pain_points,
                    goals,
                    preferred_channel: channel,
                    preferred_time: time,
                    communication_style: style,
                    author,
                    created_at,
                }),
            )
        }
        Add::Date { kind, on, label, once } => ("important date", Record::Date(ImportantDate { external_id, customer, kind, label, date: on, yearly: !once })),
        Add::Contact { name, role, email, phone } => ("contact", Record::Contact(Contact { external_id, customer, name, role, email, phone })),
        Add::Interaction { kind, at, with_whom, by_whom, summary } => {
            let kind = holdfast_store::interaction_kind(&kind)
                .ok_or_else(|| anyhow::anyhow!("{kind:?} is not an interaction kind (expected call, meeting, email, message or other)"))?
                .to_owned();
            ("interaction", Record::Interaction(Interaction { external_id, customer, kind, occurred_at: when(at)?, with_whom, by_whom, summary }))
        }
    };
    let key = s.store(db.store.add_record(db.ws.id, rec))?;
    Ok(format!("{what} {key} recorded for customer {id}\n"))
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let db = s.open_existing()?;
    if let Some(add) = args.add {
        return match record(&s, &db, &args.id, add) {
            Err(e) if e.downcast_ref::<holdfast_app::Error>().is_some_and(|e| e.kind == holdfast_app::ErrorKind::NotFound) => {
                Err(holdfast_app::Error::not_found(format!("no customer {:?} in {}", args.id, db.store.url())).into())
            }
            r => print(&r?),
        };
    }
    let v = match s.rt.block_on(db.store.customer_view(db.ws.id, &args.id)) {
        Err(holdfast_store::Error::NotFound { .. }) => {
            return Err(holdfast_app::Error::not_found(format!("no customer {:?} in {}", args.id, db.store.url())).into())
        }
        r => r.map_err(holdfast_app::Error::from)?,
    };
    // The contact ledger: who contacted the customer, when, why, and what was held back.
    let ledger: Vec<_> = s.store(db.store.ledger(db.ws.id, Some(&args.id)))?.into_iter().map(|(_, l)| l).collect();
    if args.json {
        let mut doc = serde_json::to_value(&v)?;
        doc["ledger"] = serde_json::to_value(&ledger)?;
        return print_store_json(&doc, db.ws.currency);
    }
    let cal = db.calendar()?;
    let d = |t: i64| cal.date(t).to_string();
    let c = &v.customer;
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", c.name.as_deref().unwrap_or(&c.external_id), c.kind.as_str());
    let _ = writeln!(
        s,
        "  id {}  email {}  phone {}  owner {}",
        c.external_id,
        c.email.as_deref().unwrap_or("–"),
        c.phone.as_deref().unwrap_or("–"),
        c.owner.as_deref().unwrap_or("–")
    );
    if !c.tags.is_empty() {
        let _ = writeln!(s, "  tags: {}", c.tags.join(", "));
    }
    if let Some(b) = c.birthday {
        let _ = writeln!(s, "  {}: {b}", if c.kind == holdfast_store::CustomerKind::Company { "founded" } else { "birthday" });
    }
    for k in &c.consents {
        let _ = writeln!(
            s,
            "  {}: {} (consent {}, unsubscribed {})",
            k.channel,
            if k.granted { "may contact" } else { "do not contact" },
            k.consented_at.map(d).unwrap_or("–".into()),
            k.unsubscribed_at.map(d).unwrap_or("–".into())
        );
    }
    if let Some(sc) = &v.score {
        let _ = writeln!(
            s,
            "\nScore (as of {}): segment {}, P(alive) {}, CLV {}, flags {}",
            d(sc.computed_at),
            sc.segment.map_or("–", |s| s.key()),
            sc.p_alive.map(|p| format!("{:.2}", p)).unwrap_or("–".into()),
            sc.clv.map(|x| format!("{} {}", fmt_minor(x, db.ws.currency), db.ws.currency)).unwrap_or("–".into()),
            if sc.flags.is_empty() { "none".to_owned() } else { sc.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ") }
        );
    }
    section(&mut s, "Contacts", v.contacts.iter().map(|k| format!("{} {} {}", k.name, k.role.as_deref().unwrap_or(""), k.email.as_deref().unwrap_or(""))));
    section(
        &mut s,
        "Notes",
        v.notes.iter().map(|n| {
            let mut x = format!("{} {}", n.created_at.map(d).unwrap_or("(undated)".into()), n.body);
            for (label, val) in [
                ("pain points", &n.pain_points),
                ("goals", &n.goals),
                ("channel", &n.preferred_channel),
                ("time", &n.preferred_time),
                ("style", &n.communication_style),
            ] {
                if let Some(val) = val {
                    let _ = write!(x, "; {label}: {val}");
                }
            }
            x
        }),
    );
    section(
        &mut s,
        "Important dates",
        v.important_dates
            .iter()
            .map(|i| format!("{} {}{} {}", i.date, i.kind.as_str(), if i.yearly { " (yearly)" } else { "" }, i.label.as_deref().unwrap_or(""))),
    );
    let total: i64 = v.orders.iter().filter(|o| o.is_counted()).map(|o| o.amount).sum();
    let counted = v.orders.iter().filter(|o| o.is_counted()).count();
    let order_currency = v.orders.first().map(|o| o.currency).unwrap_or(db.ws.currency);
    let _ = writeln!(s, "\nOrders: {counted} counted, {} {order_currency} in total", fmt_minor(total, order_currency));
    for o in v.orders.iter().rev().take(20) {
        let items: Vec<String> = o.lines.iter().map(|l| format!("{}×{}", l.sku, l.quantity)).collect();
        let _ = writeln!(s, "  {} {:>12} {} {:<9} {}", d(o.ordered_at), fmt_minor(o.amount, o.currency), o.currency, o.status, items.join(", "));
    }
    if v.orders.len() > 20 {
        let _ = writeln!(s, "  … {} older orders (see --json)", v.orders.len() - 20);
    }
    section(
        &mut s,
        "Subscriptions",
        v.subscriptions.iter().map(|x| {
            format!(
                "{} {} {}/month from {} to {}{}",
                x.plan,
                fmt_minor(x.mrr, x.currency),
                x.currency,
                d(x.started_at),
                x.ended_at.map(d).unwrap_or("now".into()),
                x.cancel_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
            )
        }),
    );
    section(&mut s, "Events", v.events.iter().map(|e| format!("{}: {} (last {})", e.kind, e.count, d(e.last_at))));
    section(
        &mut s,
        "Feedback",
        v.feedback.iter().map(|f| {
            format!(
                "{} score {} {} {}",
                d(f.responded_at),
                f.score.map(|x| x.to_string()).unwrap_or("–".into()),
                f.touchpoint.as_deref().unwrap_or(""),
                f.comment.as_deref().unwrap_or("")
            )
        }),
    );
    section(
        &mut s,
        "Interactions",
        v.interactions.iter().map(|i| {
            format!(
                "{} {} with {} by {}: {}",
                d(i.occurred_at),
                i.kind,
                i.with_whom.as_deref().unwrap_or("–"),
                i.by_whom.as_deref().unwrap_or("–"),
                i.summary.as_deref().unwrap_or("")
            )
        }),
    );
    section(&mut s, "Tasks", v.tasks.iter().map(|t| format!("#{} {} [{}] {} → {}", t.id, t.kind, t.state.as_str(), t.reason, t.suggested_step)));
    section(
        &mut s,
        "Contact ledger",
        ledger.iter().map(|l| {
            format!("{} {} {} {}{}: {}", d(l.at), l.campaign, l.channel, l.outcome, l.rule.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(), l.subject)
        }),
    );
    print(&s)
}

fn section(s: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n{title}:");
    for i in items {
        let _ = writeln!(s, "  {i}");
    }
}
