-- Holdfast store schema 13, PostgreSQL flavour. Keep in step with ../sqlite/0013_suppressions_lower.sql.
-- Suppressed addresses are kept in lower case (the engine compares them with the customer's
-- address in lower case): existing rows are lowered, keeping one row per address.
DELETE FROM suppressions a USING suppressions b
 WHERE a.workspace_id = b.workspace_id AND LOWER(a.email) = LOWER(b.email) AND a.ctid > b.ctid;
UPDATE suppressions SET email = LOWER(email) WHERE email <> LOWER(email);
