//! The Cookbook tools end to end: each tool is called over MCP and the result is checked in
//! Cookbook through a direct client.

mod common;

use common::*;
use serde_json::{Map, Value, json};

const COOKBOOK_TOOLS: [&str; 13] = [
    "nc_cookbook_import_recipe",
    "nc_cookbook_list_recipes",
    "nc_cookbook_get_recipe",
    "nc_cookbook_create_recipe",
    "nc_cookbook_update_recipe",
    "nc_cookbook_delete_recipe",
    "nc_cookbook_search_recipes",
    "nc_cookbook_list_categories",
    "nc_cookbook_get_recipes_in_category",
    "nc_cookbook_list_keywords",
    "nc_cookbook_get_recipes_with_keywords",
    "nc_cookbook_set_config",
    "nc_cookbook_reindex",
];

fn ids(out: &Value) -> Vec<u64> {
    out["recipes"]
        .as_array()
        .expect("recipes")
        .iter()
        .map(|r| r["id"].as_u64().expect("id"))
        .collect()
}

#[tokio::test]
async fn cookbook_tools_end_to_end() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let cookbook = direct.cookbook();

    let listed = client.list_all_tools().await.expect("tools/list");
    for name in COOKBOOK_TOOLS {
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

    // Names, category and keywords unique to this run, so a real instance's recipes and
    // earlier runs do not interfere.
    let tag = unique_category("cookbook");
    let category = format!("Soups {tag}");
    let (hot, quick) = (format!("hot-{tag}"), format!("quick-{tag}"));
    let soup_name = format!("Tomato soup {tag}");
    let created = call_ok(
        &client,
        "nc_cookbook_create_recipe",
        json!({
            "name": soup_name,
            "description": "A warming soup.",
            "ingredients": ["1 kg tomatoes", " 1 onion ", ""],
            "instructions": ["Chop.", "Simmer."],
            "url": "https://recipes.example/tomato-soup",
            "prep_time": "PT15M",
            "cook_time": "PT1H30M",
            "total_time": "P0DT1H45M",
            "recipe_yield": 4,
            "category": category,
            "keywords": format!("{hot}, {quick},{hot}"),
        }),
    )
    .await;
    let soup = created["id"].as_u64().expect("id");
    assert_eq!(created["name"], soup_name.as_str());
    let stored = cookbook.get(soup).await.expect("stored");
    assert_eq!(stored.str("name"), soup_name);
    assert_eq!(stored.str("prepTime"), "PT0H15M0S");
    assert_eq!(stored.str("cookTime"), "PT1H30M0S");
    assert_eq!(stored.str("totalTime"), "PT1H45M0S");
    assert_eq!(
        stored.strings("recipeIngredient"),
        ["1 kg tomatoes", "1 onion"]
    );
    assert_eq!(stored.strings("recipeInstructions"), ["Chop.", "Simmer."]);
    assert_eq!(stored.str("recipeCategory"), category);
    assert_eq!(stored.str("keywords"), format!("{hot},{quick}"));
    assert_eq!(stored.0["recipeYield"], 4);

    // A second recipe made directly, with fields the tools do not set (tools, nutrition).
    let mut salad: Map<String, Value> = serde_json::from_value(json!({
        "name": format!("Green salad {tag}"),
        "description": "Crisp.",
        "recipeIngredient": ["lettuce"],
        "tool": ["salad spinner"],
        "nutrition": {"@type": "NutritionInformation", "calories": "120 kcal"},
        "keywords": hot,
    }))
    .unwrap();
    salad.insert("recipeCategory".into(), json!(""));
    let salad = cookbook.create(&salad).await.expect("direct create");

    // Read it back through the tool.
    let got = call_ok(
        &client,
        "nc_cookbook_get_recipe",
        json!({"recipe_id": soup}),
    )
    .await;
    assert_eq!(got["id"], soup);
    assert_eq!(got["@type"], "Recipe");
    assert_eq!(got["name"], soup_name.as_str());
    assert_eq!(got["cookTime"], "PT1H30M0S");
    assert_eq!(got["recipeYield"], 4);
    assert_eq!(got["keywords"], json!([hot, quick]));
    assert_eq!(got["recipeIngredient"][1], "1 onion");
    assert_eq!(got["url"], "https://recipes.example/tomato-soup");
    let image_url = got["imageUrl"].as_str().expect("image URL");
    assert!(
        image_url.starts_with(&nc.base_url)
            && image_url.contains(&format!("/recipes/{soup}/image")),
        "{image_url}"
    );
    let got_salad = call_ok(
        &client,
        "nc_cookbook_get_recipe",
        json!({"recipe_id": salad}),
    )
    .await;
    assert_eq!(got_salad["tool"], json!(["salad spinner"]));
    assert_eq!(got_salad["nutrition"]["calories"], "120 kcal");

    let all = call_ok(&client, "nc_cookbook_list_recipes", json!({})).await;
    let all_ids = ids(&all);
    assert!(all_ids.contains(&soup) && all_ids.contains(&salad), "{all}");
    assert_eq!(all["total_count"], all_ids.len());
    let soup_entry = all["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == soup)
        .unwrap();
    assert_eq!(soup_entry["category"], category.as_str());

    // Update two fields of the salad; everything else stays, including what no tool sets.
    let updated = call_ok(
        &client,
        "nc_cookbook_update_recipe",
        json!({"recipe_id": salad, "cook_time": "PT5M", "category": category, "recipe_yield": 2}),
    )
    .await;
    assert_eq!(updated["id"], salad);
    let after = cookbook.get(salad).await.expect("salad");
    assert_eq!(after.str("cookTime"), "PT0H5M0S");
    assert_eq!(after.str("recipeCategory"), category);
    assert_eq!(after.0["recipeYield"], 2);
    assert_eq!(after.str("description"), "Crisp.");
    assert_eq!(after.strings("recipeIngredient"), ["lettuce"]);
    assert_eq!(after.strings("tool"), ["salad spinner"]);
    assert_eq!(after.0["nutrition"]["calories"], "120 kcal");
    assert_eq!(after.str("keywords"), hot);
    // Clearing a duration and renaming.
    let renamed = format!("Summer salad {tag}");
    call_ok(
        &client,
        "nc_cookbook_update_recipe",
        json!({"recipe_id": salad, "cook_time": "", "name": renamed}),
    )
    .await;
    let after = cookbook.get(salad).await.expect("salad");
    assert_eq!(after.str("name"), renamed);
    assert!(after.0["cookTime"].is_null(), "{:?}", after.0["cookTime"]);
    assert_eq!(after.str("description"), "Crisp.");

    // Search: by a word of the name, and by keyword.
    let found = call_ok(
        &client,
        "nc_cookbook_search_recipes",
        json!({"query": format!("tomato {tag}")}),
    )
    .await;
    assert!(ids(&found).contains(&soup), "{found}");
    assert_eq!(found["total_found"], ids(&found).len());
    let found = call_ok(
        &client,
        "nc_cookbook_search_recipes",
        json!({"query": quick}),
    )
    .await;
    assert_eq!(ids(&found), [soup]);

    // Categories and keywords.
    let cats = call_ok(&client, "nc_cookbook_list_categories", json!({})).await;
    let entry = cats["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == category.as_str())
        .unwrap_or_else(|| panic!("category missing: {cats}"))
        .clone();
    assert_eq!(entry["recipe_count"], 2);
    let in_cat = call_ok(
        &client,
        "nc_cookbook_get_recipes_in_category",
        json!({"category": category}),
    )
    .await;
    let mut got_ids = ids(&in_cat);
    got_ids.sort();
    let mut want = vec![soup, salad];
    want.sort();
    assert_eq!(got_ids, want);
    assert_eq!(in_cat["total_count"], 2);

    let kws = call_ok(&client, "nc_cookbook_list_keywords", json!({})).await;
    let count_of = |name: &str| {
        kws["keywords"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .map(|k| k["recipe_count"].clone())
    };
    assert_eq!(count_of(&hot), Some(json!(2)), "{kws}");
    assert_eq!(count_of(&quick), Some(json!(1)), "{kws}");
    let both = call_ok(
        &client,
        "nc_cookbook_get_recipes_with_keywords",
        json!({"keywords": [hot.to_uppercase(), quick]}),
    )
    .await;
    assert_eq!(ids(&both), [soup]);
    let one = call_ok(
        &client,
        "nc_cookbook_get_recipes_with_keywords",
        json!({"keywords": [hot]}),
    )
    .await;
    assert_eq!(one["total_count"], 2);

    // Reindex answers and changes nothing.
    let re = call_ok(&client, "nc_cookbook_reindex", json!({})).await;
    assert_eq!(re["success"], true);
    assert!(!re["message"].as_str().unwrap_or_default().is_empty());
    assert!(cookbook.get(soup).await.is_ok());

    // Delete both; Cookbook no longer has them.
    for id in [soup, salad] {
        let deleted = call_ok(
            &client,
            "nc_cookbook_delete_recipe",
            json!({"recipe_id": id}),
        )
        .await;
        assert_eq!(deleted["deleted_id"], id);
        let err = cookbook.get(id).await.expect_err("deleted");
        assert_eq!(err.status(), Some(404), "{err}");
    }
    let all = call_ok(&client, "nc_cookbook_list_recipes", json!({})).await;
    assert!(!ids(&all).contains(&soup) && !ids(&all).contains(&salad));
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_argument() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let cookbook = direct.cookbook();
    let tag = unique_category("cookbook-bad");
    let name = format!("Bread {tag}");
    let id = call_ok(
        &client,
        "nc_cookbook_create_recipe",
        json!({"name": name, "prep_time": "PT10M"}),
    )
    .await["id"]
        .as_u64()
        .unwrap();

    for (args, arg) in [
        (json!({"name": "x", "prep_time": "10 minutes"}), "prep_time"),
        (json!({"name": "x", "cook_time": "PT1.5H"}), "cook_time"),
        (json!({"name": "x", "total_time": "P1M"}), "total_time"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "x", "url": "ftp://example.com/r"}), "url"),
        (json!({"name": "x", "recipe_yield": 0}), "recipe_yield"),
    ] {
        let err = call_err(&client, "nc_cookbook_create_recipe", args.clone()).await;
        assert!(err.contains(&format!("`{arg}`")), "{args}: {err}");
    }
    let err = call_err(
        &client,
        "nc_cookbook_update_recipe",
        json!({"recipe_id": id, "prep_time": "half an hour"}),
    )
    .await;
    assert!(
        err.contains("`prep_time`") && err.contains("PT1H30M"),
        "{err}"
    );
    assert_eq!(cookbook.get(id).await.unwrap().str("prepTime"), "PT0H10M0S");
    let err = call_err(
        &client,
        "nc_cookbook_update_recipe",
        json!({"recipe_id": id}),
    )
    .await;
    assert!(err.contains("nothing to change"), "{err}");

    // A second recipe with the same name: Cookbook refuses, and says why.
    let err = call_err(&client, "nc_cookbook_create_recipe", json!({"name": name})).await;
    assert!(
        err.contains("409") && err.contains("name already exists"),
        "{err}"
    );

    for (tool, args, arg) in [
        ("nc_cookbook_search_recipes", json!({"query": " "}), "query"),
        (
            "nc_cookbook_get_recipes_in_category",
            json!({"category": ""}),
            "category",
        ),
        (
            "nc_cookbook_get_recipes_with_keywords",
            json!({"keywords": [" ", ""]}),
            "keywords",
        ),
        ("nc_cookbook_set_config", json!({}), "folder"),
        (
            "nc_cookbook_set_config",
            json!({"update_interval": 0}),
            "update_interval",
        ),
        (
            "nc_cookbook_import_recipe",
            json!({"url": "not a url"}),
            "url",
        ),
    ] {
        let err = call_err(&client, tool, args).await;
        assert!(err.contains(&format!("`{arg}`")), "{tool}: {err}");
    }
    cookbook.delete(id).await.expect("cleanup");
}

#[tokio::test]
async fn unknown_recipe_ids_give_clear_not_found_errors() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let missing = 987_654_321u64;
    for (tool, args) in [
        ("nc_cookbook_get_recipe", json!({"recipe_id": missing})),
        (
            "nc_cookbook_update_recipe",
            json!({"recipe_id": missing, "description": "x"}),
        ),
        ("nc_cookbook_delete_recipe", json!({"recipe_id": missing})),
    ] {
        let err = call_err(&client, tool, args).await;
        assert!(
            err.contains("404") && err.contains(&missing.to_string()) && err.contains("no recipe"),
            "{tool}: {err}"
        );
    }
}

