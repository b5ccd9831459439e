//! The action queue: tasks made from red flags, at most one open task per customer and kind.

use crate::bulk::{scan, write_rows, RowBuf};
use crate::error::{Error, Result};
use crate::model::*;
use crate::read::{query_rows, RowExt};
use crate::tx::{Tx, TASKS_LOCK};
use crate::{with_pool, Store};
use holdfast_core::flags::FlagKind;
use holdfast_core::Instant;
use rustc_hash::FxHashMap;

const TASK_COLS: &str = "t.id, c.external_id, t.kind, t.reason, t.suggested_step, t.due_at, t.stake, t.state, t.dismiss_reason, t.created_at, t.closed_at";

/// The queue's order: open tasks first, then highest stake (none last), earliest due (none last),
/// then id — the generated columns `queue_closed`, `queue_stake`, `queue_due` and `id`, which the
/// `tasks_page` and `tasks_customer` indexes hold in this order (schema 4).
const QUEUE_ORDER: &str = "t.queue_closed, t.queue_stake, t.queue_due, t.id";

/// What [`Store::sync_tasks`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskSync {
    /// Tasks opened now.
    pub created: u64,
    /// Proposed tasks whose customer and kind already had an open task: its reason, step, due
    /// date and stake were refreshed.
    pub refreshed: u64,
    /// One entry per proposed task, in the order given.
    pub tasks: Vec<SyncedTask>,
}

/// The open task a proposed task ended up as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SyncedTask {
    /// The id of the open task of the proposed task's customer and kind.
    pub id: i64,
    /// Whether that task was open before this sync (refreshed rather than opened). A second
    /// proposal of the same customer and kind in one call counts as already open.
    pub already_open: bool,
}

/// The staging tables of [`Store::sync_tasks`]: the proposals as given (these columns), then
/// joined with their customers and open tasks.
const STAGE: &str = "stage_tasks";
const RESOLVED: &str = "stage_tasks_resolved";
const STAGE_COLUMNS: [&str; 7] = ["k", "customer", "kind", "reason", "suggested_step", "due_at", "stake"];

impl Store {
    /// Opens a task for each proposed (customer, kind) that has no open task, and refreshes the
    /// reason, step, due date and stake of the open ones: there is never a second open task for
    /// one customer and kind (a unique index says so). `now` stamps new tasks. When the same
    /// customer and kind are proposed twice, the last proposal's fields win.
    ///
    /// One write transaction and a constant number of statements whatever the number of tasks:
    /// the proposals are staged in bulk, the customers and open tasks looked up, the open tasks
    /// updated and the new ones inserted with one statement each. Two syncs of one workspace at
    /// once take turns (`BEGIN IMMEDIATE` on SQLite, an advisory lock on PostgreSQL), so the second
    /// sees what the first opened. A customer not in the workspace fails the whole sync with
    /// [`Error::NotFound`].
    pub async fn sync_tasks(&self, ws: WorkspaceId, tasks: &[NewTask], now: Instant) -> Result<TaskSync> {
        if tasks.is_empty() {
            return Ok(TaskSync::default());
        }
        // One staged row per (customer, kind): its slot, filled with the last proposal's fields.
        let mut slot_of_key: FxHashMap<(&str, FlagKind), usize> = FxHashMap::default();
        let mut slot_of: Vec<usize> = Vec::with_capacity(tasks.len());
        let mut last: Vec<usize> = Vec::new();
        for (k, t) in tasks.iter().enumerate() {
            let slot = *slot_of_key.entry((t.customer.as_str(), t.kind)).or_insert_with(|| {
                last.push(k);
                last.len() - 1
            });
            last[slot] = k;
            slot_of.push(slot);
        }
        let mut buf = RowBuf::new(STAGE_COLUMNS.len());
        for (slot, &k) in last.iter().enumerate() {
            let t = &tasks[k];
            buf.int(slot as i64).text(&t.customer).text(t.kind.as_str()).text(&t.reason).text(&t.suggested_step).opt_int(t.due_at).opt_int(t.stake);
        }

        let w = ws.0;
        let mut tx = Tx::write(&self.pool, TASKS_LOCK, ws).await?;
        tx.stage(STAGE, "k BIGINT, customer TEXT, kind TEXT, reason TEXT, suggested_step TEXT, due_at BIGINT, stake BIGINT").await?;
        write_rows(tx.conn(), STAGE, &STAGE_COLUMNS, &buf).await?;
        // Each staged row with its customer and its open task, if any: one join driven by the
        // staged rows (index lookups of customers by external id and of the open task by the
        // unique index), whichever backend plans it.
        tx.stage_as(
            RESOLVED,
            &format!(
                "SELECT s.k, s.kind, s.reason, s.suggested_step, s.due_at, s.stake, s.customer, c.id AS customer_id, t.id AS task_id FROM {STAGE} s \
                 LEFT JOIN customers c ON c.workspace_id = {w} AND c.external_id = s.customer \
                 LEFT JOIN tasks t ON t.workspace_id = {w} AND t.customer_id = c.id AND t.kind = s.kind AND t.state = 'open'"
            ),
        )
        .await?;
        let mut unknown = None;
        scan(tx.conn(), &format!("SELECT customer FROM {RESOLVED} WHERE customer_id IS NULL LIMIT 1"), |r| {
            unknown = Some(r.text_req(0)?.into_owned());
            Ok(())
        })
        .await?;
        if let Some(c) = unknown {
            return Err(Error::NotFound { what: format!("customer {c:?}") });
        }
        // Open tasks: refreshed where anything changed.
        tx.exec(&format!(
            "UPDATE tasks SET reason = s.reason, suggested_step = s.suggested_step, due_at = s.due_at, stake = s.stake FROM {RESOLVED} s \
             WHERE tasks.id = s.task_id AND (tasks.reason <> s.reason OR tasks.suggested_step <> s.suggested_step \
             OR tasks.due_at IS DISTINCT FROM s.due_at OR tasks.stake IS DISTINCT FROM s.stake)"
        ))
        .await?;
        let created = tx
            .exec(&format!(
                "INSERT INTO tasks (workspace_id, customer_id, kind, reason, suggested_step, due_at, stake, state, created_at) \
                 SELECT {w}, customer_id, kind, reason, suggested_step, due_at, stake, 'open', {now} FROM {RESOLVED} WHERE task_id IS NULL ORDER BY k"
            ))
            .await?;
        // The open task of every staged row, and whether it was open before.
        let mut ids: Vec<(i64, bool)> = vec![(0, false); last.len()];
        scan(
            tx.conn(),
            &format!(
                "SELECT s.k, t.id, s.task_id FROM {RESOLVED} s JOIN tasks t ON t.workspace_id = {w} AND t.customer_id = s.customer_id AND t.kind = s.kind AND t.state = 'open'"
            ),
            |r| {
                let slot = usize::try_from(r.int_req(0)?).ok().filter(|&s| s < ids.len()).ok_or_else(|| Error::Corrupt("a staged task out of range".into()))?;
                ids[slot] = (r.int_req(1)?, r.int(2)?.is_some());
                Ok(())
            },
        )
        .await?;
        tx.unstage(RESOLVED).await?;
        tx.unstage(STAGE).await?;
        tx.commit().await?;

        let mut seen = vec![false; last.len()];
        let mut out = TaskSync { tasks: Vec::with_capacity(tasks.len()), ..Default::default() };
        for &slot in &slot_of {
            let (id, was_open) = ids[slot];
            let already_open = was_open || seen[slot];
            seen[slot] = true;
            out.tasks.push(SyncedTask { id, already_open });
        }
        out.created = created;
        out.refreshed = tasks.len() as u64 - created;
        Ok(out)
    }

