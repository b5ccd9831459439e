//! `holdfast run`: the engine's loop once — evaluate the campaigns' triggers at `--now`, write
//! the outbox, send what is due with N workers — and the engine set-up the other engine commands
//! share.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_app::App;
use holdfast_engine::{Engine, Options};
use holdfast_report::vocab::outbox_state;
use holdfast_report::Lang;
use std::sync::Arc;

/// Evaluates every active campaign's trigger at `--now` (default: now), writes what fired into
/// the outbox, and sends what is due: e-mail through `HOLDFAST_SMTP_URL` (from
/// `HOLDFAST_SMTP_FROM`), webhooks to the campaign's endpoint, tasks into the action queue. The
/// contact budget, quiet hours, unsubscribes and stop conditions are checked for each message as
/// it is claimed. `holdfast serve` runs the same loop every minute.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  HOLDFAST_SMTP_URL=smtp://127.0.0.1:2525 HOLDFAST_SMTP_FROM=news@shop.example holdfast --db sqlite://shop.db run --until-idle\n  holdfast --db sqlite://shop.db run --now 2025-03-01T10:00:00Z --workers 4 --json\n  holdfast --db sqlite://shop.db run --until-idle --rate email=10,webhook=50"
)]
pub struct Args {
    /// The engine's clock: YYYY-MM-DD (local midnight) or RFC 3339 (default: the current time).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Keep sending until no message is due (waiting out the leases of a run that died).
    #[arg(long)]
    pub until_idle: bool,
    /// Workers sending side by side.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub workers: usize,
    /// How long a worker owns a claimed message before another may take it over, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub lease: u32,
    /// Messages a worker claims at once.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub batch: u32,
    /// At most this many messages a second per channel, all workers together: `10` for every
    /// channel, `email=10,webhook=50` per channel, or both (`5,webhook=50`). Default: no limit.
    #[arg(long, value_name = "N|CHANNEL=N,…", value_parser = parse_rates)]
    pub rate: Option<Rates>,
    /// Only write the outbox; send nothing.
    #[arg(long)]
    pub no_send: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Rate limits in messages a second: for every channel, and each channel's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    pub all: Option<u32>,
    pub channels: Vec<(String, u32)>,
}

/// `--rate`: `N`, `CHANNEL=N` items separated by commas (channels: email, webhook, task).
pub fn parse_rates(text: &str) -> Result<Rates, String> {
    let mut r = Rates::default();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (channel, n) = match item.split_once('=') {
            Some((c, n)) => (Some(c.trim().to_ascii_lowercase()), n.trim()),
            None => (None, item),
        };
        let n: u32 =
            n.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("{item:?}: expected a whole number of messages a second above 0, as in 10 or email=10"))?;
        match channel {
            None => r.all = Some(n),
            Some(c) if ["email", "webhook", "task"].contains(&c.as_str()) => {
                r.channels.retain(|(x, _)| *x != c);
                r.channels.push((c, n));
            }
            Some(c) => return Err(format!("{c:?} is not a channel (expected email, webhook or task)")),
        }
    }
    if r.all.is_none() && r.channels.is_empty() {
        return Err("expected a rate, as in 10 or email=10,webhook=50".into());
    }
    Ok(r)
}

/// Wall-clock milliseconds (leases and rate limits).
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The engine of the workspace with the process's configuration (`HOLDFAST_SMTP_URL`,
/// `HOLDFAST_SMTP_FROM`, `HOLDFAST_SMTP_CA`, `HOLDFAST_PUBLIC_URL`).
pub fn engine(s: &Session, app: &App, lease_s: u32, batch: u32, rate: Option<Rates>) -> anyhow::Result<Engine> {
    let mut o = Options::new(holdfast_app::accounts::random_secret(), Arc::new(wall_ms));
    o.smtp_url = std::env::var("HOLDFAST_SMTP_URL").ok().filter(|v| !v.is_empty());
    o.smtp_from = std::env::var("HOLDFAST_SMTP_FROM").ok().filter(|v| !v.is_empty());
    if let Some(path) = std::env::var_os("HOLDFAST_SMTP_CA").filter(|v| !v.is_empty()) {
        let pem = std::fs::read(&path)
            .map_err(|e| holdfast_app::Error::user(format!("HOLDFAST_SMTP_CA: cannot read {}: {e}", std::path::Path::new(&path).display())))?;
        o.smtp_ca = Some(pem);
    }
    if let Ok(u) = std::env::var("HOLDFAST_PUBLIC_URL") {
        o.public_url = u;
    }
    o.lease_ms = lease_s.max(1) as i64 * 1000;
    o.batch = batch.max(1);
    let rate = rate.unwrap_or_default();
    o.rate_per_second = rate.all;
    o.channel_rates = rate.channels;
    o.worker_prefix = format!("{}-{}", std::process::id(), wall_ms());
    Ok(s.rt.block_on(Engine::new(app.store.clone(), app.ws.clone(), o)).map_err(engine_error)?)
}

/// An engine error with the kind the CLI's exit code follows.
pub fn engine_error(e: holdfast_engine::Error) -> anyhow::Error {
    match e {
        holdfast_engine::Error::Store(e) => holdfast_app::Error::from(e).into(),
        holdfast_engine::Error::NotFound(what) => holdfast_app::Error::not_found(format!("{what} not found")).into(),
        other => holdfast_app::Error::user(other.to_string()).into(),
    }
}

