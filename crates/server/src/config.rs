//! The resolved configuration: the settings declared in [`crate::cli::RunArgs`] (each
//! already validated on its own, from flags, environment or file by [`crate::settings`]), with
//! the rules that involve several of them applied once at start-up: a wrong or missing
//! setting stops the server with one line that names it.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use nextcloud::calendar::Tz;

use crate::cli::{DeploymentMode, LogArgs, RunArgs, ToolMode, Transport};
use crate::db::crypto::{Key, KeyRing};
use crate::search::semantic::EmbeddingSettings;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn err(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// A secret string that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The server's time zone (`--timezone`): calendar and task times given without a zone are
/// read in it, and answers use it. Keeps the name as configured, since it is written as TZID.
#[derive(Clone)]
pub struct TimeZone {
    name: String,
    tz: Tz,
}

impl TimeZone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: Tz::UTC,
        }
    }

    /// The IANA name as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::utc()
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl FromStr for TimeZone {
    type Err = ();

    /// An IANA zone name (as the calendar model reads TZIDs); anything else is refused.
    fn from_str(raw: &str) -> Result<Self, ()> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(());
        }
        let tz = name.parse::<Tz>()?;
        Ok(Self {
            name: name.to_string(),
            tz,
        })
    }
}

#[derive(Clone, Debug)]
pub struct NextcloudSettings {
    pub base_url: url::Url,
    /// The single user's login name (`single_user_basic` only).
    pub username: Option<String>,
    /// The single user's app password (`single_user_basic` only).
    pub password: Option<Secret>,
    pub verify_ssl: bool,
    pub ca_bundle: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl NextcloudSettings {
    pub fn client_config(&self) -> nextcloud::ClientConfig {
        let mut config = nextcloud::ClientConfig::new(self.base_url.clone());
        config.verify_tls = self.verify_ssl;
        config.ca_bundle = self.ca_bundle.clone();
        config.connect_timeout = self.connect_timeout;
        config.request_timeout = self.request_timeout;
        config.observer = Some(crate::telemetry::nextcloud_observer(
            crate::metrics::nextcloud_observer(),
        ));
        config
    }

    /// The configured single user's credentials; `None` in the multi-user modes.
    pub fn credentials(&self) -> Option<nextcloud::Credentials> {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some(nextcloud::Credentials::new(u, p.expose())),
            _ => None,
        }
    }
}

/// Which tools are exposed at all, before per-user capability checks.
#[derive(Clone, Debug, Default)]
pub struct ToolSelection {
    /// `None` = every app.
    pub enabled_apps: Option<BTreeSet<String>>,
    pub read_only: bool,
    /// `None` = every tool.
    pub only: Option<BTreeSet<String>>,
    pub exclude: BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub auth_token: Option<Secret>,
    pub allow_unauthenticated_remote: bool,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// How long a stopping server waits for requests in flight (`MCP_SHUTDOWN_TIMEOUT`).
    pub shutdown_timeout: Duration,
    /// Serve `/metrics` (`MCP_METRICS`, or implied by `metrics_port`).
    pub metrics: bool,
    /// `/metrics` on its own port of the same address (`MCP_METRICS_PORT`).
    pub metrics_port: Option<u16>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            auth_token: None,
            allow_unauthenticated_remote: false,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            shutdown_timeout: Duration::from_secs(30),
            metrics: false,
            metrics_port: None,
        }
    }
}

/// Where the credential store lives.
#[derive(Clone, Debug)]
pub enum StoreLocation {
    /// Embedded SQLite file (the default, one replica).
    Sqlite(PathBuf),
    /// PostgreSQL (several replicas share it).
    Postgres(Secret),
}

impl StoreLocation {
    /// The sqlx connection URL.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            Self::Postgres(url) => url.expose().to_string(),
        }
    }
}

/// Settings of the multi-user modes (who is calling, where their credentials are stored).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub mode: DeploymentMode,
    pub store: StoreLocation,
    /// Always set in the multi-user modes (they refuse to start without a key).
    pub keys: Option<KeyRing>,
    /// OIDC discovery document of the bearer-token issuer (`login_flow`).
    pub oidc_discovery_url: url::Url,
    /// `OIDC_DISCOVERY_URL` was set: tokens come from that external issuer. Otherwise
    /// `login_flow` runs its own authorization server (see [`Self::builtin_authorization_server`]).
    pub external_issuer: bool,
    /// This server's public MCP URL: the audience tokens must carry, and the `resource` of its
    /// protected-resource metadata.
    pub resource_url: url::Url,
    /// Nextcloud as browsers reach it, for login links.
    pub public_url: Option<url::Url>,
    /// Client credentials for RFC 7662 introspection of opaque tokens.
    pub oidc_client: Option<(String, Secret)>,
    /// The claim of an external issuer's tokens that names the caller (their user id here and,
    /// normally, in Nextcloud); `sub` unless configured.
    pub oidc_user_claim: String,
    /// With an external issuer: the first provisioning must be granted by the Nextcloud user
    /// the claim names. (With the built-in authorization server the caller *is* the Nextcloud
    /// user who logged in, so this always holds.)
    pub oidc_require_user_match: bool,
    /// `WEBHOOK_SECRET`: the bearer secret of `POST /webhooks/nextcloud`; `None` = receiver off.
    pub webhook_secret: Option<Secret>,
    pub audit_retention: Duration,
}

