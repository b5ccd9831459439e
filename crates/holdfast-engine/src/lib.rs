//! # holdfast-engine
//!
//! Holdfast acting on what it found: campaigns whose triggers fire for customers, sequences of
//! steps sent by e-mail, webhook or as a task for the customer's owner, all under **one contact
//! budget per customer**, through an **outbox** that never loses a message and never repeats one
//! silently.
//!
//! ## Brief overview
//! - [`campaign`]: campaign files (TOML) read into a checked [`Campaign`]; a bad file is a
//!   [`CampaignError`] naming the file, line and key, and nothing is saved.
//! - [`triggers`]: which customers a trigger fires for at an instant, under which instance.
//! - [`Engine`]: one workspace's engine. [`Engine::add_campaign`] checks and saves a campaign;
//!   [`Engine::evaluate`] runs every active campaign's trigger at `now` and writes the messages —
//!   rendered, held out or not, every step with its due time — into the outbox in **one
//!   transaction** ([`holdfast_store::Store::write_outbox`]); [`Engine::send_due`] runs N workers
//!   that claim due messages with a lease, reserving each against the budget in the claim's
//!   transaction ([`holdfast_store::Store::claim_messages`]: quiet hours hold, the budget caps,
//!   unsubscribes and suppressions stop, stop conditions cancel), commit `sending`, **then** call
//!   the channel, then record the result; a worker that dies leaves a lease that expires and the
//!   message is claimed again, with the same key and Message-ID. [`Engine::run`] does both until
//!   nothing is left. [`Engine::preview`] renders a campaign for one customer.
//!
//! Rendering and delivery are `holdfast-channels`' (templates, SMTP, signed webhooks,
//! unsubscribe links); the rows and the claim's transaction are `holdfast-store`'s; the red flags
//! and segments the `silence`, `flag` and `segment_*` triggers read are the scoring snapshot's
//! (`holdfast score`). Scheduling time is always an argument (`now`); only leases and rate limits
//! read a wall clock, through [`Options::wall_ms`].

pub mod campaign;
pub mod triggers;

pub use campaign::{parse as parse_campaign, Campaign, CampaignError, Channel};

use holdfast_channels::{Delivery, Email, Smtp, TemplateCustomer, Webhook, WebhookClient};
use holdfast_core::flags::FlagKind;
use holdfast_core::segments::{tiers, Tier, TierOptions};
use holdfast_core::{Calendar, Currency, Instant};
use holdfast_experiments::bucket::{assign, bucket, in_global_holdout, Share};
use holdfast_store::engine::{ClaimRequest, Claimed, CustomerFacts, DayKeys, EngineCampaign, Facts, NewMessage, Outcome};
use holdfast_store::{NewTask, Store, Workspace};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::sync::Arc;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Campaign(#[from] CampaignError),
    #[error(transparent)]
    Store(#[from] holdfast_store::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the engine sends.
#[derive(Clone)]
pub struct Options {
    /// `HOLDFAST_SMTP_URL`; without it e-mail steps fail (and are retried) with a clear error.
    pub smtp_url: Option<String>,
    /// `HOLDFAST_SMTP_FROM`; the workspace's setting overrides it.
    pub smtp_from: Option<String>,
    /// The certificates (PEM) of certificate authorities trusted for the SMTP server besides
    /// the public ones: the contents of the file `HOLDFAST_SMTP_CA` names.
    pub smtp_ca: Option<Vec<u8>>,
    /// Where `holdfast serve` answers, for unsubscribe links (`https://retention.example.com`).
    pub public_url: String,
    /// A random secret for the workspace's unsubscribe links, kept the first time (the store
    /// keeps the first one it is given).
    pub fresh_secret: String,
    /// How long a worker owns a claimed message.
    pub lease_ms: i64,
    /// Attempts before a message is dead.
    pub max_attempts: u32,
    /// Messages one claim takes.
    pub batch: u32,
    /// At most this many messages a second per channel (all workers together); `None`: no limit.
    pub rate_per_second: Option<u32>,
    /// A channel's own limit (`email`, `webhook`, `task`), messages a second, in place of
    /// `rate_per_second` for that channel.
    pub channel_rates: Vec<(String, u32)>,
    /// Wall-clock milliseconds (leases and rate limits only).
    pub wall_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Names this process's leases.
    pub worker_prefix: String,
    /// Language of e-mail footers (`en`, `ru`).
    pub lang: String,
}

impl Options {
    pub fn new(fresh_secret: String, wall_ms: Arc<dyn Fn() -> i64 + Send + Sync>) -> Options {
        Options {
            smtp_url: None,
            smtp_from: None,
            smtp_ca: None,
            public_url: "http://127.0.0.1:8080".into(),
            fresh_secret,
            lease_ms: 60_000,
            max_attempts: 6,
            batch: 20,
            rate_per_second: None,
            channel_rates: Vec::new(),
            wall_ms,
            worker_prefix: "w".into(),
            lang: "en".into(),
        }
    }
}

/// What one evaluation of the triggers did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub now: Instant,
    /// Campaigns evaluated (active ones).
    pub campaigns: u64,
    /// Firings (customer × instance) over all campaigns.
    pub fired: u64,
    /// Outbox rows written (new keys), of which held out.
    pub written: u64,
    pub held_out: u64,
    /// Rows whose key was already in the outbox.
    pub existing: u64,
    /// Campaigns whose stored definition no longer reads (skipped), with why.
    pub skipped: Vec<String>,
}

/// What the workers did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Sending {
    pub sent: u64,
    pub retried: u64,
    pub dead: u64,
    pub held: u64,
    pub capped: u64,
    pub suppressed: u64,
    pub cancelled: u64,
    /// Results not recorded: the lease was lost to another worker.
    pub lost_leases: u64,
}

