-- Holdfast store schema 7, PostgreSQL flavour. Keep in step with ../sqlite/0007_experiments.sql.
-- Experiments (docs/METRICS.md, "Experiments"): each campaign with its attribution window,
-- planned split and gross margin; which customer was assigned to which group when, and what
-- reaching them cost; the workspace-wide global holdout. (Schema 6 is the accounts tables.)

CREATE TABLE campaigns (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT  NOT NULL REFERENCES workspaces(id),
    name          TEXT    COLLATE "C" NOT NULL,
    window_days   BIGINT  NOT NULL DEFAULT 30 CHECK (window_days > 0),
    -- The planned share of each group, a JSON object {"control": 0.1, "treatment": 0.9};
    -- NULL when not known (the sample-ratio check cannot run).
    planned_split JSONB,
    -- Gross margin: the share of revenue that is profit; NULL when not known.
    margin        DOUBLE PRECISION CHECK (margin > 0 AND margin <= 1),
    created_at    BIGINT  NOT NULL,
    UNIQUE (workspace_id, name)
);

-- One customer is in one group of a campaign (the primary key says so), as assigned: a treated
-- customer whose message bounced stays treated.
CREATE TABLE assignments (
    campaign_id  BIGINT  NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    customer_id  BIGINT  NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces(id),
    group_name   TEXT    COLLATE "C" NOT NULL,
    assigned_at  BIGINT  NOT NULL,
    cost         BIGINT, -- minor units of the workspace currency; NULL: not given
    PRIMARY KEY (campaign_id, customer_id)
);
CREATE INDEX assignments_customer ON assignments (customer_id);

CREATE TABLE experiment_settings (
    workspace_id   BIGINT PRIMARY KEY REFERENCES workspaces(id),
    -- The share of customers no campaign contacts, in buckets of 10,000 (holdfast_experiments::bucket).
    global_holdout BIGINT NOT NULL DEFAULT 0 CHECK (global_holdout BETWEEN 0 AND 10000)
);
