//! The engine through the real path: a store on SQLite and on PostgreSQL, a real SMTP server (the
//! channels crate's sink) and a clock the test controls.

use holdfast_channels::testing::SmtpSink;
use holdfast_engine::{Engine, Options};
use holdfast_store::engine::{BudgetRule, BudgetScope, EngineSettings};
use holdfast_store::{CustomerRecord, Entity, Record, Store, Workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

struct Db {
    url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("engine.db").display());
        Db { url, pg: None, _dir: Some(dir) }
    }

    async fn postgres() -> Db {
        let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("holdfast_engine_{}_{}", std::process::id(), chrono::Utc::now().timestamp_subsec_nanos());
        let url = holdfast_store::admin::create_database(&admin, &name).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is unreachable or refused a test database ({e}); set HOLDFAST_TEST_PG to a server where tests may create databases")
        });
        Db { url, pg: Some((admin, name)), _dir: None }
    }

    async fn drop_pg(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = holdfast_store::admin::drop_database(&admin, &name).await;
        }
    }
}

/// A wall clock for leases that the test may move.
fn wall() -> (Arc<AtomicI64>, Arc<dyn Fn() -> i64 + Send + Sync>) {
    let t = Arc::new(AtomicI64::new(1_700_000_000_000));
    let c = t.clone();
    (t, Arc::new(move || c.load(Ordering::SeqCst)))
}

fn options(sink: &SmtpSink, wall: Arc<dyn Fn() -> i64 + Send + Sync>) -> Options {
    let mut o = Options::new("test-secret-test-secret-test-secret-0123".into(), wall);
    o.smtp_url = Some(sink.url());
    o.smtp_from = Some("news@shop.example".into());
    o.public_url = "https://retention.example".into();
    o
}

async fn customers(store: &Store, ws: &Workspace, n: usize) {
    let rows = (0..n).map(|i| {
        (
            i as u64 + 2,
            Record::Customer(CustomerRecord {
                external_id: format!("C{i:05}"),
                name: Some(format!("Customer {i}")),
                email: Some(format!("c{i:05}@example.com")),
                ..Default::default()
            }),
        )
    });
    store.import(ws.id, Entity::Customers, rows).await.unwrap();
}

const T0: i64 = 1_740_823_200; // 2025-03-01T10:00:00Z

fn once_campaign(name: &str) -> String {
    format!(
        "name = \"{name}\"\ntrigger = {{ kind = \"once\", at = \"2025-03-01T10:00:00Z\" }}\naudience = {{ all = true }}\nholdout = 0.10\n\
         [[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"{name} for {{{{ customer.name }}}}\"\nbody = \"Hello {{{{ customer.first_name }}}}\"\n"
    )
}

