//! Accounts: the people who sign in to `holdfast serve`, their roles per workspace, sessions, API
//! tokens, one-time set-up links, the audit log and the replies kept for `Idempotency-Key`.
//!
//! The store keeps no secret a client holds: sessions, tokens and set-up links are looked up by a
//! hash the caller computes (`holdfast-app` hashes with SHA-256), passwords are kept as the PHC
//! string the caller gives (argon2id). Hashing is not this crate's job.

use crate::error::{Error, Result};
use crate::{with_pool, Store, WorkspaceId};
use serde::Serialize;

/// What a person may do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Reads and works the queue, records notes, imports.
    Manager,
    /// Everything, including settings, users and API tokens.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "manager" => Some(Role::Manager),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
    fn from_db(s: &str) -> Result<Role> {
        Role::parse(s).ok_or_else(|| Error::Corrupt(format!("role {s:?}")))
    }
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }
}

/// A person who can sign in.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    /// The language the person chose (`en`, `ru`), if any.
    pub lang: Option<String>,
    pub created_at: i64,
}

/// A person and their role in one workspace.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    #[serde(flatten)]
    pub user: User,
    pub role: Role,
}

/// A signed-in session as the server sees it on each request.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user: User,
    pub workspace: WorkspaceId,
    pub role: Role,
    /// The form token of this session (CSRF).
    pub csrf: String,
    pub expires_at: i64,
}

/// An API token as listed (never its secret).
#[derive(Clone, Debug, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// An API token as the server checks it.
#[derive(Clone, Debug)]
pub struct TokenCheck {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub scope: Scope,
    pub secret_hash: String,
    pub revoked: bool,
    pub last_used_at: Option<i64>,
}

/// One line of the audit log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// A reply kept for an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct KeptReply {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

type UserRow = (i64, String, Option<String>, Option<String>, i64);

fn user((id, email, name, lang, created_at): UserRow) -> User {
    User { id, email, name, lang, created_at }
}

