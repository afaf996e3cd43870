//! Command line, and the one declaration of every setting.
//!
//! Each field of [`RunArgs`] is a setting: its flag (`--name`), its environment variable
//! (`env = "…"`, the Python reference's names where it has one), its key in the optional
//! TOML file (the field's name), its default (`default_value…`, or a `[default: …]` note at
//! the end of the doc comment when it is worked out from other settings), its validation (the
//! `value_parser`) and its help (the doc comment). [`crate::settings`] loads the file and the
//! environment through this declaration and renders README's table from it;
//! [`crate::config::Config::resolve`] then applies the rules that involve several settings.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::config::{Secret, TimeZone};
use crate::db::crypto::Key;

pub use crate::profiles::Profile;

#[derive(Debug, Parser)]
#[command(
    name = "nextcloud-mcp",
    version,
    about = "Model Context Protocol server for Nextcloud"
)]
pub struct Cli {
    /// TOML file with settings (keys are the settings' names below); command-line flags and
    /// environment variables win over it
    #[arg(long, global = true, env = "NEXTCLOUD_MCP_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (one desktop client) or streamable HTTP.
    Run(Box<RunArgs>),
    /// Start a built-in Nextcloud emulator with sample data plus the server, to try every
    /// tool without a Nextcloud.
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
    Demo(DemoArgs),
    /// Re-encrypt every stored secret under the current TOKEN_ENCRYPTION_KEY, so keys listed
    /// in TOKEN_ENCRYPTION_OLD_KEYS can be retired afterwards.
    RotateKeys(Box<RunArgs>),
}

/// Who the server acts as. Unset: `single_user_basic` when a Nextcloud user name or password
/// is configured, else `login_flow` (as the Python reference decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeploymentMode {
    /// One configured Nextcloud account serves every client.
    #[value(name = "single_user_basic")]
    SingleUserBasic,
    /// Each HTTP request carries `Authorization: Basic user:app-password`.
    #[value(name = "multi_user_basic")]
    MultiUserBasic,
    /// OAuth bearer tokens identify users; each provisions an app password by Login Flow v2.
    #[value(name = "login_flow")]
    LoginFlow,
}

impl DeploymentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleUserBasic => "single_user_basic",
            Self::MultiUserBasic => "multi_user_basic",
            Self::LoginFlow => "login_flow",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Stdio,
    #[value(name = "streamable-http", alias = "http")]
    StreamableHttp,
}

