//! The News tools end to end: each tool is called over MCP and the result is checked in the
//! app through a direct client (and the emulator's state where the API cannot show it).
//! Items come only from fetching feeds, which the emulator plays from registered documents,
//! so the feed and item parts need it; folders run against a real Nextcloud too.

mod common;
mod multi_common;

use common::*;
use nextcloud::news::{ItemQuery, Selection};
use nextcloud_emulator::news::{Source, SourceItem};
use serde_json::{Value, json};

const TOOLS: [&str; 14] = [
    "nc_news_list_folders",
    "nc_news_list_feeds",
    "nc_news_list_items",
    "nc_news_get_item",
    "nc_news_get_starred_items",
    "nc_news_get_unread_items",
    "nc_news_get_feed_health",
    "nc_news_get_status",
    "nc_news_mark_items",
    "nc_news_add_feed",
    "nc_news_delete_feed",
    "nc_news_create_folder",
    "nc_news_rename_folder",
    "nc_news_delete_folder",
];

const MISSING: u64 = 987_654_321;

fn id(v: &Value) -> u64 {
    v["id"].as_u64().expect("id")
}

fn ids(out: &Value) -> Vec<u64> {
    out["results"].as_array().unwrap().iter().map(id).collect()
}

fn source(title: &str, site: &str, n: usize) -> Source {
    Source {
        title: title.into(),
        link: Some(format!("https://{site}/")),
        items: (1..=n)
            .map(|i| SourceItem {
                guid: format!("{site}-{i}"),
                title: format!("{title} story {i}"),
                url: Some(format!("https://{site}/{i}")),
                author: Some("Ada".into()),
                pub_date: 1_700_000_000 + i as i64 * 3600,
                body: format!(
                    "<p>Story <strong>{i}</strong> of {title}.</p><ul><li>first point</li><li>second point</li></ul><script>alert(1)</script>"
                ),
            })
            .collect(),
        failing: None,
    }
}

/// Every item id of `user`'s feed, newest first, straight from the app.
async fn feed_item_ids(direct: &nextcloud::NextcloudUser, feed: u64) -> Vec<u64> {
    direct
        .news()
        .items(&ItemQuery {
            selection: Selection::Feed(feed),
            unread_only: false,
            batch_size: 1000,
            before_id: 0,
        })
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect()
}

#[tokio::test]
async fn folders_are_created_renamed_and_deleted() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let api = nc.direct();
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

    let name = unique_category("news");
    let out = call_ok(&client, "nc_news_create_folder", json!({"name": name})).await;
    let folder = id(&out);
    assert_eq!(out["name"], name.as_str());
    let stored = api.news().folders().await.unwrap();
    assert!(stored.iter().any(|f| f.id == folder && f.name == name));

    let out = call_ok(&client, "nc_news_list_folders", json!({})).await;
    assert!(ids(&out).contains(&folder));
    assert_eq!(
        out["total_count"].as_u64().unwrap() as usize,
        ids(&out).len()
    );

    let renamed = format!("{name} renamed");
    let out = call_ok(
        &client,
        "nc_news_rename_folder",
        json!({"folder_id": folder, "name": renamed}),
    )
    .await;
    assert_eq!(out["name"], renamed.as_str());
    let stored = api.news().folders().await.unwrap();
    assert!(stored.iter().any(|f| f.id == folder && f.name == renamed));

    let e = call_err(&client, "nc_news_create_folder", json!({"name": "  "})).await;
    assert!(e.contains("`name`") && e.contains("non-empty"), "{e}");
    let e = call_err(
        &client,
        "nc_news_rename_folder",
        json!({"folder_id": MISSING, "name": "x"}),
    )
    .await;
    assert!(
        e.contains(&format!("News folder {MISSING}")) && e.contains("404"),
        "{e}"
    );
    let e = call_err(
        &client,
        "nc_news_delete_folder",
        json!({"folder_id": MISSING}),
    )
    .await;
    assert!(e.contains("not found") && e.contains("404"), "{e}");

    call_ok(
        &client,
        "nc_news_delete_folder",
        json!({"folder_id": folder}),
    )
    .await;
    let stored = api.news().folders().await.unwrap();
    assert!(!stored.iter().any(|f| f.id == folder));
}

