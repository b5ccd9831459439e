-- Holdfast store schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_schema.sql:
-- the same tables, columns and constraints; only the types differ.
-- Time: BIGINT seconds since the Unix epoch, UTC. Money: BIGINT minor units + ISO 4217 code.
-- JSON: JSONB (TEXT holding a JSON document on SQLite). Ids and SKUs use the "C" collation
-- (byte order, as SQLite): index maintenance is several times faster than with a locale.

CREATE TABLE workspaces (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    currency        TEXT    NOT NULL DEFAULT 'USD',
    business_model  TEXT    NOT NULL DEFAULT 'orders' CHECK (business_model IN ('orders', 'subscriptions', 'both')),
    window_days     BIGINT  NOT NULL DEFAULT 365 CHECK (window_days > 0),
    contacts_per_week  BIGINT  NOT NULL DEFAULT 2,
    contacts_per_month BIGINT  NOT NULL DEFAULT 6,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE customers (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    COLLATE "C" NOT NULL,
    kind         TEXT    NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'company')),
    name         TEXT,
    email        TEXT,
    phone        TEXT,
    owner        TEXT,
    tags         JSONB   NOT NULL DEFAULT '[]',
    created_at   BIGINT,
    row_hash     BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);

-- Consent and unsubscribe state per channel (email, sms, phone, messenger, ...).
CREATE TABLE customer_consents (
    customer_id     BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    consented_at    BIGINT,
    unsubscribed_at BIGINT,
    PRIMARY KEY (customer_id, channel)
);

-- People at a company customer.
CREATE TABLE contacts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    role        TEXT,
    email       TEXT,
    phone       TEXT
);
CREATE INDEX contacts_customer ON contacts (customer_id);

-- Free text plus typed preference fields.
CREATE TABLE notes (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id         BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    body                TEXT    NOT NULL DEFAULT '',
    pain_points         TEXT,
    goals               TEXT,
    preferred_channel   TEXT,
    preferred_time      TEXT,
    communication_style TEXT,
    author              TEXT,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX notes_customer ON notes (customer_id);

CREATE TABLE important_dates (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('birthday', 'company_birthday', 'product_launch', 'seasonal_campaign', 'contract_renewal', 'other')),
    label        TEXT,
    on_date      TEXT    NOT NULL, -- YYYY-MM-DD, a calendar date in the workspace zone
    yearly       BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX important_dates_customer ON important_dates (customer_id);

CREATE TABLE products (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces(id),
    sku          TEXT    COLLATE "C" NOT NULL,
    name         TEXT    NOT NULL,
    category     TEXT,
    UNIQUE (workspace_id, sku)
);

-- orders, order_lines and events (the high-volume tables) carry no foreign keys here: PostgreSQL
-- checks them with a trigger per row (about 7 s per million orders). Imports only ever write ids
-- they have just joined against customers, products and orders, so integrity holds without them.
CREATE TABLE orders (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT  NOT NULL,
    external_id  TEXT    COLLATE "C" NOT NULL,
    customer_id  BIGINT  NOT NULL,
    ordered_at   BIGINT  NOT NULL,
    amount       BIGINT  NOT NULL,
    currency     TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'completed',
    row_hash     BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX orders_customer ON orders (customer_id, ordered_at);

CREATE TABLE order_lines (
    order_id   BIGINT  NOT NULL,
    line_no    BIGINT  NOT NULL,
    product_id BIGINT ,
    quantity   BIGINT  NOT NULL DEFAULT 1,
    amount     BIGINT,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE subscriptions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT  NOT NULL REFERENCES workspaces(id),
    external_id   TEXT    COLLATE "C" NOT NULL,
    customer_id   BIGINT  NOT NULL REFERENCES customers(id),
    plan          TEXT    NOT NULL,
    mrr           BIGINT  NOT NULL, -- monthly amount, minor units
    currency      TEXT    NOT NULL,
    started_at    BIGINT  NOT NULL,
    ended_at      BIGINT,
    cancel_reason TEXT,
    row_hash      BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

-- Append-only activity: login, feature_use, email_opened, email_clicked, ticket_opened,
-- ticket_closed, complaint, ...
CREATE TABLE events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT  NOT NULL,
    external_id  TEXT    COLLATE "C" NOT NULL,
    customer_id  BIGINT  NOT NULL,
    kind         TEXT    NOT NULL,
    occurred_at  BIGINT  NOT NULL,
    properties   JSONB   NOT NULL DEFAULT '{}',
    row_hash     BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX events_customer ON events (customer_id, occurred_at);

CREATE TABLE feedback (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    COLLATE "C" NOT NULL,
    customer_id  BIGINT  NOT NULL REFERENCES customers(id),
    responded_at BIGINT  NOT NULL,
    score        BIGINT  CHECK (score BETWEEN 0 AND 10),
    survey       TEXT,
    comment      TEXT,
    touchpoint   TEXT,
    row_hash     BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX feedback_customer ON feedback (customer_id, responded_at);

CREATE TABLE interactions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'message', 'other')),
    occurred_at BIGINT  NOT NULL,
    with_whom   TEXT,
    by_whom     TEXT,
    summary     TEXT
);
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);

-- The scoring snapshot: one row per customer, replaced by each `holdfast score`.
CREATE TABLE scores (
    customer_id  BIGINT  PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces(id),
    segment      TEXT,
    p_alive      DOUBLE PRECISION,
    clv          BIGINT, -- minor units of the workspace currency
    flags        JSONB   NOT NULL DEFAULT '[]',
    computed_at  BIGINT  NOT NULL
);
CREATE INDEX scores_workspace ON scores (workspace_id);

-- The action queue: at most one open task per customer and flag kind.
CREATE TABLE tasks (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   BIGINT  NOT NULL REFERENCES workspaces(id),
    customer_id    BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    suggested_step TEXT    NOT NULL DEFAULT '',
    due_at         BIGINT,
    stake          BIGINT, -- minor units at stake, for ordering
    state          TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'dismissed')),
    dismiss_reason TEXT,
    created_at     BIGINT  NOT NULL,
    closed_at      BIGINT
);
CREATE UNIQUE INDEX tasks_one_open ON tasks (workspace_id, customer_id, kind) WHERE state = 'open';
CREATE INDEX tasks_workspace_state ON tasks (workspace_id, state);
