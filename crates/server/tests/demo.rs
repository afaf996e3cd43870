//! `nextcloud-mcp demo` works on a fresh machine: it starts, serves every Notes tool over
//! HTTP against its built-in emulator, and the sample data is there.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn demo_serves_sample_notes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"))
        .args(["demo", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("demo starts");
    let health = format!("http://127.0.0.1:{port}/health/live");
    let mut up = false;
    for _ in 0..300 {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up, "demo did not come up");

    let client = connect_http(
        &format!("http://127.0.0.1:{port}/mcp"),
        Transport::HttpSession,
        None,
    )
    .await;
    let listed = call_ok(&client, "nc_notes_list_notes", json!({})).await;
    assert!(listed["total_found"].as_u64().unwrap() >= 3, "{listed}");
    let found = call_ok(
        &client,
        "nc_notes_search_notes",
        json!({"query": "roadmap"}),
    )
    .await;
    assert!(found["total_found"].as_u64().unwrap() >= 1, "{found}");
    client.cancel().await.ok();
    child.kill().await.ok();
}
