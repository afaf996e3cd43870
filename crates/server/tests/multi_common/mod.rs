//! Shared set-up of the multi-user tests: an in-test OIDC issuer (discovery + JWKS of a test
//! RSA key) and JWTs it signs, a `login_flow` / `multi_user_basic` server on SQLite or
//! PostgreSQL, MCP clients that answer URL elicitations, and a "browser" that completes the
//! emulator's Login Flow v2 page.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use nextcloud_mcp::cli::{DeploymentMode, RunArgs};
use nextcloud_mcp::config::Config;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationCapability, Implementation, ProtocolVersion, UrlElicitationCapability,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::json;
use sqlx::Connection;

pub const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCYowAVphKEwUHP\nfqOJCHQD61uJ3PWCMR/5jBQ7SoaXxbRb5GHcH3UT9h3LLciCo+q7VlQbhETbTVkg\nNDb9x5N+N7gVB9dSPd5w7Ee1jjG4zo+fhLhWUGDxxcl1M0kGlBo17A97h4ZisLw9\nH2w2/47QO54u3juErsOKAHfgtgd3Db//4+ZASKm1f8FrR9mamH2DWDeRGoOeJfUB\nanTHD3gFEkvuq78hnKZsyz26t1HsmCVb5b64t6xO6JiZ+a/yYVDstJ6Vi5kPO6R0\n3xTfm3MLQqC9rCzR+sISKUAxw0u+eKsV9i0+P0PiH7/QWgBsqzp0ZLMCknjVWv8F\niQFfmKMrAgMBAAECggEAMA6SBj7lcbrPF59NqeVpcZp2la9l9Pm2kYFTFV/fhIWQ\nxaXgUcftur0woDnn+YnWa+lATfGVJF70Armt3rUpcQHmCWkQmCo2kOMzqKv+Z6tR\neO32g+aGv1iAl0/wXAvhPLz4GvKOkyAGBFCSZ7aKpnE+2o7Junqzwg1nsO5e51KG\nTXF02Ks2ZXIC+sf0v7piKTdAZDor+etPLyPAvEQfMxvtrLTvdyz7rXCJqjlO1ASS\nc/JCIdb9dg75LGUa/7ZbVYXlZMTsfa58qmMxEvrYyvG3usnyd3rsLyZR+Nu7P5w4\nNB42R9mkgXMTC9KNFZV5+c/FnVxBKNi26dkMkqPUoQKBgQDQUWOWNBvOwLduarY8\nZfxV7MXBqLdiO4SuYtVOGhi/Zb/wZo2sahX81cv4q8AYGFYuO41ew8cDvWypA5qA\njySRby9QcAPafaABHKKPt790XwEYzYqwM+BfIq+T9Zm07xZiU4rz/3VbQ/OjJ/TJ\nagVRodplZBjXNlTG2iUaHS6ZiQKBgQC7kulk1vMgRtXd+OoneEMZxaaDwpbjf956\nE7C4Z5Mmza8ZsZ9sXcuPCMOUbVgI58sUE8GIedOpBtifnyCjVKFUH8kCe3SF7+MF\nnqidMqEdixlTLawN24x1ONeglTiy+0K5TxS4FzZWwEVqXL6ILGCWFBm1AKN8MFun\nrItmrh/OEwKBgEu6Sol/x9wREp2BDV5HdMOHnxwXSRLcsA70vrX1pqltQ6kQns/e\ngL+4uL1dMieQMUP9QhcA9IfXhHisZq31W0XDNV/4WG5E3LWKw02bbm3PW4a4sYH8\nWcQ7x7fxwD6V630zAYBRjUfwG9Fj5QiTEfvq6omRKbaSeZ8QDgzALwCBAoGBAIBR\nGyrpxP6ilrG4E28W3UhnJudiGdjd47M9fxpXeJoGATAhi78VVyitRSZnut60uv8s\nGKwlMz+hOFXSBQDW51pmOBtjmy35EiQJCq4nMYLFYni9eMMuGyMh1Ji9HEGMk3Oz\nfqgE8R5df98oPQto2FYyv/dLzYsqhbjp159RpN5TAoGBAMrbcQ8s1JYseBGEsKd/\noLZxcb5W9d/kkuxTSDk9lUHSw/4DMhgO/WQeO9vQokIjzu2kjMTs6vpiS4EqiuGz\nno6mY46yJBJlypEdICRzQsSG0EV4zufcd8AYVf3fvU2QttVbSJgAqfQpuuIcUYap\nOSInNTYQLVYZ+jPcvgdpOPs7\n-----END PRIVATE KEY-----";
pub const TEST_KEY_N: &str = "mKMAFaYShMFBz36jiQh0A-tbidz1gjEf-YwUO0qGl8W0W-Rh3B91E_Ydyy3IgqPqu1ZUG4RE201ZIDQ2_ceTfje4FQfXUj3ecOxHtY4xuM6Pn4S4VlBg8cXJdTNJBpQaNewPe4eGYrC8PR9sNv-O0DueLt47hK7DigB34LYHdw2__-PmQEiptX_Ba0fZmph9g1g3kRqDniX1AWp0xw94BRJL7qu_IZymbMs9urdR7JglW-W-uLesTuiYmfmv8mFQ7LSelYuZDzukdN8U35tzC0Kgvaws0frCEilAMcNLvnirFfYtPj9D4h-_0FoAbKs6dGSzApJ41Vr_BYkBX5ijKw";
pub const ENC_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A minimal OIDC issuer: discovery document plus JWKS.
pub async fn start_issuer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let b = b.clone();
                async move { axum::Json(json!({"issuer": b, "jwks_uri": format!("{b}/jwks")})) }
            }),
        )
        .route(
            "/jwks",
            axum::routing::get(|| async {
                axum::Json(json!({"keys": [{
                    "kty": "RSA", "kid": "test-key", "use": "sig", "alg": "RS256",
                    "n": TEST_KEY_N, "e": "AQAB"
                }]}))
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// A JWT for `sub` with `scope`, signed by the test key.
pub fn token(issuer: &str, audience: &str, sub: &str, scope: &str, ttl: i64) -> String {
    token_with(issuer, audience, json!({"sub": sub, "scope": scope}), ttl)
}

/// A JWT with these claims (plus `iss`, `aud`, `exp`, `iat`), signed by the test key.
pub fn token_with(issuer: &str, audience: &str, claims: serde_json::Value, ttl: i64) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key".into());
    let now = chrono::Utc::now().timestamp();
    let mut body = json!({"iss": issuer, "aud": audience, "exp": now + ttl, "iat": now});
    for (k, v) in claims.as_object().expect("claims object") {
        body[k] = v.clone();
    }
    encode(
        &header,
        &body,
        &EncodingKey::from_rsa_pem(TEST_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Where a test server keeps its credentials.
pub enum TestDb {
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL schema of its own (dropped by [`TestDb::cleanup`]).
    Postgres {
        base: String,
        schema: String,
    },
}

fn unique() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("ncmcp-auth-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::Sqlite(dir)
    }

    /// `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`); `None` (the
    /// test prints `skipped:`) when no server answers, unless `CI_REQUIRE_POSTGRES` is set.
    pub async fn postgres() -> Option<Self> {
        let base = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = match sqlx::PgConnection::connect(&base).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI_REQUIRE_POSTGRES").is_ok() {
                    panic!("PostgreSQL required but unreachable: {e}");
                }
                println!("skipped: PostgreSQL at {base} unreachable: {e}");
                return None;
            }
        };
        let schema = format!("ncmcp_auth_{}", unique());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .unwrap();
        Some(Self::Postgres { base, schema })
    }

    fn postgres_url(base: &str, schema: &str) -> String {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-csearch_path%3D{schema}")
    }

    /// An sqlx URL to the same database the server uses.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}?mode=rwc", dir.join("tokens.db").display()),
            Self::Postgres { base, schema } => Self::postgres_url(base, schema),
        }
    }

    /// The flag that puts the server's credential store here.
    /// Where the server keeps its search indexes: inside the test's folder, or a folder of
    /// its own beside a PostgreSQL schema (never the user's data directory).
    pub fn search_dir(&self) -> std::path::PathBuf {
        match self {
            Self::Sqlite(dir) => dir.join("search"),
            Self::Postgres { schema, .. } => std::env::temp_dir().join(format!("{schema}_search")),
        }
    }

    fn flag(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("--token-storage-db={}", dir.join("tokens.db").display()),
            Self::Postgres { base, schema } => {
                format!("--database-url={}", Self::postgres_url(base, schema))
            }
        }
    }

    /// Runs one statement directly (tests that age rows).
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url()).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        let _ = conn.close().await;
    }

    pub async fn cleanup(self) {
        match self {
            Self::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { base, schema } => {
                let _ =
                    std::fs::remove_dir_all(std::env::temp_dir().join(format!("{schema}_search")));
                let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

pub struct Server {
    pub mcp_url: String,
    pub base: String,
    pub server: nextcloud_mcp::NextcloudMcp,
    pub multi: Arc<nextcloud_mcp::auth::MultiUser>,
}

/// Starts a multi-user server for `nextcloud_host` on `db`.
pub async fn start_server(
    nextcloud_host: &str,
    mode: DeploymentMode,
    issuer: Option<&str>,
    db: &TestDb,
    public_url: Option<&str>,
) -> Server {
    start_server_with(nextcloud_host, mode, issuer, db, public_url, |_| {}).await
}

/// As [`start_server`], with `tweak` applied to the settings last.
pub async fn start_server_with(
    nextcloud_host: &str,
    mode: DeploymentMode,
    issuer: Option<&str>,
    db: &TestDb,
    public_url: Option<&str>,
    tweak: impl FnOnce(&mut RunArgs),
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut flags = vec![
        "--transport=streamable-http".to_string(),
        format!("--port={}", addr.port()),
        format!("--nextcloud-host={nextcloud_host}"),
        format!("--deployment-mode={}", mode.as_str()),
        format!("--token-encryption-key={ENC_KEY}"),
        "--request-timeout=5".into(),
        db.flag(),
        format!("--search-index-dir={}", db.search_dir().display()),
    ];
    if let Some(i) = issuer {
        flags.push(format!(
            "--oidc-discovery-url={i}/.well-known/openid-configuration"
        ));
    }
    if let Some(url) = public_url {
        flags.push(format!("--public-url={url}"));
    }
    let mut args = RunArgs::from_flags(flags).expect("flags");
    tweak(&mut args);
    let config = Config::resolve(args).expect("config");
    let server = nextcloud_mcp::build_multi_user_server(&config)
        .await
        .expect("server");
    let s = server.clone();
    let http = config.http.clone();
    tokio::spawn(async move {
        let _ =
            nextcloud_mcp::transport::http::serve(s, &http, listener, std::future::pending()).await;
    });
    let multi = server.state().multi.clone().expect("multi-user state");
    Server {
        mcp_url: format!("http://{addr}/mcp"),
        base: format!("http://{addr}"),
        server,
        multi,
    }
}

/// A client that supports URL elicitation and answers every one with `action`, recording the
/// URLs it was shown.
#[derive(Clone)]
pub struct Elicitor {
    pub action: Arc<Mutex<ElicitationAction>>,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Elicitor {
    pub fn new(action: ElicitationAction) -> Self {
        Self {
            action: Arc::new(Mutex::new(action)),
            seen: Default::default(),
        }
    }

    pub fn set(&self, action: ElicitationAction) {
        *self.action.lock().unwrap() = action;
    }

    pub fn urls(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl ClientHandler for Elicitor {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::UrlElicitationParams { url, .. } = request {
            self.seen.lock().unwrap().push(url);
        }
        Ok(ElicitResult::new(self.action.lock().unwrap().clone()))
    }

    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.elicitation =
            Some(ElicitationCapability::new().with_url(UrlElicitationCapability::new()));
        ClientConfig::new(caps, Implementation::new("auth-test", "1.0"))
    }
}

pub type ElicitingClient = RunningService<RoleClient, Elicitor>;

/// Connects with a bearer token; `stateless` = the `2026-07-28` protocol.
pub async fn connect_eliciting(
    url: &str,
    token: &str,
    elicitor: Elicitor,
    stateless: bool,
) -> ElicitingClient {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string())
        .auth_header(token.to_string());
    let http = StreamableHttpClientTransport::from_config(config);
    if stateless {
        elicitor
            .serve_with_lifecycle(
                http,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("discover")
    } else {
        elicitor.serve(http).await.expect("initialize")
    }
}

/// Calls a tool on any client; protocol errors panic.
pub async fn call_any<S: rmcp::service::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
    args: serde_json::Value,
) -> rmcp::model::CallToolResult {
    let serde_json::Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(rmcp::model::CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

/// The structured output of a result (errors included).
pub fn out(result: &rmcp::model::CallToolResult) -> serde_json::Value {
    result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("no structured content: {result:?}"))
}

/// Plays the person's browser: opens the login page and submits the login form.
pub async fn browser_login(login_url: &str, user: &str, password: &str) -> bool {
    let http = reqwest::Client::new();
    let page = http.get(login_url).send().await.unwrap();
    if !page.status().is_success() {
        return false;
    }
    let resp = http
        .post(login_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("user", user)
                .append_pair("password", password)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    resp.status().is_success() && resp.text().await.unwrap().contains("Account connected")
}

/// An MCP client (session protocol) sending a raw `Authorization` value on every request.
pub async fn connect_basic(url: &str, authorization: &str) -> RunningService<RoleClient, ()> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        authorization.parse().unwrap(),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    );
    ().serve(transport).await.expect("initialize")
}

/// A `login_flow` server where `alice` provisioned a Nextcloud account granting only
/// `granted`, and an MCP client whose bearer token asks for `requested`: what a user who
/// granted less than a client asks for sees.
pub struct Scoped {
    pub server: Server,
    pub client: RunningService<RoleClient, ()>,
    /// Names of the tools the client is shown.
    pub listed: std::collections::BTreeSet<String>,
    db: TestDb,
}

impl Scoped {
    pub async fn cleanup(self) {
        let _ = self.client.cancel().await;
        self.db.cleanup().await;
    }
}

pub async fn scoped_client(
    nextcloud_host: &str,
    login_name: &str,
    password: &str,
    granted: &[&str],
    requested: &str,
) -> Scoped {
    let issuer = start_issuer().await;
    let db = TestDb::sqlite();
    let server = start_server(
        nextcloud_host,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let granted: Vec<String> = granted.iter().map(|s| s.to_string()).collect();
    server
        .multi
        .store
        .put_app_password(&nextcloud_mcp::db::NewAppPassword {
            user_id: "alice",
            login_name,
            password,
            scopes: Some(&granted),
            origin: nextcloud_mcp::db::Origin::Api,
        })
        .await
        .expect("store the app password");
    let bearer = token(&issuer, &server.mcp_url, "alice", requested, 300);
    let client = connect_basic(&server.mcp_url, &format!("Bearer {bearer}")).await;
    let listed = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    Scoped {
        server,
        client,
        listed,
        db,
    }
}
