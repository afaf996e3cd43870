//! Settings, merged from command-line flags, environment variables and an optional TOML file
//! (in that order of precedence), and checked once at start-up: a wrong or missing setting
//! stops the server with one line that names it.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::apps;
use crate::cli::{DeploymentMode, LogFormat, RunArgs, ToolMode, Transport};
use crate::db::crypto::{Key, KeyRing};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn err(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// The optional TOML file. Keys are the long flag names with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub transport: Option<Transport>,
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub nextcloud_host: Option<String>,
    pub nextcloud_username: Option<String>,
    pub nextcloud_password: Option<String>,
    pub verify_ssl: Option<bool>,
    pub ca_bundle: Option<PathBuf>,
    pub connect_timeout: Option<u64>,
    pub request_timeout: Option<u64>,
    pub timezone: Option<String>,
    #[serde(default)]
    pub enable_app: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub tools: Vec<String>,
    #[serde(default)]
    pub exclude_tools: Vec<String>,
    #[serde(default)]
    pub profile: Vec<crate::profiles::Profile>,
    pub tool_mode: Option<ToolMode>,
    pub auth_token: Option<String>,
    #[serde(default)]
    pub allow_unauthenticated_remote: bool,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    pub log_level: Option<String>,
    pub log_format: Option<LogFormat>,
    pub deployment_mode: Option<DeploymentMode>,
    pub token_storage_db: Option<PathBuf>,
    pub database_url: Option<String>,
    pub token_encryption_key: Option<String>,
    #[serde(default)]
    pub token_encryption_old_keys: Vec<String>,
    pub oidc_discovery_url: Option<String>,
    pub server_url: Option<String>,
    pub public_url: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    pub oidc_user_claim: Option<String>,
    #[serde(default)]
    pub oidc_require_user_match: bool,
    pub audit_retention_days: Option<u32>,
    pub webdav_read_max_mb: Option<f64>,
    pub webdav_write_max_mb: Option<f64>,
    pub webdav_document_max_mb: Option<f64>,
    pub webdav_chunk_threshold_mb: Option<f64>,
    pub webdav_chunk_size_mb: Option<f64>,
    #[serde(default)]
    pub excluded_tags: Vec<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read config file {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            let reason = e.message().to_string();
            err(format!("config file {}: {reason}", path.display()))
        })
    }
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

