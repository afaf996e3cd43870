//! The built-in OAuth 2.1 authorization server (`login_flow` without an external issuer),
//! driven over HTTP like a browser and an MCP client would, against the emulator's Login
//! Flow v2: metadata, registration (dynamic and metadata documents), the consent page, the
//! Nextcloud login, codes, tokens, refresh rotation, revocation, the connections page, the
//! errors of each endpoint, the faults other Nextcloud MCP servers shipped, and finally MCP
//! tool calls with the issued token.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    EMU_PASSWORD, EMU_USER, TestNextcloud, Transport, call, call_ok, connect_http, text_of,
};
use nextcloud_mcp::auth::authorization_server::{
    ACCESS_TTL, AuthorizationServer, CODE_TTL, LOGIN_TTL, REFRESH_TTL,
};
use nextcloud_mcp::cli::{DeploymentMode, RunArgs};
use nextcloud_mcp::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ENC_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Server {
    base: String,
    mcp_url: String,
    server: nextcloud_mcp::NextcloudMcp,
    db: std::path::PathBuf,
    _dir: Arc<TempDir>,
}

impl Server {
    fn auth(&self) -> Arc<AuthorizationServer> {
        self.server
            .state()
            .multi
            .as_ref()
            .and_then(|m| m.authorization_server.clone())
            .expect("the built-in authorization server is on")
    }
}

/// A `login_flow` server without OIDC_DISCOVERY_URL, on a free port; `dir` reuses a store.
async fn start_server(nc: &TestNextcloud, dir: Option<Arc<TempDir>>) -> Server {
    start_server_at(nc, dir, None).await
}

/// As [`start_server`], with the public MCP URL at `{origin}{mount}/mcp`, as when a reverse
/// proxy serves the server under a sub-path.
async fn start_server_at(
    nc: &TestNextcloud,
    dir: Option<Arc<TempDir>>,
    mount: Option<&str>,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = dir.unwrap_or_else(|| {
        Arc::new(TempDir(std::env::temp_dir().join(format!(
            "ncmcp-as-{}-{}",
            std::process::id(),
            addr.port()
        ))))
    });
    let db = dir.0.join("tokens.db");
    let mut flags = vec![
        "--transport=streamable-http".to_string(),
        format!("--port={}", addr.port()),
        format!("--nextcloud-host={}", nc.base_url),
        format!("--deployment-mode={}", DeploymentMode::LoginFlow.as_str()),
        format!("--token-encryption-key={ENC_KEY}"),
        format!("--token-storage-db={}", db.display()),
        format!("--search-index-dir={}", common::fresh_index_dir().display()),
    ];
    if let Some(m) = mount {
        flags.push(format!("--server-url=http://{addr}{m}/mcp"));
    }
    let config = Config::resolve(RunArgs::from_flags(flags).expect("flags")).expect("config");
    assert!(config.auth.builtin_authorization_server());
    let server = nextcloud_mcp::build_multi_user_server(&config)
        .await
        .expect("server");
    let s = server.clone();
    let http = config.http.clone();
    tokio::spawn(async move {
        let _ =
            nextcloud_mcp::transport::http::serve(s, &http, listener, std::future::pending()).await;
    });
    let mount = mount.unwrap_or("");
    Server {
        base: format!("http://{addr}{mount}"),
        mcp_url: format!("http://{addr}{mount}/mcp"),
        server,
        db,
        _dir: dir,
    }
}

