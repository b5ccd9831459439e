//! `holdfast sending`, `webhook` and `suppress` through the binary: settings set and shown back,
//! bad values refused with a message naming them, and a suppressed address skipped by
//! `holdfast run` against a real SMTP server (the channels crate's sink).

mod common;

use common::{holdfast, json, ok, Db};
use holdfast_channels::testing::SmtpSink;

fn fails(db: &str, args: &[&str]) -> String {
    let o = holdfast(db, args);
    assert_eq!(o.status.code(), Some(1), "holdfast {args:?} should fail with 1: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8(o.stderr).unwrap()
}

fn store(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let customers = dir.path().join("customers.csv");
    std::fs::write(&customers, "customer_id,name,email\nC1,Anna,anna@shop.example\nC2,Boris,boris@shop.example\n").unwrap();
    ok(&db.url, &["import", "customers", customers.to_str().unwrap()]);
}

/// A one-off e-mail to everyone, due 2025-03-01 10:00 UTC.
fn spring_note(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let campaign = dir.path().join("spring.toml");
    std::fs::write(
        &campaign,
        "name = \"spring-note\"\ntrigger = { kind = \"once\", at = \"2025-03-01T10:00:00Z\" }\naudience = { all = true }\nholdout = 0\n\
         [[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"Hello, {{ customer.name }}\"\nbody = \"Spring is here.\"\n",
    )
    .unwrap();
    ok(&db.url, &["campaign", "add", campaign.to_str().unwrap()]);
}

fn settings_round_trip(pg: bool) {
    let db = Db::new(pg);
    store(&db);
    let shown = json(&db.url, &["sending", "show", "--json"]);
    assert_eq!(shown, serde_json::json!({ "quiet_hours": "21:00-09:00", "from": null, "allow_private_webhooks": false }), "the defaults");
    let out = ok(&db.url, &["sending", "set", "--quiet-hours", "22:30-07:15", "--from", "Shop <news@shop.example>", "--allow-private-webhooks", "true"]);
    assert!(out.contains("quiet hours: 22:30-07:15") && out.contains("private webhooks: allowed"), "{out}");
    let shown = json(&db.url, &["sending", "show", "--json"]);
    assert_eq!(shown, serde_json::json!({ "quiet_hours": "22:30-07:15", "from": "Shop <news@shop.example>", "allow_private_webhooks": true }));
    // One setting changed, the others kept; none clears.
    ok(&db.url, &["sending", "set", "--quiet-hours", "none", "--from", "none"]);
    let shown = json(&db.url, &["sending", "show", "--json"]);
    assert_eq!(shown, serde_json::json!({ "quiet_hours": "none", "from": null, "allow_private_webhooks": true }));
    assert!(ok(&db.url, &["sending", "show"]).contains("quiet hours: none"));

    // A customer's own zone.
    assert!(ok(&db.url, &["sending", "zone", "C1", "Europe/Berlin"]).contains("Europe/Berlin"));
    assert!(ok(&db.url, &["sending", "zone", "C1", "none"]).contains("the workspace's"));
    // A customer's preferred sending hours ("works mornings").
    assert!(ok(&db.url, &["sending", "window", "C1", "09:00-12:00"]).contains("sending window 09:00-12:00"));
    assert!(ok(&db.url, &["sending", "window", "C1", "none"]).contains("sending window none"));

    // Webhooks: a secret made and printed once, never listed.
    let added = ok(&db.url, &["webhook", "add", "crm", "https://crm.example.com/hooks"]);
    let secret = added.split_whitespace().find(|w| w.starts_with("whsec_")).expect("the secret, once").to_owned();
    let list = ok(&db.url, &["webhook", "list"]);
    assert!(list.contains("crm") && list.contains("https://crm.example.com/hooks") && list.contains("enabled") && !list.contains(&secret), "{list}");
    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let again = ok(&db.url, &["webhook", "add", "local", "http://127.0.0.1:9000/hook", "--secret", given]);
    assert!(!again.contains("whsec_"), "a given secret is not printed back: {again}");
    ok(&db.url, &["webhook", "disable", "crm"]);
    let list = json(&db.url, &["webhook", "list", "--json"]);
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 2);
    assert!(list["webhooks"][0]["disabled_at"].is_i64() && list["webhooks"][1]["disabled_at"].is_null(), "{list}");
    assert!(!list.to_string().contains("whsec_"));
}

