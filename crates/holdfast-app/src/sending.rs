//! The engine's sending settings a person sets — one set of rules for `holdfast sending`,
//! `holdfast webhook`, `holdfast suppress`, the dashboard's Settings page and the HTTP API.
//!
//! - Quiet hours ([`QuietHours`], written `21:00-09:00` or `none`), the from-address and whether
//!   webhooks may go to private addresses: [`sending_settings`], [`change_sending`].
//! - Webhook endpoints: [`add_webhook`] (the URL checked as the engine's webhook client checks it,
//!   a `whsec_` secret made when none is given and returned once), [`webhooks`],
//!   [`disable_webhook`].
//! - The suppression list: [`suppress`], [`suppressions`], [`unsuppress`].
//! - A customer's own time zone and sending window: [`set_customer_zone`],
//!   [`set_customer_window`], both at once [`change_customer_sending`]; read back with
//!   [`customer_sending`].
//!
//! Every change is written to the audit log under the `actor` given (`cli` from the command line,
//! the person's e-mail or the token on the web).

use crate::error::{Error, Result};
use crate::workspace::App;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine as _;
use holdfast_store::engine::EngineSettings;
use holdfast_store::Suppression;
use serde::Serialize;
use std::net::IpAddr;

/// Quiet hours: nothing but transactional messages goes out from `start` to `end`, minutes after
/// local midnight in the customer's zone (the end may be on the next day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start: u32,
    pub end: u32,
}

impl QuietHours {
    /// `21:00-09:00` → 21:00 to 09:00; `none` (or `off`) → no quiet hours.
    pub fn parse(text: &str) -> Result<Option<QuietHours>> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || Error::field("quiet_hours", format!("{text:?} is not quiet hours (expected HH:MM-HH:MM such as 21:00-09:00, or none)"));
        let (a, b) = t.split_once('-').or_else(|| t.split_once('–')).ok_or_else(bad)?;
        let (start, end) = (minutes(a.trim()).ok_or_else(bad)?, minutes(b.trim()).ok_or_else(bad)?);
        if start == end {
            return Err(Error::field("quiet_hours", format!("{text:?} starts and ends at the same time (for no quiet hours write none)")));
        }
        Ok(Some(QuietHours { start, end }))
    }

    /// The quiet hours of stored settings (`None`: start and end are equal, no quiet hours).
    pub fn of(s: &EngineSettings) -> Option<QuietHours> {
        (s.quiet_start != s.quiet_end).then_some(QuietHours { start: s.quiet_start, end: s.quiet_end })
    }

    /// `21:00-09:00`.
    pub fn text(&self) -> String {
        format!("{:02}:{:02}-{:02}:{:02}", self.start / 60, self.start % 60, self.end / 60, self.end % 60)
    }
}

/// `H:MM` or `HH:MM` (00:00 to 23:59) as minutes after midnight.
fn minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Quiet hours as text: `21:00-09:00` or `none`.
pub fn quiet_hours_text(q: Option<QuietHours>) -> String {
    q.map_or_else(|| "none".to_owned(), |q| q.text())
}

/// An e-mail address, trimmed: one `@`, a local part, a domain with a dot, no spaces or angle
/// brackets, at most 254 characters. `field` names the input in the error.
pub fn parse_email(field: &str, text: &str) -> Result<String> {
    let t = text.trim();
    let bad = |why: &str| Error::field(field, format!("{text:?} is not an e-mail address ({why}; expected name@example.com)"));
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    if t.chars().count() > 254 {
        return Err(bad("longer than 254 characters"));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\')) {
        return Err(bad("it holds a space or a character an address cannot have"));
    }
    let Some((local, domain)) = t.rsplit_once('@') else { return Err(bad("no @")) };
    if local.is_empty() || local.contains('@') {
        return Err(bad("one @ after a name"));
    }
    let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if !domain.contains('.') || !labels_ok {
        return Err(bad("the part after @ is not a domain"));
    }
    Ok(t.to_owned())
}

/// A from-address: `news@shop.example` or `Shop <news@shop.example>`.
pub fn parse_from(text: &str) -> Result<String> {
    let t = text.trim();
    match t.rsplit_once('<') {
        Some((name, rest)) => {
            let addr = rest.strip_suffix('>').ok_or_else(|| Error::field("from", format!("{text:?}: a from-address with a name is Name <address>")))?;
            let addr = parse_email("from", addr)?;
            let name = name.trim();
            if name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
                return Err(Error::field("from", format!("{text:?}: the name holds a character a from-address cannot have")));
            }
            Ok(if name.is_empty() { addr } else { format!("{name} <{addr}>") })
        }
        None => parse_email("from", t),
    }
}

