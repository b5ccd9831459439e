-- One task per customer. A task holds every flag of its customer: `kind` stays the first one (the
-- one a single label shows), `kinds` lists them all, comma-separated. `plan` is where the task
-- stands in the week (this_week, waiting, snoozed) and `expected_value` P(churn) × stake × the
-- step's success rate, in minor units (src/tasks.rs, holdfast_core::actions).
ALTER TABLE tasks ADD COLUMN kinds TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN plan TEXT;
ALTER TABLE tasks ADD COLUMN expected_value BIGINT;
UPDATE tasks SET kinds = kind;
-- The open tasks of one customer fold into the oldest: every kind and reason in the order opened,
-- the highest stake, the earliest due date; the others are closed as dismissed, saying where they
-- went.
WITH g AS (
    SELECT workspace_id, customer_id, MIN(id) AS keep, string_agg(kind, ',' ORDER BY id) AS kinds,
           string_agg(reason, '; ' ORDER BY id) AS reason, MAX(stake) AS stake, MIN(due_at) AS due_at
    FROM tasks WHERE state = 'open' GROUP BY workspace_id, customer_id HAVING COUNT(*) > 1
)
UPDATE tasks t SET kinds = g.kinds, reason = g.reason, stake = g.stake, due_at = g.due_at FROM g WHERE t.id = g.keep;
WITH g AS (
    SELECT workspace_id, customer_id, MIN(id) AS keep FROM tasks WHERE state = 'open'
    GROUP BY workspace_id, customer_id HAVING COUNT(*) > 1
)
UPDATE tasks t SET state = 'dismissed', dismiss_reason = 'folded into task ' || g.keep, closed_at = EXTRACT(EPOCH FROM now())::BIGINT
FROM g WHERE t.workspace_id = g.workspace_id AND t.customer_id = g.customer_id AND t.state = 'open' AND t.id <> g.keep;
DROP INDEX tasks_one_open;
CREATE UNIQUE INDEX tasks_one_open ON tasks (workspace_id, customer_id) WHERE state = 'open';
