//! The demo workspace: a generated orders file turned into a store a new user can click through —
//! customers with owners and consents, orders, events, survey answers, notes, the scoring
//! snapshot and the action queue, and a demo login.
//!
//! Everything but the orders is derived from them deterministically (a hash of the customer id and
//! the seed), so the same seed gives the same workspace.

use crate::accounts;
use crate::error::Result;
use crate::orders::ReadOptions;
use crate::progress::Progress;
use crate::queue::{at_risk, AtRiskOptions};
use crate::records::import_records;
use crate::score::score_workspace;
use crate::workspace::App;
use holdfast_core::Instant;
use holdfast_store::{Consent, CustomerKind, CustomerRecord, Entity, EventRecord, FeedbackRecord, Note, Record, Role};
use std::path::Path;

/// The demo's sign-in.
pub const DEMO_EMAIL: &str = "demo@holdfast.local";
pub const DEMO_PASSWORD: &str = "holdfast-demo";

/// The people who own the demo's customers.
const OWNERS: [&str; 3] = ["anna@holdfast.local", "oleg@holdfast.local", "maria@holdfast.local"];

/// What the demo put into the store.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DemoStore {
    pub customers: u64,
    pub orders: u64,
    pub events: u64,
    pub feedback: u64,
    pub notes: u64,
    pub tasks: usize,
}

/// 64-bit FNV-1a of the customer id and the seed: the demo's only source of chance.
fn draw(id: &str, seed: u64, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt;
    for b in id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// Imports `orders` into `app`'s workspace and derives the rest of a workspace from them; adds the
/// demo login (owner) and the three owners (managers), all with [`DEMO_PASSWORD`].
pub async fn build_demo_store(app: &App, orders: &Path, seed: u64, now: Instant, progress: &dyn Progress) -> Result<DemoStore> {
    let imported = crate::import::import_file(app, Entity::Orders, orders, &ReadOptions::default(), progress).await?;
    let stored = app.store.orders(app.ws.id, None).await?;
    // Each customer's first and last order, in the order the store holds them.
    let mut spans: Vec<(String, Instant, Instant)> = Vec::new();
    for o in &stored {
        match spans.last_mut() {
            Some((c, first, last)) if *c == o.customer => {
                *first = (*first).min(o.ordered_at);
                *last = (*last).max(o.ordered_at);
            }
            _ => spans.push((o.customer.clone(), o.ordered_at, o.ordered_at)),
        }
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0));
    spans.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 = a.1.min(b.1);
            a.2 = a.2.max(b.2);
            true
        } else {
            false
        }
    });
    let (mut customers, mut events, mut feedback, mut notes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, first, last) in &spans {
        let r = draw(id, seed, 1);
        let company = r % 5 == 0;
        let n = id.trim_start_matches(|c: char| !c.is_ascii_digit());
        customers.push(Record::Customer(CustomerRecord {
            external_id: id.clone(),
            kind: if company { CustomerKind::Company } else { CustomerKind::Person },
            name: Some(if company { format!("Company {n}") } else { format!("Customer {n}") }),
            email: Some(format!("{}@example.com", id.to_lowercase())),
            phone: None,
            owner: Some(OWNERS[(r % 3) as usize].to_owned()),
            tags: if r % 7 == 0 { vec!["wholesale".into()] } else { vec![] },
            created_at: Some(*first),
            consents: vec![Consent {
                channel: "email".into(),
                granted: r % 10 != 0,
                consented_at: Some(*first),
                unsubscribed_at: (r % 10 == 0).then_some(*last),
            }],
            birthday: None,
        }));
        // A login a few days before the last order, and support tickets for some.
        events.push(Record::Event(EventRecord {
            external_id: format!("demo-login-{id}"),
            customer: id.clone(),
            kind: "login".into(),
            occurred_at: last - 86_400 * (1 + (r >> 8) as i64 % 5),
            properties: serde_json::json!({}),
        }));
        if (r >> 12) % 6 == 0 {
            events.push(Record::Event(EventRecord {
                external_id: format!("demo-ticket-{id}"),
                customer: id.clone(),
                kind: "support_ticket".into(),
                occurred_at: last + 86_400 * 3,
                properties: serde_json::json!({"topic": "delivery"}),
            }));
        }
        if (r >> 16) % 4 == 0 {
            let score = ((r >> 20) % 11) as u8;
            feedback.push(Record::Feedback(FeedbackRecord {
                external_id: format!("demo-nps-{id}"),
                customer: id.clone(),
                responded_at: last + 86_400 * 7,
                score: Some(score),
                survey: Some("nps".into()),
                comment: (score <= 6).then(|| "Delivery took too long".to_owned()),
                touchpoint: Some("after order".into()),
            }));
        }
        if (r >> 24) % 9 == 0 {
            notes.push(Record::Note(Note {
                external_id: format!("demo-note-{id}"),
                customer: id.clone(),
                body: "Prefers short summaries, not detailed reports.".into(),
                preferred_channel: Some("telegram".into()),
                preferred_time: Some("mornings".into()),
                author: Some(OWNERS[(r % 3) as usize].to_owned()),
                created_at: Some(*first + 86_400),
                ..Note::default()
            }));
        }
    }
    let mut counts = DemoStore { customers: 0, orders: imported.rows, events: 0, feedback: 0, notes: 0, tasks: 0 };
    for (entity, recs, slot) in [(Entity::Customers, &customers, 0), (Entity::Events, &events, 1), (Entity::Feedback, &feedback, 2), (Entity::Notes, &notes, 3)]
    {
        for chunk in recs.chunks(50_000) {
            progress.update(entity.name(), 0, 0);
            let n = import_records(app, entity, "demo", chunk).await?.rows;
            match slot {
                0 => counts.customers += n,
                1 => counts.events += n,
                2 => counts.feedback += n,
                _ => counts.notes += n,
            }
        }
    }
    score_workspace(app, None, progress).await?;
    let cal = app.calendar()?;
    let queue = at_risk(&crate::orders::Source::Store(app.clone()), &cal, &AtRiskOptions::default(), progress).await?;
    counts.tasks = queue.total;
    accounts::add_user(app, DEMO_EMAIL, Some("Demo"), DEMO_PASSWORD, Role::Owner, now).await?;
    for o in OWNERS {
        accounts::add_user(app, o, None, DEMO_PASSWORD, Role::Manager, now).await?;
    }
    progress.finish();
    Ok(counts)
}
