//! The action queue: tasks made from red flags, one open task per customer holding all its flags.

use crate::bulk::{scan, write_rows, RowBuf};
use crate::error::{Error, Result};
use crate::model::*;
use crate::read::{query_rows, RowExt};
use crate::tx::{with_tx, Tx, TASKS_LOCK};
use crate::{with_pool, Store};
use holdfast_core::flags::FlagKind;
use holdfast_core::Instant;
use rustc_hash::FxHashMap;

const TASK_COLS: &str = "t.id, c.external_id, t.kind, t.reason, t.suggested_step, t.due_at, t.stake, t.state, t.dismiss_reason, t.created_at, t.closed_at, t.assignee, t.snoozed_until, c.owner, t.kinds, t.plan, t.expected_value, t.tier, t.origin, t.reason_ru";

/// The queue's order: open tasks first, then highest stake (none last), earliest due (none last),
/// then id — the generated columns `queue_closed`, `queue_stake`, `queue_due` and `id`, which the
/// `tasks_page` and `tasks_customer` indexes hold in this order (schema 4).
const QUEUE_ORDER: &str = "t.queue_closed, t.queue_stake, t.queue_due, t.id";

/// What [`Store::sync_tasks`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskSync {
    /// Tasks opened now.
    pub created: u64,
    /// Proposed tasks whose customer already had an open task: it rolled over — its flags,
    /// reason, step, due date, stake and plan were refreshed.
    pub refreshed: u64,
    /// Open tasks of the queue closed because their customers are no longer proposed (see
    /// [`Store::close_queue_tasks_except`]; 0 when the caller did not close any).
    #[serde(default)]
    pub closed: u64,
    /// One entry per proposed task, in the order given.
    pub tasks: Vec<SyncedTask>,
}

/// The open task a proposed task ended up as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SyncedTask {
    /// The id of the open task of the proposed task's customer.
    pub id: i64,
    /// Whether that task was open before this sync (rolled over rather than opened). A second
    /// proposal of the same customer in one call counts as already open.
    pub already_open: bool,
}

/// The staging tables of [`Store::sync_tasks`]: open tasks whose fields change, tasks to open, and
/// those with their customers' ids.
const REFRESH: &str = "stage_task_refresh";
const REFRESH_COLUMNS: [&str; 11] = ["id", "kind", "kinds", "reason", "suggested_step", "due_at", "stake", "plan", "expected_value", "tier", "reason_ru"];
const OPEN: &str = "stage_task_open";
const OPEN_COLUMNS: [&str; 13] =
    ["k", "customer", "kind", "kinds", "reason", "suggested_step", "due_at", "stake", "plan", "expected_value", "tier", "reason_ru", "origin"];
const RESOLVED: &str = "stage_task_open_resolved";

/// The fields a sync writes, as stored (kinds comma-separated).
#[derive(PartialEq)]
struct Fields {
    kind: String,
    kinds: String,
    reason: String,
    suggested_step: String,
    due_at: Option<Instant>,
    stake: Option<i64>,
    plan: Option<String>,
    expected_value: Option<i64>,
    tier: Option<String>,
    reason_ru: Option<String>,
}

impl Fields {
    fn of(t: &NewTask) -> Fields {
        let mut kinds: Vec<&str> = vec![t.kind.as_str()];
        kinds.extend(t.kinds.iter().map(|k| k.as_str()).filter(|&k| k != t.kind.as_str()));
        Fields {
            kind: t.kind.as_str().to_string(),
            kinds: kinds.join(","),
            reason: t.reason.clone(),
            suggested_step: t.suggested_step.clone(),
            due_at: t.due_at,
            stake: t.stake,
            plan: t.plan.clone(),
            expected_value: t.expected_value,
            tier: t.tier.clone(),
            reason_ru: t.reason_ru.clone(),
        }
    }

    fn write(&self, buf: &mut RowBuf) {
        buf.text(&self.kind).text(&self.kinds).text(&self.reason).text(&self.suggested_step).opt_int(self.due_at).opt_int(self.stake);
        buf.opt_text(self.plan.as_deref()).opt_int(self.expected_value).opt_text(self.tier.as_deref()).opt_text(self.reason_ru.as_deref());
    }
}

/// The kinds of a stored task: its `kinds` column, or its `kind` when that is empty.
fn parse_kinds(kind: FlagKind, kinds: &str) -> Result<Vec<FlagKind>> {
    if kinds.is_empty() {
        return Ok(vec![kind]);
    }
    kinds.split(',').map(|k| FlagKind::parse(k).ok_or_else(|| Error::Corrupt(format!("task kind {k:?}")))).collect()
}

