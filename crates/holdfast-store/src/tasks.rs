//! The action queue: tasks made from red flags, at most one open task per customer and kind.

use crate::error::{Error, Result};
use crate::model::*;
use crate::read::{query_rows, RowExt};
use crate::{with_pool, Pool, Store};
use holdfast_core::Instant;

const TASK_COLS: &str = "t.id, c.external_id, t.kind, t.reason, t.suggested_step, t.due_at, t.stake, t.state, t.dismiss_reason, t.created_at, t.closed_at";

/// What [`Store::upsert_tasks`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskUpsert {
    /// Tasks opened now.
    pub created: u64,
    /// Open tasks whose reason, step, due date or stake were refreshed.
    pub refreshed: u64,
}

/// Rows per multi-row statement.
const TASK_BATCH: usize = 500;

/// The work of [`Store::upsert_tasks`] inside its transaction `$tx`, the same SQL on both backends.
macro_rules! sync_tasks {
    ($tx:ident, $ws:expr, $tasks:expr, $now:expr) => {{
        let (ws, tasks, now): (WorkspaceId, &[NewTask], Instant) = ($ws, $tasks, $now);
        use sqlx::Row;
        let mut out = TaskUpsert::default();
        if !tasks.is_empty() {
            // The last entry of each (customer, kind) wins.
            let mut latest: rustc_hash::FxHashMap<(&str, &str), usize> = rustc_hash::FxHashMap::default();
            for (i, t) in tasks.iter().enumerate() {
                latest.insert((t.customer.as_str(), t.kind.as_str()), i);
            }
            let mut chosen: Vec<usize> = latest.values().copied().collect();
            chosen.sort_unstable();
            let mut open: rustc_hash::FxHashMap<(String, String), i64> = rustc_hash::FxHashMap::default();
            let rows = sqlx::query(
                "SELECT t.id, c.external_id, t.kind FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND t.state = 'open'",
            )
            .bind(ws.0)
            .fetch_all(&mut *$tx)
            .await?;
            for r in &rows {
                open.insert((r.try_get(1)?, r.try_get(2)?), r.try_get(0)?);
            }
            let mut customers: rustc_hash::FxHashMap<String, i64> = rustc_hash::FxHashMap::default();
            let rows = sqlx::query("SELECT id, external_id FROM customers WHERE workspace_id = $1").bind(ws.0).fetch_all(&mut *$tx).await?;
            for r in &rows {
                customers.insert(r.try_get(1)?, r.try_get(0)?);
            }
            let (mut updates, mut inserts): (Vec<(i64, &NewTask)>, Vec<(i64, &NewTask)>) = (Vec::new(), Vec::new());
            for &i in &chosen {
                let t = &tasks[i];
                match open.get(&(t.customer.clone(), t.kind.clone())) {
                    Some(&id) => updates.push((id, t)),
                    None => {
                        let c = *customers.get(&t.customer).ok_or_else(|| Error::NotFound { what: format!("customer {:?}", t.customer) })?;
                        inserts.push((c, t));
                    }
                }
            }
            out.refreshed = (tasks.len() - inserts.len()) as u64;
            out.created = inserts.len() as u64;
            for chunk in inserts.chunks(TASK_BATCH) {
                let mut sql =
                    String::from("INSERT INTO tasks (workspace_id, customer_id, kind, reason, suggested_step, due_at, stake, state, created_at) VALUES ");
                for k in 0..chunk.len() {
                    let b = k * 6;
                    if k > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("($1, ${}, ${}, ${}, ${}, ${}, ${}, 'open', $2)", b + 3, b + 4, b + 5, b + 6, b + 7, b + 8));
                }
                let mut q = sqlx::query(&sql).bind(ws.0).bind(now);
                for (c, t) in chunk {
                    q = q.bind(*c).bind(t.kind.as_str()).bind(t.reason.as_str()).bind(t.suggested_step.as_str()).bind(t.due_at).bind(t.stake);
                }
                q.execute(&mut *$tx).await?;
            }
            for chunk in updates.chunks(TASK_BATCH) {
                let mut sql = String::from(
                    "UPDATE tasks SET reason = v.reason, suggested_step = v.step, due_at = v.due, stake = v.stake \
             FROM (SELECT column1 AS id, column2 AS reason, column3 AS step, column4 AS due, column5 AS stake FROM (VALUES ",
                );
                for k in 0..chunk.len() {
                    let b = k * 5;
                    if k > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("(${}, ${}, ${}, ${}, ${})", b + 2, b + 3, b + 4, b + 5, b + 6));
                }
                sql.push_str(") AS x) AS v WHERE tasks.workspace_id = $1 AND tasks.id = v.id");
                let mut q = sqlx::query(&sql).bind(ws.0);
                for (id, t) in chunk {
                    q = q.bind(*id).bind(t.reason.as_str()).bind(t.suggested_step.as_str()).bind(t.due_at).bind(t.stake);
                }
                q.execute(&mut *$tx).await?;
            }
        }
        out
    }};
}

