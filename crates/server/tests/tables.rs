//! The Tables tools end to end: each tool is called over MCP and the result is checked in
//! Tables through a direct client.

mod common;

use common::*;
use nextcloud::tables::SharePermissions;
use nextcloud::{Credentials, Nextcloud};
use serde_json::{Value, json};

const TABLES_TOOLS: [&str; 10] = [
    "nc_tables_list_tables",
    "nc_tables_get_schema",
    "nc_tables_read_table",
    "nc_tables_insert_row",
    "nc_tables_update_row",
    "nc_tables_delete_row",
    "nc_tables_create_table",
    "nc_tables_add_column",
    "nc_tables_list_views",
    "nc_tables_read_view",
];

fn column_spec() -> Value {
    json!([
        {"title": "Name", "type": "text-line", "mandatory": true},
        {"title": "Qty", "type": "number", "number_min": 0, "number_max": 100},
        {"title": "Colour", "type": "selection", "options": ["Red", "Green"]},
        {"title": "Done", "type": "selection-check"},
        {"title": "Due", "type": "datetime-date"},
    ])
}

/// Creates a table with the standard columns over MCP; returns its id.
async fn new_table(client: &Client, test: &str) -> u64 {
    let created = call_ok(
        client,
        "nc_tables_create_table",
        json!({"title": unique_category(test), "columns": column_spec()}),
    )
    .await;
    created["table_id"].as_u64().expect("table id")
}

