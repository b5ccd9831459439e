-- Holdfast store schema 6, PostgreSQL flavour. Keep in step with ../sqlite/0006_accounts.sql.
-- Accounts for `holdfast serve`: people who sign in, their role in each workspace, their
-- sessions, API tokens for other tools, the audit log, and replies kept for Idempotency-Key.
-- Secrets are never stored: a session id, a token secret and a set-up link are kept as the
-- hex SHA-256 of what the client holds; passwords as argon2id PHC strings.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT,
    password_hash TEXT,
    lang          TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'manager', 'viewer')),
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    csrf         TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    secret_hash  TEXT    NOT NULL,
    created_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id, id);

-- One-time links that let the first person in set a password (printed by `holdfast serve`).
CREATE TABLE setup_links (
    id_hash      TEXT    PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    at           BIGINT NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT,
    detail       TEXT
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);

CREATE TABLE idempotency_keys (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);

-- Working the queue: a task may be given to one person (by e-mail; empty: the customer's owner)
-- and put off until a time (it stays open and leaves "Today" until then).
ALTER TABLE tasks ADD COLUMN assignee TEXT;
ALTER TABLE tasks ADD COLUMN snoozed_until BIGINT;
