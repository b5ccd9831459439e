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

impl Store {
    /// Opens a task per entry, or refreshes the open task of the same customer and kind: there is
    /// never a second open task for one customer and kind. `now` stamps new tasks.
    pub async fn upsert_tasks(&self, ws: WorkspaceId, tasks: &[NewTask], now: Instant) -> Result<TaskUpsert> {
        let mut out = TaskUpsert::default();
        macro_rules! body {
            ($tx:ident) => {{
                for t in tasks {
                    let existing: Option<i64> = sqlx::query_scalar("SELECT t.id FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND c.external_id = $2 AND t.kind = $3 AND t.state = 'open'")
                        .bind(ws.0).bind(&t.customer).bind(&t.kind).fetch_optional(&mut *$tx).await?;
                    match existing {
                        Some(id) => {
                            sqlx::query("UPDATE tasks SET reason = $2, suggested_step = $3, due_at = $4, stake = $5 WHERE id = $1")
                                .bind(id).bind(&t.reason).bind(&t.suggested_step).bind(t.due_at).bind(t.stake).execute(&mut *$tx).await?;
                            out.refreshed += 1;
                        }
                        None => {
                            let n = sqlx::query("INSERT INTO tasks (workspace_id, customer_id, kind, reason, suggested_step, due_at, stake, state, created_at) \
                                SELECT $1, c.id, $3, $4, $5, $6, $7, 'open', $8 FROM customers c WHERE c.workspace_id = $1 AND c.external_id = $2")
                                .bind(ws.0).bind(&t.customer).bind(&t.kind).bind(&t.reason).bind(&t.suggested_step).bind(t.due_at).bind(t.stake).bind(now)
                                .execute(&mut *$tx).await?.rows_affected();
                            if n == 0 {
                                return Err(Error::NotFound { what: format!("customer {:?}", t.customer) });
                            }
                            out.created += 1;
                        }
                    }
                }
                $tx.commit().await?;
            }};
        }
        match &self.pool {
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
        }
        Ok(out)
    }

    /// Open tasks, highest stake first, then earliest due, then oldest.
    pub async fn open_tasks(&self, ws: WorkspaceId) -> Result<Vec<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND t.state = 'open' ORDER BY t.stake DESC NULLS LAST, t.due_at NULLS LAST, t.id");
        self.task_query(&sql, ws, None).await
    }

    /// All tasks of one customer, newest first.
    pub async fn tasks_of(&self, ws: WorkspaceId, customer: &str) -> Result<Vec<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND c.external_id = $2 ORDER BY t.id DESC");
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