/// A browser: follows nothing by itself, keeps cookies.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_string(), val.to_string());
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&resp);
        resp
    }

    async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&resp);
        resp
    }

    fn csrf(&self) -> String {
        self.cookies
            .get("ncmcp_csrf")
            .cloned()
            .expect("csrf cookie")
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on HTTP {}", resp.status()))
        .to_str()
        .unwrap()
        .to_string()
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pkce() -> (String, String) {
    let mut bytes = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn register(base: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/oauth/register"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn register_public(base: &str, name: &str) -> String {
    let resp = register(
        base,
        json!({"client_name": name, "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
               "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    body["client_id"].as_str().unwrap().to_string()
}

/// One authorization request's parameters.
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    verifier: String,
    state: String,
    scope: Option<String>,
    resource: String,
}

impl AuthRequest {
    fn new(srv: &Server, client_id: &str) -> Self {
        let (verifier, challenge) = pkce();
        Self {
            client_id: client_id.to_string(),
            redirect_uri: REDIRECT.into(),
            challenge,
            verifier,
            state: format!("state-{}", uuid::Uuid::new_v4()),
            scope: Some("notes.read notes.write files.read".into()),
            resource: srv.mcp_url.clone(),
        }
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("response_type", "code".to_string()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("code_challenge", self.challenge.clone()),
            ("code_challenge_method", "S256".into()),
            ("state", self.state.clone()),
            ("resource", self.resource.clone()),
        ];
        if let Some(s) = &self.scope {
            p.push(("scope", s.clone()));
        }
        p
    }

    fn url(&self, srv: &Server) -> String {
        let mut u = url::Url::parse(&format!("{}/oauth/authorize", srv.base)).unwrap();
        u.query_pairs_mut().extend_pairs(self.params());
        u.to_string()
    }
}

/// Opens the consent page and submits it with `scopes` ticked; returns the response.
async fn consent(
    browser: &mut Browser,
    srv: &Server,
    req: &AuthRequest,
    scopes: &[&str],
) -> reqwest::Response {
    let page = browser.get(&req.url(srv)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Allow"), "{html}");
    let csrf = browser.csrf();
    let params = req.params();
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("csrf", &csrf));
    for s in scopes {
        form.push(("grant_scope", s));
    }
    form.push(("action", "allow"));
    browser
        .post_form(&format!("{}/oauth/authorize", srv.base), &form)
        .await
}

/// The Nextcloud login URL on the progress page.
fn login_link(html: &str) -> String {
    let at = html.find("class=\"button\" href=\"").expect("login link") + 21;
    html[at..at + html[at..].find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// Logs in at the emulator's Login Flow page, as the person would in the new tab.
async fn nextcloud_login(login_url: &str, user: &str, password: &str) -> String {
    let http = reqwest::Client::new();
    let page = http.get(login_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    http.post(login_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("user", user), ("password", password)]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Consent, Nextcloud login, progress: returns the code from the client redirect.
async fn authorize_fully(
    browser: &mut Browser,
    srv: &Server,
    req: &AuthRequest,
    scopes: &[&str],
) -> String {
    let resp = consent(browser, srv, req, scopes).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    if to.starts_with(&req.redirect_uri) {
        // Signed in already in this browser, with working access: consent was enough.
        let q = query_of(&to);
        assert_eq!(q["state"], req.state);
        return q["code"].clone();
    }
    let progress = format!("{}{}", srv.base, to);
    assert!(
        progress.contains("/oauth/authorize/progress?id="),
        "{progress}"
    );
    let waiting = browser.get(&progress).await;
    assert_eq!(waiting.status(), StatusCode::OK);
    let html = waiting.text().await.unwrap();
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
    let done = nextcloud_login(&login_link(&html), EMU_USER, EMU_PASSWORD).await;
    assert!(done.contains("Account connected"), "{done}");
    let back = browser.get(&progress).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let to = location(&back);
    assert!(to.starts_with(&req.redirect_uri), "{to}");
    let q = query_of(&to);
    assert_eq!(q["state"], req.state);
    assert_eq!(q["iss"], srv.base);
    q["code"].clone()
}

async fn token_request(srv: &Server, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", srv.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn exchange(srv: &Server, req: &AuthRequest, code: &str) -> (StatusCode, Value) {
    token_request(
        srv,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &req.redirect_uri),
            ("code_verifier", &req.verifier),
            ("client_id", &req.client_id),
            ("resource", &req.resource),
        ],
    )
    .await
}

async fn refresh(srv: &Server, client_id: &str, token: &str) -> (StatusCode, Value) {
    token_request(
        srv,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", client_id),
        ],
    )
    .await
}

/// Status of a raw MCP `tools/list` with a bearer token.
async fn mcp_status(srv: &Server, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(&srv.mcp_url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .status()
}

fn needs_emulator(nc: &TestNextcloud) -> bool {
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator's Login Flow v2 (a real login in a browser)");
        return false;
    }
    true
}

/// Behind a proxy under `/tools`, clients derive the metadata URLs from the issuer and the
/// resource (RFC 8414 §3, RFC 9728 §3.1): the path goes after the well-known segment, at the
/// origin's root. The server answers those for its own paths only.
#[tokio::test]
async fn metadata_under_a_sub_path() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server_at(&nc, None, Some("/tools")).await;
    let origin = srv.base.trim_end_matches("/tools").to_string();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{origin}{path}")).send();

    let resp = get("/.well-known/oauth-authorization-server/tools")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let meta: Value = resp.json().await.unwrap();
    assert_eq!(meta["issuer"], format!("{origin}/tools"));
    assert_eq!(
        meta["token_endpoint"],
        format!("{origin}/tools/oauth/token")
    );
    let resp = get("/.well-known/oauth-protected-resource/tools/mcp")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let prm: Value = resp.json().await.unwrap();
    assert_eq!(prm["resource"], format!("{origin}/tools/mcp"));
    assert_eq!(
        prm["authorization_servers"],
        json!([format!("{origin}/tools")])
    );

    // Someone else's paths are not answered for.
    for other in [
        "/.well-known/oauth-authorization-server/other",
        "/.well-known/oauth-authorization-server/tools/more",
        "/.well-known/oauth-protected-resource/other/mcp",
    ] {
        assert_eq!(get(other).await.unwrap().status(), 404, "{other}");
    }
    // A 401 from /mcp points at the suffixed resource metadata.
    let resp = http
        .post(format!("{origin}/mcp"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{origin}/.well-known/oauth-protected-resource/tools/mcp\""
        )),
        "{challenge}"
    );
}

#[tokio::test]
async fn metadata_and_registration() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let http = reqwest::Client::new();

    // RFC 9728 points at this server as issuer; RFC 8414 describes it.
    let prm: Value = http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            srv.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], srv.mcp_url.as_str());
    assert_eq!(prm["authorization_servers"], json!([srv.base]));
    let meta: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            srv.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], srv.base.as_str());
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{}/oauth/authorize", srv.base)
    );
    assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", srv.base));
    assert_eq!(
        meta["registration_endpoint"],
        format!("{}/oauth/register", srv.base)
    );
    assert_eq!(
        meta["revocation_endpoint"],
        format!("{}/oauth/revoke", srv.base)
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    // One scope vocabulary: the same list as the REST API and the resource metadata.
    let scopes: Value = http
        .get(format!("{}/api/v1/scopes", srv.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["scopes_supported"], scopes["scopes"]);
    assert_eq!(prm["scopes_supported"], scopes["scopes"]);

    // The 401 of /mcp leads there.
    let resp = http.post(&srv.mcp_url).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // A public client: no secret. A confidential one (the RFC 7591 default): a secret that
    // never expires.
    let resp = register(
        &srv.base,
        json!({"client_name": "Public", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let public: Value = resp.json().await.unwrap();
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["client_name"], "Public");
    let resp = register(
        &srv.base,
        json!({"client_name": "Confidential", "redirect_uris": ["https://app.example.com/cb"]}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let confidential: Value = resp.json().await.unwrap();
    assert_eq!(
        confidential["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert!(confidential["client_secret"].as_str().unwrap().len() >= 40);
    assert_eq!(confidential["client_secret_expires_at"], 0);

    // Bad registrations, each named.
    for (body, error, needle) in [
        (
            json!({"redirect_uris": ["http://evil.example.com/cb"]}),
            "invalid_redirect_uri",
            "loopback",
        ),
        (
            json!({"redirect_uris": ["myapp://cb"]}),
            "invalid_redirect_uri",
            "https",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#x"]}),
            "invalid_redirect_uri",
            "fragment",
        ),
        (
            json!({"client_name": "x"}),
            "invalid_redirect_uri",
            "at least one",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
            "password",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "private_key_jwt",
        ),
    ] {
        let resp = register(&srv.base, body.clone()).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["error"], error, "{body}");
        assert!(
            e["error_description"].as_str().unwrap().contains(needle),
            "{e}"
        );
    }

    // Registrations survive a restart (same store, a new server process).
    let client_id = public["client_id"].as_str().unwrap().to_string();
    let restarted = start_server(&nc, Some(srv._dir.clone())).await;
    let req = AuthRequest::new(&restarted, &client_id);
    let page = Browser::new().get(&req.url(&restarted)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Public"));

    // The per-address limit: 20 registrations an hour (8 made above), then 429.
    let mut last = StatusCode::OK;
    for _ in 0..20 {
        last = register(
            &srv.base,
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        )
        .await
        .status();
        if last == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let resp = register(&srv.base, json!({"redirect_uris": [REDIRECT]})).await;
    assert!(resp.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn full_flow_then_mcp_tool_calls_with_the_chosen_scopes() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Test Assistant").await;
    let mut browser = Browser::new();
    let req = AuthRequest::new(&srv, &client_id);

    // The consent page names the client and the scopes, and works without JS.
    let page = browser.get(&req.url(&srv)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("Test Assistant"));
    assert!(html.contains("Read your Notes") && html.contains("value=\"notes.write\""));
    assert!(html.contains("<label for=\"scope-0\">"));
    assert!(!html.contains("<script"));

    // The person unticks notes.write: the token gets only what was left ticked.
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read", "files.read"]).await;
    let (status, tokens) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], ACCESS_TTL);
    assert_eq!(tokens["scope"], "files.read notes.read");
    let access = tokens["access_token"].as_str().unwrap().to_string();

    // The app password was stored encrypted for the Nextcloud user id from cloud/user.
    let multi = srv.server.state().multi.clone().unwrap();
    let stored = multi
        .store
        .app_password(EMU_USER)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.login_name, EMU_USER);
    assert!(stored.password.expose().len() >= 20);

    // MCP with the issued token: a read works, a write is refused for the missing scope.
    let created = nc
        .direct()
        .notes()
        .create(&nextcloud::notes::NewNote {
            title: "oauth-visible".into(),
            content: "through the built-in authorization server".into(),
            category: common::unique_category("oauth"),
            ..Default::default()
        })
        .await
        .expect("note");
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&access)).await;
    let got = call_ok(&client, "nc_notes_get_note", json!({"note_id": created.id})).await;
    assert_eq!(got["title"], "oauth-visible");
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.contains(&"nc_notes_get_note".to_string()));
    assert!(
        !names.contains(&"nc_notes_create_note".to_string()),
        "{names:?}"
    );
    let _ = client.cancel().await;
    let refused = reqwest::Client::new()
        .post(&srv.mcp_url)
        .bearer_auth(&access)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "nc_notes_create_note", "arguments": {"title": "t", "content": "c", "category": ""}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("notes.write"),
        "{challenge}"
    );

    // A second authorization in the same browser: consent only, then straight back with a
    // code (no Nextcloud login), this time with notes.write.
    let req2 = AuthRequest::new(&srv, &client_id);
    let resp = consent(&mut browser, &srv, &req2, &["notes.read", "notes.write"]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    assert!(to.starts_with(REDIRECT), "{to}");
    let code2 = query_of(&to)["code"].clone();
    let (status, tokens2) = exchange(&srv, &req2, &code2).await;
    assert_eq!(status, StatusCode::OK, "{tokens2}");
    let writer = tokens2["access_token"].as_str().unwrap();
    let client = connect_http(&srv.mcp_url, Transport::HttpStateless, Some(writer)).await;
    let category = common::unique_category("oauth-write");
    let note = call_ok(
        &client,
        "nc_notes_create_note",
        json!({"title": "written via oauth", "content": "ok", "category": category}),
    )
    .await;
    let id = note["id"].as_u64().unwrap();
    assert_eq!(
        nc.direct().notes().get(id).await.unwrap().title,
        "written via oauth"
    );
    let _ = client.cancel().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn authorize_errors() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Errors").await;
    let mut browser = Browser::new();

    // Unknown client and unregistered redirect URI: an error page, never a redirect.
    let mut req = AuthRequest::new(&srv, "no-such-client");
    let resp = browser.get(&req.url(&srv)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().await.unwrap().contains("unknown client_id"));
    req.client_id = client_id.clone();
    for wrong in [
        "http://127.0.0.1:33418/other",
        "https://attacker.example.com/callback",
        "http://127.0.0.1:33418/callback/",
    ] {
        req.redirect_uri = wrong.into();
        let resp = browser.get(&req.url(&srv)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{wrong}");
        assert!(resp.headers().get("location").is_none());
    }

    // Errors after the redirect URI is trusted go back to the client, with state and iss.
    let expect_error = |resp: &reqwest::Response, error: &str, state: &str| {
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let q = query_of(&location(resp));
        assert_eq!(q["error"], error, "{q:?}");
        assert_eq!(q["state"], state);
    };
    let base = AuthRequest::new(&srv, &client_id);
    let url_without = |name: &str, replace: Option<(&str, &str)>| {
        let mut u = url::Url::parse(&format!("{}/oauth/authorize", srv.base)).unwrap();
        for (k, v) in base.params() {
            if k == name {
                if let Some((_, nv)) = replace {
                    u.query_pairs_mut().append_pair(k, nv);
                }
            } else {
                u.query_pairs_mut().append_pair(k, &v);
            }
        }
        u.to_string()
    };
    let resp = browser.get(&url_without("code_challenge", None)).await;
    expect_error(&resp, "invalid_request", &base.state);
    assert!(query_of(&location(&resp))["error_description"].contains("PKCE"));
    let resp = browser
        .get(&url_without("code_challenge_method", Some(("", "plain"))))
        .await;
    expect_error(&resp, "invalid_request", &base.state);
    let resp = browser
        .get(&url_without(
            "resource",
            Some(("", "https://other.example.com/mcp")),
        ))
        .await;
    expect_error(&resp, "invalid_target", &base.state);
    let resp = browser
        .get(&url_without("response_type", Some(("", "token"))))
        .await;
    expect_error(&resp, "unsupported_response_type", &base.state);
    let resp = browser
        .get(&url_without("scope", Some(("", "openid admin"))))
        .await;
    expect_error(&resp, "invalid_scope", &base.state);

    // The consent form only counts from this browser's consent page (CSRF).
    let params = base.params();
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("grant_scope", "notes.read"));
    form.push(("action", "allow"));
    let mut stranger = Browser::new();
    let resp = stranger
        .post_form(&format!("{}/oauth/authorize", srv.base), &form)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    form.push(("csrf", "nsx_forged-value-forged-value-forged-value-000"));
    let resp = stranger
        .post_form(&format!("{}/oauth/authorize", srv.base), &form)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Nothing ticked: the page asks again. Deny: access_denied to the client.
    let resp = consent(&mut browser, &srv, &base, &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("at least one"));
    let csrf = browser.csrf();
    let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("csrf", &csrf));
    form.push(("action", "deny"));
    let resp = browser
        .post_form(&format!("{}/oauth/authorize", srv.base), &form)
        .await;
    expect_error(&resp, "access_denied", &base.state);

    // The progress page belongs to the browser that started it.
    let resp = consent(&mut browser, &srv, &base, &["notes.read"]).await;
    let progress = format!("{}{}", srv.base, location(&resp));
    let resp = Browser::new().get(&progress).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // A login not completed within 20 minutes: access_denied back to the client.
    srv.auth().advance_clock(LOGIN_TTL + 1);
    let resp = browser.get(&progress).await;
    expect_error(&resp, "access_denied", &base.state);
    assert!(query_of(&location(&resp))["error_description"].contains("20 minutes"));
}

#[tokio::test]
async fn token_endpoint_errors() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Tokens").await;
    let other_client = register_public(&srv.base, "Other").await;
    let mut browser = Browser::new();

    // Bad PKCE: refused, and the code is burnt (a thief cannot retry).
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (status, e) = token_request(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce().0),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].as_str().unwrap().contains("PKCE"));
    let (status, _) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Reused code: refused, and the tokens of its first use are revoked.
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (status, tokens) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(mcp_status(&srv, access).await, StatusCode::OK);
    let (status, e) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(mcp_status(&srv, access).await, StatusCode::UNAUTHORIZED);

    // Wrong redirect URI, wrong client, wrong resource, expired code.
    let mut req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    req.redirect_uri = "http://127.0.0.1:33418/elsewhere".into();
    let (status, e) = exchange(&srv, &req, &code).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let mut req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    req.client_id = other_client.clone();
    let (status, e) = exchange(&srv, &req, &code).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let mut req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    req.resource = "https://other.example.com/mcp".into();
    let (status, e) = exchange(&srv, &req, &code).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );

    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    srv.auth().advance_clock(CODE_TTL + 1);
    let (status, e) = exchange(&srv, &req, &code).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Unknown client, unknown grant type, missing parameters.
    let (status, e) = token_request(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "nobody"),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, e) = token_request(
        &srv,
        &[("grant_type", "password"), ("client_id", &client_id)],
    )
    .await;
    assert_eq!(e["error"], "unsupported_grant_type", "{status}");
    let (status, e) = token_request(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[tokio::test]
async fn refresh_rotation_reuse_and_expiry() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Refresher").await;
    let mut browser = Browser::new();
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read", "notes.write"]).await;
    let (_, first) = exchange(&srv, &req, &code).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();

    // Rotation: a new pair; the scope can be narrowed, never widened.
    let (status, second) = refresh(&srv, &client_id, &r1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(second["scope"], "notes.read notes.write");
    let (status, e) = token_request(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("client_id", &client_id),
            ("scope", "files.read"),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    // (that refused request did not consume r2)
    let (status, third) = token_request(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("client_id", &client_id),
            ("scope", "notes.read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["scope"], "notes.read");
    let r3 = third["refresh_token"].as_str().unwrap().to_string();
    let a3 = third["access_token"].as_str().unwrap().to_string();
    assert_eq!(mcp_status(&srv, &a3).await, StatusCode::OK);

    // Replaying r1: refused, and the whole family dies (r3 and a3 too).
    let (status, e) = refresh(&srv, &client_id, &r1).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    let (status, _) = refresh(&srv, &client_id, &r3).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(mcp_status(&srv, &a3).await, StatusCode::UNAUTHORIZED);

    // Another client cannot use someone's refresh token.
    let other = register_public(&srv.base, "Thief").await;
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (_, t) = exchange(&srv, &req, &code).await;
    let (status, _) = refresh(&srv, &other, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Access tokens are short-lived; refresh tokens expire too.
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (_, t) = exchange(&srv, &req, &code).await;
    let access = t["access_token"].as_str().unwrap();
    let refresh_token = t["refresh_token"].as_str().unwrap();
    assert_eq!(mcp_status(&srv, access).await, StatusCode::OK);
    srv.auth().advance_clock(ACCESS_TTL + 1);
    assert_eq!(mcp_status(&srv, access).await, StatusCode::UNAUTHORIZED);
    srv.auth().advance_clock(REFRESH_TTL);
    let (status, e) = refresh(&srv, &client_id, refresh_token).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The clean-up task forgets grants whose every token expired: no connected client is
    // listed forever.
    let multi = srv.server.state().multi.clone().unwrap();
    assert!(
        !multi
            .store
            .grants_of_user(EMU_USER)
            .await
            .unwrap()
            .is_empty()
    );
    multi
        .store
        .delete_expired_oauth(srv.auth().now())
        .await
        .unwrap();
    assert!(
        multi
            .store
            .grants_of_user(EMU_USER)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn revocation_and_connected_clients_page() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let desktop = register_public(&srv.base, "Desktop Assistant").await;
    let web = register_public(&srv.base, "Web Assistant").await;
    let mut browser = Browser::new();
    let mut tokens = HashMap::new();
    for client in [&desktop, &web, &desktop] {
        let req = AuthRequest::new(&srv, client);
        let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
        let (status, t) = exchange(&srv, &req, &code).await;
        assert_eq!(status, StatusCode::OK);
        tokens
            .entry(client.clone())
            .or_insert_with(Vec::new)
            .push(t);
    }
    let multi = srv.server.state().multi.clone().unwrap();
    let stored = multi.store.app_password(EMU_USER).await.unwrap().unwrap();
    let app_user = nextcloud::Nextcloud::new(nc.client_config())
        .unwrap()
        .user(stored.credentials());
    app_user
        .current_user()
        .await
        .expect("stored app password works");

    // RFC 7009: another client's revocation has no effect; the owner's ends the grant.
    let d0 = &tokens[&desktop][0];
    let revoke = |client: String, token: String| {
        let base = srv.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/oauth/revoke"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form_body(&[
                    ("token", token.as_str()),
                    ("client_id", client.as_str()),
                ]))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let d0_access = d0["access_token"].as_str().unwrap().to_string();
    let d0_refresh = d0["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        revoke(web.clone(), d0_refresh.clone()).await,
        StatusCode::OK
    );
    assert_eq!(mcp_status(&srv, &d0_access).await, StatusCode::OK);
    assert_eq!(
        revoke(desktop.clone(), d0_refresh.clone()).await,
        StatusCode::OK
    );
    assert_eq!(mcp_status(&srv, &d0_access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoke(desktop.clone(), "nca_unknown".into()).await,
        StatusCode::OK
    );
    // Still two grants left: the app password stays.
    app_user.current_user().await.expect("still works");

    // The connections page, signed in by the earlier login in this browser.
    let page = browser
        .get(&format!("{}/oauth/connections", srv.base))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Desktop Assistant") && html.contains("Web Assistant"),
        "{html}"
    );
    assert!(html.contains(&format!("Signed in as <strong>{EMU_USER}</strong>")));
    let grants = multi.store.grants_of_user(EMU_USER).await.unwrap();
    assert_eq!(grants.len(), 2);
    // A stranger (no session) sees a sign-in button, not the list.
    let html = Browser::new()
        .get(&format!("{}/oauth/connections", srv.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in with Nextcloud") && !html.contains("Web Assistant"));

    // Disconnect one: the other keeps working, the app password stays.
    let csrf = browser.csrf();
    for (i, g) in grants.iter().enumerate() {
        let resp = browser
            .post_form(
                &format!("{}/oauth/connections", srv.base),
                &[("csrf", &csrf), ("grant", &g.id), ("action", "disconnect")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        if i == 0 {
            assert_eq!(multi.store.grants_of_user(EMU_USER).await.unwrap().len(), 1);
            app_user.current_user().await.expect("still works");
        }
    }
    // The last one gone: the app password is revoked in Nextcloud and forgotten here.
    assert!(
        multi
            .store
            .grants_of_user(EMU_USER)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(multi.store.app_password(EMU_USER).await.unwrap().is_none());
    assert!(
        app_user.current_user().await.is_err(),
        "revoked in Nextcloud"
    );
    for t in tokens.values().flatten() {
        assert_eq!(
            mcp_status(&srv, t["access_token"].as_str().unwrap()).await,
            StatusCode::UNAUTHORIZED
        );
    }
    // And the browser session ended with it.
    let html = browser
        .get(&format!("{}/oauth/connections", srv.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in with Nextcloud"));
}

/// Deleting the stored app password through the REST API ends the person's OAuth grants:
/// their tokens stop working at once instead of reaching a server with no access.
#[tokio::test]
async fn app_password_api_delete_ends_oauth_grants() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let client = register_public(&srv.base, "Assistant").await;
    let mut browser = Browser::new();
    let req = AuthRequest::new(&srv, &client);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (status, tokens) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(mcp_status(&srv, access).await, StatusCode::OK);

    let multi = srv.server.state().multi.clone().unwrap();
    let stored = multi.store.app_password(EMU_USER).await.unwrap().unwrap();
    let resp = reqwest::Client::new()
        .delete(format!("{}/api/v1/users/{EMU_USER}/app-password", srv.base))
        .basic_auth(EMU_USER, Some(stored.password.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["deleted"], true, "{body}");
    assert_eq!(body["revoked"], true, "{body}");

    assert!(multi.store.app_password(EMU_USER).await.unwrap().is_none());
    assert!(
        multi
            .store
            .grants_of_user(EMU_USER)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(mcp_status(&srv, access).await, StatusCode::UNAUTHORIZED);
    let (status, err) = refresh(&srv, &client, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant", "{err}");
    // The browser session ended too: authorizing again needs a new Nextcloud login.
    let html = browser
        .get(&format!("{}/oauth/connections", srv.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in with Nextcloud"), "{html}");
}

/// With the built-in authorization server the caller *is* the Nextcloud user who logged in: a
/// scope change through the `nc_auth_*` tools that someone else grants in Nextcloud is refused,
/// and the app password it produced is revoked at once.
#[tokio::test]
async fn tools_refuse_a_login_by_another_account() {
    const BOB: (&str, &str) = ("bob", "bob-login-password-0123456789");
    let nc = TestNextcloud::start_with(|b| b.user(BOB.0, BOB.1)).await;
    if !needs_emulator(&nc) {
        return;
    }
    let emu = nc.emulator().unwrap();
    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Assistant").await;
    let mut browser = Browser::new();
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (status, tokens) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let multi = srv.server.state().multi.clone().unwrap();
    let first = multi.store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_eq!(first.origin, nextcloud_mcp::db::Origin::AuthorizationServer);
    assert_eq!(
        multi
            .store
            .account_binding(EMU_USER)
            .await
            .unwrap()
            .as_deref(),
        Some(EMU_USER)
    );

    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(access)).await;
    let r = call(
        &client,
        "nc_auth_update_scopes",
        json!({"remove_scopes": ["deck.write"]}),
    )
    .await;
    let o = r.structured_content.clone().unwrap();
    assert_eq!(o["status"], "login_required", "{o}");
    let bobs_before = emu.app_passwords(BOB.0);
    let done = nextcloud_login(o["login_url"].as_str().unwrap(), BOB.0, BOB.1).await;
    assert!(done.contains("Account connected"), "{done}");
    let r = call(&client, "nc_auth_check_status", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    let msg = text_of(&r);
    assert!(msg.contains("`bob`") && msg.contains("`alice`"), "{msg}");
    assert_eq!(
        emu.app_passwords(BOB.0),
        bobs_before,
        "bob's new password revoked"
    );
    let now = multi.store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_eq!(now.password.expose(), first.password.expose());
    assert_eq!(now.scopes, first.scopes);
    // Alice's client keeps working with her own access.
    call_ok(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    let _ = client.cancel().await;
}

/// Node, the npm packages `needs` (in `PLAYWRIGHT_DIR`, default `.ci/.cache/browser-node/
/// node_modules`, where `.ci/run` installs them) and Chromium (`CHROMIUM`, default
/// `/usr/bin/chromium`); `None` (the test prints `skipped:`) when one is missing, except
/// under `CI_REQUIRE_BROWSER`, where that fails the test.
fn browser_tools(needs: &[&str]) -> Option<(std::path::PathBuf, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let node_modules = std::env::var_os("PLAYWRIGHT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join(".ci/.cache/browser-node/node_modules"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node_works = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if node_works
        && needs.iter().all(|p| node_modules.join(p).is_dir())
        && std::path::Path::new(&chromium).exists()
    {
        return Some((node_modules, chromium));
    }
    assert!(
        std::env::var_os("CI_REQUIRE_BROWSER").is_none(),
        "CI_REQUIRE_BROWSER is set, but node, {needs:?} (in {}) or Chromium ({chromium}) is missing",
        node_modules.display()
    );
    println!(
        "skipped: needs node, {needs:?} in {} and Chromium at {chromium}",
        node_modules.display()
    );
    None
}

/// Runs a script of `tests/browser/` with one JSON argument; its last stdout line is JSON.
async fn run_browser_script(
    script: &str,
    input: Value,
    node_modules: std::path::PathBuf,
    chromium: String,
) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    // Blocking on the pool: the server under test keeps running on this runtime meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .arg(input.to_string())
            .env("PLAYWRIGHT_DIR", node_modules)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the browser script failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The whole dance in a real headless Chromium (driven by `tests/browser/oauth_dance.mjs`
/// with playwright-core): consent page (a screenshot is kept as a test artefact), a scope
/// unticked, the emulator's Nextcloud login in a new tab, the redirect to the client's
/// loopback callback; then the code is exchanged here and a tool called with the token.
/// `.ci/run` installs Chromium and playwright-core and sets `CI_REQUIRE_BROWSER`, so the
/// test cannot skip there.
#[tokio::test]
async fn browser_end_to_end() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let Some((node_modules, chromium)) = browser_tools(&["playwright-core"]) else {
        return;
    };

    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Browser Assistant").await;
    let mut req = AuthRequest::new(&srv, &client_id);
    let screenshot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("oauth-consent-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let input = json!({
        "base": srv.base,
        "client_id": client_id,
        "code_challenge": req.challenge,
        "state": req.state,
        "scope": req.scope,
        "resource": req.resource,
        "untick": "notes.write",
        "user": EMU_USER,
        "password": EMU_PASSWORD,
        "screenshot": screenshot,
    });
    let result = run_browser_script("oauth_dance.mjs", input, node_modules, chromium).await;

    // The consent page was rendered and kept.
    let png = std::fs::read(&screenshot).expect("screenshot of the consent page");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");

    // Back at the client: state and iss as sent, a code that works once, with PKCE.
    let callback = result["callback"].as_str().unwrap();
    let q = query_of(callback);
    assert_eq!(q["state"], req.state);
    assert_eq!(q["iss"], srv.base);
    req.redirect_uri = result["redirect_uri"].as_str().unwrap().to_string();
    let (status, tokens) = exchange(&srv, &req, &q["code"]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        tokens["scope"], "files.read notes.read",
        "the unticked scope is gone"
    );
    let access = tokens["access_token"].as_str().unwrap();

    let created = nc
        .direct()
        .notes()
        .create(&nextcloud::notes::NewNote {
            title: "seen through the browser dance".into(),
            content: "ok".into(),
            category: common::unique_category("oauth-browser"),
            ..Default::default()
        })
        .await
        .expect("note");
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(access)).await;
    let got = call_ok(&client, "nc_notes_get_note", json!({"note_id": created.id})).await;
    assert_eq!(got["title"], "seen through the browser dance");
    let _ = client.cancel().await;
}

/// Interoperability with a real MCP client library doing OAuth: the TypeScript SDK's client
/// (`tests/browser/sdk_client.mjs`) starts from the MCP URL alone, discovers, registers,
/// sends the browser (headless Chromium) through consent and the Nextcloud login, exchanges
/// the code, calls a tool, and refreshes its token.
#[tokio::test]
async fn typescript_sdk_client_interop() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let Some((node_modules, chromium)) =
        browser_tools(&["playwright-core", "@modelcontextprotocol/sdk"])
    else {
        return;
    };
    let srv = start_server(&nc, None).await;
    let created = nc
        .direct()
        .notes()
        .create(&nextcloud::notes::NewNote {
            title: "read by the TypeScript SDK".into(),
            content: "ok".into(),
            category: common::unique_category("oauth-sdk"),
            ..Default::default()
        })
        .await
        .expect("note");
    let input = json!({
        "mcp_url": srv.mcp_url,
        "user": EMU_USER,
        "password": EMU_PASSWORD,
        "note_id": created.id,
    });
    let result = run_browser_script("sdk_client.mjs", input, node_modules, chromium).await;
    let tool = &result["tool_result"];
    assert_ne!(tool["isError"], true, "{tool}");
    assert_eq!(
        tool["structuredContent"]["title"], "read by the TypeScript SDK",
        "{tool}"
    );
    assert_eq!(result["refreshed"], true, "{result}");
    // The SDK registered itself dynamically; the registration is in the store.
    let client_id = result["client_id"].as_str().unwrap();
    let multi = srv.server.state().multi.clone().unwrap();
    let client = multi
        .store
        .oauth_client(client_id)
        .await
        .unwrap()
        .expect("registered client persisted");
    assert_eq!(client.client_name.as_deref(), Some("TypeScript SDK client"));
    assert!(multi.store.app_password(EMU_USER).await.unwrap().is_some());
}

#[tokio::test]
async fn client_id_metadata_documents() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let docs = format!("http://{}", listener.local_addr().unwrap());
    let good = format!("{docs}/client.json");
    let liar = format!("{docs}/liar.json");
    let (g, l) = (good.clone(), liar.clone());
    let app = axum::Router::new()
        .route(
            "/client.json",
            axum::routing::get(move || {
                let g = g.clone();
                async move {
                    axum::Json(json!({"client_id": g, "client_name": "Metadata Client",
                        "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
                }
            }),
        )
        .route(
            "/liar.json",
            axum::routing::get(move || {
                let _ = &l;
                async move {
                    axum::Json(
                        json!({"client_id": "https://someone-else.example/client.json",
                        "redirect_uris": [REDIRECT]}),
                    )
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // By default a metadata URL on a private address is refused (no SSRF into the network).
    let mut browser = Browser::new();
    let private = AuthRequest::new(&srv, "https://127.0.0.1:1/client.json");
    let resp = browser.get(&private.url(&srv)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("public addresses"));

    srv.auth().allow_private_metadata_hosts();
    let req = AuthRequest::new(&srv, &liar);
    let resp = browser.get(&req.url(&srv)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("differs from its URL"));

    let req = AuthRequest::new(&srv, &good);
    let page = browser.get(&req.url(&srv)).await;
    assert!(page.text().await.unwrap().contains("Metadata Client"));
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (status, t) = exchange(&srv, &req, &code).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let client = connect_http(
        &srv.mcp_url,
        Transport::HttpSession,
        t["access_token"].as_str(),
    )
    .await;
    call_ok(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    let _ = client.cancel().await;
}

/// Faults shipped by other Nextcloud MCP servers' home-made authorization servers.
#[tokio::test]
async fn faults_other_servers_shipped() {
    let nc = TestNextcloud::start().await;
    if !needs_emulator(&nc) {
        return;
    }
    let srv = start_server(&nc, None).await;
    let client_id = register_public(&srv.base, "Fault Finder").await;

    // 1. A credential check that never ran: a wrong Nextcloud password grants nothing; the
    //    page keeps waiting and no code is issued.
    let mut browser = Browser::new();
    let req = AuthRequest::new(&srv, &client_id);
    let resp = consent(&mut browser, &srv, &req, &["notes.read"]).await;
    let progress = format!("{}{}", srv.base, location(&resp));
    let html = browser.get(&progress).await.text().await.unwrap();
    let failed = nextcloud_login(&login_link(&html), EMU_USER, "wrong-password").await;
    assert!(failed.contains("Wrong login or password"), "{failed}");
    let again = browser.get(&progress).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers().get("location").is_none());
    // ... and a confidential client's secret is really checked.
    let resp = register(
        &srv.base,
        json!({"client_name": "Secretive", "redirect_uris": [REDIRECT]}),
    )
    .await;
    let conf: Value = resp.json().await.unwrap();
    let (status, e) = token_request(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "ncr_x"),
            ("client_id", conf["client_id"].as_str().unwrap()),
            ("client_secret", "ncs_wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, e) = token_request(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "ncr_x"),
            ("client_id", conf["client_id"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // 2. A password echoed into a token's scope: the scope holds scope names only, and no
    //    token or response carries the app password.
    let mut browser = Browser::new();
    let req = AuthRequest::new(&srv, &client_id);
    let code = authorize_fully(&mut browser, &srv, &req, &["notes.read"]).await;
    let (_, t) = exchange(&srv, &req, &code).await;
    let multi = srv.server.state().multi.clone().unwrap();
    let app_password = multi
        .store
        .app_password(EMU_USER)
        .await
        .unwrap()
        .unwrap()
        .password;
    assert_eq!(t["scope"], "notes.read");
    assert!(!t.to_string().contains(app_password.expose()));
    assert!(!t.to_string().contains(EMU_PASSWORD));

    // 3. A token store readable by other users: the SQLite file is private to its owner and
    //    holds no token or password in clear.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&srv.db).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "store file mode {mode:o}");
    }
    let raw = std::fs::read(&srv.db).unwrap();
    let wal = std::fs::read(srv.db.with_extension("db-wal")).unwrap_or_default();
    for secret in [
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
        app_password.expose(),
        &code,
    ] {
        let needle = secret.as_bytes();
        for bytes in [&raw, &wal] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a secret is stored in clear"
            );
        }
    }
    // ... and one client cannot read (introspect via revoke) or end another's tokens: covered
    // in revocation_and_connected_clients_page; one person's token never acts as another:
    let access = t["access_token"].as_str().unwrap();
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(access)).await;
    let r = call(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
    let _ = client.cancel().await;

    // 4. Refresh tokens that never expire: they do (refresh_rotation_reuse_and_expiry), and
    //    the expiry is bounded here too.
    const { assert!(REFRESH_TTL <= 90 * 24 * 3600) };

    // 5. An unknown client accepted without redirect-URI checks: refused at /authorize (no
    //    redirect) and at /token.
    let rogue = AuthRequest::new(&srv, "rogue-client");
    let resp = Browser::new().get(&rogue.url(&srv)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    let (status, e) = exchange(&srv, &rogue, &code).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}
