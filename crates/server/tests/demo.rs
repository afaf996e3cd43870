//! `nextcloud-mcp demo` works on a fresh machine: it starts, serves the tools over HTTP
//! against its built-in emulator, and every app answers with its sample data, calendars and
//! contacts included (from the emulator's own CalDAV/CardDAV server, no external service).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn demo_serves_every_apps_sample_data() {
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

    let contains = |v: &serde_json::Value, what: &str| {
        let text = v.to_string();
        assert!(text.contains(what), "no {what:?} in {text}");
    };
    let files = call_ok(
        &client,
        "nc_webdav_list_directory",
        json!({"path": "Documents"}),
    )
    .await;
    contains(&files, "Project plan.md");
    contains(&files, "Budget.csv");
    let shares = call_ok(&client, "nc_share_list", json!({})).await;
    contains(&shares, "/Documents/Project plan.md");

    // A weekly series with a moved instance, a one-off meeting, tasks and contacts.
    let events = call_ok(
        &client,
        "nc_calendar_get_upcoming_events",
        json!({"days_ahead": 14}),
    )
    .await;
    contains(&events, "Team stand-up");
    contains(&events, "moved for the all-hands");
    contains(&events, "Lunch with Anna");
    contains(&events, "Project Apollo review");
    let todos = call_ok(
        &client,
        "nc_calendar_list_todos",
        json!({"calendar_name": "tasks"}),
    )
    .await;
    contains(&todos, "Prepare slides for the Apollo review");
    let contacts = call_ok(
        &client,
        "nc_contacts_search_contacts",
        json!({"query": "acme"}),
    )
    .await;
    contains(&contacts, "Anna Schmidt");
    contains(&contacts, "Ben Okafor");
    assert!(!contacts.to_string().contains("Chiara"), "{contacts}");

    let boards = call_ok(&client, "deck_get_boards", json!({})).await;
    contains(&boards, "Project Apollo");
    let board_id = boards["boards"][0]["id"].as_u64().expect("a board id");
    let stacks = call_ok(&client, "deck_get_stacks", json!({"board_id": board_id})).await;
    contains(&stacks, "Write the migration guide");
    contains(&stacks, "Action needed");

    let tables = call_ok(&client, "nc_tables_list_tables", json!({})).await;
    contains(&tables, "Pilot customers");
    let table_id = tables["tables"][0]["id"].as_u64().expect("a table id");
    let rows = call_ok(
        &client,
        "nc_tables_read_table",
        json!({"table_id": table_id}),
    )
    .await;
    contains(&rows, "Pilot Customer Ltd.");

    let recipes = call_ok(&client, "nc_cookbook_list_recipes", json!({})).await;
    contains(&recipes, "Tomato soup");

    // A handbook collective whose pages are already indexed for search.
    let collectives = call_ok(&client, "collectives_get_collectives", json!({})).await;
    contains(&collectives, "Team handbook");
    let cid = collectives["collectives"][0]["id"]
        .as_u64()
        .expect("a collective id");
    let found = call_ok(
        &client,
        "collectives_search_pages",
        json!({"collective_id": cid, "query": "buddy"}),
    )
    .await;
    contains(&found, "First week");
    client.cancel().await.ok();
    child.kill().await.ok();
}