#[tokio::test]
async fn tables_tools_end_to_end() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let tables = direct.tables();

    let listed = client.list_all_tools().await.expect("tools/list");
    for name in TABLES_TOOLS {
        let tool = listed
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(tool.title.is_some(), "{name} has no title");
        let a = tool.annotations.as_ref().expect("annotations");
        assert!(a.read_only_hint.is_some() && a.destructive_hint.is_some());
        assert!(a.idempotent_hint.is_some() && a.open_world_hint == Some(true));
        assert!(tool.output_schema.is_some(), "{name} has no output schema");
    }

    // Create a table with columns; Tables has them with the right types.
    let table_id = new_table(&client, "tables e2e").await;
    let columns = tables.columns(table_id).await.expect("columns");
    let types: Vec<String> = columns.iter().map(|c| c.full_type()).collect();
    assert_eq!(
        types,
        [
            "text-line",
            "number",
            "selection",
            "selection-check",
            "datetime-date"
        ]
    );
    let colour = columns.iter().find(|c| c.title == "Colour").unwrap();
    assert_eq!(colour.selection_options.len(), 2);

    let all = call_ok(&client, "nc_tables_list_tables", json!({})).await;
    let mine = all["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == table_id)
        .expect("new table listed")
        .clone();
    assert_eq!(mine["columns_count"], 5);
    assert_eq!(all["total_count"], all["tables"].as_array().unwrap().len());

    let schema = call_ok(
        &client,
        "nc_tables_get_schema",
        json!({"table_id": table_id}),
    )
    .await;
    assert_eq!(schema["columns"][2]["options"], json!(["Red", "Green"]));
    assert_eq!(schema["columns"][0]["mandatory"], true);

    // Insert rows by column name; Tables stores ids and its own formats.
    let mut row_ids = Vec::new();
    for (i, (name, colour)) in [("apple", "Red"), ("pear", "green"), ("plum", "Red")]
        .into_iter()
        .enumerate()
    {
        let out = call_ok(
            &client,
            "nc_tables_insert_row",
            json!({"table_id": table_id, "data": {
                "Name": name, "Qty": i * 10 + 5, "colour": colour, "Done": i == 1,
                "Due": "2026-03-0".to_string() + &(i + 1).to_string(),
            }}),
        )
        .await;
        assert_eq!(out["row"]["values"]["Name"], name);
        row_ids.push(out["row_id"].as_u64().expect("row id"));
    }
    let stored = tables.row(row_ids[1]).await.expect("row");
    let id_of = |title: &str| columns.iter().find(|c| c.title == title).unwrap().id;
    assert_eq!(stored.value(id_of("Name")), Some(&json!("pear")));
    assert_eq!(
        stored.value(id_of("Qty")).and_then(Value::as_f64),
        Some(15.0)
    );
    let green = colour.selection_options[1].id;
    assert_eq!(
        stored.value(id_of("Colour")).and_then(Value::as_i64),
        Some(green)
    );
    assert_eq!(stored.value(id_of("Done")), Some(&json!("true")));
    assert_eq!(stored.value(id_of("Due")), Some(&json!("2026-03-02")));

    // Read back with names, labels and paging.
    let page = call_ok(
        &client,
        "nc_tables_read_table",
        json!({"table_id": table_id, "limit": 2, "offset": 1}),
    )
    .await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["has_more"], false);
    assert_eq!(page["rows"][0]["values"]["Name"], "pear");
    assert_eq!(page["rows"][0]["values"]["Colour"], "Green");
    assert_eq!(page["rows"][0]["values"]["Done"], true);
    let first = call_ok(
        &client,
        "nc_tables_read_table",
        json!({"table_id": table_id, "limit": 1}),
    )
    .await;
    assert_eq!(first["has_more"], true);
    assert_eq!(first["rows"][0]["id"], row_ids[0]);

    // Update one cell; the others stay.
    call_ok(
        &client,
        "nc_tables_update_row",
        json!({"row_id": row_ids[0], "data": {"Qty": 42, "Done": "yes"}}),
    )
    .await;
    let updated = tables.row(row_ids[0]).await.expect("row");
    assert_eq!(
        updated.value(id_of("Qty")).and_then(Value::as_f64),
        Some(42.0)
    );
    assert_eq!(updated.value(id_of("Done")), Some(&json!("true")));
    assert_eq!(updated.value(id_of("Name")), Some(&json!("apple")));

    // Add a column, then use it.
    let added = call_ok(
        &client,
        "nc_tables_add_column",
        json!({"table_id": table_id, "title": "Notes", "type": "text-rich", "text_max_length": 20}),
    )
    .await;
    let notes_id = added["column"]["id"].as_u64().unwrap();
    let columns = tables.columns(table_id).await.expect("columns");
    let notes = columns.iter().find(|c| c.id == notes_id).expect("column");
    assert_eq!(notes.full_type(), "text-rich");
    call_ok(
        &client,
        "nc_tables_update_row",
        json!({"row_id": row_ids[2], "data": {"Notes": "ripe"}}),
    )
    .await;
    assert_eq!(
        tables.row(row_ids[2]).await.unwrap().value(notes_id),
        Some(&json!("ripe"))
    );

    // Views: one showing only red fruit, with two columns.
    let view = tables
        .create_view(table_id, "Red ones")
        .await
        .expect("view");
    let red = colour.selection_options[0].id;
    tables
        .update_view(
            view.id,
            &[id_of("Name"), id_of("Qty")],
            json!([[{"columnId": id_of("Colour"), "operator": "is-equal", "value": red}]]),
        )
        .await
        .expect("view filter");
    let views = call_ok(
        &client,
        "nc_tables_list_views",
        json!({"table_id": table_id}),
    )
    .await;
    assert_eq!(views["total_count"], 1);
    assert_eq!(views["views"][0]["columns"], json!(["Name", "Qty"]));
    let red_rows = call_ok(&client, "nc_tables_read_view", json!({"view_id": view.id})).await;
    assert_eq!(red_rows["columns"], json!(["Name", "Qty"]));
    let names: Vec<&str> = red_rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apple", "plum"]);
    assert!(red_rows["rows"][0]["values"].get("Colour").is_none());

    // Delete a row.
    let deleted = call_ok(
        &client,
        "nc_tables_delete_row",
        json!({"row_id": row_ids[1]}),
    )
    .await;
    assert_eq!(deleted["deleted_id"], row_ids[1]);
    let err = tables.row(row_ids[1]).await.expect_err("row is gone");
    assert_eq!(err.status(), Some(404), "{err}");
    assert_eq!(tables.rows(table_id, None, None).await.unwrap().len(), 2);

    tables.delete(table_id).await.expect("cleanup");
}

