//! The conformance server serves the suite's fixtures beside the product's Nextcloud tools:
//! in-process over a duplex pipe, and as the `nextcloud-mcp-conformance` binary over
//! streamable HTTP (what `.ci/conformance.sh` runs).
//!
//! Against an unreachable Nextcloud: listing needs no Nextcloud (capabilities that cannot be
//! fetched hide nothing) and no fixture calls one.

use std::time::Duration;

use nextcloud_mcp::build_server;
use nextcloud_mcp::cli::RunArgs;
use nextcloud_mcp::config::Config;
use nextcloud_mcp_conformance::Conformance;
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};

/// Nothing listens on the discard port: any Nextcloud call fails at once.
const NEXTCLOUD: &str = "http://127.0.0.1:9";
const USER: &str = "alice";
const PASSWORD: &str = "alice-app-password-0123456789";

fn server() -> Conformance {
    let args = RunArgs::from_flags([
        format!("--nextcloud-host={NEXTCLOUD}"),
        format!("--nextcloud-username={USER}"),
        format!("--nextcloud-password={PASSWORD}"),
    ])
    .expect("valid flags");
    let config = Config::resolve(args).expect("valid configuration");
    Conformance::new(build_server(&config).expect("server builds"))
}

async fn connect(server: Conformance) -> RunningService<RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client connects")
}

/// What every test checks: fixture tools, prompts and resources are there, and so are the
/// product's tools.
async fn check_fixtures(client: &RunningService<RoleClient, ()>) {
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<_> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "test_simple_text",
        "test_tool_with_progress",
        "test_input_required_result_elicitation",
        "json_schema_2020_12_tool",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.starts_with("nc_")),
        "the Nextcloud tools are still served"
    );

    let result = client
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await
        .expect("tools/call");
    let text = result.content[0].as_text().expect("text content");
    assert_eq!(text.text, "This is a simple text response for testing.");

    let info = client.peer_info().expect("server info");
    assert!(info.capabilities.prompts.is_some(), "prompts advertised");
    assert!(
        info.capabilities.completions.is_some(),
        "completions advertised"
    );
    let prompts = client.list_all_prompts().await.expect("prompts/list");
    assert!(prompts.iter().any(|p| p.name == "test_simple_prompt"));

    let resources = client.list_all_resources().await.expect("resources/list");
    let uris: Vec<_> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert!(uris.contains(&"test://static-text"), "{uris:?}");
    assert!(
        uris.iter().any(|u| u.starts_with("nc://")),
        "the product's resources are still listed: {uris:?}"
    );
    let read = client
        .read_resource(ReadResourceRequestParams::new("test://static-text"))
        .await
        .expect("resources/read");
    assert_eq!(read.contents.len(), 1);
}

#[tokio::test]
async fn fixtures_beside_the_nextcloud_tools() {
    let client = connect(server()).await;
    check_fixtures(&client).await;

    // A product tool still goes to the product: it fails on the unreachable Nextcloud with a
    // tool error, not as an unknown tool.
    let call = client
        .call_tool(CallToolRequestParams::new("nc_notes_list_notes"))
        .await
        .expect("the product's tool is routed");
    assert_eq!(call.is_error, Some(true), "{call:?}");

    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_binary_serves_the_fixtures_over_http() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp-conformance"))
        .args([
            "run",
            "--transport",
            "streamable-http",
            "--host",
            "127.0.0.1",
        ])
        .args(["--port", &port.to_string()])
        .env("NEXTCLOUD_HOST", NEXTCLOUD)
        .env("NEXTCLOUD_USERNAME", USER)
        .env("NEXTCLOUD_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("nextcloud-mcp-conformance starts");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut client = None;
    for _ in 0..300 {
        let http = rmcp::transport::StreamableHttpClientTransport::from_uri(url.clone());
        if let Ok(c) = ().serve(http).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = client.expect("the conformance server came up");
    check_fixtures(&client).await;
    let _ = client.cancel().await;
    let _ = child.kill().await;
}
