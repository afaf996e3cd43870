//! Files tools (`nc_webdav_*`) end to end through MCP, each checked in the backend with the
//! client library.

mod common;

use base64::Engine;
use common::*;
use serde_json::{Value, json};

async fn setup(test: &str) -> (TestNextcloud, Client, String) {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let base = unique_category(test);
    let out = call_ok(&client, "nc_webdav_create_directory", json!({"path": base})).await;
    assert_eq!(out["created"], true);
    (nc, client, base)
}

async fn cleanup(client: &Client, base: &str) {
    call_ok(client, "nc_webdav_delete_resource", json!({"path": base})).await;
}

async fn backend_text(nc: &TestNextcloud, path: &str) -> String {
    let (bytes, _) = nc.direct().files().download(path).await.expect("download");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn names(listing: &Value) -> Vec<String> {
    listing["files"]
        .as_array()
        .or_else(|| listing["results"].as_array())
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn write_read_list_and_etag_conflicts() {
    let (nc, client, base) = setup("rw").await;
    let path = format!("{base}/todo.md");

    let w = call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "# Todo\n- milk\n", "content_type": "text/markdown"}),
    )
    .await;
    assert_eq!(w["created"], true);
    assert_eq!(w["status_code"], 201);
    assert_eq!(w["size"], 14);
    let etag1 = w["etag"].as_str().expect("etag after write").to_string();
    assert_eq!(backend_text(&nc, &path).await, "# Todo\n- milk\n");

    // Listing shows the file with its metadata.
    let list = call_ok(&client, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["files_count"], 1);
    let entry = &list["files"][0];
    assert_eq!(entry["name"], "todo.md");
    assert_eq!(entry["path"], path);
    assert_eq!(entry["type"], "file");
    assert_eq!(entry["size"], 14);
    assert_eq!(entry["etag"], etag1);
    assert_eq!(entry["favorite"], false);
    assert!(entry["id"].as_u64().is_some());
    assert!(entry["modified"].as_str().is_some());

    // Reading returns text and the same ETag.
    let r = call_ok(&client, "nc_webdav_read_file", json!({"path": path})).await;
    assert_eq!(r["content"], "# Todo\n- milk\n");
    assert_eq!(r["encoding"], "utf-8");
    assert_eq!(r["etag"], etag1);

    // Without if_match an existing file is not replaced.
    let e = call_err(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "clobbered"}),
    )
    .await;
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(backend_text(&nc, &path).await, "# Todo\n- milk\n");

    // Someone else edits the file: our ETag is now stale.
    nc.direct()
        .files()
        .upload(
            &path,
            "# Todo\n- eggs\n".into(),
            None,
            nextcloud::files::WriteMode::Overwrite,
        )
        .await
        .unwrap();
    let e = call_err(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "mine", "if_match": etag1}),
    )
    .await;
    assert!(e.contains("412"), "{e}");
    assert_eq!(backend_text(&nc, &path).await, "# Todo\n- eggs\n");

    // With the current ETag the write goes through, and its new ETag chains.
    let r = call_ok(&client, "nc_webdav_read_file", json!({"path": path})).await;
    let current = r["etag"].as_str().unwrap().to_string();
    assert_ne!(current, etag1);
    let w = call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "v3", "if_match": current}),
    )
    .await;
    assert_eq!(w["created"], false);
    assert_eq!(w["status_code"], 204);
    let w = call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "v4", "if_match": w["etag"]}),
    )
    .await;
    assert_eq!(w["created"], false);
    assert_eq!(backend_text(&nc, &path).await, "v4");

    // `*` replaces unconditionally, but only an existing file.
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "v5", "if_match": "*"}),
    )
    .await;
    assert_eq!(backend_text(&nc, &path).await, "v5");
    let e = call_err(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/missing.txt"), "content": "x", "if_match": "*"}),
    )
    .await;
    assert!(e.contains("does not exist"), "{e}");

    // A missing parent folder is explained.
    let e = call_err(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/no/such/dir.txt"), "content": "x"}),
    )
    .await;
    assert!(e.contains("does not exist"), "{e}");

    cleanup(&client, &base).await;
}