impl Store {
    /// Opens a task for each proposed customer that has no open task, and refreshes the open one
    /// of the others (it rolls over: flags, reason, step, due date, stake and plan): there is never
    /// a second open task for one customer (a unique index says so). `now` stamps new tasks. When
    /// the same customer is proposed twice, the last proposal's fields win. Open tasks of customers
    /// not proposed stay as they are.
    ///
    /// One write transaction and a constant number of statements whatever the number of tasks:
    /// the workspace's open tasks are read in bulk and compared with the proposals in memory;
    /// only the open tasks that change and the tasks to open are staged (in bulk), then updated
    /// and inserted with one statement each — a sync that changes nothing writes nothing. Two
    /// syncs of one workspace at once take turns (`BEGIN IMMEDIATE` on SQLite, an advisory lock on
    /// PostgreSQL), so the second sees what the first opened. A customer not in the workspace fails
    /// the whole sync with [`Error::NotFound`].
    pub async fn sync_tasks(&self, ws: WorkspaceId, tasks: &[NewTask], now: Instant) -> Result<TaskSync> {
        if tasks.is_empty() {
            return Ok(TaskSync::default());
        }
        // One slot per customer, filled with the last proposal's fields.
        let mut slot_of_key: FxHashMap<&str, usize> = FxHashMap::default();
        let mut slot_of: Vec<usize> = Vec::with_capacity(tasks.len());
        let mut last: Vec<usize> = Vec::new();
        for (k, t) in tasks.iter().enumerate() {
            let slot = *slot_of_key.entry(t.customer.as_str()).or_insert_with(|| {
                last.push(k);
                last.len() - 1
            });
            last[slot] = k;
            slot_of.push(slot);
        }

        let w = ws.0;
        let mut tx = Tx::write(&self.pool, TASKS_LOCK, ws).await?;
        // The open tasks of the proposals' customers, by slot, read under the lock.
        let mut open: Vec<Option<(i64, Fields)>> = (0..last.len()).map(|_| None).collect();
        scan(
            tx.conn(),
            &format!(
                "SELECT c.external_id, t.id, t.kind, t.kinds, t.reason, t.suggested_step, t.due_at, t.stake, t.plan, t.expected_value, t.tier, t.reason_ru \
                 FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = {w} AND t.queue_closed = 0"
            ),
            |r| {
                let customer = r.text_req(0)?;
                if let Some(&slot) = slot_of_key.get(&*customer) {
                    let fields = Fields {
                        kind: r.text_req(2)?.into_owned(),
                        kinds: r.text_req(3)?.into_owned(),
                        reason: r.text_req(4)?.into_owned(),
                        suggested_step: r.text_req(5)?.into_owned(),
                        due_at: r.int(6)?,
                        stake: r.int(7)?,
                        plan: r.text(8)?.map(|p| p.into_owned()),
                        expected_value: r.int(9)?,
                        tier: r.text(10)?.map(|p| p.into_owned()),
                        reason_ru: r.text(11)?.map(|p| p.into_owned()),
                    };
                    open[slot] = Some((r.int_req(1)?, fields));
                }
                Ok(())
            },
        )
        .await?;

        // Each slot: its open task (refreshed if anything differs) or a task to open.
        let mut ids: Vec<Option<i64>> = vec![None; last.len()];
        let mut was_open = vec![false; last.len()];
        let (mut refresh, mut to_open) = (RowBuf::new(REFRESH_COLUMNS.len()), RowBuf::new(OPEN_COLUMNS.len()));
        for (slot, &k) in last.iter().enumerate() {
            let t = &tasks[k];
            let fields = Fields::of(t);
            match &open[slot] {
                Some((id, o)) => {
                    ids[slot] = Some(*id);
                    was_open[slot] = true;
                    if *o != fields {
                        refresh.int(*id);
                        fields.write(&mut refresh);
                    }
                }
                None => {
                    to_open.int(slot as i64).text(&t.customer);
                    fields.write(&mut to_open);
                    to_open.opt_text(t.origin.as_deref());
                }
            }
        }
        drop(open);

        if !refresh.is_empty() {
            tx.stage(
                REFRESH,
                "id BIGINT, kind TEXT, kinds TEXT, reason TEXT, suggested_step TEXT, due_at BIGINT, stake BIGINT, plan TEXT, expected_value BIGINT, tier TEXT, reason_ru TEXT",
            )
            .await?;
            write_rows(tx.conn(), REFRESH, &REFRESH_COLUMNS, &refresh).await?;
            tx.exec(&format!(
                "UPDATE tasks SET kind = s.kind, kinds = s.kinds, reason = s.reason, suggested_step = s.suggested_step, due_at = s.due_at, stake = s.stake, \
                 plan = s.plan, expected_value = s.expected_value, tier = s.tier, reason_ru = s.reason_ru FROM {REFRESH} s WHERE tasks.id = s.id AND tasks.state = 'open'"
            ))
            .await?;
            tx.unstage(REFRESH).await?;
        }
        let mut created = 0;
        if !to_open.is_empty() {
            tx.stage(
                OPEN,
                "k BIGINT, customer TEXT, kind TEXT, kinds TEXT, reason TEXT, suggested_step TEXT, due_at BIGINT, stake BIGINT, plan TEXT, expected_value BIGINT, tier TEXT, reason_ru TEXT, origin TEXT",
            )
            .await?;
            write_rows(tx.conn(), OPEN, &OPEN_COLUMNS, &to_open).await?;
            // Each staged task with its customer's id. The staged rows drive the join (the
            // preserved side of a LEFT JOIN), so no plan visits them once per customer.
            tx.stage_as(
                RESOLVED,
                &format!(
                    "SELECT s.k, c.id AS customer_id, s.customer, s.kind, s.kinds, s.reason, s.suggested_step, s.due_at, s.stake, s.plan, s.expected_value, s.tier, s.reason_ru, s.origin FROM {OPEN} s \
                     LEFT JOIN customers c ON c.workspace_id = {w} AND c.external_id = s.customer"
                ),
            )
            .await?;
            let mut slot_of_id: FxHashMap<i64, usize> = FxHashMap::default();
            let mut unknown = None;
            scan(tx.conn(), &format!("SELECT k, customer_id, customer FROM {RESOLVED}"), |r| {
                let slot =
                    usize::try_from(r.int_req(0)?).ok().filter(|&s| s < last.len()).ok_or_else(|| Error::Corrupt("a staged task out of range".into()))?;
                match r.int(1)? {
                    Some(c) => {
                        slot_of_id.insert(c, slot);
                    }
                    None => unknown = Some(r.text_req(2)?.into_owned()),
                }
                Ok(())
            })
            .await?;
            if let Some(c) = unknown {
                return Err(Error::NotFound { what: format!("customer {c:?}") });
            }
            // Opened in the order proposed; the new ids come back with their customer.
            scan(
                tx.conn(),
                &format!(
                    "INSERT INTO tasks (workspace_id, customer_id, kind, kinds, reason, suggested_step, due_at, stake, plan, expected_value, tier, reason_ru, origin, state, created_at) \
                     SELECT {w}, customer_id, kind, kinds, reason, suggested_step, due_at, stake, plan, expected_value, tier, reason_ru, origin, 'open', {now} FROM {RESOLVED} ORDER BY k \
                     RETURNING id, customer_id"
                ),
                |r| {
                    let slot = slot_of_id.get(&r.int_req(1)?).copied().ok_or_else(|| Error::Corrupt("an opened task that was not proposed".into()))?;
                    ids[slot] = Some(r.int_req(0)?);
                    created += 1;
                    Ok(())
                },
            )
            .await?;
            tx.unstage(RESOLVED).await?;
            tx.unstage(OPEN).await?;
        }
        tx.commit().await?;

        let mut seen = vec![false; last.len()];
        let mut out = TaskSync { tasks: Vec::with_capacity(tasks.len()), ..Default::default() };
        for &slot in &slot_of {
            let id = ids[slot].ok_or_else(|| Error::Corrupt("a synced task has no id".into()))?;
            out.tasks.push(SyncedTask { id, already_open: was_open[slot] || seen[slot] });
            seen[slot] = true;
        }
        out.created = created;
        out.refreshed = tasks.len() as u64 - created;
        if created >= 10_000 {
            self.analyze("tasks").await?;
        }
        Ok(out)
    }

