//! Streamable HTTP protections: bearer token, Origin checks, health.

mod common;

use common::*;
use nextcloud_mcp::config::{HttpSettings, Secret};

const TOKEN: &str = "test-token-0123456789abcdef";

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let nc = TestNextcloud::start().await;
    let settings = HttpSettings {
        auth_token: Some(Secret::new(TOKEN)),
        ..Default::default()
    };
    let url = spawn_http(nc.server(&Default::default()), &settings).await;

    let http = reqwest::Client::new();
    let init = serde_json::json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    for auth in [None, Some("Bearer wrong-token-0123456789abcd")] {
        let mut req = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .json(&init);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().get("www-authenticate").is_some());
    }

    let client = connect_http(&url, Transport::HttpSession, Some(TOKEN)).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "nc_notes_get_note"));
}

#[tokio::test]
async fn foreign_origins_and_hosts_are_rejected() {
    let nc = TestNextcloud::start().await;
    let url = spawn_http(nc.server(&Default::default()), &Default::default()).await;
    let http = reqwest::Client::new();
    let init = serde_json::json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let resp = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("origin", "https://evil.example")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("host", "evil.example")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());

    let health = http
        .get(url.replace("/mcp", "/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
