-- Holdfast store schema 9, PostgreSQL flavour. Keep in step with ../sqlite/0009_unsubscribe.sql.
-- A secret per workspace that keys the links Holdfast puts in its messages (the one-click
-- unsubscribe link of every e-mail, RFC 8058): made the first time a link is made, never shown,
-- and never leaving the store except as the keys derived from it. Empty until then.
ALTER TABLE workspaces ADD COLUMN link_secret TEXT;
