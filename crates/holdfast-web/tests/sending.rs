//! The engine's settings as a person and a tool meet them, in process: the Campaigns page, the
//! Sending section of Settings (owner only, CSRF-checked forms), a customer's own time zone and
//! sending window (the customer's page; managers and owners), and `/api/v1/sending`,
//! `/api/v1/customers/{id}/sending`, `/api/v1/webhooks` and `/api/v1/suppressions` — on SQLite
//! and PostgreSQL.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use holdfast_app::App;
use holdfast_store::{Role, Scope};
use holdfast_web::{router, Shared};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough passphrase";

const CAMPAIGN: &str = "name = \"spring-note\"\ntrigger = { kind = \"once\", at = \"2025-03-01T10:00:00Z\" }\naudience = { all = true }\nholdout = 0.10\n\
[[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"Hello\"\nbody = \"Spring is here.\"\n";

const ORDERS: &str = "order_id,customer_id,ordered_at,amount,status\n1,C1,2024-01-05,100.00,completed\n2,C2,2024-02-10,20.00,completed\n";

struct Answer {
    status: StatusCode,
    body: String,
    cookie: Option<String>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form token in the page") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

#[derive(Clone)]
enum Auth {
    None,
    Token(String),
    Cookie(String),
    /// A session cookie with a browser asking for Russian.
    CookieRu(String),
    /// A session cookie and the form token in `X-CSRF-Token`, as the dashboard's own scripts
    /// call the API.
    Session(String, String),
}

struct Client {
    router: axum::Router,
}

impl Client {
    async fn send(&self, method: &str, path: &str, auth: &Auth, content_type: Option<&str>, body: &str) -> Answer {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, "holdfast.test");
        b = match auth {
            Auth::None => b,
            Auth::Token(t) => b.header(header::AUTHORIZATION, format!("Bearer {t}")),
            Auth::Cookie(c) => b.header(header::COOKIE, c).header(header::ORIGIN, "http://holdfast.test"),
            Auth::CookieRu(c) => b.header(header::COOKIE, c).header(header::ORIGIN, "http://holdfast.test").header(header::ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9"),
            Auth::Session(c, csrf) => b.header(header::COOKIE, c).header(header::ORIGIN, "http://holdfast.test").header("x-csrf-token", csrf),
        };
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let resp = self.router.clone().oneshot(b.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let status = resp.status();
        let cookie = resp.headers().get(header::SET_COOKIE).map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Answer { status, body: String::from_utf8_lossy(&body).into_owned(), cookie }
    }
    async fn get(&self, path: &str, auth: &Auth) -> Answer {
        self.send("GET", path, auth, None, "").await
    }
    async fn form(&self, path: &str, auth: &Auth, form: &str) -> Answer {
        self.send("POST", path, auth, Some("application/x-www-form-urlencoded"), form).await
    }
    async fn json(&self, method: &str, path: &str, auth: &Auth, body: &str) -> Answer {
        self.send(method, path, auth, Some("application/json"), body).await
    }
    async fn sign_in(&self, email: &str) -> Auth {
        let a = self
            .send(
                "POST",
                "/login",
                &Auth::None,
                Some("application/x-www-form-urlencoded"),
                &format!("email={}&password={}&next=/", email.replace('@', "%40"), PASSWORD.replace(' ', "+")),
            )
            .await;
        Auth::Cookie(a.cookie.expect("a session cookie"))
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn sending(url: &str) {
    let app = App::open(url).await.unwrap();
    holdfast_app::accounts::add_user(&app, "owner@a.test", None, PASSWORD, Role::Owner, now()).await.unwrap();
    holdfast_app::accounts::add_user(&app, "manager@a.test", None, PASSWORD, Role::Manager, now()).await.unwrap();
    holdfast_app::accounts::add_user(&app, "viewer@a.test", None, PASSWORD, Role::Viewer, now()).await.unwrap();
    let write = Auth::Token(holdfast_app::accounts::create_token(&app, "shop", Scope::Write, None, now()).await.unwrap().token);
    let read = Auth::Token(holdfast_app::accounts::create_token(&app, "bi", Scope::Read, None, now()).await.unwrap().token);
    holdfast_engine::add_campaign(&app.store, &app.ws, "spring.toml", CAMPAIGN, now()).await.unwrap();
    holdfast_app::import_bytes(&app, holdfast_store::Entity::Orders, "orders.csv", ORDERS.as_bytes().to_vec(), &Default::default(), &holdfast_app::Quiet)
        .await
        .unwrap();
    let c = Client { router: router(Shared::new(app.store.clone())) };
    let owner = c.sign_in("owner@a.test").await;
    let manager = c.sign_in("manager@a.test").await;
    let viewer = c.sign_in("viewer@a.test").await;

    // Pages render, with the Campaigns link; the Sending section is the owner's only.
    let campaigns = c.get("/campaigns", &owner).await;
    assert_eq!(campaigns.status, StatusCode::OK, "{}", campaigns.body);
    assert!(campaigns.body.contains("href=\"/campaigns\"") && campaigns.body.contains("spring-note") && campaigns.body.contains("10.0%"), "{}", campaigns.body);
    assert!(campaigns.body.contains("/campaigns/spring-note/pause"));
    let settings = c.get("/settings", &owner).await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(settings.body.contains("id=\"sending\"") && settings.body.contains("value=\"21:00-09:00\""), "{}", settings.body);
    let v_settings = c.get("/settings", &viewer).await;
    assert_eq!(v_settings.status, StatusCode::OK);
    assert!(!v_settings.body.contains("id=\"sending\""));
    let v_campaigns = c.get("/campaigns", &viewer).await;
    assert!(v_campaigns.body.contains("spring-note") && !v_campaigns.body.contains("/pause"), "a viewer sees no buttons");
    let Auth::Cookie(owner_cookie) = owner.clone() else { unreachable!() };
    let ru = c.get("/settings", &Auth::CookieRu(owner_cookie.clone())).await.body;
    assert!(ru.contains("Рассылка") && ru.contains("Стоп-лист") && ru.contains("Кампании"), "Russian texts");

    // Forms need the form token; a viewer may change nothing, a manager no settings.
    let csrf = settings.csrf();
    let v_csrf = v_settings.csrf();
    let m_csrf = c.get("/settings", &manager).await.csrf();
    let set = "quiet_hours=22%3A30-08%3A00&from=Shop+%3Cnews%40shop.example%3E&allow_private_webhooks=true";
    assert!(c.form("/settings/sending", &owner, set).await.status.is_client_error(), "no form token");
    assert_eq!(c.form("/settings/sending", &owner, &format!("csrf=wrong&{set}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.form("/settings/sending", &viewer, &format!("csrf={v_csrf}&{set}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.form("/settings/sending", &manager, &format!("csrf={m_csrf}&{set}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.form("/campaigns/spring-note/pause", &viewer, &format!("csrf={v_csrf}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.form("/settings/suppressions", &viewer, &format!("csrf={v_csrf}&email=x%40shop.example")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.engine_settings(app.ws.id).await.unwrap(), Default::default(), "no refused form changed anything");
    assert!(app.store.suppressions(app.ws.id).await.unwrap().is_empty());

    // The owner saves the settings; a bad value names itself.
    assert_eq!(c.form("/settings/sending", &owner, &format!("csrf={csrf}&{set}")).await.status, StatusCode::SEE_OTHER);
    let s = app.store.engine_settings(app.ws.id).await.unwrap();
    assert_eq!((s.quiet_start, s.quiet_end, s.smtp_from.as_deref(), s.allow_private_webhooks), (22 * 60 + 30, 8 * 60, Some("Shop <news@shop.example>"), true));
    let bad = c.form("/settings/sending", &owner, &format!("csrf={csrf}&quiet_hours=25%3A00-08%3A00")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("25:00-08:00") && bad.body.contains("HH:MM-HH:MM"), "{}", bad.body);
    // Unchecked box: private webhooks refused again; the other settings as sent.
    assert_eq!(c.form("/settings/sending", &owner, &format!("csrf={csrf}&quiet_hours=none&from=")).await.status, StatusCode::SEE_OTHER);
    let s = app.store.engine_settings(app.ws.id).await.unwrap();
    assert_eq!((s.quiet_start == s.quiet_end, s.smtp_from, s.allow_private_webhooks), (true, None, false));

    // A webhook endpoint: its secret shown once, a private address refused.
    let private = c.form("/settings/webhooks", &owner, &format!("csrf={csrf}&name=crm&url={}", enc("http://127.0.0.1:9000/hook"))).await;
    assert_eq!(private.status, StatusCode::BAD_REQUEST);
    assert!(private.body.contains("not a public address"), "{}", private.body);
    let added = c.form("/settings/webhooks", &owner, &format!("csrf={csrf}&name=crm&url={}&secret=", enc("https://crm.example.com/hooks"))).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let secret: String =
        added.body.split("whsec_").nth(1).expect("the secret, once").chars().take_while(|ch| ch.is_ascii_alphanumeric() || "+/=".contains(*ch)).collect();
    assert_eq!(secret.len(), 32, "24 random bytes in base64");
    let later = c.get("/settings", &owner).await.body;
    assert!(later.contains("https://crm.example.com/hooks") && !later.contains(&secret), "never again");
    assert_eq!(c.form("/settings/webhooks/crm/disable", &owner, &format!("csrf={csrf}")).await.status, StatusCode::SEE_OTHER);
    assert!(app.store.webhook_endpoints(app.ws.id).await.unwrap()[0].disabled_at.is_some());

    // The suppression list: add, shown, remove.
    assert_eq!(
        c.form("/settings/suppressions", &owner, &format!("csrf={csrf}&email=anna%40shop.example&reason=complaint")).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(c.get("/settings", &owner).await.body.contains("anna@shop.example"));
    assert_eq!(app.store.suppressions(app.ws.id).await.unwrap()[0].reason, "complaint");
    let bad = c.form("/settings/suppressions", &owner, &format!("csrf={csrf}&email=anna")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(c.form("/settings/suppressions/remove", &owner, &format!("csrf={csrf}&email=anna%40shop.example")).await.status, StatusCode::SEE_OTHER);
    assert!(app.store.suppressions(app.ws.id).await.unwrap().is_empty());

    // A manager pauses and resumes a campaign; the owner archives it.
    assert_eq!(c.form("/campaigns/spring-note/pause", &manager, &format!("csrf={m_csrf}")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.engine_campaigns(app.ws.id).await.unwrap()[0].state, "paused");
    assert!(c.get("/campaigns", &owner).await.body.contains("/campaigns/spring-note/resume"));
    assert_eq!(c.form("/campaigns/spring-note/resume", &manager, &format!("csrf={m_csrf}")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.form("/campaigns/spring-note/archive", &owner, &format!("csrf={csrf}")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.engine_campaigns(app.ws.id).await.unwrap()[0].state, "archived");
    assert_eq!(c.form("/campaigns/nope/pause", &owner, &format!("csrf={csrf}")).await.status, StatusCode::NOT_FOUND);

    // The API: webhooks.
    let made = c.json("POST", "/api/v1/webhooks", &write, r#"{"name": "erp", "url": "https://erp.example.com/in"}"#).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let m = made.json();
    assert!(m["secret"].as_str().unwrap().starts_with("whsec_") && m["generated"] == true && m["endpoint"]["name"] == "erp");
    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let m = c.json("POST", "/api/v1/webhooks", &write, &format!(r#"{{"name": "crm", "url": "https://crm.example.com/v2", "secret": "{given}"}}"#)).await.json();
    assert_eq!((m["generated"].as_bool(), m["endpoint"]["disabled_at"].is_null()), (Some(false), true), "added again: enabled");
    let list = c.get("/api/v1/webhooks", &read).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["webhooks"].as_array().unwrap().len(), 2);
    assert!(!list.body.contains("whsec_"), "no secret in a list");
    let e = c.json("POST", "/api/v1/webhooks", &read, r#"{"name": "x", "url": "https://x.example.com/"}"#).await;
    assert_eq!((e.status, e.json()["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let e = c.json("POST", "/api/v1/webhooks", &write, r#"{"name": "x", "url": "http://10.1.2.3/"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("url")));
    let e = c.json("POST", "/api/v1/webhooks", &write, r#"{"name": "x", "url": "https://x.example.com/", "secret": "hunter2"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("secret")));
    assert_eq!(c.json("POST", "/api/v1/webhooks/erp/disable", &write, "").await.status, StatusCode::OK);
    let e = c.json("POST", "/api/v1/webhooks/nope/disable", &write, "").await;
    assert_eq!((e.status, e.json()["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // The API: suppressions.
    let e = c.json("POST", "/api/v1/suppressions", &write, r#"{"email": "boris@shop.example", "reason": "hard_bounce"}"#).await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    let again = c.json("POST", "/api/v1/suppressions", &write, r#"{"email": "boris@shop.example"}"#).await;
    assert_eq!((again.status, again.json()["suppression"]["reason"].as_str()), (StatusCode::OK, Some("hard_bounce")));
    let e = c.json("POST", "/api/v1/suppressions", &write, r#"{"email": "boris"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")));
    let e = c.json("POST", "/api/v1/suppressions", &write, r#"{"email": "b@shop.example", "reason": "spite"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    assert_eq!(c.json("POST", "/api/v1/suppressions", &read, r#"{"email": "c@shop.example"}"#).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/api/v1/suppressions", &read).await.json()["suppressions"][0]["email"], "boris@shop.example");
    assert_eq!(c.get("/api/v1/suppressions", &viewer).await.status, StatusCode::FORBIDDEN, "a viewer does not see the list");
    assert_eq!(c.get("/api/v1/suppressions", &owner).await.status, StatusCode::OK);
    assert_eq!(c.send("DELETE", "/api/v1/suppressions/boris%40shop.example", &read, None, "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.send("DELETE", "/api/v1/suppressions/boris%40shop.example", &owner, None, "").await.status,
        StatusCode::FORBIDDEN,
        "a session's API write needs the form token header"
    );
    assert_eq!(c.send("DELETE", "/api/v1/suppressions/boris%40shop.example", &write, None, "").await.status, StatusCode::NO_CONTENT);
    let e = c.send("DELETE", "/api/v1/suppressions/boris%40shop.example", &write, None, "").await;
    assert_eq!((e.status, e.json()["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // A customer's own time zone and sending window on the customer's page: the workspace's zone
    // and any time until set; the form is a manager's or an owner's, not a viewer's.
    let zone_of = |id: &'static str| {
        let store = app.store.clone();
        let ws = app.ws.id;
        async move { store.engine_facts(ws, 0, now()).await.unwrap().customers.into_iter().find(|k| k.external_id == id).unwrap().time_zone }
    };
    let prefs = |id: &'static str| holdfast_app::sending::customer_sending(&app, id);
    let page = c.get("/customers/C1", &manager).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Time zone: workspace zone (UTC)") && page.body.contains("Sending window: any time"), "{}", page.body);
    assert!(page.body.contains("action=\"/customers/C1/sending\""), "a manager has the form");
    let v_page = c.get("/customers/C1", &viewer).await.body;
    assert!(v_page.contains("Sending window: any time") && !v_page.contains("/customers/C1/sending"), "a viewer sees no form");
    let set = "time_zone=Europe%2FMoscow&send_window=09%3A00-12%3A00";
    assert_eq!(c.form("/customers/C1/sending", &viewer, &format!("csrf={v_csrf}&{set}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.form("/customers/C1/sending", &manager, &format!("csrf=wrong&{set}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(prefs("C1").await.unwrap(), Default::default(), "no refused form changed anything");
    assert_eq!(zone_of("C1").await, None);
    assert_eq!(c.form("/customers/C1/sending", &manager, &format!("csrf={m_csrf}&{set}")).await.status, StatusCode::SEE_OTHER);
    let shown = c.get("/customers/C1", &manager).await.body;
    assert!(shown.contains("Time zone: Europe/Moscow") && shown.contains("Sending window: 09:00-12:00"), "{shown}");
    assert!(shown.contains("value=\"Europe/Moscow\"") && shown.contains("value=\"09:00-12:00\""), "the form holds the values now in force");
    assert_eq!(zone_of("C1").await.as_deref(), Some("Europe/Moscow"), "the engine reads the customer's zone");
    let ru = c.get("/customers/C1", &Auth::CookieRu(owner_cookie.clone())).await.body;
    assert!(ru.contains("Когда отправлять") && ru.contains("Окно отправки: 09:00-12:00") && ru.contains("Часовой пояс: Europe/Moscow"), "Russian texts");
    // A bad value names its field and changes neither.
    let bad = c.form("/customers/C1/sending", &manager, &format!("csrf={m_csrf}&time_zone=Mars%2FOlympus&send_window=10%3A00-11%3A00")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Time zone: &#34;Mars/Olympus&#34; is not an IANA time zone")
            || bad.body.contains("Time zone: &quot;Mars/Olympus&quot; is not an IANA time zone"),
        "{}",
        bad.body
    );
    let bad = c.form("/customers/C1/sending", &manager, &format!("csrf={m_csrf}&time_zone=UTC&send_window=mornings")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Sending window: ") && bad.body.contains("mornings") && bad.body.contains("is not a sending window"), "{}", bad.body);
    let p = prefs("C1").await.unwrap();
    assert_eq!((p.time_zone.as_deref(), p.send_window.as_deref()), (Some("Europe/Moscow"), Some("09:00-12:00")), "nothing saved");
    assert_eq!(zone_of("C1").await.as_deref(), Some("Europe/Moscow"));
    // Empty fields go back to the workspace's zone and any time.
    assert_eq!(c.form("/customers/C1/sending", &owner, &format!("csrf={csrf}&time_zone=&send_window=none")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(prefs("C1").await.unwrap(), Default::default());
    assert_eq!(zone_of("C1").await, None);
    assert!(c.get("/customers/C1", &owner).await.body.contains("Time zone: workspace zone (UTC)"));
    assert_eq!(c.form("/customers/nobody/sending", &owner, &format!("csrf={csrf}&time_zone=UTC")).await.status, StatusCode::NOT_FOUND);

    // The API: the workspace's sending settings, owners and tokens only.
    let Auth::Cookie(manager_cookie) = manager.clone() else { unreachable!() };
    let Auth::Cookie(viewer_cookie) = viewer.clone() else { unreachable!() };
    let got = c.get("/api/v1/sending", &read).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.json(), serde_json::json!({"quiet_hours": "none", "from": null, "allow_private_webhooks": false}));
    assert_eq!(c.get("/api/v1/sending", &owner).await.status, StatusCode::OK);
    assert_eq!(c.get("/api/v1/sending", &manager).await.status, StatusCode::FORBIDDEN);
    let put = c.json("PUT", "/api/v1/sending", &write, r#"{"quiet_hours": "22:00-08:00", "from": "Shop <news@shop.example>"}"#).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json(), serde_json::json!({"quiet_hours": "22:00-08:00", "from": "Shop <news@shop.example>", "allow_private_webhooks": false}));
    assert_eq!(c.get("/api/v1/sending", &read).await.json()["quiet_hours"], "22:00-08:00", "round trip");
    let e = c.json("PUT", "/api/v1/sending", &write, r#"{"quiet_hours": "late", "allow_private_webhooks": true}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("quiet_hours")), "{}", e.body);
    let e = c.json("PUT", "/api/v1/sending", &write, r#"{"from": "news"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("from")));
    let s = app.store.engine_settings(app.ws.id).await.unwrap();
    assert_eq!((s.quiet_start, s.smtp_from.as_deref(), s.allow_private_webhooks), (22 * 60, Some("Shop <news@shop.example>"), false), "refused: nothing saved");
    assert_eq!(c.json("PUT", "/api/v1/sending", &read, r#"{"quiet_hours": "none"}"#).await.status, StatusCode::FORBIDDEN);
    let e = c.json("PUT", "/api/v1/sending", &Auth::Session(manager_cookie.clone(), m_csrf.clone()), r#"{"quiet_hours": "none"}"#).await;
    assert_eq!((e.status, e.json()["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "a manager changes no settings");
    let post = c.json("POST", "/api/v1/sending", &Auth::Session(owner_cookie.clone(), csrf.clone()), r#"{"from": null, "allow_private_webhooks": true}"#).await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.body);
    assert_eq!(post.json(), serde_json::json!({"quiet_hours": "22:00-08:00", "from": null, "allow_private_webhooks": true}), "null: back to the server's");
    assert_eq!(c.json("PUT", "/api/v1/sending", &write, r#"{"quiet": "none"}"#).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The API: a customer's own time zone and sending window, managers, owners and write tokens.
    let got = c.get("/api/v1/customers/C2/sending", &read).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.json(), serde_json::json!({"customer": "C2", "time_zone": null, "send_window": null, "workspace_time_zone": "UTC"}));
    let put = c.json("PUT", "/api/v1/customers/C2/sending", &write, r#"{"time_zone": "Asia/Tokyo", "send_window": "18:00-21:00"}"#).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!((put.json()["time_zone"].as_str(), put.json()["send_window"].as_str()), (Some("Asia/Tokyo"), Some("18:00-21:00")));
    assert_eq!(c.get("/api/v1/customers/C2/sending", &read).await.json(), put.json(), "round trip");
    assert_eq!(zone_of("C2").await.as_deref(), Some("Asia/Tokyo"));
    let e = c.json("PUT", "/api/v1/customers/C2/sending", &write, r#"{"time_zone": "UTC", "send_window": "25:00-26:00"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("send_window")), "{}", e.body);
    let e = c.json("POST", "/api/v1/customers/C2/sending", &write, r#"{"time_zone": "Nowhere/City"}"#).await;
    assert_eq!((e.status, e.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("time_zone")), "{}", e.body);
    assert!(e.json()["error"]["message"].as_str().unwrap().contains("Nowhere/City"));
    assert_eq!(zone_of("C2").await.as_deref(), Some("Asia/Tokyo"), "refused: nothing saved");
    assert_eq!(c.json("PUT", "/api/v1/customers/C2/sending", &read, r#"{"time_zone": null}"#).await.status, StatusCode::FORBIDDEN);
    let e = c.json("PUT", "/api/v1/customers/C2/sending", &Auth::Session(viewer_cookie, v_csrf.clone()), r#"{"time_zone": null}"#).await;
    assert_eq!((e.status, e.json()["error"]["message"].as_str()), (StatusCode::FORBIDDEN, Some("a viewer may only read")));
    let e = c.json("PUT", "/api/v1/customers/nobody/sending", &write, r#"{"time_zone": "UTC"}"#).await;
    assert_eq!((e.status, e.json()["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(c.get("/api/v1/customers/nobody/sending", &read).await.status, StatusCode::NOT_FOUND);
    let cleared = c.json("POST", "/api/v1/customers/C2/sending", &Auth::Session(manager_cookie, m_csrf.clone()), r#"{"time_zone": null}"#).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!((cleared.json()["time_zone"].is_null(), cleared.json()["send_window"].as_str()), (true, Some("18:00-21:00")), "left out: kept");
    assert_eq!(zone_of("C2").await, None);

    // One OpenAPI document holds them.
    let doc = c.get("/api/v1/openapi.json", &read).await.json();
    for path in [
        "/api/v1/sending",
        "/api/v1/customers/{id}/sending",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{name}/disable",
        "/api/v1/suppressions",
        "/api/v1/suppressions/{email}",
        "/api/v1/campaigns",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} in the OpenAPI document");
    }
    assert!(doc["paths"]["/api/v1/suppressions/{email}"]["delete"].is_object());
    for method in ["get", "put", "post"] {
        assert!(doc["paths"]["/api/v1/sending"][method].is_object() && doc["paths"]["/api/v1/customers/{id}/sending"][method].is_object(), "{method}");
    }
    assert!(doc["components"]["schemas"]["CustomerSendingBody"]["properties"]["send_window"].is_object());
    // Every change is in the audit log.
    let audit: Vec<String> = app.store.audit_log(app.ws.id, 100).await.unwrap().into_iter().map(|a| a.action).collect();
    for action in [
        "sending.update",
        "webhook.add",
        "webhook.disable",
        "suppression.add",
        "suppression.remove",
        "campaign.pause",
        "customer.time_zone",
        "customer.send_window",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
    app.store.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    sending(&format!("sqlite://{}", dir.path().join("web.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_on_postgres() {
    let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("holdfast_websend_{}_{}", std::process::id(), chrono::Utc::now().timestamp_subsec_nanos());
    let url = holdfast_store::admin::create_database(&admin, &name)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is unreachable or refused a test database ({e}); set HOLDFAST_TEST_PG"));
    sending(&url).await;
    let _ = holdfast_store::admin::drop_database(&admin, &name).await;
}