/// `true`/`false` (also yes/no, on/off, 1/0) for a setting named `field`.
pub fn parse_bool(field: &str, text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(Error::field(field, format!("{text:?} is not true or false"))),
    }
}

/// The engine's sending settings as a person sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SendingSettings {
    /// `21:00-09:00` or `none`.
    pub quiet_hours: String,
    /// The from-address; `None`: the server's `HOLDFAST_SMTP_FROM`.
    pub from: Option<String>,
    pub allow_private_webhooks: bool,
}

impl SendingSettings {
    fn of(s: &EngineSettings) -> SendingSettings {
        SendingSettings { quiet_hours: quiet_hours_text(QuietHours::of(s)), from: s.smtp_from.clone(), allow_private_webhooks: s.allow_private_webhooks }
    }
}

/// A change of the sending settings, as typed: a field left `None` is kept. `from` = `none` (or
/// empty) goes back to the server's `HOLDFAST_SMTP_FROM`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendingChange {
    pub quiet_hours: Option<String>,
    pub from: Option<String>,
    pub allow_private_webhooks: Option<bool>,
}

/// The workspace's sending settings.
pub async fn sending_settings(app: &App) -> Result<SendingSettings> {
    Ok(SendingSettings::of(&app.store.engine_settings(app.ws.id).await?))
}

/// Checks every field of `change` first, then saves them together; the settings now in force.
pub async fn change_sending(app: &App, change: &SendingChange, actor: &str, now: i64) -> Result<SendingSettings> {
    let mut s = app.store.engine_settings(app.ws.id).await?;
    let mut said = Vec::new();
    if let Some(q) = &change.quiet_hours {
        let (start, end) = QuietHours::parse(q)?.map_or((0, 0), |q| (q.start, q.end));
        (s.quiet_start, s.quiet_end) = (start, end);
        said.push(format!("quiet hours {}", quiet_hours_text(QuietHours::of(&s))));
    }
    if let Some(f) = &change.from {
        let f = f.trim();
        s.smtp_from = if f.is_empty() || f.eq_ignore_ascii_case("none") { None } else { Some(parse_from(f)?) };
        said.push(format!("from {}", s.smtp_from.as_deref().unwrap_or("none")));
    }
    if let Some(p) = change.allow_private_webhooks {
        s.allow_private_webhooks = p;
        said.push(format!("private webhooks {}", if p { "allowed" } else { "refused" }));
    }
    if said.is_empty() {
        return Ok(SendingSettings::of(&s));
    }
    app.store.set_engine_settings(app.ws.id, &s).await?;
    app.store.audit(app.ws.id, now, actor, "sending.update", None, Some(&said.join(", "))).await?;
    Ok(SendingSettings::of(&s))
}

/// A webhook endpoint as a person sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookView {
    pub name: String,
    pub url: String,
    /// When it was disabled (by hand, or because it answered 410 Gone); `None`: enabled.
    pub disabled_at: Option<i64>,
}

/// What [`add_webhook`] saved. `secret` is the signing secret: shown once, never read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddedWebhook {
    pub endpoint: WebhookView,
    pub secret: String,
    /// Whether the secret was made here (none was given).
    pub generated: bool,
}

/// A fresh signing secret: `whsec_` and the base64 of 24 random bytes (32 characters, as the
/// Standard Webhooks libraries make them).
pub fn new_webhook_secret() -> String {
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(b))
}

/// A secret given by hand: `whsec_` and base64 of 24 to 64 bytes (Standard Webhooks).
pub fn check_webhook_secret(text: &str) -> Result<String> {
    let t = text.trim();
    let bad = |why: &str| {
        Error::field(
            "secret",
            format!("the secret is not a webhook secret ({why}; expected whsec_ followed by base64 of 24 to 64 bytes, or leave it out to have one made)"),
        )
    };
    let b64 = t.strip_prefix("whsec_").ok_or_else(|| bad("it does not start with whsec_"))?;
    let key = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad("the part after whsec_ is not base64"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(bad(&format!("its key is {} bytes", key.len())));
    }
    Ok(t.to_owned())
}

