//! The Collectives tools end to end: each tool is called over MCP and the result is checked in
//! the app through a direct client (pages' markdown through WebDAV).

mod common;
mod multi_common;

use common::*;
use nextcloud::collectives::Page;
use serde_json::{Value, json};

const TOOLS: [&str; 22] = [
    "collectives_get_collectives",
    "collectives_get_pages",
    "collectives_get_page",
    "collectives_search_pages",
    "collectives_get_tags",
    "collectives_get_trashed_pages",
    "collectives_get_trashed_collectives",
    "collectives_create_collective",
    "collectives_set_collective_emoji",
    "collectives_trash_collective",
    "collectives_delete_collective",
    "collectives_restore_collective",
    "collectives_create_page",
    "collectives_move_page",
    "collectives_trash_page",
    "collectives_restore_page",
    "collectives_set_page_emoji",
    "collectives_create_tag",
    "collectives_assign_tag",
    "collectives_remove_tag",
    "collectives_write_page",
    "collectives_append_page",
];

/// The feature's share of the catalogue budget (see `tests/catalogue_budget.rs`).
const LISTING_ALLOWANCE: usize = 5_600;
const OUTPUT_ALLOWANCE: usize = 8_000;

fn id(v: &Value) -> u64 {
    v["id"].as_u64().expect("id")
}

fn find(pages: &[Page], id: u64) -> Option<&Page> {
    pages.iter().find(|p| p.id == id)
}