#[tokio::test]
async fn bad_values_are_refused_naming_the_column() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let tables = direct.tables();
    let table_id = new_table(&client, "tables values").await;

    let cases = [
        (json!({"Name": "x", "Qty": "lots"}), "Qty", "number"),
        (json!({"Name": "x", "Qty": 2.5}), "Qty", "whole number"),
        (json!({"Name": "x", "Qty": 101}), "Qty", "maximum"),
        (json!({"Name": "x", "Colour": "Blue"}), "Colour", "`Red`"),
        (
            json!({"Name": "x", "Done": "maybe"}),
            "Done",
            "true or false",
        ),
        (
            json!({"Name": "x", "Due": "03/01/2026"}),
            "Due",
            "YYYY-MM-DD",
        ),
        (json!({"Name": "x", "Size": 3}), "Size", "`Qty`"),
    ];
    for (data, column, hint) in cases {
        let err = call_err(
            &client,
            "nc_tables_insert_row",
            json!({"table_id": table_id, "data": data}),
        )
        .await;
        assert!(
            err.contains("`data`") && err.contains(column) && err.contains(hint),
            "{data}: {err}"
        );
    }
    // A mandatory column left out: Tables itself refuses, and says which.
    let err = call_err(
        &client,
        "nc_tables_insert_row",
        json!({"table_id": table_id, "data": {"Qty": 1}}),
    )
    .await;
    assert!(err.contains("400") && err.contains("Name"), "{err}");
    let err = call_err(
        &client,
        "nc_tables_create_table",
        json!({"title": "x", "columns": [{"title": "Pick", "type": "selection"}]}),
    )
    .await;
    assert!(err.contains("columns") && err.contains("options"), "{err}");
    assert!(
        tables.rows(table_id, None, None).await.unwrap().is_empty(),
        "nothing was stored"
    );
    tables.delete(table_id).await.expect("cleanup");
}

#[tokio::test]
async fn unknown_ids_give_clear_not_found_errors() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let missing = 987_654_321u64;
    for (tool, args) in [
        ("nc_tables_get_schema", json!({"table_id": missing})),
        ("nc_tables_read_table", json!({"table_id": missing})),
        (
            "nc_tables_insert_row",
            json!({"table_id": missing, "data": {"a": 1}}),
        ),
        (
            "nc_tables_update_row",
            json!({"row_id": missing, "data": {"a": 1}}),
        ),
        ("nc_tables_delete_row", json!({"row_id": missing})),
        ("nc_tables_list_views", json!({"table_id": missing})),
        ("nc_tables_read_view", json!({"view_id": missing})),
    ] {
        let err = call_err(&client, tool, args).await;
        assert!(
            err.contains("404") && err.contains(&missing.to_string()) && err.contains("not found"),
            "{tool}: {err}"
        );
    }
    let err = call_err(
        &client,
        "nc_tables_read_table",
        json!({"table_id": 1, "limit": 0}),
    )
    .await;
    assert!(err.contains("`limit`"), "{err}");
}

#[tokio::test]
async fn a_table_shared_read_only_refuses_changes() {
    let nc = TestNextcloud::start_with(|b| b.user("bob", "bob-password-0123456789")).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: needs a second account, which only the emulator provides");
        return;
    }
    let bob = Nextcloud::new(nc.client_config())
        .unwrap()
        .user(Credentials::new("bob", "bob-password-0123456789"));
    let table = bob.tables().create("Bob's list", None, None).await.unwrap();
    let col = bob
        .tables()
        .create_column(
            table.id,
            &nextcloud::tables::NewColumn {
                title: "Item".into(),
                kind: "text".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut cells = serde_json::Map::new();
    cells.insert(col.id.to_string(), json!("milk"));
    let row = bob.tables().create_row(table.id, &cells).await.unwrap();
    let read_only = SharePermissions {
        read: true,
        ..Default::default()
    };
    bob.tables()
        .share_table(table.id, EMU_USER, &read_only)
        .await
        .unwrap();

    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let all = call_ok(&client, "nc_tables_list_tables", json!({})).await;
    let shared = all["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == table.id)
        .expect("shared table listed")
        .clone();
    assert_eq!(shared["is_shared"], true);
    assert_eq!(shared["permissions"]["create"], false);
    let rows = call_ok(
        &client,
        "nc_tables_read_table",
        json!({"table_id": table.id}),
    )
    .await;
    assert_eq!(rows["rows"][0]["values"]["Item"], "milk");

    let err = call_err(
        &client,
        "nc_tables_insert_row",
        json!({"table_id": table.id, "data": {"Item": "eggs"}}),
    )
    .await;
    assert!(err.contains("403"), "{err}");
    let err = call_err(
        &client,
        "nc_tables_update_row",
        json!({"row_id": row.id, "data": {"Item": "cream"}}),
    )
    .await;
    assert!(err.contains("403"), "{err}");
    let err = call_err(&client, "nc_tables_delete_row", json!({"row_id": row.id})).await;
    assert!(err.contains("403"), "{err}");
    let err = call_err(
        &client,
        "nc_tables_add_column",
        json!({"table_id": table.id, "title": "Price", "type": "number"}),
    )
    .await;
    assert!(err.contains("403"), "{err}");
    let after = bob.tables().rows(table.id, None, None).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].value(col.id), Some(&json!("milk")));
    assert_eq!(bob.tables().columns(table.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn tables_tools_are_hidden_when_tables_is_not_installed() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name.starts_with("nc_notes_")));
    assert!(!tools.iter().any(|t| t.name.starts_with("nc_tables_")));
    // And the app's API answers like an instance without it.
    let err = nc
        .direct()
        .tables()
        .list()
        .await
        .expect_err("no Tables app");
    assert_eq!(err.status(), Some(404), "{err}");
}