impl AuthSettings {
    pub fn is_multi_user(&self) -> bool {
        self.mode != DeploymentMode::SingleUserBasic
    }

    /// `login_flow` without `OIDC_DISCOVERY_URL`: this server is its own OAuth authorization
    /// server, and people sign in with their Nextcloud account through Login Flow v2.
    pub fn builtin_authorization_server(&self) -> bool {
        self.mode == DeploymentMode::LoginFlow && !self.external_issuer
    }

    /// Whether a bearer caller's user id must equal the Nextcloud account that grants their
    /// first app password (later grants must always equal the first).
    pub fn caller_is_nextcloud_user(&self) -> bool {
        self.builtin_authorization_server() || self.oidc_require_user_match
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub transport: Transport,
    pub host: IpAddr,
    pub port: u16,
    pub nextcloud: NextcloudSettings,
    /// After `--profile` was applied.
    pub selection: ToolSelection,
    /// `all` tools in tools/list, or `discover` (find, describe, call).
    pub tool_mode: ToolMode,
    pub http: HttpSettings,
    pub log: LogArgs,
    /// Async worker threads: `None` = one for stdio (one client), one per core for HTTP.
    pub worker_threads: Option<usize>,
    pub auth: AuthSettings,
    /// Default zone of calendar tools: local times without a `timezone` argument are in it,
    /// and answers use it.
    pub timezone: TimeZone,
    pub files: FileSettings,
    /// Semantic search's embedder (`EMBEDDING_MODEL_PATH` or `EMBEDDING_ENDPOINT`); `None`:
    /// semantic search answers from keywords and says so.
    pub embedding: Option<EmbeddingSettings>,
    pub search: crate::search::SearchSettings,
}

/// Limits of the file tools. The caps guard the model's context (what one read returns) and
/// the server's memory (what one write or document parse holds); big transfers stream.
#[derive(Clone, Debug, PartialEq)]
pub struct FileSettings {
    /// Most bytes of content one read returns inline, text or base64 (`WEBDAV_READ_MAX_MB`, 5).
    pub read_max_bytes: u64,
    /// Largest file one write may upload (`WEBDAV_WRITE_MAX_MB`, 50).
    pub write_max_bytes: u64,
    /// Largest document (PDF, DOCX, XLSX, ...) fetched to extract its text
    /// (`WEBDAV_DOCUMENT_MAX_MB`, 50); only the extracted text counts against the read cap.
    pub document_max_bytes: u64,
    /// Uploads larger than this go through Nextcloud's chunked upload v2
    /// (`WEBDAV_CHUNK_THRESHOLD_MB`, 10).
    pub chunk_threshold_bytes: u64,
    /// Size of each chunk of a chunked upload (`WEBDAV_CHUNK_SIZE_MB`, 10).
    pub chunk_size_bytes: u64,
    /// System tags hiding files and folders (and what is below them) from the file and sharing
    /// tools (`EXCLUDED_TAGS`, none).
    pub excluded_tags: Vec<String>,
}

impl FileSettings {
    /// The file settings among `args`.
    pub fn from_args(args: &RunArgs) -> Self {
        // Megabytes were checked to be positive and bounded when parsed.
        let bytes = |mb: f64| ((mb * 1024.0 * 1024.0) as u64).max(1);
        Self {
            read_max_bytes: bytes(args.webdav_read_max_mb),
            write_max_bytes: bytes(args.webdav_write_max_mb),
            document_max_bytes: bytes(args.webdav_document_max_mb),
            chunk_threshold_bytes: bytes(args.webdav_chunk_threshold_mb),
            chunk_size_bytes: bytes(args.webdav_chunk_size_mb),
            excluded_tags: crate::tools::files::guard::parse_names(&args.excluded_tags.join(",")),
        }
    }
}

/// The declared defaults (see [`RunArgs`]).
impl Default for FileSettings {
    fn default() -> Self {
        Self::from_args(&RunArgs::defaults())
    }
}

impl Config {
    /// Applies the rules between settings (each deployment mode's required and forbidden
    /// settings, values derived from others) to settings that were each checked on their own.
    pub fn resolve(args: RunArgs) -> Result<Self, ConfigError> {
        let files = FileSettings::from_args(&args);
        // Every setting by name, so that a new one cannot be forgotten here.
        let RunArgs {
            transport,
            host,
            port,
            nextcloud_host,
            nextcloud_username,
            nextcloud_password,
            verify_ssl,
            ca_bundle,
            connect_timeout,
            request_timeout,
            timezone,
            enable_app,
            read_only,
            tools,
            exclude_tools,
            presets,
            auth_token,
            allow_unauthenticated_remote,
            allowed_hosts,
            allowed_origins,
            deployment_mode,
            token_storage_db,
            database_url,
            token_encryption_key,
            token_encryption_old_keys,
            oidc_discovery_url,
            oidc_client_id,
            oidc_client_secret,
            oidc_user_claim,
            oidc_require_user_match,
            server_url,
            public_url,
            webhook_secret,
            audit_retention_days,
            webdav_read_max_mb: _,
            webdav_write_max_mb: _,
            webdav_document_max_mb: _,
            webdav_chunk_threshold_mb: _,
            webdav_chunk_size_mb: _,
            excluded_tags: _,
            embedding_model_path,
            embedding_endpoint,
            embedding_model,
            embedding_api_key,
            search_sync_interval,
            search_languages,
            search_index_dir,
            log,
            worker_threads,
            shutdown_timeout,
            metrics,
            metrics_port,
        } = args;
        let embedding = resolve_embedding(
            embedding_model_path,
            embedding_endpoint,
            embedding_model,
            embedding_api_key,
        )?;

        let base_url = nextcloud_host.ok_or_else(|| {
            err("NEXTCLOUD_HOST is not set: set it to your Nextcloud URL, e.g. https://cloud.example.com (or pass --nextcloud-host)")
        })?;
        let username = nextcloud_username.filter(|v| !v.trim().is_empty());
        let password = nextcloud_password.filter(|v| !v.expose().trim().is_empty());
        // As the reference: configured credentials mean one user; otherwise Login Flow.
        let mode = deployment_mode.unwrap_or(if username.is_some() || password.is_some() {
            DeploymentMode::SingleUserBasic
        } else {
            DeploymentMode::LoginFlow
        });
        let (username, password) = if mode == DeploymentMode::SingleUserBasic {
            (
                Some(username.ok_or_else(|| err(
                    "NEXTCLOUD_USERNAME is not set: set it to your Nextcloud login name (or pass --nextcloud-username), or choose MCP_DEPLOYMENT_MODE=login_flow / multi_user_basic",
                ))?),
                Some(password.ok_or_else(|| err(
                    "NEXTCLOUD_PASSWORD is not set: create an app password in Nextcloud (Settings → Security → Devices & sessions) and set it",
                ))?),
            )
        } else {
            for (name, set) in [
                ("NEXTCLOUD_USERNAME", username.is_some()),
                ("NEXTCLOUD_PASSWORD", password.is_some()),
            ] {
                if set {
                    return Err(err(format!(
                        "{name} must not be set with MCP_DEPLOYMENT_MODE={}: every user brings their own Nextcloud access; unset it or use single_user_basic",
                        mode.as_str()
                    )));
                }
            }
            (None, None)
        };
        let nextcloud = NextcloudSettings {
            base_url,
            username,
            password,
            verify_ssl,
            ca_bundle,
            connect_timeout,
            request_timeout,
        };

        let selection = ToolSelection {
            enabled_apps: non_empty(names(enable_app)),
            read_only,
            only: non_empty(names(tools)),
            exclude: names(exclude_tools),
        };
        let selection = crate::profiles::apply(&presets.profile, selection);

        let http = HttpSettings {
            auth_token,
            allow_unauthenticated_remote,
            allowed_hosts: names(allowed_hosts).into_iter().collect(),
            allowed_origins: names(allowed_origins).into_iter().collect(),
            shutdown_timeout,
            metrics: metrics || metrics_port.is_some(),
            metrics_port,
        };
        if mode == DeploymentMode::SingleUserBasic
            && transport == Transport::StreamableHttp
            && !host.is_loopback()
            && http.auth_token.is_none()
            && !http.allow_unauthenticated_remote
        {
            return Err(err(format!(
                "refusing to listen on {host} without MCP_AUTH_TOKEN: anyone who can reach the port would act as {}. Set MCP_AUTH_TOKEN, listen on 127.0.0.1, or pass --allow-unauthenticated-remote",
                nextcloud.username.as_deref().unwrap_or_default()
            )));
        }
        let auth = resolve_auth(AuthInputs {
            mode,
            transport,
            host,
            port,
            nextcloud_base: &nextcloud.base_url,
            auth_token_set: http.auth_token.is_some(),
            storage_db: token_storage_db,
            database_url,
            key: token_encryption_key,
            old_keys: token_encryption_old_keys,
            oidc_discovery_url,
            server_url,
            public_url,
            oidc_client_id: oidc_client_id.filter(|v| !v.trim().is_empty()),
            oidc_client_secret,
            oidc_user_claim,
            oidc_require_user_match,
            webhook_secret,
            audit_retention_days,
        })?;

        Ok(Self {
            transport,
            host,
            port,
            nextcloud,
            selection,
            tool_mode: presets.tool_mode,
            http,
            log,
            worker_threads: worker_threads.map(usize::from),
            auth,
            timezone,
            files,
            embedding,
            search: crate::search::SearchSettings {
                sync_interval: search_sync_interval,
                languages: search_languages,
                dir: Some(match search_index_dir {
                    Some(dir) => dir,
                    None => default_search_dir().ok_or_else(|| {
                        err("NEXTCLOUD_MCP_SEARCH_INDEX_DIR is not set and no user data directory was found: set it to a persistent folder")
                    })?,
                }),
            },
        })
    }
}

/// Semantic search's embedder: a local model folder or an endpoint with its model, not both.
fn resolve_embedding(
    path: Option<PathBuf>,
    endpoint: Option<url::Url>,
    model: Option<String>,
    api_key: Option<Secret>,
) -> Result<Option<EmbeddingSettings>, ConfigError> {
    let model = model.filter(|m| !m.trim().is_empty());
    match (path, endpoint) {
        (Some(_), Some(_)) => Err(err(
            "EMBEDDING_MODEL_PATH and EMBEDDING_ENDPOINT are both set: semantic search uses one embedder; unset one",
        )),
        (Some(path), None) => {
            if !cfg!(feature = "embedded-model") {
                return Err(err(
                    "EMBEDDING_MODEL_PATH is set but this build has no embedded model (cargo feature `embedded-model`): rebuild with it or use EMBEDDING_ENDPOINT",
                ));
            }
            for name in ["config.json", "tokenizer.json", "model.safetensors"] {
                if !path.join(name).is_file() {
                    return Err(err(format!(
                        "EMBEDDING_MODEL_PATH: {} has no {name}; point it at a sentence-transformers model folder",
                        path.display()
                    )));
                }
            }
            Ok(Some(EmbeddingSettings::Local { path }))
        }
        (None, Some(url)) => {
            let model = model.ok_or_else(|| {
                err("EMBEDDING_ENDPOINT is set without EMBEDDING_MODEL: name the embedding model to ask it for, e.g. nomic-embed-text")
            })?;
            Ok(Some(EmbeddingSettings::Endpoint {
                url,
                model,
                api_key,
            }))
        }
        (None, None) => Ok(None),
    }
}

struct AuthInputs<'a> {
    mode: DeploymentMode,
    transport: Transport,
    host: IpAddr,
    port: u16,
    nextcloud_base: &'a url::Url,
    auth_token_set: bool,
    storage_db: Option<PathBuf>,
    database_url: Option<Secret>,
    key: Option<Key>,
    old_keys: Vec<Key>,
    oidc_discovery_url: Option<url::Url>,
    server_url: Option<url::Url>,
    public_url: Option<url::Url>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<Secret>,
    oidc_user_claim: Option<String>,
    oidc_require_user_match: bool,
    webhook_secret: Option<Secret>,
    audit_retention_days: u32,
}