#[tokio::test]
async fn traversal_is_refused_everywhere() {
    let (nc, client, base) = setup("dotdot").await;
    let cases = [
        (
            "nc_webdav_read_file",
            json!({"path": "../etc/passwd"}),
            "path",
        ),
        (
            "nc_webdav_write_file",
            json!({"path": format!("{base}/../../x.txt"), "content": "x"}),
            "path",
        ),
        ("nc_webdav_list_directory", json!({"path": ".."}), "path"),
        (
            "nc_webdav_create_directory",
            json!({"path": "a/../../b"}),
            "path",
        ),
        ("nc_webdav_delete_resource", json!({"path": "../x"}), "path"),
        (
            "nc_webdav_move_resource",
            json!({"source_path": base, "destination_path": "../elsewhere"}),
            "destination_path",
        ),
        (
            "nc_webdav_copy_resource",
            json!({"source_path": "../x", "destination_path": "y"}),
            "source_path",
        ),
        (
            "nc_webdav_find_by_name",
            json!({"pattern": "x", "scope": "../.."}),
            "scope",
        ),
    ];
    for (tool, args, arg) in cases {
        let e = call_err(&client, tool, args).await;
        assert!(
            e.contains(&format!("`{arg}`")) && e.contains(".."),
            "{tool}: {e}"
        );
    }
    // `..` inside the root is fine.
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/sub/../ok.txt"), "content": "ok"}),
    )
    .await;
    assert_eq!(backend_text(&nc, &format!("{base}/ok.txt")).await, "ok");
    cleanup(&client, &base).await;
}

#[tokio::test]
async fn odd_names_round_trip() {
    let (nc, client, base) = setup("odd").await;
    let dir = format!("{base}/Ordner mit #, % & ?");
    call_ok(&client, "nc_webdav_create_directory", json!({"path": dir})).await;
    let name = "Grüße 100% #1 a&b ?.txt";
    let path = format!("{dir}/{name}");
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "ünïcödé ✓", "content_type": "text/plain"}),
    )
    .await;
    assert_eq!(backend_text(&nc, &path).await, "ünïcödé ✓");

    let list = call_ok(&client, "nc_webdav_list_directory", json!({"path": dir})).await;
    assert_eq!(names(&list), vec![name.to_string()]);
    assert_eq!(list["files"][0]["path"], path);

    let r = call_ok(&client, "nc_webdav_read_file", json!({"path": path})).await;
    assert_eq!(r["content"], "ünïcödé ✓");

    let found = call_ok(
        &client,
        "nc_webdav_find_by_name",
        json!({"pattern": "100%", "scope": base}),
    )
    .await;
    assert_eq!(names(&found), vec![name.to_string()]);
    assert_eq!(found["results"][0]["path"], path);

    let moved = format!("{base}/ä ö & # % ?.txt");
    let m = call_ok(
        &client,
        "nc_webdav_move_resource",
        json!({"source_path": path, "destination_path": moved}),
    )
    .await;
    assert_eq!(m["status_code"], 201);
    assert_eq!(backend_text(&nc, &moved).await, "ünïcödé ✓");
    assert!(matches!(
        nc.direct().files().stat(&path).await,
        Err(nextcloud::Error::NotFound { .. })
    ));
    cleanup(&client, &base).await;
}

