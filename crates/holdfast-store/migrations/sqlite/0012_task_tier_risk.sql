-- Holdfast store schema 12, SQLite flavour. Keep in step with ../postgres/0012_task_tier_risk.sql.
-- A task knows its customer's value tier (A, B, C) when the queue made it, so the dashboard can
-- filter by it, and where it came from: `queue` (the action queue: closed by the queue when its
-- customer is no longer at risk), `campaign` (a campaign's task step) or NULL (older rows, made by
-- the queue or by hand: left alone). `reason_ru` is the reason in Russian (NULL: only English).
-- The scoring snapshot holds the learned churn risk and its
-- reasons (JSON: [{feature, value, contribution, explanation, explanation_ru}]).
ALTER TABLE tasks ADD COLUMN tier TEXT CHECK (tier IN ('A', 'B', 'C'));
ALTER TABLE tasks ADD COLUMN reason_ru TEXT;
ALTER TABLE tasks ADD COLUMN origin TEXT CHECK (origin IN ('queue', 'campaign'));
ALTER TABLE scores ADD COLUMN risk REAL;
ALTER TABLE scores ADD COLUMN risk_reasons TEXT NOT NULL DEFAULT '[]';
-- The open tasks by place in the week's plan, for the dashboard's counts of this week's list.
CREATE INDEX tasks_open_plan ON tasks (workspace_id, plan) WHERE state = 'open';
