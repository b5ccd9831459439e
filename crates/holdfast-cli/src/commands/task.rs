//! `holdfast task`: the tasks `holdfast at-risk` opened in the store — list them, close them as
//! done, dismiss them with a reason, or reopen them.

use crate::output::{minor_text, print, print_store_json};
use crate::session::Session;
use crate::Global;
use holdfast_report::vocab::word;
use holdfast_report::{Lang, Table};
use holdfast_store::TaskState;

/// Works the action queue kept in the store (`holdfast --db URL at-risk` opens the tasks).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db task list\n  holdfast --db sqlite://shop.db task done 17\n  holdfast --db sqlite://shop.db task dismiss 18 --reason \"moved abroad\""
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// The open tasks (one per customer, holding all its flags), highest stake first (or one
    /// customer's tasks, every state).
    List {
        /// Only this customer's tasks.
        #[arg(long, value_name = "ID")]
        customer: Option<String>,
        /// Print one JSON document (every task).
        #[arg(long)]
        json: bool,
        /// Tasks in the table, highest stake first (default 25).
        #[arg(long, value_name = "N", default_value_t = 25)]
        limit: usize,
    },
    /// Marks a task done.
    Done { id: i64 },
    /// Dismisses a task; the reason is kept.
    Dismiss {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Opens a closed task again.
    Reopen { id: i64 },
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let db = s.open_existing()?;
    let ws = db.ws.id;
    // A person closing a task is the one place the wall clock belongs.
    let now = chrono::Utc::now().timestamp();
    let l = g.lang();
    let ru = l == Lang::Ru;
    let (id, state, reason) = match args.action {
        Action::List { customer, json, limit } => {
            let tasks = match &customer {
                Some(c) => s.store(db.store.tasks_of(ws, c))?,
                None => s.store(db.store.open_tasks(ws))?,
            };
            if json {
                return print_store_json(&serde_json::json!({ "tasks": tasks }), db.ws.currency);
            }
            let cal = db.calendar()?;
            let cur = db.ws.currency;
            let stake = if ru { format!("На кону ({})", l.currency_name(cur)) } else { format!("Stake ({cur})") };
            let mut t = Table::new(&[
                l.t("Task", "Задача"),
                l.t("Customer", "Клиент"),
                l.t("Flags", "Флаги"),
                &stake,
                l.t("Plan", "План"),
                l.t("Step", "Шаг"),
                l.t("Due", "Срок"),
                l.t("State", "Состояние"),
                l.t("Why", "Почему"),
            ]);
            t.right = vec![true, false, false, true, false, false, false, false, false];
            for k in tasks.iter().take(limit) {
                let plan = k.plan.as_deref().unwrap_or("");
                t.row(vec![
                    k.id.to_string(),
                    k.customer.clone(),
                    k.kinds.iter().map(|x| word(l, x.as_str())).collect::<Vec<_>>().join(", "),
                    k.stake.map(|s| minor_text(l, s, cur)).unwrap_or_default(),
                    if ru { word(l, plan) } else { plan.replace('_', " ") },
                    word(l, &k.suggested_step),
                    k.due_at.map(|d| if ru { l.date(cal.date(d)) } else { cal.date(d).to_string() }).unwrap_or_default(),
                    match &k.dismiss_reason {
                        Some(r) => format!("{} ({r})", word(l, k.state.as_str())),
                        None => word(l, k.state.as_str()),
                    },
                    k.reason_in(ru).to_owned(),
                ]);
            }
            let more = match (tasks.len().saturating_sub(limit), ru) {
                (0, _) => String::new(),
                (n, false) => format!("… and {n} more (--limit N shows more; --json gives all)\n"),
                (n, true) => format!("… и ещё {} (--limit N покажет больше; --json — все)\n", l.count(n as i64)),
            };
            let head = match (customer.is_some(), ru) {
                (true, false) => format!("{} tasks", tasks.len()),
                (false, false) => format!("{} open tasks", tasks.len()),
                (true, true) => format!("Задачи клиента: {}", l.count(tasks.len() as i64)),
                (false, true) => format!("Открытые задачи: {}", l.count(tasks.len() as i64)),
            };
            return print(&format!("{head}\n{}{more}", t.to_text()));
        }
        Action::Done { id } => (id, TaskState::Done, None),
        Action::Dismiss { id, reason } => {
            anyhow::ensure!(!reason.trim().is_empty(), "{}", l.t("--reason must say why the task is dismissed", "--reason: напишите, почему задача отклонена"));
            (id, TaskState::Dismissed, Some(reason))
        }
        Action::Reopen { id } => (id, TaskState::Open, None),
    };
    match s.store(db.store.set_task_state(ws, id, state, reason.as_deref(), now)) {
        Err(e) if e.downcast_ref::<holdfast_app::Error>().is_some_and(|e| e.kind == holdfast_app::ErrorKind::NotFound) => {
            let what = if ru { format!("нет задачи {id} в {}", db.store.url()) } else { format!("no task {id} in {}", db.store.url()) };
            return Err(holdfast_app::Error::not_found(what).into());
        }
        r => r?,
    }
    print(&if ru { format!("задача {id} {}\n", word(l, state.as_str())) } else { format!("task {id} is {}\n", state.as_str()) })
}
