//! Discovery mode (`--tool-mode discover`): `tools/list` shows three small tools that find,
//! describe and call the others, and everything that limits a caller in the default mode
//! (read-only, `--enable-app` / `--tools`, apps missing or too old, scopes) limits them the
//! same way here: a tool hidden there can neither be found, described nor called here.

mod common;
mod multi_common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use nextcloud_mcp::NextcloudMcp;
use nextcloud_mcp::cli::{DeploymentMode, Profile, RunArgs, ToolMode};
use nextcloud_mcp::config::{Config, ToolSelection};
use rmcp::model::{CallToolRequestParams, Tool};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

const DISCOVERY_TOOLS: [&str; 3] = ["nc_find_tools", "nc_describe_tools", "nc_call_tool"];

fn names(tools: &[Tool]) -> BTreeSet<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// What a listed tool costs in context: name, description, input and output schema.
fn context_bytes(tools: &[Tool]) -> usize {
    tools
        .iter()
        .map(|t| {
            t.name.len()
                + t.description.as_deref().map_or(0, str::len)
                + serde_json::to_string(&*t.input_schema).unwrap().len()
                + t.output_schema
                    .as_ref()
                    .map_or(0, |s| serde_json::to_string(&**s).unwrap().len())
        })
        .sum()
}

/// A discovery-mode server for `nc` with this selection, over HTTP (session protocol).
async fn discover_client(nc: &TestNextcloud, selection: &ToolSelection) -> Client {
    let server = nc
        .server(selection)
        .with_tool_mode(ToolMode::Discover)
        .expect("discovery index");
    let url = spawn_http(server, &Default::default()).await;
    connect_http(&url, Transport::HttpSession, None).await
}

async fn find<S: rmcp::service::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    task: &str,
) -> Vec<String> {
    let out = structured(client, "nc_find_tools", json!({"task": task, "limit": 20})).await;
    out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

async fn call_any<S: rmcp::service::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
    args: Value,
) -> rmcp::model::CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

async fn structured<S: rmcp::service::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
    args: Value,
) -> Value {
    let result = call_any(client, tool, args).await;
    assert_ne!(result.is_error, Some(true), "{tool}: {}", text_of(&result));
    result.structured_content.expect("structured content")
}

/// The tool is neither found for the task, nor described, nor callable through
/// `nc_call_tool`; the refusal's text contains `reason`.
async fn assert_unreachable<S: rmcp::service::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
    task: &str,
    arguments: Value,
    reason: &str,
) {
    let found = find(client, task).await;
    assert!(!found.iter().any(|t| t == tool), "{tool} found: {found:?}");
    let described = structured(client, "nc_describe_tools", json!({"names": [tool]})).await;
    assert!(
        described["tools"].as_array().unwrap().is_empty(),
        "{described}"
    );
    let why = described["unavailable"][0]["reason"].as_str().unwrap();
    assert!(why.contains(reason), "{why}");
    let called = call_any(
        client,
        "nc_call_tool",
        json!({"name": tool, "arguments": arguments}),
    )
    .await;
    assert_eq!(called.is_error, Some(true), "{tool} was called");
    assert!(text_of(&called).contains(reason), "{}", text_of(&called));
}

#[tokio::test]
async fn the_list_is_three_small_tools() {
    let nc = TestNextcloud::start().await;
    // The real binary, so the flag is proven too.
    let client = connect_stdio(&nc, &["--tool-mode", "discover"]).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(
        names(&tools),
        DISCOVERY_TOOLS.iter().map(|s| s.to_string()).collect()
    );
    let bytes = context_bytes(&tools);
    assert!(bytes <= 6 * 1024, "discovery tools take {bytes} bytes");
    let listed = NextcloudMcp::listed_tools(&Default::default(), ToolMode::Discover).unwrap();
    assert_eq!(context_bytes(&listed), bytes);
    let caps = client
        .peer_info()
        .unwrap()
        .capabilities
        .tools
        .clone()
        .unwrap();
    assert_eq!(caps.list_changed, Some(true));
    let _ = client.cancel().await;
}