/// The outbox's counts per state, `sent 12, held_out 3` / `отправлено 12, контрольная группа 3`.
pub fn outbox_text(l: Lang, outbox: &[(String, u64)]) -> String {
    let parts: Vec<String> = outbox
        .iter()
        .map(|(k, n)| match l {
            Lang::En => format!("{k} {n}"),
            Lang::Ru => format!("{} {}", outbox_state(l, k), l.count(*n as i64)),
        })
        .collect();
    parts.join(", ")
}

/// `--now` or the current time.
pub fn now_of(app: &App, now: Option<&str>) -> anyhow::Result<i64> {
    match now {
        None => Ok(wall_ms() / 1000),
        Some(t) => {
            let cal = app.calendar()?;
            holdfast_app::when::parse_instant(t, &cal).map_err(|e| holdfast_app::Error::user(format!("--now: {e}")).into())
        }
    }
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    // The engine's SMTP pool closes its connections on the runtime when dropped.
    let _rt = s.rt.enter();
    let app = s.open_existing()?;
    let now = now_of(&app, args.now.as_deref())?;
    let e = engine(&s, &app, args.lease, args.batch, args.rate)?;
    let (ev, sending) = if args.no_send {
        (s.rt.block_on(e.evaluate(now)).map_err(engine_error)?, holdfast_engine::Sending::default())
    } else {
        s.rt.block_on(e.run(now, args.workers, args.until_idle)).map_err(engine_error)?
    };
    let outbox = s.store(app.store.outbox_counts(app.ws.id))?;
    if args.json {
        return print_json(
            &serde_json::json!({ "evaluation": ev, "sending": sending, "outbox": outbox.iter().map(|(k, n)| (k.clone(), *n)).collect::<std::collections::BTreeMap<_, _>>() }),
        );
    }
    let l = g.lang();
    let outbox_said = if outbox.is_empty() { l.t("empty", "пусто").to_string() } else { outbox_text(l, &outbox) };
    if l == Lang::Ru {
        let n = |x: u64| l.count(x as i64);
        let when = chrono::DateTime::from_timestamp(now, 0).map(|t| format!("{} {} UTC", l.date(t.date_naive()), t.format("%H:%M"))).unwrap_or_default();
        let mut out = format!(
            "триггеры на {when}: кампаний {}, сработало {}, записано сообщений {} (в контрольной группе {}), уже было в исходящих {}\n",
            n(ev.campaigns as u64),
            n(ev.fired as u64),
            n(ev.written as u64),
            n(ev.held_out as u64),
            n(ev.existing as u64)
        );
        for w in &ev.skipped {
            out.push_str(&format!("предупреждение: пропущено {w}\n"));
        }
        out.push_str(&format!(
            "отправлено {}, повторят {}, не доставлено {}; ждут конца тихих часов {}, сверх бюджета {}, подавлено {}, остановлено {}\n",
            n(sending.sent as u64),
            n(sending.retried as u64),
            n(sending.dead as u64),
            n(sending.held as u64),
            n(sending.capped as u64),
            n(sending.suppressed as u64),
            n(sending.cancelled as u64)
        ));
        out.push_str(&format!("исходящие: {outbox_said}\n"));
        return print(&out);
    }
    let mut out = format!(
        "triggers at {}: {} campaigns, {} fired, {} messages written ({} held out as control), {} already in the outbox\n",
        chrono::DateTime::from_timestamp(now, 0).map(|t| t.to_rfc3339()).unwrap_or_default(),
        ev.campaigns,
        ev.fired,
        ev.written,
        ev.held_out,
        ev.existing
    );
    for w in &ev.skipped {
        out.push_str(&format!("warning: skipped {w}\n"));
    }
    out.push_str(&format!(
        "sent {}, retrying {}, dead {}; held for quiet hours {}, capped by the budget {}, suppressed {}, stopped {}\n",
        sending.sent, sending.retried, sending.dead, sending.held, sending.capped, sending.suppressed, sending.cancelled
    ));
    out.push_str(&format!("outbox: {outbox_said}\n"));
    print(&out)
}

/// Runs the engine's loop every minute on the session's runtime, for `holdfast serve`: triggers at
/// the current time, then sending with two workers. Problems are said on stderr; the loop goes on.
pub fn spawn_every_minute(s: &Session, app: &App) -> anyhow::Result<()> {
    let e = engine(s, app, 60, 20, None)?;
    s.rt.spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(err) = e.run(wall_ms() / 1000, 2, false).await {
                eprintln!("holdfast serve: the engine's run failed: {err}");
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_for_every_channel_and_each_its_own() {
        assert_eq!(parse_rates("10"), Ok(Rates { all: Some(10), channels: vec![] }));
        assert_eq!(parse_rates("5, Email=10,webhook=50,email=12"), Ok(Rates { all: Some(5), channels: vec![("webhook".into(), 50), ("email".into(), 12)] }));
        assert!(parse_rates("sms=3").unwrap_err().contains("\"sms\" is not a channel"));
        assert!(parse_rates("email=0").unwrap_err().contains("above 0"));
        assert!(parse_rates("fast").unwrap_err().contains("\"fast\""));
        assert!(parse_rates(",").is_err());
    }
}
