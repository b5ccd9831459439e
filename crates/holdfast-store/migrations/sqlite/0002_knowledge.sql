-- Holdfast store schema 2, SQLite flavour. Keep in step with ../postgres/0002_knowledge.sql.
-- Notes, important dates, contacts and interactions are imported like every other entity: scoped
-- by a workspace, keyed by an external id, with a row hash to tell changed rows on re-import.
-- SQLite cannot add such columns in place, so the four (small) tables are rebuilt; rows written
-- before get the external id '~' || kind || ':' || id. A note's date may be unknown.
-- Consents gain an explicit state, so "no consent" is stored even when no date is known.

CREATE TABLE notes_v2 (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces(id),
    external_id         TEXT    NOT NULL,
    customer_id         INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    body                TEXT    NOT NULL DEFAULT '',
    pain_points         TEXT,
    goals               TEXT,
    preferred_channel   TEXT,
    preferred_time      TEXT,
    communication_style TEXT,
    author              TEXT,
    created_at          INTEGER,
    row_hash            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
INSERT INTO notes_v2 (id, workspace_id, external_id, customer_id, body, pain_points, goals, preferred_channel, preferred_time, communication_style, author, created_at)
    SELECT n.id, c.workspace_id, '~note:' || n.id, n.customer_id, n.body, n.pain_points, n.goals, n.preferred_channel, n.preferred_time, n.communication_style, n.author, n.created_at
    FROM notes n JOIN customers c ON c.id = n.customer_id;
DROP TABLE notes;
ALTER TABLE notes_v2 RENAME TO notes;
CREATE INDEX notes_customer ON notes (customer_id);

CREATE TABLE important_dates_v2 (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('birthday', 'company_birthday', 'product_launch', 'seasonal_campaign', 'contract_renewal', 'other')),
    label        TEXT,
    on_date      TEXT    NOT NULL, -- YYYY-MM-DD, a calendar date in the workspace zone
    yearly       INTEGER NOT NULL DEFAULT 1 CHECK (yearly IN (0, 1)),
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
INSERT INTO important_dates_v2 (id, workspace_id, external_id, customer_id, kind, label, on_date, yearly)
    SELECT d.id, c.workspace_id, '~date:' || d.id, d.customer_id, d.kind, d.label, d.on_date, d.yearly
    FROM important_dates d JOIN customers c ON c.id = d.customer_id;
DROP TABLE important_dates;
ALTER TABLE important_dates_v2 RENAME TO important_dates;
CREATE INDEX important_dates_customer ON important_dates (customer_id);

CREATE TABLE contacts_v2 (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    role         TEXT,
    email        TEXT,
    phone        TEXT,
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
INSERT INTO contacts_v2 (id, workspace_id, external_id, customer_id, name, role, email, phone)
    SELECT k.id, c.workspace_id, '~contact:' || k.id, k.customer_id, k.name, k.role, k.email, k.phone
    FROM contacts k JOIN customers c ON c.id = k.customer_id;
DROP TABLE contacts;
ALTER TABLE contacts_v2 RENAME TO contacts;
CREATE INDEX contacts_customer ON contacts (customer_id);

CREATE TABLE interactions_v2 (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    external_id  TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'message', 'other')),
    occurred_at  INTEGER NOT NULL,
    with_whom    TEXT,
    by_whom      TEXT,
    summary      TEXT,
    row_hash     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, external_id)
);
INSERT INTO interactions_v2 (id, workspace_id, external_id, customer_id, kind, occurred_at, with_whom, by_whom, summary)
    SELECT i.id, c.workspace_id, '~interaction:' || i.id, i.customer_id, i.kind, i.occurred_at, i.with_whom, i.by_whom, i.summary
    FROM interactions i JOIN customers c ON c.id = i.customer_id;
DROP TABLE interactions;
ALTER TABLE interactions_v2 RENAME TO interactions;
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);

ALTER TABLE customer_consents ADD COLUMN granted INTEGER NOT NULL DEFAULT 1 CHECK (granted IN (0, 1));
UPDATE customer_consents SET granted = 0 WHERE unsubscribed_at IS NOT NULL AND (consented_at IS NULL OR consented_at <= unsubscribed_at);