/// A webhook endpoint's name: 1 to 64 letters, digits, `-`, `_` or `.` (campaign files name it
/// with `endpoint = "…"`; the API puts it in a path).
pub fn check_webhook_name(text: &str) -> Result<String> {
    let t = text.trim();
    if t.is_empty() || t.len() > 64 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(Error::field("name", format!("{text:?} is not an endpoint name (expected 1 to 64 letters, digits, - _ or ., e.g. crm-hook)")));
    }
    Ok(t.to_owned())
}

/// Checks a webhook URL as the engine's webhook client will: `https://` or `http://`, a host, no
/// user name or password; a host that is an address which is not public (loopback, private,
/// link-local …) or `localhost` is refused unless the workspace allows private webhooks. A host
/// name is checked again at every send, against every address it resolves to then.
pub fn check_webhook_url(text: &str, allow_private: bool) -> Result<String> {
    let t = text.trim();
    let bad = |why: String| Error::field("url", format!("{text:?} is not a webhook URL ({why})"));
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://")).ok_or_else(|| bad("it starts with https:// or http://".into()))?;
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it holds a space".into()));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad("a webhook URL carries no user name or password: the signature authenticates it".into()));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split_once(']').map(|(h, _)| h).ok_or_else(|| bad("an IPv6 address is written in [ ]".into()))?
    } else {
        let (h, port) = authority.rsplit_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
        if let Some(p) = port {
            if p.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad(format!("{p:?} is not a port")));
            }
        }
        h
    };
    if host.is_empty() {
        return Err(bad("it names no host".into()));
    }
    if !allow_private {
        let host_l = host.to_ascii_lowercase();
        let private = match host.parse::<IpAddr>() {
            Ok(ip) => !holdfast_channels::is_public_address(ip),
            Err(_) => host_l == "localhost" || host_l.ends_with(".localhost"),
        };
        if private {
            return Err(Error::field(
                "url",
                format!("refused: {host} is not a public address (to send webhooks to loopback or private-network addresses, allow private webhooks for this workspace: holdfast sending set --allow-private-webhooks true)"),
            ));
        }
    }
    Ok(t.to_owned())
}

fn view(e: holdfast_store::engine::WebhookEndpoint) -> WebhookView {
    WebhookView { name: e.name, url: e.url, disabled_at: e.disabled_at }
}

/// Adds a webhook endpoint, or replaces the URL and secret of the one of the same name (enabled
/// again). Without `secret` one is made; either way it is returned once.
pub async fn add_webhook(app: &App, name: &str, url: &str, secret: Option<&str>, actor: &str, now: i64) -> Result<AddedWebhook> {
    let name = check_webhook_name(name)?;
    let settings = app.store.engine_settings(app.ws.id).await?;
    let url = check_webhook_url(url, settings.allow_private_webhooks)?;
    let (secret, generated) = match secret.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => (check_webhook_secret(s)?, false),
        None => (new_webhook_secret(), true),
    };
    app.store.save_webhook_endpoint(app.ws.id, &name, &url, &secret).await?;
    app.store.audit(app.ws.id, now, actor, "webhook.add", Some(&name), Some(&url)).await?;
    Ok(AddedWebhook { endpoint: WebhookView { name, url, disabled_at: None }, secret, generated })
}

/// The workspace's webhook endpoints, by name.
pub async fn webhooks(app: &App) -> Result<Vec<WebhookView>> {
    Ok(app.store.webhook_endpoints(app.ws.id).await?.into_iter().map(view).collect())
}

/// Disables an endpoint: webhook steps that name it fail until it is added again.
pub async fn disable_webhook(app: &App, name: &str, actor: &str, now: i64) -> Result<WebhookView> {
    let all = app.store.webhook_endpoints(app.ws.id).await?;
    let Some(e) = all.iter().find(|e| e.name == name.trim()) else {
        let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        return Err(Error::not_found(format!(
            "no webhook endpoint {name:?} (the workspace has {})",
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        )));
    };
    if e.disabled_at.is_none() {
        app.store.disable_webhook_endpoint(app.ws.id, &e.name, now).await?;
        app.store.audit(app.ws.id, now, actor, "webhook.disable", Some(&e.name), None).await?;
    }
    Ok(WebhookView { name: e.name.clone(), url: e.url.clone(), disabled_at: Some(e.disabled_at.unwrap_or(now)) })
}

/// Why an address is suppressed.
pub const SUPPRESSION_REASONS: [&str; 3] = ["manual", "hard_bounce", "complaint"];

/// What [`suppress`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    pub suppression: Suppression,
    /// `false`: the address was already on the list (its reason and date are kept).
    pub added: bool,
}

