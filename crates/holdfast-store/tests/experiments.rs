//! Experiments in the store, on SQLite and PostgreSQL (`both!`): assignments written in one
//! transaction (all or nothing) and read back, each assigned customer's counted orders around its
//! assignment, and the global holdout.

mod common;

use holdfast_core::{Currency, OrderStatus, DAY};
use holdfast_store::*;

const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn order(id: &str, customer: &str, at: i64, amount: i64, status: &str) -> Record {
    Record::Order(OrderRecord {
        external_id: id.into(),
        customer: customer.into(),
        ordered_at: at,
        amount,
        currency: Currency::USD,
        status: OrderStatus::parse(status),
        lines: Vec::new(),
    })
}

/// Customers a–d. a: an order 10 days before the campaign (pre-period), one at the assignment
/// instant (in the window: it is half-open at the start's side), a refunded one (not counted) and
/// one exactly at the window's end (out). b: one on day 29 (in). c: none. d: one on day 5.
async fn seeded(url: &str) -> (Store, Workspace) {
    let s = Store::open(url).await.unwrap();
    let ws = s.workspace("default").await.unwrap();
    let orders = vec![
        order("o1", "a", T0 - 10 * DAY, 5_000, "completed"),
        order("o2", "a", T0, 1_000, "completed"),
        order("o3", "a", T0 + DAY, 9_999, "refunded"),
        order("o4", "a", T0 + 30 * DAY, 7_000, "completed"),
        order("o5", "b", T0 + 29 * DAY, 2_500, "completed"),
        order("o6", "c", T0 - 400 * DAY, 100, "completed"),
        order("o7", "d", T0 + 5 * DAY, 4_000, "completed"),
    ];
    s.import(ws.id, Entity::Orders, orders.into_iter().enumerate().map(|(k, r)| (k as u64 + 2, r))).await.unwrap();
    (s, ws)
}

fn row(line: u64, customer: &str, campaign: &str, group: &str, cost: Option<i64>) -> AssignmentRecord {
    AssignmentRecord { line, customer: customer.into(), campaign: campaign.into(), group: group.into(), assigned_at: T0, cost }
}

fn batch() -> Vec<AssignmentRecord> {
    vec![
        row(2, "a", "win-back", "treatment", Some(150)),
        row(3, "b", "win-back", "treatment", Some(150)),
        row(4, "c", "win-back", "control", None),
        row(5, "d", "win-back", "control", None),
        row(6, "a", "spring", "control", None),
    ]
}

async fn assignments_round_trip(url: String) {
    let (s, ws) = seeded(&url).await;
    let settings = CampaignSettings { window_days: Some(30), planned_split: Some(vec![("control".into(), 0.5), ("treatment".into(), 0.5)]), margin: Some(0.4) };
    let sum = s.write_assignments(ws.id, &batch(), &settings, T0 + 100).await.unwrap();
    assert_eq!(sum, AssignmentSummary { campaigns: vec!["win-back".into(), "spring".into()], inserted: 5, updated: 0, unchanged: 0, repeated: 0 });

    let cs = s.campaigns(ws.id).await.unwrap();
    assert_eq!(cs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["spring", "win-back"]);
    let wb = s.campaign(ws.id, "win-back").await.unwrap();
    assert_eq!(wb.groups, vec![("control".to_owned(), 2), ("treatment".to_owned(), 2)]);
    assert_eq!((wb.window_days, wb.margin, wb.cost, wb.assigned()), (30, Some(0.4), 300, 4));
    assert_eq!(wb.planned_split, Some(vec![("control".to_owned(), 0.5), ("treatment".to_owned(), 0.5)]));
    assert_eq!((wb.first_assigned_at, wb.last_assigned_at, wb.created_at), (Some(T0), Some(T0), T0 + 100));
    assert!(matches!(s.campaign(ws.id, "nope").await, Err(Error::NotFound { .. })));

    // Counted orders in [assigned_at − 365 days, assigned_at + 30 days), before the as-of.
    let got = s.assigned_orders(ws.id, "win-back", 365 * DAY, 30 * DAY, T0 + 60 * DAY, Currency::USD).await.unwrap();
    type View<'a> = Vec<(&'a str, &'a str, Option<i64>, Vec<(i64, i64)>)>;
    let view: View = got.iter().map(|a| (a.customer.as_str(), a.group.as_str(), a.cost, a.orders.clone())).collect();
    assert_eq!(
        view,
        vec![
            ("a", "treatment", Some(150), vec![(T0 - 10 * DAY, 5_000), (T0, 1_000)]),
            ("b", "treatment", Some(150), vec![(T0 + 29 * DAY, 2_500)]),
            ("c", "control", None, vec![]),
            ("d", "control", None, vec![(T0 + 5 * DAY, 4_000)]),
        ]
    );
    // The as-of cuts the windows short.
    let early = s.assigned_orders(ws.id, "win-back", 0, 30 * DAY, T0 + 10 * DAY, Currency::USD).await.unwrap();
    assert_eq!(early.iter().map(|a| a.orders.len()).collect::<Vec<_>>(), [1, 0, 0, 1]);

    // The same rows again change nothing; a new cost updates; settings left out stay.
    let again = s.write_assignments(ws.id, &batch(), &CampaignSettings::default(), T0 + 200).await.unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 5));
    let mut b = batch();
    b[0].cost = Some(200);
    b.push(row(7, "b", "win-back", "treatment", Some(150)));
    let upd = s.write_assignments(ws.id, &b, &CampaignSettings { window_days: Some(14), ..Default::default() }, T0 + 300).await.unwrap();
    assert_eq!((upd.inserted, upd.updated, upd.unchanged, upd.repeated), (0, 1, 4, 1));
    let wb = s.campaign(ws.id, "win-back").await.unwrap();
    assert_eq!((wb.window_days, wb.margin, wb.cost, wb.created_at), (14, Some(0.4), 350, T0 + 100));
    assert!(wb.planned_split.is_some());

    assert_eq!(s.last_counted_order_at(ws.id).await.unwrap(), Some(T0 + 30 * DAY));
    assert_eq!(s.orders_currency(ws.id).await.unwrap(), Some(Currency::USD));
    let e = s.assigned_orders(ws.id, "win-back", 0, 30 * DAY, T0 + 10 * DAY, Currency::EUR).await.unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    s.close().await.unwrap();
}
both!(assignments_round_trip);