impl Sending {
    fn add(&mut self, o: &Sending) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.dead += o.dead;
        self.held += o.held;
        self.capped += o.capped;
        self.suppressed += o.suppressed;
        self.cancelled += o.cancelled;
        self.lost_leases += o.lost_leases;
    }
}

/// One step of a preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PreviewStep {
    pub step: u32,
    pub variant: String,
    pub channel: String,
    pub after_seconds: i64,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A campaign rendered for one customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub campaign: String,
    pub customer: String,
    /// The customer is in the campaign's control group: it would be sent nothing.
    pub held_out: bool,
    pub steps: Vec<PreviewStep>,
}

/// A per-channel rate limit shared by the workers: the next free slot, in wall milliseconds.
#[derive(Default)]
struct Rate {
    next: tokio::sync::Mutex<FxHashMap<String, i64>>,
}

/// One workspace's engine.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    ws: Workspace,
    opts: Options,
    smtp: Option<Smtp>,
    from: Option<String>,
    webhooks: WebhookClient,
    unsubscribe_key: Vec<u8>,
    rate: Arc<Rate>,
}

/// Checks a campaign file's text and saves it in `ws` (see [`Engine::add_campaign`]); for front
/// ends that add campaigns without sending (the HTTP API).
pub async fn add_campaign(store: &Store, ws: &Workspace, file: &str, text: &str, now: Instant) -> Result<Campaign> {
    let c = campaign::parse(file, text)?;
    store.save_engine_campaign(ws.id, &c.name, text, &c.name, c.holdout.buckets(), now).await?;
    Ok(c)
}

/// The salt of a campaign's holdout and variants: (workspace, campaign salt).
fn salt_of(ws: &Workspace, c: &EngineCampaign) -> String {
    format!("{}/{}", ws.slug, c.salt)
}