fn bad_values(pg: bool) {
    let db = Db::new(pg);
    store(&db);
    let e = fails(&db.url, &["sending", "set", "--quiet-hours", "25:00-09:00"]);
    assert!(e.contains("--quiet-hours") && e.contains("\"25:00-09:00\"") && e.contains("expected HH:MM-HH:MM"), "{e}");
    let e = fails(&db.url, &["sending", "set", "--quiet-hours", "09:00-09:00"]);
    assert!(e.contains("none"), "{e}");
    let e = fails(&db.url, &["sending", "set", "--from", "news-at-shop"]);
    assert!(e.contains("--from") && e.contains("\"news-at-shop\"") && e.contains("not an e-mail address"), "{e}");
    let e = fails(&db.url, &["sending", "set", "--allow-private-webhooks", "maybe"]);
    assert!(e.contains("\"maybe\" is not true or false"), "{e}");
    fails(&db.url, &["sending", "set"]);
    assert_eq!(json(&db.url, &["sending", "show", "--json"])["quiet_hours"], "21:00-09:00", "nothing was saved");

    let e = fails(&db.url, &["sending", "window", "C1", "mornings"]);
    assert!(e.contains("\"mornings\" is not a sending window"), "{e}");
    let e = fails(&db.url, &["sending", "window", "nobody", "09:00-12:00"]);
    assert!(e.contains("no customer \"nobody\""), "{e}");
    let e = fails(&db.url, &["sending", "zone", "C1", "Mars/Olympus"]);
    assert!(e.contains("\"Mars/Olympus\" is not an IANA time zone"), "{e}");
    let e = fails(&db.url, &["sending", "zone", "C404", "Europe/Berlin"]);
    assert!(e.contains("C404"), "{e}");

    let e = fails(&db.url, &["webhook", "add", "crm", "http://127.0.0.1:9000/hook"]);
    assert!(e.contains("127.0.0.1 is not a public address") && e.contains("--allow-private-webhooks true"), "{e}");
    let e = fails(&db.url, &["webhook", "add", "crm", "http://192.168.1.10/hook"]);
    assert!(e.contains("not a public address"), "{e}");
    let e = fails(&db.url, &["webhook", "add", "crm", "ftp://crm.example.com/"]);
    assert!(e.contains("https:// or http://"), "{e}");
    let e = fails(&db.url, &["webhook", "add", "crm", "https://crm.example.com/", "--secret", "hunter2"]);
    assert!(e.contains("whsec_"), "{e}");
    let e = fails(&db.url, &["webhook", "disable", "nope"]);
    assert!(e.contains("no webhook endpoint \"nope\""), "{e}");
    assert!(ok(&db.url, &["webhook", "list"]).starts_with("0 webhook endpoints"));

    let e = fails(&db.url, &["suppress", "add", "anna"]);
    assert!(e.contains("\"anna\" is not an e-mail address"), "{e}");
    let e = fails(&db.url, &["suppress", "add", "anna@shop.example", "--reason", "spite"]);
    assert!(e.contains("--reason") && e.contains("manual, hard_bounce or complaint"), "{e}");
    let e = fails(&db.url, &["suppress", "remove", "anna@shop.example"]);
    assert!(e.contains("not on the suppression list"), "{e}");
}

fn suppressed_address_is_skipped(pg: bool) {
    let db = Db::new(pg);
    store(&db);
    spring_note(&db);
    // Written in another case, the address still stops mail to the customer's.
    assert!(ok(&db.url, &["suppress", "add", "Anna@Shop.example"]).contains("is suppressed (manual)"));
    assert!(ok(&db.url, &["suppress", "add", "anna@shop.example", "--reason", "complaint"]).contains("already suppressed (manual)"));
    let list = json(&db.url, &["suppress", "list", "--json"]);
    assert_eq!(list["suppressions"].as_array().unwrap().len(), 1);
    assert_eq!((list["suppressions"][0]["email"].as_str(), list["suppressions"][0]["reason"].as_str()), (Some("anna@shop.example"), Some("manual")));

    let sink = SmtpSink::start_background().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["--db", &db.url, "--quiet", "run", "--until-idle", "--now", "2025-03-01T12:00:00Z", "--json"])
        .env("HOLDFAST_SMTP_URL", sink.url())
        .env("HOLDFAST_SMTP_FROM", "news@shop.example")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let to: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(to, vec!["boris@shop.example".to_owned()], "the suppressed address got nothing");
    let ledger = json(&db.url, &["customer", "C1", "--json"]).to_string();
    assert!(ledger.contains("suppressed"), "the skipped message is in C1's ledger: {ledger}");

    ok(&db.url, &["suppress", "remove", "ANNA@shop.example"]);
    assert!(ok(&db.url, &["suppress", "list"]).starts_with("0 suppressed addresses"));
}

/// `holdfast run` over `smtps://user:password@…` to a relay whose certificate a private
/// authority signed, trusted through `HOLDFAST_SMTP_CA`; without a readable file, a clear error
/// naming it and nothing sent. E-mail's own rate limit (`--rate 100,email=4`) holds.
#[test]
fn mail_goes_over_tls_to_a_relay_of_a_private_authority() {
    use holdfast_channels::testing::SinkTls;
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../holdfast-channels/tests/data");
    let read = |f: &str| std::fs::read(format!("{data}/{f}")).unwrap();
    let db = Db::new(false);
    store(&db);
    spring_note(&db);
    let sink = SmtpSink::start_tls_background(SinkTls::new(&read("server.pem"), &read("server.key"), true).unwrap()).unwrap();
    let url = sink.url().replace("smtps://", "smtps://relay:s3cret@");
    let run = |ca: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .args(["--db", &db.url, "--quiet", "run", "--until-idle", "--now", "2025-03-01T12:00:00Z", "--json", "--rate", "100,email=4"])
            .env("HOLDFAST_SMTP_URL", &url)
            .env("HOLDFAST_SMTP_FROM", "news@shop.example")
            .env("HOLDFAST_SMTP_CA", ca)
            .output()
            .unwrap()
    };
    let missing = format!("{data}/no-such-ca.pem");
    let out = run(&missing);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HOLDFAST_SMTP_CA") && err.contains("no-such-ca.pem"), "{err}");
    assert_eq!(sink.count(), 0);
    let started = std::time::Instant::now();
    let out = run(&format!("{data}/ca.pem"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // e-mail's own limit of 4 a second: the second message waits a quarter of a second
    assert!(started.elapsed() >= std::time::Duration::from_millis(240), "{:?}", started.elapsed());
    let mut to: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    assert_eq!(to, ["anna@shop.example", "boris@shop.example"]);
    assert!(sink.authenticated().iter().all(|u| u == "relay") && !sink.authenticated().is_empty());
}

both!(settings_round_trip);
both!(bad_values);
both!(suppressed_address_is_skipped);
