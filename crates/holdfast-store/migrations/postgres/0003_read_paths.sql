-- Holdfast store schema 3, PostgreSQL flavour. Keep in step with ../sqlite/0003_read_paths.sql.
-- Order statuses are the canonical names of holdfast_core::OrderStatus (completed, pending,
-- refunded, cancelled, failed, chargeback); early versions could write the American spelling.
UPDATE orders SET status = 'cancelled' WHERE status = 'canceled';

-- A workspace's orders in id order: the order log reads them with this index and no sort, and
-- without visiting other workspaces' rows.
CREATE INDEX orders_workspace ON orders (workspace_id, id);
