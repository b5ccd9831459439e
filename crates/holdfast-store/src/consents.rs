//! Consents changed one at a time, outside imports: a customer's one-click unsubscribe from a
//! link in an e-mail, and the workspace secret those links are keyed with.
//!
//! The store keeps the secret; making it (random bytes) and deriving keys from it are the
//! caller's job, as with the hashes of [`crate::accounts`].

use crate::error::{Error, Result};
use crate::tx::{with_tx, Tx};
use crate::{with_pool, Consent, Store, WorkspaceId};

/// Advisory lock key of consent changes (PostgreSQL; see `tx.rs`).
const CONSENTS_LOCK: i32 = 7290;

/// What [`Store::unsubscribe`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsubscribed {
    /// The customer was subscribed and is not any more.
    Now,
    /// The customer had already unsubscribed from the channel: nothing changed.
    Already,
}

impl Store {
    /// The workspace's link secret, set to `fresh` if it has none yet (the first caller's value
    /// wins; later callers get it back).
    pub async fn link_secret(&self, ws: WorkspaceId, fresh: &str) -> Result<String> {
        if fresh.len() < 32 {
            return Err(Error::Invalid("a link secret needs at least 32 characters".into()));
        }
        with_pool!(self, p => sqlx::query("UPDATE workspaces SET link_secret = $2 WHERE id = $1 AND link_secret IS NULL").bind(ws.0).bind(fresh).execute(p).await?.rows_affected());
        self.existing_link_secret(ws).await?.ok_or_else(|| Error::NotFound { what: format!("workspace {}", ws.0) })
    }

    /// The workspace's link secret if one was made (reading never makes one: a link checked
    /// before any was made is simply not genuine).
    pub async fn existing_link_secret(&self, ws: WorkspaceId) -> Result<Option<String>> {
        let s: Option<Option<String>> =
            with_pool!(self, p => sqlx::query_scalar("SELECT link_secret FROM workspaces WHERE id = $1").bind(ws.0).fetch_optional(p).await?);
        Ok(s.flatten())
    }

    /// Records that `customer` (external id) of `ws` unsubscribed from `channel` at `at`, with an
    /// audit entry by `actor`, in one transaction. Idempotent: a customer already unsubscribed
    /// from the channel is left as is (the first time stays the time) and no second entry is
    /// written. A customer the workspace does not have is [`Error::NotFound`].
    pub async fn unsubscribe(&self, ws: WorkspaceId, customer: &str, channel: &str, at: i64, actor: &str) -> Result<Unsubscribed> {
        let mut tx = Tx::write(&self.pool, CONSENTS_LOCK, ws).await?;
        let id: Option<i64> = with_tx!(&mut tx, t => sqlx::query_scalar("SELECT id FROM customers WHERE workspace_id = $1 AND external_id = $2")
            .bind(ws.0).bind(customer).fetch_optional(&mut **t).await?);
        let id = id.ok_or_else(|| Error::NotFound { what: format!("customer {customer:?}") })?;
        // Insert or withdraw; an already withdrawn consent is not touched (WHERE of the upsert).
        let sql = "INSERT INTO customer_consents (customer_id, channel, granted, consented_at, unsubscribed_at) VALUES ($1, $2, $3, NULL, $4) \
                   ON CONFLICT (customer_id, channel) DO UPDATE SET granted = excluded.granted, unsubscribed_at = excluded.unsubscribed_at \
                   WHERE customer_consents.granted = $5 OR customer_consents.unsubscribed_at IS NULL";
        let n = with_tx!(&mut tx, t => sqlx::query(sql).bind(id).bind(channel).bind(false).bind(at).bind(true).execute(&mut **t).await?.rows_affected());
        if n == 0 {
            return Ok(Unsubscribed::Already);
        }
        let detail = format!("unsubscribed from {channel}");
        with_tx!(&mut tx, t => sqlx::query("INSERT INTO audit_log (workspace_id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ws.0).bind(at).bind(actor).bind("customer.unsubscribe").bind(customer).bind(&detail).execute(&mut **t).await?.rows_affected());
        tx.commit().await?;
        Ok(Unsubscribed::Now)
    }

    /// A customer's consent on one channel, if any is recorded.
    pub async fn consent(&self, ws: WorkspaceId, customer: &str, channel: &str) -> Result<Option<Consent>> {
        let sql = "SELECT k.granted, k.consented_at, k.unsubscribed_at FROM customer_consents k JOIN customers c ON c.id = k.customer_id \
                   WHERE c.workspace_id = $1 AND c.external_id = $2 AND k.channel = $3";
        let row: Option<(bool, Option<i64>, Option<i64>)> =
            with_pool!(self, p => sqlx::query_as(sql).bind(ws.0).bind(customer).bind(channel).fetch_optional(p).await?);
        Ok(row.map(|(granted, consented_at, unsubscribed_at)| Consent { channel: channel.to_owned(), granted, consented_at, unsubscribed_at }))
    }
}