/// What `tools/list` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ToolMode {
    /// Every tool the configuration selects.
    #[default]
    All,
    /// Only three small tools that find, describe and call the others, for clients that
    /// cap the number of tools or whose context is small.
    Discover,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings of `run` and `rotate-keys`. Adding a setting is adding a field here (and
/// using it in [`crate::config::Config::resolve`]); `cargo test --test readme_settings` with
/// `UPDATE_README=1` then writes its README row.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// MCP transport
    #[arg(
        short,
        long,
        value_enum,
        env = "MCP_TRANSPORT",
        default_value = "stdio"
    )]
    pub transport: Transport,
    /// Address to listen on with streamable HTTP; the endpoint is `/mcp`
    #[arg(long, env = "MCP_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on with streamable HTTP
    #[arg(short, long, env = "MCP_PORT", default_value_t = 8000)]
    pub port: u16,

    /// Nextcloud base URL, e.g. https://cloud.example.com
    #[arg(long, env = "NEXTCLOUD_HOST", value_parser = base_url)]
    pub nextcloud_host: Option<url::Url>,
    /// Nextcloud login name (one-user mode)
    #[arg(long, env = "NEXTCLOUD_USERNAME")]
    pub nextcloud_username: Option<String>,
    /// Nextcloud app password (Settings → Security → Devices & sessions; one-user mode)
    #[arg(long, env = "NEXTCLOUD_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub nextcloud_password: Option<Secret>,
    /// Verify the Nextcloud TLS certificate
    #[arg(long, env = "NEXTCLOUD_VERIFY_SSL", action = ArgAction::Set, default_value_t = true)]
    pub verify_ssl: bool,
    /// PEM bundle of extra trusted certificate authorities
    #[arg(long, env = "NEXTCLOUD_CA_BUNDLE", value_parser = existing_file)]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds to wait for a connection to Nextcloud
    #[arg(long, env = "NEXTCLOUD_CONNECT_TIMEOUT", default_value = "10", value_parser = seconds)]
    pub connect_timeout: Duration,
    /// Seconds to wait for a whole Nextcloud request
    #[arg(long, env = "NEXTCLOUD_TIMEOUT", default_value = "60", value_parser = seconds)]
    pub request_timeout: Duration,
    /// The user's time zone (IANA name such as Europe/Berlin): calendar and task times given
    /// without a zone are in it, and answers use it; a tool's `timezone` argument overrides it
    /// per call
    #[arg(long, env = "NEXTCLOUD_MCP_TIMEZONE", default_value = "UTC", value_parser = time_zone)]
    pub timezone: TimeZone,

    /// Only expose these apps' tools (repeatable or comma-separated): notes, webdav, sharing,
    /// calendar, contacts, deck, tables, cookbook, ... [default: all apps]
    #[arg(short = 'e', long = "enable-app", value_delimiter = ',', value_parser = app_id)]
    pub enable_app: Vec<String>,
    /// Hide and refuse every tool that changes something
    #[arg(long, env = "NEXTCLOUD_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Only expose these tools (comma-separated names) [default: all tools]
    #[arg(long, value_delimiter = ',', env = "NEXTCLOUD_MCP_TOOLS")]
    pub tools: Vec<String>,
    /// Never expose these tools (comma-separated names)
    #[arg(long, value_delimiter = ',', env = "NEXTCLOUD_MCP_EXCLUDE_TOOLS")]
    pub exclude_tools: Vec<String>,
    #[command(flatten)]
    pub presets: PresetArgs,

    /// Bearer token required on /mcp with streamable HTTP (at least 16 characters)
    #[arg(long, env = "MCP_AUTH_TOKEN", hide_env_values = true, value_parser = auth_token)]
    pub auth_token: Option<Secret>,
    /// Allow listening on a non-loopback address without a bearer token (dangerous: anyone
    /// who can reach the port acts as the configured Nextcloud user)
    #[arg(long, env = "MCP_ALLOW_UNAUTHENTICATED_REMOTE")]
    pub allow_unauthenticated_remote: bool,
    /// Extra Host header values accepted with streamable HTTP (DNS-rebinding protection)
    /// [default: loopback names]
    #[arg(
        long = "allowed-host",
        value_delimiter = ',',
        env = "MCP_ALLOWED_HOSTS"
    )]
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call /mcp (none by default)
    #[arg(
        long = "allowed-origin",
        value_delimiter = ',',
        env = "MCP_ALLOWED_ORIGINS"
    )]
    pub allowed_origins: Vec<String>,

    /// Deployment mode (docs/authentication.md) [default: `single_user_basic` when
    /// a Nextcloud user name or password is set, else `login_flow`]
    #[arg(long, value_enum, env = "MCP_DEPLOYMENT_MODE")]
    pub deployment_mode: Option<DeploymentMode>,
    /// SQLite file of the multi-user credential store
    /// [default: `<data dir>/nextcloud-mcp/tokens.db`]
    #[arg(long, env = "TOKEN_STORAGE_DB")]
    pub token_storage_db: Option<PathBuf>,
    /// PostgreSQL URL of the credential store (for several replicas); wins over TOKEN_STORAGE_DB
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = postgres_url)]
    pub database_url: Option<Secret>,
    /// Key that seals stored app passwords: 32 bytes as base64 or 64 hex digits (required in
    /// the multi-user modes; `openssl rand -base64 32`)
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY", hide_env_values = true, value_parser = key)]
    pub token_encryption_key: Option<Key>,
    /// Retired keys, still accepted for reading (comma-separated); `nextcloud-mcp rotate-keys`
    /// re-seals under the current key
    #[arg(
        long,
        value_delimiter = ',',
        env = "TOKEN_ENCRYPTION_OLD_KEYS",
        hide_env_values = true,
        value_parser = old_key
    )]
    pub token_encryption_old_keys: Vec<Key>,
    /// OpenID Connect discovery document of an external token issuer whose tokens `login_flow`
    /// accepts; unset, the server is its own authorization server and people sign in by
    /// Nextcloud Login Flow v2
    #[arg(long, env = "OIDC_DISCOVERY_URL", value_parser = http_url)]
    pub oidc_discovery_url: Option<url::Url>,
    /// OAuth client id for introspecting the external issuer's opaque tokens
    #[arg(long, env = "OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// OAuth client secret for introspecting the external issuer's opaque tokens
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub oidc_client_secret: Option<Secret>,
    /// Claim of the external issuer's tokens that names the caller's Nextcloud user id (needs
    /// OIDC_DISCOVERY_URL) [default: `sub`]
    #[arg(long, env = "NEXTCLOUD_MCP_OIDC_USER_CLAIM", value_parser = claim)]
    pub oidc_user_claim: Option<String>,
    /// With an external issuer: the first Nextcloud login that provisions a caller must be by
    /// the user the token's claim names (later ones always must match the first; see
    /// docs/authentication.md)
    #[arg(long, env = "NEXTCLOUD_MCP_OIDC_REQUIRE_USER_MATCH")]
    pub oidc_require_user_match: bool,
    /// Public URL of this server's MCP endpoint: the audience tokens must name, and the
    /// resource of its metadata [default: `http://<host>:<port>/mcp`]
    #[arg(long, env = "NEXTCLOUD_MCP_SERVER_URL", value_parser = http_url)]
    pub server_url: Option<url::Url>,
    /// Nextcloud URL as browsers reach it, when it differs from NEXTCLOUD_HOST (login links)
    #[arg(long, env = "NEXTCLOUD_PUBLIC_URL", value_parser = http_url)]
    pub public_url: Option<url::Url>,
    /// Shared secret Nextcloud sends as `Authorization: Bearer <secret>` on `POST
    /// /webhooks/nextcloud` (at least 16 characters); unset, the webhook receiver is off
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true, value_parser = auth_token)]
    pub webhook_secret: Option<Secret>,
    /// Days to keep audit-log entries
    #[arg(long, env = "AUDIT_LOG_RETENTION_DAYS", default_value_t = 90, value_parser = days)]
    pub audit_retention_days: u32,

    /// Most megabytes of file content (text, extracted text or base64) one read returns
    #[arg(long, env = "WEBDAV_READ_MAX_MB", default_value_t = 5.0, value_parser = megabytes)]
    pub webdav_read_max_mb: f64,
    /// Largest file in megabytes one write may upload
    #[arg(long, env = "WEBDAV_WRITE_MAX_MB", default_value_t = 50.0, value_parser = megabytes)]
    pub webdav_write_max_mb: f64,
    /// Largest document in megabytes (PDF, DOCX, ODT, XLSX, ODS) fetched to extract its text
    #[arg(long, env = "WEBDAV_DOCUMENT_MAX_MB", default_value_t = 50.0, value_parser = megabytes)]
    pub webdav_document_max_mb: f64,
    /// Writes above this many megabytes use Nextcloud's chunked upload (with progress
    /// notifications)
    #[arg(long, env = "WEBDAV_CHUNK_THRESHOLD_MB", default_value_t = 10.0, value_parser = megabytes)]
    pub webdav_chunk_threshold_mb: f64,
    /// Chunk size in megabytes of chunked uploads
    #[arg(long, env = "WEBDAV_CHUNK_SIZE_MB", default_value_t = 10.0, value_parser = megabytes)]
    pub webdav_chunk_size_mb: f64,
    /// System tags (comma-separated) whose files and folders, and everything below them, the
    /// file and sharing tools never list, find, read, change or share; if the tagged files
    /// cannot be determined the tools refuse rather than show them
    #[arg(long, value_delimiter = ',', env = "EXCLUDED_TAGS")]
    pub excluded_tags: Vec<String>,
    /// Seconds a search may answer from the user's index without asking Nextcloud what
    /// changed; active users' indexes are also re-synced in the background at this interval.
    /// Changes made through this server are searchable at once whatever the interval; 0
    /// also checks for changes made elsewhere before every query (a few requests per query)
    #[arg(long, env = "NEXTCLOUD_MCP_SEARCH_SYNC_INTERVAL", default_value = "30", value_parser = whole_seconds)]
    pub search_sync_interval: Duration,
    /// Languages whose word forms search matches (ISO 639-1 codes, comma-separated, e.g.
    /// en,de,fr); each adds a stemmed copy of every document to the index
    #[arg(long, env = "NEXTCLOUD_MCP_SEARCH_LANGUAGES", value_delimiter = ',', default_value = "en", value_parser = search_language)]
    pub search_languages: Vec<crate::search::Language>,
    /// Folder of the per-user search indexes, their sync state and semantic search's vectors
    /// (owner-only; one subfolder per user, named by a hash), so a restart resumes instead of
    /// re-reading everything from Nextcloud and embedding it again. A cache: deleting it
    /// costs a rebuild. Give each replica its own: a server locks each user's subfolder it
    /// uses, and another server's searches for that user fail while it does
    /// [default: <data dir>/nextcloud-mcp/search]
    #[arg(long, env = "NEXTCLOUD_MCP_SEARCH_INDEX_DIR")]
    pub search_index_dir: Option<PathBuf>,

    /// Folder of a sentence-transformers embedding model (BERT, e.g. all-MiniLM-L6-v2:
    /// `model.safetensors`, `config.json`, `tokenizer.json`) that semantic search runs
    /// in-process; builds with the `embedded-model` feature only
    #[arg(long, env = "EMBEDDING_MODEL_PATH", value_parser = existing_dir)]
    pub embedding_model_path: Option<PathBuf>,
    /// OpenAI-compatible embeddings API for semantic search (Ollama, vLLM, OpenAI), e.g.
    /// `http://localhost:11434/v1`; instead of EMBEDDING_MODEL_PATH
    #[arg(long, env = "EMBEDDING_ENDPOINT", value_parser = http_url)]
    pub embedding_endpoint: Option<url::Url>,
    /// Model name sent to EMBEDDING_ENDPOINT, e.g. `nomic-embed-text`
    #[arg(long, env = "EMBEDDING_MODEL")]
    pub embedding_model: Option<String>,
    /// Bearer key of EMBEDDING_ENDPOINT, if it needs one
    #[arg(long, env = "EMBEDDING_API_KEY", hide_env_values = true, value_parser = secret)]
    pub embedding_api_key: Option<Secret>,

    #[command(flatten)]
    pub log: LogArgs,
    /// Async worker threads; with stdio one client is served, where one worker answers about
    /// a fifth faster (docs/BENCHMARKS.md) [default: 1 for stdio, one per core for HTTP]
    #[arg(long, env = "TOKIO_WORKER_THREADS")]
    pub worker_threads: Option<NonZeroUsize>,
    /// Seconds a stopping HTTP server (SIGTERM, Ctrl-C) waits for the requests in flight after
    /// it stopped accepting new ones; then it ends what is left and exits
    #[arg(long, env = "MCP_SHUTDOWN_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub shutdown_timeout: Duration,
    /// Serve Prometheus metrics at /metrics (docs/OBSERVABILITY.md), on the MCP port unless
    /// METRICS_PORT is set; the endpoint needs no token, so expose it only to the scraper
    #[arg(long, env = "MCP_METRICS")]
    pub metrics: bool,
    /// Serve /metrics on this port of the same address instead of the MCP port (implies
    /// --metrics)
    #[arg(long, env = "MCP_METRICS_PORT")]
    pub metrics_port: Option<u16>,
}