impl Engine {
    /// The engine of `ws` on `store`: opens the SMTP pool when a URL is given.
    pub async fn new(store: Store, ws: Workspace, opts: Options) -> Result<Engine> {
        let settings = store.engine_settings(ws.id).await?;
        let smtp = match &opts.smtp_url {
            Some(u) => Some(Smtp::with_ca(u, 8, opts.smtp_ca.as_deref()).map_err(|e| Error::Invalid(format!("HOLDFAST_SMTP_URL: {e}")))?),
            None => None,
        };
        let from = settings.smtp_from.clone().or_else(|| opts.smtp_from.clone());
        let secret = store.link_secret(ws.id, &opts.fresh_secret).await?;
        Ok(Engine {
            webhooks: WebhookClient::new(settings.allow_private_webhooks, std::time::Duration::from_secs(10)),
            unsubscribe_key: holdfast_channels::unsubscribe_key(&secret),
            store,
            ws,
            opts,
            smtp,
            from,
            rate: Arc::new(Rate::default()),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks the campaign file's text and saves it (a new campaign starts active; an existing
    /// one gets the new definition and keeps its salt, state and control group). Nothing is saved
    /// when the file has a problem.
    pub async fn add_campaign(&self, file: &str, text: &str, now: Instant) -> Result<Campaign> {
        add_campaign(&self.store, &self.ws, file, text, now).await
    }

    /// The engine campaigns with their parsed definitions (`Err`: the text no longer reads).
    pub async fn campaigns(&self) -> Result<Vec<(EngineCampaign, Result<Campaign, CampaignError>)>> {
        let stored = self.store.engine_campaigns(self.ws.id).await?;
        Ok(stored
            .into_iter()
            .map(|s| {
                let parsed = campaign::parse(&s.name, &s.definition);
                (s, parsed)
            })
            .collect())
    }

    fn calendar(&self, k: &CustomerFacts) -> Calendar {
        let ws = Calendar::from_name(&self.ws.time_zone).unwrap_or_default();
        k.time_zone.as_deref().and_then(|z| Calendar::from_name(z).ok()).unwrap_or(ws)
    }

    fn unsubscribe_url(&self, customer: &str) -> String {
        let token = holdfast_channels::unsubscribe_token(&self.unsubscribe_key, self.ws.id.0, customer);
        format!("{}/u/{token}", self.opts.public_url.trim_end_matches('/'))
    }

    /// The template context of one customer.
    fn context(&self, facts: &Facts, k: &CustomerFacts, tier: &str, now: Instant) -> serde_json::Value {
        let cal = self.calendar(k);
        let mut dates = std::collections::BTreeMap::new();
        for d in facts.dates.iter().filter(|d| d.customer_id == k.id) {
            dates.entry(d.kind.clone()).or_insert_with(|| d.date.to_string());
        }
        let currency: Currency = self.ws.currency;
        let tc = TemplateCustomer {
            id: k.external_id.clone(),
            name: k.name.clone().unwrap_or_default(),
            first_name: String::new(),
            email: k.email.clone().unwrap_or_default(),
            tier: tier.to_owned(),
            segment: k.segment.clone().unwrap_or_default(),
            owner: k.owner.clone().unwrap_or_default(),
            orders: k.orders_count,
            revenue: format!("{} {}", holdfast_core::money::format_minor(k.revenue, currency), currency.as_str()),
            last_order_date: k.last_order_at.map(|t| cal.date(t).to_string()).unwrap_or_default(),
            days_since_last_order: k.last_order_at.map(|t| (cal.date(now) - cal.date(t)).num_days()),
            birthday: String::new(),
            dates,
        };
        holdfast_channels::context(&tc, &self.ws.name, &self.unsubscribe_url(&k.external_id), &self.opts.lang)
    }

    fn tiers_of(facts: &Facts) -> Vec<&'static str> {
        let revenue: Vec<(&str, i64)> = facts.customers.iter().map(|k| (k.external_id.as_str(), k.revenue)).collect();
        let has_orders: Vec<bool> = facts.customers.iter().map(|k| k.orders_count > 0).collect();
        tiers(&revenue, &TierOptions::default())
            .into_iter()
            .zip(has_orders)
            .map(|(t, any)| match (t, any) {
                (_, false) => "",
                (Tier::A, _) => "A",
                (Tier::B, _) => "B",
                (Tier::C, _) => "C",
            })
            .collect()
    }

    /// Runs every active campaign's trigger at `now` and writes what fired into the outbox, in one
    /// transaction: each step of each firing, rendered for the customer, due `after` the firing;
    /// held-out customers' rows as `held_out`.
    pub async fn evaluate(&self, now: Instant) -> Result<Evaluation> {
        let mut ev = Evaluation { now, ..Default::default() };
        let mut active = Vec::new();
        for (stored, parsed) in self.campaigns().await? {
            if stored.state != "active" {
                continue;
            }
            match parsed {
                // A one-off campaign is written once, whole, in one transaction.
                Ok(c) if matches!(c.trigger, campaign::Trigger::Once { .. }) && !stored.outbox.is_empty() => {}
                Ok(c) => active.push((stored, c)),
                Err(e) => ev.skipped.push(e.to_string()),
            }
        }
        let lookback = active
            .iter()
            .map(|(_, c)| {
                c.within
                    + match &c.trigger {
                        campaign::Trigger::DaysAfterOrder { days, .. } => *days as i64 * holdfast_core::DAY,
                        _ => 0,
                    }
            })
            .max()
            .unwrap_or(0);
        let facts = self.store.engine_facts(self.ws.id, now - lookback, now).await?;
        let calendars: Vec<Calendar> = facts.customers.iter().map(|k| self.calendar(k)).collect();
        let index: FxHashMap<i64, usize> = facts.customers.iter().enumerate().map(|(i, k)| (k.id, i)).collect();
        let tiers = Self::tiers_of(&facts);
        let global = Share::from_buckets(self.store.global_holdout(self.ws.id).await?).unwrap_or(Share::ZERO);
        let cx = triggers::Context { facts: &facts, now, window_days: self.ws.window_days, calendars: &calendars, index: &index, tiers: &tiers };
        let mut messages: Vec<NewMessage> = Vec::new();
        let mut contexts: FxHashMap<usize, serde_json::Value> = FxHashMap::default();
        for (stored, c) in &active {
            ev.campaigns += 1;
            let salt = salt_of(&self.ws, stored);
            let fired = triggers::fires(c, &cx);
            ev.fired += fired.len() as u64;
            for f in fired {
                let k = &facts.customers[f.customer];
                let held_out = Share::from_buckets(stored.holdout).unwrap_or(Share::ZERO).contains(bucket(&salt, &k.external_id))
                    || in_global_holdout(&k.external_id, global);
                let context = contexts.entry(f.customer).or_insert_with(|| self.context(&facts, k, tiers[f.customer], now));
                for (n, step) in c.steps.iter().enumerate() {
                    let v = match step.variants.len() {
                        1 => &step.variants[0],
                        _ => {
                            let shares: Vec<Share> = step.variants.iter().map(|v| Share::from_fraction(v.share).unwrap_or(Share::ZERO)).collect();
                            let at = assign(&format!("{salt}/step{n}"), &k.external_id, &shares).unwrap_or(0);
                            &step.variants[at.min(step.variants.len() - 1)]
                        }
                    };
                    let (subject, body, html) = match holdfast_channels::render(&v.subject, &v.body, context) {
                        Ok(r) => match step.channel {
                            Channel::Email => (r.subject, r.text, Some(r.html)),
                            Channel::Task => (r.subject, r.text, None),
                            Channel::Webhook => {
                                let doc = serde_json::json!({
                                    "type": "holdfast.message",
                                    "campaign": c.name, "step": n, "variant": v.name,
                                    "customer": { "id": k.external_id, "name": k.name, "email": k.email, "phone": k.phone, "owner": k.owner },
                                    "subject": r.subject, "body": r.text,
                                });
                                (r.subject, doc.to_string(), None)
                            }
                        },
                        // A field missing for this customer only (checked against every field
                        // at add time): the message is written dead, with why.
                        Err(e) => (format!("(cannot render: {e})"), String::new(), None),
                    };
                    let recipient = match step.channel {
                        Channel::Email => k.email.clone(),
                        Channel::Webhook => step.endpoint.clone(),
                        Channel::Task => k.owner.clone(),
                    };
                    messages.push(NewMessage {
                        key: format!("{}/{n}/{}/{}/{}", c.name, v.name, k.external_id, f.instance),
                        campaign_id: stored.id,
                        step: n as u32,
                        variant: v.name.clone(),
                        customer_id: k.id,
                        instance: f.instance.clone(),
                        triggered_at: f.at,
                        channel: step.channel.as_str().to_owned(),
                        transactional: c.transactional,
                        held_out,
                        due_at: f.at + step.after,
                        recipient,
                        subject,
                        body,
                        html,
                        keys: DayKeys::of(&calendars[f.customer], f.at),
                    });
                }
            }
        }
        // The segments seen now, for the next evaluation's segment_enter / segment_exit.
        let segments: Vec<(i64, String)> = facts
            .customers
            .iter()
            .filter_map(|k| k.segment.as_ref().filter(|s| facts.seen_segments.get(&k.id) != Some(*s)).map(|s| (k.id, s.clone())))
            .collect();
        let w = self.store.write_outbox(self.ws.id, &messages, &segments, now).await?;
        ev.written = w.written;
        ev.held_out = w.held_out;
        ev.existing = w.existing;
        Ok(ev)
    }

    /// The stop conditions of every campaign, by campaign id, for the claim.
    async fn stops(&self) -> Result<(FxHashMap<i64, Vec<String>>, FxHashMap<String, Campaign>)> {
        let mut stops = FxHashMap::default();
        let mut by_name = FxHashMap::default();
        for (stored, parsed) in self.campaigns().await? {
            if let Ok(c) = parsed {
                stops.insert(stored.id, c.stop.clone());
                by_name.insert(c.name.clone(), c);
            }
        }
        Ok((stops, by_name))
    }

    /// Sends what is due at `now` with `workers` workers, until no due message is left to claim.
    pub async fn send_due(&self, now: Instant, workers: usize) -> Result<Sending> {
        let (stops, campaigns) = self.stops().await?;
        let (stops, campaigns) = (Arc::new(stops), Arc::new(campaigns));
        let mut handles = Vec::new();
        for n in 0..workers.max(1) {
            let (me, stops, campaigns) = (self.clone(), stops.clone(), campaigns.clone());
            handles.push(tokio::spawn(async move { me.worker(n, now, &stops, &campaigns).await }));
        }
        let mut total = Sending::default();
        let mut first_err = None;
        for h in handles {
            match h.await {
                Ok(Ok(s)) => total.add(&s),
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(e) => {
                    first_err.get_or_insert(Error::Invalid(format!("a worker stopped: {e}")));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    async fn worker(&self, n: usize, now: Instant, stops: &FxHashMap<i64, Vec<String>>, campaigns: &FxHashMap<String, Campaign>) -> Result<Sending> {
        let token = format!("{}/{n}", self.opts.worker_prefix);
        let mut s = Sending::default();
        loop {
            let req = ClaimRequest {
                now,
                wall_ms: (self.opts.wall_ms)(),
                lease_ms: self.opts.lease_ms,
                limit: self.opts.batch,
                token: &token,
                default_zone: &self.ws.time_zone,
            };
            // The leases end together; a message is sent only while its lease holds, so one
            // that waited behind slow sends is left to be claimed again rather than sent by two.
            let lease_until = req.wall_ms + req.lease_ms;
            let b = self.store.claim_messages(self.ws.id, &req, stops).await?;
            s.held += b.held;
            s.capped += b.capped;
            s.suppressed += b.suppressed;
            s.cancelled += b.cancelled;
            let progressed = b.held + b.capped + b.suppressed + b.cancelled > 0;
            if b.claimed.is_empty() && !progressed {
                return Ok(s);
            }
            // One message at a time, its result recorded before the next is sent: a crash repeats
            // at most the one message in flight.
            for m in &b.claimed {
                self.pace(&m.channel).await;
                if (self.opts.wall_ms)() >= lease_until {
                    break;
                }
                let outcome = self.deliver(m, now, campaigns).await;
                match &outcome {
                    Outcome::Sent { .. } => s.sent += 1,
                    Outcome::Retry { .. } => s.retried += 1,
                    Outcome::Dead { .. } => s.dead += 1,
                }
                if !self.store.finish_message(self.ws.id, m.id, &token, &outcome, now).await? {
                    s.lost_leases += 1;
                }
            }
        }
    }

    /// Waits for the channel's next free slot under the rate limit.
    async fn pace(&self, channel: &str) {
        let own = self.opts.channel_rates.iter().find(|(c, _)| c == channel).map(|r| r.1);
        let Some(rate) = own.or(self.opts.rate_per_second).filter(|&r| r > 0) else { return };
        let gap = (1000 / rate as i64).max(1);
        let wait = {
            let mut next = self.rate.next.lock().await;
            let wall = (self.opts.wall_ms)();
            let slot = next.get(channel).copied().unwrap_or(wall).max(wall);
            next.insert(channel.to_owned(), slot + gap);
            slot - wall
        };
        if wait > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
        }
    }

    fn retry_or_dead(&self, m: &Claimed, error: String, now: Instant) -> Outcome {
        if m.attempts >= self.opts.max_attempts {
            Outcome::Dead { error: format!("{error} (after {} attempts)", m.attempts), suppress: None }
        } else {
            let wait = holdfast_channels::backoff(m.attempts, &m.key).as_secs() as i64;
            Outcome::Retry { error, at: now + wait.max(1) }
        }
    }

    /// Sends one claimed message on its channel.
    async fn deliver(&self, m: &Claimed, now: Instant, campaigns: &FxHashMap<String, Campaign>) -> Outcome {
        if m.subject.starts_with("(cannot render:") {
            return Outcome::Dead { error: m.subject.clone(), suppress: None };
        }
        match m.channel.as_str() {
            "email" => {
                let (Some(smtp), Some(from)) = (&self.smtp, &self.from) else {
                    return self.retry_or_dead(m, "no SMTP server: set HOLDFAST_SMTP_URL and HOLDFAST_SMTP_FROM".into(), now);
                };
                let e = Email {
                    key: m.key.clone(),
                    from: from.clone(),
                    to: m.recipient.clone().unwrap_or_default(),
                    subject: m.subject.clone(),
                    text: m.body.clone(),
                    html: m.html.clone().unwrap_or_default(),
                    unsubscribe_url: Some(self.unsubscribe_url(&m.customer)),
                };
                match smtp.send(&e).await {
                    Delivery::Sent => Outcome::Sent { message_id: Some(holdfast_channels::message_id(&m.key, from)) },
                    Delivery::Transient(err) => self.retry_or_dead(m, err, now),
                    Delivery::Permanent { error, suppress } => Outcome::Dead { error, suppress: suppress.then_some("hard_bounce") },
                    Delivery::Disabled(err) => Outcome::Dead { error: err, suppress: None },
                }
            }
            "webhook" => {
                let name = m.recipient.clone().unwrap_or_default();
                let endpoints = match self.store.webhook_endpoints(self.ws.id).await {
                    Ok(e) => e,
                    Err(e) => return self.retry_or_dead(m, e.to_string(), now),
                };
                let Some(ep) = endpoints.into_iter().find(|e| e.name == name) else {
                    return Outcome::Dead { error: format!("no webhook endpoint {name:?}"), suppress: None };
                };
                if ep.disabled_at.is_some() {
                    return Outcome::Dead { error: format!("the webhook endpoint {name:?} is disabled"), suppress: None };
                }
                let w = Webhook { key: m.key.clone(), url: ep.url.clone(), secret: ep.secret.clone(), body: m.body.clone().into_bytes() };
                match self.webhooks.send(&w, (self.opts.wall_ms)() / 1000).await {
                    Delivery::Sent => Outcome::Sent { message_id: Some(m.key.clone()) },
                    Delivery::Transient(err) => self.retry_or_dead(m, err, now),
                    Delivery::Permanent { error, .. } => Outcome::Dead { error, suppress: None },
                    Delivery::Disabled(err) => {
                        let _ = self.store.disable_webhook_endpoint(self.ws.id, &name, now).await;
                        Outcome::Dead { error: err, suppress: None }
                    }
                }
            }
            "task" => {
                let kind = match campaigns.get(&m.campaign).map(|c| &c.trigger) {
                    Some(campaign::Trigger::Flag { flag: Some(k) }) => *k,
                    Some(campaign::Trigger::Silence) => FlagKind::SilenceBeyondRhythm,
                    Some(campaign::Trigger::Detractor) => FlagKind::Detractor,
                    _ => FlagKind::MissedInitiative,
                };
                let task = NewTask {
                    customer: m.customer.clone(),
                    kind,
                    reason: m.subject.clone(),
                    suggested_step: m.body.clone(),
                    due_at: Some(now + holdfast_core::DAY),
                    stake: None,
                    kinds: vec![kind],
                    // A campaign's call is personal work of this week.
                    plan: Some("this_week".into()),
                    expected_value: None,
                    tier: None,
                    origin: Some("campaign".into()),
                    reason_ru: None,
                };
                match self.store.sync_tasks(self.ws.id, &[task], now).await {
                    Ok(t) => Outcome::Sent { message_id: t.tasks.first().map(|t| format!("task:{}", t.id)) },
                    Err(e) => self.retry_or_dead(m, e.to_string(), now),
                }
            }
            other => Outcome::Dead { error: format!("unknown channel {other:?}"), suppress: None },
        }
    }

    /// Evaluates the triggers at `now` and sends what is due; with `until_idle`, keeps sending
    /// (waiting out the leases of workers that died) until no due message is left.
    pub async fn run(&self, now: Instant, workers: usize, until_idle: bool) -> Result<(Evaluation, Sending)> {
        let ev = self.evaluate(now).await?;
        let mut sending = self.send_due(now, workers).await?;
        while until_idle && self.store.outbox_due(self.ws.id, now).await? > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            sending.add(&self.send_due(now, workers).await?);
        }
        Ok((ev, sending))
    }

    /// Renders campaign `name` for one customer (external id), every step and variant.
    pub async fn preview(&self, name: &str, customer: &str, now: Instant) -> Result<Preview> {
        let (stored, c) = self.campaigns().await?.into_iter().find(|(s, _)| s.name == name).ok_or_else(|| Error::NotFound(format!("campaign {name:?}")))?;
        let c = c?;
        let facts = self.store.engine_facts(self.ws.id, now, now).await?;
        let i = facts.customers.iter().position(|k| k.external_id == customer).ok_or_else(|| Error::NotFound(format!("customer {customer:?}")))?;
        let tiers = Self::tiers_of(&facts);
        let k = &facts.customers[i];
        let context = self.context(&facts, k, tiers[i], now);
        let salt = salt_of(&self.ws, &stored);
        let held_out = Share::from_buckets(stored.holdout).unwrap_or(Share::ZERO).contains(bucket(&salt, customer));
        let mut steps = Vec::new();
        for (n, s) in c.steps.iter().enumerate() {
            for v in &s.variants {
                let r = holdfast_channels::render(&v.subject, &v.body, &context).map_err(|e| Error::Invalid(format!("step {n} variant {:?}: {e}", v.name)))?;
                steps.push(PreviewStep {
                    step: n as u32,
                    variant: v.name.clone(),
                    channel: s.channel.as_str().into(),
                    after_seconds: s.after,
                    subject: r.subject,
                    text: r.text,
                    html: r.html,
                });
            }
        }
        Ok(Preview { campaign: c.name, customer: customer.to_owned(), held_out, steps })
    }

    /// Sends the preview's first e-mail step to `to` (a test send: not in the outbox or ledger).
    pub async fn send_test(&self, p: &Preview, to: &str, now: Instant) -> Result<String> {
        let (Some(smtp), Some(from)) = (&self.smtp, &self.from) else {
            return Err(Error::Invalid("no SMTP server: set HOLDFAST_SMTP_URL and HOLDFAST_SMTP_FROM".into()));
        };
        let s = p.steps.iter().find(|s| s.channel == "email").ok_or_else(|| Error::Invalid(format!("campaign {:?} has no e-mail step", p.campaign)))?;
        let e = Email {
            key: format!("test/{}/{}/{}/{now}", p.campaign, s.step, p.customer),
            from: from.clone(),
            to: to.to_owned(),
            subject: format!("[test] {}", s.subject),
            text: s.text.clone(),
            html: s.html.clone(),
            unsubscribe_url: None,
        };
        match smtp.send(&e).await {
            Delivery::Sent => Ok(holdfast_channels::message_id(&e.key, from)),
            Delivery::Transient(err) | Delivery::Disabled(err) | Delivery::Permanent { error: err, .. } => {
                Err(Error::Invalid(format!("the test message was not sent: {err}")))
            }
        }
    }
}
