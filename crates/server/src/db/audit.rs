//! `audit_log`: who was provisioned, changed scopes, was revoked or forgotten, was refused (a
//! login by another account) or failed to authenticate.
//! Never holds a secret; entries older than the retention are deleted by the cleanup task.

use super::{Store, StoreError, db_err, now};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditEvent {
    Provisioned,
    ScopesChanged,
    Revoked,
    /// A stored password was deleted or replaced here but, not being this server's, left
    /// valid in Nextcloud.
    Forgotten,
    /// A provisioning was refused: the login came from another Nextcloud account.
    Refused,
    AuthFailed,
}

impl AuditEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "provisioned",
            Self::ScopesChanged => "scopes_changed",
            Self::Revoked => "revoked",
            Self::Forgotten => "forgotten",
            Self::Refused => "refused",
            Self::AuthFailed => "auth_failed",
        }
    }
}

/// One audit entry as read back (tests only: cargo feature `test-hooks`).
#[cfg(feature = "test-hooks")]
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditEntry {
    pub at: i64,
    pub event: String,
    pub user_id: String,
    pub detail: Option<String>,
}

impl Store {
    /// Appends an entry. Failures are logged, not returned: auditing must not break a request.
    pub async fn audit(&self, event: AuditEvent, user_id: &str, detail: Option<&str>) {
        let result = sqlx::query(
            "INSERT INTO audit_log (id, at, event, user_id, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        // Time-ordered id, so entries of the same second keep their order.
        .bind(format!(
            "{:020}-{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            uuid::Uuid::new_v4()
        ))
        .bind(now())
        .bind(event.as_str())
        .bind(user_id)
        .bind(detail.map(str::to_string))
        .execute(self.pool())
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, event = event.as_str(), "cannot write audit entry");
        }
    }

    /// A user's entries, oldest first. Only tests read the log back through the server (cargo
    /// feature `test-hooks`); operators query the `audit_log` table.
    #[cfg(feature = "test-hooks")]
    pub async fn audit_entries(&self, user_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        sqlx::query_as(
            "SELECT at, event, user_id, detail FROM audit_log WHERE user_id = $1 ORDER BY at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .map_err(db_err("read audit log"))
    }

    pub(super) async fn prune_audit(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(db_err("prune audit log"))?;
        Ok(done.rows_affected())
    }
}
