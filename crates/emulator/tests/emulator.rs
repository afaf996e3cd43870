//! End-to-end tests over HTTP against a running emulator.

use std::time::{Duration, Instant};

use nextcloud_emulator::{Emulator, Faults, RunningEmulator};
use serde_json::{Value, json};

async fn start() -> RunningEmulator {
    Emulator::builder()
        .user("alice", "secret")
        .user_with_login("bob", "bob@example.com", "bobpw")
        .app_password("alice", "preissuedAppPassword0123456789")
        .start()
        .await
        .expect("start")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

trait FormBody {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

fn notes_url(base: &str, rest: &str) -> String {
    format!("{base}/index.php/apps/notes/api/v1/{rest}")
}

#[tokio::test]
async fn status_php() {
    let emu = start().await;
    let v: Value = client()
        .get(format!("{}/status.php", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["installed"], true);
    assert_eq!(v["productname"], "Nextcloud");
    assert!(v["version"].as_str().unwrap().starts_with("34.0."));
    emu.shutdown().await;
}

#[tokio::test]
async fn ocs_auth_and_envelopes() {
    let emu = start().await;
    let base = emu.base_url();
    let c = client();
    // v2 ok
    let r = c
        .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ocs"]["meta"]["statuscode"], 200);
    assert_eq!(v["ocs"]["data"]["id"], "alice");
    // v1 ok → statuscode 100
    let v: Value = c
        .get(format!("{base}/ocs/v1.php/cloud/user"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ocs"]["meta"]["statuscode"], 100);
    assert_eq!(v["ocs"]["meta"]["status"], "ok");
    // login name differs from id
    let v: Value = c
        .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
        .basic_auth("bob@example.com", Some("bobpw"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ocs"]["data"]["id"], "bob");
    // XML default
    let r = c
        .get(format!("{base}/ocs/v2.php/cloud/user"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("xml")
    );
    let text = r.text().await.unwrap();
    assert!(text.contains("<statuscode>200</statuscode>"), "{text}");
    assert!(text.contains("<id>alice</id>"));
    // anonymous → 997 / 401 on both versions
    for ver in ["v1", "v2"] {
        let r = c
            .get(format!("{base}/ocs/{ver}.php/cloud/user?format=json"))
            .header("OCS-APIRequest", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["ocs"]["meta"]["statuscode"], 997);
    }
    // wrong password → 401
    let r = c
        .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
        .basic_auth("alice", Some("nope"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    // unknown route: v1 → HTTP 200 + 998, v2 → 404
    let r = c
        .get(format!("{base}/ocs/v1.php/nope?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ocs"]["meta"]["statuscode"], 998);
    let r = c
        .get(format!("{base}/ocs/v2.php/nope?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // missing OCS-APIRequest → CSRF failure
    let r = c
        .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    emu.shutdown().await;
}

#[tokio::test]
async fn capabilities_follow_installed_apps() {
    let emu = Emulator::builder()
        .user("alice", "secret")
        .installed_apps(&["notes"])
        .start()
        .await
        .unwrap();
    let base = emu.base_url();
    let v: Value = client()
        .get(format!("{base}/ocs/v2.php/cloud/capabilities?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let caps = &v["ocs"]["data"]["capabilities"];
    assert_eq!(v["ocs"]["data"]["version"]["major"], 34);
    assert!(
        caps["notes"]["api_version"]
            .as_array()
            .unwrap()
            .contains(&json!("1.3"))
    );
    assert!(caps.get("deck").is_none());
    assert!(caps.get("files_sharing").is_none());
    // deck routes of an uninstalled app 404; notes not installed → 404 too
    let r = client()
        .get(format!("{base}/index.php/apps/deck/api/v1.0/boards"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    emu.shutdown().await;

    let emu = Emulator::builder()
        .user("alice", "secret")
        .installed_apps(&["deck"])
        .start()
        .await
        .unwrap();
    let base = emu.base_url();
    let v: Value = client()
        .get(format!("{base}/ocs/v2.php/cloud/capabilities?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["ocs"]["data"]["capabilities"]["deck"]["canCreateBoards"],
        true
    );
    assert!(v["ocs"]["data"]["capabilities"].get("notes").is_none());
    let r = client()
        .get(notes_url(&base, "notes"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn app_password_revoke() {
    let emu = start().await;
    let base = emu.base_url();
    let c = client();
    // with the real password: 403
    let r = c
        .delete(format!("{base}/ocs/v2.php/core/apppassword?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // get a new one, use it, revoke it, it stops working
    let v: Value = c
        .get(format!("{base}/ocs/v2.php/core/getapppassword?format=json"))
        .basic_auth("alice", Some("secret"))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = v["ocs"]["data"]["apppassword"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 72);
    for pw in [token.as_str(), "preissuedAppPassword0123456789"] {
        let r = c
            .delete(format!("{base}/ocs/v2.php/core/apppassword?format=json"))
            .basic_auth("alice", Some(pw))
            .header("OCS-APIRequest", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = c
            .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
            .basic_auth("alice", Some(pw))
            .header("OCS-APIRequest", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    emu.shutdown().await;
}

async fn create_note(c: &reqwest::Client, base: &str, body: Value) -> Value {
    let r = c
        .post(notes_url(base, "notes"))
        .basic_auth("alice", Some("secret"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-notes-api-versions"], "0.2, 1.3, 1.4");
    r.json().await.unwrap()
}

#[tokio::test]
async fn notes_crud_and_etags() {
    let emu = start().await;
    let base = emu.base_url();
    let c = client();
    // anonymous → 401 JSON
    let r = c.get(notes_url(&base, "notes")).send().await.unwrap();
    assert_eq!(r.status(), 401);

    let n = create_note(
        &c,
        &base,
        json!({"title": "Shopping", "category": "Home/Lists", "content": "milk\neggs"}),
    )
    .await;
    let id = n["id"].as_u64().unwrap();
    assert_eq!(n["title"], "Shopping");
    assert_eq!(n["category"], "Home/Lists");
    assert_eq!(n["favorite"], false);
    assert_eq!(n["readonly"], false);
    assert_eq!(n["internalPath"], "/Notes/Home/Lists/Shopping.md");
    let etag = n["etag"].as_str().unwrap().to_string();
    assert_eq!(etag.len(), 32);

    // Same title → unique file name
    let n2 = create_note(
        &c,
        &base,
        json!({"title": "Shopping", "category": "Home/Lists"}),
    )
    .await;
    assert_eq!(n2["title"], "Shopping (2)");
    // Empty title → "New note"
    let n3 = create_note(&c, &base, json!({"content": "first line\nmore"})).await;
    assert_eq!(n3["title"], "New note");

    // GET with ETag / If-None-Match
    let r = c
        .get(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], format!("\"{etag}\""));
    let r = c
        .get(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .header("If-None-Match", format!("\"{etag}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // Partial update with matching If-Match
    let r = c
        .put(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .header("If-Match", format!("\"{etag}\""))
        .json(&json!({"content": "milk\neggs\nbread", "favorite": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["favorite"], true);
    assert_eq!(updated["title"], "Shopping");
    assert_ne!(updated["etag"], json!(etag));

    // Stale If-Match → 412 with the current note
    let r = c
        .put(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .header("If-Match", format!("\"{etag}\""))
        .json(&json!({"content": "lost update"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let current: Value = r.json().await.unwrap();
    assert_eq!(current["content"], "milk\neggs\nbread");

    // Rename + move category; old empty folder stays only if non-empty
    let r = c
        .put(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"title": "Groceries", "category": "Errands"}))
        .send()
        .await
        .unwrap();
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["title"], "Groceries");
    assert_eq!(moved["category"], "Errands");
    assert_eq!(moved["id"], id);

    // Delete → 200 [], then 404 with errorType
    let r = c
        .delete(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errorType"], "Exception");
    // Non-numeric id on GET → the app's catch-all 400
    let r = c
        .get(notes_url(&base, "notes/abc"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Settings
    let v: Value = c
        .get(notes_url(&base, "settings"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["notesPath"], "Notes");
    assert_eq!(v["fileSuffix"], ".md");
    let v: Value = c
        .put(notes_url(&base, "settings"))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"fileSuffix": ".txt"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["fileSuffix"], ".txt");
    emu.shutdown().await;
}

#[tokio::test]
async fn notes_list_etag_prune_and_chunks() {
    let emu = start().await;
    let handle = emu.handle();
    let base = emu.base_url();
    let c = client();
    let mut ids = Vec::new();
    for i in 0..5 {
        let n = create_note(
            &c,
            &base,
            json!({"title": format!("Note {i}"), "content": "x"}),
        )
        .await;
        ids.push(n["id"].as_u64().unwrap());
    }
    let r = c
        .get(notes_url(&base, "notes"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let list: Vec<Value> = r.json().await.unwrap();
    assert_eq!(list.len(), 5);
    let r = c
        .get(notes_url(&base, "notes"))
        .basic_auth("alice", Some("secret"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // pruneBefore: advance time, change one note, list with pruneBefore = now
    handle.advance_clock(100);
    let r = c
        .get(notes_url(&base, "notes"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    let last_modified = r.headers()["last-modified"].to_str().unwrap().to_string();
    assert!(last_modified.ends_with("GMT"));
    let prune = chrono::DateTime::parse_from_rfc2822(&last_modified)
        .unwrap()
        .timestamp();
    handle.advance_clock(100);
    let r = c
        .put(notes_url(&base, &format!("notes/{}", ids[2])))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"content": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Vec<Value> = c
        .get(notes_url(&base, &format!("notes?pruneBefore={prune}")))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 5);
    let full: Vec<&Value> = list.iter().filter(|n| n.get("content").is_some()).collect();
    assert_eq!(full.len(), 1);
    assert_eq!(full[0]["id"], ids[2]);
    assert!(
        list.iter()
            .filter(|n| n.get("content").is_none())
            .all(|n| n.as_object().unwrap().len() == 1)
    );

    // chunking: 2 + 2 + 1
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut url = notes_url(&base, "notes?chunkSize=2&exclude=content");
        if let Some(cur) = &cursor {
            url.push_str(&format!("&chunkCursor={cur}"));
        }
        let r = c
            .get(url)
            .basic_auth("alice", Some("secret"))
            .send()
            .await
            .unwrap();
        let next = r
            .headers()
            .get("x-notes-chunk-cursor")
            .map(|v| v.to_str().unwrap().to_string());
        if next.is_some() {
            assert!(r.headers().contains_key("x-notes-chunk-pending"));
        }
        let list: Vec<Value> = r.json().await.unwrap();
        for n in &list {
            if n.get("title").is_some() {
                assert!(n.get("content").is_none());
                seen.push(n["id"].as_u64().unwrap());
            }
        }
        if next.is_none() {
            // last chunk carries all the other notes as {id}
            assert_eq!(list.len(), 5);
            break;
        }
        cursor = next;
        assert!(rounds < 10);
    }
    assert_eq!(rounds, 3);
    seen.sort_unstable();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(seen, expected);

    // category filter
    create_note(&c, &base, json!({"title": "Filed", "category": "Work"})).await;
    let list: Vec<Value> = c
        .get(notes_url(&base, "notes?category=Work"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn unicode_round_trip_and_webdav_view() {
    let emu = start().await;
    let base = emu.base_url();
    let c = client();
    let content = "# Grüße 🌍\n日本語のテキスト\nمرحبا بالعالم\n👩‍💻";
    let n = create_note(
        &c,
        &base,
        json!({"title": "Grüße 🌍", "category": "Ünïcödé", "content": content}),
    )
    .await;
    let id = n["id"].as_u64().unwrap();
    let got: Value = c
        .get(notes_url(&base, &format!("notes/{id}")))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["content"], content);
    assert_eq!(got["title"], "Grüße 🌍");
    // The same file over WebDAV
    let url = format!(
        "{base}/remote.php/dav/files/alice/Notes/%C3%9Cn%C3%AFc%C3%B6d%C3%A9/Gr%C3%BC%C3%9Fe%20%F0%9F%8C%8D.md"
    );
    let r = c
        .get(&url)
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), content);
    emu.shutdown().await;
}

#[tokio::test]
async fn webdav_attachments_and_principal() {
    let emu = Emulator::builder()
        .user_with_login("alice", "alice@example.com", "secret")
        .sample_data()
        .start()
        .await
        .unwrap();
    let base = emu.base_url();
    let c = client();
    let propfind = reqwest::Method::from_bytes(b"PROPFIND").unwrap();
    // principal
    let r = c
        .request(propfind.clone(), format!("{base}/remote.php/dav/"))
        .basic_auth("alice@example.com", Some("secret"))
        .header("Depth", "0")
        .body(r#"<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let xml = r.text().await.unwrap();
    assert!(
        xml.contains("<d:href>/remote.php/dav/principals/users/alice/</d:href>"),
        "{xml}"
    );

    // the sample Pancakes note has an attachment folder
    let list: Vec<Value> = c
        .get(notes_url(&base, "notes?category=Personal%2FRecipes"))
        .basic_auth("alice@example.com", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pancakes = list.iter().find(|n| n["title"] == "Pancakes").unwrap();
    let id = pancakes["id"].as_u64().unwrap();
    let dir =
        format!("{base}/remote.php/dav/files/alice/Notes/Personal/Recipes/.attachments.{id}/");
    let r = c
        .request(propfind.clone(), &dir)
        .basic_auth("alice@example.com", Some("secret"))
        .header("Depth", "1")
        .body(r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:getetag/><d:getcontenttype/><oc:fileid/><oc:size/><oc:permissions/><d:resourcetype/></d:prop></d:propfind>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let xml = r.text().await.unwrap();
    assert!(xml.contains("pancakes.png</d:href>"), "{xml}");
    assert!(xml.contains("<d:getcontenttype>image/png</d:getcontenttype>"));
    assert!(xml.contains("<d:status>HTTP/1.1 404 Not Found</d:status>")); // folder has no content type
    let png = c
        .get(format!("{dir}pancakes.png"))
        .basic_auth("alice@example.com", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // notes attachment API
    let r = c
        .get(format!(
            "{base}/index.php/apps/notes/api/v1.4/attachment/{id}?path=.attachments.{id}/pancakes.png"
        ))
        .basic_auth("alice@example.com", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // upload a new attachment with PUT, If-Match on a stale etag → 412
    let r = c
        .put(format!("{dir}second.png"))
        .basic_auth("alice@example.com", Some("secret"))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(r.headers().contains_key("oc-fileid"));
    let r = c
        .put(format!("{dir}second.png"))
        .basic_auth("alice@example.com", Some("secret"))
        .header("If-Match", &etag)
        .body("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .put(format!("{dir}second.png"))
        .basic_auth("alice@example.com", Some("secret"))
        .header("If-Match", &etag)
        .body("v3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    // MKCOL / DELETE
    let mkcol = reqwest::Method::from_bytes(b"MKCOL").unwrap();
    let r = c
        .request(
            mkcol.clone(),
            format!("{base}/remote.php/dav/files/alice/Docs"),
        )
        .basic_auth("alice@example.com", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = c
        .request(mkcol, format!("{base}/remote.php/dav/files/alice/Docs"))
        .basic_auth("alice@example.com", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = c
        .delete(format!("{base}/remote.php/dav/files/alice/Docs"))
        .basic_auth("alice@example.com", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // legacy alias + anonymous 401
    let r = c
        .request(propfind.clone(), format!("{base}/remote.php/webdav/"))
        .basic_auth("alice@example.com", Some("secret"))
        .header("Depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("/remote.php/webdav/Notes/")
    );
    let r = c
        .request(propfind, format!("{base}/remote.php/dav/files/alice/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn login_flow_v2() {
    let emu = start().await;
    let base = emu.base_url();
    let c = client();
    let v: Value = c
        .post(format!("{base}/index.php/login/v2"))
        .header("User-Agent", "nextcloud-mcp test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = v["poll"]["token"].as_str().unwrap().to_string();
    let endpoint = v["poll"]["endpoint"].as_str().unwrap().to_string();
    assert_eq!(endpoint, format!("{base}/index.php/login/v2/poll"));
    let login = v["login"].as_str().unwrap().to_string();
    assert!(login.starts_with(&format!("{base}/index.php/login/v2/flow/")));

    let poll = || {
        c.post(&endpoint)
            .form_body(&[("token", token.as_str())])
            .send()
    };
    assert_eq!(poll().await.unwrap().status(), 404);

    // The browser page shows a form; wrong password keeps the flow pending.
    let page = c.get(&login).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form"));
    let r = c
        .post(&login)
        .form_body(&[("user", "alice"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Wrong login or password."));
    assert_eq!(poll().await.unwrap().status(), 404);
    let r = c
        .post(&login)
        .form_body(&[("user", "alice"), ("password", "secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = poll().await.unwrap();
    assert_eq!(r.status(), 200);
    let creds: Value = r.json().await.unwrap();
    assert_eq!(creds["server"], base);
    assert_eq!(creds["loginName"], "alice");
    let app_password = creds["appPassword"].as_str().unwrap();
    assert_eq!(app_password.len(), 72);
    assert!(app_password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(poll().await.unwrap().status(), 404);

    // The issued app password works.
    let r = c
        .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
        .basic_auth("alice", Some(app_password))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Test shortcut + expiry
    let handle = emu.handle();
    let v: Value = c
        .post(format!("{base}/index.php/login/v2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t2 = v["poll"]["token"].as_str().unwrap().to_string();
    assert!(handle.grant_login_flow(&t2, "alice"));
    let r = c
        .post(&endpoint)
        .form_body(&[("token", t2.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = c
        .post(format!("{base}/index.php/login/v2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t3 = v["poll"]["token"].as_str().unwrap().to_string();
    handle.advance_clock(21 * 60);
    assert!(!handle.grant_login_flow(&t3, "alice"));
    let r = c
        .post(&endpoint)
        .form_body(&[("token", t3.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_latency_errors_and_drops() {
    let emu = start().await;
    let handle = emu.handle();
    let base = emu.base_url();
    let c = client();
    let status_url = format!("{base}/status.php");

    handle.set_faults(Faults {
        latency_ms: 300,
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(c.get(&status_url).send().await.unwrap().status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    handle.set_faults(Faults {
        error_status: Some(503),
        ..Default::default()
    });
    assert_eq!(c.get(&status_url).send().await.unwrap().status(), 503);
    assert_eq!(c.get(&status_url).send().await.unwrap().status(), 503);

    handle.set_faults(Faults {
        path_prefix: Some("/status.php".into()),
        error_status: Some(429),
        retry_after_secs: Some(3),
        remaining: Some(2),
        ..Default::default()
    });
    for _ in 0..2 {
        let r = c.get(&status_url).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "3");
    }
    assert_eq!(c.get(&status_url).send().await.unwrap().status(), 200);

    handle.set_faults(Faults {
        drop_connection: true,
        remaining: Some(1),
        ..Default::default()
    });
    let fresh = client();
    let err = fresh.get(&status_url).send().await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(fresh.get(&status_url).send().await.unwrap().status(), 200);

    // over HTTP, and control paths are never faulted
    handle.clear_faults();
    let r = c
        .put(format!("{base}/__emulator/faults"))
        .json(&json!({"error_status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(c.get(&status_url).send().await.unwrap().status(), 503);
    let r = c
        .delete(format!("{base}/__emulator/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(c.get(&status_url).send().await.unwrap().status(), 200);
    assert!(handle.request_count() >= 10);
    emu.shutdown().await;
}

#[tokio::test]
async fn http_login_flow_grant_endpoint() {
    let emu = start().await;
    let base = emu.base_url();
    let c = client();
    let v: Value = c
        .post(format!("{base}/index.php/login/v2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = v["poll"]["token"].as_str().unwrap();
    let r = c
        .post(format!("{base}/__emulator/login-flow/{token}/grant"))
        .json(&json!({"user": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{base}/index.php/login/v2/poll"))
        .form_body(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let granted: Value = r.json().await.unwrap();
    let password = granted["appPassword"].as_str().unwrap().to_string();

    // The user's app passwords, over HTTP and in-process, until Nextcloud revokes one.
    let handle = emu.handle();
    let listed = || async {
        let v: Value = c
            .get(format!("{base}/__emulator/users/alice/app-passwords"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["app_passwords"].clone()
    };
    assert!(handle.app_passwords("alice").contains(&password));
    assert_eq!(listed().await, json!(handle.app_passwords("alice")));
    assert!(handle.app_passwords("nobody").is_empty());
    let r = c
        .delete(format!("{base}/ocs/v2.php/core/apppassword"))
        .basic_auth("alice", Some(&password))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!handle.app_passwords("alice").contains(&password));
    assert_eq!(listed().await, json!(handle.app_passwords("alice")));
    emu.shutdown().await;
}

/// Cookbook's answers on the wire: bare ids and strings, `{msg}` errors, the update chosen by
/// the body's id, a 200 for deleting an unknown id, doubly decoded path parameters and `_` for
/// recipes without a category.
#[tokio::test]
async fn cookbook_wire_shapes() {
    let emu = start().await;
    let c = client();
    let api = |rest: &str| format!("{}/index.php/apps/cookbook/api/v1/{rest}", emu.base_url());

    let resp = c
        .post(api("recipes"))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"name": "Pea soup", "prepTime": "PT90M", "keywords": ["green", " hot ", "green"],
                      "recipeCategory": ["Soup", "Starter"], "recipeYield": "serves 2-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let id = resp
        .json::<Value>()
        .await
        .unwrap()
        .as_u64()
        .expect("bare id");

    let r: Value = c
        .get(api(&format!("recipes/{id}")))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["id"], id.to_string(), "ids are strings in recipes");
    assert_eq!(r["prepTime"], "PT1H30M0S");
    assert!(r["cookTime"].is_null());
    assert_eq!(r["keywords"], "green,hot");
    assert_eq!(r["recipeCategory"], "Soup");
    assert_eq!(r["recipeYield"], 3);
    assert_eq!(r["nutrition"]["@type"], "NutritionInformation");
    assert_eq!(r["@context"], "http://schema.org");

    // Same name again: 409 with {msg}; no name: 422.
    let resp = c
        .post(api("recipes"))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"name": "Pea soup"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["msg"], "Another recipe with that name already exists");
    let resp = c
        .post(api("recipes"))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"description": "no name"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);

    // A body of no declared type: the app's parameter parser throws.
    let resp = c
        .post(api("recipes"))
        .basic_auth("alice", Some("secret"))
        .body(r#"{"name": "Untyped"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);

    // PUT without an id in the body creates (here: conflicts), with it updates that recipe.
    let resp = c
        .put(api(&format!("recipes/{id}")))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"name": "Pea soup", "description": "lost"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let resp = c
        .put(api(&format!("recipes/{id}")))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"id": id.to_string(), "name": "Pea & ham soup"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!(id));

    // Search decodes its parameter twice: `%2526` is `&`.
    let found: Value = c
        .get(api("search/Pea%2520%2526"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["recipe_id"], id);
    assert_eq!(found[0]["id"], id.to_string());
    assert!(found[0]["keywords"].is_null(), "the update dropped them");

    // Categories: `*` counts recipes without one, `_` lists them.
    let cats: Value = c
        .get(api("categories"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cats, json!([{"name": "*", "recipe_count": 1}]));
    let none: Value = c
        .get(api("category/_"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none[0]["recipe_id"], id);
    assert!(none[0]["category"].is_null());

    // Unknown ids: 404 with the bare id; DELETE still says it worked.
    let resp = c
        .get(api("recipes/999999"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!("999999"));
    let resp = c
        .delete(api("recipes/999999"))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!("Recipe 999999 deleted successfully")
    );

    // Recipes are per user.
    let bobs: Value = c
        .get(api("recipes"))
        .basic_auth("bob@example.com", Some("bobpw"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bobs, json!([]));
    emu.shutdown().await;
}

/// Any user may create a system tag, but only administrators may delete one
/// (`SystemTagNode::delete`: 403 `Sabre\DAV\Exception\Forbidden` otherwise). Group membership
/// shows in OCS `cloud/user`.
#[tokio::test]
async fn only_admins_delete_system_tags() {
    let emu = Emulator::builder()
        .user("root", "rootpw")
        .admin("root")
        .user("alice", "secret")
        .start()
        .await
        .expect("start");
    let base = emu.base_url();
    let c = client();
    let created = c
        .post(format!("{base}/remote.php/dav/systemtags/"))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"name": "confidential", "userVisible": true, "userAssignable": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    let tag_url = format!("{base}{location}");

    let delete_as = |user: &'static str, password: &'static str| {
        c.delete(&tag_url).basic_auth(user, Some(password)).send()
    };
    let refused = delete_as("alice", "secret").await.unwrap();
    assert_eq!(refused.status(), 403);
    let body = refused.text().await.unwrap();
    assert!(body.contains("Sabre\\DAV\\Exception\\Forbidden"), "{body}");
    assert!(body.contains("No permission to delete tag"), "{body}");
    assert_eq!(delete_as("root", "rootpw").await.unwrap().status(), 204);
    assert_eq!(delete_as("root", "rootpw").await.unwrap().status(), 404);

    let groups = |user: &'static str, pw: &'static str| {
        let c = c.clone();
        let base = base.clone();
        async move {
            let v: Value = c
                .get(format!("{base}/ocs/v2.php/cloud/user?format=json"))
                .basic_auth(user, Some(pw))
                .header("OCS-APIRequest", "true")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["ocs"]["data"]["groups"].clone()
        }
    };
    assert_eq!(groups("root", "rootpw").await, json!(["admin"]));
    assert_eq!(groups("alice", "secret").await, json!([]));
}