    /// Closes the open tasks the action queue made (`origin` = `queue`) whose customers it no
    /// longer proposes: dismissed, with `reason(customer)` as the dismissal's reason (e.g. "no
    /// longer at risk"), stamped `now`. `keep` names the customers the queue still proposes;
    /// tasks a campaign or a person made are left alone. Takes turns with [`Store::sync_tasks`].
    /// Returns how many were closed.
    pub async fn close_queue_tasks_except(
        &self,
        ws: WorkspaceId,
        keep: &std::collections::HashSet<&str>,
        reason: &(dyn Fn(&str) -> String + Sync),
        now: Instant,
    ) -> Result<u64> {
        const CLOSE: &str = "stage_task_close";
        let w = ws.0;
        let mut tx = Tx::write(&self.pool, TASKS_LOCK, ws).await?;
        let mut close = RowBuf::new(2);
        scan(
            tx.conn(),
            &format!("SELECT t.id, c.external_id FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = {w} AND t.state = 'open' AND t.origin = 'queue'"),
            |r| {
                let customer = r.text_req(1)?;
                if !keep.contains(&*customer) {
                    close.int(r.int_req(0)?).text(&reason(&customer));
                }
                Ok(())
            },
        )
        .await?;
        if close.is_empty() {
            return Ok(0);
        }
        tx.stage(CLOSE, "id BIGINT, reason TEXT").await?;
        write_rows(tx.conn(), CLOSE, &["id", "reason"], &close).await?;
        let n = tx
            .exec(&format!(
                "UPDATE tasks SET state = 'dismissed', dismiss_reason = s.reason, closed_at = {now} FROM {CLOSE} s WHERE tasks.id = s.id AND tasks.state = 'open'"
            ))
            .await?;
        tx.unstage(CLOSE).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Open tasks, highest stake first, then earliest due, then oldest.
    pub async fn open_tasks(&self, ws: WorkspaceId) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND t.queue_closed = 0 ORDER BY {QUEUE_ORDER}"
        );
        self.task_query(&sql, ws, None).await
    }

    /// One page of a workspace's tasks in the queue's order — open tasks first (highest stake,
    /// then earliest due, then oldest, as [`Store::open_tasks`]), then the closed ones in the same
    /// order — filtered by `filter`: at most `limit` tasks (1 to [`MAX_PAGE`]) after the cursor
    /// `after` (from the previous page; `None`: from the start). Walks the `tasks_page` index (for
    /// one customer, `tasks_customer`) from the cursor.
    pub async fn tasks_page(&self, ws: WorkspaceId, filter: &TaskFilter, after: Option<&TaskCursor>, limit: u32) -> Result<Page<Task, TaskCursor>> {
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let (mut conds, texts) = task_conditions(filter);
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
                // The queue's keys follow the task's columns.
                let k = TASK_COLS.split(',').count();
                let cursor = TaskCursor { closed: r.int(k)?, stake_key: r.int(k + 1)?, due_key: r.int(k + 2)?, id: t.id };
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

    /// How many tasks `filter` selects.
    pub async fn task_count(&self, ws: WorkspaceId, filter: &TaskFilter) -> Result<u64> {
        let (conds, texts) = task_conditions(filter);
        // The customers only when the filter names them (the plan's counts need none).
        let join = if needs_customers(filter) { " JOIN customers c ON c.id = t.customer_id" } else { "" };
        let sql = format!("SELECT COUNT(*) FROM tasks t{join} WHERE t.workspace_id = $1{conds}");
        let n: i64 = with_pool!(self, p => {
            let mut q = sqlx::query_scalar(&sql).bind(ws.0);
            for t in &texts {
                q = q.bind(*t);
            }
            q.fetch_one(p).await?
        });
        Ok(n as u64)
    }

    /// Every task marked done: (customer id, suggested step, when it was done), for the steps'
    /// success rates.
    pub async fn done_tasks(&self, ws: WorkspaceId) -> Result<Vec<(String, String, Instant)>> {
        let sql = "SELECT c.external_id, t.suggested_step, t.closed_at FROM tasks t JOIN customers c ON c.id = t.customer_id \
                   WHERE t.workspace_id = $1 AND t.state = 'done' AND t.closed_at IS NOT NULL ORDER BY t.id";
        Ok(with_pool!(self, p => sqlx::query_as(sql).bind(ws.0).fetch_all(p).await?))
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
    /// task of the same customer is open. Takes turns with [`Store::sync_tasks`].
    pub async fn set_task_state(&self, ws: WorkspaceId, task: i64, state: TaskState, dismiss_reason: Option<&str>, now: Instant) -> Result<()> {
        let closed = (state != TaskState::Open).then_some(now);
        let reason = if state == TaskState::Dismissed { dismiss_reason } else { None };
        let mut tx = Tx::write(&self.pool, TASKS_LOCK, ws).await?;
        let sql = "UPDATE tasks SET state = $3, dismiss_reason = $4, closed_at = $5 WHERE workspace_id = $1 AND id = $2";
        let r = with_tx!(&mut tx, t => sqlx::query(sql).bind(ws.0).bind(task).bind(state.as_str()).bind(reason).bind(closed).execute(&mut **t).await.map(|r| r.rows_affected()));
        match r {
            Ok(0) => Err(Error::NotFound { what: format!("task {task}") }),
            Ok(_) => tx.commit().await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(Error::Invalid(format!("task {task} cannot be reopened: the customer already has an open task")))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Store {
    /// The distinct owners of a workspace's customers, sorted (at most `limit`).
    pub async fn owner_names(&self, ws: WorkspaceId, limit: i64) -> Result<Vec<String>> {
        let sql = "SELECT DISTINCT owner FROM customers WHERE workspace_id = $1 AND owner IS NOT NULL ORDER BY owner LIMIT $2";
        Ok(with_pool!(self, p => sqlx::query_scalar(sql).bind(ws.0).bind(limit).fetch_all(p).await?))
    }

    /// Gives an open or closed task to a person (by e-mail), or back to the customer's owner (`None`).
    pub async fn assign_task(&self, ws: WorkspaceId, task: i64, assignee: Option<&str>) -> Result<()> {
        let assignee = assignee.map(str::trim).filter(|a| !a.is_empty());
        let n = with_pool!(self, p => sqlx::query("UPDATE tasks SET assignee = $3 WHERE workspace_id = $1 AND id = $2").bind(ws.0).bind(task).bind(assignee).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("task {task}") });
        }
        Ok(())
    }

    /// Puts a task off until `until` (`None`: back in the queue now).
    pub async fn snooze_task(&self, ws: WorkspaceId, task: i64, until: Option<Instant>) -> Result<()> {
        let n = with_pool!(self, p => sqlx::query("UPDATE tasks SET snoozed_until = $3 WHERE workspace_id = $1 AND id = $2").bind(ws.0).bind(task).bind(until).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("task {task}") });
        }
        Ok(())
    }

    /// One task of a workspace.
    pub async fn task(&self, ws: WorkspaceId, task: i64) -> Result<Task> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.workspace_id = $1 AND t.id = {task}");
        let mut v = self.task_query(&sql, ws, None).await?;
        v.pop().ok_or_else(|| Error::NotFound { what: format!("task {task}") })
    }
}

