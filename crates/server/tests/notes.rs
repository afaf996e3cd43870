//! The Notes tools end to end: an MCP client calls each tool over every transport and the
//! test checks what changed in Nextcloud through a direct client.

mod common;

use common::*;
use nextcloud::notes::{NewNote, NoteChanges};
use serde_json::json;

const NOTES_TOOLS: [&str; 8] = [
    "nc_notes_append_content",
    "nc_notes_create_note",
    "nc_notes_delete_note",
    "nc_notes_get_attachment",
    "nc_notes_get_note",
    "nc_notes_list_notes",
    "nc_notes_search_notes",
    "nc_notes_update_note",
];

/// Emoji, CJK, right-to-left and combining marks must come back byte for byte.
const UNICODE: &str =
    "Grüße 👋🏽 — 日本語のメモ — مرحبا بالعالم — e\u{301}te\u{301} — 🇩🇪\n\n- [ ] täsk";

#[tokio::test]
async fn notes_lifecycle_over_every_transport() {
    let nc = TestNextcloud::start().await;
    for transport in ALL_TRANSPORTS {
        notes_lifecycle(&nc, transport).await;
    }
}

async fn notes_lifecycle(nc: &TestNextcloud, transport: Transport) {
    let client = connect(nc, transport, &Default::default()).await;
    let direct = nc.direct();
    let category = unique_category("life");

    // tools/list: all eight, each with a title, annotations and an output schema.
    let tools = client.list_all_tools().await.expect("tools/list");
    for name in NOTES_TOOLS {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{transport:?}: {name} missing"));
        assert!(tool.title.is_some(), "{name} has no title");
        let a = tool.annotations.as_ref().expect("annotations");
        assert!(a.read_only_hint.is_some() && a.destructive_hint.is_some());
        assert!(a.idempotent_hint.is_some() && a.open_world_hint == Some(true));
        if name != "nc_notes_get_attachment" {
            assert!(tool.output_schema.is_some(), "{name} has no output schema");
        }
    }

    // Create, with Unicode, and check the backend has exactly that.
    let created = call_ok(
        &client,
        "nc_notes_create_note",
        json!({"title": "Unicode ✓ 東京", "content": UNICODE, "category": category}),
    )
    .await;
    let id = created["id"].as_u64().expect("id");
    assert_eq!(created["category"], category.as_str());
    let stored = direct.notes().get(id).await.expect("note exists");
    assert_eq!(
        stored.content, UNICODE,
        "{transport:?}: content round-trips"
    );
    assert_eq!(stored.title, "Unicode ✓ 東京");

    // Read it through MCP.
    let got = call_ok(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert_eq!(got["content"], UNICODE);
    assert_eq!(got["etag"], stored.etag.as_str());
    assert!(
        got["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/apps/notes/note/{id}"))
    );

    // Update with the current ETag.
    let updated = call_ok(
        &client,
        "nc_notes_update_note",
        json!({"note_id": id, "etag": stored.etag, "title": null, "content": "second version", "category": null}),
    )
    .await;
    assert_ne!(updated["etag"], stored.etag.as_str());
    assert_eq!(
        direct.notes().get(id).await.unwrap().content,
        "second version"
    );

    // Someone else edits; our stale ETag must not overwrite their text.
    direct
        .notes()
        .update(
            id,
            &NoteChanges {
                content: Some("their edit".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let conflict = call_err(
        &client,
        "nc_notes_update_note",
        json!({"note_id": id, "etag": updated["etag"], "content": "my edit"}),
    )
    .await;
    assert!(conflict.contains("412"), "{conflict}");
    assert!(
        conflict.to_lowercase().contains("read it again"),
        "{conflict}"
    );
    assert_eq!(direct.notes().get(id).await.unwrap().content, "their edit");

    // Append keeps their text.
    call_ok(
        &client,
        "nc_notes_append_content",
        json!({"note_id": id, "content": "added ✨"}),
    )
    .await;
    assert_eq!(
        direct.notes().get(id).await.unwrap().content,
        "their edit\n---\nadded ✨"
    );

    // List by category.
    let second = direct
        .notes()
        .create(&NewNote {
            title: "Second".into(),
            content: "zebra giraffe".into(),
            category: category.clone(),
            favorite: false,
        })
        .await
        .unwrap();
    let listed = call_ok(
        &client,
        "nc_notes_list_notes",
        json!({"category": category, "limit": 1}),
    )
    .await;
    assert_eq!(listed["total_found"], 2);
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    let listed_all = call_ok(
        &client,
        "nc_notes_list_notes",
        json!({"category": category}),
    )
    .await;
    let ids: Vec<u64> = listed_all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&id) && ids.contains(&second.id));

    // Search finds words, then follows backend changes (the index re-syncs).
    let found = call_ok(
        &client,
        "nc_notes_search_notes",
        json!({"query": "giraffe"}),
    )
    .await;
    let hits: Vec<u64> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    assert_eq!(hits, vec![second.id], "{found}");
    direct
        .notes()
        .update(
            second.id,
            &NoteChanges {
                content: Some("okapi only".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    // The same second as the previous sync must not hide the change.
    let found = call_ok(
        &client,
        "nc_notes_search_notes",
        json!({"query": "giraffe"}),
    )
    .await;
    assert_eq!(found["total_found"], 0, "stale index: {found}");
    let found = call_ok(&client, "nc_notes_search_notes", json!({"query": "okapi"})).await;
    assert_eq!(found["results"][0]["id"], second.id);

    // Delete, and the backend no longer has it; search forgets it too.
    let deleted = call_ok(
        &client,
        "nc_notes_delete_note",
        json!({"note_id": second.id}),
    )
    .await;
    assert_eq!(deleted["deleted_id"], second.id);
    let gone = direct.notes().get(second.id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    let found = call_ok(&client, "nc_notes_search_notes", json!({"query": "okapi"})).await;
    assert_eq!(found["total_found"], 0);

    direct.notes().delete(id).await.unwrap();
    client.cancel().await.ok();
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;

    // Missing note: a tool error that says 404 and which note.
    let missing = call_err(&client, "nc_notes_get_note", json!({"note_id": 987654321})).await;
    assert!(
        missing.contains("404") && missing.contains("987654321"),
        "{missing}"
    );

    // Wrong argument types are tool errors that name the argument and the expected type.
    let e = call_err(&client, "nc_notes_get_note", json!({"note_id": "abc"})).await;
    assert!(e.contains("`note_id`") && e.contains("integer"), "{e}");
    let e = call_err(&client, "nc_notes_get_note", json!({})).await;
    assert!(e.contains("Missing argument `note_id`"), "{e}");
    let e = call_err(
        &client,
        "nc_notes_create_note",
        json!({"title": 1, "content": "x", "category": ""}),
    )
    .await;
    assert!(e.contains("`title`") && e.contains("string"), "{e}");

    let e = call_err(
        &client,
        "nc_notes_update_note",
        json!({"note_id": 1, "etag": "", "content": "x"}),
    )
    .await;
    assert!(e.contains("`etag`"), "{e}");
    let e = call_err(
        &client,
        "nc_notes_update_note",
        json!({"note_id": 1, "etag": "abc"}),
    )
    .await;
    assert!(e.contains("nothing to change"), "{e}");
    let e = call_err(&client, "nc_notes_search_notes", json!({"query": "  "})).await;
    assert!(e.contains("`query`"), "{e}");
    let e = call_err(&client, "nc_notes_list_notes", json!({"limit": 0})).await;
    assert!(e.contains("`limit`"), "{e}");
    let e = call_err(
        &client,
        "nc_notes_get_attachment",
        json!({"note_id": 1, "attachment_filename": "../../secret.txt"}),
    )
    .await;
    assert!(
        e.contains("attachment_filename") || e.contains("404"),
        "{e}"
    );
}

#[tokio::test]
async fn attachments_come_back_as_images() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let category = unique_category("attach");
    let note = direct
        .notes()
        .create(&NewNote {
            title: "With picture".into(),
            content: "![dot](.attachments.x/dot.png)".into(),
            category: category.clone(),
            favorite: false,
        })
        .await
        .unwrap();
    // Put the attachment where the Notes app keeps them, through plain WebDAV.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ];
    let user_id = direct.user_id().await.unwrap();
    let http = reqwest::Client::new();
    for dir in [format!("Notes/{category}/.attachments.{}", note.id)] {
        let url = format!(
            "{}/remote.php/dav/files/{user_id}/{}",
            nc.base_url,
            nextcloud::dav::encode_path(&dir)
        );
        let r = http
            .request(reqwest::Method::from_bytes(b"MKCOL").unwrap(), &url)
            .basic_auth(&nc.username, Some(&nc.password))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success() || r.status().as_u16() == 405,
            "MKCOL {}",
            r.status()
        );
    }
    let url = format!(
        "{}/remote.php/dav/files/{user_id}/{}",
        nc.base_url,
        nextcloud::dav::encode_path(&format!(
            "Notes/{category}/.attachments.{}/dot.png",
            note.id
        ))
    );
    let put = http
        .put(&url)
        .basic_auth(&nc.username, Some(&nc.password))
        .header("content-type", "image/png")
        .body(png.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "PUT {}", put.status());

    let result = call(
        &client,
        "nc_notes_get_attachment",
        json!({"note_id": note.id, "attachment_filename": "dot.png"}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{}", text_of(&result));
    let image = result
        .content
        .iter()
        .find_map(|c| c.as_image())
        .expect("an image block");
    assert_eq!(image.mime_type, "image/png");
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&image.data)
            .unwrap(),
        png
    );

    let missing = call_err(
        &client,
        "nc_notes_get_attachment",
        json!({"note_id": note.id, "attachment_filename": "nope.png"}),
    )
    .await;
    assert!(missing.contains("404"), "{missing}");
    direct.notes().delete(note.id).await.unwrap();
}

#[tokio::test]
async fn resources_capabilities_and_notes() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpStateless, &Default::default()).await;
    let direct = nc.direct();
    let resources = client.list_all_resources().await.unwrap();
    assert!(resources.iter().any(|r| r.uri == "nc://capabilities"));
    let templates = client.list_all_resource_templates().await.unwrap();
    assert!(
        templates
            .iter()
            .any(|t| t.uri_template == "nc://Notes/{note_id}")
    );

    let caps = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "nc://capabilities",
        ))
        .await
        .unwrap();
    let text = match &caps.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("{other:?}"),
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["version"]["major"].as_u64().unwrap() >= 28);
    assert!(v["capabilities"]["notes"].is_object());

    let note = direct
        .notes()
        .create(&NewNote {
            title: "Resource".into(),
            content: UNICODE.into(),
            category: unique_category("res"),
            favorite: false,
        })
        .await
        .unwrap();
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(format!(
            "nc://Notes/{}",
            note.id
        )))
        .await
        .unwrap();
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("{other:?}"),
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["content"], UNICODE);
    direct.notes().delete(note.id).await.unwrap();
}

#[tokio::test]
async fn search_does_not_download_unchanged_notes_again() {
    let nc = TestNextcloud::start().await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: counting requests needs the emulator");
        return;
    };
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    for i in 0..20 {
        direct
            .notes()
            .create(&NewNote {
                title: format!("Bulk {i}"),
                content: format!("walrus number {i}"),
                category: "bulk".into(),
                favorite: false,
            })
            .await
            .unwrap();
    }
    let first = call_ok(&client, "nc_notes_search_notes", json!({"query": "walrus"})).await;
    assert_eq!(first["total_found"], 20);
    // With nothing changed, a search costs exactly one listing request (ids only).
    let before = emu.request_count();
    let again = call_ok(
        &client,
        "nc_notes_search_notes",
        json!({"query": "walrus 7"}),
    )
    .await;
    assert_eq!(again["results"][0]["title"], "Bulk 7");
    assert_eq!(
        emu.request_count() - before,
        1,
        "one listing, no per-note downloads"
    );
}
