//! `holdfast campaign`: campaigns of the engine — add one from a TOML file, list them, show one,
//! pause, resume or archive it, preview it for a customer (and send a test).

use super::run::{engine, engine_error, now_of, outbox_text};
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_report::vocab::campaign_state;
use holdfast_report::{Lang, Table};
use std::path::PathBuf;

/// Campaigns: a trigger, an audience, a control group and a sequence of steps (e-mail, webhook,
/// task), defined in TOML files.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db campaign add win-back.toml\n  holdfast --db sqlite://shop.db campaign list\n  holdfast --db sqlite://shop.db campaign preview win-back --customer C-1042\n  holdfast --db sqlite://shop.db campaign preview win-back --customer C-1042 --send-test me@shop.example\n  holdfast --db sqlite://shop.db campaign pause win-back\n\nA campaign file:\n  name = \"spring-note\"\n  trigger = { kind = \"once\", at = \"2025-03-01T10:00:00Z\" }\n  audience = { all = true }\n  holdout = 0.10\n  [[steps]]\n  after = \"0d\"\n  channel = \"email\"\n  subject = \"Hello, {{ customer.first_name }}\"\n  body = \"...\""
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Checks a campaign file and saves it (a campaign of the same name is updated; its control
    /// group never changes). A bad file saves nothing and names the file, line and key.
    Add {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The campaigns with their state and outbox.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One campaign: its definition and outbox.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Stops sending a campaign's messages (they wait, pending).
    Pause { name: String },
    /// Sends a paused campaign's messages again.
    Resume { name: String },
    /// Ends a campaign: its unsent messages are cancelled.
    Archive { name: String },
    /// Renders every step of a campaign for one customer.
    Preview {
        name: String,
        /// The customer's id.
        #[arg(long, value_name = "ID")]
        customer: String,
        /// Also send the first e-mail step to this address (marked [test]; not counted).
        #[arg(long, value_name = "EMAIL")]
        send_test: Option<String>,
        /// The time the preview is rendered at (default: now).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    // The engine's SMTP pool closes its connections on the runtime when dropped.
    let _rt = s.rt.enter();
    let app = s.open_existing()?;
    let ws = app.ws.id;
    let now = now_of(&app, None)?;
    let e = engine(&s, &app, 60, 20, None)?;
    let l = g.lang();
    let ru = l == Lang::Ru;
    let set_state = |name: &str, state: &str, said: &str, said_ru: &str| -> anyhow::Result<()> {
        s.store(app.store.set_engine_campaign_state(ws, name, state, now))?;
        print(&if ru { format!("кампания {name} {said_ru}\n") } else { format!("campaign {name} is {said}\n") })
    };
    match args.action {
        Action::Add { file, json } => {
            let text = std::fs::read_to_string(&file).map_err(|err| holdfast_app::Error::user(format!("cannot read {}: {err}", file.display())))?;
            let c = s.rt.block_on(e.add_campaign(&file.display().to_string(), &text, now)).map_err(engine_error)?;
            if json {
                return print_json(&c);
            }
            let trigger = serde_json::to_value(&c.trigger).ok().and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned)).unwrap_or_default();
            if ru {
                return print(&format!(
                    "кампания {} сохранена: триггер {trigger}, шагов: {}, контрольная группа {}\n",
                    c.name,
                    c.steps.len(),
                    l.pct(Some(c.holdout.fraction()))
                ));
            }
            print(&format!("campaign {} saved: trigger {trigger}, {} steps, holdout {:.1}%\n", c.name, c.steps.len(), c.holdout.fraction() * 100.0))
        }
        Action::List { json } => {
            let all = s.rt.block_on(e.campaigns()).map_err(engine_error)?;
            if json {
                let v: Vec<_> = all.iter().map(|(st, _)| serde_json::json!({ "name": st.name, "state": st.state, "holdout": st.holdout as f64 / 10_000.0, "outbox": st.outbox.iter().cloned().collect::<std::collections::BTreeMap<_, _>>() })).collect();
                return print_json(&serde_json::json!({ "campaigns": v }));
            }
            let mut t = Table::new(&[
                l.t("Campaign", "Кампания"),
                l.t("State", "Состояние"),
                l.t("Trigger", "Триггер"),
                l.t("Steps", "Шаги"),
                l.t("Holdout", "Контроль"),
                l.t("Outbox", "Исходящие"),
            ]);
            for (st, c) in &all {
                let (trigger, steps) = match c {
                    Ok(c) => (
                        serde_json::to_value(&c.trigger).ok().and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned)).unwrap_or_default(),
                        c.steps.len().to_string(),
                    ),
                    Err(err) => (format!("({}: {err})", l.t("unreadable", "не читается")), String::new()),
                };
                let holdout = if ru { l.pct(Some(st.holdout as f64 / 10_000.0)) } else { format!("{:.1}%", st.holdout as f64 / 100.0) };
                t.row(vec![st.name.clone(), campaign_state(l, &st.state), trigger, steps, holdout, outbox_text(l, &st.outbox)]);
            }
            if ru {
                return print(&format!("Кампаний: {}\n{}", l.count(all.len() as i64), t.to_text()));
            }
            print(&format!("{} campaigns\n{}", all.len(), t.to_text()))
        }
        Action::Show { name, json } => {
            let all = s.rt.block_on(e.campaigns()).map_err(engine_error)?;
            let (st, c) = all
                .into_iter()
                .find(|(st, _)| st.name == name)
                .ok_or_else(|| holdfast_app::Error::not_found(format!("no campaign {name:?} in {}", app.url())))?;
            if json {
                return print_json(
                    &serde_json::json!({ "name": st.name, "state": st.state, "created_at": st.created_at, "outbox": st.outbox.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(), "campaign": c.as_ref().ok(), "definition": st.definition }),
                );
            }
            let outbox = if st.outbox.is_empty() { l.t("empty", "пусто").to_string() } else { outbox_text(l, &st.outbox) };
            if ru {
                return print(&format!("кампания {} ({})\nисходящие: {outbox}\n\n{}\n", st.name, campaign_state(l, &st.state), st.definition.trim_end()));
            }
            print(&format!("campaign {} ({})\noutbox: {outbox}\n\n{}\n", st.name, st.state, st.definition.trim_end()))
        }
        Action::Pause { name } => set_state(&name, "paused", "paused", "приостановлена"),
        Action::Resume { name } => set_state(&name, "active", "active again", "снова активна"),
        Action::Archive { name } => set_state(&name, "archived", "archived", "в архиве"),
        Action::Preview { name, customer, send_test, now: at, json } => {
            let at = now_of(&app, at.as_deref())?;
            let p = s.rt.block_on(e.preview(&name, &customer, at)).map_err(engine_error)?;
            let sent = match &send_test {
                Some(to) => Some(s.rt.block_on(e.send_test(&p, to, at)).map_err(engine_error)?),
                None => None,
            };
            if json {
                return print_json(&serde_json::json!({ "preview": p, "test_message_id": sent }));
            }
            let mut out = if ru {
                format!("кампания {} для клиента {}{}\n", p.campaign, p.customer, if p.held_out { " (в контрольной группе: не получит ничего)" } else { "" })
            } else {
                format!(
                    "campaign {} for customer {}{}\n",
                    p.campaign,
                    p.customer,
                    if p.held_out { " (in the control group: would be sent nothing)" } else { "" }
                )
            };
            for st in &p.steps {
                let variant = match (st.variant.is_empty(), ru) {
                    (true, _) => String::new(),
                    (false, false) => format!(" variant {}", st.variant),
                    (false, true) => format!(" вариант {}", st.variant),
                };
                out.push_str(&if ru {
                    format!("\n— шаг {} {}{variant} через {} ч\nТема: {}\n\n{}\n", st.step, st.channel, st.after_seconds / 3600, st.subject, st.text.trim_end())
                } else {
                    format!(
                        "\n— step {} {}{variant} after {}h\nSubject: {}\n\n{}\n",
                        st.step,
                        st.channel,
                        st.after_seconds / 3600,
                        st.subject,
                        st.text.trim_end()
                    )
                });
            }
            if let (Some(to), Some(id)) = (&send_test, &sent) {
                out.push_str(&if ru {
                    format!("\nтестовое письмо отправлено на {to}: {id}\n")
                } else {
                    format!("\ntest message sent to {to}: {id}\n")
                });
            }
            print(&out)
        }
    }
}
