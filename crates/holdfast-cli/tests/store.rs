//! The store through the real binary, on SQLite and PostgreSQL (`HOLDFAST_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; each test creates and drops its own database and
//! fails, never skips, when PostgreSQL is unreachable).

use std::path::Path;
use std::process::Command;

mod common;
use common::*;

fn without_source(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("source");
    }
    v
}

/// generate → import → export → import into a fresh database: the same analyses as the file.
fn round_trip(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let orders = dir.path().join("orders.csv");
    let o = orders.to_str().unwrap();
    let g = Command::new(env!("CARGO_BIN_EXE_holdfast")).args(["--quiet", "generate", "--customers", "1500", "--seed", "5", "--out", o]).output().unwrap();
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    let (a, b) = (Db::new(pg), Db::new(pg));
    let first = ok(&a.url, &["import", "orders", o, "--json"]);
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(first["inserted"].as_u64().unwrap() > 10_000);
    let again = json(&a.url, &["import", "orders", o, "--json"]);
    assert_eq!((again["inserted"].as_u64(), again["updated"].as_u64()), (Some(0), Some(0)));
    assert_eq!(again["unchanged"], first["inserted"]);
    let exported = dir.path().join("export.csv");
    ok(&a.url, &["export", "orders", "--out", exported.to_str().unwrap()]);
    ok(&b.url, &["import", "orders", exported.to_str().unwrap()]);
    let nodb = "sqlite:///nonexistent/never.db";
    for args in [&["movement", "--json"][..], &["cohorts", "--json"], &["cohorts", "--metric", "revenue", "--period", "quarter", "--json"]] {
        let from_file = json(nodb, &[args, &["--orders", o]].concat());
        assert_eq!(json(&a.url, args), from_file, "{args:?} on the store differs from the file");
        assert_eq!(json(&b.url, args), from_file, "{args:?} after export and re-import differs from the file");
    }
    let from_file = without_source(json(nodb, &["analyze", o, "--json"]));
    assert_eq!(without_source(json(&b.url, &["analyze", "--json"])), from_file);
    // Scoring writes a snapshot the customer view shows.
    let s = json(&b.url, &["score", "--json"]);
    assert!(s["customers"].as_u64().unwrap() > 1000, "{s}");
    assert_eq!((&s["p_alive"], &s["clv"]), (&s["customers"], &s["customers"]), "{s}");
    let v = json(&b.url, &["customer", "C000570", "--json"]);
    assert_eq!(v["customer"]["external_id"], "C000570");
    assert!(v["score"]["segment"].is_string(), "{v}");
    assert!(!v["orders"].as_array().unwrap().is_empty());
    // P(alive) and CLV are those of `holdfast predict` on the same orders (the store keeps CLV in
    // minor units; the JSON gives major units).
    let predicted = json(nodb, &["predict", "--orders", o, "--json"]);
    for r in predicted["customers"].as_array().unwrap().iter().step_by(97) {
        let c = r["customer_id"].as_str().unwrap();
        let sc = json(&b.url, &["customer", c, "--json"])["score"].clone();
        assert_eq!(sc["p_alive"].as_f64(), r["p_alive"].as_f64(), "{c}");
        assert_eq!(sc["clv"].as_f64(), r["clv"].as_f64().map(|x| (x * 100.0).round() / 100.0), "{c}");
    }
}
both!(round_trip);