/// The context cost of each mode and profile (README's table): printed, and ordered as it
/// must be.
#[test]
fn context_cost_per_mode_and_profile() {
    let size = |profiles: &[Profile], mode| {
        let selection = nextcloud_mcp::profiles::apply(profiles, ToolSelection::default());
        let tools = NextcloudMcp::listed_tools(&selection, mode).unwrap();
        (tools.len(), context_bytes(&tools))
    };
    let all = size(&[], ToolMode::All);
    let rows = [
        ("all", all),
        ("personal", size(&[Profile::Personal], ToolMode::All)),
        ("team", size(&[Profile::Team], ToolMode::All)),
        ("read-only", size(&[Profile::ReadOnly], ToolMode::All)),
        ("discover", size(&[], ToolMode::Discover)),
    ];
    for (name, (tools, bytes)) in rows {
        println!(
            "{name}: {tools} tools, {bytes} bytes (~{} tokens)",
            bytes / 4
        );
        if name != "all" {
            assert!(bytes < all.1, "{name} is not smaller than everything");
        }
    }
    let personal = NextcloudMcp::listed_tools(
        &nextcloud_mcp::profiles::apply(&[Profile::Personal], ToolSelection::default()),
        ToolMode::All,
    )
    .unwrap();
    let personal = names(&personal);
    assert!(
        personal.contains("nc_notes_create_note") && personal.contains("nc_calendar_create_todo")
    );
    assert!(
        !personal.iter().any(|t| t.starts_with("deck_")),
        "{personal:?}"
    );
}

#[tokio::test]
async fn a_profile_composes_with_the_flags() {
    let nc = TestNextcloud::start().await;
    let client = connect_stdio(
        &nc,
        &["--profile", "personal,read-only", "--enable-app", "deck"],
    )
    .await;
    let tools = names(&client.list_all_tools().await.unwrap());
    assert!(tools.contains("nc_notes_get_note") && tools.contains("deck_get_boards"));
    assert!(!tools.contains("nc_notes_create_note") && !tools.contains("deck_create_card"));
    assert!(
        !tools.iter().any(|t| t.starts_with("nc_tables_")),
        "{tools:?}"
    );
    let _ = client.cancel().await;
}

/// Counts `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct ListChanges(Arc<AtomicUsize>);

impl ClientHandler for ListChanges {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn find_describe_call_and_activate() {
    let nc = TestNextcloud::start().await;
    let server = nc
        .server(&Default::default())
        .with_tool_mode(ToolMode::Discover)
        .unwrap();
    let url = spawn_http(server, &Default::default()).await;
    let changes = ListChanges::default();
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url.clone());
    let client = changes.clone().serve(transport).await.expect("initialize");

    let out = structured(
        &client,
        "nc_find_tools",
        json!({"task": "write a note about the plumber's phone number"}),
    )
    .await;
    let tools = out["tools"].as_array().unwrap();
    assert!(tools.len() <= 5, "{out}");
    let top3: Vec<&str> = tools
        .iter()
        .take(3)
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(top3.contains(&"nc_notes_create_note"), "{out}");
    assert_eq!(tools[0]["score"], 1.0);
    assert!(
        tools
            .iter()
            .all(|t| !t["description"].as_str().unwrap().is_empty())
    );

    let described = structured(
        &client,
        "nc_describe_tools",
        json!({"names": ["nc_notes_create_note", "nc_no_such_tool"]}),
    )
    .await;
    let definition = &described["tools"][0];
    assert_eq!(definition["name"], "nc_notes_create_note");
    assert!(
        definition["inputSchema"]["properties"]["title"].is_object(),
        "{definition}"
    );
    assert!(definition["outputSchema"].is_object(), "{definition}");
    assert_eq!(described["unavailable"][0]["name"], "nc_no_such_tool");

