//! Comments, trash bin, versions and system tags (`nc_webdav_*`) end to end through MCP, each
//! checked in the backend with the client library.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

async fn setup(test: &str) -> (TestNextcloud, Client, String) {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let base = unique_category(test);
    call_ok(&client, "nc_webdav_create_directory", json!({"path": base})).await;
    (nc, client, base)
}

async fn write(client: &Client, path: &str, content: &str) -> Value {
    call_ok(
        client,
        "nc_webdav_write_file",
        json!({"path": path, "content": content, "if_match": "*"}),
    )
    .await
}

async fn create(client: &Client, path: &str, content: &str) -> Value {
    call_ok(
        client,
        "nc_webdav_write_file",
        json!({"path": path, "content": content}),
    )
    .await
}

async fn file_id(nc: &TestNextcloud, path: &str) -> u64 {
    nc.direct()
        .files()
        .stat(path)
        .await
        .expect("stat")
        .id
        .expect("file id")
}

async fn backend_text(nc: &TestNextcloud, path: &str) -> String {
    let (bytes, _) = nc.direct().files().download(path).await.expect("download");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[tokio::test]
async fn comments_are_posted_listed_and_paged() {
    let (nc, client, base) = setup("comments").await;
    let path = format!("{base}/report.md");
    create(&client, &path, "# Q3").await;
    let id = file_id(&nc, &path).await;

    for n in 1..=3 {
        let out = call_ok(
            &client,
            "nc_webdav_create_comment",
            json!({"path": path, "message": format!("review #{n} & <ok>")}),
        )
        .await;
        assert_eq!(out["file_id"], id);
        assert_eq!(out["path"], path);
        assert!(out["comment_id"].as_u64().is_some(), "{out}");
    }
    // In the backend, newest first.
    let stored = nc.direct().comments().list(id, 0, 0).await.unwrap();
    let messages: Vec<_> = stored.iter().map(|c| c.message.as_str()).collect();
    assert_eq!(
        messages,
        ["review #3 & <ok>", "review #2 & <ok>", "review #1 & <ok>"]
    );

    let page = call_ok(
        &client,
        "nc_webdav_list_comments",
        json!({"path": path, "limit": 2}),
    )
    .await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["file_id"], id);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["results"][0]["message"], "review #3 & <ok>");
    assert_eq!(page["results"][0]["verb"], "comment");
    assert_eq!(page["results"][0]["actor_type"], "users");
    assert_eq!(
        page["results"][0]["actor_id"],
        nc.direct().user_id().await.unwrap()
    );
    assert_eq!(page["results"][0]["id"], stored[0].id);
    let rest = call_ok(
        &client,
        "nc_webdav_list_comments",
        json!({"path": path, "limit": 2, "offset": 2}),
    )
    .await;
    assert_eq!(rest["count"], 1);
    assert_eq!(rest["results"][0]["message"], "review #1 & <ok>");

    // Bad input names the argument; nothing is posted.
    let e = call_err(
        &client,
        "nc_webdav_create_comment",
        json!({"path": path, "message": "   "}),
    )
    .await;
    assert!(e.contains("`message`"), "{e}");
    let e = call_err(
        &client,
        "nc_webdav_create_comment",
        json!({"path": path, "message": "x".repeat(1001)}),
    )
    .await;
    assert!(e.contains("`message`") && e.contains("1000"), "{e}");
    assert_eq!(
        nc.direct().comments().list(id, 0, 0).await.unwrap().len(),
        3
    );
    let e = call_err(
        &client,
        "nc_webdav_list_comments",
        json!({"path": path, "limit": 0}),
    )
    .await;
    assert!(e.contains("`limit`"), "{e}");
    let e = call_err(
        &client,
        "nc_webdav_list_comments",
        json!({"path": format!("{base}/missing.md")}),
    )
    .await;
    assert!(e.contains("404"), "{e}");

    call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
}

