//! `app_passwords`: one Nextcloud app password per user, encrypted, with the scopes the
//! user granted (NULL = no restriction beyond their token), their Nextcloud login name and
//! where the password came from; `account_bindings`: the Nextcloud account each user id was
//! first provisioned by.

use super::{JsonList, PendingLogin, Store, StoreError, db_err, now, scopes_to_db};
use crate::config::Secret;

/// Where a stored app password came from. It decides what deleting or replacing it does:
/// a password this server obtained is its own to revoke in Nextcloud; one it was handed is
/// someone else's and is only forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A Login Flow v2 of the `nc_auth_*` tools.
    LoginFlow,
    /// A Login Flow v2 of the built-in authorization server's consent pages.
    AuthorizationServer,
    /// Handed over through `POST /api/v1/users/{user_id}/app-password`.
    Api,
    /// Stored before origins were recorded.
    Unknown,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginFlow => "login_flow",
            Self::AuthorizationServer => "authorization_server",
            Self::Api => "api",
            Self::Unknown => "unknown",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "login_flow" => Self::LoginFlow,
            "authorization_server" => Self::AuthorizationServer,
            "api" => Self::Api,
            _ => Self::Unknown,
        }
    }

    /// Whether this server obtained the password itself (and so may revoke it).
    pub fn obtained_here(self) -> bool {
        matches!(self, Self::LoginFlow | Self::AuthorizationServer)
    }
}

/// A user's stored Nextcloud access.
#[derive(Clone, Debug)]
pub struct StoredAppPassword {
    pub user_id: String,
    pub login_name: String,
    pub password: Secret,
    pub scopes: Option<Vec<String>>,
    pub origin: Origin,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An app password to store.
#[derive(Clone, Copy, Debug)]
pub struct NewAppPassword<'a> {
    pub user_id: &'a str,
    pub login_name: &'a str,
    pub password: &'a str,
    pub scopes: Option<&'a [String]>,
    pub origin: Origin,
}

/// The outcome of [`Store::provision`].
#[derive(Debug)]
pub enum Provisioned {
    /// Stored; `previous` is the password it replaced.
    Stored { previous: Option<StoredAppPassword> },
    /// The Login Flow it completes was completed or replaced by another request first;
    /// nothing was stored.
    Superseded,
    /// The user id is bound to another Nextcloud account; nothing was stored.
    BoundElsewhere { account: String },
}

impl StoredAppPassword {
    pub fn credentials(&self) -> nextcloud::Credentials {
        nextcloud::Credentials::new(&self.login_name, self.password.expose())
    }
}

pub(super) fn context(user_id: &str) -> String {
    format!("app_password:{user_id}")
}

const SELECT: &str = "SELECT user_id, encrypted_password, scopes, login_name, origin, created_at, \
                      updated_at FROM app_passwords WHERE user_id = $1";

/// A row of `app_passwords`: a [`StoredAppPassword`] with its password still sealed.
#[derive(sqlx::FromRow)]
struct AppPasswordRow {
    user_id: String,
    encrypted_password: String,
    #[sqlx(try_from = "JsonList")]
    scopes: Option<Vec<String>>,
    login_name: String,
    origin: String,
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
            origin: Origin::parse(&row.origin),
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

    /// Stores (or replaces) an app password atomically, without looking at bindings; returns
    /// the replaced one. Provisioning goes through [`Store::provision`] (via
    /// `auth::provisioning`), which also keeps the user bound to one Nextcloud account.
    pub async fn put_app_password(
        &self,
        new: &NewAppPassword<'_>,
    ) -> Result<Option<StoredAppPassword>, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db_err("begin"))?;
        let previous = locked_previous(&mut tx, self, new.user_id).await?;
        upsert(&mut tx, self, new).await?;
        tx.commit().await.map_err(db_err("commit"))?;
        Ok(previous)
    }

    /// Provisions in one transaction: consumes the Login Flow `flow` it completes (if any;
    /// only the transaction that deletes the flow's row goes on, so concurrent completions
    /// store one password), binds `new.user_id` to the Nextcloud `account` unless it is bound
    /// already, refuses when it is bound to another account, and stores the password.
    pub async fn provision(
        &self,
        new: &NewAppPassword<'_>,
        account: &str,
        flow: Option<&PendingLogin>,
    ) -> Result<Provisioned, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db_err("begin"))?;
        if let Some(flow) = flow {
            let deleted = sqlx::query(
                "DELETE FROM login_flow_sessions WHERE user_id = $1 AND login_url = $2",
            )
            .bind(&flow.user_id)
            .bind(&flow.login_url)
            .execute(&mut *tx)
            .await
            .map_err(db_err("delete login flow"))?;
            if deleted.rows_affected() == 0 {
                tx.rollback().await.map_err(db_err("rollback"))?;
                return Ok(Provisioned::Superseded);
            }
        }
        // Insert-if-absent then read: a concurrent first provisioning waits for this one's
        // row (PostgreSQL) or for the write lock (SQLite), so both see the same binding.
        sqlx::query(
            "INSERT INTO account_bindings (user_id, nextcloud_user_id, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(new.user_id)
        .bind(account)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(db_err("bind account"))?;
        let bound: String =
            sqlx::query_scalar("SELECT nextcloud_user_id FROM account_bindings WHERE user_id = $1")
                .bind(new.user_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err("read account binding"))?;
        if bound != account {
            // Nothing was inserted (the binding existed); committing only consumes the flow,
            // whose credentials Nextcloud hands out once anyway.
            tx.commit().await.map_err(db_err("commit"))?;
            return Ok(Provisioned::BoundElsewhere { account: bound });
        }
        let previous = locked_previous(&mut tx, self, new.user_id).await?;
        upsert(&mut tx, self, new).await?;
        tx.commit().await.map_err(db_err("commit"))?;
        Ok(Provisioned::Stored { previous })
    }

    /// The Nextcloud account `user_id` is bound to, if it was ever provisioned.
    pub async fn account_binding(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT nextcloud_user_id FROM account_bindings WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err("read account binding"))
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
async fn locked_previous(
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
async fn upsert(
    conn: &mut sqlx::AnyConnection,
    store: &Store,
    new: &NewAppPassword<'_>,
) -> Result<(), StoreError> {
    let now = now();
    sqlx::query(
        "INSERT INTO app_passwords (user_id, encrypted_password, scopes, login_name, origin, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id) DO UPDATE SET encrypted_password = excluded.encrypted_password, \
         scopes = excluded.scopes, login_name = excluded.login_name, origin = excluded.origin, \
         updated_at = excluded.updated_at",
    )
    .bind(new.user_id)
    .bind(store.keys().encrypt(new.password, &context(new.user_id)))
    .bind(scopes_to_db(new.scopes))
    .bind(new.login_name)
    .bind(new.origin.as_str())
    .bind(now)
    .bind(now)
    .execute(conn)
    .await
    .map_err(db_err("store app password"))?;
    Ok(())
}