    /// Open tasks, highest stake first, then earliest due, then oldest.
    pub async fn open_tasks(&self, ws: WorkspaceId) -> Result<Vec<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND t.queue_closed = 0 ORDER BY {QUEUE_ORDER}");
        self.task_query(&sql, ws, None).await
    }

    /// One page of a workspace's tasks in the queue's order — open tasks first (highest stake,
    /// then earliest due, then oldest, as [`Store::open_tasks`]), then the closed ones in the same
    /// order — filtered by `filter`: at most `limit` tasks (1 to [`MAX_PAGE`]) after the cursor
    /// `after` (from the previous page; `None`: from the start). Walks the `tasks_page` index (for
    /// one customer, `tasks_customer`) from the cursor.
    pub async fn tasks_page(&self, ws: WorkspaceId, filter: &TaskFilter, after: Option<&TaskCursor>, limit: u32) -> Result<Page<Task, TaskCursor>> {
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let mut conds = String::new();
        let mut texts: Vec<&str> = Vec::new();
        if let Some(st) = filter.state {
            conds.push_str(&format!(" AND t.state = '{}'", st.as_str()));
        }
        if let Some(k) = filter.kind {
            conds.push_str(&format!(" AND t.kind = '{}'", k.as_str()));
        }
        if let Some(o) = filter.owner.as_deref() {
            texts.push(o);
            conds.push_str(&format!(" AND c.owner = ${}", 1 + texts.len()));
        }
        if let Some(c) = filter.customer.as_deref() {
            texts.push(c);
            conds.push_str(&format!(" AND c.workspace_id = $1 AND c.external_id = ${}", 1 + texts.len()));
        }
        if let Some(a) = after {
            conds.push_str(&format!(" AND ({QUEUE_ORDER}) > ({}, {}, {}, {})", a.closed, a.stake_key, a.due_key, a.id));
        }
        let sql = format!(
            "SELECT {TASK_COLS}, t.queue_closed, t.queue_stake, t.queue_due FROM tasks t JOIN customers c ON c.id = t.customer_id \
             WHERE t.workspace_id = $1{conds} ORDER BY {QUEUE_ORDER} LIMIT {}",
            limit + 1
        );
        let mut rows: Vec<(Task, TaskCursor)> = Vec::new();
        with_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(ws.0);
            for t in &texts {
                q = q.bind(*t);
            }
            let mut stream = q.fetch(p);
            while let Some(r) = futures_util::TryStreamExt::try_next(&mut stream).await? {
                let t = task_row(&r)?;
                let cursor = TaskCursor { closed: r.int(11)?, stake_key: r.int(12)?, due_key: r.int(13)?, id: t.id };
                rows.push((t, cursor));
            }
        });
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|(_, c)| *c)
        } else {
            None
        };
        Ok(Page { items: rows.into_iter().map(|(t, _)| t).collect(), next })
    }

    /// All tasks of one customer, newest first.
    pub async fn tasks_of(&self, ws: WorkspaceId, customer: &str) -> Result<Vec<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND c.workspace_id = $1 AND c.external_id = $2 ORDER BY t.id DESC");
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
    let kind = r.text(2)?;
    Ok(Task {
        id: r.int(0)?,
        customer: r.text(1)?,
        kind: FlagKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("task kind {kind:?}")))?,
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