#[tokio::test]
async fn collectives_tools_end_to_end() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let api = direct.collectives();

    let listed = client.list_all_tools().await.expect("tools/list");
    let (mut listing, mut outputs) = (0, 0);
    for name in TOOLS {
        let tool = listed
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(
            tool.title.is_some() && tool.output_schema.is_some(),
            "{name}"
        );
        listing += tool.name.len()
            + tool.description.as_deref().map_or(0, str::len)
            + serde_json::to_string(&*tool.input_schema).unwrap().len();
        outputs += serde_json::to_string(&**tool.output_schema.as_ref().unwrap())
            .unwrap()
            .len();
    }
    println!("collectives tools: {listing} B names+descriptions+inputs, {outputs} B outputs");
    assert!(listing <= LISTING_ALLOWANCE, "{listing} B");
    assert!(outputs <= OUTPUT_ALLOWANCE, "{outputs} B");

    // A collective, its emoji set and removed.
    let name = unique_category("wiki");
    let out = call_ok(
        &client,
        "collectives_create_collective",
        json!({"name": name, "emoji": "📚"}),
    )
    .await;
    let cid = id(&out);
    assert_eq!(out["name"], name.as_str());
    let stored = api.list().await.unwrap();
    let c = stored.iter().find(|c| c.id == cid).expect("created");
    assert_eq!(c.emoji.as_deref(), Some("📚"));
    let out = call_ok(&client, "collectives_get_collectives", json!({})).await;
    assert!(
        out["collectives"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| id(c) == cid)
    );
    assert_eq!(
        out["total"].as_u64().unwrap() as usize,
        out["collectives"].as_array().unwrap().len()
    );
    call_ok(
        &client,
        "collectives_set_collective_emoji",
        json!({"collective_id": cid, "emoji": "🌱"}),
    )
    .await;
    let emoji = |list: Vec<nextcloud::collectives::Collective>| {
        list.into_iter().find(|c| c.id == cid).unwrap().emoji
    };
    assert_eq!(emoji(api.list().await.unwrap()).as_deref(), Some("🌱"));
    call_ok(
        &client,
        "collectives_set_collective_emoji",
        json!({"collective_id": cid}),
    )
    .await;
    assert_eq!(
        emoji(api.list().await.unwrap()).filter(|e| !e.is_empty()),
        None
    );

    // Pages: the landing page, a page below it and a subpage (its parent becomes a folder).
    let out = call_ok(
        &client,
        "collectives_get_pages",
        json!({"collective_id": cid}),
    )
    .await;
    let landing = out["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent_id"] == 0)
        .map(id)
        .expect("landing page");
    let out = call_ok(
        &client,
        "collectives_create_page",
        json!({"collective_id": cid, "parent_id": landing, "title": "Guide"}),
    )
    .await;
    let guide = id(&out);
    assert_eq!(out["parent_id"], landing);
    let out = call_ok(
        &client,
        "collectives_create_page",
        json!({"collective_id": cid, "parent_id": guide, "title": "Setup"}),
    )
    .await;
    let setup = id(&out);
    let pages = api.pages(cid).await.unwrap();
    assert_eq!(find(&pages, guide).unwrap().parent_id, landing);
    assert_eq!(find(&pages, setup).unwrap().parent_id, guide);
    assert_eq!(find(&pages, setup).unwrap().title, "Setup");

    // Content: read with its etag, replaced, a stale etag refused, appended to.
    let out = call_ok(
        &client,
        "collectives_get_page",
        json!({"collective_id": cid, "page_id": setup}),
    )
    .await;
    assert_eq!(out["page"]["title"], "Setup");
    let etag = out["etag"].as_str().expect("etag").to_string();
    let word = format!("zebrafinch{}", cid);
    let text = format!("# Setup\n\nInstall the {word} first.\n");
    let out = call_ok(
        &client,
        "collectives_write_page",
        json!({"collective_id": cid, "page_id": setup, "content": text, "etag": etag}),
    )
    .await;
    let new_etag = out["etag"].as_str().map(str::to_string);
    assert_eq!(api.content(cid, setup).await.unwrap().markdown, text);
    let e = call_err(
        &client,
        "collectives_write_page",
        json!({"collective_id": cid, "page_id": setup, "content": "lost", "etag": etag}),
    )
    .await;
    assert!(e.contains("changed by someone else"), "{e}");
    assert_eq!(api.content(cid, setup).await.unwrap().markdown, text);
    let e = call_err(
        &client,
        "collectives_append_page",
        json!({"collective_id": cid, "page_id": setup, "content": "lost", "etag": etag}),
    )
    .await;
    assert!(e.contains("changed by someone else"), "{e}");
    let current = api.content(cid, setup).await.unwrap();
    if let Some(t) = &new_etag {
        assert_eq!(current.etag.as_ref(), Some(t));
    }
    call_ok(
        &client,
        "collectives_append_page",
        json!({"collective_id": cid, "page_id": setup, "content": "- step two", "etag": current.etag}),
    )
    .await;
    call_ok(
        &client,
        "collectives_append_page",
        json!({"collective_id": cid, "page_id": setup, "content": "- step three\n"}),
    )
    .await;
    assert_eq!(
        api.content(cid, setup).await.unwrap().markdown,
        format!("{text}- step two\n- step three\n")
    );
    // The parent, now a folder with its own Readme.md, still reads.
    let out = call_ok(
        &client,
        "collectives_get_page",
        json!({"collective_id": cid, "page_id": guide}),
    )
    .await;
    assert_eq!(out["page"]["title"], "Guide");

    // Search answers from the app's index: a new page is found once the indexing job ran.
    let search = json!({"collective_id": cid, "query": word});
    if let Some(emu) = nc.emulator() {
        let out = call_ok(&client, "collectives_search_pages", search.clone()).await;
        assert_eq!(out["total"], 0, "not indexed yet: {out}");
        emu.run_collectives_index();
        let out = call_ok(&client, "collectives_search_pages", search).await;
        assert_eq!(out["total"], 1, "{out}");
        assert_eq!(id(&out["results"][0]), setup);
        assert_eq!(out["query"], word.as_str());
    } else {
        // A real server indexes in a background job: the page may or may not be found yet.
        let out = call_ok(&client, "collectives_search_pages", search).await;
        assert!(out["results"].as_array().unwrap().len() <= 1, "{out}");
    }

    // Tags.
    let out = call_ok(
        &client,
        "collectives_create_tag",
        json!({"collective_id": cid, "name": "howto", "color": "#0082C9"}),
    )
    .await;
    let tag = id(&out);
    assert_eq!(out["color"], "0082C9");
    assert!(
        api.tags(cid)
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == tag && t.name == "howto")
    );
    let out = call_ok(
        &client,
        "collectives_get_tags",
        json!({"collective_id": cid}),
    )
    .await;
    assert_eq!(out["total"], 1);
    call_ok(
        &client,
        "collectives_assign_tag",
        json!({"collective_id": cid, "page_id": setup, "tag_id": tag}),
    )
    .await;
    assert_eq!(api.page(cid, setup).await.unwrap().tags, vec![tag]);
    call_ok(
        &client,
        "collectives_remove_tag",
        json!({"collective_id": cid, "page_id": setup, "tag_id": tag}),
    )
    .await;
    assert!(api.page(cid, setup).await.unwrap().tags.is_empty());

    // Page emoji.
    call_ok(
        &client,
        "collectives_set_page_emoji",
        json!({"collective_id": cid, "page_id": setup, "emoji": "🛠"}),
    )
    .await;
    assert_eq!(
        api.page(cid, setup).await.unwrap().emoji.as_deref(),
        Some("🛠")
    );
    call_ok(
        &client,
        "collectives_set_page_emoji",
        json!({"collective_id": cid, "page_id": setup, "emoji": null}),
    )
    .await;
    assert_eq!(
        api.page(cid, setup)
            .await
            .unwrap()
            .emoji
            .filter(|e| !e.is_empty()),
        None
    );

    // Copy, then move and rename.
    let out = call_ok(
        &client,
        "collectives_move_page",
        json!({"collective_id": cid, "page_id": setup, "title": "Setup copy", "copy": true}),
    )
    .await;
    let copy = out["page_id"].as_u64().unwrap();
    assert_ne!(copy, setup);
    let copied = api.content(cid, copy).await.unwrap();
    assert_eq!(copied.page.title, "Setup copy");
    assert_eq!(copied.page.parent_id, guide);
    assert!(copied.markdown.contains(&word));
    call_ok(
        &client,
        "collectives_move_page",
        json!({"collective_id": cid, "page_id": setup, "parent_id": landing, "title": "Install"}),
    )
    .await;
    let moved = api.content(cid, setup).await.unwrap();
    assert_eq!(moved.page.parent_id, landing);
    assert_eq!(moved.page.title, "Install");
    assert!(moved.markdown.contains("step three"));

    // Page trash.
    call_ok(
        &client,
        "collectives_trash_page",
        json!({"collective_id": cid, "page_id": guide}),
    )
    .await;
    assert!(find(&api.pages(cid).await.unwrap(), guide).is_none());
    assert!(find(&api.trashed_pages(cid).await.unwrap(), guide).is_some());
    let out = call_ok(
        &client,
        "collectives_get_trashed_pages",
        json!({"collective_id": cid}),
    )
    .await;
    assert!(
        out["pages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| id(p) == guide)
    );
    call_ok(
        &client,
        "collectives_restore_page",
        json!({"collective_id": cid, "page_id": guide}),
    )
    .await;
    let pages = api.pages(cid).await.unwrap();
    assert_eq!(find(&pages, guide).unwrap().parent_id, landing);
    assert_eq!(find(&pages, copy).unwrap().parent_id, guide);

    // Collective trash: trashed, restored, trashed again and deleted (its team kept).
    call_ok(
        &client,
        "collectives_trash_collective",
        json!({"collective_id": cid}),
    )
    .await;
    assert!(!api.list().await.unwrap().iter().any(|c| c.id == cid));
    let out = call_ok(&client, "collectives_get_trashed_collectives", json!({})).await;
    assert!(
        out["collectives"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| id(c) == cid)
    );
    call_ok(
        &client,
        "collectives_restore_collective",
        json!({"collective_id": cid}),
    )
    .await;
    assert!(api.list().await.unwrap().iter().any(|c| c.id == cid));
    call_ok(
        &client,
        "collectives_trash_collective",
        json!({"collective_id": cid}),
    )
    .await;
    let out = call_ok(
        &client,
        "collectives_delete_collective",
        json!({"collective_id": cid}),
    )
    .await;
    assert!(
        out["message"].as_str().unwrap().contains("team was kept"),
        "{out}"
    );
    assert!(!api.trashed().await.unwrap().iter().any(|c| c.id == cid));
    assert!(!api.list().await.unwrap().iter().any(|c| c.id == cid));
    if let Some(emu) = nc.emulator() {
        assert!(emu.team_exists(&name));
        // The kept team blocks a new collective of the same name.
        let e = call_err(
            &client,
            "collectives_create_collective",
            json!({"name": name}),
        )
        .await;
        assert!(e.contains("400") || e.contains("exists"), "{e}");
    }

    // Deleting with its team frees the name.
    let name = unique_category("wiki-team");
    let out = call_ok(
        &client,
        "collectives_create_collective",
        json!({"name": name}),
    )
    .await;
    let cid = id(&out);
    api.trash(cid).await.unwrap();
    call_ok(
        &client,
        "collectives_delete_collective",
        json!({"collective_id": cid, "delete_team": true}),
    )
    .await;
    assert!(!api.trashed().await.unwrap().iter().any(|c| c.id == cid));
    if let Some(emu) = nc.emulator() {
        assert!(!emu.team_exists(&name));
    }
}