#[tokio::test]
async fn deleted_files_go_to_the_trash_and_come_back() {
    let (nc, client, base) = setup("trash").await;
    let path = format!("{base}/old notes #1.md");
    create(&client, &path, "keep me").await;
    let id = file_id(&nc, &path).await;

    call_ok(&client, "nc_webdav_delete_resource", json!({"path": path})).await;
    assert!(nc.direct().files().stat(&path).await.is_err(), "deleted");
    let in_backend = nc.direct().trashbin().list().await.unwrap();
    assert!(
        in_backend.iter().any(|t| t.original_location == path),
        "{in_backend:?}"
    );

    let trash = call_ok(&client, "nc_webdav_list_trash", json!({})).await;
    assert_eq!(
        trash["total_count"].as_u64().unwrap() as usize,
        trash["items"].as_array().unwrap().len()
    );
    let item = trash["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["original_location"] == path)
        .unwrap_or_else(|| panic!("{path} not in {trash}"))
        .clone();
    assert_eq!(item["name"], "old notes #1.md");
    assert_eq!(item["type"], "file");
    assert_eq!(item["size"], 7);
    assert_eq!(item["file_id"], id);
    assert!(item["deleted_at"].as_str().is_some());

    let entry = item["entry_id"].as_str().unwrap();
    let out = call_ok(
        &client,
        "nc_webdav_restore_from_trash",
        json!({"entry_id": entry}),
    )
    .await;
    assert_eq!(out["entry_id"], entry);
    assert_eq!(backend_text(&nc, &path).await, "keep me");
    assert_eq!(file_id(&nc, &path).await, id, "same file, same id");
    assert!(
        !nc.direct()
            .trashbin()
            .list()
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == entry)
    );

    // Gone from the trash now: a second restore is a 404; a path-like id is refused up front.
    let e = call_err(
        &client,
        "nc_webdav_restore_from_trash",
        json!({"entry_id": entry}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    let e = call_err(
        &client,
        "nc_webdav_restore_from_trash",
        json!({"entry_id": "../files/x"}),
    )
    .await;
    assert!(e.contains("`entry_id`"), "{e}");

    // A folder goes to the trash with its content, and comes back whole.
    let folder = format!("{base}/sub");
    call_ok(
        &client,
        "nc_webdav_create_directory",
        json!({"path": folder}),
    )
    .await;
    create(&client, &format!("{folder}/a.txt"), "A").await;
    call_ok(
        &client,
        "nc_webdav_delete_resource",
        json!({"path": folder}),
    )
    .await;
    let trash = call_ok(&client, "nc_webdav_list_trash", json!({})).await;
    let item = trash["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["original_location"] == folder)
        .expect("folder in trash")
        .clone();
    assert_eq!(item["type"], "directory");
    call_ok(
        &client,
        "nc_webdav_restore_from_trash",
        json!({"entry_id": item["entry_id"]}),
    )
    .await;
    assert_eq!(backend_text(&nc, &format!("{folder}/a.txt")).await, "A");

    call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
}

#[tokio::test]
async fn overwrites_make_versions_that_can_be_restored() {
    let (nc, client, base) = setup("versions").await;
    let path = format!("{base}/plan.txt");
    create(&client, &path, "first draft").await;
    // Versions are named by mtime (seconds): give each write its own second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    write(&client, &path, "second draft").await;
    let id = file_id(&nc, &path).await;

    let listed = call_ok(&client, "nc_webdav_list_versions", json!({"path": path})).await;
    assert_eq!(listed["file_id"], id);
    let versions = listed["versions"].as_array().unwrap().clone();
    assert_eq!(
        listed["total_count"].as_u64().unwrap() as usize,
        versions.len()
    );
    assert!(versions.len() >= 2, "{listed}");
    let old = versions
        .iter()
        .find(|v| v["size"] == 11 && v["is_current"] == false)
        .unwrap_or_else(|| panic!("no old version in {listed}"))
        .clone();
    // In the backend the same versions exist.
    let backend = nc.direct().versions().list(id).await.unwrap();
    assert!(
        backend
            .iter()
            .any(|v| v.id == old["version_id"].as_str().unwrap())
    );

    let out = call_ok(
        &client,
        "nc_webdav_restore_version",
        json!({"path": path, "version_id": old["version_id"]}),
    )
    .await;
    assert_eq!(out["restored_version"], old["version_id"]);
    assert_eq!(backend_text(&nc, &path).await, "first draft");
    // Nothing was lost: the replaced content is a version now.
    let sizes: Vec<u64> = nc
        .direct()
        .versions()
        .list(id)
        .await
        .unwrap()
        .iter()
        .map(|v| v.size)
        .collect();
    assert!(sizes.contains(&12), "second draft kept: {sizes:?}");

    let e = call_err(
        &client,
        "nc_webdav_restore_version",
        json!({"path": path, "version_id": "1"}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    let e = call_err(&client, "nc_webdav_list_versions", json!({"path": base})).await;
    assert!(e.contains("`path`") && e.contains("folder"), "{e}");

    call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
}

#[tokio::test]
async fn files_are_tagged_found_and_untagged() {
    let (nc, client, base) = setup("tags").await;
    let path = format!("{base}/invoice.pdf");
    let other = format!("{base}/notes.txt");
    create(&client, &path, "%PDF-1.4").await;
    create(&client, &other, "x").await;
    let id = file_id(&nc, &path).await;
    let tag = unique_category("tag");

    let out = call_ok(
        &client,
        "nc_webdav_tag_file",
        json!({"path": path, "tag": tag}),
    )
    .await;
    assert_eq!(out["assigned"], true);
    assert_eq!(out["tag"], tag);
    let tag_id = out["tag_id"].as_u64().unwrap();
    let on_file = nc.direct().system_tags().of_file(id).await.unwrap();
    assert_eq!(on_file.iter().map(|t| t.id).collect::<Vec<_>>(), [tag_id]);

    // Tagging again changes nothing and still succeeds.
    let again = call_ok(
        &client,
        "nc_webdav_tag_file",
        json!({"path": path, "tag": tag}),
    )
    .await;
    assert_eq!(again["tag_id"], tag_id);
    assert!(again["message"].as_str().unwrap().contains("already"));
    assert_eq!(
        nc.direct().system_tags().of_file(id).await.unwrap().len(),
        1
    );

    let tags = call_ok(&client, "nc_webdav_list_tags", json!({})).await;
    assert!(
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == tag_id && t["name"] == tag.as_str() && t["can_assign"] == true),
        "{tags}"
    );
    let file_tags = call_ok(&client, "nc_webdav_get_file_tags", json!({"path": path})).await;
    assert_eq!(file_tags["file_id"], id);
    assert_eq!(file_tags["tags"][0]["name"], tag.as_str());
    let none = call_ok(&client, "nc_webdav_get_file_tags", json!({"path": other})).await;
    assert_eq!(none["tags"], json!([]));

    let found = call_ok(
        &client,
        "nc_webdav_find_by_tag_name",
        json!({"tag": tag.to_uppercase()}),
    )
    .await;
    assert_eq!(found["tag_id"], tag_id);
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["files"][0]["path"], path);
    assert_eq!(found["files"][0]["id"], id);

    let out = call_ok(
        &client,
        "nc_webdav_untag_file",
        json!({"path": path, "tag": tag}),
    )
    .await;
    assert_eq!(out["assigned"], false);
    assert!(
        nc.direct()
            .system_tags()
            .of_file(id)
            .await
            .unwrap()
            .is_empty()
    );
    let again = call_ok(
        &client,
        "nc_webdav_untag_file",
        json!({"path": path, "tag": tag}),
    )
    .await;
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("nothing changed")
    );
    let found = call_ok(&client, "nc_webdav_find_by_tag_name", json!({"tag": tag})).await;
    assert_eq!(found["total_count"], 0);

    let e = call_err(
        &client,
        "nc_webdav_find_by_tag_name",
        json!({"tag": format!("{tag}-missing")}),
    )
    .await;
    assert!(e.contains("`tag`"), "{e}");
    let e = call_err(
        &client,
        "nc_webdav_tag_file",
        json!({"path": path, "tag": "  "}),
    )
    .await;
    assert!(e.contains("`tag`"), "{e}");

    let _ = nc.direct().system_tags().delete(tag_id).await;
    call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
}

/// The emulator answers the meta endpoints with Nextcloud's status codes.
#[tokio::test]
async fn endpoints_answer_with_nextclouds_statuses() {
    let nc = TestNextcloud::start().await;
    let user = nc.direct();
    let base = unique_category("statuses");
    user.files().mkcol(&base).await.unwrap();
    let path = format!("{base}/a.txt");
    user.files()
        .upload(
            &path,
            "a".into(),
            None,
            nextcloud::files::WriteMode::CreateOnly,
        )
        .await
        .unwrap();
    let id = file_id(&nc, &path).await;
    let tags = user.system_tags();
    let tag = tags.create(&unique_category("t")).await.unwrap();
    // Creating the same name again: 409.
    let e = tags.create(&tag.name).await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert!(tags.assign(id, tag.id).await.unwrap(), "201");
    assert!(
        !tags.assign(id, tag.id).await.unwrap(),
        "409 on the second PUT"
    );
    // An unknown tag: 412.
    let e = tags.assign(id, 999_999_999).await.unwrap_err();
    assert_eq!(e.status(), Some(412), "{e}");
    // Filtering by an unknown tag: 412 too.
    let e = tags.files(&[999_999_999], "").await.unwrap_err();
    assert_eq!(e.status(), Some(412), "{e}");
    assert!(tags.unassign(id, tag.id).await.unwrap(), "204");
    assert!(!tags.unassign(id, tag.id).await.unwrap(), "404");
    // Relations and comments of a file id the user cannot see: 404.
    let e = tags.of_file(999_999_999).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let e = user.comments().list(999_999_999, 0, 0).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let _ = tags.delete(tag.id).await;
    user.files().delete(&base).await.unwrap();
}
