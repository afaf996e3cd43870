//! Which tools a server exposes: `--read-only`, `--tools`, `--exclude-tools`,
//! `--enable-app`, and apps missing from the instance.

mod common;

use std::collections::BTreeSet;

use common::*;
use nextcloud_mcp::config::ToolSelection;
use serde_json::json;

fn names(tools: &[rmcp::model::Tool]) -> BTreeSet<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test]
async fn read_only_hides_and_refuses_writers() {
    let nc = TestNextcloud::start().await;
    let client = connect_stdio(&nc, &["--read-only"]).await;
    let tools = names(&client.list_all_tools().await.unwrap());
    assert!(tools.contains("nc_notes_get_note"));
    assert!(!tools.contains("nc_notes_create_note"));
    assert!(!tools.contains("nc_notes_delete_note"));
    let err = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("nc_notes_delete_note")
                .with_arguments(json!({"note_id": 1}).as_object().unwrap().clone()),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nc_notes_delete_note"), "{err}");
}

#[tokio::test]
async fn tool_lists_and_exclusions() {
    let nc = TestNextcloud::start().await;
    let only = ToolSelection {
        only: Some(
            [
                "nc_notes_get_note".to_string(),
                "nc_notes_list_notes".into(),
            ]
            .into(),
        ),
        exclude: ["nc_notes_list_notes".to_string()].into(),
        ..Default::default()
    };
    let client = connect(&nc, Transport::HttpSession, &only).await;
    let tools = names(&client.list_all_tools().await.unwrap());
    assert_eq!(tools, BTreeSet::from(["nc_notes_get_note".to_string()]));

    let unknown = ToolSelection {
        exclude: ["nc_notes_no_such_tool".to_string()].into(),
        ..Default::default()
    };
    let nextcloud = nextcloud::Nextcloud::new(nc.client_config()).unwrap();
    let user = nextcloud.user(nextcloud::Credentials::new("x", "y"));
    let err = nextcloud_mcp::NextcloudMcp::new(nextcloud, user, &unknown)
        .err()
        .unwrap();
    assert!(err.to_string().contains("nc_notes_no_such_tool"));
}

#[tokio::test]
async fn enable_app_keeps_only_that_app() {
    let nc = TestNextcloud::start().await;
    let client = connect_stdio(&nc, &["--enable-app", "webdav"]).await;
    let tools = names(&client.list_all_tools().await.unwrap());
    assert!(
        !tools.iter().any(|t| t.starts_with("nc_notes_")),
        "{tools:?}"
    );
}

#[tokio::test]
async fn tools_of_missing_apps_are_hidden_and_refused() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["deck"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: needs an emulator without the Notes app");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = names(&client.list_all_tools().await.unwrap());
    assert!(
        !tools.iter().any(|t| t.starts_with("nc_notes_")),
        "{tools:?}"
    );
    let e = call_err(&client, "nc_notes_list_notes", json!({})).await;
    assert!(e.contains("Notes app is not installed"), "{e}");
}