async fn bad_batches_write_nothing(url: String) {
    let (s, ws) = seeded(&url).await;
    let count = |s: &Store| {
        let s = s.clone();
        async move { (s.campaigns(ws.id).await.unwrap().len(), s.campaigns(ws.id).await.unwrap().iter().map(|c| c.assigned()).sum::<u64>()) }
    };
    // Unknown customers: the first by line is named, the others counted.
    let mut b = batch();
    b.push(row(7, "zed", "win-back", "control", None));
    b.push(row(8, "yan", "new-campaign", "control", None));
    let e = s.write_assignments(ws.id, &b, &CampaignSettings::default(), T0).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 7, column customer_id: customer \"zed\" is not in the store (and 1 more unknown: yan); import the customers or their orders first"
    );
    assert_eq!(count(&s).await, (0, 0), "nothing written, not even the campaigns");

    // Two groups for one customer in one batch.
    let mut b = batch();
    b.push(row(9, "c", "win-back", "treatment", None));
    let e = s.write_assignments(ws.id, &b, &CampaignSettings::default(), T0).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 9, column group: customer \"c\" is put in group \"treatment\" of campaign \"win-back\", but line 4 put it in group \"control\": a customer is in one group of a campaign"
    );
    assert_eq!(count(&s).await, (0, 0));

    // Against the stored assignment.
    s.write_assignments(ws.id, &batch(), &CampaignSettings::default(), T0).await.unwrap();
    let b = vec![row(2, "a", "spring", "control", None), row(3, "b", "spring", "treatment", None), row(4, "d", "win-back", "treatment", None)];
    let e = s.write_assignments(ws.id, &b, &CampaignSettings::default(), T0).await.unwrap_err();
    assert_eq!(e.to_string(), "line 4, column group: customer \"d\" is already in group \"control\" of campaign \"win-back\", not \"treatment\": a customer is in one group of a campaign and never moves");
    assert_eq!(count(&s).await, (2, 5), "b was not added to spring");
    let e = s.write_assignments(ws.id, &batch(), &CampaignSettings { margin: Some(1.5), ..Default::default() }, T0).await.unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    s.close().await.unwrap();
}
both!(bad_batches_write_nothing);

async fn global_holdout_setting(url: String) {
    let s = Store::open(&url).await.unwrap();
    let ws = s.workspace("default").await.unwrap();
    assert_eq!(s.global_holdout(ws.id).await.unwrap(), 0);
    s.set_global_holdout(ws.id, 500).await.unwrap();
    assert_eq!(s.global_holdout(ws.id).await.unwrap(), 500);
    s.set_global_holdout(ws.id, 0).await.unwrap();
    assert_eq!(s.global_holdout(ws.id).await.unwrap(), 0);
    assert!(s.set_global_holdout(ws.id, 10_001).await.is_err());
    let other = s.workspace("other").await.unwrap();
    s.set_global_holdout(other.id, 1_000).await.unwrap();
    assert_eq!(s.global_holdout(ws.id).await.unwrap(), 0);
    s.close().await.unwrap();
}
both!(global_holdout_setting);