#[test]
fn bad_campaign_files_name_file_line_and_key_and_save_nothing() {
    let cases = [
        (
            "name = \"x\"\ntrigger = { kind = \"weekly\" }\n[[steps]]\nchannel = \"email\"\nsubject = \"s\"\nbody = \"b\"\n",
            2,
            "trigger.kind",
            "unknown trigger kind",
        ),
        (
            "name = \"x\"\ntrigger = { kind = \"first_purchase\" }\n[[steps]]\nafter = \"3x\"\nchannel = \"email\"\nsubject = \"s\"\nbody = \"b\"\n",
            4,
            "steps[0].after",
            "\"3x\" is not a delay",
        ),
        (
            "name = \"x\"\ntrigger = { kind = \"first_purchase\" }\n[[steps]]\nchannel = \"email\"\nsubject = \"Hi {{ customer.nmae }}\"\nbody = \"b\"\n",
            5,
            "steps[0].subject",
            "nmae",
        ),
        (
            "name = \"x\"\ntrigger = { kind = \"first_purchase\" }\ncolour = \"red\"\n[[steps]]\nchannel = \"email\"\nsubject = \"s\"\nbody = \"b\"\n",
            3,
            "colour",
            "unknown field",
        ),
    ];
    for (text, line, key, says) in cases {
        let e = holdfast_engine::parse_campaign("bad.toml", text).unwrap_err();
        assert_eq!((e.file.as_str(), e.line, e.key.as_str()), ("bad.toml", line, key), "{e}");
        assert!(e.to_string().starts_with(&format!("bad.toml:{line}: {key}: ")), "{e}");
        assert!(e.message.contains(says), "{e}");
    }
    // Through the engine: nothing is saved.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::sqlite();
        let store = Store::open(&db.url).await.unwrap();
        let ws = store.workspace("default").await.unwrap();
        let sink = SmtpSink::start().await.unwrap();
        let e = Engine::new(store.clone(), ws.clone(), options(&sink, wall().1)).await.unwrap();
        let err = e.add_campaign("bad.toml", cases[0].0, T0).await.err().unwrap();
        assert!(err.to_string().contains("bad.toml:2: trigger.kind"), "{err}");
        assert!(store.engine_campaigns(ws.id).await.unwrap().is_empty());
        assert!(store.campaigns(ws.id).await.unwrap().is_empty());
        store.close().await.unwrap();
    });
}

