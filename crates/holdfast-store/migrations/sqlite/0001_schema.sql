-- Holdfast store schema, SQLite flavour. Keep in step with ../postgres/0001_schema.sql:
-- the same tables, columns and constraints; only the types differ.
-- Time: INTEGER seconds since the Unix epoch, UTC. Money: INTEGER minor units + ISO 4217 code.
-- JSON: TEXT holding a JSON document (JSONB on PostgreSQL).

CREATE TABLE workspaces (
    id              INTEGER PRIMARY KEY,
    slug            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    currency        TEXT    NOT NULL DEFAULT 'USD',
    business_model  TEXT    NOT NULL DEFAULT 'orders' CHECK (business_model IN ('orders', 'subscriptions', 'both')),
    window_days     INTEGER NOT NULL DEFAULT 365 CHECK (window_days > 0),
    contacts_per_week  INTEGER NOT NULL DEFAULT 2,
    contacts_per_month INTEGER NOT NULL DEFAULT 6,
    created_at      INTEGER NOT NULL
);

CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'company')),
    name         TEXT,
    email        TEXT,
    phone        TEXT,
    owner        TEXT,
    tags         TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER,
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);

-- Consent and unsubscribe state per channel (email, sms, phone, messenger, ...).
CREATE TABLE customer_consents (
    customer_id     INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    consented_at    INTEGER,
    unsubscribed_at INTEGER,
    PRIMARY KEY (customer_id, channel)
);

-- People at a company customer.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    role        TEXT,
    email       TEXT,
    phone       TEXT
);
CREATE INDEX contacts_customer ON contacts (customer_id);

-- Free text plus typed preference fields.
CREATE TABLE notes (
    id                  INTEGER PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    body                TEXT    NOT NULL DEFAULT '',
    pain_points         TEXT,
    goals               TEXT,
    preferred_channel   TEXT,
    preferred_time      TEXT,
    communication_style TEXT,
    author              TEXT,
    created_at          INTEGER NOT NULL
);
CREATE INDEX notes_customer ON notes (customer_id);

CREATE TABLE important_dates (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('birthday', 'company_birthday', 'product_launch', 'seasonal_campaign', 'contract_renewal', 'other')),
    label        TEXT,
    on_date      TEXT    NOT NULL, -- YYYY-MM-DD, a calendar date in the workspace zone
    yearly       INTEGER NOT NULL DEFAULT 1 CHECK (yearly IN (0, 1))
);
CREATE INDEX important_dates_customer ON important_dates (customer_id);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    sku          TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    category     TEXT,
    UNIQUE (workspace_id, sku)
);

CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    ordered_at   INTEGER NOT NULL,
    amount       INTEGER NOT NULL,
    currency     TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'completed',
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX orders_customer ON orders (customer_id, ordered_at);

CREATE TABLE order_lines (
    order_id   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line_no    INTEGER NOT NULL,
    product_id INTEGER REFERENCES products(id),
    quantity   INTEGER NOT NULL DEFAULT 1,
    amount     INTEGER,
    PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

CREATE TABLE subscriptions (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    external_id   TEXT    NOT NULL,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    plan          TEXT    NOT NULL,
    mrr           INTEGER NOT NULL, -- monthly amount, minor units
    currency      TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    cancel_reason TEXT,
    row_hash      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

-- Append-only activity: login, feature_use, email_opened, email_clicked, ticket_opened,
-- ticket_closed, complaint, ...
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    kind         TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    properties   TEXT    NOT NULL DEFAULT '{}',
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX events_customer ON events (customer_id, occurred_at);

CREATE TABLE feedback (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    responded_at INTEGER NOT NULL,
    score        INTEGER CHECK (score BETWEEN 0 AND 10),
    survey       TEXT,
    comment      TEXT,
    touchpoint   TEXT,
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX feedback_customer ON feedback (customer_id, responded_at);

CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'message', 'other')),
    occurred_at INTEGER NOT NULL,
    with_whom   TEXT,
    by_whom     TEXT,
    summary     TEXT
);
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);

-- The scoring snapshot: one row per customer, replaced by each `holdfast score`.
CREATE TABLE scores (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    segment      TEXT,
    p_alive      REAL,
    clv          INTEGER, -- minor units of the workspace currency
    flags        TEXT    NOT NULL DEFAULT '[]',
    computed_at  INTEGER NOT NULL
);
CREATE INDEX scores_workspace ON scores (workspace_id);

-- The action queue: at most one open task per customer and flag kind.
CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    customer_id    INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    suggested_step TEXT    NOT NULL DEFAULT '',
    due_at         INTEGER,
    stake          INTEGER, -- minor units at stake, for ordering
    state          TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'dismissed')),
    dismiss_reason TEXT,
    created_at     INTEGER NOT NULL,
    closed_at      INTEGER
);
CREATE UNIQUE INDEX tasks_one_open ON tasks (workspace_id, customer_id, kind) WHERE state = 'open';
CREATE INDEX tasks_workspace_state ON tasks (workspace_id, state);
