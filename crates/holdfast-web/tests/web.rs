//! The server as a client meets it, in process (no network): who may read and change what, the
//! API's answers against the library computations the CLI prints, and its error shapes — on SQLite
//! and PostgreSQL (an unreachable PostgreSQL fails the test; it is never skipped).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use holdfast_app::App;
use holdfast_store::{Role, Scope};
use holdfast_web::{router, Shared};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough passphrase";

const ORDERS: &str = "order_id,customer_id,ordered_at,amount,status\n\
1,C1,2023-01-05,100.00,completed\n\
2,C1,2023-03-05,50.00,completed\n\
3,C2,2023-02-10,20.00,completed\n\
4,C2,2023-02-20,25.00,refunded\n\
5,C3,2023-06-01,70.00,completed\n\
6,C1,2024-01-15,80.00,completed\n";

struct Db {
    url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db { url: format!("sqlite://{}", dir.path().join("web.db").display()), pg: None, _dir: Some(dir) }
    }

    async fn postgres() -> Db {
        let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("holdfast_web_{}_{}", std::process::id(), chrono::Utc::now().timestamp_subsec_nanos());
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

struct Client {
    router: axum::Router,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The session cookie this answer sets.
    fn cookie(&self) -> String {
        let c = self.headers.get(header::SET_COOKIE).expect("a cookie").to_str().unwrap();
        c.split(';').next().unwrap().to_owned()
    }
    /// The form token in a page.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form token in the page") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

impl Client {
    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
    }

    async fn get(&self, path: &str, auth: &Auth) -> Answer {
        self.send(auth.apply(Request::get(path)).body(Body::empty()).unwrap()).await
    }

    async fn post_json(&self, path: &str, auth: &Auth, body: &str) -> Answer {
        self.send(auth.apply(Request::post(path)).header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_owned())).unwrap()).await
    }

    async fn post_form(&self, path: &str, auth: &Auth, form: &str) -> Answer {
        self.send(
            auth.apply(Request::post(path))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::HOST, "holdfast.test")
                .body(Body::from(form.to_owned()))
                .unwrap(),
        )
        .await
    }

    async fn sign_in(&self, email: &str, password: &str) -> Answer {
        self.post_form("/login", &Auth::None, &format!("email={}&password={}&next=/", email.replace('@', "%40"), password.replace(' ', "+"))).await
    }
}

