//! `rate_limit_attempts`: a sliding-window limiter kept in the database, so every replica
//! counts the same attempts.

use std::time::Duration;

use super::{Store, StoreError, db_err, now};

/// The window of the app-password API's limit.
pub const WINDOW: Duration = Duration::from_secs(3600);

impl Store {
    /// Records one attempt in `bucket` (e.g. `app_password:alice`).
    pub async fn record_attempt(&self, bucket: &str, success: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rate_limit_attempts (id, bucket, at, success) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(bucket)
        .bind(now())
        .bind(i64::from(success))
        .execute(self.pool())
        .await
        .map_err(db_err("record attempt"))?;
        Ok(())
    }

    /// `Ok(())` when fewer than `limit` attempts fall in the window ending now; otherwise the
    /// seconds until the oldest of them leaves the window.
    pub async fn check_rate(
        &self,
        bucket: &str,
        limit: i64,
        window: Duration,
    ) -> Result<Result<(), u64>, StoreError> {
        let now = now();
        let since = now - window.as_secs() as i64;
        let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_limit_attempts WHERE bucket = $1 AND at > $2",
        )
        .bind(bucket)
        .bind(since)
        .fetch_one(self.pool())
        .await
        .map_err(db_err("count attempts"))?;
        if n < limit {
            return Ok(Ok(()));
        }
        let retry = oldest.map_or(window.as_secs() as i64, |o| {
            o + window.as_secs() as i64 - now
        });
        Ok(Err(retry.max(1) as u64))
    }

    pub(super) async fn prune_attempts(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_limit_attempts WHERE at <= $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(db_err("prune attempts"))?;
        Ok(done.rows_affected())
    }
}
