-- Holdfast store schema 4, PostgreSQL flavour. Keep in step with ../sqlite/0004_pages.sql.
-- Keyset pages of the action queue in its order: open tasks first, then highest stake (none
-- last), earliest due (none last), oldest. The order is held by three generated columns, so an
-- index on them serves `open_tasks` and `tasks_page` (src/tasks.rs) without a sort, and a page
-- starts with a range condition on the index, (queue_closed, queue_stake, queue_due, id) > cursor.
-- (Stored here: PostgreSQL generates no virtual columns; SQLite adds no stored ones.)
ALTER TABLE tasks
    ADD COLUMN queue_closed BIGINT GENERATED ALWAYS AS (CAST(CASE WHEN state = 'open' THEN 0 ELSE 1 END AS BIGINT)) STORED,
    ADD COLUMN queue_stake  BIGINT GENERATED ALWAYS AS (COALESCE(-stake, 9223372036854775807)) STORED,
    ADD COLUMN queue_due    BIGINT GENERATED ALWAYS AS (COALESCE(due_at, 9223372036854775807)) STORED;
CREATE INDEX tasks_page ON tasks (workspace_id, queue_closed, queue_stake, queue_due, id);
-- The same order within one customer's tasks (the customer view, a page of one customer's tasks).
CREATE INDEX tasks_customer ON tasks (workspace_id, customer_id, queue_closed, queue_stake, queue_due, id);
-- Superseded by tasks_page.
DROP INDEX tasks_workspace_state;