/// Presets of the tool catalogue, shared by `run`, `rotate-keys` and `demo`.
#[derive(Clone, Debug, Args)]
pub struct PresetArgs {
    /// Named presets of apps and modes (comma-separated), added to --enable-app's apps
    #[arg(long, value_enum, value_delimiter = ',', env = "NEXTCLOUD_MCP_PROFILE")]
    pub profile: Vec<Profile>,
    /// What tools/list shows (`discover`: only the tools that find, describe and call the
    /// others)
    #[arg(
        long,
        value_enum,
        env = "NEXTCLOUD_MCP_TOOL_MODE",
        default_value = "all"
    )]
    pub tool_mode: ToolMode,
}

/// Logging, shared by `run`, `rotate-keys` and `demo`.
#[derive(Clone, Debug, Args)]
pub struct LogArgs {
    /// Log level
    #[arg(
        short,
        long,
        env = "LOG_LEVEL",
        default_value = "info",
        ignore_case = true,
        value_parser = ["error", "warn", "warning", "info", "debug", "trace"]
    )]
    pub log_level: String,
    /// Tracing filter directives that replace the filter built from the log level, e.g.
    /// `nextcloud_mcp=debug,rmcp=info`
    #[arg(long, env = "RUST_LOG", value_parser = log_filter)]
    pub log_filter: Option<String>,
    /// Log format; logs always go to stderr
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// OpenTelemetry collector to send traces to over OTLP/HTTP (protobuf), e.g.
    /// `http://localhost:4318`; spans go to its /v1/traces. Unset: no traces
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = http_url)]
    pub otlp_endpoint: Option<url::Url>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the MCP endpoint
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Port of the emulated Nextcloud (0 = any free port)
    #[arg(long, default_value_t = 0)]
    pub nextcloud_port: u16,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub presets: PresetArgs,
}