const PAGE: &str = r#"<!DOCTYPE html><html><head><title>Pancakes</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "name": "Recipes"},
  {"@type": ["Recipe"], "name": "NAME", "description": "Fluffy.",
   "recipeYield": ["4 servings"], "prepTime": "PT10M", "cookTime": "PT20M",
   "recipeCategory": ["Breakfast"], "keywords": "sweet, quick",
   "recipeIngredient": ["200 g flour", "2 eggs"],
   "recipeInstructions": [{"@type": "HowToStep", "text": "Mix."}, {"@type": "HowToStep", "text": "Fry."}]}
]}
</script></head><body><h1>Pancakes</h1></body></html>"#;

#[tokio::test]
async fn import_reads_a_recipe_page() {
    let nc = TestNextcloud::start().await;
    let Some(emulator) = nc.emulator() else {
        eprintln!("skipped: importing needs a page Nextcloud can reach, which the emulator fakes");
        return;
    };
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let cookbook = direct.cookbook();
    let url = "https://recipes.example/pancakes";
    emulator.register_web_page(url, &PAGE.replace("NAME", "Pancakes"));
    emulator.register_web_page("https://recipes.example/about", "<html>No recipe</html>");

    let out = call_ok(&client, "nc_cookbook_import_recipe", json!({"url": url})).await;
    let id = out["recipe_id"].as_u64().expect("id");
    assert_eq!(out["recipe"]["name"], "Pancakes");
    assert_eq!(out["recipe"]["recipeInstructions"], json!(["Mix.", "Fry."]));
    let stored = cookbook.get(id).await.expect("stored");
    assert_eq!(stored.str("url"), url);
    assert_eq!(stored.str("cookTime"), "PT0H20M0S");
    assert_eq!(stored.str("recipeCategory"), "Breakfast");
    assert_eq!(stored.0["recipeYield"], 4);
    assert_eq!(stored.str("keywords"), "sweet,quick");

    // The same page again: the name is taken.
    let err = call_err(&client, "nc_cookbook_import_recipe", json!({"url": url})).await;
    assert!(err.contains("409"), "{err}");
    let err = call_err(
        &client,
        "nc_cookbook_import_recipe",
        json!({"url": "https://recipes.example/about"}),
    )
    .await;
    assert!(
        err.contains("400") && err.contains("No parser found"),
        "{err}"
    );
    let err = call_err(
        &client,
        "nc_cookbook_import_recipe",
        json!({"url": "http://127.0.0.1:9/recipe"}),
    )
    .await;
    assert!(err.contains("not allowed"), "{err}");
    assert_eq!(cookbook.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn settings_change_and_read_back() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let cookbook = direct.cookbook();
    let before = cookbook.config().await.expect("config");

    let out = call_ok(
        &client,
        "nc_cookbook_set_config",
        json!({"update_interval": before.update_interval + 7, "print_image": !before.print_image}),
    )
    .await;
    assert_eq!(out["config"]["update_interval"], before.update_interval + 7);
    let now = cookbook.config().await.expect("config");
    assert_eq!(now.update_interval, before.update_interval + 7);
    assert_eq!(now.print_image, !before.print_image);
    assert_eq!(now.folder, before.folder, "untouched setting kept");

    if nc.emulator().is_some() {
        // Another folder: the recipes of the old one are no longer listed, and come back.
        let id = call_ok(
            &client,
            "nc_cookbook_create_recipe",
            json!({"name": "Folder test"}),
        )
        .await["id"]
            .as_u64()
            .unwrap();
        call_ok(
            &client,
            "nc_cookbook_set_config",
            json!({"folder": "Other recipes"}),
        )
        .await;
        assert_eq!(cookbook.config().await.unwrap().folder, "/Other recipes");
        let listed = call_ok(&client, "nc_cookbook_list_recipes", json!({})).await;
        assert_eq!(listed["total_count"], 0);
        call_ok(
            &client,
            "nc_cookbook_set_config",
            json!({"folder": before.folder}),
        )
        .await;
        let listed = call_ok(&client, "nc_cookbook_list_recipes", json!({})).await;
        assert_eq!(ids(&listed), [id]);
    }

    call_ok(
        &client,
        "nc_cookbook_set_config",
        json!({"update_interval": before.update_interval, "print_image": before.print_image}),
    )
    .await;
}

#[tokio::test]
async fn cookbook_tools_are_hidden_when_cookbook_is_not_installed() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name.starts_with("nc_notes_")));
    assert!(!tools.iter().any(|t| t.name.starts_with("nc_cookbook_")));
    let err = nc
        .direct()
        .cookbook()
        .list()
        .await
        .expect_err("no Cookbook app");
    assert_eq!(err.status(), Some(404), "{err}");
}
