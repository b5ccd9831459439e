//! `holdfast task`: the tasks `holdfast at-risk` opened in the store — list them, close them as
//! done, dismiss them with a reason, or reopen them.

use crate::output::{print, print_store_json};
use crate::session::Session;
use crate::Global;
use holdfast_report::format::fmt_minor;
use holdfast_report::Table;
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
            let stake = format!("Stake ({})", db.ws.currency);
            let mut t = Table::new(&["Task", "Customer", "Flags", &stake, "Plan", "Step", "Due", "State", "Why"]);
            t.right = vec![true, false, false, true, false, false, false, false, false];
            for k in tasks.iter().take(limit) {
                t.row(vec![
                    k.id.to_string(),
                    k.customer.clone(),
                    k.kinds.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "),
                    k.stake.map(|s| fmt_minor(s, db.ws.currency)).unwrap_or_default(),
                    k.plan.as_deref().unwrap_or("").replace('_', " "),
                    k.suggested_step.clone(),
                    k.due_at.map(|d| cal.date(d).to_string()).unwrap_or_default(),
                    match &k.dismiss_reason {
                        Some(r) => format!("{} ({r})", k.state.as_str()),
                        None => k.state.as_str().to_string(),
                    },
                    k.reason.clone(),
                ]);
            }
            let what = if customer.is_some() { "tasks" } else { "open tasks" };
            let more = match tasks.len().saturating_sub(limit) {
                0 => String::new(),
                n => format!("… and {n} more (--limit N shows more; --json gives all)\n"),
            };
            return print(&format!("{} {what}\n{}{more}", tasks.len(), t.to_text()));
        }
        Action::Done { id } => (id, TaskState::Done, None),
        Action::Dismiss { id, reason } => {
            anyhow::ensure!(!reason.trim().is_empty(), "--reason must say why the task is dismissed");
            (id, TaskState::Dismissed, Some(reason))
        }
        Action::Reopen { id } => (id, TaskState::Open, None),
    };
    match s.store(db.store.set_task_state(ws, id, state, reason.as_deref(), now)) {
        Err(e) if e.downcast_ref::<holdfast_app::Error>().is_some_and(|e| e.kind == holdfast_app::ErrorKind::NotFound) => {
            return Err(holdfast_app::Error::not_found(format!("no task {id} in {}", db.store.url())).into());
        }
        r => r?,
    }
    print(&format!("task {id} is {}\n", state.as_str()))
}
