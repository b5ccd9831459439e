//! `holdfast serve` in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/test` when missing) driven over WebDriver against the
//! running binary on a fresh SQLite store. The flows of issue 12: sign in; upload an orders file
//! with one bad row — the error names its line and column and nothing is written; fix the file,
//! check its preview and import it; the overview's figures become what `holdfast movement --json`
//! says over the same store; open a customer from the Today queue and mark the task done; a
//! viewer's session sees no action and a crafted POST with its cookie is refused (403).
//!
//! Every page is saved as a PNG at 1400 px and 390 px wide in `<target>/artefacts/browser/`
//! (`HOLDFAST_ARTEFACTS` overrides it), with the server's and chromedriver's logs. The test fails,
//! never skips, when Chromium is missing.

mod common;
mod webdriver;

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use webdriver::{chromedriver, http, wait_for, Driver};

const OWNER: (&str, &str) = ("owner@example.com", "owner-passphrase-1");
const VIEWER: (&str, &str) = ("viewer@example.com", "viewer-passphrase-1");
/// Orders before this day go into the store from the command line; the rest come through the
/// Import page.
const SPLIT: &str = "2024-10-01";

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_holdfast")
}

/// Where screenshots and logs go: `<target>/artefacts/browser`.
fn artefacts() -> PathBuf {
    let dir = match std::env::var_os("HOLDFAST_ARTEFACTS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(exe()).parent().and_then(Path::parent).expect("the binary lives in <target>/<profile>/").join("artefacts/browser"),
    };
    std::fs::create_dir_all(&dir).expect("artefacts directory");
    for e in std::fs::read_dir(&dir).expect("artefacts directory").flatten() {
        if e.path().extension().is_some_and(|x| x == "png") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    dir
}

/// `holdfast --db URL user add EMAIL --role ROLE`, the password on standard input.
fn add_user(db: &str, (email, password): (&str, &str), role: &str) {
    let mut c = Command::new(exe())
        .args(["--db", db, "--quiet", "user", "add", email, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run holdfast user add");
    c.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("write the password");
    let o = c.wait_with_output().expect("holdfast user add");
    assert!(o.status.success(), "user add {email}: {}", String::from_utf8_lossy(&o.stderr));
}

/// Splits a generated orders file at `SPLIT` (by the `ordered_at` column): (before, after).
fn split_orders(all: &Path, before: &Path, after: &Path) -> usize {
    let mut r = csv::Reader::from_path(all).expect("generated orders");
    let header = r.headers().expect("header").clone();
    let date = header.iter().position(|h| h == "ordered_at").expect("an ordered_at column");
    let mut a = csv::Writer::from_path(before).expect("write");
    let mut b = csv::Writer::from_path(after).expect("write");
    a.write_record(&header).unwrap();
    b.write_record(&header).unwrap();
    let mut n_after = 0;
    for rec in r.records() {
        let rec = rec.expect("a row");
        if &rec[date][..10] < SPLIT {
            a.write_record(&rec).unwrap();
        } else {
            b.write_record(&rec).unwrap();
            n_after += 1;
        }
    }
    a.flush().unwrap();
    b.flush().unwrap();
    n_after
}

/// A copy of the orders file `from` whose data row `row` (1-based; line `row + 1`) has an amount
/// that is not one.
fn break_amount(from: &Path, to: &Path, row: usize, bad: &str) {
    let mut r = csv::Reader::from_path(from).expect("orders");
    let header = r.headers().expect("header").clone();
    let amount = header.iter().position(|h| h == "amount").expect("an amount column");
    let mut w = csv::Writer::from_path(to).expect("write");
    w.write_record(&header).unwrap();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.expect("a row");
        let fields: Vec<&str> = rec.iter().enumerate().map(|(j, f)| if i + 1 == row && j == amount { bad } else { f }).collect();
        w.write_record(&fields).unwrap();
    }
    w.flush().unwrap();
}

/// Screenshots of the page the browser shows, at 1400 px and 390 px wide.
struct Shots {
    dir: PathBuf,
    n: u32,
    taken: Vec<String>,
}

impl Shots {
    fn take(&mut self, d: &Driver, name: &str) {
        self.n += 1;
        for (width, mobile) in [(1400, false), (390, true)] {
            let png = d.screenshot(width, mobile, 7000);
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot of {name} is not a PNG");
            let file = format!("{:02}-{name}-{width}.png", self.n);
            std::fs::write(self.dir.join(&file), png).expect("write a screenshot");
            self.taken.push(file);
        }
    }
}

/// Fills the form at /login and sends it.
fn send_login(d: &Driver, base: &str, (email, password): (&str, &str)) {
    d.goto(&format!("{base}/login"));
    let e = d.find("input[name=email]");
    d.clear(&e);
    d.type_into(&e, email);
    d.type_into(&d.find("input[name=password]"), password);
    d.click(&d.find("form.login-box button[type=submit]"));
}

/// Signs in through the form at /login; waits for the overview.
fn sign_in(d: &Driver, base: &str, who: (&str, &str)) {
    let email = who.0;
    send_login(d, base, who);
    wait_for(&format!("{email} to be signed in (at {})", d.url()), Duration::from_secs(10), || (d.path() == "/").then_some(()));
    assert_eq!(h1(d), "Overview");
}

fn h1(d: &Driver) -> String {
    d.text(&d.find("main h1"))
}

/// The overview's cards as (label, value) and its movement table, as the page shows them.
fn overview_figures(d: &Driver) -> (Vec<(String, String)>, Vec<Vec<String>>, String) {
    let cards = d.js(
        "return [...document.querySelectorAll('.cards > .card')].map(c => [c.querySelector('.label').textContent.trim(), c.querySelector('.value').textContent.trim()])",
        json!([]),
    );
    let rows = d.js(
        "return [...document.querySelectorAll('main > .table-wrap table.grid tbody tr')].map(tr => [...tr.cells].map(td => td.textContent.trim()))",
        json!([]),
    );
    let lead = d.text(&d.find("p.lead"));
    let cards = serde_json::from_value::<Vec<(String, String)>>(cards).expect("cards");
    let rows = serde_json::from_value::<Vec<Vec<String>>>(rows).expect("rows");
    (cards, rows, lead)
}

/// `12345` → `12,345` (the dashboard's English figures).
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("−{out}")
    } else {
        out
    }
}

