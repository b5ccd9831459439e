-- Holdfast store schema 11, SQLite flavour. Keep in step with ../postgres/0011_send_windows.sql.
-- A customer's preferred send window ("works mornings"): minutes after local midnight, from start
-- to end, wrapping midnight when start is later; both NULL: any time outside quiet hours. The
-- engine holds a message until the window opens in the customer's zone (with quiet hours, the
-- most restrictive wins).
ALTER TABLE customers ADD COLUMN send_window_start INTEGER CHECK (send_window_start BETWEEN 0 AND 1439);
ALTER TABLE customers ADD COLUMN send_window_end INTEGER CHECK (send_window_end BETWEEN 0 AND 1439);

-- A claim reads the due messages of one workspace in order of due time and stops at its limit.
CREATE INDEX outbox_claim ON outbox (workspace_id, state, due_at, id);