    // Called by name: the result is the tool's own, and the note exists in Nextcloud.
    let category = unique_category("discover");
    let created = call_any(
        &client,
        "nc_call_tool",
        json!({"name": "nc_notes_create_note", "arguments": {
            "title": "Plumber", "content": "+49 30 1234567", "category": category}}),
    )
    .await;
    assert_ne!(created.is_error, Some(true), "{}", text_of(&created));
    let id = created.structured_content.unwrap()["id"].as_u64().unwrap();
    let note = nc.direct().notes().get(id).await.unwrap();
    assert_eq!(note.content, "+49 30 1234567");
    // The same argument checks as a direct call.
    let bad = call_any(
        &client,
        "nc_call_tool",
        json!({"name": "nc_notes_get_note", "arguments": {"note_id": "x"}}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    assert!(text_of(&bad).contains("note_id"), "{}", text_of(&bad));
    let unknown = call_any(&client, "nc_call_tool", json!({"name": "nc_no_such_tool"})).await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(text_of(&unknown).contains("nc_no_such_tool"));
    let nested = call_any(&client, "nc_call_tool", json!({"name": "nc_call_tool"})).await;
    assert_eq!(nested.is_error, Some(true));

    // Activated: listed as an ordinary tool for this session, after a list_changed.
    assert!(!names(&client.list_all_tools().await.unwrap()).contains("nc_notes_get_note"));
    let described = structured(
        &client,
        "nc_describe_tools",
        json!({"names": ["nc_notes_get_note"], "activate": true}),
    )
    .await;
    assert_eq!(described["activated"], json!(["nc_notes_get_note"]));
    let listed = names(&client.list_all_tools().await.unwrap());
    assert!(listed.contains("nc_notes_get_note"), "{listed:?}");
    let got = call_any(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert_ne!(got.is_error, Some(true), "{}", text_of(&got));
    for _ in 0..50 {
        if changes.0.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        changes.0.load(Ordering::SeqCst) > 0,
        "no tools/list_changed"
    );
    // Another session starts with the discovery tools only.
    let other = connect_http(&url, Transport::HttpSession, None).await;
    assert_eq!(names(&other.list_all_tools().await.unwrap()).len(), 3);

    nc.direct().notes().delete(id).await.unwrap();
    let _ = client.cancel().await;
    let _ = other.cancel().await;
}

#[tokio::test]
async fn read_only_hides_writers_from_discovery() {
    let nc = TestNextcloud::start().await;
    let task = "delete the old draft note";
    let args = json!({"note_id": 1});
    let open = discover_client(&nc, &Default::default()).await;
    assert!(
        find(&open, task)
            .await
            .contains(&"nc_notes_delete_note".to_string())
    );

    let read_only = ToolSelection {
        read_only: true,
        ..Default::default()
    };
    let client = discover_client(&nc, &read_only).await;
    assert_unreachable(&client, "nc_notes_delete_note", task, args, "unknown tool").await;
    // As in the default mode.
    let default = connect(&nc, Transport::HttpSession, &read_only).await;
    assert!(!names(&default.list_all_tools().await.unwrap()).contains("nc_notes_delete_note"));
}

#[tokio::test]
async fn the_tool_selection_limits_discovery() {
    let nc = TestNextcloud::start().await;
    let task = "jot down an idea for my birthday party";
    let args = json!({"title": "t", "content": "c", "category": ""});
    let apps = ToolSelection {
        enabled_apps: Some(["webdav".to_string()].into()),
        ..Default::default()
    };
    let client = discover_client(&nc, &apps).await;
    assert_unreachable(
        &client,
        "nc_notes_create_note",
        task,
        args.clone(),
        "unknown tool",
    )
    .await;
    let default = connect(&nc, Transport::HttpSession, &apps).await;
    assert!(!names(&default.list_all_tools().await.unwrap()).contains("nc_notes_create_note"));

    let only = ToolSelection {
        only: Some(["nc_notes_get_note".to_string()].into()),
        ..Default::default()
    };
    let client = discover_client(&nc, &only).await;
    assert_unreachable(&client, "nc_notes_create_note", task, args, "unknown tool").await;
    assert_eq!(
        find(&client, "open my note called packing list").await,
        ["nc_notes_get_note"]
    );
}

#[tokio::test]
async fn a_missing_app_hides_its_tools_from_discovery() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["deck"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: needs an emulator without the Notes app");
        return;
    }
    let client = discover_client(&nc, &Default::default()).await;
    assert_unreachable(
        &client,
        "nc_notes_create_note",
        "jot down an idea for my birthday party",
        json!({"title": "t", "content": "c", "category": ""}),
        "Notes app is not installed",
    )
    .await;
    assert!(
        find(&client, "show my kanban boards")
            .await
            .contains(&"deck_get_boards".to_string())
    );
    let default = connect(&nc, Transport::HttpSession, &Default::default()).await;
    assert!(!names(&default.list_all_tools().await.unwrap()).contains("nc_notes_create_note"));
}

#[tokio::test]
async fn an_app_too_old_hides_newer_tools_from_discovery() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["deck@1.16.0", "notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: needs an emulator with an old Deck");
        return;
    }
    let client = discover_client(&nc, &Default::default()).await;
    let task = "this card is blocked by another card";
    assert_unreachable(
        &client,
        "deck_assign_dependent_card",
        task,
        json!({"board_id": 1, "stack_id": 1, "card_id": 1, "dependent_card_id": 2}),
        "Deck app is not installed",
    )
    .await;
    assert!(
        find(&client, "add a card for fixing the login bug")
            .await
            .contains(&"deck_create_card".to_string())
    );
    let default = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let listed = names(&default.list_all_tools().await.unwrap());
    assert!(!listed.contains("deck_assign_dependent_card") && listed.contains("deck_create_card"));
}