/// A file whose row 90,000 is bad leaves the database exactly as it was.
fn atomic_import(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(pg);
    let small = dir.path().join("small.csv");
    std::fs::write(&small, "order_id,customer_id,ordered_at,amount,status\n1,a,2024-01-05,10.00,completed\n2,b,2024-02-05,20.00,refunded\n").unwrap();
    ok(&db.url, &["import", "orders", small.to_str().unwrap()]);
    let before = ok(&db.url, &["export", "orders"]);
    let mut text = String::from("order_id,customer_id,ordered_at,amount\n");
    for k in 1..=100_000u32 {
        let date = if k == 90_000 { "2024-13-45".to_owned() } else { format!("2024-{:02}-{:02}", k % 12 + 1, k % 28 + 1) };
        text.push_str(&format!("n{k},c{},{date},{}.50\n", k % 7000, k % 300));
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, text).unwrap();
    let out = holdfast(&db.url, &["import", "orders", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:90001:") && err.contains("2024-13-45"), "{err}");
    assert_eq!(ok(&db.url, &["export", "orders"]), before);
    assert_eq!(ok(&db.url, &["export", "customers"]).lines().count(), 3);
}
both!(atomic_import);

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// Subscriptions, customers, events and feedback through `import`, `mrr` and `customer`.
/// February 2024 by hand (amounts per month): A 100 → 150 on 02-10 (expansion 50), B 200 → 120
/// on 02-15 (contraction 80), C 300 cancelled 02-20 (churned 300), D new at 50, E paid 70 in 2023,
/// back at 90 (reactivation 90), F 40 throughout. MRR 640 → 450; GRR = (640 − 80 − 300)/640 =
/// 0.40625; NRR = (640 + 50 − 80 − 300)/640 = 0.484375; subscribers S 4, N 1, R 1, L 1, E 5.
fn subscriptions_and_the_customer_view(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(pg);
    let subs = write(
        dir.path(),
        "subs.csv",
        "subscription_id,customer_id,plan,mrr,currency,started_at,ended_at,cancel_reason\n\
         a1,A,basic,100.00,USD,2023-06-01,2024-02-10,\na2,A,pro,150.00,USD,2024-02-10,,\n\
         b1,B,pro,200.00,USD,2023-01-01,2024-02-15,\nb2,B,basic,120.00,USD,2024-02-15,,\n\
         c1,C,team,300.00,USD,2023-03-01,2024-02-20,too expensive\nd1,D,basic,50.00,USD,2024-02-05,,\n\
         e1,E,basic,70.00,USD,2023-01-01,2023-12-01,\ne2,E,basic,90.00,USD,2024-02-12,,\nf1,F,mini,40.00,USD,2022-01-01,,\n",
    );
    ok(&db.url, &["import", "subscriptions", &subs]);
    let again = json(&db.url, &["import", "subscriptions", &subs, "--json"]);
    assert_eq!(again["unchanged"], 9);
    let r = json(&db.url, &["mrr", "--from", "2024-02", "--as-of", "2024-03-01", "--json"]);
    let p = &r["periods"][0];
    assert_eq!(p["period"], "2024-02");
    assert_eq!((p["mrr_start"].as_f64(), p["mrr_end"].as_f64()), (Some(640.0), Some(450.0)));
    assert_eq!(
        (p["new"].as_f64(), p["expansion"].as_f64(), p["contraction"].as_f64(), p["churned"].as_f64(), p["reactivation"].as_f64()),
        (Some(50.0), Some(50.0), Some(80.0), Some(300.0), Some(90.0))
    );
    assert_eq!((p["grr"].as_f64(), p["nrr"].as_f64()), (Some(0.40625), Some(0.484375)));
    assert_eq!(
        (
            p["subscribers_start"].as_u64(),
            p["subscribers_new"].as_u64(),
            p["subscribers_reactivated"].as_u64(),
            p["subscribers_lost"].as_u64(),
            p["subscribers_end"].as_u64()
        ),
        (Some(4), Some(1), Some(1), Some(1), Some(5))
    );
    assert!(ok(&db.url, &["mrr"]).contains("2024-02"));

    let customers =
        write(dir.path(), "customers.csv", "customer_id,name,email,kind,tags,created_at\nC,\"Cargo, Ltd\",c@x.test,company,\"vip;b2b\",2023-03-01\n");
    ok(&db.url, &["import", "customers", &customers]);
    let events = write(dir.path(), "events.csv", "customer_id,kind,at,properties\nC,login,2024-01-02 10:00,\"{\"\"ip\"\":\"\"10.0.0.1\"\"}\"\nC,login,2024-01-09 10:00,\nC,complaint,2024-02-01 09:00,\n");
    ok(&db.url, &["import", "events", &events]);
    assert_eq!(json(&db.url, &["import", "events", &events, "--json"])["unchanged"], 3);
    let feedback = write(dir.path(), "feedback.csv", "customer_id,score,comment,at\nC,3,too expensive,2024-02-18\n");
    ok(&db.url, &["import", "feedback", &feedback]);
    let v = json(&db.url, &["customer", "C", "--json"]);
    assert_eq!(v["customer"]["name"], "Cargo, Ltd");
    assert_eq!(v["customer"]["kind"], "company");
    assert_eq!(v["customer"]["tags"], serde_json::json!(["vip", "b2b"]));
    assert_eq!(v["subscriptions"][0]["cancel_reason"], "too expensive");
    assert_eq!(v["events"][0], serde_json::json!({"kind": "login", "count": 2, "last_at": "2024-01-09T10:00:00Z"}));
    assert_eq!(v["feedback"][0]["score"], 3);
    let text = ok(&db.url, &["customer", "C"]);
    assert!(text.contains("Cargo, Ltd (company)") && text.contains("complaint: 1"), "{text}");
    let missing = holdfast(&db.url, &["customer", "nobody"]);
    assert_eq!(missing.status.code(), Some(1));
    // Export → import into a fresh store keeps every entity.
    let fresh = Db::new(pg);
    for e in ["customers", "subscriptions", "events", "feedback"] {
        let f = dir.path().join(format!("{e}.out.csv"));
        ok(&db.url, &["export", e, "--out", f.to_str().unwrap()]);
        ok(&fresh.url, &["import", e, f.to_str().unwrap()]);
    }
    let w = json(&fresh.url, &["customer", "C", "--json"]);
    for k in ["subscriptions", "events", "feedback"] {
        assert_eq!(w[k], v[k], "{k} after export and re-import");
    }
    assert_eq!(w["customer"]["tags"], v["customer"]["tags"]);
    assert_eq!(json(&fresh.url, &["mrr", "--from", "2024-02", "--as-of", "2024-03-01", "--json"]), r);
}
both!(subscriptions_and_the_customer_view);

/// Notes, important dates, contacts and interactions recorded from the CLI show in the customer view.
fn notes_dates_contacts_and_interactions(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(pg);
    let customers = write(
        dir.path(),
        "customers.csv",
        "customer_id,name,kind,birthday,email_consent_at,email_unsubscribed_at,sms_consent_at\nK,Kefir LLC,company,2015-06-10,2023-01-05,2024-02-01,\nP,Petr,person,12.04.1985,,,2023-05-05\n",
    );
    ok(&db.url, &["import", "customers", &customers]);
    let p = json(&db.url, &["customer", "P", "--json"]);
    assert_eq!(p["customer"]["birthday"], "1985-04-12");
    assert_eq!(p["important_dates"][0]["kind"], "birthday");
    assert_eq!(p["customer"]["consents"][0]["channel"], "sms");
    let k = json(&db.url, &["customer", "K", "--json"]);
    assert_eq!(
        (k["customer"]["consents"][0]["channel"].as_str(), k["customer"]["consents"][0]["unsubscribed_at"].as_str()),
        (Some("email"), Some("2024-02-01T00:00:00Z"))
    );
    // Export → import into a fresh store keeps consents and birthdays.
    let out = dir.path().join("customers.out.csv");
    ok(&db.url, &["export", "customers", "--out", out.to_str().unwrap()]);
    let fresh = Db::new(pg);
    ok(&fresh.url, &["import", "customers", out.to_str().unwrap()]);
    assert_eq!(json(&fresh.url, &["customer", "P", "--json"])["customer"], p["customer"]);
    assert_eq!(json(&fresh.url, &["customer", "K", "--json"])["customer"], k["customer"]);
    // The same file again changes nothing.
    assert_eq!(json(&db.url, &["import", "customers", &customers, "--json"])["unchanged"], 2);
    ok(
        &db.url,
        &[
            "customer",
            "K",
            "note",
            "prefers short summaries, not detailed reports",
            "--channel",
            "telegram",
            "--time",
            "mornings",
            "--pain-points",
            "slow delivery",
            "--at",
            "2024-03-01",
        ],
    );
    ok(&db.url, &["customer", "K", "date", "company_birthday", "2015-06-10", "--label", "founded"]);
    ok(&db.url, &["customer", "K", "date", "contract_renewal", "2024-12-31", "--once"]);
    ok(&db.url, &["customer", "K", "contact", "Anna Petrova", "--role", "buyer", "--email", "anna@example.com"]);
    ok(&db.url, &["customer", "K", "interaction", "call", "--at", "2024-03-02", "--by", "oleg", "--summary", "asked about delivery"]);
    let v = json(&db.url, &["customer", "K", "--json"]);
    let n = &v["notes"][0];
    assert_eq!(
        (n["body"].as_str(), n["preferred_channel"].as_str(), n["preferred_time"].as_str(), n["pain_points"].as_str()),
        (Some("prefers short summaries, not detailed reports"), Some("telegram"), Some("mornings"), Some("slow delivery"))
    );
    assert_eq!(v["important_dates"].as_array().map(Vec::len), Some(3), "{}", v["important_dates"]);
    assert!(v["important_dates"].as_array().unwrap().iter().any(|d| d["kind"] == "company_birthday" && d["yearly"] == true), "{}", v["important_dates"]);
    assert!(v["important_dates"].as_array().unwrap().iter().any(|d| d["kind"] == "contract_renewal" && d["yearly"] == false));
    assert_eq!(v["contacts"][0]["email"], "anna@example.com");
    assert_eq!((v["interactions"][0]["kind"].as_str(), v["interactions"][0]["summary"].as_str()), (Some("call"), Some("asked about delivery")));
    let text = ok(&db.url, &["customer", "K"]);
    assert!(text.contains("telegram") && text.contains("Anna Petrova"), "{text}");
    // Bad input: an unknown customer, kind or date is a user error that writes nothing.
    for args in [
        vec!["customer", "nobody", "note", "x"],
        vec!["customer", "K", "date", "anniversary", "2020-01-01"],
        vec!["customer", "K", "date", "birthday", "31.02.2020"],
        vec!["customer", "K", "interaction", "telepathy"],
    ] {
        let o = holdfast(&db.url, &args);
        assert!(!o.status.success(), "{args:?} should fail");
    }
    assert_eq!(json(&db.url, &["customer", "K", "--json"])["interactions"].as_array().map(Vec::len), Some(1));
    // Each kind exports as CSV with a header.
    let notes = ok(&db.url, &["export", "notes"]);
    assert!(
        notes.starts_with("note_id,customer_id,body,")
            && notes.contains(",K,\"prefers short summaries, not detailed reports\",slow delivery,,telegram,mornings,,,2024-03-01T00:00:00Z"),
        "{notes}"
    );
    assert!(ok(&db.url, &["export", "dates"]).contains(",K,company_birthday,founded,2015-06-10,true"));
    assert!(ok(&db.url, &["export", "contacts"]).contains("K,Anna Petrova,buyer,anna@example.com,"));
    assert!(ok(&db.url, &["export", "interactions"]).contains("K,call,2024-03-02T00:00:00Z,,oleg,asked about delivery"));
}
both!(notes_dates_contacts_and_interactions);

/// `at-risk` on the store saves one task per customer (holding all its flags) for the personal
/// work, never a second while one is open: the next run rolls it over; tier C customers are routed
/// to automation and counted, not saved; `task` closes tasks, and a customer still at risk gets a
/// new task next time.
fn at_risk_persists_tasks_once(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(pg);
    // big and small order every 30 days for a year, then fall silent for 100 days; fine keeps
    // ordering. big is tier A (a personal call), small tier C (automation).
    let mut text = String::from("order_id,customer_id,ordered_at,amount\n");
    let day = |d: i64| (chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + chrono::Duration::days(d)).to_string();
    for k in 0..13 {
        text.push_str(&format!("b{k},big,{},1000.00\ns{k},small,{},10.00\n", day(30 * k), day(30 * k)));
    }
    for k in 0..16 {
        text.push_str(&format!("f{k},fine,{},10.00\n", day(30 * k)));
    }
    let orders = write(dir.path(), "orders.csv", &text);
    ok(&db.url, &["import", "orders", &orders]);
    let as_of = day(460);
    let q = json(&db.url, &["at-risk", "--as-of", &as_of, "--json"]);
    assert_eq!((q["total_tasks"].as_u64(), q["this_week"].as_u64(), q["automation"].as_u64()), (Some(2), Some(1), Some(1)), "{q}");
    let open = |db: &Db| json(&db.url, &["task", "list", "--json"])["tasks"].as_array().unwrap().clone();
    let first = open(&db);
    assert_eq!(first.len(), 1, "one task per customer, personal work only");
    assert_eq!((first[0]["customer"].as_str(), first[0]["plan"].as_str()), (Some("big"), Some("this_week")));
    assert_eq!(first[0]["kinds"], serde_json::json!(["silence_beyond_rhythm"]));
    // Again: the task rolls over, nothing new.
    json(&db.url, &["at-risk", "--as-of", &as_of, "--json"]);
    let again = open(&db);
    assert_eq!((again.len(), &again[0]["id"]), (1, &first[0]["id"]));
    // Done: the customer is still at risk, so the next run opens a new task; dismissed with a
    // reason, likewise.
    let id = |t: &serde_json::Value| t["id"].as_i64().unwrap().to_string();
    ok(&db.url, &["task", "done", &id(&first[0])]);
    assert!(open(&db).is_empty());
    json(&db.url, &["at-risk", "--as-of", &as_of, "--json"]);
    let second = open(&db);
    assert_eq!(second.len(), 1);
    assert_ne!(second[0]["id"], first[0]["id"]);
    ok(&db.url, &["task", "dismiss", &id(&second[0]), "--reason", "called: on holiday"]);
    let big = json(&db.url, &["task", "list", "--customer", "big", "--json"])["tasks"].as_array().unwrap().clone();
    assert!(big.iter().any(|t| t["state"] == "done"));
    assert!(big.iter().any(|t| t["state"] == "dismissed" && t["dismiss_reason"] == "called: on holiday"), "{big:?}");
    json(&db.url, &["at-risk", "--as-of", &as_of, "--json"]);
    assert_eq!(open(&db).len(), 1);
    // The table says where the tasks went.
    let text = ok(&db.url, &["at-risk", "--as-of", &as_of]);
    assert!(text.contains("2 tasks (one per customer) — 1 personal: 1 this week"), "{text}");
    // The task holds the customer's tier and says its reason in Russian too.
    let t = &open(&db)[0];
    assert_eq!((t["tier"].as_str(), t["origin"].as_str()), (Some("A"), Some("queue")), "{t}");
    assert!(t["reason_ru"].as_str().is_some_and(|r| !r.is_empty()), "{t}");
    // big orders again: no longer at risk, so the queue closes its task, saying why; the
    // next run opens none.
    let back = write(dir.path(), "back.csv", &format!("order_id,customer_id,ordered_at,amount\nb99,big,{},1000.00\n", day(455)));
    ok(&db.url, &["import", "orders", &back]);
    let q = json(&db.url, &["at-risk", "--as-of", &as_of, "--json"]);
    assert_eq!(q["saved"]["closed"].as_u64(), Some(1), "{q}");
    assert!(open(&db).is_empty());
    let big = json(&db.url, &["task", "list", "--customer", "big", "--json"])["tasks"].as_array().unwrap().clone();
    assert!(big.iter().any(|t| t["dismiss_reason"].as_str().is_some_and(|r| r.ends_with("no longer at risk"))), "{big:?}");
    // Errors: an unknown task, a dismissal without a reason.
    assert_eq!(holdfast(&db.url, &["task", "done", "999999"]).status.code(), Some(1));
    assert!(!holdfast(&db.url, &["task", "dismiss", &id(&first[0]), "--reason", " "]).status.success());
}
both!(at_risk_persists_tasks_once);

/// `import notes|dates|contacts|interactions FILE`: header aliases and synonyms (Russian kinds),
/// ids from the file or derived from the content, idempotent, updates in place, atomic with the
/// failing line named, shown in the customer view, and back from `export` into a fresh store.
fn knowledge_files(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(pg);
    let files = [
        ("notes", "note_id,customer_id,note,preferred_channel,works_mornings,pain_points,created_at\nn1,K,\"prefers short summaries, not detailed reports\",telegram,yes,slow delivery,2024-03-01\nn2,P,asked for a discount,,no,,\n"),
        ("dates", "date_id,customer_id,kind,label,date,yearly\nd1,K,contract_renewal,annual,2024-12-31,no\nd2,K,день рождения,CEO,1980-05-05,\n"),
        ("contacts", "customer_id,name,role,email\nK,Anna Petrova,buyer,anna@example.com\nK,Oleg,CTO,\n"),
        ("interactions", "interaction_id,customer_id,type,date,with,by,summary\ni1,K,звонок,2024-03-02 10:00,Anna Petrova,oleg,asked about delivery\ni2,K,meeting,2024-03-09 15:30,,oleg,\n"),
    ];
    for (entity, text) in files {
        let f = write(dir.path(), &format!("{entity}.csv"), text);
        let first = json(&db.url, &["import", entity, &f, "--json"]);
        assert_eq!((first["inserted"].as_u64(), first["updated"].as_u64()), (Some(2), Some(0)), "{entity}: {first}");
        let again = json(&db.url, &["import", entity, &f, "--json"]);
        assert_eq!((again["inserted"].as_u64(), again["updated"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(0), Some(2)), "{entity}: {again}");
    }
    let v = json(&db.url, &["customer", "K", "--json"]);
    let n = &v["notes"][0];
    assert_eq!(
        (n["external_id"].as_str(), n["preferred_channel"].as_str(), n["preferred_time"].as_str(), n["pain_points"].as_str()),
        (Some("n1"), Some("telegram"), Some("mornings"), Some("slow delivery")),
        "{n}"
    );
    let dates: Vec<(String, String, bool)> = v["important_dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_owned(), d["date"].as_str().unwrap().to_owned(), d["yearly"].as_bool().unwrap()))
        .collect();
    assert_eq!(dates, [("birthday".to_owned(), "1980-05-05".to_owned(), true), ("contract_renewal".to_owned(), "2024-12-31".to_owned(), false)]);
    assert_eq!(v["contacts"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (v["interactions"][0]["kind"].as_str(), v["interactions"][0]["with_whom"].as_str(), v["interactions"][1]["kind"].as_str()),
        (Some("call"), Some("Anna Petrova"), Some("meeting"))
    );
    // P, named only by a note, exists now (as orders create their customers).
    assert_eq!(json(&db.url, &["customer", "P", "--json"])["notes"][0]["body"], "asked for a discount");
    let text = ok(&db.url, &["customer", "K"]);
    assert!(text.contains("channel: telegram") && text.contains("Anna Petrova") && text.contains("contract_renewal"), "{text}");
    // A changed row updates in place.
    let f = write(
        dir.path(),
        "notes2.csv",
        "note_id,customer_id,note,preferred_channel,created_at\nn1,K,\"prefers short summaries, not detailed reports\",email,2024-03-01\n",
    );
    let upd = json(&db.url, &["import", "notes", &f, "--json"]);
    assert_eq!((upd["inserted"].as_u64(), upd["updated"].as_u64()), (Some(0), Some(1)), "{upd}");
    assert_eq!(json(&db.url, &["customer", "K", "--json"])["notes"][0]["preferred_channel"], "email");
    // One bad row (line 3): the whole file is refused, the line and column named, nothing written.
    let bad = write(dir.path(), "bad.csv", "date_id,customer_id,kind,date\nd3,K,renewal,2025-01-01\nd4,K,anniversary of nothing,2025-02-01\n");
    let out = holdfast(&db.url, &["import", "dates", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3: column kind") && err.contains("anniversary of nothing"), "{err}");
    assert_eq!(json(&db.url, &["customer", "K", "--json"])["important_dates"].as_array().map(Vec::len), Some(2));
    // Export → import into a fresh store keeps every record, ids included.
    let v = json(&db.url, &["customer", "K", "--json"]);
    let fresh = Db::new(pg);
    for e in ["customers", "notes", "dates", "contacts", "interactions"] {
        let f = dir.path().join(format!("{e}.out.csv"));
        ok(&db.url, &["export", e, "--out", f.to_str().unwrap()]);
        ok(&fresh.url, &["import", e, f.to_str().unwrap()]);
        let again = json(&fresh.url, &["import", e, f.to_str().unwrap(), "--json"]);
        assert_eq!((again["inserted"].as_u64(), again["updated"].as_u64()), (Some(0), Some(0)), "{e} re-imported: {again}");
    }
    let w = json(&fresh.url, &["customer", "K", "--json"]);
    for k in ["customer", "notes", "important_dates", "contacts", "interactions"] {
        assert_eq!(w[k], v[k], "{k} after export and re-import");
    }
}
both!(knowledge_files);

/// `score` on a hand-made store, as-of 2024-09-07 (day 250 from 2024-01-01). Customer ck has k
/// orders, the last one more recent the larger k: days 0,60,120,180,240 (c5), 0,60,120,200 (c4),
/// 0,60,150 (c3), 0,100 (c2), 0 (c1). Recency and frequency quintiles are then k and k, so the
/// segments are champions (5,5), loyal (4,4), need attention (3,3), hibernating (2,2), lost (1,1).
/// Red flags: none — five customers make too small a workspace for anything to be unusual at the
/// 5% level (c1's single order 250 days ago: a fifth of first-time buyers here wait that long; c2's
/// 150 days after one gap of 100 leans on the workspace's wide rhythm; c5's NPS 3 is the only
/// answer the workspace has), so the queue's count is 0 too. P(alive) is the one `holdfast predict`
/// gives for the same orders and as-of; the spend model does not converge on four repeat
/// customers, so CLV stays empty and the snapshot says why once. (CLV against `predict` on
/// generated data: `round_trip`.)
fn score_snapshot(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(pg);
    let day = |d: i64| (chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(d)).to_string();
    let plan: [(&str, &[i64]); 5] = [("c5", &[0, 60, 120, 180, 240]), ("c4", &[0, 60, 120, 200]), ("c3", &[0, 60, 150]), ("c2", &[0, 100]), ("c1", &[0])];
    let mut text = String::from("order_id,customer_id,ordered_at,amount\n");
    for (c, days) in plan {
        for (k, d) in days.iter().enumerate() {
            text.push_str(&format!("{c}-{k},{c},{},{}.00\n", day(*d), 20 + 10 * k));
        }
    }
    let orders = write(dir.path(), "orders.csv", &text);
    ok(&db.url, &["import", "orders", &orders]);
    ok(&db.url, &["import", "feedback", &write(dir.path(), "nps.csv", &format!("customer_id,score,at\nc5,3,{}\n", day(220)))]);
    let as_of = day(250);
    let s = json(&db.url, &["score", "--as-of", &as_of, "--json"]);
    assert_eq!((s["customers"].as_u64(), s["flagged"].as_u64(), s["as_of"].as_str()), (Some(5), Some(0), Some("2024-09-07T00:00:00Z")), "{s}");
    assert_eq!((s["at_risk"].as_u64(), s["personal"].as_u64(), s["automation"].as_u64()), (Some(0), Some(0), Some(0)), "{s}");
    assert_eq!((s["p_alive"].as_u64(), s["clv"].as_u64()), (Some(5), Some(0)), "{s}");
    assert_eq!(s["notes"][0], "no CLV: the Gamma-Gamma spend fit did not converge on these orders, so it is not used");
    // Five customers are too few to learn the churn risk from: said once, and no risk saved.
    assert!(s["notes"][1].as_str().is_some_and(|n| n.starts_with("churn risk not learned: only 5 customers")), "{s}");
    assert_eq!((s["notes"].as_array().map(Vec::len), s["risk"]["customers"].as_u64()), (Some(2), Some(0)), "{s}");
    let predicted = json("sqlite:///nonexistent/never.db", &["predict", "--orders", &orders, "--as-of", &as_of, "--json"]);
    let expected = [
        ("c5", "champions", Vec::<&str>::new()),
        ("c4", "loyal", vec![]),
        ("c3", "need_attention", vec![]),
        ("c2", "hibernating", vec![]),
        ("c1", "lost", vec![]),
    ];
    for (c, segment, flags) in expected {
        let v = json(&db.url, &["customer", c, "--json"]);
        let sc = &v["score"];
        assert_eq!(sc["segment"], segment, "{c}: {sc}");
        assert_eq!(sc["flags"], serde_json::json!(flags), "{c}: {sc}");
        assert_eq!(sc["computed_at"], "2024-09-07T00:00:00Z", "{c}");
        let p = predicted["customers"].as_array().unwrap().iter().find(|r| r["customer_id"] == c).unwrap();
        assert_eq!(sc["p_alive"].as_f64(), p["p_alive"].as_f64(), "{c}: {sc} vs {p}");
        assert!(sc["clv"].is_null(), "{c}: {sc}");
    }
    // Nobody bought twice: no P(alive) or CLV, and the reason said once.
    let once = Db::new(pg);
    let single = write(dir.path(), "single.csv", "order_id,customer_id,ordered_at,amount\n1,a,2024-01-05,10.00\n2,b,2024-02-05,20.00\n3,c,2024-03-05,30.00\n");
    ok(&once.url, &["import", "orders", &single]);
    let out = Command::new(env!("CARGO_BIN_EXE_holdfast")).args(["--db", &once.url, "score", "--json"]).output().unwrap();
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((s["customers"].as_u64(), s["p_alive"].as_u64(), s["clv"].as_u64()), (Some(3), Some(0), Some(0)), "{s}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("note: no P(alive)").count(), 1, "{err}");
    assert!(err.contains("nobody bought twice"), "{err}");
    let v = json(&once.url, &["customer", "b", "--json"]);
    assert_eq!((v["score"]["p_alive"].is_null(), v["score"]["clv"].is_null(), v["score"]["segment"].is_string()), (true, true, true), "{v}");
}
both!(score_snapshot);

#[test]
fn a_missing_sqlite_store_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("none.db").display());
    let o = holdfast(&url, &["movement", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no store at"));
    assert!(!dir.path().join("none.db").exists());
}
