//! `mcp_sessions`: rmcp's [`SessionStore`] over the shared database, so any replica can take
//! over a session that another one created.

use std::time::Duration;

use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};

use super::{Store, StoreError, db_err, now};

/// Sessions not seen for this long are forgotten.
pub const SESSION_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The session store of the HTTP transport in the multi-user modes.
pub struct SharedSessions(pub Store);

#[async_trait::async_trait]
impl SessionStore for SharedSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT state FROM mcp_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(self.0.pool())
            .await
            .map_err(db_err("load session"))?;
        match row {
            Some((state,)) => Ok(Some(serde_json::from_str(&state)?)),
            None => Ok(None),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let state = serde_json::to_string(state)?;
        sqlx::query(
            "INSERT INTO mcp_sessions (id, state, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state",
        )
        .bind(session_id)
        .bind(state)
        .bind(now())
        .execute(self.0.pool())
        .await
        .map_err(db_err("store session"))?;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        sqlx::query("DELETE FROM mcp_sessions WHERE id = $1")
            .bind(session_id)
            .execute(self.0.pool())
            .await
            .map_err(db_err("delete session"))?;
        Ok(())
    }
}

impl Store {
    pub(super) async fn prune_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM mcp_sessions WHERE created_at <= $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(db_err("prune sessions"))?;
        Ok(done.rows_affected())
    }
}