/// Checks each mode's required and forbidden settings:
/// - `single_user_basic`: NEXTCLOUD_USERNAME + NEXTCLOUD_PASSWORD required (checked above);
///   OIDC_DISCOVERY_URL forbidden (no tokens are validated).
/// - `multi_user_basic`: streamable HTTP and TOKEN_ENCRYPTION_KEY required; NEXTCLOUD_USERNAME,
///   NEXTCLOUD_PASSWORD, MCP_AUTH_TOKEN and OIDC_DISCOVERY_URL forbidden.
/// - `login_flow`: streamable HTTP and TOKEN_ENCRYPTION_KEY required; NEXTCLOUD_USERNAME,
///   NEXTCLOUD_PASSWORD and MCP_AUTH_TOKEN forbidden.
fn resolve_auth(i: AuthInputs<'_>) -> Result<AuthSettings, ConfigError> {
    let mode = i.mode;
    let multi = mode != DeploymentMode::SingleUserBasic;
    let name = mode.as_str();
    if multi && i.transport != Transport::StreamableHttp {
        return Err(err(format!(
            "MCP_DEPLOYMENT_MODE={name} serves many users and needs --transport streamable-http (MCP_TRANSPORT); for one user over stdio set NEXTCLOUD_USERNAME and NEXTCLOUD_PASSWORD"
        )));
    }
    if multi && i.auth_token_set {
        return Err(err(format!(
            "MCP_AUTH_TOKEN must not be set with MCP_DEPLOYMENT_MODE={name}: each request authenticates its own user"
        )));
    }
    if mode != DeploymentMode::LoginFlow && i.oidc_discovery_url.is_some() {
        return Err(err(format!(
            "OIDC_DISCOVERY_URL is only used with MCP_DEPLOYMENT_MODE=login_flow, not {name}"
        )));
    }
    if !multi && i.webhook_secret.is_some() {
        return Err(err(
            "WEBHOOK_SECRET is for the Nextcloud webhooks of the multi-user modes (multi_user_basic, login_flow), not single_user_basic",
        ));
    }
    let keys = match i.key {
        Some(current) => Some(KeyRing::new(current, i.old_keys)),
        None if multi => {
            return Err(err(format!(
                "TOKEN_ENCRYPTION_KEY is not set: MCP_DEPLOYMENT_MODE={name} stores users' app passwords encrypted; generate a key with `openssl rand -base64 32`"
            )));
        }
        None => None,
    };
    let store = match i.database_url {
        Some(url) => StoreLocation::Postgres(url),
        None => StoreLocation::Sqlite(match i.storage_db {
            Some(path) => path,
            None => default_store_path().ok_or_else(|| {
                err("TOKEN_STORAGE_DB is not set and no user data directory was found: set it to a persistent file path")
            })?,
        }),
    };
    let external_issuer = i.oidc_discovery_url.is_some();
    if !external_issuer && (i.oidc_client_id.is_some() || i.oidc_client_secret.is_some()) {
        return Err(err(
            "OIDC_CLIENT_ID / OIDC_CLIENT_SECRET are for introspection at an external issuer: set OIDC_DISCOVERY_URL too, or unset them to use the built-in authorization server",
        ));
    }
    if !external_issuer && (i.oidc_user_claim.is_some() || i.oidc_require_user_match) {
        return Err(err(
            "NEXTCLOUD_MCP_OIDC_USER_CLAIM / NEXTCLOUD_MCP_OIDC_REQUIRE_USER_MATCH are about an external issuer's tokens: set OIDC_DISCOVERY_URL too (the built-in authorization server's callers are always the Nextcloud user who logged in)",
        ));
    }
    let oidc_user_claim = i.oidc_user_claim.unwrap_or_else(|| "sub".into());
    let oidc_discovery_url = match i.oidc_discovery_url {
        Some(url) => url,
        None => url::Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            i.nextcloud_base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| err(format!("OIDC_DISCOVERY_URL: {e}")))?,
    };
    let resource_url = match i.server_url {
        Some(url) => url,
        None => {
            let host = match i.host {
                IpAddr::V6(a) => format!("[{a}]"),
                IpAddr::V4(a) => a.to_string(),
            };
            url::Url::parse(&format!("http://{host}:{}/mcp", i.port))
                .map_err(|e| err(format!("NEXTCLOUD_MCP_SERVER_URL: {e}")))?
        }
    };
    Ok(AuthSettings {
        mode,
        store,
        keys,
        oidc_discovery_url,
        external_issuer,
        resource_url,
        public_url: i.public_url,
        oidc_client: match (i.oidc_client_id, i.oidc_client_secret) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err(err(
                    "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together (they authenticate token introspection)",
                ));
            }
        },
        oidc_user_claim,
        oidc_require_user_match: i.oidc_require_user_match,
        webhook_secret: i.webhook_secret,
        audit_retention: Duration::from_secs(u64::from(i.audit_retention_days) * 86_400),
    })
}

