//! The product carries none of the conformance suite's fixtures (`test_*` tools, prompts,
//! `test://` resources): they live in the `nextcloud-mcp-conformance` crate (whose own tests
//! check that it serves them), and `nextcloud-mcp` has no switch that would turn them on.
//!
//! In-process over a duplex pipe, against an unreachable Nextcloud: listing needs no Nextcloud
//! (capabilities that cannot be fetched hide nothing).

use nextcloud_mcp::cli::RunArgs;
use nextcloud_mcp::config::Config;
use nextcloud_mcp::{NextcloudMcp, build_server};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};

fn server() -> NextcloudMcp {
    // A search index folder of its own (tests run at once; a folder is one server's), never
    // the home directory's.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let index_dir = std::env::temp_dir().join(format!(
        "ncmcp-conformance-index-{}-{n}",
        std::process::id()
    ));
    let args = RunArgs::from_flags([
        // Nothing listens on the discard port: any Nextcloud call fails at once.
        "--nextcloud-host=http://127.0.0.1:9".to_string(),
        "--nextcloud-username=alice".into(),
        "--nextcloud-password=alice-app-password-0123456789".into(),
        format!("--search-index-dir={}", index_dir.display()),
    ])
    .expect("valid flags");
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
    let client = connect(server()).await;

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

/// The hidden flag that used to switch the fixtures on is gone: the product refuses it as an
/// unknown argument instead of starting.
#[test]
fn the_product_refuses_the_old_fixtures_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"))
        .args(["run", "--conformance-fixtures"])
        .env("NEXTCLOUD_HOST", "http://127.0.0.1:9")
        .env("NEXTCLOUD_USERNAME", "alice")
        .env("NEXTCLOUD_PASSWORD", "alice-app-password-0123456789")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("nextcloud-mcp runs");
    assert!(!out.status.success(), "the flag was accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--conformance-fixtures"),
        "the error names the flag: {stderr}"
    );
}