#[tokio::test]
async fn scopes_limit_discovery() {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (stores an app password for a test user)");
        return;
    }
    let issuer = multi_common::start_issuer().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir =
        std::env::temp_dir().join(format!("ncmcp-disc-{}-{}", std::process::id(), addr.port()));
    let args = RunArgs::from_flags([
        "--transport=streamable-http".to_string(),
        format!("--port={}", addr.port()),
        format!("--nextcloud-host={}", nc.base_url),
        format!("--deployment-mode={}", DeploymentMode::LoginFlow.as_str()),
        format!("--token-encryption-key={}", multi_common::ENC_KEY),
        format!("--token-storage-db={}", dir.join("tokens.db").display()),
        format!("--oidc-discovery-url={issuer}/.well-known/openid-configuration"),
        "--tool-mode=discover".into(),
        format!("--search-index-dir={}", common::fresh_index_dir().display()),
    ])
    .unwrap();
    let config = Config::resolve(args).unwrap();
    let server = nextcloud_mcp::build_multi_user_server(&config)
        .await
        .unwrap();
    let s = server.clone();
    let http = config.http.clone();
    tokio::spawn(async move {
        let _ =
            nextcloud_mcp::transport::http::serve(s, &http, listener, std::future::pending()).await;
    });
    let url = format!("http://{addr}/mcp");
    let multi = server.state().multi.clone().unwrap();
    // The token could write notes, but the user granted this server reading only.
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
    let token = multi_common::token(&issuer, &url, "alice", "notes.read notes.write", 300);
    let client = connect_http(&url, Transport::HttpSession, Some(&token)).await;
    let task = "jot down an idea for my birthday party";
    assert_unreachable(
        &client,
        "nc_notes_create_note",
        task,
        json!({"title": "t", "content": "c", "category": ""}),
        "needs the `notes.write` scope",
    )
    .await;
    assert!(
        find(
            &client,
            "find the note where I wrote down the wifi password"
        )
        .await
        .contains(&"nc_notes_search_notes".to_string())
    );
    // Nor does the file app (no files scope at all).
    assert!(
        !find(&client, "make a new folder called Taxes")
            .await
            .iter()
            .any(|t| t.starts_with("nc_webdav_"))
    );

    // A token without the scope: the HTTP layer refuses the call by name with 403, as it
    // refuses the direct call.
    let read_token = multi_common::token(&issuer, &url, "alice", "notes.read", 300);
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&read_token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "nc_call_tool", "arguments": {"name": "nc_notes_create_note", "arguments": {}}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let _ = client.cancel().await;
    let _ = std::fs::remove_dir_all(dir);
}
