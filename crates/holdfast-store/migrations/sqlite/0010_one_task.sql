-- One task per customer. A task holds every flag of its customer: `kind` stays the first one (the
-- one a single label shows), `kinds` lists them all, comma-separated. `plan` is where the task
-- stands in the week (this_week, waiting, snoozed) and `expected_value` P(churn) × stake × the
-- step's success rate, in minor units (src/tasks.rs, holdfast_core::actions).
ALTER TABLE tasks ADD COLUMN kinds TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN plan TEXT;
ALTER TABLE tasks ADD COLUMN expected_value INTEGER;
UPDATE tasks SET kinds = kind;
-- The open tasks of one customer fold into the oldest: every kind and reason in the order opened,
-- the highest stake, the earliest due date; the others are closed as dismissed, saying where they
-- went.
UPDATE tasks SET
    kinds = (SELECT group_concat(kind, ',') FROM (SELECT t.kind FROM tasks t
             WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open' ORDER BY t.id)),
    reason = (SELECT group_concat(reason, '; ') FROM (SELECT t.reason FROM tasks t
              WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open' ORDER BY t.id)),
    stake = (SELECT MAX(t.stake) FROM tasks t WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open'),
    due_at = (SELECT MIN(t.due_at) FROM tasks t WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open')
WHERE state = 'open'
  AND id = (SELECT MIN(t.id) FROM tasks t WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open')
  AND (SELECT COUNT(*) FROM tasks t WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open') > 1;
UPDATE tasks SET
    state = 'dismissed',
    dismiss_reason = 'folded into task ' || (SELECT MIN(t.id) FROM tasks t
                     WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open'),
    closed_at = CAST(strftime('%s', 'now') AS INTEGER)
WHERE state = 'open'
  AND id > (SELECT MIN(t.id) FROM tasks t WHERE t.workspace_id = tasks.workspace_id AND t.customer_id = tasks.customer_id AND t.state = 'open');
DROP INDEX tasks_one_open;
CREATE UNIQUE INDEX tasks_one_open ON tasks (workspace_id, customer_id) WHERE state = 'open';
