//! `login_flow_sessions`: a user's pending Nextcloud Login Flow v2 (at most one per user),
//! with its encrypted poll token. Sessions expire after 20 minutes, as Nextcloud's own flows
//! do; the background cleanup deletes expired rows.

use std::time::Duration;

use super::{JsonList, Store, StoreError, db_err, now, scopes_to_db};
use crate::config::Secret;

/// How long a started flow may be completed.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(20 * 60);

/// Why the flow was started: first provisioning, or replacing the password with new scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowPurpose {
    Provision,
    UpdateScopes,
}

impl FlowPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::UpdateScopes => "update_scopes",
        }
    }
}

/// The stored name; anything unknown reads as first provisioning.
impl From<String> for FlowPurpose {
    fn from(stored: String) -> Self {
        if stored == "update_scopes" {
            Self::UpdateScopes
        } else {
            Self::Provision
        }
    }
}

#[derive(Clone, Debug)]
pub struct PendingLogin {
    pub user_id: String,
    pub poll_token: Secret,
    pub poll_endpoint: String,
    pub login_url: String,
    pub requested_scopes: Option<Vec<String>>,
    pub purpose: FlowPurpose,
    pub created_at: i64,
    pub expires_at: i64,
}

impl PendingLogin {
    pub fn is_expired(&self) -> bool {
        self.expires_at <= now()
    }
}

fn context(user_id: &str) -> String {
    format!("login_flow:{user_id}")
}

/// A row of `login_flow_sessions`: a [`PendingLogin`] with its poll token still sealed.
#[derive(sqlx::FromRow)]
struct PendingLoginRow {
    user_id: String,
    encrypted_poll_token: String,
    poll_endpoint: String,
    login_url: String,
    #[sqlx(try_from = "JsonList")]
    requested_scopes: Option<Vec<String>>,
    #[sqlx(try_from = "String")]
    purpose: FlowPurpose,
    created_at: i64,
    expires_at: i64,
}

impl Store {
    /// Records a started flow, replacing any earlier one of the same user.
    pub async fn put_pending_login(
        &self,
        user_id: &str,
        poll_token: &str,
        poll_endpoint: &str,
        login_url: &str,
        requested_scopes: Option<&[String]>,
        purpose: FlowPurpose,
    ) -> Result<(), StoreError> {
        let now = now();
        sqlx::query(
            "INSERT INTO login_flow_sessions (user_id, encrypted_poll_token, poll_endpoint, login_url, \
             requested_scopes, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (user_id) DO UPDATE SET encrypted_poll_token = excluded.encrypted_poll_token, \
             poll_endpoint = excluded.poll_endpoint, login_url = excluded.login_url, \
             requested_scopes = excluded.requested_scopes, purpose = excluded.purpose, \
             created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(user_id)
        .bind(self.keys().encrypt(poll_token, &context(user_id)))
        .bind(poll_endpoint)
        .bind(login_url)
        .bind(scopes_to_db(requested_scopes))
        .bind(purpose.as_str())
        .bind(now)
        .bind(now + FLOW_LIFETIME.as_secs() as i64)
        .execute(self.pool())
        .await
        .map_err(db_err("store login flow"))?;
        Ok(())
    }

    /// The user's pending flow, expired or not (the caller reports expiry).
    pub async fn pending_login(&self, user_id: &str) -> Result<Option<PendingLogin>, StoreError> {
        let row = sqlx::query_as::<_, PendingLoginRow>(
            "SELECT user_id, encrypted_poll_token, poll_endpoint, login_url, requested_scopes, purpose, \
             created_at, expires_at FROM login_flow_sessions WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read login flow"))?;
        let Some(row) = row else { return Ok(None) };
        let poll_token = self
            .keys()
            .decrypt(&row.encrypted_poll_token, &context(&row.user_id))?;
        Ok(Some(PendingLogin {
            poll_token: Secret::new(poll_token),
            poll_endpoint: row.poll_endpoint,
            login_url: row.login_url,
            requested_scopes: row.requested_scopes,
            purpose: row.purpose,
            created_at: row.created_at,
            expires_at: row.expires_at,
            user_id: row.user_id,
        }))
    }

    /// Deletes this flow's session only (a newer flow of the same user stays).
    pub async fn delete_flow(&self, user_id: &str, login_url: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_flow_sessions WHERE user_id = $1 AND login_url = $2")
            .bind(user_id)
            .bind(login_url)
            .execute(self.pool())
            .await
            .map_err(db_err("delete login flow"))?;
        Ok(())
    }

    pub(super) async fn delete_expired_logins(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_flow_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(db_err("delete expired login flows"))?;
        Ok(done.rows_affected())
    }

    pub(super) async fn rotate_pending_logins(&self) -> Result<usize, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT user_id, encrypted_poll_token FROM login_flow_sessions")
                .fetch_all(self.pool())
                .await
                .map_err(db_err("read login flows"))?;
        let mut rewritten = 0;
        for (user_id, old) in rows {
            if !self.keys().is_stale(&old) {
                continue;
            }
            let plain = self.keys().decrypt(&old, &context(&user_id))?;
            sqlx::query(
                "UPDATE login_flow_sessions SET encrypted_poll_token = $1 WHERE user_id = $2 AND encrypted_poll_token = $3",
            )
            .bind(self.keys().encrypt(&plain, &context(&user_id)))
            .bind(&user_id)
            .bind(&old)
            .execute(self.pool())
            .await
            .map_err(db_err("re-encrypt login flow"))?;
            rewritten += 1;
        }
        Ok(rewritten)
    }
}