// Value parsers: the validation of single settings. Their messages say what is wrong with
// the value; `crate::settings` adds which setting it was.

fn secret(raw: &str) -> Result<Secret, String> {
    Ok(Secret::new(raw))
}

fn base_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| format!("not a URL ({e}); expected e.g. https://cloud.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with https:// (or http:// for a local test instance)".to_string());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain credentials; use NEXTCLOUD_USERNAME and NEXTCLOUD_PASSWORD".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must be a plain base URL without ? or #".into());
    }
    Ok(url)
}

fn http_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with https://".into());
    }
    Ok(url)
}

fn existing_dir(raw: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(raw);
    if !path.is_dir() {
        return Err("does not exist or is not a folder".into());
    }
    Ok(path)
}

fn existing_file(raw: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(raw);
    if !path.is_file() {
        return Err("does not exist or is not a file".into());
    }
    Ok(path)
}

fn seconds(raw: &str) -> Result<Duration, String> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1 second".into()),
        Ok(s) => Ok(Duration::from_secs(s)),
        Err(_) => Err("expected a whole number of seconds".into()),
    }
}

fn whole_seconds(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| "expected a whole number of seconds (0 or more)".into())
}

fn search_language(raw: &str) -> Result<crate::search::Language, String> {
    crate::search::language_of(raw).ok_or_else(|| {
        "not a stemming language; expected an ISO 639-1 code: ar, da, de, el, en, es, fi, fr, hu, it, nl, no, pt, ro, ru, sv, ta, tr".into()
    })
}

