-- Holdfast store schema 8, SQLite flavour. Keep in step with ../postgres/0008_engine.sql.
-- The engine (crates/holdfast-engine): campaigns gain their definition, state, salt and holdout;
-- the outbox holds one row per message (campaign, step, variant, customer, trigger instance);
-- the contact ledger one row per outbound contact and per contact held back; the contact budget,
-- suppressions, webhook endpoints, engine settings, and the segment each customer was last seen
-- in (for segment_enter / segment_exit). A customer may have a time zone of its own.

ALTER TABLE customers ADD COLUMN time_zone TEXT;

-- An engine campaign has a definition (its TOML text); a campaign named only by imported
-- assignments has none and is never run.
ALTER TABLE campaigns ADD COLUMN definition TEXT;
ALTER TABLE campaigns ADD COLUMN state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'archived'));
ALTER TABLE campaigns ADD COLUMN salt TEXT;
-- The held-out share in buckets of 10,000 (holdfast_experiments::bucket).
ALTER TABLE campaigns ADD COLUMN holdout INTEGER NOT NULL DEFAULT 1000 CHECK (holdout BETWEEN 0 AND 10000);
ALTER TABLE campaigns ADD COLUMN updated_at INTEGER;

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    -- campaign/step/variant/customer/instance: the idempotency key, the webhook-id and the seed
    -- of the Message-ID, the same on every retry.
    key           TEXT    NOT NULL,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    step          INTEGER NOT NULL,
    variant       TEXT    NOT NULL DEFAULT '',
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    instance      TEXT    NOT NULL,
    -- When the trigger fired (stop conditions look after it).
    triggered_at  INTEGER NOT NULL,
    channel       TEXT    NOT NULL CHECK (channel IN ('email', 'webhook', 'task')),
    transactional INTEGER NOT NULL DEFAULT 0 CHECK (transactional IN (0, 1)),
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'held_out', 'capped', 'suppressed', 'cancelled', 'failed', 'dead')),
    due_at        INTEGER NOT NULL,
    -- Wall-clock milliseconds until which a worker owns a `sending` row; `lease_token` names it.
    lease_until   INTEGER,
    lease_token   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    message_id    TEXT,
    -- What the message says, rendered when the row was written: every retry sends the same.
    recipient     TEXT,
    subject       TEXT,
    body          TEXT,
    html          TEXT,
    -- The rule that capped or held it, the stop condition that cancelled it.
    rule          TEXT,
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER,
    UNIQUE (workspace_id, key)
);
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_customer ON outbox (customer_id);
CREATE INDEX outbox_campaign ON outbox (campaign_id, state);

-- One row per outbound contact (outcome `sent`, counted against the budget unless
-- transactional) and per contact held back (`capped`, `held_out`, `suppressed`). Days, weeks and
-- months are counted in the customer's time zone: `day` is the local date as days since
-- 1970-01-01, `week` the day of its Monday, `month` year * 12 + month - 1.
CREATE TABLE contact_ledger (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    outbox_id     INTEGER NOT NULL UNIQUE REFERENCES outbox(id) ON DELETE CASCADE,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    channel       TEXT    NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('reserved', 'sent', 'capped', 'held_out', 'suppressed', 'released')),
    counted       INTEGER NOT NULL CHECK (counted IN (0, 1)),
    rule          TEXT,
    at            INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    week          INTEGER NOT NULL,
    month         INTEGER NOT NULL
);
CREATE INDEX contact_ledger_customer ON contact_ledger (customer_id, day);

-- Contact budget rules: scope '' is the workspace, 'segment:NAME' a segment's override,
-- 'customer:ID' a customer's own preference. NULL: no limit of that length.
CREATE TABLE contact_budgets (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    scope        TEXT    NOT NULL,
    per_day      INTEGER CHECK (per_day >= 0),
    per_week     INTEGER CHECK (per_week >= 0),
    per_month    INTEGER CHECK (per_month >= 0),
    PRIMARY KEY (workspace_id, scope)
);

CREATE TABLE suppressions (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    email        TEXT    NOT NULL,
    reason       TEXT    NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'manual')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, email)
);

CREATE TABLE webhook_endpoints (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    secret       TEXT    NOT NULL, -- whsec_…
    disabled_at  INTEGER,
    UNIQUE (workspace_id, name)
);

-- Engine settings of a workspace: quiet hours (minutes after local midnight; start = end: none),
-- the from-address (overrides HOLDFAST_SMTP_FROM), whether webhooks may go to private addresses.
CREATE TABLE engine_settings (
    workspace_id   INTEGER PRIMARY KEY REFERENCES workspaces(id),
    quiet_start    INTEGER NOT NULL DEFAULT 1260 CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end      INTEGER NOT NULL DEFAULT 540 CHECK (quiet_end BETWEEN 0 AND 1439),
    smtp_from      TEXT,
    allow_private_webhooks INTEGER NOT NULL DEFAULT 0 CHECK (allow_private_webhooks IN (0, 1))
);

-- The segment the engine last saw each customer in, and since when.
CREATE TABLE engine_segments (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    segment      TEXT    NOT NULL,
    since        INTEGER NOT NULL
);
