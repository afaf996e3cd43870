//! Multi-user HTTP: `login_flow` bearer tokens (JWTs signed by a test key served as JWKS by an
//! in-test issuer), RFC 9728 metadata, scope enforcement (HTTP 403 and tool errors), and
//! `multi_user_basic` with per-request Basic credentials. Needs the emulator.

mod common;

use std::time::Duration;

use common::{TestNextcloud, Transport, call, call_ok, connect_http, text_of};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use nextcloud_mcp::cli::{DeploymentMode, RunArgs};
use nextcloud_mcp::config::Config;
use serde_json::{Value, json};

const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCYowAVphKEwUHP\nfqOJCHQD61uJ3PWCMR/5jBQ7SoaXxbRb5GHcH3UT9h3LLciCo+q7VlQbhETbTVkg\nNDb9x5N+N7gVB9dSPd5w7Ee1jjG4zo+fhLhWUGDxxcl1M0kGlBo17A97h4ZisLw9\nH2w2/47QO54u3juErsOKAHfgtgd3Db//4+ZASKm1f8FrR9mamH2DWDeRGoOeJfUB\nanTHD3gFEkvuq78hnKZsyz26t1HsmCVb5b64t6xO6JiZ+a/yYVDstJ6Vi5kPO6R0\n3xTfm3MLQqC9rCzR+sISKUAxw0u+eKsV9i0+P0PiH7/QWgBsqzp0ZLMCknjVWv8F\niQFfmKMrAgMBAAECggEAMA6SBj7lcbrPF59NqeVpcZp2la9l9Pm2kYFTFV/fhIWQ\nxaXgUcftur0woDnn+YnWa+lATfGVJF70Armt3rUpcQHmCWkQmCo2kOMzqKv+Z6tR\neO32g+aGv1iAl0/wXAvhPLz4GvKOkyAGBFCSZ7aKpnE+2o7Junqzwg1nsO5e51KG\nTXF02Ks2ZXIC+sf0v7piKTdAZDor+etPLyPAvEQfMxvtrLTvdyz7rXCJqjlO1ASS\nc/JCIdb9dg75LGUa/7ZbVYXlZMTsfa58qmMxEvrYyvG3usnyd3rsLyZR+Nu7P5w4\nNB42R9mkgXMTC9KNFZV5+c/FnVxBKNi26dkMkqPUoQKBgQDQUWOWNBvOwLduarY8\nZfxV7MXBqLdiO4SuYtVOGhi/Zb/wZo2sahX81cv4q8AYGFYuO41ew8cDvWypA5qA\njySRby9QcAPafaABHKKPt790XwEYzYqwM+BfIq+T9Zm07xZiU4rz/3VbQ/OjJ/TJ\nagVRodplZBjXNlTG2iUaHS6ZiQKBgQC7kulk1vMgRtXd+OoneEMZxaaDwpbjf956\nE7C4Z5Mmza8ZsZ9sXcuPCMOUbVgI58sUE8GIedOpBtifnyCjVKFUH8kCe3SF7+MF\nnqidMqEdixlTLawN24x1ONeglTiy+0K5TxS4FzZWwEVqXL6ILGCWFBm1AKN8MFun\nrItmrh/OEwKBgEu6Sol/x9wREp2BDV5HdMOHnxwXSRLcsA70vrX1pqltQ6kQns/e\ngL+4uL1dMieQMUP9QhcA9IfXhHisZq31W0XDNV/4WG5E3LWKw02bbm3PW4a4sYH8\nWcQ7x7fxwD6V630zAYBRjUfwG9Fj5QiTEfvq6omRKbaSeZ8QDgzALwCBAoGBAIBR\nGyrpxP6ilrG4E28W3UhnJudiGdjd47M9fxpXeJoGATAhi78VVyitRSZnut60uv8s\nGKwlMz+hOFXSBQDW51pmOBtjmy35EiQJCq4nMYLFYni9eMMuGyMh1Ji9HEGMk3Oz\nfqgE8R5df98oPQto2FYyv/dLzYsqhbjp159RpN5TAoGBAMrbcQ8s1JYseBGEsKd/\noLZxcb5W9d/kkuxTSDk9lUHSw/4DMhgO/WQeO9vQokIjzu2kjMTs6vpiS4EqiuGz\nno6mY46yJBJlypEdICRzQsSG0EV4zufcd8AYVf3fvU2QttVbSJgAqfQpuuIcUYap\nOSInNTYQLVYZ+jPcvgdpOPs7\n-----END PRIVATE KEY-----";
const TEST_KEY_N: &str = "mKMAFaYShMFBz36jiQh0A-tbidz1gjEf-YwUO0qGl8W0W-Rh3B91E_Ydyy3IgqPqu1ZUG4RE201ZIDQ2_ceTfje4FQfXUj3ecOxHtY4xuM6Pn4S4VlBg8cXJdTNJBpQaNewPe4eGYrC8PR9sNv-O0DueLt47hK7DigB34LYHdw2__-PmQEiptX_Ba0fZmph9g1g3kRqDniX1AWp0xw94BRJL7qu_IZymbMs9urdR7JglW-W-uLesTuiYmfmv8mFQ7LSelYuZDzukdN8U35tzC0Kgvaws0frCEilAMcNLvnirFfYtPj9D4h-_0FoAbKs6dGSzApJ41Vr_BYkBX5ijKw";
const ENC_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A minimal OIDC issuer: discovery document plus JWKS.
async fn start_issuer() -> String {
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

fn token(issuer: &str, audience: &str, sub: &str, scope: &str, ttl: i64) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key".into());
    let now = chrono::Utc::now().timestamp();
    encode(
        &header,
        &json!({"iss": issuer, "aud": audience, "sub": sub, "scope": scope, "exp": now + ttl, "iat": now}),
        &EncodingKey::from_rsa_pem(TEST_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

struct Server {
    mcp_url: String,
    base: String,
    server: nextcloud_mcp::NextcloudMcp,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start_server(nc: &TestNextcloud, mode: DeploymentMode, issuer: Option<&str>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = std::env::temp_dir().join(format!("ncmcp-mu-{}-{}", std::process::id(), addr.port()));
    let mut flags = vec![
        "--transport=streamable-http".to_string(),
        format!("--port={}", addr.port()),
        format!("--nextcloud-host={}", nc.base_url),
        format!("--deployment-mode={}", mode.as_str()),
        format!("--token-encryption-key={ENC_KEY}"),
        format!("--token-storage-db={}", dir.join("tokens.db").display()),
        format!("--search-index-dir={}", dir.join("search").display()),
    ];
    if let Some(i) = issuer {
        flags.push(format!(
            "--oidc-discovery-url={i}/.well-known/openid-configuration"
        ));
    }
    let config = Config::resolve(RunArgs::from_flags(flags).expect("flags")).expect("config");
    let server = nextcloud_mcp::build_multi_user_server(&config)
        .await
        .expect("server");
    let s = server.clone();
    let http = config.http.clone();
    tokio::spawn(async move {
        let _ =
            nextcloud_mcp::transport::http::serve(s, &http, listener, std::future::pending()).await;
    });
    Server {
        mcp_url: format!("http://{addr}/mcp"),
        base: format!("http://{addr}"),
        server,
        _dir: TempDir(dir),
    }
}

async fn raw_tool_call(url: &str, token: &str, tool: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}}).to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_flow_bearer_tokens_and_scopes() {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (stores an app password for a test user)");
        return;
    }
    let issuer = start_issuer().await;
    let srv = start_server(&nc, DeploymentMode::LoginFlow, Some(&issuer)).await;
    let aud = srv.mcp_url.clone();
    let http = reqwest::Client::new();

    // RFC 9728 metadata, both forms, with the scope vocabulary.
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let meta: Value = http
            .get(format!("{}{path}", srv.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["resource"], aud.as_str());
        assert_eq!(meta["authorization_servers"][0], issuer.as_str());
        let scopes = meta["scopes_supported"].as_array().unwrap();
        assert!(scopes.contains(&json!("semantic.read")) && scopes.contains(&json!("notes.write")));
    }

    // No token, a forged one, a wrong audience, an expired one: 401 with the metadata URL.
    let resp = raw_tool_call(&srv.mcp_url, "", "nc_notes_get_note").await;
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            srv.base
        )),
        "{challenge}"
    );
    let good = token(&issuer, &aud, "alice", "notes.read notes.write", 300);
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });
    for bad in [
        forged,
        token(
            &issuer,
            "https://other.example.com/mcp",
            "alice",
            "notes.read",
            300,
        ),
        token(&issuer, &aud, "alice", "notes.read", -120),
        token("https://evil.example.com", &aud, "alice", "notes.read", 300),
    ] {
        let resp = raw_tool_call(&srv.mcp_url, &bad, "nc_notes_get_note").await;
        assert_eq!(resp.status(), 401);
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }

    // A token without notes.write: the HTTP layer refuses a writing tool with 403.
    let read_only = token(&issuer, &aud, "alice", "notes:read", 300);
    let resp = raw_tool_call(&srv.mcp_url, &read_only, "nc_notes_create_note").await;
    assert_eq!(resp.status(), 403);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"notes.write\""),
        "{challenge}"
    );

    // Not provisioned yet: app tools say how to provision.
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&good)).await;
    let r = call(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        text_of(&r).contains("nc_auth_provision_access"),
        "{}",
        text_of(&r)
    );

    // Provisioned with a stored restriction to notes.read: effective = token ∩ stored.
    let multi = srv.server.state().multi.clone().unwrap();
    multi
        .store
        .put_app_password(&nextcloud_mcp::db::NewAppPassword {
            user_id: "alice",
            login_name: &nc.username,
            password: &nc.password,
            scopes: Some(&["notes.read".to_string()]),
            origin: nextcloud_mcp::db::Origin::Api,
        })
        .await
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    assert!(
        names.contains(&"nc_notes_search_notes".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"nc_notes_create_note".to_string()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("nc_webdav_")),
        "token has no files scope"
    );
    call_ok(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    let r = call(
        &client,
        "nc_notes_create_note",
        json!({"title": "t", "content": "c", "category": ""}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let msg = text_of(&r);
    assert!(
        msg.contains("notes.write") && msg.contains("nc_auth_update_scopes"),
        "{msg}"
    );
    assert!(!msg.contains(&nc.password));

    // Lifting the stored restriction lets the token's scopes through.
    multi.store.set_scopes("alice", None).await.unwrap();
    let names: Vec<_> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.contains(&"nc_notes_create_note".to_string()));
    let _ = client.cancel().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn multi_user_basic_uses_each_requests_credentials() {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator");
        return;
    }
    let srv = start_server(&nc, DeploymentMode::MultiUserBasic, None).await;
    let resp = reqwest::Client::new()
        .post(&srv.mcp_url)
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );

    use base64::Engine;
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    // rmcp's client sends `Bearer <value>`; use a raw header through a custom client instead.
    let client = connect_basic(&srv.mcp_url, &basic(&nc.username, &nc.password)).await;
    call_ok(
        &client,
        "nc_notes_create_note",
        json!({"title": "Private", "content": "the vault code is platypus", "category": ""}),
    )
    .await;
    let own = call_ok(
        &client,
        "nc_notes_search_notes",
        json!({"query": "platypus"}),
    )
    .await;
    assert!(own.to_string().contains("Private"), "{own}");
    // The right login with a wrong password gets Nextcloud's 401 from the search index too,
    // although the index holds that login's notes and its sync interval has not passed.
    let wrong = connect_basic(
        &srv.mcp_url,
        &basic(&nc.username, "wrong-password-0000000000"),
    )
    .await;
    for query in ["x", "platypus"] {
        let r = call(&wrong, "nc_notes_search_notes", json!({"query": query})).await;
        assert_eq!(r.is_error, Some(true), "{}", text_of(&r));
        assert!(text_of(&r).contains("401"), "{}", text_of(&r));
        assert!(!text_of(&r).contains("wrong-password"));
        assert!(!text_of(&r).contains("vault"));
    }
    let r = call(&wrong, "nc_get_vector_sync_status", json!({})).await;
    assert_eq!(r.is_error, Some(true), "{}", text_of(&r));
    assert!(text_of(&r).contains("401"), "{}", text_of(&r));
    // No provisioning tools outside login_flow.
    let names: Vec<_> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("nc_auth_")));
}

async fn connect_basic(url: &str, authorization: &str) -> common::Client {
    use rmcp::ServiceExt;
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