fn days(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(d) => Ok(d),
        Err(_) => Err("expected a whole number of days".into()),
    }
}

/// Megabytes, fractions allowed; zero, negative or absurd values are refused.
fn megabytes(raw: &str) -> Result<f64, String> {
    let mb: f64 = raw
        .trim()
        .parse()
        .map_err(|_| "expected a number of megabytes (e.g. 10 or 0.5)".to_string())?;
    if !mb.is_finite() || mb <= 0.0 || mb > 1024.0 * 1024.0 {
        return Err("must be a positive number of megabytes (e.g. 10 or 0.5)".into());
    }
    Ok(mb)
}

/// An IANA zone name; a misspelt one stops the server rather than silently putting events at
/// the wrong time.
fn time_zone(raw: &str) -> Result<TimeZone, String> {
    raw.parse::<TimeZone>().map_err(|_| {
        "not an IANA time zone name; expected e.g. Europe/Berlin, America/New_York or UTC".into()
    })
}

fn app_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if crate::apps::app_by_id(id).is_none() {
        let valid: Vec<_> = crate::apps::APPS.iter().map(|a| a.id).collect();
        return Err(format!(
            "not an app this server knows; valid: {}",
            valid.join(", ")
        ));
    }
    Ok(id.to_string())
}

/// A token claim's name (trimmed, not empty).
fn claim(raw: &str) -> Result<String, String> {
    match raw.trim() {
        "" => Err("is empty: name a token claim such as sub or preferred_username".into()),
        name => Ok(name.to_string()),
    }
}

fn auth_token(raw: &str) -> Result<Secret, String> {
    if raw.len() < 16 {
        return Err(
            "too short: use at least 16 random characters (e.g. `openssl rand -hex 32`)".into(),
        );
    }
    Ok(Secret::new(raw))
}

fn postgres_url(raw: &str) -> Result<Secret, String> {
    if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
        return Err(
            "must be a postgres:// or postgresql:// URL (for SQLite use TOKEN_STORAGE_DB)".into(),
        );
    }
    Ok(Secret::new(raw))
}

fn key(raw: &str) -> Result<Key, String> {
    Key::parse(raw).map_err(|e| e.to_string())
}

fn old_key(raw: &str) -> Result<Key, String> {
    Key::parse(raw).map_err(|e| format!("a key {e}"))
}

fn log_filter(raw: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(raw)
        .map(|_| raw.to_string())
        .map_err(|e| format!("not a tracing filter ({e})"))
}