fn pct(v: &Value) -> String {
    v.as_f64().filter(|x| x.is_finite()).map_or("—".into(), |x| format!("{:.1}%", x * 100.0))
}

fn dollars(v: &Value) -> String {
    format!("${}", grouped(v.as_f64().expect("revenue").round() as i64))
}

/// The rows of the overview's movement table as `holdfast movement --json` says they must read.
fn expected_rows(mv: &Value) -> Vec<Vec<String>> {
    let periods = mv["periods"].as_array().expect("periods");
    periods
        .iter()
        .rev()
        .take(13)
        .map(|p| {
            let n = |k: &str| grouped(p[k].as_i64().unwrap_or_else(|| panic!("{k} in {p}")));
            vec![
                p["label"].as_str().unwrap().to_owned(),
                n("active_start"),
                n("new"),
                n("reactivated"),
                n("lost"),
                n("active_end"),
                pct(&p["retention_rate"]),
                pct(&p["churn_rate"]),
                dollars(&p["revenue"]),
            ]
        })
        .collect()
}

fn card<'a>(cards: &'a [(String, String)], label: &str) -> &'a str {
    &cards.iter().find(|(l, _)| l == label).unwrap_or_else(|| panic!("no {label:?} card among {cards:?}")).1
}

/// The tasks of one customer, every state, as `holdfast task list --customer ID --json` prints.
fn tasks_of(db: &str, customer: &str) -> Vec<Value> {
    let v = common::json(db, &["task", "list", "--customer", customer, "--json"]);
    v["tasks"].as_array().cloned().unwrap_or_else(|| panic!("no tasks array: {v}"))
}

fn task_state(db: &str, customer: &str, id: i64) -> String {
    let tasks = tasks_of(db, customer);
    let t = tasks.iter().find(|t| t["id"] == id).unwrap_or_else(|| panic!("task {id} is not among {customer}'s: {tasks:?}"));
    t["state"].as_str().unwrap_or_default().to_owned()
}

/// The id and customer of the `n`th task in the Today queue (0-based).
fn queue_task(d: &Driver, n: usize) -> (i64, String) {
    let v = d.js(
        "const li = document.querySelectorAll('ol.queue > li.task')[arguments[0]]; return li ? [li.id, li.querySelector('a.customer').textContent.trim()] : null",
        json!([n]),
    );
    let id = v[0].as_str().and_then(|s| s.strip_prefix("task-")).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no task {n} in the queue: {v}"));
    (id, v[1].as_str().unwrap().to_owned())
}

