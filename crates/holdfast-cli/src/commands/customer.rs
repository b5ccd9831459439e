//! `holdfast customer`: everything known about one customer.

use crate::output::{amount_text, count_text, minor_text, print, print_store_json};
use crate::session::Session;
use crate::Global;
use holdfast_report::vocab::{outbox_state, word};
use holdfast_report::Lang;
use holdfast_store::{Contact, ImportantDate, Interaction, Note, Record};
use std::fmt::Write;

/// Everything the store knows about one customer: profile and consents, contacts, notes,
/// important dates, orders, subscriptions, events per kind, feedback, interactions, scores, tasks.
/// With a subcommand, records a note, an important date, a contact person or an interaction.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db customer C000042\n  holdfast --db sqlite://shop.db customer C000042 --json\n  holdfast --db sqlite://shop.db customer C000042 note \"prefers short summaries\" --channel telegram --time mornings\n  holdfast --db sqlite://shop.db customer C000042 date birthday 1985-04-12\n  holdfast --db sqlite://shop.db customer C000042 contact \"Anna Petrova\" --role buyer --email anna@example.com\n  holdfast --db sqlite://shop.db customer C000042 interaction call --at 2024-03-01 --by oleg --summary \"asked about delivery\""
)]
pub struct Args {
    /// The customer's id (as in the imported files).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub add: Option<Add>,
}