/// 50 campaigns trigger on the same customers at once, sent by 8 workers of two engines (as two
/// processes would): nobody gets more than the budget, and the ledger equals what the sink got.
async fn concurrency(db: &Db, n: usize) {
    let store = Store::open(&db.url).await.unwrap();
    let ws = store.workspace("default").await.unwrap();
    customers(&store, &ws, n).await;
    store.set_engine_settings(ws.id, &EngineSettings { quiet_start: 0, quiet_end: 0, ..Default::default() }).await.unwrap();
    store.set_budget(ws.id, &BudgetScope::Workspace, BudgetRule { per_day: Some(2), per_week: Some(3), per_month: Some(4) }).await.unwrap();
    // One customer asked for one message a month.
    store.set_budget(ws.id, &BudgetScope::Customer("C00001".into()), BudgetRule { per_day: None, per_week: None, per_month: Some(1) }).await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let (_, clock) = wall();
    let a = Engine::new(store.clone(), ws.clone(), options(&sink, clock.clone())).await.unwrap();
    let mut ob = options(&sink, clock);
    ob.worker_prefix = "other".into();
    let b = Engine::new(store.clone(), ws.clone(), ob).await.unwrap();
    for k in 0..50 {
        a.add_campaign("c.toml", &once_campaign(&format!("note-{k:02}")), T0).await.unwrap();
    }
    let ev = a.evaluate(T0).await.unwrap();
    assert_eq!(ev.fired, 50 * n as u64);
    // Evaluated again (another process, the next minute): nothing is written twice.
    assert_eq!(b.evaluate(T0 + 60).await.unwrap().written, 0);
    let (ra, rb) = tokio::join!(a.send_due(T0 + 60, 4), b.send_due(T0 + 60, 4));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.lost_leases + rb.lost_leases, 0);
    let got = sink.received();
    assert_eq!(got.len() as u64, ra.sent + rb.sent);
    let ids: BTreeSet<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "a message arrived twice");
    let mut per: BTreeMap<String, u32> = BTreeMap::new();
    for m in &got {
        *per.entry(m.to[0].clone()).or_default() += 1;
    }
    for (to, k) in &per {
        let limit = if to == "c00001@example.com" { 1 } else { 2 };
        assert!(*k <= limit, "{to} got {k} messages");
    }
    // Everyone not held out of every campaign got exactly their daily budget.
    assert_eq!(per.len(), n);
    // The ledger equals what the sink received.
    let ledger = store.ledger(ws.id, None).await.unwrap();
    let sent: Vec<_> = ledger.iter().filter(|(_, l)| l.outcome == "sent").collect();
    assert_eq!(sent.len(), got.len());
    let sent_ids: BTreeSet<String> = sent.iter().map(|(_, l)| holdfast_channels::message_id(&l.key, "news@shop.example")).collect();
    assert_eq!(sent_ids, ids.iter().map(|s| s.to_string()).collect());
    let capped = ledger.iter().filter(|(_, l)| l.outcome == "capped").count();
    let held = ledger.iter().filter(|(_, l)| l.outcome == "held_out").count();
    assert_eq!(sent.len() + capped + held, 50 * n, "every message is accounted for");
    // Held-out customers are the control group of each campaign's experiment.
    let c = store.campaign(ws.id, "note-00").await.unwrap();
    assert_eq!(c.assigned(), n as u64);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_campaigns_eight_workers_sqlite() {
    concurrency(&Db::sqlite(), 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_campaigns_eight_workers_postgres() {
    let mut db = Db::postgres().await;
    concurrency(&db, 200).await;
    db.drop_pg().await;
}

/// Quiet hours hold a message until they end; an unsubscribe between the trigger and the send
/// stops it; a paused campaign waits; a failed send is retried with the same Message-ID; a lease
/// that expires (a worker that died) is claimed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_unsubscribe_pause_retry_and_leases() {
    let db = Db::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    let ws = store.workspace("default").await.unwrap();
    customers(&store, &ws, 20).await;
    store.set_customer_time_zone(ws.id, "C00003", Some("Asia/Tokyo")).await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let (clock, wallf) = wall();
    let e = Engine::new(store.clone(), ws.clone(), options(&sink, wallf)).await.unwrap();
    // Sent at 22:00 UTC: quiet hours for UTC customers; 07:00 in Tokyo, quiet too.
    let text = once_campaign("late").replace("2025-03-01T10:00:00Z", "2025-03-01T22:00:00Z").replace("holdout = 0.10", "holdout = 0");
    e.add_campaign("late.toml", &text, T0).await.unwrap();
    let night = T0 + 12 * 3600;
    let (ev, s) = e.run(night, 2, true).await.unwrap();
    assert_eq!((ev.written, s.sent, s.held), (20, 0, 20));
    assert_eq!(sink.count(), 0);
    // C00005 unsubscribes during the night.
    store.unsubscribe(ws.id, "C00005", "email", night + 60, "test").await.unwrap();
    // 02:00 in Tokyo the next day is still quiet there… 09:00 UTC: the window opens for UTC.
    let morning = T0 + 23 * 3600; // 2025-03-02T09:00Z = 18:00 in Tokyo
    e.add_campaign("late.toml", &text, T0).await.unwrap();
    store.set_engine_campaign_state(ws.id, "late", "paused", morning).await.unwrap();
    let (_, s) = e.run(morning, 2, true).await.unwrap();
    assert_eq!(s.sent, 0, "a paused campaign sends nothing");
    store.set_engine_campaign_state(ws.id, "late", "active", morning).await.unwrap();
    sink.fail_next(1, 451);
    let (_, s) = e.run(morning, 2, false).await.unwrap();
    assert_eq!((s.suppressed, s.retried), (1, 1));
    assert_eq!(sink.count(), 18);
    // The retry goes out later, with the Message-ID of the first attempt.
    let (_, s) = e.run(morning + 3600, 2, true).await.unwrap();
    assert_eq!(s.sent, 1);
    let got = sink.received();
    assert_eq!(got.len(), 19);
    assert!(got.iter().all(|m| m.to[0] != "c00005@example.com"));
    let ids: BTreeSet<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), 19);
    // A worker claims and dies: nothing is sent until its lease expires.
    e.add_campaign("again.toml", &once_campaign("again").replace("holdout = 0.10", "holdout = 0"), T0).await.unwrap();
    e.evaluate(morning + 7200).await.unwrap();
    let stops = rustc_hash::FxHashMap::default();
    let req = holdfast_store::engine::ClaimRequest {
        now: morning + 7200,
        wall_ms: clock.load(Ordering::SeqCst),
        lease_ms: 60_000,
        limit: 5,
        token: "dead",
        default_zone: "UTC",
    };
    let claimed = store.claim_messages(ws.id, &req, &stops).await.unwrap();
    assert_eq!(claimed.claimed.len(), 5);
    let s = e.send_due(morning + 7200, 2).await.unwrap();
    assert_eq!(s.sent, 14, "the dead worker's 5 stay leased");
    clock.fetch_add(61_000, Ordering::SeqCst);
    let s = e.send_due(morning + 7200, 2).await.unwrap();
    assert_eq!(s.sent, 5, "expired leases are claimed again");
    store.close().await.unwrap();
}