#[tokio::test]
async fn move_copy_overwrite_and_destination_etag() {
    let (nc, client, base) = setup("mvcp").await;
    let a = format!("{base}/a.txt");
    let b = format!("{base}/b.txt");
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": a, "content": "A"}),
    )
    .await;
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": b, "content": "B"}),
    )
    .await;

    // Existing destination without overwrite: refused, nothing changes.
    let e = call_err(
        &client,
        "nc_webdav_copy_resource",
        json!({"source_path": a, "destination_path": b}),
    )
    .await;
    assert!(e.contains("overwrite"), "{e}");
    assert_eq!(backend_text(&nc, &b).await, "B");

    // Stale destination ETag: conflict, nothing changes.
    let b_etag = nc.direct().files().stat(&b).await.unwrap().etag.unwrap();
    nc.direct()
        .files()
        .upload(
            &b,
            "B2".into(),
            None,
            nextcloud::files::WriteMode::Overwrite,
        )
        .await
        .unwrap();
    let e = call_err(
        &client,
        "nc_webdav_copy_resource",
        json!({"source_path": a, "destination_path": b, "overwrite": true, "if_destination_match": b_etag}),
    )
    .await;
    assert!(e.contains("412"), "{e}");
    assert_eq!(backend_text(&nc, &b).await, "B2");

    // Current destination ETag: replaced (204).
    let b_etag = nc.direct().files().stat(&b).await.unwrap().etag.unwrap();
    let c = call_ok(
        &client,
        "nc_webdav_copy_resource",
        json!({"source_path": a, "destination_path": b, "overwrite": true, "if_destination_match": b_etag}),
    )
    .await;
    assert_eq!(c["status_code"], 204);
    assert_eq!(c["overwrite"], true);
    assert_eq!(backend_text(&nc, &b).await, "A");
    assert_eq!(backend_text(&nc, &a).await, "A");

    // Copy a folder, then move it; the move keeps the content and removes the source.
    let sub = format!("{base}/sub");
    call_ok(&client, "nc_webdav_create_directory", json!({"path": sub})).await;
    call_ok(
        &client,
        "nc_webdav_copy_resource",
        json!({"source_path": a, "destination_path": format!("{sub}/a.txt")}),
    )
    .await;
    let c = call_ok(
        &client,
        "nc_webdav_copy_resource",
        json!({"source_path": sub, "destination_path": format!("{base}/sub2")}),
    )
    .await;
    assert_eq!(c["status_code"], 201);
    assert_eq!(backend_text(&nc, &format!("{base}/sub2/a.txt")).await, "A");
    call_ok(
        &client,
        "nc_webdav_move_resource",
        json!({"source_path": format!("{base}/sub2"), "destination_path": format!("{sub}/inner")}),
    )
    .await;
    assert_eq!(backend_text(&nc, &format!("{sub}/inner/a.txt")).await, "A");
    assert!(
        nc.direct()
            .files()
            .stat(&format!("{base}/sub2"))
            .await
            .is_err()
    );

    // Moving over an existing file with overwrite replaces it.
    let m = call_ok(
        &client,
        "nc_webdav_move_resource",
        json!({"source_path": a, "destination_path": b, "overwrite": true}),
    )
    .await;
    assert_eq!(m["status_code"], 204);
    assert!(nc.direct().files().stat(&a).await.is_err());

    // A missing destination folder is explained.
    let e = call_err(
        &client,
        "nc_webdav_move_resource",
        json!({"source_path": b, "destination_path": format!("{base}/nope/b.txt")}),
    )
    .await;
    assert!(e.contains("does not exist"), "{e}");
    cleanup(&client, &base).await;
}

#[tokio::test]
async fn delete_and_create_directory_idempotence() {
    let (nc, client, base) = setup("del").await;
    let dir = format!("{base}/d");
    let c = call_ok(&client, "nc_webdav_create_directory", json!({"path": dir})).await;
    assert_eq!(c["created"], true);
    let c = call_ok(&client, "nc_webdav_create_directory", json!({"path": dir})).await;
    assert_eq!(c["created"], false);
    let e = call_err(
        &client,
        "nc_webdav_create_directory",
        json!({"path": format!("{base}/x/y")}),
    )
    .await;
    assert!(e.contains("parent folder"), "{e}");
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{dir}/f.txt"), "content": "f"}),
    )
    .await;
    call_ok(&client, "nc_webdav_delete_resource", json!({"path": dir})).await;
    assert!(matches!(
        nc.direct().files().stat(&dir).await,
        Err(nextcloud::Error::NotFound { .. })
    ));
    let e = call_err(&client, "nc_webdav_delete_resource", json!({"path": dir})).await;
    assert!(e.contains("404"), "{e}");
    let e = call_err(&client, "nc_webdav_delete_resource", json!({"path": "/"})).await;
    assert!(e.contains("`path`"), "{e}");
    cleanup(&client, &base).await;
}