/// What to record about the customer.
#[derive(clap::Subcommand, Debug)]
pub enum Add {
    /// A note: free text plus typed fields (pain points, goals, preferred channel and time, style).
    Note {
        /// The note itself.
        body: String,
        #[arg(long)]
        pain_points: Option<String>,
        #[arg(long)]
        goals: Option<String>,
        /// Preferred channel, e.g. email, phone, telegram.
        #[arg(long)]
        channel: Option<String>,
        /// Preferred time, e.g. mornings.
        #[arg(long)]
        time: Option<String>,
        /// How they like to be addressed, e.g. "short summaries, not detailed reports".
        #[arg(long)]
        style: Option<String>,
        #[arg(long)]
        author: Option<String>,
        /// When the note was taken (YYYY-MM-DD or RFC 3339; default: now).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
    },
    /// An important date, yearly unless --once: birthday, company_birthday, product_launch,
    /// seasonal_campaign, contract_renewal or other.
    Date {
        #[arg(value_parser = parse_date_kind)]
        kind: holdfast_store::DateKind,
        /// YYYY-MM-DD.
        #[arg(value_parser = parse_day)]
        on: chrono::NaiveDate,
        #[arg(long)]
        label: Option<String>,
        /// A one-off date rather than a yearly one.
        #[arg(long)]
        once: bool,
    },
    /// A contact person of a company customer.
    Contact {
        name: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
    /// A call, meeting, email, message or other interaction.
    Interaction {
        /// call, meeting, email, message or other.
        kind: String,
        /// When (YYYY-MM-DD or RFC 3339; default: now).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Who on the customer's side.
        #[arg(long = "with")]
        with_whom: Option<String>,
        /// Who on ours.
        #[arg(long = "by")]
        by_whom: Option<String>,
        #[arg(long)]
        summary: Option<String>,
    },
}

fn parse_date_kind(s: &str) -> Result<holdfast_store::DateKind, String> {
    holdfast_store::DateKind::parse(s)
        .ok_or_else(|| format!("{s:?}: expected birthday, company_birthday, product_launch, seasonal_campaign, contract_renewal or other"))
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date (expected YYYY-MM-DD)"))
}

/// Records `add` for customer `id`.
fn record(s: &Session, db: &holdfast_app::App, id: &str, add: Add, l: Lang) -> anyhow::Result<String> {
    let cal = db.calendar()?;
    // The moment something is recorded by a person is the one place the wall clock belongs.
    let when = |at: Option<String>| -> anyhow::Result<i64> {
        match at {
            Some(s) => holdfast_app::parse_instant(&s, &cal).map_err(|e| anyhow::anyhow!("--at: {e}")),
            None => Ok(chrono::Utc::now().timestamp()),
        }
    };
    let (customer, external_id) = (id.to_owned(), String::new());
    let (what, rec) = match add {
        Add::Note { body, pain_points, goals, channel, time, style, author, at } => {
            let created_at = Some(when(at)?);
            (
                "note",
                Record::Note(Note {
                    external_id,
                    customer,
                    body,
                    pain_points,
                    goals,
                    preferred_channel: channel,
                    preferred_time: time,
                    communication_style: style,
                    author,
                    created_at,
                }),
            )
        }
        Add::Date { kind, on, label, once } => ("important date", Record::Date(ImportantDate { external_id, customer, kind, label, date: on, yearly: !once })),
        Add::Contact { name, role, email, phone } => ("contact", Record::Contact(Contact { external_id, customer, name, role, email, phone })),
        Add::Interaction { kind, at, with_whom, by_whom, summary } => {
            let kind = holdfast_store::interaction_kind(&kind)
                .ok_or_else(|| anyhow::anyhow!("{kind:?} is not an interaction kind (expected call, meeting, email, message or other)"))?
                .to_owned();
            ("interaction", Record::Interaction(Interaction { external_id, customer, kind, occurred_at: when(at)?, with_whom, by_whom, summary }))
        }
    };
    let key = s.store(db.store.add_record(db.ws.id, rec))?;
    Ok(match l {
        Lang::En => format!("{what} {key} recorded for customer {id}\n"),
        Lang::Ru => {
            let what = match what {
                "note" => "заметка",
                "important date" => "важная дата",
                "contact" => "контакт",
                _ => "взаимодействие",
            };
            format!("записано: {what} {key}, клиент {id}\n")
        }
    })
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let db = s.open_existing()?;
    if let Some(add) = args.add {
        return match record(&s, &db, &args.id, add, g.lang()) {
            Err(e) if e.downcast_ref::<holdfast_app::Error>().is_some_and(|e| e.kind == holdfast_app::ErrorKind::NotFound) => {
                Err(holdfast_app::Error::not_found(format!("no customer {:?} in {}", args.id, db.store.url())).into())
            }
            r => print(&r?),
        };
    }
    let v = match s.rt.block_on(db.store.customer_view(db.ws.id, &args.id)) {
        Err(holdfast_store::Error::NotFound { .. }) => {
            return Err(holdfast_app::Error::not_found(format!("no customer {:?} in {}", args.id, db.store.url())).into())
        }
        r => r.map_err(holdfast_app::Error::from)?,
    };
    // The contact ledger: who contacted the customer, when, why, and what was held back.
    let ledger: Vec<_> = s.store(db.store.ledger(db.ws.id, Some(&args.id)))?.into_iter().map(|(_, l)| l).collect();
    if args.json {
        let mut doc = serde_json::to_value(&v)?;
        doc["ledger"] = serde_json::to_value(&ledger)?;
        return print_store_json(&doc, db.ws.currency);
    }
    let cal = db.calendar()?;
    let l = g.lang();
    let ru = l == Lang::Ru;
    let d = |t: i64| if ru { l.date(cal.date(t)) } else { cal.date(t).to_string() };
    let day = |x: chrono::NaiveDate| if ru { l.date(x) } else { x.to_string() };
    let c = &v.customer;
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", c.name.as_deref().unwrap_or(&c.external_id), word(l, c.kind.as_str()));
    let _ = writeln!(
        s,
        "  id {}  {} {}  {} {}  {} {}",
        c.external_id,
        l.t("email", "e-mail"),
        c.email.as_deref().unwrap_or("–"),
        l.t("phone", "телефон"),
        c.phone.as_deref().unwrap_or("–"),
        l.t("owner", "ответственный"),
        c.owner.as_deref().unwrap_or("–")
    );
    if !c.tags.is_empty() {
        let _ = writeln!(s, "  {}: {}", l.t("tags", "метки"), c.tags.join(", "));
    }
    if let Some(b) = c.birthday {
        let what =
            if c.kind == holdfast_store::CustomerKind::Company { l.t("founded", "основана") } else { l.t("birthday", "день рождения") };
        let _ = writeln!(s, "  {what}: {}", day(b));
    }
    for k in &c.consents {
        let _ = writeln!(
            s,
            "  {}: {} ({} {}, {} {})",
            k.channel,
            if k.granted { l.t("may contact", "можно связываться") } else { l.t("do not contact", "не связываться") },
            l.t("consent", "согласие"),
            k.consented_at.map(d).unwrap_or("–".into()),
            l.t("unsubscribed", "отписка"),
            k.unsubscribed_at.map(d).unwrap_or("–".into())
        );
    }
    let cur = db.ws.currency;
    if let Some(sc) = &v.score {
        let flags =
            if sc.flags.is_empty() { l.t("none", "нет").to_owned() } else { sc.flags.iter().map(|f| word(l, f.as_str())).collect::<Vec<_>>().join(", ") };
        let _ = if ru {
            writeln!(
                s,
                "\nОценка (на {}): сегмент {}, P(alive) {}, CLV {}, флаги: {flags}",
                d(sc.computed_at),
                sc.segment.map_or("–".to_owned(), |s| word(l, s.as_str())),
                sc.p_alive.map(|p| l.number(Some(p), 2)).unwrap_or("–".into()),
                sc.clv.map(|x| amount_text(l, x, cur)).unwrap_or("–".into()),
            )
        } else {
            writeln!(
                s,
                "\nScore (as of {}): segment {}, P(alive) {}, CLV {}, flags {flags}",
                d(sc.computed_at),
                sc.segment.map_or("–", |s| s.key()),
                sc.p_alive.map(|p| format!("{:.2}", p)).unwrap_or("–".into()),
                sc.clv.map(|x| amount_text(l, x, cur)).unwrap_or("–".into()),
            )
        };
        if let Some(r) = sc.risk {
            let pct = if ru { format!("{} %", l.number(Some(r * 100.0), 0)) } else { format!("{:.0}%", r * 100.0) };
            let _ = writeln!(s, "{}: {pct}", l.t("Churn risk (learned)", "Риск оттока (обученная модель)"));
            for reason in &sc.risk_reasons {
                let text = if ru && !reason.explanation_ru.is_empty() { &reason.explanation_ru } else { &reason.explanation };
                let _ = writeln!(s, "  - {text}");
            }
        }
    }
    section(
        &mut s,
        l.t("Contacts", "Контакты"),
        v.contacts.iter().map(|k| format!("{} {} {}", k.name, k.role.as_deref().unwrap_or(""), k.email.as_deref().unwrap_or(""))),
    );
    section(
        &mut s,
        l.t("Notes", "Заметки"),
        v.notes.iter().map(|n| {
            let mut x = format!("{} {}", n.created_at.map(d).unwrap_or(l.t("(undated)", "(без даты)").into()), n.body);
            for (label, val) in [
                (l.t("pain points", "что мешает"), &n.pain_points),
                (l.t("goals", "цели"), &n.goals),
                (l.t("channel", "канал"), &n.preferred_channel),
                (l.t("time", "время"), &n.preferred_time),
                (l.t("style", "стиль"), &n.communication_style),
            ] {
                if let Some(val) = val {
                    let _ = write!(x, "; {label}: {val}");
                }
            }
            x
        }),
    );
    section(
        &mut s,
        l.t("Important dates", "Важные даты"),
        v.important_dates.iter().map(|i| {
            format!(
                "{} {}{} {}",
                day(i.date),
                date_kind(l, i.kind.as_str()),
                if i.yearly { l.t(" (yearly)", " (ежегодно)") } else { "" },
                i.label.as_deref().unwrap_or("")
            )
        }),
    );
    let total: i64 = v.orders.iter().filter(|o| o.is_counted()).map(|o| o.amount).sum();
    let counted = v.orders.iter().filter(|o| o.is_counted()).count();
    let order_currency = v.orders.first().map(|o| o.currency).unwrap_or(cur);
    let _ = if ru {
        writeln!(s, "\nЗаказы: учтённых {}, на сумму {}", l.count(counted as i64), amount_text(l, total, order_currency))
    } else {
        writeln!(s, "\nOrders: {counted} counted, {} in total", amount_text(l, total, order_currency))
    };
    for o in v.orders.iter().rev().take(20) {
        let items: Vec<String> = o.lines.iter().map(|l| format!("{}×{}", l.sku, l.quantity)).collect();
        let _ = if ru {
            writeln!(s, "  {} {:>16} {:<12} {}", d(o.ordered_at), amount_text(l, o.amount, o.currency), word(l, &o.status.to_string()), items.join(", "))
        } else {
            writeln!(s, "  {} {:>12} {} {:<9} {}", d(o.ordered_at), minor_text(l, o.amount, o.currency), o.currency, o.status, items.join(", "))
        };
    }
    if v.orders.len() > 20 {
        let _ = if ru {
            writeln!(s, "  … и ещё более ранних заказов: {} (см. --json)", count_text(l, (v.orders.len() - 20) as i64))
        } else {
            writeln!(s, "  … {} older orders (see --json)", v.orders.len() - 20)
        };
    }
    section(
        &mut s,
        l.t("Subscriptions", "Подписки"),
        v.subscriptions.iter().map(|x| {
            let reason = x.cancel_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
            if ru {
                format!(
                    "{} {} в месяц с {} по {}{reason}",
                    x.plan,
                    amount_text(l, x.mrr, x.currency),
                    d(x.started_at),
                    x.ended_at.map(d).unwrap_or("сейчас".into())
                )
            } else {
                format!(
                    "{} {}/month from {} to {}{reason}",
                    x.plan,
                    amount_text(l, x.mrr, x.currency),
                    d(x.started_at),
                    x.ended_at.map(d).unwrap_or("now".into())
                )
            }
        }),
    );
    section(
        &mut s,
        l.t("Events", "События"),
        v.events
            .iter()
            .map(|e| format!("{}: {} ({} {})", e.kind, if ru { l.count(e.count as i64) } else { e.count.to_string() }, l.t("last", "последнее"), d(e.last_at))),
    );
    section(
        &mut s,
        l.t("Feedback", "Отзывы"),
        v.feedback.iter().map(|f| {
            format!(
                "{} {} {} {} {}",
                d(f.responded_at),
                l.t("score", "оценка"),
                f.score.map(|x| x.to_string()).unwrap_or("–".into()),
                f.touchpoint.as_deref().unwrap_or(""),
                f.comment.as_deref().unwrap_or("")
            )
        }),
    );
    section(
        &mut s,
        l.t("Interactions", "Взаимодействия"),
        v.interactions.iter().map(|i| {
            let (with, by, summary) = (i.with_whom.as_deref().unwrap_or("–"), i.by_whom.as_deref().unwrap_or("–"), i.summary.as_deref().unwrap_or(""));
            if ru {
                format!("{} {} (клиент: {with}, от нас: {by}): {summary}", d(i.occurred_at), interaction_kind(l, &i.kind))
            } else {
                format!("{} {} with {with} by {by}: {summary}", d(i.occurred_at), i.kind)
            }
        }),
    );
    section(
        &mut s,
        l.t("Tasks", "Задачи"),
        v.tasks.iter().map(|t| {
            format!("#{} {} [{}] {} → {}", t.id, word(l, t.kind.as_str()), word(l, t.state.as_str()), t.reason_in(l == Lang::Ru), word(l, &t.suggested_step))
        }),
    );
    section(
        &mut s,
        l.t("Contact ledger", "Журнал контактов"),
        ledger.iter().map(|x| {
            format!(
                "{} {} {} {}{}: {}",
                d(x.at),
                x.campaign,
                x.channel,
                outbox_state(l, &x.outcome),
                x.rule.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
                x.subject
            )
        }),
    );
    print(&s)
}

/// A kind of important date in the language.
fn date_kind(l: Lang, kind: &str) -> &str {
    match (l, kind) {
        (Lang::Ru, "birthday") => "день рождения",
        (Lang::Ru, "company_birthday") => "день основания компании",
        (Lang::Ru, "product_launch") => "запуск продукта",
        (Lang::Ru, "seasonal_campaign") => "сезонная кампания",
        (Lang::Ru, "contract_renewal") => "продление договора",
        (Lang::Ru, "other") => "другое",
        (_, k) => k,
    }
}

/// A kind of interaction in the language.
fn interaction_kind(l: Lang, kind: &str) -> &str {
    match (l, kind) {
        (Lang::Ru, "call") => "звонок",
        (Lang::Ru, "meeting") => "встреча",
        (Lang::Ru, "email") => "письмо",
        (Lang::Ru, "message") => "сообщение",
        (Lang::Ru, "other") => "другое",
        (_, k) => k,
    }
}

fn section(s: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n{title}:");
    for i in items {
        let _ = writeln!(s, "  {i}");
    }
}