#[derive(Clone, Debug, Default)]
pub struct HttpSettings {
    pub auth_token: Option<Secret>,
    pub allow_unauthenticated_remote: bool,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
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
    pub log_level: String,
    pub log_format: LogFormat,
    pub auth: AuthSettings,
    /// Default zone of calendar tools (IANA name, checked): local times without a `timezone`
    /// argument are in it, and answers use it.
    pub timezone: String,
    pub files: FileSettings,
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

impl Default for FileSettings {
    fn default() -> Self {
        const MB: u64 = 1024 * 1024;
        Self {
            read_max_bytes: 5 * MB,
            write_max_bytes: 50 * MB,
            document_max_bytes: 50 * MB,
            chunk_threshold_bytes: 10 * MB,
            chunk_size_bytes: 10 * MB,
            excluded_tags: Vec::new(),
        }
    }
}

/// Megabytes (fractions allowed) to bytes; zero, negative or absurd values are refused.
fn megabytes(value: Option<f64>, default: u64, name: &str) -> Result<u64, ConfigError> {
    let Some(mb) = value else {
        return Ok(default);
    };
    if !mb.is_finite() || mb <= 0.0 || mb > 1024.0 * 1024.0 {
        return Err(err(format!(
            "{name} must be a positive number of megabytes (e.g. 10 or 0.5), got {mb}"
        )));
    }
    Ok(((mb * 1024.0 * 1024.0) as u64).max(1))
}

impl Config {
    /// Merges flags/environment (`args`) over the file, applies defaults and validates.
    pub fn resolve(args: RunArgs, file: FileConfig) -> Result<Self, ConfigError> {
        let transport = args
            .transport
            .or(file.transport)
            .unwrap_or(Transport::Stdio);
        let host = args
            .host
            .or(file.host)
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let port = args.port.or(file.port).unwrap_or(8000);

        let base_url = parse_base_url(args.nextcloud_host.or(file.nextcloud_host))?;
        let username = args
            .nextcloud_username
            .or(file.nextcloud_username)
            .filter(|v| !v.trim().is_empty());
        let password = args
            .nextcloud_password
            .or(file.nextcloud_password)
            .filter(|v| !v.trim().is_empty());
        // As the reference: configured credentials mean one user; otherwise Login Flow.
        let mode = args.deployment_mode.or(file.deployment_mode).unwrap_or(
            if username.is_some() || password.is_some() {
                DeploymentMode::SingleUserBasic
            } else {
                DeploymentMode::LoginFlow
            },
        );
        let (username, password) = if mode == DeploymentMode::SingleUserBasic {
            (
                Some(required(
                    username,
                    "NEXTCLOUD_USERNAME is not set: set it to your Nextcloud login name (or pass --nextcloud-username), or choose MCP_DEPLOYMENT_MODE=login_flow / multi_user_basic",
                )?),
                Some(Secret::new(required(
                    password,
                    "NEXTCLOUD_PASSWORD is not set: create an app password in Nextcloud (Settings → Security → Devices & sessions) and set it",
                )?)),
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
            verify_ssl: args.verify_ssl.or(file.verify_ssl).unwrap_or(true),
            ca_bundle: args.ca_bundle.or(file.ca_bundle),
            connect_timeout: seconds(
                args.connect_timeout.or(file.connect_timeout).unwrap_or(10),
                "NEXTCLOUD_CONNECT_TIMEOUT",
            )?,
            request_timeout: seconds(
                args.request_timeout.or(file.request_timeout).unwrap_or(60),
                "NEXTCLOUD_TIMEOUT",
            )?,
        };
        if let Some(path) = &nextcloud.ca_bundle
            && !path.is_file()
        {
            return Err(err(format!(
                "NEXTCLOUD_CA_BUNDLE: {} does not exist or is not a file",
                path.display()
            )));
        }

        let selection = ToolSelection {
            enabled_apps: app_set(merge(args.enable_app, file.enable_app))?,
            read_only: args.read_only || file.read_only,
            only: non_empty(merge(args.tools, file.tools)),
            exclude: merge(args.exclude_tools, file.exclude_tools),
        };
        let profiles = if args.profile.is_empty() {
            file.profile
        } else {
            args.profile
        };
        let selection = crate::profiles::apply(&profiles, selection);
        let tool_mode = args.tool_mode.or(file.tool_mode).unwrap_or_default();

        let http = HttpSettings {
            auth_token: args
                .auth_token
                .or(file.auth_token)
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            allow_unauthenticated_remote: args.allow_unauthenticated_remote
                || file.allow_unauthenticated_remote,
            allowed_hosts: merge(args.allowed_hosts, file.allowed_hosts)
                .into_iter()
                .collect(),
            allowed_origins: merge(args.allowed_origins, file.allowed_origins)
                .into_iter()
                .collect(),
        };
        if let Some(token) = &http.auth_token
            && token.expose().len() < 16
        {
            return Err(err(
                "MCP_AUTH_TOKEN is too short: use at least 16 random characters (e.g. `openssl rand -hex 32`)",
            ));
        }
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
            storage_db: args.token_storage_db.or(file.token_storage_db),
            database_url: args.database_url.or(file.database_url),
            key: args.token_encryption_key.or(file.token_encryption_key),
            old_keys: if args.token_encryption_old_keys.is_empty() {
                file.token_encryption_old_keys
            } else {
                args.token_encryption_old_keys
            },
            oidc_discovery_url: args.oidc_discovery_url.or(file.oidc_discovery_url),
            server_url: args.server_url.or(file.server_url),
            public_url: args.public_url.or(file.public_url),
            oidc_client_id: args.oidc_client_id.or(file.oidc_client_id),
            oidc_client_secret: args.oidc_client_secret.or(file.oidc_client_secret),
            oidc_user_claim: args.oidc_user_claim.or(file.oidc_user_claim),
            oidc_require_user_match: args.oidc_require_user_match || file.oidc_require_user_match,
            audit_retention_days: args
                .audit_retention_days
                .or(file.audit_retention_days)
                .unwrap_or(90),
        })?;

