-- Holdfast store schema 5, SQLite flavour. Keep in step with ../postgres/0005_order_log_cache.sql.
-- The order log of a workspace kept ready to load (src/log_cache.rs): a binary image of its
-- columns, in parts, valid for one orders_version of the workspace. Every orders import that
-- writes anything raises orders_version and stores a new image in the same transaction.
ALTER TABLE workspaces ADD COLUMN orders_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE order_log_cache (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    orders_version INTEGER NOT NULL,
    part           INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    PRIMARY KEY (workspace_id, part)
);