fn task_row(r: &impl RowExt) -> Result<Task> {
    let state = r.text(7)?;
    let kind: String = r.text(2)?;
    let kind = FlagKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("task kind {kind:?}")))?;
    let kinds: String = r.text(14)?;
    Ok(Task {
        id: r.int(0)?,
        customer: r.text(1)?,
        kind,
        kinds: parse_kinds(kind, &kinds)?,
        reason: r.text(3)?,
        suggested_step: r.text(4)?,
        due_at: r.opt_int(5)?,
        stake: r.opt_int(6)?,
        state: TaskState::parse(&state).ok_or_else(|| Error::Corrupt(format!("task state {state:?}")))?,
        dismiss_reason: r.opt_text(8)?,
        created_at: r.int(9)?,
        closed_at: r.opt_int(10)?,
        assignee: r.opt_text(11)?,
        snoozed_until: r.opt_int(12)?,
        owner: r.opt_text(13)?,
        plan: r.opt_text(15)?,
        expected_value: r.opt_int(16)?,
        tier: r.opt_text(17)?,
        origin: r.opt_text(18)?,
        reason_ru: r.opt_text(19)?,
    })
}

/// The SQL conditions of `filter` (each starting with ` AND `) over `tasks t` (joined to
/// `customers c` when [`needs_customers`] says so), and the texts they bind as `$2`, `$3`, … (`$1`
/// is the workspace).
fn task_conditions(filter: &TaskFilter) -> (String, Vec<&str>) {
    let mut conds = String::new();
    let mut texts: Vec<&str> = Vec::new();
    if let Some(st) = filter.state {
        conds.push_str(&format!(" AND t.state = '{}'", st.as_str()));
    }
    if let Some(k) = filter.kind {
        // any of the task's flags
        conds.push_str(&format!(" AND (',' || t.kinds || ',') LIKE '%,{},%'", k.as_str()));
    }
    if let Some(t) = filter.tier {
        conds.push_str(&format!(" AND t.tier = '{}'", t.as_str()));
    }
    if let Some(p) = filter.plan {
        conds.push_str(&format!(" AND t.plan = '{}'", p.as_str()));
    }
    if let Some(o) = filter.owner.as_deref() {
        texts.push(o);
        conds.push_str(&format!(" AND c.owner = ${}", 1 + texts.len()));
    }
    if let Some(c) = filter.customer.as_deref() {
        texts.push(c);
        conds.push_str(&format!(" AND c.workspace_id = $1 AND c.external_id = ${}", 1 + texts.len()));
    }
    (conds, texts)
}

/// Whether [`task_conditions`] of `filter` name the task's customer (`c.`).
fn needs_customers(filter: &TaskFilter) -> bool {
    filter.owner.is_some() || filter.customer.is_some()
}