#[tokio::test]
async fn feeds_items_marks_health_and_status() {
    let nc = TestNextcloud::start().await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: items come from fetched feeds, which only the emulator can serve");
        return;
    };
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let api = direct.news();
    let (a_url, b_url) = ("https://a.example.org/feed", "https://b.example.org/rss");
    emu.register_news_feed(a_url, source("Alpha", "a.example.org", 5));
    emu.register_news_feed(b_url, source("Beta", "b.example.org", 2));

    // Subscribing, into a folder and at the top.
    let folder = call_ok(&client, "nc_news_create_folder", json!({"name": "Tech"})).await;
    let folder = id(&folder);
    let out = call_ok(
        &client,
        "nc_news_add_feed",
        json!({"url": a_url, "folder_id": folder}),
    )
    .await;
    let a = id(&out["feed"]);
    assert_eq!(out["feed"]["title"], "Alpha");
    assert_eq!(out["feed"]["unread_count"], 5);
    let out = call_ok(&client, "nc_news_add_feed", json!({"url": b_url})).await;
    let b = id(&out["feed"]);
    let feeds = api.feeds().await.unwrap();
    let stored = |id: u64| feeds.feeds.iter().find(|f| f.id == id).unwrap().clone();
    assert_eq!(stored(a).folder_id, Some(folder));
    assert_eq!(stored(b).folder_id, None);
    assert_eq!(stored(a).url, a_url);

    let e = call_err(&client, "nc_news_add_feed", json!({"url": a_url})).await;
    assert!(e.contains("409") && e.contains("exists"), "{e}");
    let e = call_err(
        &client,
        "nc_news_add_feed",
        json!({"url": "ftp://a.example.org"}),
    )
    .await;
    assert!(e.contains("`url`") && e.contains("https://"), "{e}");
    let e = call_err(
        &client,
        "nc_news_add_feed",
        json!({"url": "https://nothing.example.org/feed"}),
    )
    .await;
    assert!(
        e.contains("404") && e.contains("Could not fetch feed"),
        "{e}"
    );

    let out = call_ok(&client, "nc_news_list_feeds", json!({})).await;
    assert_eq!(out["total_count"], 2);
    assert_eq!(out["starred_count"], 0);
    let a_ids = feed_item_ids(&direct, a).await;
    let b_ids = feed_item_ids(&direct, b).await;
    assert_eq!((a_ids.len(), b_ids.len()), (5, 2));
    assert_eq!(
        out["newest_item_id"].as_u64(),
        a_ids.iter().chain(&b_ids).max().copied()
    );

    // Pages of one feed, newest first, continued from oldest_id.
    let mut seen = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let out = call_ok(
            &client,
            "nc_news_list_items",
            json!({"feed_id": a, "limit": 2, "offset": offset}),
        )
        .await;
        pages += 1;
        let page = ids(&out);
        assert!(page.windows(2).all(|w| w[0] > w[1]), "{page:?}");
        assert_eq!(out["oldest_id"].as_u64(), page.last().copied());
        seen.extend(page);
        if out["has_more"] == false {
            break;
        }
        offset = out["oldest_id"].as_u64().unwrap();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, a_ids);

    // Listings show text, not HTML.
    let out = call_ok(&client, "nc_news_list_items", json!({"folder_id": folder})).await;
    assert_eq!(ids(&out), a_ids);
    let text = out["results"][0]["text"].as_str().unwrap();
    assert!(text.contains("Story **5** of Alpha."), "{text}");
    assert!(!text.contains('<') && !text.contains("alert"), "{text}");

    // One item, in full.
    let newest_a = a_ids[0];
    let out = call_ok(&client, "nc_news_get_item", json!({"item_id": newest_a})).await;
    let item = &out["item"];
    assert_eq!(id(item), newest_a);
    assert_eq!(item["feed_id"], a);
    assert_eq!(item["title"], "Alpha story 5");
    assert_eq!(item["author"], "Ada");
    assert!(item["published"].as_str().unwrap().starts_with("2023-"));
    let text = item["text"].as_str().unwrap();
    assert!(
        text.contains("first point") && text.contains("second point"),
        "{text}"
    );
    assert!(!text.contains("<strong>"), "{text}");
    assert!(item.get("note").is_none());
    let e = call_err(&client, "nc_news_get_item", json!({"item_id": MISSING})).await;
    assert!(
        e.contains(&format!("News item {MISSING}")) && e.contains("not found"),
        "{e}"
    );

    // Marking: read, then unread again; starring and unstarring.
    let (a1, a2, a3) = (a_ids[0], a_ids[1], a_ids[2]);
    let out = call_ok(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [a2, a1, a1], "action": "read"}),
    )
    .await;
    assert_eq!(out["item_ids"], json!([a2, a1]));
    assert_eq!(emu.news_item_flags(EMU_USER, a1), Some((false, false)));
    assert_eq!(emu.news_item_flags(EMU_USER, a2), Some((false, false)));
    let out = call_ok(&client, "nc_news_get_unread_items", json!({"limit": 50})).await;
    let unread = ids(&out);
    assert!(!unread.contains(&a1) && unread.contains(&a3), "{unread:?}");
    assert_eq!(unread.len(), 5);
    call_ok(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [a1], "action": "unread"}),
    )
    .await;
    assert_eq!(emu.news_item_flags(EMU_USER, a1), Some((true, false)));

    let b1 = b_ids[0];
    call_ok(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [a3, b1], "action": "star"}),
    )
    .await;
    assert_eq!(emu.news_item_flags(EMU_USER, a3), Some((true, true)));
    assert_eq!(api.feeds().await.unwrap().starred_count, 2);
    let out = call_ok(&client, "nc_news_get_starred_items", json!({})).await;
    assert_eq!(ids(&out), vec![b1.max(a3), b1.min(a3)]);
    // Starred within one feed, and starred unread within a folder: filtered by the tool.
    let out = call_ok(
        &client,
        "nc_news_list_items",
        json!({"feed_id": b, "starred_only": true}),
    )
    .await;
    assert_eq!(ids(&out), vec![b1]);
    let out = call_ok(
        &client,
        "nc_news_list_items",
        json!({"folder_id": folder, "starred_only": true, "unread_only": true}),
    )
    .await;
    assert_eq!(ids(&out), vec![a3]);
    call_ok(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [a3], "action": "unstar"}),
    )
    .await;
    assert_eq!(emu.news_item_flags(EMU_USER, a3), Some((true, false)));

    // Bad ids: alone, a clear not-found; after good ones, what was already done.
    let e = call_err(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [MISSING], "action": "read"}),
    )
    .await;
    assert!(
        e.contains(&format!("News item {MISSING}")) && e.contains("404"),
        "{e}"
    );
    let e = call_err(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [a3, MISSING], "action": "read"}),
    )
    .await;
    assert!(e.contains("after 1 of 2"), "{e}");
    assert_eq!(emu.news_item_flags(EMU_USER, a3), Some((false, false)));
    let e = call_err(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [], "action": "read"}),
    )
    .await;
    assert!(e.contains("`item_ids`"), "{e}");
    let e = call_err(
        &client,
        "nc_news_mark_items",
        json!({"item_ids": [a1], "action": "archive"}),
    )
    .await;
    assert!(e.contains("`action`") && e.contains("\"unstar\""), "{e}");
    let e = call_err(&client, "nc_news_list_items", json!({"feed_id": MISSING})).await;
    assert!(e.contains(&format!("News feed {MISSING}")), "{e}");
    let e = call_err(
        &client,
        "nc_news_list_items",
        json!({"feed_id": a, "folder_id": folder}),
    )
    .await;
    assert!(e.contains("not both"), "{e}");
    let e = call_err(&client, "nc_news_get_unread_items", json!({"limit": 0})).await;
    assert!(e.contains("`limit`"), "{e}");

    // Feed health: a feed whose updates fail, and a healthy one.
    let mut failing = source("Beta", "b.example.org", 2);
    failing.failing = Some("cURL error 28: Operation timed out".into());
    emu.register_news_feed(b_url, failing);
    emu.update_news_feeds();
    let out = call_ok(&client, "nc_news_get_feed_health", json!({"feed_id": b})).await;
    assert_eq!(out["has_errors"], true);
    assert_eq!(out["error_count"], 1);
    assert_eq!(out["last_error"], "cURL error 28: Operation timed out");
    assert_eq!(out["url"], b_url);
    let out = call_ok(&client, "nc_news_get_feed_health", json!({"feed_id": a})).await;
    assert_eq!(out["has_errors"], false);
    assert!(out.get("last_error").is_none());
    let e = call_err(
        &client,
        "nc_news_get_feed_health",
        json!({"feed_id": MISSING}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");

    // Status.
    let out = call_ok(&client, "nc_news_get_status", json!({})).await;
    assert!(!out["version"].as_str().unwrap().is_empty());
    assert_eq!(out["warnings"], json!([]));
    emu.set_news_cron_misconfigured(true);
    let out = call_ok(&client, "nc_news_get_status", json!({})).await;
    assert!(out["warnings"][0].as_str().unwrap().contains("cron"));

    // Unsubscribing deletes the feed's items; deleting a folder deletes its feeds.
    call_ok(&client, "nc_news_delete_feed", json!({"feed_id": b})).await;
    assert!(!api.feeds().await.unwrap().feeds.iter().any(|f| f.id == b));
    assert_eq!(emu.news_item_flags(EMU_USER, b1), None);
    let e = call_err(&client, "nc_news_delete_feed", json!({"feed_id": b})).await;
    assert!(
        e.contains(&format!("News feed {b}")) && e.contains("404"),
        "{e}"
    );
    call_ok(
        &client,
        "nc_news_delete_folder",
        json!({"folder_id": folder}),
    )
    .await;
    assert!(api.feeds().await.unwrap().feeds.is_empty());
    let out = call_ok(&client, "nc_news_list_items", json!({})).await;
    assert_eq!(out["total_count"], 0);
    assert_eq!(out["has_more"], false);
}

#[tokio::test]
async fn long_articles_are_cut_with_a_note() {
    let nc = TestNextcloud::start().await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: needs a feed served by the emulator");
        return;
    };
    let url = "https://long.example.org/feed";
    let mut src = source("Long", "long.example.org", 1);
    src.items[0].body = "<p>All work and no play makes a dull article.</p>".repeat(1000);
    emu.register_news_feed(url, src);
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    call_ok(&client, "nc_news_add_feed", json!({"url": url})).await;
    let out = call_ok(&client, "nc_news_list_items", json!({})).await;
    let item = &out["results"][0];
    assert_eq!(item["text"].as_str().unwrap().chars().count(), 300);
    assert!(item["note"].as_str().unwrap().contains("cut at 300"));
    let out = call_ok(&client, "nc_news_get_item", json!({"item_id": id(item)})).await;
    let text = out["item"]["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 20_000);
    assert!(text.starts_with("All work and no play"));
    let note = out["item"]["note"].as_str().unwrap();
    assert!(note.contains("cut at 20000 of"), "{note}");
}

#[tokio::test]
async fn the_demo_data_has_feeds_a_folder_and_a_failing_feed() {
    let nc = TestNextcloud::start_with(|b| b.sample_data()).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: sample data is the emulator's");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let out = call_ok(&client, "nc_news_list_folders", json!({})).await;
    assert_eq!(out["results"][0]["name"], "Cooking");
    let feeds = call_ok(&client, "nc_news_list_feeds", json!({})).await;
    assert_eq!(feeds["total_count"], 3);
    assert_eq!(feeds["starred_count"], 1);
    let failing: Vec<&Value> = feeds["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["update_error_count"].as_u64().unwrap_or(0) > 0)
        .collect();
    assert_eq!(failing.len(), 1);
    let out = call_ok(
        &client,
        "nc_news_get_feed_health",
        json!({"feed_id": id(failing[0])}),
    )
    .await;
    assert!(out["last_error"].as_str().unwrap().contains("timed out"));
    let out = call_ok(&client, "nc_news_get_unread_items", json!({})).await;
    assert_eq!(out["total_count"], 4, "five articles, one read");
}

#[tokio::test]
async fn news_tools_are_hidden_when_the_app_is_missing() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    // The app publishes no capability; the probe of its API finds it missing, so its tools
    // are neither listed nor callable, and a call says plainly why.
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let listed = client.list_all_tools().await.unwrap();
    assert!(listed.iter().any(|t| t.name == "nc_notes_get_note"));
    assert!(!listed.iter().any(|t| t.name.starts_with("nc_news_")));
    // The client itself says so too.
    let e = nc.direct().news().folders().await.unwrap_err();
    assert!(matches!(e, nextcloud::Error::AppNotInstalled { .. }), "{e}");
    for (tool, args) in [
        ("nc_news_list_feeds", json!({})),
        ("nc_news_get_item", json!({"item_id": 1})),
        (
            "nc_news_mark_items",
            json!({"item_ids": [1], "action": "read"}),
        ),
        ("nc_news_create_folder", json!({"name": "x"})),
    ] {
        let e = call_err(&client, tool, args).await;
        assert!(e.contains("News app is not installed"), "{tool}: {e}");
    }
}

#[tokio::test]
async fn writing_needs_the_news_write_scope() {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        eprintln!("skipped: needs the emulator (stores an app password for a test user)");
        return;
    }
    let scoped = multi_common::scoped_client(
        &nc.base_url,
        &nc.username,
        &nc.password,
        &["news.read"],
        "news.read news.write",
    )
    .await;
    let (client, names) = (&scoped.client, &scoped.listed);
    assert!(names.contains("nc_news_list_items"), "{names:?}");
    assert!(!names.contains("nc_news_mark_items"), "{names:?}");
    call_ok(client, "nc_news_list_folders", json!({})).await;
    let e = call_err(
        client,
        "nc_news_create_folder",
        json!({"name": "Not allowed"}),
    )
    .await;
    assert!(e.contains("needs the `news.write` scope"), "{e}");
    assert!(nc.direct().news().folders().await.unwrap().is_empty());
    scoped.cleanup().await;
}