/// Puts an address on the suppression list: it is never e-mailed again (checked at the moment of
/// sending), until [`unsuppress`]. `reason`: `manual` (default), `hard_bounce` or `complaint`.
pub async fn suppress(app: &App, email: &str, reason: Option<&str>, actor: &str, now: i64) -> Result<Suppressed> {
    let email = parse_email("email", email)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty()).unwrap_or("manual");
    if !SUPPRESSION_REASONS.contains(&reason) {
        return Err(Error::field("reason", format!("{reason:?} is not a reason (expected manual, hard_bounce or complaint)")));
    }
    if let Some(s) = app.store.suppression(app.ws.id, &email).await? {
        return Ok(Suppressed { suppression: s, added: false });
    }
    app.store.suppress(app.ws.id, &email, reason, now).await?;
    app.store.audit(app.ws.id, now, actor, "suppression.add", Some(&email), Some(reason)).await?;
    Ok(Suppressed { suppression: Suppression { email: email.to_ascii_lowercase(), reason: reason.to_owned(), created_at: now }, added: true })
}

/// The suppression list, by address.
pub async fn suppressions(app: &App) -> Result<Vec<Suppression>> {
    Ok(app.store.suppressions(app.ws.id).await?)
}

/// Takes an address off the suppression list (it may be e-mailed again).
pub async fn unsuppress(app: &App, email: &str, actor: &str, now: i64) -> Result<()> {
    let email = email.trim();
    if !app.store.unsuppress(app.ws.id, email).await? {
        return Err(Error::not_found(format!("{email:?} is not on the suppression list")));
    }
    app.store.audit(app.ws.id, now, actor, "suppression.remove", Some(email), None).await?;
    Ok(())
}

/// A customer's time zone as typed: an IANA name (`None`: `none` or empty, the workspace's).
fn parse_zone(zone: &str) -> Result<Option<String>> {
    let z = zone.trim();
    if z.eq_ignore_ascii_case("none") || z.is_empty() {
        return Ok(None);
    }
    let cal = holdfast_core::Calendar::from_name(z)
        .map_err(|_| Error::field("zone", format!("{z:?} is not an IANA time zone (expected e.g. Europe/Berlin, America/New_York or UTC, or none)")))?;
    Ok(Some(cal.tz.name().to_owned()))
}

/// A customer's sending window as typed: `HH:MM-HH:MM` (`None`: `none`, any time).
fn parse_window(window: &str) -> Result<Option<QuietHours>> {
    QuietHours::parse(window)
        .map_err(|e| Error::field("window", e.message.replace("is not quiet hours", "is not a sending window").replace("for no quiet hours", "for any time")))
}

/// Sets a customer's own time zone (an IANA name such as Europe/Berlin), or `none` to follow the
/// workspace's. Quiet hours and the contact budget's days are the customer's local ones. Returns
/// the zone now in force for the customer.
pub async fn set_customer_zone(app: &App, customer: &str, zone: &str, actor: &str, now: i64) -> Result<String> {
    let zone = parse_zone(zone)?;
    app.store.set_customer_time_zone(app.ws.id, customer, zone.as_deref()).await.map_err(|e| match e {
        holdfast_store::Error::NotFound { .. } => Error::not_found(format!("no customer {customer:?} in the workspace")),
        e => e.into(),
    })?;
    app.store.audit(app.ws.id, now, actor, "customer.time_zone", Some(customer), Some(zone.as_deref().unwrap_or("none"))).await?;
    Ok(zone.unwrap_or_else(|| app.ws.time_zone.clone()))
}

/// Sets a customer's preferred sending hours ("works mornings": `09:00-12:00`, local time in the
/// customer's zone; may wrap midnight), or `none` for any time outside quiet hours. Messages wait
/// until the window opens rather than being dropped. Returns the window in force, as written.
pub async fn set_customer_window(app: &App, customer: &str, window: &str, actor: &str, now: i64) -> Result<String> {
    let w = parse_window(window)?;
    app.store.set_customer_send_window(app.ws.id, customer, w.as_ref().map(|w| (w.start, w.end))).await.map_err(|e| match e {
        holdfast_store::Error::NotFound { .. } => Error::not_found(format!("no customer {customer:?} in the workspace")),
        e => e.into(),
    })?;
    let text = w.map_or("none".to_owned(), |w| w.text());
    app.store.audit(app.ws.id, now, actor, "customer.send_window", Some(customer), Some(&text)).await?;
    Ok(text)
}