/// E-mail addresses are compared without case and surrounding space.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    /// Adds a person, or sets the password and name of the person with this e-mail; then gives
    /// them `role` in `ws`. Returns the user.
    pub async fn upsert_user(&self, ws: WorkspaceId, email: &str, name: Option<&str>, password_hash: &str, role: Role, now: i64) -> Result<User> {
        let email = normalize_email(email);
        if email.is_empty() || !email.contains('@') {
            return Err(Error::Invalid(format!("{email:?} is not an e-mail address")));
        }
        let sql = "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, name = COALESCE(excluded.name, users.name) \
                   RETURNING id, email, name, lang, created_at";
        let row: UserRow = with_pool!(self, p => sqlx::query_as(sql).bind(&email).bind(name).bind(password_hash).bind(now).fetch_one(p).await?);
        let u = user(row);
        self.set_role(ws, u.id, role).await?;
        Ok(u)
    }

    /// Gives a person `role` in `ws`.
    pub async fn set_role(&self, ws: WorkspaceId, user_id: i64, role: Role) -> Result<()> {
        let sql =
            "INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role";
        with_pool!(self, p => sqlx::query(sql).bind(ws.0).bind(user_id).bind(role.as_str()).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Takes a person out of a workspace (they keep their account) and ends their sessions there.
    pub async fn remove_member(&self, ws: WorkspaceId, user_id: i64) -> Result<()> {
        let n = with_pool!(self, p => sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2").bind(ws.0).bind(user_id).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("member {user_id}") });
        }
        with_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE workspace_id = $1 AND user_id = $2").bind(ws.0).bind(user_id).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The people of a workspace, by e-mail.
    pub async fn members(&self, ws: WorkspaceId) -> Result<Vec<Member>> {
        let sql = "SELECT u.id, u.email, u.name, u.lang, u.created_at, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.email";
        let rows: Vec<(i64, String, Option<String>, Option<String>, i64, String)> = with_pool!(self, p => sqlx::query_as(sql).bind(ws.0).fetch_all(p).await?);
        rows.into_iter().map(|(id, email, name, lang, at, role)| Ok(Member { user: user((id, email, name, lang, at)), role: Role::from_db(&role)? })).collect()
    }

    /// How many people can sign in anywhere (0 on a fresh installation).
    pub async fn user_count(&self) -> Result<i64> {
        Ok(with_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL").fetch_one(p).await?))
    }

    /// A person by e-mail with their password hash and their workspaces (lowest id first), for
    /// signing in.
    pub async fn login_lookup(&self, email: &str) -> Result<Option<(User, Option<String>, Vec<(WorkspaceId, Role)>)>> {
        let email = normalize_email(email);
        let row: Option<(i64, String, Option<String>, Option<String>, i64, Option<String>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, email, name, lang, created_at, password_hash FROM users WHERE email = $1").bind(&email).fetch_optional(p).await?);
        let Some((id, email, name, lang, at, hash)) = row else { return Ok(None) };
        let ws: Vec<(i64, String)> = with_pool!(self, p => sqlx::query_as("SELECT workspace_id, role FROM memberships WHERE user_id = $1 ORDER BY workspace_id").bind(id).fetch_all(p).await?);
        let ws = ws.into_iter().map(|(w, r)| Ok((WorkspaceId(w), Role::from_db(&r)?))).collect::<Result<Vec<_>>>()?;
        Ok(Some((user((id, email, name, lang, at)), hash, ws)))
    }

    /// Sets a person's language (`None`: follow the browser).
    pub async fn set_user_lang(&self, user_id: i64, lang: Option<&str>) -> Result<()> {
        with_pool!(self, p => sqlx::query("UPDATE users SET lang = $2 WHERE id = $1").bind(user_id).bind(lang).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Starts a session (`id_hash`: the hash of the cookie's value).
    pub async fn create_session(&self, id_hash: &str, user_id: i64, ws: WorkspaceId, csrf: &str, now: i64, expires_at: i64) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO sessions (id_hash, user_id, workspace_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id_hash).bind(user_id).bind(ws.0).bind(csrf).bind(now).bind(expires_at).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The live session with this hash, with the person's current role (a session whose person
    /// left the workspace is no session).
    pub async fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionInfo>> {
        let sql = "SELECT u.id, u.email, u.name, u.lang, u.created_at, s.workspace_id, m.role, s.csrf, s.expires_at \
                   FROM sessions s JOIN users u ON u.id = s.user_id JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id \
                   WHERE s.id_hash = $1 AND s.expires_at > $2";
        #[allow(clippy::type_complexity)]
        let row: Option<(i64, String, Option<String>, Option<String>, i64, i64, String, String, i64)> =
            with_pool!(self, p => sqlx::query_as(sql).bind(id_hash).bind(now).fetch_optional(p).await?);
        let Some((id, email, name, lang, at, ws, role, csrf, expires_at)) = row else { return Ok(None) };
        Ok(Some(SessionInfo { user: user((id, email, name, lang, at)), workspace: WorkspaceId(ws), role: Role::from_db(&role)?, csrf, expires_at }))
    }

    /// Ends a session; also drops every expired one.
    pub async fn end_session(&self, id_hash: &str, now: i64) -> Result<()> {
        with_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE id_hash = $1 OR expires_at <= $2").bind(id_hash).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Records a new API token (its secret's hash) and returns its id.
    pub async fn create_token(&self, ws: WorkspaceId, name: &str, scope: Scope, secret_hash: &str, created_by: Option<i64>, now: i64) -> Result<i64> {
        if name.trim().is_empty() {
            return Err(Error::Invalid("a token needs a name".into()));
        }
        let sql = "INSERT INTO api_tokens (workspace_id, name, scope, secret_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        Ok(
            with_pool!(self, p => sqlx::query_scalar(sql).bind(ws.0).bind(name.trim()).bind(scope.as_str()).bind(secret_hash).bind(created_by).bind(now).fetch_one(p).await?),
        )
    }

    /// The token with this id, for checking a request's bearer.
    pub async fn token_check(&self, id: i64) -> Result<Option<TokenCheck>> {
        let sql = "SELECT id, workspace_id, scope, secret_hash, revoked_at, last_used_at FROM api_tokens WHERE id = $1";
        let row: Option<(i64, i64, String, String, Option<i64>, Option<i64>)> = with_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await?);
        let Some((id, ws, scope, secret_hash, revoked, last_used_at)) = row else { return Ok(None) };
        let scope = Scope::parse(&scope).ok_or_else(|| Error::Corrupt(format!("token scope {scope:?}")))?;
        Ok(Some(TokenCheck { id, workspace: WorkspaceId(ws), scope, secret_hash, revoked: revoked.is_some(), last_used_at }))
    }

    /// Notes that a token was used (at most once a minute is written).
    pub async fn touch_token(&self, id: i64, now: i64) -> Result<()> {
        with_pool!(self, p => sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - 60)").bind(id).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// A workspace's tokens, newest first.
    pub async fn tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
        let rows: Vec<(i64, String, String, i64, Option<i64>, Option<i64>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, name, scope, created_at, last_used_at, revoked_at FROM api_tokens WHERE workspace_id = $1 ORDER BY id DESC").bind(ws.0).fetch_all(p).await?);
        rows.into_iter()
            .map(|(id, name, scope, created_at, last_used_at, revoked_at)| {
                let scope = Scope::parse(&scope).ok_or_else(|| Error::Corrupt(format!("token scope {scope:?}")))?;
                Ok(ApiToken { id, name, scope, created_at, last_used_at, revoked_at })
            })
            .collect()
    }

    /// Revokes a token of `ws`.
    pub async fn revoke_token(&self, ws: WorkspaceId, id: i64, now: i64) -> Result<()> {
        let n = with_pool!(self, p => sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0).bind(id).bind(now).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("token {id}") });
        }
        Ok(())
    }

    /// Records a one-time set-up link (its hash).
    pub async fn create_setup_link(&self, ws: WorkspaceId, id_hash: &str, now: i64, expires_at: i64) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO setup_links (id_hash, workspace_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(id_hash).bind(ws.0).bind(now).bind(expires_at).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The workspace of a live set-up link, if any.
    pub async fn setup_link(&self, id_hash: &str, now: i64) -> Result<Option<WorkspaceId>> {
        let ws: Option<i64> = with_pool!(self, p => sqlx::query_scalar("SELECT workspace_id FROM setup_links WHERE id_hash = $1 AND expires_at > $2").bind(id_hash).bind(now).fetch_optional(p).await?);
        Ok(ws.map(WorkspaceId))
    }

    /// Uses up a set-up link: true when it was live (only one caller gets true).
    pub async fn consume_setup_link(&self, id_hash: &str, now: i64) -> Result<bool> {
        let n = with_pool!(self, p => sqlx::query("DELETE FROM setup_links WHERE id_hash = $1 AND expires_at > $2").bind(id_hash).bind(now).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Appends to the audit log.
    pub async fn audit(&self, ws: WorkspaceId, at: i64, actor: &str, action: &str, target: Option<&str>, detail: Option<&str>) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO audit_log (workspace_id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ws.0).bind(at).bind(actor).bind(action).bind(target).bind(detail).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The newest `limit` lines of a workspace's audit log.
    pub async fn audit_log(&self, ws: WorkspaceId, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows: Vec<(i64, i64, String, String, Option<String>, Option<String>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, at, actor, action, target, detail FROM audit_log WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2").bind(ws.0).bind(limit).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(id, at, actor, action, target, detail)| AuditEntry { id, at, actor, action, target, detail }).collect())
    }

    /// The reply kept for `key` in `ws`, if any.
    pub async fn kept_reply(&self, ws: WorkspaceId, key: &str) -> Result<Option<KeptReply>> {
        let row: Option<(String, i64, String)> = with_pool!(self, p => sqlx::query_as("SELECT request_hash, status, body FROM idempotency_keys WHERE workspace_id = $1 AND key = $2")
            .bind(ws.0).bind(key).fetch_optional(p).await?);
        Ok(row.map(|(request_hash, status, body)| KeptReply { request_hash, status: status as u16, body }))
    }

    /// Keeps the reply to a request made with `key` (the first one kept wins).
    pub async fn keep_reply(&self, ws: WorkspaceId, key: &str, reply: &KeptReply, now: i64) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, key) DO NOTHING")
            .bind(ws.0).bind(key).bind(&reply.request_hash).bind(reply.status as i64).bind(&reply.body).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }
}

impl Store {
    /// The version of a workspace's orders: it grows with every import that writes orders (and
    /// with a change of currency), so a reader may keep what it computed from them until it moves.
    pub async fn orders_version(&self, ws: WorkspaceId) -> Result<i64> {
        let v: Option<i64> =
            with_pool!(self, p => sqlx::query_scalar("SELECT orders_version FROM workspaces WHERE id = $1").bind(ws.0).fetch_optional(p).await?);
        v.ok_or_else(|| Error::NotFound { what: format!("workspace {}", ws.0) })
    }
}

impl Store {
    /// The pool's connections: `(open, idle)`, for the server's metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        with_pool!(self, p => (p.size(), p.num_idle()))
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, p => sqlx::query("SELECT 1").execute(p).await?.rows_affected());
        Ok(())
    }
}