#[tokio::test]
async fn binary_files_as_base64() {
    let (nc, client, base) = setup("bin").await;
    let png: Vec<u8> = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0xff, 0xfe,
    ];
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let path = format!("{base}/pixel.png");
    let w = call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": b64, "content_type": "image/png;base64"}),
    )
    .await;
    assert_eq!(w["size"], png.len());
    let (bytes, _) = nc.direct().files().download(&path).await.unwrap();
    assert_eq!(bytes.to_vec(), png);
    let r = call_ok(&client, "nc_webdav_read_file", json!({"path": path})).await;
    assert_eq!(r["encoding"], "base64");
    assert_eq!(r["content"], b64);
    assert_eq!(r["content_type"], "image/png");
    assert!(r["etag"].as_str().is_some());

    let e = call_err(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/bad.png"), "content": "not base64!", "content_type": "image/png;base64"}),
    )
    .await;
    assert!(e.contains("`content`") && e.contains("base64"), "{e}");
    let e = call_err(&client, "nc_webdav_read_file", json!({"path": base})).await;
    assert!(e.contains("folder"), "{e}");
    cleanup(&client, &base).await;
}

#[tokio::test]
async fn search_by_name_type_and_favorites() {
    let (nc, client, base) = setup("search").await;
    for (name, content) in [
        ("report-2024.txt", "r"),
        ("Report-2025.md", "r"),
        ("photo.png", "p"),
        ("notes.txt", "n"),
    ] {
        call_ok(
            &client,
            "nc_webdav_write_file",
            json!({"path": format!("{base}/{name}"), "content": content}),
        )
        .await;
    }
    let mut found = names(
        &call_ok(
            &client,
            "nc_webdav_find_by_name",
            json!({"pattern": "report", "scope": base}),
        )
        .await,
    );
    found.sort();
    assert_eq!(found, vec!["Report-2025.md", "report-2024.txt"]);

    let found = call_ok(
        &client,
        "nc_webdav_find_by_name",
        json!({"pattern": "*.txt", "scope": base, "limit": 1}),
    )
    .await;
    assert_eq!(found["total_found"], 1);

    let found = call_ok(
        &client,
        "nc_webdav_find_by_type",
        json!({"mime_type": "image/*", "scope": base}),
    )
    .await;
    assert_eq!(names(&found), vec!["photo.png"]);
    assert_eq!(found["results"][0]["content_type"], "image/png");

    // Favourites: set one in the backend, find it through both tools.
    nc.direct()
        .files()
        .set_favorite(&format!("{base}/notes.txt"), true)
        .await
        .unwrap();
    let favs = call_ok(&client, "nc_webdav_list_favorites", json!({"scope": base})).await;
    assert_eq!(names(&favs), vec!["notes.txt"]);
    assert_eq!(favs["results"][0]["favorite"], true);
    let favs = call_ok(
        &client,
        "nc_webdav_search_files",
        json!({"scope": base, "only_favorites": true, "name_pattern": "*.txt"}),
    )
    .await;
    assert_eq!(names(&favs), vec!["notes.txt"]);
    assert_eq!(favs["filters_applied"]["only_favorites"], true);
    let list = call_ok(&client, "nc_webdav_list_directory", json!({"path": base})).await;
    let fav_entry = list["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "notes.txt")
        .unwrap();
    assert_eq!(fav_entry["favorite"], true);

    let e = call_err(&client, "nc_webdav_search_files", json!({"scope": base})).await;
    assert!(e.contains("filter"), "{e}");
    let e = call_err(
        &client,
        "nc_webdav_find_by_type",
        json!({"mime_type": "pdf"}),
    )
    .await;
    assert!(e.contains("`mime_type`"), "{e}");
    cleanup(&client, &base).await;
}
