//! The credential store of the multi-user modes: app passwords and the accounts users are
//! bound to, pending Login Flow v2 sessions, rate-limit attempts and the audit log, in SQLite
//! (embedded default) or PostgreSQL (shared by replicas). One file per stored entity holds its
//! queries.
//!
//! Queries are plain `sqlx::query` strings in SQL both engines accept (`$1` placeholders,
//! `ON CONFLICT`), run through sqlx's `Any` driver, so nothing needs a database at build time.
//! Rows are read into types deriving `sqlx::FromRow`; [`JsonList`] and [`IntFlag`] decode the
//! two column shapes that need more than a plain value.
//! Migrations are embedded and applied at start; on PostgreSQL sqlx serialises concurrent
//! replicas with an advisory lock.

pub mod app_password;
pub mod audit;
pub mod crypto;
pub mod login_flow;
pub mod oauth;
pub mod rate_limit;
pub mod sessions;

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Decode, Type, ValueRef};

use crate::config::StoreLocation;
pub use app_password::{NewAppPassword, Origin, Provisioned, StoredAppPassword};
pub use audit::AuditEvent;
use crypto::KeyRing;
pub use login_flow::{FlowPurpose, PendingLogin};

/// A store failure; messages name the operation, never a secret or the connection URL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("credential store: {operation} failed: {source}")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("credential store: cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("credential store: {0}")]
    Crypto(#[from] crypto::CryptoError),
    #[error("credential store: {0}")]
    Other(String),
}

pub(crate) fn db_err(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| {
        crate::metrics::store_error(operation);
        StoreError::Database { operation, source }
    }
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    keys: KeyRing,
    /// PostgreSQL (several replicas may share it) rather than SQLite (one process).
    postgres: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The embedded migrations, one set for both engines.
pub fn migrator() -> Migrator {
    let migrations = vec![
        Migration::new(
            1,
            Cow::Borrowed("credential store"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../../migrations/0001_credential_store.sql")),
            false,
        ),
        Migration::new(
            2,
            Cow::Borrowed("authorization server"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!(
                "../../migrations/0002_authorization_server.sql"
            )),
            false,
        ),
        Migration::new(
            3,
            Cow::Borrowed("provisioning"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../../migrations/0003_provisioning.sql")),
            false,
        ),
        Migration::new(
            4,
            Cow::Borrowed("mcp sessions"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../../migrations/0004_mcp_sessions.sql")),
            false,
        ),
    ];
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// Now, in Unix seconds: the unit of every time column.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Opens (creating the SQLite file and its directory if needed) and migrates the store.
    pub async fn open(location: &StoreLocation, keys: KeyRing) -> Result<Self, StoreError> {
        if let StoreLocation::Sqlite(path) = location
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Other(format!("cannot create {}: {e}", dir.display())))?;
        }
        if let StoreLocation::Sqlite(path) = location {
            restrict_to_owner(path)?;
        }
        Self::open_url(&location.url(), keys).await
    }

    /// As [`Store::open`], from an sqlx URL (`sqlite://…`, `postgres://…`).
    pub async fn open_url(url: &str, keys: KeyRing) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite has one writer; a single connection avoids "database is locked".
            .max_connections(if sqlite { 1 } else { 10 })
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(db_err("connect"))?;
        migrator().run(&pool).await?;
        Ok(Self {
            pool,
            keys,
            postgres: !sqlite,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn is_postgres(&self) -> bool {
        self.postgres
    }

    pub(crate) fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Whether the database answers (readiness probe).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Deletes expired Login Flow sessions, rate-limit attempts older than the longest window
    /// and audit entries older than the retention.
    pub async fn cleanup(&self, audit_retention: Duration) -> Result<(), StoreError> {
        let now = now();
        self.delete_expired_logins(now).await?;
        self.prune_attempts(now - rate_limit::WINDOW.as_secs() as i64)
            .await?;
        self.prune_audit(now - audit_retention.as_secs() as i64)
            .await?;
        self.delete_expired_oauth(now).await?;
        self.prune_sessions(now - sessions::SESSION_RETENTION.as_secs() as i64)
            .await?;
        Ok(())
    }

    /// Runs [`Store::cleanup`] every minute until `cancel` fires.
    pub fn spawn_cleanup(
        &self,
        audit_retention: Duration,
        cancel: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = store.cleanup(audit_retention).await {
                            tracing::warn!(error = %e, "credential store cleanup failed");
                        }
                    }
                }
            }
        })
    }

    /// Re-encrypts every secret written under an older key with the current key; returns how
    /// many values were rewritten.
    pub async fn rotate_keys(&self) -> Result<usize, StoreError> {
        let a = self.rotate_app_passwords().await?;
        let b = self.rotate_pending_logins().await?;
        Ok(a + b)
    }
}

/// Creates the SQLite file readable and writable by its owner only (SQLite gives its journal
/// files the same mode), and tightens an existing file: tokens and ciphertexts are nobody
/// else's business on a shared host.
fn restrict_to_owner(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let cannot =
            |e: std::io::Error| StoreError::Other(format!("cannot create {}: {e}", path.display()));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(cannot)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(cannot)?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Scope lists are stored as JSON arrays; NULL means no restriction.
pub(crate) fn scopes_to_db(scopes: Option<&[String]>) -> Option<String> {
    scopes.map(list_to_db)
}

/// A list of strings as the JSON array its TEXT column holds.
pub(crate) fn list_to_db(list: &[String]) -> String {
    serde_json::to_string(list).expect("strings serialize")
}

/// A list of strings kept as a JSON array in a TEXT column (scope lists, redirect URIs), read
/// with `#[sqlx(try_from = "JsonList")]` into `Vec<String>` or, where NULL means "none
/// given", `Option<Vec<String>>`; NULL reads as an empty `Vec`.
pub(crate) struct JsonList(Option<Vec<String>>);

impl Type<Any> for JsonList {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for JsonList {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            return Ok(Self(None));
        }
        let text = <String as Decode<Any>>::decode(value)?;
        Ok(Self(Some(serde_json::from_str(&text)?)))
    }
}

impl From<JsonList> for Option<Vec<String>> {
    fn from(list: JsonList) -> Self {
        list.0
    }
}

impl From<JsonList> for Vec<String> {
    fn from(list: JsonList) -> Self {
        list.0.unwrap_or_default()
    }
}

/// A boolean kept as 0/1 in a BIGINT column (SQLite has no boolean type), read with
/// `#[sqlx(try_from = "IntFlag")]`.
pub(crate) struct IntFlag(bool);

impl Type<Any> for IntFlag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for IntFlag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<i64 as Decode<Any>>::decode(value)? != 0))
    }
}

impl From<IntFlag> for bool {
    fn from(flag: IntFlag) -> Self {
        flag.0
    }
}