/// A form POST the way a script would craft it: the session cookie, the page's form token and our
/// own Origin.
fn crafted_post(port: u16, path: &str, cookie: &str, form: &str) -> webdriver::Reply {
    let cookie = format!("holdfast_session={cookie}");
    let origin = format!("http://127.0.0.1:{port}");
    http(port, "POST", path, &[("Cookie", &cookie), ("Origin", &origin), ("Content-Type", "application/x-www-form-urlencoded")], form.as_bytes()).expect("POST")
}

#[test]
fn dashboard_in_a_real_browser() {
    let started = Instant::now();
    // Dropped last: reaps the browser's detached helpers.
    let _reaper = webdriver::Reaper::new();
    let out = artefacts();
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", tmp.path().join("h.db").display());

    // A store with 33 months of orders, a queue of tasks, an owner and a viewer.
    let all = tmp.path().join("all.csv");
    let first = tmp.path().join("first.csv");
    std::fs::create_dir(tmp.path().join("broken")).unwrap();
    let fixed = tmp.path().join("orders-q4.csv");
    let broken = tmp.path().join("broken").join("orders-q4.csv");
    common::ok(&db, &["generate", "--customers", "300", "--seed", "12", "--out", all.to_str().unwrap()]);
    let n_new = split_orders(&all, &first, &fixed);
    assert!(n_new > 50, "the last quarter holds {n_new} orders");
    break_amount(&fixed, &broken, 4, "12.3O");
    common::ok(&db, &["import", "orders", first.to_str().unwrap()]);
    common::ok(&db, &["at-risk"]);
    common::ok(&db, &["score"]);
    add_user(&db, OWNER, "owner");
    add_user(&db, VIEWER, "viewer");
    let orders_before = common::ok(&db, &["export", "orders"]);

    // The artefacts directory outlives the run: this run's server log starts empty.
    let _ = std::fs::remove_file(out.join("serve.log"));
    let (mut server, port) = webdriver::serve(&db, &out.join("serve.log"), Duration::from_secs(20));
    let (_driver_proc, wd_port) = chromedriver(&out.join("chromedriver.log"));
    let profile = tempfile::tempdir().expect("profile dir");
    let d = Driver::new(wd_port, profile.path());
    let base = format!("http://127.0.0.1:{port}");
    let mut shots = Shots { dir: out.clone(), n: 0, taken: vec![] };

    // Signing in: a page nobody may see without a session sends them to the form, and back.
    d.goto(&format!("{base}/today"));
    wait_for("the sign-in form", Duration::from_secs(10), || d.path().starts_with("/login").then_some(()));
    shots.take(&d, "login");
    send_login(&d, &base, (OWNER.0, "not the password"));
    let refused = d.text(&d.find("form.login-box .error"));
    assert!(refused.contains("Wrong e-mail or password"), "a wrong password: {refused}");
    assert!(d.path().starts_with("/login"), "a wrong password left the sign-in page: {}", d.path());
    sign_in(&d, &base, OWNER);
    let (cards_before, rows_before, lead_before) = overview_figures(&d);

    // An orders file with one bad row: its line and column are shown, and nothing is written.
    d.goto(&format!("{base}/import"));
    assert_eq!(h1(&d), "Import");
    d.type_into(&d.find("form.upload input[type=file]"), broken.to_str().unwrap());
    d.click(&d.find("form.upload button.primary"));
    let err = d.text(&d.find("main .error"));
    assert!(err.contains("Nothing was written"), "the error says nothing about the store: {err}");
    assert!(err.contains("orders-q4.csv:5"), "the error does not name line 5 of the file: {err}");
    assert!(err.contains("amount") && err.contains("12.3O"), "the error does not name the column and the value: {err}");
    assert!(d.find_all("section.preview").is_empty(), "a file with a bad row got a preview with an Import button");
    shots.take(&d, "import-error");
    assert_eq!(common::ok(&db, &["export", "orders"]), orders_before, "a refused upload changed the orders in the store");

    // The fixed file: a preview of what will be imported, then the import.
    d.type_into(&d.find("form.upload input[type=file]"), fixed.to_str().unwrap());
    d.click(&d.find("form.upload button.primary"));
    let preview = d.text(&d.find("section.preview"));
    assert!(preview.contains("orders-q4.csv") && preview.contains("nothing written yet"), "preview: {preview}");
    assert!(preview.contains(&grouped(n_new as i64)), "the preview does not count {n_new} rows: {preview}");
    assert_eq!(common::ok(&db, &["export", "orders"]), orders_before, "the preview wrote to the store");
    shots.take(&d, "import-preview");
    d.click(&d.find("section.preview form[action='/import/run'] button"));
    let done = d.text(&d.find("main p.ok"));
    assert!(done.contains(&format!("{} new", n_new)), "the import did not add the {n_new} orders: {done}");
    let exported = common::ok(&db, &["export", "orders"]);
    assert_eq!(exported.lines().count(), orders_before.lines().count() + n_new, "the store does not hold the imported orders");
    shots.take(&d, "import-done");

    // Settings: the inactivity window the overview uses.
    d.goto(&format!("{base}/settings"));
    assert_eq!(h1(&d), "Settings");
    let window = d.attr(&d.find("input[name=window_days]"), "value").expect("the window");
    assert!(d.text(&d.find("main")).contains(VIEWER.0), "the settings page does not list the viewer");
    shots.take(&d, "settings");

    // The overview now shows what `holdfast movement --json` computes over the same store.
    d.goto(&format!("{base}/"));
    let (cards, rows, lead) = overview_figures(&d);
    let mv = common::json(&db, &["movement", "--json", "--window", &window]);
    assert_eq!(rows, expected_rows(&mv), "the overview's movement table differs from holdfast movement --json");
    let periods = mv["periods"].as_array().unwrap();
    let last = periods.last().unwrap();
    let complete = periods.iter().rev().find(|p| p["complete"] == true).expect("a complete period");
    assert_eq!(card(&cards, "Active customers"), grouped(last["active_end"].as_i64().unwrap()));
    assert_eq!(card(&cards, "Retention"), pct(&complete["retention_rate"]));
    assert_eq!(card(&cards, "Churn"), pct(&complete["churn_rate"]));
    assert_eq!(card(&cards, "Revenue"), dollars(&complete["revenue"]));
    let won = complete["new"].as_i64().unwrap() + complete["reactivated"].as_i64().unwrap();
    let said = format!(
        "{}: {} customers were active at the start; we lost {} and won {}",
        complete["label"].as_str().unwrap(),
        grouped(complete["active_start"].as_i64().unwrap()),
        complete["lost"],
        won
    );
    assert!(lead.starts_with(&said), "the overview's lead {lead:?} does not start {said:?}");
    assert_ne!((&cards, &rows, &lead), (&cards_before, &rows_before, &lead_before), "the overview did not change with the import");
    assert!(rows.first().map(|r| r[0].as_str()) > rows_before.first().map(|r| r[0].as_str()), "the overview does not reach the imported quarter");
    shots.take(&d, "overview");

    // Today: open the first customer of the queue, then mark their task done.
    d.goto(&format!("{base}/today"));
    assert_eq!(h1(&d), "Today");
    shots.take(&d, "today");
    let (task, customer) = queue_task(&d, 0);
    assert_eq!(task_state(&db, &customer, task), "open");
    d.click(&d.find(&format!("#task-{task} a.customer")));
    wait_for("the customer page", Duration::from_secs(10), || (d.path() == format!("/customers/{customer}")).then_some(()));
    let page = d.text(&d.find("main"));
    assert!(page.contains(&format!("id {customer}")), "the customer page does not show {customer}: {page}");
    assert!(!d.find_all("ol.timeline li.order").is_empty(), "the customer page shows no orders");
    shots.take(&d, "customer");
    // The customer's own time zone and sending window, set from their page.
    let form = format!("form[action='/customers/{customer}/sending']");
    for (name, value) in [("time_zone", "Europe/Moscow"), ("send_window", "09:00-12:00")] {
        let input = d.find(&format!("{form} input[name={name}]"));
        d.clear(&input);
        d.type_into(&input, value);
    }
    d.click(&d.find(&format!("{form} button")));
    wait_for("the customer page after the sending form", Duration::from_secs(10), || {
        // read in one script call: the page may be replaced between two calls
        let main = d.js("const m = document.querySelector('main'); return m ? m.innerText : ''", json!([]));
        (d.path() == format!("/customers/{customer}") && main.as_str().is_some_and(|t| t.contains("Sending window: 09:00-12:00"))).then_some(())
    });
    let page = d.text(&d.find("main"));
    assert!(page.contains("Time zone: Europe/Moscow") && page.contains("Sending window: 09:00-12:00"), "{page}");
    shots.take(&d, "customer-sending");
    d.goto(&format!("{base}/today"));
    d.click(&d.find(&format!("#task-{task} form[action='/tasks/{task}/done'] button")));
    wait_for("the done task to leave the queue", Duration::from_secs(10), || d.find_all(&format!("#task-{task}")).is_empty().then_some(()));
    d.goto(&format!("{base}/today"));
    assert!(d.find_all(&format!("#task-{task}")).is_empty(), "task {task} is back in the queue after a reload");
    assert_eq!(task_state(&db, &customer, task), "done", "task {task} is not done in the store");

    // The owner's cookie and form token in a crafted POST do work: the viewer's 403 below comes
    // from the role, not from the request.
    let (owner_task, owner_customer) = queue_task(&d, 0);
    let owner_cookie = d.cookie("holdfast_session").expect("the owner's session cookie");
    let owner_csrf = d.js("return document.querySelector('input[name=csrf]').value", json!([]));
    let r = crafted_post(port, &format!("/tasks/{owner_task}/done"), &owner_cookie, &format!("csrf={}&back=/today", owner_csrf.as_str().unwrap()));
    assert_eq!(r.status, 303, "the owner's crafted POST: {}", r.text());
    assert_eq!(task_state(&db, &owner_customer, owner_task), "done");

    // The other pages.
    for (path, title) in [("/customers", "Customers"), ("/cohorts", "Cohorts"), ("/segments", "Segments"), ("/prediction", "Prediction")] {
        d.goto(&format!("{base}{path}"));
        assert_eq!(h1(&d), title, "{path}");
        let text = d.text(&d.find("main"));
        assert!(!text.contains("Nothing here yet"), "{path} is empty");
        shots.take(&d, &path[1..]);
    }

    // A viewer sees the queue but no action, and a crafted POST with their session is refused.
    d.click(&d.find("form[action='/logout'] button"));
    wait_for("the sign-out", Duration::from_secs(10), || d.path().starts_with("/login").then_some(()));
    sign_in(&d, &base, VIEWER);
    d.goto(&format!("{base}/today"));
    let (v_task, v_customer) = queue_task(&d, 0);
    assert!(d.find_all("ol.queue .actions, form[action^='/tasks/'], button[data-task-action]").is_empty(), "a viewer's queue has action buttons");
    shots.take(&d, "today-viewer");
    let cookie = d.cookie("holdfast_session").expect("the viewer's session cookie");
    let csrf = d.js("return document.querySelector('input[name=csrf]').value", json!([]));
    let csrf = csrf.as_str().expect("the viewer's form token");
    let r = crafted_post(port, &format!("/tasks/{v_task}/done"), &cookie, &format!("csrf={csrf}&back=/today"));
    assert_eq!(r.status, 403, "a viewer's crafted POST /tasks/{v_task}/done: {} {}", r.status, r.text());
    let origin = format!("http://127.0.0.1:{port}");
    let r = http(
        port,
        "POST",
        &format!("/api/v1/tasks/{v_task}/done"),
        &[("Cookie", &format!("holdfast_session={cookie}")), ("X-CSRF-Token", csrf), ("Origin", &origin)],
        b"",
    )
    .expect("POST");
    assert_eq!(r.status, 403, "a viewer's POST /api/v1/tasks/{v_task}/done: {}", r.text());
    assert_eq!(r.json()["error"]["code"], "forbidden");
    assert_eq!(task_state(&db, &v_customer, v_task), "open", "a viewer's request changed task {v_task}");
    d.goto(&format!("{base}/customers/{v_customer}"));
    assert!(d.find_all("form[action$='/notes']").is_empty(), "a viewer's customer page has the note form");
    assert!(d.find_all("form[action$='/sending']").is_empty(), "a viewer's customer page has the sending form");
    d.goto(&format!("{base}/import"));
    assert!(d.find_all("input[type=file]").is_empty(), "a viewer's import page has the upload form");

    // The server stops cleanly on SIGTERM.
    drop(d);
    let status = server.stop(Duration::from_secs(10)).expect("the server's exit status");
    assert!(status.success(), "holdfast serve did not stop cleanly on SIGTERM: {status}");
    eprintln!("browser test: {} screenshots in {} ({:.1} s)", shots.taken.len(), out.display(), started.elapsed().as_secs_f64());
}