/// Issue 6's "beyond the reference" tools on their edges: a view read page by page, columns
/// refused when their name is taken, and a table with no views.
#[tokio::test]
async fn views_page_and_column_names_stay_unique() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let tables = direct.tables();
    let table_id = new_table(&client, "tables extras").await;

    let views = call_ok(
        &client,
        "nc_tables_list_views",
        json!({"table_id": table_id}),
    )
    .await;
    assert_eq!(views["total_count"], 0);
    assert_eq!(views["views"], json!([]));

    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        call_ok(
            &client,
            "nc_tables_insert_row",
            json!({"table_id": table_id, "data": {"Name": name, "Qty": i}}),
        )
        .await;
    }
    let columns = tables.columns(table_id).await.expect("columns");
    let name_col = columns.iter().find(|c| c.title == "Name").unwrap().id;
    let view = tables.create_view(table_id, "All").await.expect("view");
    tables
        .update_view(view.id, &[name_col], json!([]))
        .await
        .expect("view columns");
    let first = call_ok(
        &client,
        "nc_tables_read_view",
        json!({"view_id": view.id, "limit": 2}),
    )
    .await;
    assert_eq!(first["count"], 2);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["columns"], json!(["Name"]));
    let rest = call_ok(
        &client,
        "nc_tables_read_view",
        json!({"view_id": view.id, "limit": 2, "offset": 2}),
    )
    .await;
    assert_eq!(rest["count"], 1);
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["rows"][0]["values"]["Name"], "c");
    let err = call_err(
        &client,
        "nc_tables_read_view",
        json!({"view_id": view.id, "limit": 0}),
    )
    .await;
    assert!(err.contains("`limit`"), "{err}");

    // A column name already in the table (in any case) is refused, and nothing is added.
    let err = call_err(
        &client,
        "nc_tables_add_column",
        json!({"table_id": table_id, "title": "qty", "type": "number"}),
    )
    .await;
    assert!(err.contains("`title`") && err.contains("qty"), "{err}");
    assert_eq!(tables.columns(table_id).await.unwrap().len(), columns.len());
    let err = call_err(
        &client,
        "nc_tables_add_column",
        json!({"table_id": 987_654_321u64, "title": "X", "type": "number"}),
    )
    .await;
    assert!(err.contains("404"), "{err}");
    let before = tables.list().await.unwrap().len();
    let err = call_err(
        &client,
        "nc_tables_create_table",
        json!({"title": "dupes", "columns": [
            {"title": "Same", "type": "text-line"}, {"title": "same", "type": "number"}
        ]}),
    )
    .await;
    assert!(
        err.contains("`columns`") && err.contains("two columns"),
        "{err}"
    );
    assert_eq!(
        tables.list().await.unwrap().len(),
        before,
        "no table created"
    );
    let err = call_err(&client, "nc_tables_create_table", json!({"title": "  "})).await;
    assert!(err.contains("`title`"), "{err}");

    tables.delete(table_id).await.expect("cleanup");
}