/// A customer's own send window holds a message until it opens, in the customer's zone: with quiet
/// hours (21:00–09:00) the most restrictive wins; a window wrapping midnight wholly inside quiet
/// hours is kept on its own; cleared, the customer gets messages any time outside quiet hours.
async fn send_windows(db: &Db) {
    let store = Store::open(&db.url).await.unwrap();
    let ws = store.workspace("default").await.unwrap();
    customers(&store, &ws, 10).await;
    let (st, wid) = (store.clone(), ws.id);
    let window = move |c: &'static str, w: Option<(u32, u32)>| {
        let st = st.clone();
        async move { st.set_customer_send_window(wid, c, w).await.unwrap() }
    };
    window("C00001", Some((6 * 60, 11 * 60))).await; // works mornings: 09:00–11:00 with quiet hours
    window("C00002", Some((14 * 60, 16 * 60))).await;
    window("C00003", Some((22 * 60, 2 * 60))).await; // nights only
    window("C00004", Some((9 * 60, 10 * 60))).await;
    store.set_customer_time_zone(ws.id, "C00004", Some("Asia/Tokyo")).await.unwrap();
    window("C00005", Some((7 * 60, 10 * 60))).await; // closed at 10:00; tomorrow quiet until 09:00
    window("C00006", Some((14 * 60, 16 * 60))).await;
    window("C00006", None).await;
    for bad in [Some((600, 600)), Some((1440, 10)), Some((10, 1500))] {
        assert!(matches!(store.set_customer_send_window(ws.id, "C00007", bad).await, Err(holdfast_store::Error::Invalid(_))), "{bad:?}");
    }
    assert!(matches!(store.set_customer_send_window(ws.id, "nobody", None).await, Err(holdfast_store::Error::NotFound { .. })));
    let sink = SmtpSink::start().await.unwrap();
    let (_, wallf) = wall();
    let e = Engine::new(store.clone(), ws.clone(), options(&sink, wallf)).await.unwrap();
    e.add_campaign("note.toml", &once_campaign("note").replace("holdout = 0.10", "holdout = 0"), T0).await.unwrap();
    let to = |from: usize| -> Vec<String> { sink.received()[from..].iter().map(|m| m.to[0].clone()).collect() };
    // 10:00 UTC: everyone but the four whose window is closed.
    let (ev, s) = e.run(T0, 2, true).await.unwrap();
    assert_eq!((ev.written, s.sent, s.held), (10, 6, 4));
    assert!(!to(0).iter().any(|t| ["c00002", "c00003", "c00004", "c00005"].iter().any(|c| t.starts_with(c))), "{:?}", to(0));
    // Each waits for its own window, to the minute.
    let steps = [
        (4 * 3600 - 60, vec![]),
        (4 * 3600, vec!["c00002@example.com"]), // 14:00
        (12 * 3600 - 60, vec![]),
        (12 * 3600, vec!["c00003@example.com"]), // 22:00, inside quiet hours: the customer's own
        (14 * 3600, vec!["c00004@example.com"]), // 09:00 in Tokyo
        (23 * 3600 - 60, vec![]),
        (23 * 3600, vec!["c00005@example.com"]), // 09:00: the window opened at 07:00, quiet hours ended at 09:00
    ];
    for (at, expected) in steps {
        let before = sink.count();
        let (_, s) = e.run(T0 + at, 2, true).await.unwrap();
        assert_eq!(to(before), expected, "at T0 + {at} s ({s:?})");
    }
    assert_eq!(store.outbox_due(ws.id, T0 + 30 * 86_400).await.unwrap(), 0);
    assert_eq!(sink.count(), 10);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_windows_sqlite() {
    send_windows(&Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_windows_postgres() {
    let mut db = Db::postgres().await;
    send_windows(&db).await;
    db.drop_pg().await;
}

/// Sixty simulated days (a run every six hours) on a generated workspace (the demo's customers, consents, NPS answers
/// and orders), with a sequence, a replenishment reminder, a win-back on the silence flag, a
/// detractor webhook and a birthday greeting, a budget of 1 a day / 2 a week / 5 a month, quiet
/// hours 21:00–09:00 in each customer's zone, and customers unsubscribing on the way. What the
/// SMTP sink and the webhook receiver got is checked from the receiving side: each message once,
/// none in quiet hours, none beyond the budget, none to an unsubscribed customer, none to a
/// campaign's control group; and it is exactly what the outbox says it sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_days_end_to_end() {
    use chrono::{Datelike, Timelike};
    use holdfast_core::Calendar;
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let orders = dir.path().join("orders.csv");
    let cfg = holdfast_synth::Config::new(300, 11);
    holdfast_synth::write_csv(&cfg, &mut std::fs::File::create(&orders).unwrap(), &mut |_| {}).unwrap();
    let app = holdfast_app::App::open(&db.url).await.unwrap();
    let end = cfg.end().unwrap();
    let cal = Calendar::default();
    let start = cal.start_of_day(end) - 60 * 86_400;
    holdfast_app::demo::build_demo_store(&app, &orders, 11, start, &holdfast_app::Quiet).await.unwrap();
    let (store, ws) = (app.store.clone(), app.ws.clone());
    holdfast_app::score_workspace(&app, Some(&cal.date(start).to_string()), &holdfast_app::Quiet).await.unwrap();
    let facts = store.engine_facts(ws.id, start, start).await.unwrap();
    // Customers in three zones; a few birthdays inside the window (one on 29 February).
    for (i, k) in facts.customers.iter().enumerate() {
        let zone = match i % 3 {
            0 => None,
            1 => Some("America/New_York"),
            _ => Some("Asia/Tokyo"),
        };
        store.set_customer_time_zone(ws.id, &k.external_id, zone).await.unwrap();
    }
    let day = |n: i64| cal.date(start + n * 86_400);
    let dates: Vec<(u64, Record)> = facts
        .customers
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, k)| {
            let d = day(5 + i as i64);
            let date = chrono::NaiveDate::from_ymd_opt(1990, d.month(), d.day()).unwrap();
            (
                i as u64 + 2,
                Record::Date(holdfast_store::ImportantDate {
                    external_id: format!("bd-{i}"),
                    customer: k.external_id.clone(),
                    kind: holdfast_store::DateKind::Birthday,
                    label: None,
                    date,
                    yearly: true,
                }),
            )
        })
        .collect();
    store.import(ws.id, Entity::Dates, dates).await.unwrap();
    store.set_budget(ws.id, &BudgetScope::Workspace, BudgetRule { per_day: Some(1), per_week: Some(2), per_month: Some(5) }).await.unwrap();
    store.set_engine_settings(ws.id, &EngineSettings { allow_private_webhooks: true, ..Default::default() }).await.unwrap();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hooks = holdfast_channels::testing::WebhookReceiver::start(secret, vec![]).await.unwrap();
    store.save_webhook_endpoint(ws.id, "crm", &hooks.url(), secret).await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let (_, clock) = wall();
    let e = Engine::new(store.clone(), ws.clone(), options(&sink, clock)).await.unwrap();
    let campaigns = [
        ("welcome", "kind = \"first_purchase\"", "[[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"[welcome] Thank you, {{ customer.first_name }}\"\nbody = \"b\"\n[[steps]]\nafter = \"3d\"\nchannel = \"email\"\nsubject = \"[welcome] How is it going?\"\nbody = \"b\"\n"),
        ("replenish", "kind = \"days_after_order\", days = 14", "[[steps]]\nchannel = \"email\"\nsubject = \"[replenish] Time for more?\"\nbody = \"b\"\n"),
        ("win-back", "kind = \"silence\"", "[[steps]]\nchannel = \"email\"\n[[steps.variants]]\nname = \"a\"\nshare = 0.5\nsubject = \"[win-back] We miss you\"\nbody = \"b\"\n[[steps.variants]]\nname = \"b\"\nshare = 0.5\nsubject = \"[win-back] Come back, {{ customer.first_name }}\"\nbody = \"b\"\n[[steps]]\nafter = \"7d\"\nchannel = \"email\"\nsubject = \"[win-back] A free consultation\"\nbody = \"b\"\n"),
        ("birthday", "kind = \"date\", date = \"birthday\"", "[[steps]]\nchannel = \"email\"\nsubject = \"[birthday] Happy birthday!\"\nbody = \"b\"\n"),
        ("detractor", "kind = \"detractor\"", "[[steps]]\nchannel = \"webhook\"\nendpoint = \"crm\"\nsubject = \"[detractor] NPS {{ customer.id }}\"\nbody = \"b\"\n"),
    ];
    for (name, trigger, steps) in campaigns {
        e.add_campaign(&format!("{name}.toml"), &format!("name = \"{name}\"\ntrigger = {{ {trigger} }}\nstop = [\"ordered\"]\n{steps}"), start).await.unwrap();
    }
    let zone_of: BTreeMap<String, Calendar> = facts
        .customers
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                k.email.clone().unwrap_or_default(),
                match i % 3 {
                    0 => cal,
                    1 => Calendar::from_name("America/New_York").unwrap(),
                    _ => Calendar::from_name("Asia/Tokyo").unwrap(),
                },
            )
        })
        .collect();
    let id_of: BTreeMap<String, String> = facts.customers.iter().map(|k| (k.email.clone().unwrap_or_default(), k.external_id.clone())).collect();
    let withdrawn: BTreeSet<String> = facts.customers.iter().filter(|k| !k.email_ok).filter_map(|k| k.email.clone()).collect();
    // (sim time, recipient, campaign, message id) of every delivery, from the receiving side.
    let mut got: Vec<(i64, String, String, String)> = Vec::new();
    let mut unsubscribed: BTreeMap<String, i64> = BTreeMap::new();
    let (mut seen_mail, mut seen_hooks) = (0, 0);
    let mut now = start;
    while now < start + 60 * 86_400 {
        now += 6 * 3600;
        if (now - start) % (7 * 86_400) == 0 {
            holdfast_app::score_workspace(&app, Some(&cal.date(now).to_string()), &holdfast_app::Quiet).await.unwrap();
        }
        e.run(now, 2, true).await.unwrap();
        let mail = sink.received();
        for m in &mail[seen_mail..] {
            let campaign = m.subject.trim_start_matches('[').split(']').next().unwrap_or("").to_owned();
            got.push((now, m.to[0].clone(), campaign, m.message_id.clone()));
        }
        seen_mail = mail.len();
        let h = hooks.received();
        for w in &h[seen_hooks..] {
            assert!(w.signature_ok, "a webhook with a bad signature");
            let doc: serde_json::Value = serde_json::from_slice(&w.body).unwrap();
            got.push((now, doc["customer"]["email"].as_str().unwrap_or("").to_owned(), "detractor".into(), w.id.clone()));
        }
        seen_hooks = h.len();
        // Every tenth day someone who got a message unsubscribes.
        if (now - start) % (10 * 86_400) == 0 {
            if let Some((_, to, _, _)) = got.iter().rev().find(|g| !unsubscribed.contains_key(&g.1)) {
                store.unsubscribe(ws.id, &id_of[to], "email", now, "test").await.unwrap();
                unsubscribed.insert(to.clone(), now);
            }
        }
    }
    assert!(got.len() > 50, "too few messages to prove anything: {}", got.len());
    let kinds: BTreeSet<&str> = got.iter().map(|g| g.2.as_str()).collect();
    eprintln!("60 days: {} deliveries, campaigns {kinds:?}", got.len());
    // None twice.
    let ids: BTreeSet<&str> = got.iter().map(|g| g.3.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "a message arrived twice");
    let mut per_day: BTreeMap<(String, chrono::NaiveDate), u32> = BTreeMap::new();
    let mut per_week: BTreeMap<(String, chrono::NaiveDate), u32> = BTreeMap::new();
    let mut per_month: BTreeMap<(String, i32, u32), u32> = BTreeMap::new();
    for (at, to, campaign, _) in &got {
        let zc = zone_of[to];
        let local = chrono::DateTime::from_timestamp(*at, 0).unwrap().with_timezone(&zc.tz);
        // None in quiet hours.
        assert!((9..21).contains(&local.hour()), "{to} got {campaign} at {local} (quiet hours)");
        // No e-mail to an unsubscribed customer (the detractor webhook goes to the CRM).
        if campaign != "detractor" {
            assert!(!withdrawn.contains(to), "{to} never consented but got {campaign}");
            assert!(unsubscribed.get(to).is_none_or(|u| at <= u), "{to} unsubscribed but got {campaign}");
        }
        // None to a control group.
        let customer = &id_of[to];
        assert!(holdfast_experiments::bucket::bucket(&format!("default/{campaign}"), customer) >= 1000, "{customer} is in the control group of {campaign}");
        let d = local.date_naive();
        *per_day.entry((to.clone(), d)).or_default() += 1;
        *per_week.entry((to.clone(), d - chrono::Days::new(d.weekday().num_days_from_monday() as u64))).or_default() += 1;
        *per_month.entry((to.clone(), d.year(), d.month())).or_default() += 1;
    }
    // None beyond the budget.
    assert!(per_day.values().all(|&n| n <= 1), "a customer got two messages in a day");
    assert!(per_week.values().all(|&n| n <= 2), "a customer got three messages in a week");
    assert!(per_month.values().all(|&n| n <= 5), "a customer got six messages in a month");
    // Exactly what the outbox sent: none missing.
    let sent = store.sent_messages(ws.id).await.unwrap();
    let expected: BTreeSet<String> =
        sent.iter().map(|(key, _, _, mid, _)| if key.starts_with("detractor/") { key.clone() } else { mid.clone().unwrap_or_default() }).collect();
    assert_eq!(expected, ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    let counts: BTreeMap<String, u64> = store.outbox_counts(ws.id).await.unwrap().into_iter().collect();
    assert!(!counts.contains_key("sending") && !counts.contains_key("dead"), "{counts:?}");
    assert!(counts.get("capped").copied().unwrap_or(0) > 0, "the budget was never tested: {counts:?}");
    assert!(counts.get("held_out").copied().unwrap_or(0) > 0, "{counts:?}");
    store.close().await.unwrap();
}

/// The campaigns Holdfast ships (the four-letter win-back and the birthday greeting, in English
/// and Russian) are valid campaign files.
#[test]
fn shipped_campaigns_read() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-channels/campaigns");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&p).unwrap();
            let c = holdfast_engine::parse_campaign(&p.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!c.steps.is_empty());
            n += 1;
        }
    }
    assert_eq!(n, 4);
}