impl Store {
    /// Opens a task per entry, or refreshes the open task of the same customer and kind: there is
    /// never a second open task for one customer and kind (for an entry given twice, the last
    /// wins). `now` stamps new tasks. In bulk, in one write transaction: the open tasks and the
    /// customers' ids are read once, new tasks go in by multi-row `INSERT`s and refreshed ones by
    /// multi-row `UPDATE … FROM (VALUES …)`, a constant number of statements per 500 tasks.
    pub async fn upsert_tasks(&self, ws: WorkspaceId, tasks: &[NewTask], now: Instant) -> Result<TaskUpsert> {
        macro_rules! body {
            ($tx:ident) => {{
                let out = sync_tasks!($tx, ws, tasks, now);
                $tx.commit().await?;
                out
            }};
        }
        let out = match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                body!(tx)
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                // Two runs proposing the same task take turns instead of racing on the unique index.
                sqlx::query("SELECT pg_advisory_xact_lock(7263, $1)").bind(ws.0 as i32).execute(&mut *tx).await?;
                body!(tx)
            }
        };
        Ok(out)
    }

    /// Open tasks, highest stake first, then earliest due, then oldest.
    pub async fn open_tasks(&self, ws: WorkspaceId) -> Result<Vec<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND t.state = 'open' ORDER BY t.stake DESC NULLS LAST, t.due_at NULLS LAST, t.id");
        self.task_query(&sql, ws, None).await
    }

    /// All tasks of one customer, newest first.
    pub async fn tasks_of(&self, ws: WorkspaceId, customer: &str) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND c.external_id = $2 ORDER BY t.id DESC"
        );
        self.task_query(&sql, ws, Some(customer)).await
    }

    async fn task_query(&self, sql: &str, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<Task>> {
        Ok(query_rows!(self, sql, ws, customer, task_row))
    }

    /// Marks a task done, dismissed (with a reason) or open again. Reopening fails if another
    /// task of the same customer and kind is open.
    pub async fn set_task_state(&self, ws: WorkspaceId, task: i64, state: TaskState, dismiss_reason: Option<&str>, now: Instant) -> Result<()> {
        let closed = (state != TaskState::Open).then_some(now);
        let reason = if state == TaskState::Dismissed { dismiss_reason } else { None };
        let r = with_pool!(self, p => sqlx::query("UPDATE tasks SET state = $3, dismiss_reason = $4, closed_at = $5 WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0).bind(task).bind(state.as_str()).bind(reason).bind(closed).execute(p).await.map(|r| r.rows_affected()));
        match r {
            Ok(0) => Err(Error::NotFound { what: format!("task {task}") }),
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(Error::Invalid(format!("task {task} cannot be reopened: the customer already has an open task of this kind")))
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn task_row(r: &impl RowExt) -> Result<Task> {
    let state = r.text(7)?;
    Ok(Task {
        id: r.int(0)?,
        customer: r.text(1)?,
        kind: r.text(2)?,
        reason: r.text(3)?,
        suggested_step: r.text(4)?,
        due_at: r.opt_int(5)?,
        stake: r.opt_int(6)?,
        state: TaskState::parse(&state).ok_or_else(|| Error::Corrupt(format!("task state {state:?}")))?,
        dismiss_reason: r.opt_text(8)?,
        created_at: r.int(9)?,
        closed_at: r.opt_int(10)?,
    })
}