#[tokio::test]
async fn bad_ids_and_arguments_are_clear_errors() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let missing = 987_654_321u64;
    let e = call_err(
        &client,
        "collectives_get_pages",
        json!({"collective_id": missing}),
    )
    .await;
    assert!(
        e.contains(&format!("Collective {missing} was not found")),
        "{e}"
    );

    let name = unique_category("wiki-bad");
    let cid = nc
        .direct()
        .collectives()
        .create(&name, None)
        .await
        .unwrap()
        .id;
    let e = call_err(
        &client,
        "collectives_get_page",
        json!({"collective_id": cid, "page_id": missing}),
    )
    .await;
    assert!(
        e.contains(&format!("Page {missing} of collective {cid} was not found")),
        "{e}"
    );
    let e = call_err(
        &client,
        "collectives_trash_page",
        json!({"collective_id": cid, "page_id": missing}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");
    let e = call_err(
        &client,
        "collectives_restore_page",
        json!({"collective_id": cid, "page_id": missing}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");
    let landing = nc.direct().collectives().pages(cid).await.unwrap()[0].id;
    let e = call_err(
        &client,
        "collectives_assign_tag",
        json!({"collective_id": cid, "page_id": landing, "tag_id": missing}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");
    let e = call_err(
        &client,
        "collectives_restore_collective",
        json!({"collective_id": cid}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");

    // Arguments checked before anything is sent.
    for (tool, args, argument) in [
        (
            "collectives_create_collective",
            json!({"name": " "}),
            "name",
        ),
        (
            "collectives_create_tag",
            json!({"collective_id": cid, "name": "x", "color": "blue"}),
            "color",
        ),
        (
            "collectives_search_pages",
            json!({"collective_id": cid, "query": ""}),
            "query",
        ),
        (
            "collectives_create_page",
            json!({"collective_id": cid, "parent_id": landing, "title": "  "}),
            "title",
        ),
        (
            "collectives_write_page",
            json!({"collective_id": cid, "page_id": landing, "content": "x", "etag": ""}),
            "etag",
        ),
        (
            "collectives_append_page",
            json!({"collective_id": cid, "page_id": landing, "content": " "}),
            "content",
        ),
        (
            "collectives_get_page",
            json!({"collective_id": cid}),
            "page_id",
        ),
    ] {
        let e = call_err(&client, tool, args).await;
        assert!(e.contains(&format!("`{argument}`")), "{tool}: {e}");
    }
    let direct = nc.direct();
    direct.collectives().trash(cid).await.unwrap();
    direct.collectives().delete(cid, true).await.unwrap();
}

#[tokio::test]
async fn collectives_tools_are_hidden_when_the_app_is_not_installed() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name.starts_with("nc_notes_")));
    assert!(!tools.iter().any(|t| t.name.starts_with("collectives_")));
    let e = call_err(&client, "collectives_get_collectives", json!({})).await;
    assert!(e.contains("Collectives app is not installed"), "{e}");
    let err = nc
        .direct()
        .collectives()
        .list()
        .await
        .expect_err("no Collectives app");
    assert!(
        matches!(err, nextcloud::Error::AppNotInstalled { .. }),
        "{err}"
    );
}

/// A user who granted this server only `collectives.read` sees no writing tool and cannot
/// call one.
#[tokio::test]
async fn collectives_writes_need_the_write_scope() {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (stores an app password for a test user)");
        return;
    }
    let scoped = multi_common::scoped_client(
        &nc.base_url,
        &nc.username,
        &nc.password,
        &["collectives.read"],
        "collectives.read collectives.write",
    )
    .await;
    let (client, names) = (&scoped.client, &scoped.listed);
    assert!(names.contains("collectives_get_pages"), "{names:?}");
    assert!(!names.contains("collectives_create_collective"));
    assert!(!names.contains("collectives_write_page"));
    let e = call_err(
        client,
        "collectives_create_collective",
        json!({"name": "nope"}),
    )
    .await;
    assert!(e.contains("`collectives.write`"), "{e}");
    assert!(
        !nc.direct()
            .collectives()
            .list()
            .await
            .unwrap()
            .iter()
            .any(|c| c.name == "nope")
    );
    scoped.cleanup().await;
}
