//! The conformance suite's fixtures (`test_*` tools, prompts, `test://` resources) are served
//! only with the hidden `--conformance-fixtures` flag, never by default.
//!
//! In-process over a duplex pipe, against an unreachable Nextcloud: listing needs no Nextcloud
//! (capabilities that cannot be fetched hide nothing) and no fixture calls one.

use nextcloud_mcp::cli::RunArgs;
use nextcloud_mcp::config::Config;
use nextcloud_mcp::{NextcloudMcp, build_server};
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};

fn server(conformance_fixtures: bool) -> NextcloudMcp {
    let mut flags = vec![
        // Nothing listens on the discard port: any Nextcloud call fails at once.
        "--nextcloud-host=http://127.0.0.1:9",
        "--nextcloud-username=alice",
        "--nextcloud-password=alice-app-password-0123456789",
    ];
    if conformance_fixtures {
        flags.push("--conformance-fixtures");
    }
    let args = RunArgs::from_flags(flags).expect("valid flags");
    let config = Config::resolve(args).expect("valid configuration");
    build_server(&config).expect("server builds")
}

async fn connect(server: NextcloudMcp) -> RunningService<RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client connects")
}

fn is_fixture_tool(name: &str) -> bool {
    name.starts_with("test_") || name == "json_schema_2020_12_tool"
}

#[tokio::test]
async fn no_fixtures_by_default() {
    let client = connect(server(false)).await;

    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(!tools.is_empty(), "the Nextcloud tools are listed");
    let fixtures: Vec<_> = tools
        .iter()
        .map(|t| t.name.as_ref())
        .filter(|n| is_fixture_tool(n))
        .collect();
    assert!(fixtures.is_empty(), "fixture tools served: {fixtures:?}");

    let info = client.peer_info().expect("server info");
    assert!(info.capabilities.prompts.is_none(), "prompts advertised");
    assert!(
        client.list_all_prompts().await.is_err(),
        "prompts/list served"
    );

    let resources = client.list_all_resources().await.expect("resources/list");
    assert!(resources.iter().all(|r| !r.uri.starts_with("test://")));

    let call = client
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await;
    assert!(call.is_err(), "a fixture tool answered: {call:?}");

    let _ = client.cancel().await;
}

#[tokio::test]
async fn fixtures_with_the_flag() {
    let client = connect(server(true)).await;

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

    let prompts = client.list_all_prompts().await.expect("prompts/list");
    assert!(prompts.iter().any(|p| p.name == "test_simple_prompt"));

    let read = client
        .read_resource(ReadResourceRequestParams::new("test://static-text"))
        .await
        .expect("resources/read");
    assert_eq!(read.contents.len(), 1);

    let _ = client.cancel().await;
}
