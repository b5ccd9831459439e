//! The engine's settings as a person and a tool meet them, in process: the Campaigns page, the
//! Sending section of Settings (owner only, CSRF-checked forms), and `/api/v1/webhooks` and
//! `/api/v1/suppressions` — on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use holdfast_app::App;
use holdfast_store::{Role, Scope};
use holdfast_web::{router, Shared};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough passphrase";

const CAMPAIGN: &str = "name = \"spring-note\"\ntrigger = { kind = \"once\", at = \"2025-03-01T10:00:00Z\" }\naudience = { all = true }\nholdout = 0.10\n\
[[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"Hello\"\nbody = \"Spring is here.\"\n";

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

    // One OpenAPI document holds them.
    let doc = c.get("/api/v1/openapi.json", &read).await.json();
    for path in ["/api/v1/webhooks", "/api/v1/webhooks/{name}/disable", "/api/v1/suppressions", "/api/v1/suppressions/{email}", "/api/v1/campaigns"] {
        assert!(doc["paths"][path].is_object(), "{path} in the OpenAPI document");
    }
    assert!(doc["paths"]["/api/v1/suppressions/{email}"]["delete"].is_object());
    // Every change is in the audit log.
    let audit: Vec<String> = app.store.audit_log(app.ws.id, 100).await.unwrap().into_iter().map(|a| a.action).collect();
    for action in ["sending.update", "webhook.add", "webhook.disable", "suppression.add", "suppression.remove", "campaign.pause"] {
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
