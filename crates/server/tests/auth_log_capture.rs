//! Secrets never reach a log line or a tool result: runs the representative multi-user flows
//! (Login Flow provisioning with elicitation on both protocols, a scope change with
//! revocation, refused bearer tokens, the app-password REST API with right and wrong
//! passwords, `multi_user_basic` with right and wrong passwords) under a capturing tracing
//! subscriber at debug level (trace for our crates), then searches every captured line and
//! every tool result for each password, app password, poll token and bearer token used.

mod common;
mod multi_common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{EMU_PASSWORD, EMU_USER, TestNextcloud, text_of};
use multi_common::{
    Elicitor, TestDb, browser_login, call_any, connect_eliciting, out, start_issuer, start_server,
    token,
};
use nextcloud_mcp::cli::DeploymentMode;
use rmcp::model::ElicitationAction;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

const APP: &str = "Lllll-Ooooo-Ggggg-Ccccc-Aaaaa";
const WRONG: &str = "Wwwww-Rrrrr-Ooooo-Nnnnn-Ggggg";

#[tokio::test]
async fn no_secret_in_logs_or_tool_results() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,nextcloud_mcp=trace,nextcloud=trace,nextcloud_emulator=trace",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let nc = TestNextcloud::start_with(|b| b.app_password(EMU_USER, APP)).await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator");
        return;
    }
    let mut secrets: Vec<String> = vec![EMU_PASSWORD.into(), APP.into(), WRONG.into()];
    let mut results: Vec<String> = Vec::new();

    // login_flow: provisioning and a scope change, on both protocol generations.
    let db = TestDb::sqlite();
    let issuer = start_issuer().await;
    let srv = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let store = &srv.multi.store;
    let tok = token(
        &issuer,
        &srv.mcp_url,
        EMU_USER,
        "notes.read notes.write files.read",
        600,
    );
    secrets.push(tok.clone());
    for stateless in [false, true] {
        let elicitor = Elicitor::new(ElicitationAction::Accept);
        let client = connect_eliciting(&srv.mcp_url, &tok, elicitor, stateless).await;
        let (tool, args) = if stateless {
            (
                "nc_auth_update_scopes",
                json!({"add_scopes": ["files.read"]}),
            )
        } else {
            (
                "nc_auth_provision_access",
                json!({"scopes": ["notes.read", "notes.write"]}),
            )
        };
        let r = call_any(&client, tool, args).await;
        results.push(text_of(&r));
        let url = out(&r)["login_url"].as_str().unwrap().to_string();
        let flow = store.pending_login(EMU_USER).await.unwrap().unwrap();
        secrets.push(flow.poll_token.expose().to_string());
        results.push(text_of(
            &call_any(&client, "nc_auth_check_status", json!({})).await,
        ));
        assert!(browser_login(&url, EMU_USER, EMU_PASSWORD).await);
        let r = call_any(&client, "nc_auth_check_status", json!({})).await;
        assert_eq!(out(&r)["status"], "provisioned");
        results.push(text_of(&r));
        secrets.push(
            store
                .app_password(EMU_USER)
                .await
                .unwrap()
                .unwrap()
                .password
                .expose()
                .to_string(),
        );
        for (tool, args) in [
            ("nc_notes_search_notes", json!({"query": "x"})),
            ("nc_notes_create_note", json!({"title": "", "content": ""})),
            ("nc_auth_provision_access", json!({})),
            ("nc_auth_update_scopes", json!({"add_scopes": ["bogus"]})),
        ] {
            results.push(text_of(&call_any(&client, tool, args).await));
        }
        let _ = client.cancel().await;
    }
    // Refused bearer tokens.
    let expired = token(&issuer, &srv.mcp_url, EMU_USER, "notes.read", -600);
    let forged = format!("{}x", &tok[..tok.len() - 1]);
    let other_audience = token(
        &issuer,
        "https://elsewhere.example/mcp",
        EMU_USER,
        "notes.read",
        600,
    );
    let opaque = "opaque-token-that-is-not-a-jwt-0123456789".to_string();
    for bad in [&expired, &forged, &other_audience, &opaque] {
        secrets.push(bad.clone());
        let resp = reqwest::Client::new()
            .post(&srv.mcp_url)
            .bearer_auth(bad)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        results.push(resp.text().await.unwrap());
    }

    // The app-password API, right and wrong.
    let http = reqwest::Client::new();
    let path = format!("{}/api/v1/users/{EMU_USER}/app-password", srv.base);
    for (method, password) in [
        (reqwest::Method::POST, APP),
        (reqwest::Method::GET, WRONG),
        (reqwest::Method::GET, APP),
        (reqwest::Method::POST, "short"),
        (reqwest::Method::DELETE, EMU_PASSWORD),
    ] {
        let resp = http
            .request(method, &path)
            .header("authorization", basic(EMU_USER, password))
            .send()
            .await
            .unwrap();
        results.push(resp.text().await.unwrap());
    }

    // multi_user_basic with a right and a wrong password.
    let db2 = TestDb::sqlite();
    let basic_srv = start_server(
        &nc.base_url,
        DeploymentMode::MultiUserBasic,
        None,
        &db2,
        None,
    )
    .await;
    for password in [EMU_PASSWORD, WRONG] {
        let client =
            multi_common::connect_basic(&basic_srv.mcp_url, &basic(EMU_USER, password)).await;
        let r = call_any(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
        results.push(text_of(&r));
        let _ = client.cancel().await;
    }

    // Let in-flight log lines land.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).to_string();
    assert!(
        logs.lines().count() > 50,
        "the capture saw too little to mean anything:\n{logs}"
    );
    assert!(logs.contains("tool call"), "no tool calls were logged");
    for secret in &secrets {
        assert!(secret.len() >= 20, "too short to search for: {secret}");
        for line in logs.lines() {
            assert!(
                !line.contains(secret.as_str()),
                "a secret is in a log line: {line}"
            );
        }
        for r in &results {
            assert!(!r.contains(secret.as_str()), "a secret is in a result: {r}");
        }
    }
    db.cleanup().await;
    db2.cleanup().await;
}