        let log_level = args
            .log_level
            .or(file.log_level)
            .unwrap_or_else(|| "info".into());
        if !["error", "warn", "warning", "info", "debug", "trace"]
            .contains(&log_level.to_ascii_lowercase().as_str())
        {
            return Err(err(format!(
                "LOG_LEVEL `{log_level}` is not one of error, warn, info, debug, trace"
            )));
        }

        let defaults = FileSettings::default();
        let files = FileSettings {
            read_max_bytes: megabytes(
                args.webdav_read_max_mb.or(file.webdav_read_max_mb),
                defaults.read_max_bytes,
                "WEBDAV_READ_MAX_MB",
            )?,
            write_max_bytes: megabytes(
                args.webdav_write_max_mb.or(file.webdav_write_max_mb),
                defaults.write_max_bytes,
                "WEBDAV_WRITE_MAX_MB",
            )?,
            document_max_bytes: megabytes(
                args.webdav_document_max_mb.or(file.webdav_document_max_mb),
                defaults.document_max_bytes,
                "WEBDAV_DOCUMENT_MAX_MB",
            )?,
            chunk_threshold_bytes: megabytes(
                args.webdav_chunk_threshold_mb
                    .or(file.webdav_chunk_threshold_mb),
                defaults.chunk_threshold_bytes,
                "WEBDAV_CHUNK_THRESHOLD_MB",
            )?,
            chunk_size_bytes: megabytes(
                args.webdav_chunk_size_mb.or(file.webdav_chunk_size_mb),
                defaults.chunk_size_bytes,
                "WEBDAV_CHUNK_SIZE_MB",
            )?,
            excluded_tags: crate::tools::files::guard::parse_names(
                &if args.excluded_tags.is_empty() {
                    file.excluded_tags
                } else {
                    args.excluded_tags
                }
                .join(","),
            ),
        };

        Ok(Self {
            transport,
            host,
            port,
            nextcloud,
            selection,
            tool_mode,
            http,
            log_level,
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            auth,
            timezone: time_zone(args.timezone.or(file.timezone))?,
            files,
        })
    }
}

/// The default zone: an IANA name (`UTC` when unset); a misspelt one stops the server rather
/// than silently putting events at the wrong time.
fn time_zone(raw: Option<String>) -> Result<String, ConfigError> {
    let name = raw.unwrap_or_default().trim().to_string();
    if name.is_empty() {
        return Ok("UTC".into());
    }
    name.parse::<nextcloud::calendar::Tz>()
        .map(|_| name.clone())
        .map_err(|_| {
            err(format!(
                "NEXTCLOUD_MCP_TIMEZONE `{name}` is not an IANA time zone name; expected e.g. Europe/Berlin, America/New_York or UTC"
            ))
        })
}