/// A customer's own sending preferences: each `None` when the customer follows the workspace
/// (its time zone; any time outside quiet hours).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CustomerSending {
    /// An IANA zone such as `Europe/Berlin`.
    pub time_zone: Option<String>,
    /// `09:00-12:00`, local time in the customer's zone.
    pub send_window: Option<String>,
}

/// A customer's own time zone and sending window.
pub async fn customer_sending(app: &App, customer: &str) -> Result<CustomerSending> {
    let (time_zone, window) =
        app.store.customer_send_settings(app.ws.id, customer).await?.ok_or_else(|| Error::not_found(format!("no customer {customer:?} in the workspace")))?;
    Ok(CustomerSending { time_zone, send_window: window.map(|(start, end)| QuietHours { start, end }.text()) })
}

/// Changes a customer's time zone and sending window together, as typed: a field left `None` is
/// kept, `none` (or empty) goes back to the workspace's. Both are checked before either is saved;
/// an error names the field `time_zone` or `send_window`. Returns the preferences now in force.
pub async fn change_customer_sending(
    app: &App,
    customer: &str,
    time_zone: Option<&str>,
    send_window: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<CustomerSending> {
    customer_sending(app, customer).await?;
    // Both checked before either is saved.
    if let Some(z) = time_zone {
        parse_zone(z).map_err(|e| Error { field: Some("time_zone".into()), ..e })?;
    }
    let window = send_window.map(|w| if w.trim().is_empty() { "none" } else { w });
    if let Some(w) = window {
        parse_window(w).map_err(|e| Error { field: Some("send_window".into()), ..e })?;
    }
    if let Some(z) = time_zone {
        set_customer_zone(app, customer, z, actor, now).await?;
    }
    if let Some(w) = window {
        set_customer_window(app, customer, w, actor, now).await?;
    }
    customer_sending(app, customer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_error_speaks_of_windows() {
        let e = QuietHours::parse("mornings").map_err(|e| e.message.replace("is not quiet hours", "is not a sending window")).unwrap_err();
        assert!(e.contains("\"mornings\" is not a sending window"), "{e}");
    }

    #[test]
    fn quiet_hours_read_and_write_back() {
        assert_eq!(QuietHours::parse("21:00-09:00").unwrap(), Some(QuietHours { start: 1260, end: 540 }));
        assert_eq!(QuietHours::parse(" 9:30 - 17:05 ").unwrap(), Some(QuietHours { start: 570, end: 1025 }));
        assert_eq!(QuietHours::parse("none").unwrap(), None);
        assert_eq!(QuietHours { start: 1260, end: 540 }.text(), "21:00-09:00");
        for bad in ["25:00-09:00", "21:00", "21-9", "21:00-09:60", "09:00-09:00", ""] {
            let e = QuietHours::parse(bad).unwrap_err();
            assert!(e.message.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn addresses_urls_and_secrets() {
        assert_eq!(parse_email("email", " anna@shop.example ").unwrap(), "anna@shop.example");
        for bad in ["anna", "anna@", "@shop.example", "anna@shop", "an na@shop.example", "a@b@shop.example"] {
            assert!(parse_email("email", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_from("Shop <news@shop.example>").unwrap(), "Shop <news@shop.example>");
        assert!(parse_from("Shop <news>").is_err());
        assert!(check_webhook_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_webhook_url("https://hooks.example.com:8443/x?y=1", false).is_ok());
        for bad in ["ftp://example.com/", "https://", "https://u:p@example.com/", "https://example.com:0/"] {
            assert!(check_webhook_url(bad, false).is_err(), "{bad}");
        }
        for private in ["http://127.0.0.1:9000/hook", "http://10.0.0.5/", "http://[::1]:80/", "http://localhost:3000/", "http://169.254.169.254/latest"] {
            let e = check_webhook_url(private, false).unwrap_err();
            assert!(e.message.contains("not a public address"), "{private}: {e}");
            assert!(check_webhook_url(private, true).is_ok(), "{private}");
        }
        let s = new_webhook_secret();
        assert_eq!(check_webhook_secret(&s).unwrap(), s);
        assert!(holdfast_channels::sign(&s, "id", 1, b"{}").is_ok());
        assert!(check_webhook_secret("whsec_abc").is_err());
        assert!(check_webhook_secret("secret").is_err());
        assert!(check_webhook_name("crm-hook").is_ok());
        assert!(check_webhook_name("a/b").is_err());
    }
}
