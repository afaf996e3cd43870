//! Command line. Every setting is also an environment variable (the Python reference's
//! names where it has one) and a key of the optional TOML file.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::profiles::Profile;

#[derive(Debug, Parser)]
#[command(
    name = "nextcloud-mcp",
    version,
    about = "Model Context Protocol server for Nextcloud"
)]
pub struct Cli {
    /// TOML file with settings; command-line flags and environment variables win over it.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Stdio,
    #[value(name = "streamable-http", alias = "http")]
    #[serde(alias = "http")]
    StreamableHttp,
}

/// What `tools/list` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolMode {
    /// Every tool the configuration selects.
    #[default]
    All,
    /// Only three small tools that find, describe and call the others, for clients that
    /// cap the number of tools or whose context is small.
    Discover,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// MCP transport [default: stdio]
    #[arg(short, long, value_enum, env = "MCP_TRANSPORT")]
    pub transport: Option<Transport>,
    /// Address to listen on with streamable HTTP [default: 127.0.0.1]
    #[arg(long, env = "MCP_HOST")]
    pub host: Option<IpAddr>,
    /// Port to listen on with streamable HTTP [default: 8000]
    #[arg(short, long, env = "MCP_PORT")]
    pub port: Option<u16>,

    /// Nextcloud base URL, e.g. https://cloud.example.com
    #[arg(long, env = "NEXTCLOUD_HOST")]
    pub nextcloud_host: Option<String>,
    /// Nextcloud login name
    #[arg(long, env = "NEXTCLOUD_USERNAME")]
    pub nextcloud_username: Option<String>,
    /// Nextcloud app password (Settings → Security → Devices & sessions)
    #[arg(long, env = "NEXTCLOUD_PASSWORD", hide_env_values = true)]
    pub nextcloud_password: Option<String>,
    /// Verify the Nextcloud TLS certificate [default: true]
    #[arg(long, env = "NEXTCLOUD_VERIFY_SSL")]
    pub verify_ssl: Option<bool>,
    /// PEM bundle of extra trusted certificate authorities
    #[arg(long, env = "NEXTCLOUD_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds to wait for a connection to Nextcloud [default: 10]
    #[arg(long, env = "NEXTCLOUD_CONNECT_TIMEOUT")]
    pub connect_timeout: Option<u64>,
    /// Seconds to wait for a whole Nextcloud request [default: 60]
    #[arg(long, env = "NEXTCLOUD_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Time zone for local times given without one, and for answers (IANA name such as
    /// Europe/Berlin) [default: UTC]
    #[arg(long, env = "NEXTCLOUD_MCP_TIMEZONE")]
    pub timezone: Option<String>,

    /// Only expose these apps' tools (repeatable): notes, webdav, sharing, calendar,
    /// contacts, deck, tables, cookbook, ...
    #[arg(short = 'e', long = "enable-app", value_delimiter = ',')]
    pub enable_app: Vec<String>,
    /// Hide and refuse every tool that changes something
    #[arg(long, env = "NEXTCLOUD_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Only expose these tools (comma-separated names)
    #[arg(long, value_delimiter = ',', env = "NEXTCLOUD_MCP_TOOLS")]
    pub tools: Vec<String>,
    /// Never expose these tools (comma-separated names)
    #[arg(long, value_delimiter = ',', env = "NEXTCLOUD_MCP_EXCLUDE_TOOLS")]
    pub exclude_tools: Vec<String>,
    /// Named presets (comma-separated): personal, team, read-only; their apps are added to
    /// --enable-app's
    #[arg(long, value_enum, value_delimiter = ',', env = "NEXTCLOUD_MCP_PROFILE")]
    pub profile: Vec<Profile>,
    /// What tools/list shows: all, or discover (tools that find, describe and call the
    /// others) [default: all]
    #[arg(long, value_enum, env = "NEXTCLOUD_MCP_TOOL_MODE")]
    pub tool_mode: Option<ToolMode>,

    /// Bearer token required on /mcp with streamable HTTP
    #[arg(long, env = "MCP_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Allow listening on a non-loopback address without a bearer token (dangerous: anyone
    /// who can reach the port acts as the configured Nextcloud user)
    #[arg(long, env = "MCP_ALLOW_UNAUTHENTICATED_REMOTE")]
    pub allow_unauthenticated_remote: bool,
    /// Extra Host header values accepted with streamable HTTP (DNS-rebinding protection)
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

    /// Deployment mode: single_user_basic, multi_user_basic or login_flow [default: detected]
    #[arg(long, value_enum, env = "MCP_DEPLOYMENT_MODE")]
    pub deployment_mode: Option<DeploymentMode>,
    /// SQLite file of the credential store [default: <data dir>/nextcloud-mcp/tokens.db]
    #[arg(long, env = "TOKEN_STORAGE_DB")]
    pub token_storage_db: Option<PathBuf>,
    /// PostgreSQL URL of the credential store (for several replicas); wins over TOKEN_STORAGE_DB
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Key that encrypts stored app passwords: 32 bytes as base64 or 64 hex digits
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY", hide_env_values = true)]
    pub token_encryption_key: Option<String>,
    /// Previous encryption keys, still accepted for decryption (comma-separated)
    #[arg(
        long,
        value_delimiter = ',',
        env = "TOKEN_ENCRYPTION_OLD_KEYS",
        hide_env_values = true
    )]
    pub token_encryption_old_keys: Vec<String>,
    /// OpenID Connect discovery document of the token issuer
    /// [default: <NEXTCLOUD_HOST>/.well-known/openid-configuration]
    #[arg(long, env = "OIDC_DISCOVERY_URL")]
    pub oidc_discovery_url: Option<String>,
    /// OAuth client id for introspecting opaque bearer tokens
    #[arg(long, env = "OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// OAuth client secret for introspecting opaque bearer tokens
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// Claim of the external issuer's tokens that names the caller's Nextcloud user id (needs
    /// OIDC_DISCOVERY_URL) [default: sub]
    #[arg(long, env = "NEXTCLOUD_MCP_OIDC_USER_CLAIM")]
    pub oidc_user_claim: Option<String>,
    /// With an external issuer: the first Nextcloud login that provisions a caller must be by
    /// the user the token's claim names (later ones always must match the first)
    #[arg(long, env = "NEXTCLOUD_MCP_OIDC_REQUIRE_USER_MATCH")]
    pub oidc_require_user_match: bool,
    /// Public URL of this server's MCP endpoint: the audience tokens must name
    /// [default: http://<host>:<port>/mcp]
    #[arg(long, env = "NEXTCLOUD_MCP_SERVER_URL")]
    pub server_url: Option<String>,
    /// Nextcloud URL as browsers reach it, when it differs from NEXTCLOUD_HOST (login links)
    #[arg(long, env = "NEXTCLOUD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Days to keep audit-log entries [default: 90]
    #[arg(long, env = "AUDIT_LOG_RETENTION_DAYS")]
    pub audit_retention_days: Option<u32>,

    /// Most megabytes of file content one read returns inline [default: 5]
    #[arg(long, env = "WEBDAV_READ_MAX_MB")]
    pub webdav_read_max_mb: Option<f64>,
    /// Largest file in megabytes one write may upload [default: 50]
    #[arg(long, env = "WEBDAV_WRITE_MAX_MB")]
    pub webdav_write_max_mb: Option<f64>,
    /// Largest document in megabytes fetched to extract its text (PDF, DOCX, XLSX...) [default: 50]
    #[arg(long, env = "WEBDAV_DOCUMENT_MAX_MB")]
    pub webdav_document_max_mb: Option<f64>,
    /// Uploads above this many megabytes use chunked upload [default: 10]
    #[arg(long, env = "WEBDAV_CHUNK_THRESHOLD_MB")]
    pub webdav_chunk_threshold_mb: Option<f64>,
    /// Chunk size in megabytes for chunked uploads [default: 10]
    #[arg(long, env = "WEBDAV_CHUNK_SIZE_MB")]
    pub webdav_chunk_size_mb: Option<f64>,
    /// System tags whose files and folders the file and sharing tools never see (comma-separated)
    #[arg(long, value_delimiter = ',', env = "EXCLUDED_TAGS")]
    pub excluded_tags: Vec<String>,

    /// Log level: error, warn, info, debug, trace [default: info]
    #[arg(short, long, env = "LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format [default: text]
    #[arg(long, value_enum, env = "LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the MCP endpoint
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Port of the emulated Nextcloud (0 = any free port)
    #[arg(long, default_value_t = 0)]
    pub nextcloud_port: u16,
    /// Named presets (comma-separated): personal, team, read-only
    #[arg(long, value_enum, value_delimiter = ',', env = "NEXTCLOUD_MCP_PROFILE")]
    pub profile: Vec<Profile>,
    /// What tools/list shows: all, or discover [default: all]
    #[arg(long, value_enum, env = "NEXTCLOUD_MCP_TOOL_MODE")]
    pub tool_mode: Option<ToolMode>,
}