enum Auth {
    None,
    Token(String),
    Cookie(String),
    /// A cookie on a request from another site.
    CookieFrom(String, &'static str),
}

impl Auth {
    fn apply(&self, b: axum::http::request::Builder) -> axum::http::request::Builder {
        match self {
            Auth::None => b,
            Auth::Token(t) => b.header(header::AUTHORIZATION, format!("Bearer {t}")),
            Auth::Cookie(c) => b.header(header::COOKIE, c).header(header::HOST, "holdfast.test").header(header::ORIGIN, "http://holdfast.test"),
            Auth::CookieFrom(c, origin) => b.header(header::COOKIE, c).header(header::ORIGIN, *origin).header("sec-fetch-site", "cross-site"),
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A store with two workspaces: "default" (orders, tasks, an owner, a viewer, tokens) and
/// "other" (its own owner and token).
async fn setup(url: &str) -> (App, App, Client, [String; 3]) {
    let app = App::open(url).await.unwrap();
    holdfast_app::import_bytes(&app, holdfast_store::Entity::Orders, "orders.csv", ORDERS.as_bytes().to_vec(), &Default::default(), &holdfast_app::Quiet)
        .await
        .unwrap();
    let tasks: Vec<holdfast_store::NewTask> = [("C1", 8000), ("C2", 2000), ("C3", 7000)]
        .iter()
        .map(|&(c, stake)| holdfast_store::NewTask {
            customer: c.into(),
            kind: holdfast_core::flags::FlagKind::SilenceBeyondRhythm,
            kinds: vec![],
            reason: "silent for twice the usual gap".into(),
            suggested_step: "personal call".into(),
            due_at: Some(now() + 86_400),
            stake: Some(stake),
            plan: None,
            expected_value: None,
            tier: None,
            origin: None,
            reason_ru: None,
        })
        .collect();
    app.store.sync_tasks(app.ws.id, &tasks, now()).await.unwrap();
    let other = App { store: app.store.clone(), ws: app.store.workspace("other").await.unwrap() };
    holdfast_app::accounts::add_user(&app, "owner@a.test", None, PASSWORD, Role::Owner, now()).await.unwrap();
    holdfast_app::accounts::add_user(&app, "viewer@a.test", None, PASSWORD, Role::Viewer, now()).await.unwrap();
    holdfast_app::accounts::add_user(&other, "owner@b.test", None, PASSWORD, Role::Owner, now()).await.unwrap();
    let write = holdfast_app::accounts::create_token(&app, "shop", Scope::Write, None, now()).await.unwrap().token;
    let read = holdfast_app::accounts::create_token(&app, "bi", Scope::Read, None, now()).await.unwrap().token;
    let other_write = holdfast_app::accounts::create_token(&other, "b", Scope::Write, None, now()).await.unwrap().token;
    let client = Client { router: router(Shared::new(app.store.clone())) };
    (app, other, client, [write, read, other_write])
}

async fn first_open_task(c: &Client, token: &str) -> i64 {
    let page = c.get("/api/v1/tasks?state=open&limit=1", &Auth::Token(token.into())).await.json();
    page["items"][0]["id"].as_i64().expect("an open task")
}

async fn security(url: &str) {
    let (app, _other, c, [write, read, other_write]) = setup(url).await;
    let (w, r, b) = (Auth::Token(write.clone()), Auth::Token(read.clone()), Auth::Token(other_write.clone()));

    // Nothing without credentials; an unknown token is refused.
    assert_eq!(c.get("/api/v1/customers/C1", &Auth::None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.get("/api/v1/customers/C1", &Auth::Token("hf_1_00".into())).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.get("/today", &Auth::None).await.status, StatusCode::SEE_OTHER);

    // Workspace B sees nothing of workspace A.
    assert_eq!(c.get("/api/v1/customers/C1", &w).await.status, StatusCode::OK);
    assert_eq!(c.get("/api/v1/customers/C1", &b).await.status, StatusCode::NOT_FOUND);
    let task = first_open_task(&c, &write).await;
    assert_eq!(c.post_json(&format!("/api/v1/tasks/{task}/done"), &b, "").await.status, StatusCode::NOT_FOUND);
    let tasks_b = c.get("/api/v1/tasks", &b).await.json();
    assert_eq!(tasks_b["items"].as_array().unwrap().len(), 0);
    let b_session = c.sign_in("owner@b.test", PASSWORD).await.cookie();
    assert_eq!(c.get("/customers/C1", &Auth::Cookie(b_session.clone())).await.status, StatusCode::NOT_FOUND);
    assert!(!c.get("/today", &Auth::Cookie(b_session)).await.body.contains("C1"));

    // A read token cannot write.
    let e = c.post_json(&format!("/api/v1/tasks/{task}/done"), &r, "").await;
    assert_eq!(e.status, StatusCode::FORBIDDEN);
    assert_eq!(e.json()["error"]["code"], "forbidden");
    assert_eq!(c.post_json("/api/v1/orders", &r, "[]").await.status, StatusCode::FORBIDDEN);

    // Forms: a viewer cannot work the queue; a post without the form token, or from another
    // site, is refused; the owner with the token may.
    let viewer = c.sign_in("viewer@a.test", PASSWORD).await.cookie();
    let v_csrf = c.get("/today", &Auth::Cookie(viewer.clone())).await.csrf();
    assert_eq!(c.post_form(&format!("/tasks/{task}/done"), &Auth::Cookie(viewer), &format!("csrf={v_csrf}")).await.status, StatusCode::FORBIDDEN);
    let owner = c.sign_in("owner@a.test", PASSWORD).await.cookie();
    let page = c.get("/today", &Auth::Cookie(owner.clone())).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    assert_eq!(c.post_form(&format!("/tasks/{task}/done"), &Auth::Cookie(owner.clone()), "csrf=wrong").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.post_form(&format!("/tasks/{task}/done"), &Auth::Cookie(owner.clone()), "").await.status.is_client_error(), true);
    assert_eq!(
        c.post_form(&format!("/tasks/{task}/done"), &Auth::CookieFrom(owner.clone(), "http://evil.test"), &format!("csrf={csrf}")).await.status,
        StatusCode::FORBIDDEN
    );
    // The API with a session cookie wants the form token in a header.
    assert_eq!(c.post_json(&format!("/api/v1/tasks/{task}/done"), &Auth::Cookie(owner.clone()), "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.task(app.ws.id, task).await.unwrap().state, holdfast_store::TaskState::Open, "no refused request changed the task");
    let done = c.post_form(&format!("/tasks/{task}/done"), &Auth::Cookie(owner.clone()), &format!("csrf={csrf}&back=/today")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.task(app.ws.id, task).await.unwrap().state, holdfast_store::TaskState::Done);

    // Five wrong passwords in a row slow sign-in down, even for the right one.
    for _ in 0..5 {
        assert_eq!(c.sign_in("owner@a.test", "wrong password").await.status, StatusCode::UNAUTHORIZED);
    }
    let slowed = c.sign_in("owner@a.test", PASSWORD).await;
    assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(slowed.headers.contains_key(header::RETRY_AFTER));

    // No secret or password hash in any answer.
    let settings = c.get("/settings", &Auth::Cookie(owner.clone())).await;
    assert_eq!(settings.status, StatusCode::OK);
    for a in [&settings, &c.get("/api/v1/customers", &w).await, &c.get("/api/v1/tasks", &w).await] {
        assert!(!a.body.contains("$argon2"), "a password hash in an answer");
        for t in [&write, &read, &other_write] {
            let secret = t.rsplit('_').next().unwrap();
            assert!(!a.body.contains(secret), "a token's secret in an answer");
        }
    }
    let made = c.post_form("/settings/tokens", &Auth::Cookie(owner.clone()), &format!("csrf={}&name=new&scope=read", settings.csrf())).await;
    assert_eq!(made.status, StatusCode::OK);
    assert!(made.body.contains("hf_"), "a new token is shown once");
    assert!(
        !c.get("/settings", &Auth::Cookie(owner)).await.body.contains(made.body.split("hf_").nth(1).unwrap().split('<').next().unwrap()),
        "and never again"
    );
    app.store.clone().close().await.unwrap();
}

async fn api_answers(url: &str) {
    let (app, _other, c, [write, ..]) = setup(url).await;
    let w = Auth::Token(write);

    // The movement the CLI prints, from the same library calls.
    let cal = app.calendar().unwrap();
    let loaded = holdfast_app::load_orders(&holdfast_app::Source::Store(app.clone()), &cal, false, &holdfast_app::Quiet).await.unwrap();
    let as_of = holdfast_app::resolve_as_of(None, &loaded.log, &cal, "store").unwrap();
    let mv = holdfast_core::movement(
        &loaded.log,
        &cal,
        &holdfast_core::MovementOptions { granularity: holdfast_core::Granularity::Quarter, window_days: 365, as_of, from: None, to: None },
    );
    let got = c.get("/api/v1/movement?period=quarter", &w).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, serde_json::to_string(&mv).unwrap());

    // The customer view, as `holdfast customer C1 --json`.
    let view = app.store.customer_view(app.ws.id, "C1").await.unwrap();
    assert_eq!(
        c.get("/api/v1/customers/C1", &w).await.body,
        serde_json::to_string(&holdfast_app::json::store_document(&view, app.ws.currency).unwrap()).unwrap()
    );

    // The report, as `holdfast analyze --json` over the store; customers written by the API.
    let rep = c.get("/api/v1/report?sections=segments&period=quarter", &w).await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.body);
    assert!(rep.json()["segments"].is_object() && rep.json()["movement"]["periods"].is_array());
    assert_eq!(
        c.post_json("/api/v1/customers", &w, r#"[{"customer_id":"C1","name":"Anna","owner":"owner@a.test","tags":["vip"]}]"#).await.json()["updated"],
        1
    );
    assert_eq!(app.store.customers_where(app.ws.id, Some("C1")).await.unwrap()[0].name.as_deref(), Some("Anna"));
    // One OpenAPI document for every operation, campaigns included, each declaring 401.
    let doc = c.get("/api/v1/openapi.json", &w).await.json();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/campaigns") && paths.contains_key("/api/v1/orders"), "{:?}", paths.keys());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["responses"].get("401").is_some(), "{method} {path} declares no 401");
        }
    }
    let bad = c.get("/api/v1/customers?segment=nobody", &w).await;
    assert_eq!((bad.status, bad.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("segment")));
    assert_eq!(c.get("/api/v1/customers?segment=champions&limit=5", &w).await.status, StatusCode::OK);
    assert_eq!(c.post_json("/api/v1/customers", &w, r#"[{"customer_id":"C1","kind":"robot"}]"#).await.json()["error"]["field"], "[0].kind");

    // Orders: idempotent by id; Idempotency-Key replays; errors name the field.
    let batch = r#"[{"order_id":"W1","customer_id":"C9","ordered_at":"2024-05-01T10:00:00Z","amount":"12.50","lines":[{"product":"paper","quantity":2,"amount":12.5}]}]"#;
    let first = c.post_json("/api/v1/orders", &w, batch).await;
    assert_eq!((first.status, first.json()["inserted"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(c.post_json("/api/v1/orders", &w, batch).await.json()["unchanged"], 1);
    let keyed = |body: &'static str| {
        Request::post("/api/v1/orders")
            .header(
                header::AUTHORIZATION,
                match &w {
                    Auth::Token(t) => format!("Bearer {t}"),
                    _ => unreachable!(),
                },
            )
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", "k-1")
            .body(Body::from(body))
    };
    let a = c.send(keyed(r#"[{"order_id":"W2","customer_id":"C9","ordered_at":"2024-05-02","amount":5}]"#).unwrap()).await;
    let b = c.send(keyed(r#"[{"order_id":"W2","customer_id":"C9","ordered_at":"2024-05-02","amount":5}]"#).unwrap()).await;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(b.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(
        c.send(keyed(r#"[{"order_id":"W2","customer_id":"C9","ordered_at":"2024-05-02","amount":6}]"#).unwrap()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let bad = c.post_json("/api/v1/orders", &w, r#"[{"order_id":"W3","customer_id":"C9","ordered_at":"someday","amount":"1"}]"#).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["field"], "[0].ordered_at");
    assert_eq!(c.post_json("/api/v1/orders", &w, "[{").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        c.post_json("/api/v1/orders", &w, r#"[{"order_id":"W4","customer_id":"C9","ordered_at":"2024-05-02","amount":"1,5"}]"#).await.json()["error"]["field"],
        "[0].amount"
    );
    // An import that fails writes nothing: the good first order of a bad batch is not there.
    assert_eq!(
        c.post_json("/api/v1/orders", &w, r#"[{"order_id":"W5","customer_id":"C9","ordered_at":"2024-05-02","amount":"1"},{"order_id":"W6","customer_id":"C9","ordered_at":"2999-05-02","amount":"1"}]"#)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(!app.store.orders(app.ws.id, Some("C9")).await.unwrap().iter().any(|o| o.external_id == "W5"));

    // Events and feedback; a NUL is refused on both backends alike.
    assert_eq!(c.post_json("/api/v1/events", &w, r#"[{"customer_id":"C1","kind":"login","occurred_at":"2024-05-01"}]"#).await.status, StatusCode::OK);
    assert_eq!(
        c.post_json("/api/v1/events", &w, r#"[{"customer_id":"C1","kind":"login","occurred_at":"2024-05-01","properties":{"x":"a\u0000b"}}]"#).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.post_json("/api/v1/events", &w, r#"[{"customer_id":"C\u0000","kind":"login","occurred_at":"2024-05-01"}]"#).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.post_json("/api/v1/feedback", &w, r#"[{"customer_id":"C1","responded_at":"2024-05-01","score":11}]"#).await.json()["error"]["field"],
        "[0].score"
    );

    // Tasks: a page, a 404, a 400 for a bad id, dismiss needs a reason.
    let task = first_open_task(
        &c,
        match &w {
            Auth::Token(t) => t,
            _ => unreachable!(),
        },
    )
    .await;
    assert_eq!(c.post_json("/api/v1/tasks/999999/done", &w, "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.post_json("/api/v1/tasks/x/done", &w, "").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(c.post_json(&format!("/api/v1/tasks/{task}/dismiss"), &w, r#"{"reason":" "}"#).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let snoozed = c.post_json(&format!("/api/v1/tasks/{task}/snooze"), &w, r#"{"until":"2030-01-01"}"#).await.json();
    assert!(snoozed["snoozed_until"].as_str().unwrap().starts_with("2030-01-01T"), "{snoozed}");
    let assigned = c.post_json(&format!("/api/v1/tasks/{task}/assign"), &w, r#"{"assignee":"owner@a.test"}"#).await.json();
    assert_eq!(assigned["assignee"], "owner@a.test");
    assert_eq!(c.get("/api/v1/tasks?state=maybe", &w).await.json()["error"]["field"], "state");
    assert_eq!(c.get("/api/v1/customers?limit=0", &w).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(c.get("/api/v1/nowhere", &w).await.json()["error"]["code"], "not_found");

    // The OpenAPI document, the probes and the metrics.
    let doc = c.get("/api/v1/openapi.json", &Auth::None).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/orders"]["post"].is_object());
    assert_eq!(c.get("/healthz", &Auth::None).await.status, StatusCode::OK);
    let m = c.get("/metrics", &Auth::None).await.body;
    assert!(m.contains("holdfast_http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"200\"}"), "{m}");
    assert!(m.contains("holdfast_store_pool_connections"));
    app.store.clone().close().await.unwrap();
}

async fn pages_render(url: &str) {
    let (app, _other, c, _) = setup(url).await;
    let owner = Auth::Cookie(c.sign_in("owner@a.test", PASSWORD).await.cookie());
    for path in ["/", "/today", "/customers", "/customers/C1", "/cohorts", "/segments", "/prediction", "/import", "/settings"] {
        let p = c.get(path, &owner).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        assert!(p.body.contains("<nav>") && p.body.contains("</html>"), "{path}");
    }
    // Each segment links to the list of its customers, which holds exactly that segment's.
    holdfast_app::score_workspace(&app, None, &holdfast_app::Quiet).await.unwrap();
    let segs = c.get("/segments", &owner).await.body;
    let at = segs.find("/customers?segment=").expect("segment links") + "/customers?segment=".len();
    let key: String = segs[at..].chars().take_while(|ch| ch.is_ascii_lowercase() || *ch == '_').collect();
    let segment = holdfast_core::segments::Segment::from_key(&key).expect("a segment key");
    let expected = app.store.customers_page_in(app.ws.id, Some(segment), None, 1000).await.unwrap().items;
    assert!(!expected.is_empty() && expected.iter().all(|x| x.segment == Some(segment)));
    let listed = c.get(&format!("/customers?segment={key}"), &owner).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.matches("<tr><td><a href=\"/customers/").count(), expected.len(), "{}", listed.body);
    // The cohort heat map: customers or revenue, with its colour key.
    let cohorts = c.get("/cohorts?period=quarter&metric=revenue", &owner).await.body;
    assert!(cohorts.contains("report show-revenue") && cohorts.contains("cohort-map revenue") && cohorts.contains("heat-legend"), "{cohorts}");
    assert!(cohorts.contains("/cohorts?period=quarter&amp;metric=customers") || cohorts.contains("/cohorts?period=quarter&metric=customers"));
    // The person's own customers open the queue.
    c.get("/today", &owner).await;
    holdfast_app::import_bytes(
        &app,
        holdfast_store::Entity::Customers,
        "customers.csv",
        b"customer_id,owner\nC2,owner@a.test\n".to_vec(),
        &Default::default(),
        &holdfast_app::Quiet,
    )
    .await
    .unwrap();
    let today = c.get("/today", &owner).await.body;
    let mine = today.find("Your customers").expect("the person's own customers first");
    let c2 = today.find("href=\"/customers/C2\"").expect("C2's task");
    let everyone = today.find("Everyone else").expect("then everyone else");
    assert!(mine < c2 && c2 < everyone, "{today}");
    assert_eq!(today.matches("href=\"/customers/C2\"").count(), 1, "not repeated");

    // The queue's tiers and plan: Today filters by tier; the overview opens with this week's list,
    // the person's own customers when they have some.
    let week: Vec<holdfast_store::NewTask> = [("C1", "A"), ("C2", "B"), ("C3", "C")]
        .iter()
        .map(|&(c, tier)| holdfast_store::NewTask {
            customer: c.into(),
            kind: holdfast_core::flags::FlagKind::SilenceBeyondRhythm,
            kinds: vec![],
            reason: format!("{c} is silent"),
            suggested_step: "personal call".into(),
            due_at: Some(now() + 86_400),
            stake: Some(100),
            plan: Some("this_week".into()),
            expected_value: None,
            tier: Some(tier.into()),
            origin: Some("queue".into()),
            reason_ru: Some(format!("{c} молчит")),
        })
        .collect();
    app.store.sync_tasks(app.ws.id, &week, now()).await.unwrap();
    let tier_a = c.get("/today?tier=A", &owner).await.body;
    assert!(tier_a.contains("href=\"/customers/C1\"") && !tier_a.contains("href=\"/customers/C3\""), "{tier_a}");
    assert!(c.get("/today?tier=C", &owner).await.body.contains("href=\"/customers/C3\""));
    let api_tier = c.get("/api/v1/tasks?tier=B&plan=this_week", &owner).await.json();
    assert_eq!(api_tier["items"].as_array().map(|a| a.len()), Some(1), "{api_tier}");
    assert_eq!(c.get("/api/v1/tasks?tier=D", &owner).await.status, StatusCode::BAD_REQUEST);
    let home = c.get("/", &owner).await.body;
    let list = home.find("Your list this week").expect("the overview opens with the person's list");
    assert!(list < home.find("class=\"cards\"").unwrap(), "before the figures");
    assert!(home.contains("C2 is silent") && !home.contains("C1 is silent"), "{home}");

    // With subscriptions, the overview shows revenue retention (NRR, GRR) as `holdfast mrr` computes it.
    assert!(!c.get("/", &owner).await.body.contains("NRR"));
    let subs = "subscription_id,customer_id,plan,mrr,currency,started_at,ended_at,cancel_reason\nS1,C1,pro,100.00,USD,2023-01-01,,\nS2,C2,basic,50.00,USD,2023-01-01,2023-03-15,price\n";
    holdfast_app::import_bytes(&app, holdfast_store::Entity::Subscriptions, "subs.csv", subs.as_bytes().to_vec(), &Default::default(), &holdfast_app::Quiet)
        .await
        .unwrap();
    let (m, _) = holdfast_app::mrr::mrr_report(&app, holdfast_core::Granularity::Month, None, None).await.unwrap().unwrap();
    assert!(m.periods.len() >= 2);
    let overview = c.get("/", &owner).await.body;
    assert!(overview.contains("NRR (subscriptions)"), "{overview}");

    // A note, an interaction and an important date typed on the customer's page.
    let page = c.get("/customers/C1", &owner).await;
    let csrf = page.csrf();
    for (path, form) in [
        ("/customers/C1/notes", format!("csrf={csrf}&body=asked+for+a+call+back")),
        ("/customers/C1/interactions", format!("csrf={csrf}&kind=call&with=Anna&summary=renewal+in+May")),
        ("/customers/C1/dates", format!("csrf={csrf}&kind=contract_renewal&on=2025-05-01&label=contract")),
    ] {
        assert_eq!(c.post_form(path, &owner, &form).await.status, StatusCode::SEE_OTHER, "{path}");
    }
    assert_eq!(c.post_form("/customers/C1/dates", &owner, &format!("csrf={csrf}&kind=contract_renewal&on=someday")).await.status, StatusCode::BAD_REQUEST);
    let view = app.store.customer_view(app.ws.id, "C1").await.unwrap();
    assert_eq!((view.notes.len(), view.interactions.len(), view.important_dates.len()), (1, 1, 1));
    assert_eq!(view.interactions[0].by_whom.as_deref(), Some("owner@a.test"));

    // Russian from the browser's languages; the figures in the workspace currency.
    let ru = c
        .send(
            Request::get("/")
                .header(
                    header::COOKIE,
                    match &owner {
                        Auth::Cookie(c) => c.clone(),
                        _ => unreachable!(),
                    },
                )
                .header(header::ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(ru.body.contains("Удержание"), "the overview in Russian");
    assert!(ru.body.contains("C2 молчит"), "the task's reason in Russian");
    // The customer page shows the learned churn risk and why.
    let reason = holdfast_store::ScoreReason {
        feature: "recency_vs_rhythm".into(),
        value: 2.0,
        contribution: 0.9,
        explanation: "silent for twice the usual gap".into(),
        explanation_ru: "молчит вдвое дольше обычного".into(),
    };
    let mut scores = app.store.scores(app.ws.id, None).await.unwrap();
    let c1 = scores.iter_mut().find(|s| s.customer == "C1").expect("C1 scored");
    c1.risk = Some(0.81);
    c1.risk_reasons = vec![reason];
    app.store.replace_scores(app.ws.id, &scores).await.unwrap();
    let page = c.get("/customers/C1", &owner).await.body;
    assert!(page.contains("Churn risk") && page.contains("81%") && page.contains("silent for twice the usual gap"), "{page}");
    let segs = c.get("/segments", &owner).await.body;
    assert!(segs.contains("Churn risk by segment") && segs.contains("81"), "{segs}");
    let login = c.send(Request::get("/login").header(header::ACCEPT_LANGUAGE, "uk").body(Body::empty()).unwrap()).await;
    assert!(login.body.contains("Войти"));
    app.store.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_on_sqlite() {
    let db = Db::sqlite();
    security(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_on_postgres() {
    let mut db = Db::postgres().await;
    security(&db.url).await;
    db.drop_pg().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_sqlite() {
    let db = Db::sqlite();
    api_answers(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_postgres() {
    let mut db = Db::postgres().await;
    api_answers(&db.url).await;
    db.drop_pg().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_on_sqlite() {
    let db = Db::sqlite();
    pages_render(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_on_postgres() {
    let mut db = Db::postgres().await;
    pages_render(&db.url).await;
    db.drop_pg().await;
}