/// `<data dir>/nextcloud-mcp/tokens.db`: persistent, unlike a temporary file, so users stay
/// provisioned across restarts.
fn default_store_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("nextcloud-mcp").join("tokens.db"))
}

/// `<data dir>/nextcloud-mcp/search`, next to the default token store.
fn default_search_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("nextcloud-mcp").join("search"))
}

/// A list setting's entries, trimmed, without empty ones or repeats.
fn names(values: Vec<String>) -> BTreeSet<String> {
    values
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn non_empty(set: BTreeSet<String>) -> Option<BTreeSet<String>> {
    (!set.is_empty()).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{SettingsError, run_args_with_file};

    const SINGLE: &[&str] = &[
        "--nextcloud-host=https://cloud.example.com",
        "--nextcloud-username=alice",
        "--nextcloud-password=app-password",
    ];

    fn with(base: &[&str], extra: &[&str]) -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    }

    /// Resolves flags (no environment, no file).
    fn resolve(flags: &[String]) -> Result<Config, String> {
        let args = RunArgs::from_flags(flags).map_err(|e| e.to_string())?;
        Config::resolve(args).map_err(|e| e.to_string())
    }

    fn single(extra: &[&str]) -> Result<Config, String> {
        resolve(&with(SINGLE, extra))
    }

    /// The one-line message of a setting refused on its own (by its value parser).
    fn refused(flags: &[String]) -> String {
        match RunArgs::from_flags(flags) {
            Err(e @ SettingsError::Invalid(_)) => e.to_string(),
            Err(e) => panic!("not a setting error: {e}"),
            Ok(args) => match Config::resolve(args) {
                Err(e) => panic!("refused only by resolve: {e}"),
                Ok(_) => panic!("accepted: {flags:?}"),
            },
        }
    }

    #[test]
    fn defaults_are_safe() {
        let c = single(&[]).unwrap();
        assert_eq!(c.transport, Transport::Stdio);
        assert!(c.host.is_loopback());
        assert_eq!(c.port, 8000);
        assert!(c.nextcloud.verify_ssl);
        assert_eq!(c.nextcloud.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.nextcloud.request_timeout, Duration::from_secs(60));
        assert_eq!(c.auth.audit_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(c.log.log_level, "info");
        assert_eq!(c.log.log_format, crate::cli::LogFormat::Text);
        assert_eq!(c.worker_threads, None);
        assert!(!format!("{c:?}").contains("app-password"));
    }

    #[test]
    fn time_zone_defaults_to_utc_and_is_checked() {
        let c = single(&[]).unwrap();
        assert_eq!(c.timezone.name(), "UTC");
        let c = single(&["--timezone=Europe/Berlin"]).unwrap();
        assert_eq!(c.timezone.name(), "Europe/Berlin");
        let args = run_args_with_file(SINGLE, "timezone = \"America/New_York\"\n").unwrap();
        assert_eq!(
            Config::resolve(args).unwrap().timezone.name(),
            "America/New_York"
        );
        let e = refused(&with(SINGLE, &["--timezone=Mars/Olympus"]));
        assert!(e.contains("NEXTCLOUD_MCP_TIMEZONE"), "{e}");
        assert!(e.contains("Mars/Olympus"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        let e = run_args_with_file(SINGLE, "timezone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(e.to_string().contains("`timezone`"), "{e}");
    }

    #[test]
    fn file_limits_come_from_flags_or_file_in_megabytes() {
        let c = single(&[]).unwrap();
        assert_eq!(c.files, FileSettings::default());
        assert_eq!(c.files.read_max_bytes, 5 * 1024 * 1024);
        assert_eq!(c.files.write_max_bytes, 50 * 1024 * 1024);
        assert_eq!(c.files.chunk_threshold_bytes, 10 * 1024 * 1024);
        let args = run_args_with_file(
            &with(SINGLE, &["--webdav-read-max-mb=0.5"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            "webdav_read_max_mb = 9\nwebdav_write_max_mb = 2\nwebdav_chunk_threshold_mb = 1\nwebdav_chunk_size_mb = 0.25\n",
        )
        .unwrap();
        let c = Config::resolve(args).unwrap();
        assert_eq!(
            c.files.read_max_bytes,
            512 * 1024,
            "the flag wins over the file"
        );
        assert_eq!(c.files.write_max_bytes, 2 * 1024 * 1024);
        assert_eq!(c.files.chunk_threshold_bytes, 1024 * 1024);
        assert_eq!(c.files.chunk_size_bytes, 256 * 1024);
        for bad in ["0", "-1", "NaN", "lots"] {
            let e = refused(&with(SINGLE, &[&format!("--webdav-write-max-mb={bad}")]));
            assert!(e.contains("WEBDAV_WRITE_MAX_MB"), "{e}");
        }
    }

    #[test]
    fn excluded_tags_come_from_the_flag_or_the_file() {
        let file = "excluded_tags = [\"private\", \" no-ai \"]\n";
        let c = Config::resolve(run_args_with_file(SINGLE, file).unwrap()).unwrap();
        assert_eq!(c.files.excluded_tags, ["private", "no-ai"]);
        let flags = with(SINGLE, &["--excluded-tags=confidential,,confidential"]);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let c = Config::resolve(run_args_with_file(&flags, file).unwrap()).unwrap();
        assert_eq!(c.files.excluded_tags, ["confidential"], "the flag wins");
        let c = single(&[]).unwrap();
        assert!(c.files.excluded_tags.is_empty());
    }

    #[test]
    fn missing_settings_are_named() {
        let e = resolve(&with(
            &["--nextcloud-username=alice", "--nextcloud-password=pw"],
            &[],
        ))
        .unwrap_err();
        assert!(e.contains("NEXTCLOUD_HOST is not set"), "{e}");
        let e = resolve(&with(
            &[
                "--nextcloud-host=https://cloud.example.com",
                "--nextcloud-username=alice",
            ],
            &[],
        ))
        .unwrap_err();
        assert!(e.contains("NEXTCLOUD_PASSWORD"), "{e}");
        for bad in [
            "cloud.example.com",
            "ftp://cloud.example.com",
            "https://u:p@cloud.example.com",
            "https://cloud.example.com/?x",
        ] {
            let e = refused(&[format!("--nextcloud-host={bad}")]);
            assert!(e.contains("NEXTCLOUD_HOST"), "{e}");
        }
    }

    #[test]
    fn single_settings_are_checked_by_their_declaration() {
        for (flag, needle) in [
            ("--connect-timeout=0", "NEXTCLOUD_CONNECT_TIMEOUT"),
            ("--request-timeout=soon", "NEXTCLOUD_TIMEOUT"),
            ("--audit-retention-days=0", "AUDIT_LOG_RETENTION_DAYS"),
            ("--log-level=loud", "LOG_LEVEL"),
            ("--log-filter=a=b=c", "RUST_LOG"),
            ("--worker-threads=0", "TOKIO_WORKER_THREADS"),
            ("--auth-token=short", "MCP_AUTH_TOKEN"),
            ("--ca-bundle=/nonexistent/ca.pem", "NEXTCLOUD_CA_BUNDLE"),
            ("--public-url=nextcloud.example.com", "NEXTCLOUD_PUBLIC_URL"),
            (
                "--server-url=ftp://mcp.example.com/mcp",
                "NEXTCLOUD_MCP_SERVER_URL",
            ),
        ] {
            let e = refused(&with(SINGLE, &[flag]));
            assert!(e.contains(needle), "{flag}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        // Secrets are never repeated in the message.
        let e = refused(&with(SINGLE, &["--auth-token=short-secret"]));
        assert!(!e.contains("short-secret"), "{e}");
        let c = single(&["--log-level=WARNING", "--worker-threads=3"]).unwrap();
        assert_eq!(c.worker_threads, Some(3));
    }

    #[test]
    fn remote_http_without_token_is_refused() {
        let e = single(&["--transport=streamable-http", "--host=0.0.0.0"]).unwrap_err();
        assert!(e.contains("MCP_AUTH_TOKEN"), "{e}");
        assert!(
            single(&[
                "--transport=streamable-http",
                "--host=0.0.0.0",
                "--auth-token=0123456789abcdef0123",
            ])
            .is_ok()
        );
    }

    #[test]
    fn tool_mode_and_profiles_come_from_flags_or_file() {
        let c = single(&[]).unwrap();
        assert_eq!(c.tool_mode, ToolMode::All);
        assert!(c.selection.enabled_apps.is_none() && !c.selection.read_only);
        let file = "tool_mode = \"discover\"\nprofile = [\"team\", \"read-only\"]\n";
        let c = Config::resolve(run_args_with_file(SINGLE, file).unwrap()).unwrap();
        assert_eq!(c.tool_mode, ToolMode::Discover);
        let apps = c.selection.enabled_apps.unwrap();
        assert!(apps.contains("deck") && !apps.contains("notes"));
        assert!(c.selection.read_only);
        let mut flags = SINGLE.to_vec();
        flags.extend(["--tool-mode=all", "--profile=personal"]);
        let c = Config::resolve(run_args_with_file(&flags, file).unwrap()).unwrap();
        assert_eq!(c.tool_mode, ToolMode::All, "the flag wins");
        let apps = c.selection.enabled_apps.unwrap();
        assert!(apps.contains("notes") && !apps.contains("deck"));
        assert!(!c.selection.read_only);
        let e = run_args_with_file(SINGLE, "profile = [\"everything\"]\n").unwrap_err();
        assert!(e.to_string().contains("`profile`"), "{e}");
        let e = refused(&with(SINGLE, &["--tool-mode=some"]));
        assert!(e.contains("NEXTCLOUD_MCP_TOOL_MODE"), "{e}");
    }

    #[test]
    fn unknown_app_is_rejected_with_the_valid_list() {
        let e = refused(&with(SINGLE, &["--enable-app=notez"]));
        assert!(e.contains("notez") && e.contains("notes"), "{e}");
        let c = single(&["-e", "notes,calendar", "--enable-app=deck"]).unwrap();
        let apps: Vec<_> = c.selection.enabled_apps.unwrap().into_iter().collect();
        assert_eq!(apps, ["calendar", "deck", "notes"]);
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file = "port = 9000\nnextcloud_host = \"https://file.example.com\"\nread_only = true\nlog_format = \"json\"\ntools = [\"nc_notes_get_note\"]\n";
        let mut flags = SINGLE.to_vec();
        flags.push("--port=9100");
        let c = Config::resolve(run_args_with_file(&flags, file).unwrap()).unwrap();
        assert_eq!(c.port, 9100);
        assert_eq!(c.nextcloud.base_url.as_str(), "https://cloud.example.com/");
        assert!(c.selection.read_only);
        assert_eq!(c.log.log_format, crate::cli::LogFormat::Json);
        assert_eq!(
            c.selection.only.unwrap().into_iter().collect::<Vec<_>>(),
            ["nc_notes_get_note"]
        );
        let c = Config::resolve(
            run_args_with_file(&["--nextcloud-username=a", "--nextcloud-password=b"], file)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.nextcloud.base_url.as_str(), "https://file.example.com/");
    }

    #[test]
    fn file_mistakes_name_the_key() {
        for (file, needle) in [
            ("prot = 1\n", "`prot`"),
            ("port = \"x\"\n", "`port`"),
            ("port = [1, 2]\n", "`port`"),
            ("read_only = \"yes\"\n", "`read_only`"),
            ("enable_app = [\"notez\"]\n", "notez"),
            ("config = \"other.toml\"\n", "`config`"),
            ("port = \n", "test.toml"),
        ] {
            let e = run_args_with_file(SINGLE, file).unwrap_err().to_string();
            assert!(e.contains(needle), "{file}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        // A secret in the file is not repeated either.
        let e = run_args_with_file(SINGLE, "token_encryption_key = \"not-a-key-secret\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`token_encryption_key`") && !e.contains("not-a-key-secret"),
            "{e}"
        );
    }

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn multi(mode: Option<&str>, extra: &[&str]) -> Result<Config, String> {
        let mut flags = vec![
            "--nextcloud-host=https://cloud.example.com".to_string(),
            "--transport=streamable-http".into(),
            format!("--token-encryption-key={KEY}"),
            "--token-storage-db=/var/lib/nextcloud-mcp/tokens.db".into(),
        ];
        if let Some(mode) = mode {
            flags.push(format!("--deployment-mode={mode}"));
        }
        // An extra flag replaces the base flag of the same name.
        let name = |f: &str| f.split('=').next().unwrap_or_default().to_string();
        flags.retain(|f| !extra.iter().any(|e| name(e) == name(f)));
        flags.extend(extra.iter().map(|s| s.to_string()));
        resolve(&flags)
    }

    #[test]
    fn mode_is_detected_like_the_reference() {
        let c = single(&[]).unwrap();
        assert_eq!(c.auth.mode, DeploymentMode::SingleUserBasic);
        assert!(c.auth.keys.is_none());
        let c = multi(None, &[]).unwrap();
        assert_eq!(c.auth.mode, DeploymentMode::LoginFlow);
        assert_eq!(
            c.auth.oidc_discovery_url.as_str(),
            "https://cloud.example.com/.well-known/openid-configuration"
        );
        assert_eq!(c.auth.resource_url.as_str(), "http://127.0.0.1:8000/mcp");
        assert!(!format!("{c:?}").contains(KEY));
        // No OIDC_DISCOVERY_URL: the built-in authorization server.
        assert!(c.auth.builtin_authorization_server());
        let c = multi(
            None,
            &["--oidc-discovery-url=https://idp.example.com/.well-known/openid-configuration"],
        )
        .unwrap();
        assert!(!c.auth.builtin_authorization_server());
        let e = multi(
            None,
            &["--oidc-client-id=mcp", "--oidc-client-secret=secret"],
        )
        .unwrap_err();
        assert!(e.contains("OIDC_DISCOVERY_URL"), "{e}");
    }

    #[test]
    fn the_user_claim_belongs_to_an_external_issuer() {
        const EXTERNAL: &str =
            "--oidc-discovery-url=https://idp.example.com/.well-known/openid-configuration";
        // Defaults: the caller is `sub`, and the first login binds whichever account grants it.
        let c = multi(None, &[EXTERNAL]).unwrap();
        assert_eq!(c.auth.oidc_user_claim, "sub");
        assert!(!c.auth.oidc_require_user_match);
        assert!(!c.auth.caller_is_nextcloud_user());
        let c = multi(
            None,
            &[
                EXTERNAL,
                "--oidc-user-claim=preferred_username",
                "--oidc-require-user-match",
            ],
        )
        .unwrap();
        assert_eq!(c.auth.oidc_user_claim, "preferred_username");
        assert!(c.auth.caller_is_nextcloud_user());
        // From the file too.
        let args = run_args_with_file(
            &[
                "--nextcloud-host=https://cloud.example.com",
                "--transport=streamable-http",
                &format!("--token-encryption-key={KEY}"),
                "--token-storage-db=/var/lib/nextcloud-mcp/tokens.db",
                EXTERNAL,
            ],
            "oidc_user_claim = \"email\"\noidc_require_user_match = true\n",
        )
        .unwrap();
        let c = Config::resolve(args).unwrap();
        assert_eq!(c.auth.oidc_user_claim, "email");
        assert!(c.auth.oidc_require_user_match);
        // The built-in authorization server's callers are Nextcloud users by construction.
        let c = multi(None, &[]).unwrap();
        assert!(c.auth.caller_is_nextcloud_user());
        for flag in ["--oidc-user-claim=email", "--oidc-require-user-match"] {
            let e = multi(None, &[flag]).unwrap_err();
            assert!(e.contains("OIDC_DISCOVERY_URL"), "{e}");
        }
        let e = refused(&[EXTERNAL.to_string(), "--oidc-user-claim= ".into()]);
        assert!(e.contains("NEXTCLOUD_MCP_OIDC_USER_CLAIM"), "{e}");
    }

    #[test]
    fn each_mode_names_what_is_wrong() {
        let check = |r: Result<Config, String>, needle: &str| {
            let e = r.unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert_eq!(e.lines().count(), 1);
        };
        for mode in ["multi_user_basic", "login_flow"] {
            let flags = [
                "--nextcloud-host=https://cloud.example.com",
                "--transport=streamable-http",
                &format!("--deployment-mode={mode}"),
            ]
            .map(String::from);
            check(resolve(&flags), "TOKEN_ENCRYPTION_KEY is not set");
            check(
                multi(Some(mode), &["--token-encryption-key=short"]),
                "TOKEN_ENCRYPTION_KEY",
            );
            check(
                multi(Some(mode), &["--nextcloud-password=x"]),
                "NEXTCLOUD_PASSWORD must not be set",
            );
            check(multi(Some(mode), &["--transport=stdio"]), "streamable-http");
            check(
                multi(Some(mode), &["--auth-token=0123456789abcdef0123"]),
                "MCP_AUTH_TOKEN must not be set",
            );
            check(
                multi(Some(mode), &["--database-url=mysql://x"]),
                "DATABASE_URL",
            );
            check(
                multi(Some(mode), &["--token-encryption-old-keys=nope"]),
                "TOKEN_ENCRYPTION_OLD_KEYS",
            );
        }
        check(
            multi(
                Some("multi_user_basic"),
                &["--oidc-discovery-url=https://idp.example.com/.well-known/openid-configuration"],
            ),
            "OIDC_DISCOVERY_URL",
        );
        check(
            multi(Some("single_user_basic"), &["--nextcloud-username=alice"]),
            "NEXTCLOUD_PASSWORD is not set",
        );
        // Multi-user modes may listen anywhere: every request authenticates.
        let c = multi(
            Some("multi_user_basic"),
            &["--host=0.0.0.0", "--database-url=postgres://u@db/nc"],
        )
        .unwrap();
        assert!(matches!(c.auth.store, StoreLocation::Postgres(_)));
        let c = multi(None, &[&format!("--token-encryption-old-keys={KEY},{KEY}")]).unwrap();
        assert!(c.auth.keys.is_some());
    }

    #[test]
    fn default_store_is_persistent() {
        let flags = [
            "--nextcloud-host=https://cloud.example.com",
            "--transport=streamable-http",
            &format!("--token-encryption-key={KEY}"),
        ]
        .map(String::from);
        if let Ok(c) = resolve(&flags) {
            let StoreLocation::Sqlite(path) = c.auth.store else {
                panic!("sqlite expected")
            };
            assert!(
                !path.starts_with(std::env::temp_dir()),
                "{}",
                path.display()
            );
            assert!(path.ends_with("nextcloud-mcp/tokens.db"));
        }
    }
}