struct AuthInputs<'a> {
    mode: DeploymentMode,
    transport: Transport,
    host: IpAddr,
    port: u16,
    nextcloud_base: &'a url::Url,
    auth_token_set: bool,
    storage_db: Option<PathBuf>,
    database_url: Option<String>,
    key: Option<String>,
    old_keys: Vec<String>,
    oidc_discovery_url: Option<String>,
    server_url: Option<String>,
    public_url: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_user_claim: Option<String>,
    oidc_require_user_match: bool,
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
    let keys = match i.key.filter(|k| !k.trim().is_empty()) {
        Some(text) => {
            let current =
                Key::parse(&text).map_err(|e| err(format!("TOKEN_ENCRYPTION_KEY {e}")))?;
            let old = i
                .old_keys
                .iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| {
                    Key::parse(k).map_err(|e| err(format!("TOKEN_ENCRYPTION_OLD_KEYS: a key {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(KeyRing::new(current, old))
        }
        None if multi => {
            return Err(err(format!(
                "TOKEN_ENCRYPTION_KEY is not set: MCP_DEPLOYMENT_MODE={name} stores users' app passwords encrypted; generate a key with `openssl rand -base64 32`"
            )));
        }
        None => None,
    };
    let store = match i.database_url.filter(|u| !u.trim().is_empty()) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            StoreLocation::Postgres(Secret::new(url))
        }
        Some(_) => {
            return Err(err(
                "DATABASE_URL must be a postgres:// or postgresql:// URL (for SQLite use TOKEN_STORAGE_DB)",
            ));
        }
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
    let oidc_user_claim = match i.oidc_user_claim.map(|c| c.trim().to_string()) {
        None => "sub".to_string(),
        Some(c) if c.is_empty() => {
            return Err(err(
                "NEXTCLOUD_MCP_OIDC_USER_CLAIM is empty: name a token claim such as sub or preferred_username",
            ));
        }
        Some(c) => c,
    };
    let oidc_discovery_url = match i.oidc_discovery_url {
        Some(raw) => parse_url(&raw, "OIDC_DISCOVERY_URL")?,
        None => url::Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            i.nextcloud_base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| err(format!("OIDC_DISCOVERY_URL: {e}")))?,
    };
    let resource_url = match i.server_url {
        Some(raw) => parse_url(&raw, "NEXTCLOUD_MCP_SERVER_URL")?,
        None => {
            let host = match i.host {
                IpAddr::V6(a) => format!("[{a}]"),
                IpAddr::V4(a) => a.to_string(),
            };
            url::Url::parse(&format!("http://{host}:{}/mcp", i.port))
                .map_err(|e| err(format!("NEXTCLOUD_MCP_SERVER_URL: {e}")))?
        }
    };
    let public_url = i
        .public_url
        .filter(|u| !u.trim().is_empty())
        .map(|raw| parse_url(&raw, "NEXTCLOUD_PUBLIC_URL"))
        .transpose()?;
    if i.audit_retention_days == 0 {
        return Err(err("AUDIT_LOG_RETENTION_DAYS must be at least 1"));
    }
    Ok(AuthSettings {
        mode,
        store,
        keys,
        oidc_discovery_url,
        external_issuer,
        resource_url,
        public_url,
        oidc_client: match (i.oidc_client_id, i.oidc_client_secret) {
            (Some(id), Some(secret)) => Some((id, Secret::new(secret))),
            (None, None) => None,
            _ => {
                return Err(err(
                    "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together (they authenticate token introspection)",
                ));
            }
        },
        oidc_user_claim,
        oidc_require_user_match: i.oidc_require_user_match,
        audit_retention: Duration::from_secs(u64::from(i.audit_retention_days) * 86_400),
    })
}

fn parse_url(raw: &str, name: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| err(format!("{name} `{raw}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(format!("{name} `{raw}` must start with https://")));
    }
    Ok(url)
}

/// `<data dir>/nextcloud-mcp/tokens.db`: persistent, unlike a temporary file, so users stay
/// provisioned across restarts.
fn default_store_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("nextcloud-mcp").join("tokens.db"))
}

fn required(value: Option<String>, message: &str) -> Result<String, ConfigError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| err(message))
}

