//! `holdfast customer`: everything known about one customer.

use crate::commands::analyze::{print, print_json};
use crate::store_input::Db;
use crate::Global;
use holdfast_core::money::format_minor;
use std::fmt::Write;

/// Everything the store knows about one customer: profile and consents, contacts, notes,
/// important dates, orders, subscriptions, events per kind, feedback, interactions, scores, tasks.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast --db sqlite://shop.db customer C000042\n  holdfast --db sqlite://shop.db customer C000042 --json")]
pub struct Args {
    /// The customer's id (as in the imported files).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let db = Db::open_existing(&g.db)?;
    let v = match db.rt.block_on(db.store.customer_view(db.ws.id, &args.id)) {
        Err(holdfast_store::Error::NotFound { .. }) => anyhow::bail!("no customer {:?} in {}", args.id, db.store.url()),
        r => r?,
    };
    if args.json {
        return print_json(&v);
    }
    let cal = db.calendar()?;
    let d = |t: i64| cal.date(t).to_string();
    let c = &v.customer;
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", c.name.as_deref().unwrap_or(&c.external_id), c.kind.as_str());
    let _ = writeln!(s, "  id {}  email {}  phone {}  owner {}", c.external_id, c.email.as_deref().unwrap_or("–"), c.phone.as_deref().unwrap_or("–"), c.owner.as_deref().unwrap_or("–"));
    if !c.tags.is_empty() {
        let _ = writeln!(s, "  tags: {}", c.tags.join(", "));
    }
    for k in &c.consents {
        let _ = writeln!(s, "  {}: consent {}, unsubscribed {}", k.channel, k.consented_at.map(d).unwrap_or("–".into()), k.unsubscribed_at.map(d).unwrap_or("–".into()));
    }
    if let Some(sc) = &v.score {
        let _ = writeln!(
            s,
            "\nScore (as of {}): segment {}, P(alive) {}, CLV {}, flags {}",
            d(sc.computed_at),
            sc.segment.as_deref().unwrap_or("–"),
            sc.p_alive.map(|p| format!("{:.2}", p)).unwrap_or("–".into()),
            sc.clv.map(|x| format_minor(x, db.ws.currency)).unwrap_or("–".into()),
            sc.flags.as_array().map(|a| a.iter().filter_map(|f| f.get("kind").and_then(|k| k.as_str()).map(str::to_owned)).collect::<Vec<_>>().join(", ")).filter(|x| !x.is_empty()).unwrap_or("none".into())
        );
    }
    section(&mut s, "Contacts", v.contacts.iter().map(|k| format!("{} {} {}", k.name, k.role.as_deref().unwrap_or(""), k.email.as_deref().unwrap_or(""))));
    section(&mut s, "Notes", v.notes.iter().map(|n| {
        let mut x = format!("{} {}", d(n.created_at), n.body);
        for (label, val) in [("pain points", &n.pain_points), ("goals", &n.goals), ("channel", &n.preferred_channel), ("time", &n.preferred_time), ("style", &n.communication_style)] {
            if let Some(val) = val {
                let _ = write!(x, "; {label}: {val}");
            }
        }
        x
    }));
    section(&mut s, "Important dates", v.important_dates.iter().map(|i| format!("{} {}{} {}", i.date, i.kind.as_str(), if i.yearly { " (yearly)" } else { "" }, i.label.as_deref().unwrap_or(""))));
    let total: i64 = v.orders.iter().filter(|o| o.is_counted()).map(|o| o.amount).sum();
    let counted = v.orders.iter().filter(|o| o.is_counted()).count();
    let _ = writeln!(s, "\nOrders: {counted} counted, {} in total", format_minor(total, v.orders.first().map(|o| o.currency).unwrap_or(db.ws.currency)));
    for o in v.orders.iter().rev().take(20) {
        let items: Vec<String> = o.lines.iter().map(|l| format!("{}×{}", l.sku, l.quantity)).collect();
        let _ = writeln!(s, "  {} {:>12} {} {:<9} {}", d(o.ordered_at), format_minor(o.amount, o.currency), o.currency, o.status, items.join(", "));
    }
    if v.orders.len() > 20 {
        let _ = writeln!(s, "  … {} older orders (see --json)", v.orders.len() - 20);
    }
    section(&mut s, "Subscriptions", v.subscriptions.iter().map(|x| format!("{} {} {}/month from {} to {}{}", x.plan, format_minor(x.mrr, x.currency), x.currency, d(x.started_at), x.ended_at.map(d).unwrap_or("now".into()), x.cancel_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())));
    section(&mut s, "Events", v.events.iter().map(|e| format!("{}: {} (last {})", e.kind, e.count, d(e.last_at))));
    section(&mut s, "Feedback", v.feedback.iter().map(|f| format!("{} score {} {} {}", d(f.responded_at), f.score.map(|x| x.to_string()).unwrap_or("–".into()), f.touchpoint.as_deref().unwrap_or(""), f.comment.as_deref().unwrap_or(""))));
    section(&mut s, "Interactions", v.interactions.iter().map(|i| format!("{} {} with {} by {}: {}", d(i.occurred_at), i.kind, i.with_whom.as_deref().unwrap_or("–"), i.by_whom.as_deref().unwrap_or("–"), i.summary.as_deref().unwrap_or(""))));
    section(&mut s, "Tasks", v.tasks.iter().map(|t| format!("#{} {} [{}] {} → {}", t.id, t.kind, t.state.as_str(), t.reason, t.suggested_step)));
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
