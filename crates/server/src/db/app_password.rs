//! `app_passwords`: one Nextcloud app password per user, encrypted, with the scopes the
//! user granted (NULL = no restriction beyond their token) and their Nextcloud login name.

use super::{JsonList, Store, StoreError, db_err, now, scopes_to_db};
use crate::config::Secret;

/// A user's stored Nextcloud access.
#[derive(Clone, Debug)]
pub struct StoredAppPassword {
    pub user_id: String,
    pub login_name: String,
    pub password: Secret,
    pub scopes: Option<Vec<String>>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl StoredAppPassword {
    pub fn credentials(&self) -> nextcloud::Credentials {
        nextcloud::Credentials::new(&self.login_name, self.password.expose())
    }
}

pub(super) fn context(user_id: &str) -> String {
    format!("app_password:{user_id}")
}

const SELECT: &str = "SELECT user_id, encrypted_password, scopes, login_name, created_at, updated_at \
                      FROM app_passwords WHERE user_id = $1";

/// A row of `app_passwords`: a [`StoredAppPassword`] with its password still sealed.
#[derive(sqlx::FromRow)]
struct AppPasswordRow {
    user_id: String,
    encrypted_password: String,
    #[sqlx(try_from = "JsonList")]
    scopes: Option<Vec<String>>,
    login_name: String,
    created_at: i64,
    updated_at: i64,
}

impl Store {
    fn unseal_app_password(&self, row: AppPasswordRow) -> Result<StoredAppPassword, StoreError> {
        let password = self
            .keys()
            .decrypt(&row.encrypted_password, &context(&row.user_id))?;
        Ok(StoredAppPassword {
            password: Secret::new(password),
            scopes: row.scopes,
            login_name: row.login_name,
            created_at: row.created_at,
            updated_at: row.updated_at,
            user_id: row.user_id,
        })
    }

    /// The user's stored access, if any.
    pub async fn app_password(
        &self,
        user_id: &str,
    ) -> Result<Option<StoredAppPassword>, StoreError> {
        let row = sqlx::query_as::<_, AppPasswordRow>(SELECT)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err("read app password"))?;
        row.map(|r| self.unseal_app_password(r)).transpose()
    }

    /// Stores (or replaces) the user's app password atomically; returns the replaced one, so
    /// the caller can revoke it in Nextcloud.
    pub async fn put_app_password(
        &self,
        user_id: &str,
        login_name: &str,
        password: &str,
        scopes: Option<&[String]>,
    ) -> Result<Option<StoredAppPassword>, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db_err("begin"))?;
        let previous = locked_previous(&mut tx, self, user_id).await?;
        upsert(&mut tx, self, user_id, login_name, password, scopes).await?;
        tx.commit().await.map_err(db_err("commit"))?;
        Ok(previous)
    }

    /// Changes only the stored scope restriction; `false` when nothing is stored.
    pub async fn set_scopes(
        &self,
        user_id: &str,
        scopes: Option<&[String]>,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE app_passwords SET scopes = $1, updated_at = $2 WHERE user_id = $3")
                .bind(scopes_to_db(scopes))
                .bind(now())
                .bind(user_id)
                .execute(self.pool())
                .await
                .map_err(db_err("update scopes"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the user's access; returns what was stored.
    pub async fn delete_app_password(
        &self,
        user_id: &str,
    ) -> Result<Option<StoredAppPassword>, StoreError> {
        let previous = self.app_password(user_id).await.unwrap_or(None);
        let done = sqlx::query("DELETE FROM app_passwords WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(db_err("delete app password"))?;
        Ok(if done.rows_affected() > 0 {
            previous
        } else {
            None
        })
    }

    /// Number of provisioned users (status endpoint).
    pub async fn count_app_passwords(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) AS n FROM app_passwords")
            .fetch_one(self.pool())
            .await
            .map_err(db_err("count app passwords"))
    }

    pub(super) async fn rotate_app_passwords(&self) -> Result<usize, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT user_id, encrypted_password FROM app_passwords")
                .fetch_all(self.pool())
                .await
                .map_err(db_err("read app passwords"))?;
        let mut rewritten = 0;
        for (user_id, old) in rows {
            if !self.keys().is_stale(&old) {
                continue;
            }
            let plain = self.keys().decrypt(&old, &context(&user_id))?;
            let new = self.keys().encrypt(&plain, &context(&user_id));
            sqlx::query("UPDATE app_passwords SET encrypted_password = $1 WHERE user_id = $2 AND encrypted_password = $3")
                .bind(new)
                .bind(&user_id)
                .bind(&old)
                .execute(self.pool())
                .await
                .map_err(db_err("re-encrypt app password"))?;
            rewritten += 1;
        }
        Ok(rewritten)
    }
}

/// Locks the user's row (PostgreSQL row lock; SQLite's write lock) and reads it, so that
/// concurrent replacements each see the password they replace. Undecryptable rows count as
/// absent: they are about to be overwritten.
pub(super) async fn locked_previous(
    conn: &mut sqlx::AnyConnection,
    store: &Store,
    user_id: &str,
) -> Result<Option<StoredAppPassword>, StoreError> {
    sqlx::query("UPDATE app_passwords SET updated_at = updated_at WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err("lock app password"))?;
    Ok(sqlx::query_as::<_, AppPasswordRow>(SELECT)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err("read app password"))?
        .map(|r| store.unseal_app_password(r))
        .transpose()
        .unwrap_or(None))
}

/// The insert-or-replace both engines understand (SQLite ≥ 3.24, PostgreSQL ≥ 9.5).
pub(super) async fn upsert(
    conn: &mut sqlx::AnyConnection,
    store: &Store,
    user_id: &str,
    login_name: &str,
    password: &str,
    scopes: Option<&[String]>,
) -> Result<(), StoreError> {
    let now = now();
    sqlx::query(
        "INSERT INTO app_passwords (user_id, encrypted_password, scopes, login_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET encrypted_password = excluded.encrypted_password, \
         scopes = excluded.scopes, login_name = excluded.login_name, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(store.keys().encrypt(password, &context(user_id)))
    .bind(scopes_to_db(scopes))
    .bind(login_name)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await
    .map_err(db_err("store app password"))?;
    Ok(())
}