fn parse_base_url(value: Option<String>) -> Result<url::Url, ConfigError> {
    let raw = required(
        value,
        "NEXTCLOUD_HOST is not set: set it to your Nextcloud URL, e.g. https://cloud.example.com (or pass --nextcloud-host)",
    )?;
    let url = url::Url::parse(raw.trim()).map_err(|e| {
        err(format!(
            "NEXTCLOUD_HOST `{raw}` is not a URL ({e}); expected e.g. https://cloud.example.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(format!(
            "NEXTCLOUD_HOST `{raw}` must start with https:// (or http:// for a local test instance)"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(
            "NEXTCLOUD_HOST must not contain credentials; use NEXTCLOUD_USERNAME and NEXTCLOUD_PASSWORD",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(format!(
            "NEXTCLOUD_HOST `{raw}` must be a plain base URL without ? or #"
        )));
    }
    Ok(url)
}

fn seconds(value: u64, name: &str) -> Result<Duration, ConfigError> {
    if value == 0 {
        return Err(err(format!("{name} must be at least 1 second")));
    }
    Ok(Duration::from_secs(value))
}

fn merge(cli: Vec<String>, file: Vec<String>) -> BTreeSet<String> {
    let chosen = if cli.is_empty() { file } else { cli };
    chosen
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn non_empty(set: BTreeSet<String>) -> Option<BTreeSet<String>> {
    (!set.is_empty()).then_some(set)
}

fn app_set(set: BTreeSet<String>) -> Result<Option<BTreeSet<String>>, ConfigError> {
    for app in &set {
        if apps::app_by_id(app).is_none() {
            let valid: Vec<_> = apps::APPS.iter().map(|a| a.id).collect();
            return Err(err(format!(
                "--enable-app `{app}` is not an app this server knows; valid: {}",
                valid.join(", ")
            )));
        }
    }
    Ok(non_empty(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            nextcloud_host: Some("https://cloud.example.com".into()),
            nextcloud_username: Some("alice".into()),
            nextcloud_password: Some("app-password".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_safe() {
        let c = Config::resolve(args(), FileConfig::default()).unwrap();
        assert_eq!(c.transport, Transport::Stdio);
        assert!(c.host.is_loopback());
        assert_eq!(c.port, 8000);
        assert!(c.nextcloud.verify_ssl);
        assert!(!format!("{c:?}").contains("app-password"));
    }

    #[test]
    fn time_zone_defaults_to_utc_and_is_checked() {
        let c = Config::resolve(args(), FileConfig::default()).unwrap();
        assert_eq!(c.timezone, "UTC");
        let mut a = args();
        a.timezone = Some("Europe/Berlin".into());
        assert_eq!(
            Config::resolve(a, FileConfig::default()).unwrap().timezone,
            "Europe/Berlin"
        );
        let file = FileConfig {
            timezone: Some("America/New_York".into()),
            ..Default::default()
        };
        assert_eq!(
            Config::resolve(args(), file).unwrap().timezone,
            "America/New_York"
        );
        let mut a = args();
        a.timezone = Some("Mars/Olympus".into());
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("NEXTCLOUD_MCP_TIMEZONE"), "{e}");
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn file_limits_come_from_flags_or_file_in_megabytes() {
        let c = Config::resolve(args(), FileConfig::default()).unwrap();
        assert_eq!(c.files, FileSettings::default());
        assert_eq!(c.files.write_max_bytes, 50 * 1024 * 1024);
        let mut a = args();
        a.webdav_read_max_mb = Some(0.5);
        let file: FileConfig = toml::from_str(
            "webdav_read_max_mb = 9\nwebdav_write_max_mb = 2\nwebdav_chunk_threshold_mb = 1\nwebdav_chunk_size_mb = 0.25\n",
        )
        .unwrap();
        let c = Config::resolve(a, file).unwrap();
        assert_eq!(
            c.files.read_max_bytes,
            512 * 1024,
            "the flag wins over the file"
        );
        assert_eq!(c.files.write_max_bytes, 2 * 1024 * 1024);
        assert_eq!(c.files.chunk_threshold_bytes, 1024 * 1024);
        assert_eq!(c.files.chunk_size_bytes, 256 * 1024);
        let mut a = args();
        a.webdav_write_max_mb = Some(0.0);
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("WEBDAV_WRITE_MAX_MB"), "{e}");
    }

    #[test]
    fn excluded_tags_come_from_the_flag_or_the_file() {
        let file = || -> FileConfig {
            toml::from_str("excluded_tags = [\"private\", \" no-ai \"]\n").unwrap()
        };
        let c = Config::resolve(args(), file()).unwrap();
        assert_eq!(c.files.excluded_tags, ["private", "no-ai"]);
        let mut a = args();
        a.excluded_tags = vec!["confidential".into(), "".into(), "confidential".into()];
        let c = Config::resolve(a, file()).unwrap();
        assert_eq!(c.files.excluded_tags, ["confidential"], "the flag wins");
        let c = Config::resolve(args(), FileConfig::default()).unwrap();
        assert!(c.files.excluded_tags.is_empty());
    }

    #[test]
    fn missing_settings_are_named() {
        let mut a = args();
        a.nextcloud_host = None;
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("NEXTCLOUD_HOST"), "{e}");
        let mut a = args();
        a.nextcloud_password = None;
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("NEXTCLOUD_PASSWORD"), "{e}");
        let mut a = args();
        a.nextcloud_host = Some("cloud.example.com".into());
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("NEXTCLOUD_HOST"), "{e}");
    }

    #[test]
    fn remote_http_without_token_is_refused() {
        let mut a = args();
        a.transport = Some(Transport::StreamableHttp);
        a.host = Some("0.0.0.0".parse().unwrap());
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("MCP_AUTH_TOKEN"), "{e}");

        let mut a = args();
        a.transport = Some(Transport::StreamableHttp);
        a.host = Some("0.0.0.0".parse().unwrap());
        a.auth_token = Some("0123456789abcdef0123".into());
        assert!(Config::resolve(a, FileConfig::default()).is_ok());
    }

    #[test]
    fn tool_mode_and_profiles_come_from_flags_or_file() {
        let c = Config::resolve(args(), FileConfig::default()).unwrap();
        assert_eq!(c.tool_mode, ToolMode::All);
        assert!(c.selection.enabled_apps.is_none() && !c.selection.read_only);
        let file = || -> FileConfig {
            toml::from_str("tool_mode = \"discover\"\nprofile = [\"team\", \"read-only\"]\n")
                .unwrap()
        };
        let c = Config::resolve(args(), file()).unwrap();
        assert_eq!(c.tool_mode, ToolMode::Discover);
        let apps = c.selection.enabled_apps.unwrap();
        assert!(apps.contains("deck") && !apps.contains("notes"));
        assert!(c.selection.read_only);
        let mut a = args();
        a.tool_mode = Some(ToolMode::All);
        a.profile = vec![crate::profiles::Profile::Personal];
        let c = Config::resolve(a, file()).unwrap();
        assert_eq!(c.tool_mode, ToolMode::All, "the flag wins");
        let apps = c.selection.enabled_apps.unwrap();
        assert!(apps.contains("notes") && !apps.contains("deck"));
        assert!(!c.selection.read_only);
        assert!(toml::from_str::<FileConfig>("profile = [\"everything\"]").is_err());
    }

    #[test]
    fn unknown_app_is_rejected_with_the_valid_list() {
        let mut a = args();
        a.enable_app = vec!["notez".into()];
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("notez") && e.to_string().contains("notes"));
    }

    #[test]
    fn flags_win_over_file() {
        let file: FileConfig = toml::from_str(
            "port = 9000\nnextcloud_host = \"https://file.example.com\"\nread_only = true\n",
        )
        .unwrap();
        let mut a = args();
        a.port = Some(9100);
        let c = Config::resolve(a, file).unwrap();
        assert_eq!(c.port, 9100);
        assert_eq!(c.nextcloud.base_url.as_str(), "https://cloud.example.com/");
        assert!(c.selection.read_only);
    }

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn multi(mode: Option<DeploymentMode>) -> RunArgs {
        RunArgs {
            nextcloud_host: Some("https://cloud.example.com".into()),
            transport: Some(Transport::StreamableHttp),
            deployment_mode: mode,
            token_encryption_key: Some(KEY.into()),
            token_storage_db: Some("/var/lib/nextcloud-mcp/tokens.db".into()),
            ..Default::default()
        }
    }

    #[test]
    fn mode_is_detected_like_the_reference() {
        let c = Config::resolve(args(), FileConfig::default()).unwrap();
        assert_eq!(c.auth.mode, DeploymentMode::SingleUserBasic);
        assert!(c.auth.keys.is_none());
        let c = Config::resolve(multi(None), FileConfig::default()).unwrap();
        assert_eq!(c.auth.mode, DeploymentMode::LoginFlow);
        assert_eq!(
            c.auth.oidc_discovery_url.as_str(),
            "https://cloud.example.com/.well-known/openid-configuration"
        );
        assert_eq!(c.auth.resource_url.as_str(), "http://127.0.0.1:8000/mcp");
        assert!(!format!("{c:?}").contains(KEY));
        // No OIDC_DISCOVERY_URL: the built-in authorization server.
        assert!(c.auth.builtin_authorization_server());
        let mut a = multi(None);
        a.oidc_discovery_url =
            Some("https://idp.example.com/.well-known/openid-configuration".into());
        let c = Config::resolve(a, FileConfig::default()).unwrap();
        assert!(!c.auth.builtin_authorization_server());
        let mut a = multi(None);
        a.oidc_client_id = Some("mcp".into());
        a.oidc_client_secret = Some("secret".into());
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("OIDC_DISCOVERY_URL"), "{e}");
    }

    #[test]
    fn the_user_claim_belongs_to_an_external_issuer() {
        let external = || {
            let mut a = multi(None);
            a.oidc_discovery_url =
                Some("https://idp.example.com/.well-known/openid-configuration".into());
            a
        };
        // Defaults: the caller is `sub`, and the first login binds whichever account grants it.
        let c = Config::resolve(external(), FileConfig::default()).unwrap();
        assert_eq!(c.auth.oidc_user_claim, "sub");
        assert!(!c.auth.oidc_require_user_match);
        assert!(!c.auth.caller_is_nextcloud_user());
        let mut a = external();
        a.oidc_user_claim = Some("preferred_username".into());
        a.oidc_require_user_match = true;
        let c = Config::resolve(a, FileConfig::default()).unwrap();
        assert_eq!(c.auth.oidc_user_claim, "preferred_username");
        assert!(c.auth.caller_is_nextcloud_user());
        // From the file too.
        let file: FileConfig =
            toml::from_str("oidc_user_claim = \"email\"\noidc_require_user_match = true\n")
                .unwrap();
        let c = Config::resolve(external(), file).unwrap();
        assert_eq!(c.auth.oidc_user_claim, "email");
        assert!(c.auth.oidc_require_user_match);
        // The built-in authorization server's callers are Nextcloud users by construction.
        let c = Config::resolve(multi(None), FileConfig::default()).unwrap();
        assert!(c.auth.caller_is_nextcloud_user());
        for (claim, require) in [(Some("email"), false), (None, true)] {
            let mut a = multi(None);
            a.oidc_user_claim = claim.map(str::to_string);
            a.oidc_require_user_match = require;
            let e = Config::resolve(a, FileConfig::default()).unwrap_err();
            assert!(e.to_string().contains("OIDC_DISCOVERY_URL"), "{e}");
        }
        let mut a = external();
        a.oidc_user_claim = Some(" ".into());
        let e = Config::resolve(a, FileConfig::default()).unwrap_err();
        assert!(
            e.to_string().contains("NEXTCLOUD_MCP_OIDC_USER_CLAIM"),
            "{e}"
        );
    }

    #[test]
    fn each_mode_names_what_is_wrong() {
        let check = |a: RunArgs, needle: &str| {
            let e = Config::resolve(a, FileConfig::default()).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
            assert_eq!(e.to_string().lines().count(), 1);
        };
        for mode in [DeploymentMode::MultiUserBasic, DeploymentMode::LoginFlow] {
            let mut a = multi(Some(mode));
            a.token_encryption_key = None;
            check(a, "TOKEN_ENCRYPTION_KEY is not set");
            let mut a = multi(Some(mode));
            a.token_encryption_key = Some("short".into());
            check(a, "TOKEN_ENCRYPTION_KEY");
            let mut a = multi(Some(mode));
            a.nextcloud_password = Some("x".into());
            check(a, "NEXTCLOUD_PASSWORD must not be set");
            let mut a = multi(Some(mode));
            a.transport = Some(Transport::Stdio);
            check(a, "streamable-http");
            let mut a = multi(Some(mode));
            a.auth_token = Some("0123456789abcdef0123".into());
            check(a, "MCP_AUTH_TOKEN must not be set");
            let mut a = multi(Some(mode));
            a.database_url = Some("mysql://x".into());
            check(a, "DATABASE_URL");
        }
        let mut a = multi(Some(DeploymentMode::MultiUserBasic));
        a.oidc_discovery_url =
            Some("https://idp.example.com/.well-known/openid-configuration".into());
        check(a, "OIDC_DISCOVERY_URL");
        let mut a = multi(Some(DeploymentMode::SingleUserBasic));
        a.nextcloud_username = Some("alice".into());
        check(a, "NEXTCLOUD_PASSWORD is not set");
        // Multi-user modes may listen anywhere: every request authenticates.
        let mut a = multi(Some(DeploymentMode::MultiUserBasic));
        a.host = Some("0.0.0.0".parse().unwrap());
        a.database_url = Some("postgres://u@db/nc".into());
        let c = Config::resolve(a, FileConfig::default()).unwrap();
        assert!(matches!(c.auth.store, StoreLocation::Postgres(_)));
    }

    #[test]
    fn default_store_is_persistent() {
        let mut a = multi(None);
        a.token_storage_db = None;
        if let Ok(c) = Config::resolve(a, FileConfig::default()) {
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

    #[test]
    fn file_typos_are_reported() {
        let e = toml::from_str::<FileConfig>("prot = 1").unwrap_err();
        assert!(e.to_string().contains("prot"));
    }
}
