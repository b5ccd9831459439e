-- Holdfast store schema 13, SQLite flavour. Keep in step with ../postgres/0013_suppressions_lower.sql.
-- Suppressed addresses are kept in lower case (the engine compares them with the customer's
-- address in lower case): existing rows are lowered, keeping one row per address.
DELETE FROM suppressions WHERE rowid NOT IN (SELECT MIN(rowid) FROM suppressions GROUP BY workspace_id, LOWER(email));
UPDATE suppressions SET email = LOWER(email) WHERE email <> LOWER(email);
