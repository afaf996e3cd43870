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

    /// Takes one of `limit` places in the window ending now, atomically across every replica
    /// sharing the database: `Ok(id)` of the recorded attempt (a failure until
    /// [`Store::settle_attempt`] says otherwise, or gone after [`Store::release_attempt`]),
    /// or the seconds until a place frees up. Checking first and recording after the attempt
    /// would let every concurrent attempt through the check.
    pub async fn reserve_attempt(
        &self,
        bucket: &str,
        limit: i64,
        window: Duration,
    ) -> Result<Result<String, u64>, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now();
        let since = now - window.as_secs() as i64;
        let mut tx = self.pool().begin().await.map_err(db_err("begin attempt"))?;
        if self.is_postgres() {
            // One reservation per bucket at a time (SQLite has a single writer anyway). The
            // lock's `void` is not selected: the `Any` driver cannot read that type.
            sqlx::query(
                "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l",
            )
            .bind(bucket)
            .execute(&mut *tx)
            .await
            .map_err(db_err("lock attempts"))?;
        }
        let inserted = sqlx::query(
            "INSERT INTO rate_limit_attempts (id, bucket, at, success) \
             SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM rate_limit_attempts \
             WHERE bucket = $2 AND at > $5) < $6",
        )
        .bind(&id)
        .bind(bucket)
        .bind(now)
        .bind(0_i64)
        .bind(since)
        .bind(limit)
        .execute(&mut *tx)
        .await
        .map_err(db_err("reserve attempt"))?;
        tx.commit().await.map_err(db_err("commit attempt"))?;
        if inserted.rows_affected() == 1 {
            return Ok(Ok(id));
        }
        // Full: when does the oldest attempt leave the window? (1 s if one just did.)
        Ok(Err(self
            .check_rate(bucket, limit, window)
            .await?
            .err()
            .unwrap_or(1)))
    }

    /// Records a reserved attempt as successful.
    pub async fn settle_attempt(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE rate_limit_attempts SET success = 1 WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(db_err("settle attempt"))?;
        Ok(())
    }

    /// Gives a reserved place back: the attempt does not count.
    pub async fn release_attempt(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limit_attempts WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(db_err("release attempt"))?;
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
