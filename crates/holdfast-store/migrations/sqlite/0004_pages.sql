-- Holdfast store schema 4, SQLite flavour. Keep in step with ../postgres/0004_pages.sql.
-- Keyset pages of the action queue in its order: open tasks first, then highest stake (none
-- last), earliest due (none last), oldest. The order is held by three generated columns, so an
-- index on them serves `open_tasks` and `tasks_page` (src/tasks.rs) without a sort, and a page
-- starts with a range condition on the index, (queue_closed, queue_stake, queue_due, id) > cursor
-- (SQLite uses row-value ranges on indexed columns, not on indexed expressions).
ALTER TABLE tasks ADD COLUMN queue_closed INTEGER GENERATED ALWAYS AS (CASE WHEN state = 'open' THEN 0 ELSE 1 END) VIRTUAL;
ALTER TABLE tasks ADD COLUMN queue_stake INTEGER GENERATED ALWAYS AS (COALESCE(-stake, 9223372036854775807)) VIRTUAL;
ALTER TABLE tasks ADD COLUMN queue_due INTEGER GENERATED ALWAYS AS (COALESCE(due_at, 9223372036854775807)) VIRTUAL;
CREATE INDEX tasks_page ON tasks (workspace_id, queue_closed, queue_stake, queue_due, id);
-- The same order within one customer's tasks (the customer view, a page of one customer's tasks).
CREATE INDEX tasks_customer ON tasks (workspace_id, customer_id, queue_closed, queue_stake, queue_due, id);
-- Superseded by tasks_page; it also misled SQLite's planner into scanning every open task of a
-- workspace for each task looked up by customer and kind.
DROP INDEX tasks_workspace_state;
