//! The suppression list read and edited by hand: the addresses the engine never e-mails (added
//! by a hard bounce, a complaint, or a person — [`Store::suppress`] in [`crate::engine`]), listed
//! and removed here. The engine checks the list at the moment of sending, so a removal takes
//! effect on the next claim. Addresses are kept in lower case and compared with the customer's in
//! lower case: `Anna@Shop.example` on the list stops mail to `anna@shop.example`.

use crate::error::Result;
use crate::{with_pool, Store, WorkspaceId};
use holdfast_core::Instant;
use serde::Serialize;

/// One suppressed address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub email: String,
    /// `manual`, `hard_bounce` or `complaint`.
    pub reason: String,
    pub created_at: Instant,
}

impl Store {
    /// The workspace's suppressed addresses, by address.
    pub async fn suppressions(&self, ws: WorkspaceId) -> Result<Vec<Suppression>> {
        let rows: Vec<(String, String, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT email, reason, created_at FROM suppressions WHERE workspace_id = $1 ORDER BY email").bind(ws.0).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(email, reason, created_at)| Suppression { email, reason, created_at }).collect())
    }

    /// One suppressed address, if it is on the list.
    pub async fn suppression(&self, ws: WorkspaceId, email: &str) -> Result<Option<Suppression>> {
        let row: Option<(String, String, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT email, reason, created_at FROM suppressions WHERE workspace_id = $1 AND email = $2").bind(ws.0).bind(email.trim().to_ascii_lowercase()).fetch_optional(p).await?);
        Ok(row.map(|(email, reason, created_at)| Suppression { email, reason, created_at }))
    }

    /// Takes `email` off the list; whether it was on it.
    pub async fn unsuppress(&self, ws: WorkspaceId, email: &str) -> Result<bool> {
        let n = with_pool!(self, p => sqlx::query("DELETE FROM suppressions WHERE workspace_id = $1 AND email = $2")
            .bind(ws.0).bind(email.trim().to_ascii_lowercase()).execute(p).await?.rows_affected());
        Ok(n > 0)
    }
}
