//! The Shopping List tools end to end: each tool is called over MCP and the result is checked
//! in the app through a direct client.

mod common;

use common::*;
use nextcloud::{Credentials, Nextcloud};
use serde_json::{Value, json};

const TOOLS: [&str; 13] = [
    "nc_shopping_list_get_lists",
    "nc_shopping_list_get_list",
    "nc_shopping_list_create_list",
    "nc_shopping_list_update_list",
    "nc_shopping_list_delete_list",
    "nc_shopping_list_get_items",
    "nc_shopping_list_add_items",
    "nc_shopping_list_update_item",
    "nc_shopping_list_check_item",
    "nc_shopping_list_delete_item",
    "nc_shopping_list_clear_checked_items",
    "nc_shopping_list_uncheck_all_items",
    "nc_shopping_list_add_recipe_ingredients",
];

fn id(v: &Value) -> u64 {
    v["id"].as_u64().expect("id")
}

#[tokio::test]
async fn shopping_list_tools_end_to_end() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let api = direct.shopping_list();

    let listed = client.list_all_tools().await.expect("tools/list");
    for name in TOOLS {
        let tool = listed
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(
            tool.title.is_some() && tool.output_schema.is_some(),
            "{name}"
        );
        assert!(
            tool.description.as_deref().unwrap_or("").len() <= 200,
            "{name}"
        );
    }

    // Lists.
    let title = unique_category("shopping");
    let created = call_ok(
        &client,
        "nc_shopping_list_create_list",
        json!({"title": title}),
    )
    .await;
    let list = id(&created["list"]);
    assert_eq!(created["success"], true);
    assert_eq!(api.get(list).await.unwrap().title, title);

    let renamed = format!("{title} renamed");
    let out = call_ok(
        &client,
        "nc_shopping_list_update_list",
        json!({"list_id": list, "title": renamed}),
    )
    .await;
    assert_eq!(out["list"]["title"], renamed.as_str());
    assert_eq!(api.get(list).await.unwrap().title, renamed);

    let out = call_ok(
        &client,
        "nc_shopping_list_get_list",
        json!({"list_id": list}),
    )
    .await;
    assert_eq!(out["list"]["title"], renamed.as_str());
    assert_eq!(out["list"]["isOwner"], true);
    let out = call_ok(&client, "nc_shopping_list_get_lists", json!({})).await;
    assert!(
        out["lists"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| id(l) == list)
    );
    assert_eq!(
        out["total_count"].as_u64().unwrap() as usize,
        out["lists"].as_array().unwrap().len()
    );

    // Items: a number as quantity is taken as written; one is added ticked off.
    let out = call_ok(
        &client,
        "nc_shopping_list_add_items",
        json!({"list_id": list, "items": [
            {"name": "flour", "quantity": "2", "unit": "kg"},
            {"name": "eggs", "quantity": 6},
            {"name": "salt", "checked": true},
        ]}),
    )
    .await;
    assert_eq!(out["added_count"], 3);
    let added: Vec<u64> = out["items"].as_array().unwrap().iter().map(id).collect();
    let (flour, eggs, salt) = (added[0], added[1], added[2]);
    let stored = api.items(list).await.unwrap();
    assert_eq!(stored.len(), 3);
    let get = |id: u64| stored.iter().find(|i| i.id == id).unwrap().clone();
    assert_eq!(get(flour).unit.as_deref(), Some("kg"));
    assert_eq!(get(eggs).quantity.as_deref(), Some("6"));
    assert_eq!(
        get(salt).quantity.as_deref(),
        Some("1"),
        "the app's default"
    );
    assert!(get(salt).checked && !get(flour).checked);

    let out = call_ok(
        &client,
        "nc_shopping_list_get_items",
        json!({"list_id": list}),
    )
    .await;
    assert_eq!(out["total_count"], 3);
    assert_eq!(out["list_id"], list);
    let names: Vec<&str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.last(),
        Some(&"salt"),
        "checked items come last: {names:?}"
    );

    let out = call_ok(
        &client,
        "nc_shopping_list_update_item",
        json!({"list_id": list, "item_id": flour, "quantity": "3"}),
    )
    .await;
    assert_eq!(out["item"]["quantity"], "3");
    let now = api.items(list).await.unwrap();
    let f = now.iter().find(|i| i.id == flour).unwrap();
    assert_eq!(
        (f.quantity.as_deref(), f.unit.as_deref()),
        (Some("3"), Some("kg"))
    );

    let out = call_ok(
        &client,
        "nc_shopping_list_check_item",
        json!({"list_id": list, "item_id": eggs, "checked": true}),
    )
    .await;
    assert_eq!(out["item"]["checked"], true);
    let checked =
        |items: &[nextcloud::shopping_list::Item]| items.iter().filter(|i| i.checked).count();
    assert_eq!(checked(&api.items(list).await.unwrap()), 2);

    call_ok(
        &client,
        "nc_shopping_list_uncheck_all_items",
        json!({"list_id": list}),
    )
    .await;
    assert_eq!(checked(&api.items(list).await.unwrap()), 0);

    api.check_item(list, salt, true).await.unwrap();
    let out = call_ok(
        &client,
        "nc_shopping_list_clear_checked_items",
        json!({"list_id": list}),
    )
    .await;
    assert_eq!(out["list_id"], list);
    let left: Vec<u64> = api
        .items(list)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert!(!left.contains(&salt) && left.len() == 2, "{left:?}");

    let out = call_ok(
        &client,
        "nc_shopping_list_delete_item",
        json!({"list_id": list, "item_id": eggs}),
    )
    .await;
    assert_eq!(out["deleted_id"], eggs);
    let left: Vec<u64> = api
        .items(list)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left, vec![flour]);

    // A recipe's ingredients, amounts kept as written.
    let recipe = call_ok(
        &client,
        "nc_cookbook_create_recipe",
        json!({"name": format!("Pancakes {title}"),
               "ingredients": ["200 g flour", "2 eggs", "1 pinch of salt", "butter"]}),
    )
    .await;
    let recipe_id = id(&recipe);
    let out = call_ok(
        &client,
        "nc_shopping_list_add_recipe_ingredients",
        json!({"list_id": list, "recipe_id": recipe_id}),
    )
    .await;
    assert_eq!(out["added_count"], 4);
    let items = api.items(list).await.unwrap();
    let find = |n: &str| {
        items
            .iter()
            .find(|i| i.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(find("flour").quantity.as_deref(), Some("200"));
    assert_eq!(find("flour").unit.as_deref(), Some("g"));
    assert_eq!(find("eggs").quantity.as_deref(), Some("2"));
    assert_eq!(find("salt").unit.as_deref(), Some("pinch"));
    assert_eq!(find("butter").quantity.as_deref(), Some(""));
    call_ok(
        &client,
        "nc_cookbook_delete_recipe",
        json!({"recipe_id": recipe_id}),
    )
    .await;

    let out = call_ok(
        &client,
        "nc_shopping_list_delete_list",
        json!({"list_id": list}),
    )
    .await;
    assert_eq!(out["deleted_id"], list);
    let err = api.get(list).await.expect_err("deleted");
    assert_eq!(err.status(), Some(404), "{err}");
}

#[tokio::test]
async fn bad_ids_and_arguments_are_clear_errors() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let missing = 987_654_321u64;
    let e = call_err(
        &client,
        "nc_shopping_list_get_list",
        json!({"list_id": missing}),
    )
    .await;
    assert!(e.contains("404") && e.contains("List not found"), "{e}");
    let e = call_err(
        &client,
        "nc_shopping_list_get_items",
        json!({"list_id": missing}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");

    let list = call_ok(
        &client,
        "nc_shopping_list_create_list",
        json!({"title": unique_category("shopping-bad")}),
    )
    .await;
    let list = id(&list["list"]);
    let e = call_err(
        &client,
        "nc_shopping_list_check_item",
        json!({"list_id": list, "item_id": missing, "checked": true}),
    )
    .await;
    assert!(e.contains("Item not found"), "{e}");
    let e = call_err(
        &client,
        "nc_shopping_list_delete_item",
        json!({"list_id": list, "item_id": missing}),
    )
    .await;
    assert!(e.contains("Item not found"), "{e}");
    let e = call_err(
        &client,
        "nc_shopping_list_update_item",
        json!({"list_id": list, "item_id": missing}),
    )
    .await;
    assert!(e.contains("at least one"), "{e}");
    let e = call_err(
        &client,
        "nc_shopping_list_add_items",
        json!({"list_id": list, "items": [{"name": "ok"}, {"name": " "}]}),
    )
    .await;
    assert!(e.contains("empty name"), "{e}");
    assert!(
        nc.direct()
            .shopping_list()
            .items(list)
            .await
            .unwrap()
            .is_empty()
    );
    let e = call_err(
        &client,
        "nc_shopping_list_add_recipe_ingredients",
        json!({"list_id": list, "recipe_id": missing}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    call_ok(
        &client,
        "nc_shopping_list_delete_list",
        json!({"list_id": list}),
    )
    .await;
}

#[tokio::test]
async fn a_list_shared_read_only_refuses_changes() {
    let nc = TestNextcloud::start_with(|b| b.user("bob", "bob-password-0123456789")).await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: needs a second account, which only the emulator provides");
        return;
    };
    let bob = Nextcloud::new(nc.client_config())
        .unwrap()
        .user(Credentials::new("bob", "bob-password-0123456789"));
    let list = bob.shopping_list().create("Bob's list").await.unwrap();
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    // Not shared: reading is "not found", writing is "no write access" (the app's quirk).
    let e = call_err(
        &client,
        "nc_shopping_list_get_list",
        json!({"list_id": list.id}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    assert!(emu.share_shopping_list(list.id, EMU_USER, 0));
    let out = call_ok(
        &client,
        "nc_shopping_list_get_list",
        json!({"list_id": list.id}),
    )
    .await;
    assert_eq!(out["list"]["permission"], 0);
    assert_eq!(out["list"]["isOwner"], false);
    let e = call_err(
        &client,
        "nc_shopping_list_add_items",
        json!({"list_id": list.id, "items": [{"name": "x"}]}),
    )
    .await;
    assert!(e.contains("403") && e.contains("No write access"), "{e}");
    let e = call_err(
        &client,
        "nc_shopping_list_delete_list",
        json!({"list_id": list.id}),
    )
    .await;
    assert!(
        e.contains("403") && e.contains("Owner access required"),
        "{e}"
    );
    assert!(bob.shopping_list().items(list.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn shopping_list_tools_say_when_the_app_is_missing() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    // The app publishes no capability, so its tools cannot be hidden up front; a call says
    // plainly that the app is missing.
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let e = call_err(&client, "nc_shopping_list_get_lists", json!({})).await;
    assert!(e.contains("Shopping List app is not installed"), "{e}");
}
