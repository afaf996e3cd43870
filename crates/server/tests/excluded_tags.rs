//! `EXCLUDED_TAGS`: files and folders carrying an excluded system tag (and everything below a
//! tagged folder) are hidden from listings and searches and refused for reading, writing,
//! moving, copying, deleting, commenting and sharing; when the tags cannot be resolved the file
//! tools fail closed.

mod common;

use common::*;
use nextcloud::files::WriteMode;
use nextcloud_emulator::Faults;
use serde_json::{Value, json};

struct Fixture {
    nc: TestNextcloud,
    client: Client,
    base: String,
    tag: String,
    tag_id: u64,
}

/// `base/public.txt`, `base/secret.txt` (tagged) and `base/Private/inner.txt` (folder tagged),
/// and a server hiding that tag.
async fn setup(test: &str) -> Fixture {
    let nc = TestNextcloud::start().await;
    let user = nc.direct();
    let base = unique_category(test);
    let files = user.files();
    files.mkcol(&base).await.unwrap();
    files.mkcol(&format!("{base}/Private")).await.unwrap();
    for (name, content) in [
        ("public.txt", "hello"),
        ("secret.txt", "the secret"),
        ("Private/inner.txt", "inner secret"),
    ] {
        files
            .upload(
                &format!("{base}/{name}"),
                content.to_string().into(),
                None,
                WriteMode::CreateOnly,
            )
            .await
            .unwrap();
    }
    let tag = unique_category("no-ai");
    let tags = user.system_tags();
    let t = tags.find_or_create(&tag).await.unwrap();
    for path in [format!("{base}/secret.txt"), format!("{base}/Private")] {
        let id = files.stat(&path).await.unwrap().id.unwrap();
        assert!(tags.assign(id, t.id).await.unwrap());
    }
    let server = nc
        .server(&Default::default())
        // As the binary configures it (`EXCLUDED_TAGS` ends up in the file settings).
        .with_file_settings(nextcloud_mcp::config::FileSettings {
            excluded_tags: vec!["unknown-tag-is-fine".into(), tag.clone()],
            ..Default::default()
        });
    let url = spawn_http(server, &Default::default()).await;
    let client = connect_http(&url, Transport::HttpSession, None).await;
    Fixture {
        nc,
        client,
        base,
        tag,
        tag_id: t.id,
    }
}

async fn teardown(f: Fixture) {
    let _ = f.nc.direct().system_tags().delete(f.tag_id).await;
    let _ = f.nc.direct().files().delete(&f.base).await;
}

fn paths(out: &Value, key: &str) -> Vec<String> {
    out[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {out}"))
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn tagged_items_are_hidden_from_listings_and_searches() {
    let f = setup("excl-list").await;
    let (c, base) = (&f.client, &f.base);
    let public = format!("{base}/public.txt");

    let list = call_ok(c, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(paths(&list, "files"), vec![public.clone()]);
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["directories_count"], 0);
    assert_eq!(list["files_count"], 1);
    assert_eq!(list["total_size"], 5);
    // Nothing of the hidden items leaks through the text content either.
    let raw = call(c, "nc_webdav_list_directory", json!({"path": base})).await;
    let text = text_of(&raw);
    assert!(
        !text.contains("secret") && !text.contains("Private"),
        "{text}"
    );

    for (tool, args) in [
        (
            "nc_webdav_find_by_name",
            json!({"pattern": "*.txt", "scope": base}),
        ),
        (
            "nc_webdav_search_files",
            json!({"name_pattern": "secret", "scope": base}),
        ),
        (
            "nc_webdav_find_by_type",
            json!({"mime_type": "text/plain", "scope": base}),
        ),
    ] {
        let out = call_ok(c, tool, args).await;
        let found = paths(&out, "results");
        assert!(
            found.iter().all(|p| p == &public),
            "{tool} leaked: {found:?}"
        );
        assert_eq!(out["total_found"].as_u64().unwrap() as usize, found.len());
    }
    let by_tag = call_ok(c, "nc_webdav_find_by_tag_name", json!({"tag": f.tag})).await;
    assert_eq!(by_tag["files"], json!([]));
    assert_eq!(by_tag["total_count"], 0);

    // The backend still has them: hidden, not gone.
    let all = f.nc.direct().files().list(base).await.unwrap();
    assert_eq!(all.len(), 3);
    teardown(f).await;
}

#[tokio::test]
async fn tagged_items_are_refused_for_reading_and_changing() {
    let f = setup("excl-refuse").await;
    let (c, base) = (&f.client, &f.base);
    let direct = f.nc.direct();
    let files = direct.files();
    let secret = format!("{base}/secret.txt");
    let inner = format!("{base}/Private/inner.txt");

    for (tool, args) in [
        ("nc_webdav_read_file", json!({"path": secret})),
        ("nc_webdav_read_file", json!({"path": inner})),
        (
            "nc_webdav_list_directory",
            json!({"path": format!("{base}/Private")}),
        ),
        (
            "nc_webdav_write_file",
            json!({"path": secret, "content": "pwned", "if_match": "*"}),
        ),
        (
            "nc_webdav_write_file",
            json!({"path": format!("{base}/Private/new.txt"), "content": "x"}),
        ),
        (
            "nc_webdav_create_directory",
            json!({"path": format!("{base}/Private/sub")}),
        ),
        ("nc_webdav_delete_resource", json!({"path": secret})),
        ("nc_webdav_delete_resource", json!({"path": base})),
        (
            "nc_webdav_move_resource",
            json!({"source_path": secret, "destination_path": format!("{base}/moved.txt")}),
        ),
        (
            "nc_webdav_move_resource",
            json!({"source_path": format!("{base}/public.txt"), "destination_path": format!("{base}/Private/p.txt")}),
        ),
        (
            "nc_webdav_copy_resource",
            json!({"source_path": base, "destination_path": format!("{base}-copy")}),
        ),
        (
            "nc_webdav_create_comment",
            json!({"path": secret, "message": "hi"}),
        ),
        ("nc_webdav_list_versions", json!({"path": secret})),
        (
            "nc_webdav_untag_file",
            json!({"path": secret, "tag": f.tag}),
        ),
        (
            "nc_webdav_search_files",
            json!({"name_pattern": "x", "scope": format!("{base}/Private")}),
        ),
        ("nc_share_create_public_link", json!({"path": secret})),
        ("nc_share_list", json!({"path": secret})),
    ] {
        let e = call_err(c, tool, args.clone()).await;
        assert!(
            e.contains("Access denied") && e.contains("EXCLUDED_TAGS"),
            "{tool} {args}: {e}"
        );
    }

    // Nothing changed in the backend.
    let (bytes, _) = files.download(&secret).await.unwrap();
    assert_eq!(&bytes[..], b"the secret");
    assert!(
        files
            .stat(&format!("{base}/Private/new.txt"))
            .await
            .is_err()
    );
    assert!(files.stat(&format!("{base}/Private/sub")).await.is_err());
    assert!(files.stat(&format!("{base}/moved.txt")).await.is_err());
    assert!(files.stat(&format!("{base}-copy")).await.is_err());
    assert!(files.stat(&inner).await.is_ok());
    let id = files.stat(&secret).await.unwrap().id.unwrap();
    assert_eq!(
        f.nc.direct().system_tags().of_file(id).await.unwrap().len(),
        1
    );
    assert!(
        f.nc.direct()
            .comments()
            .list(id, 0, 0)
            .await
            .unwrap()
            .is_empty()
    );

    // Everything else works as usual.
    let r = call_ok(
        c,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/public.txt")}),
    )
    .await;
    assert_eq!(r["content"], "hello");

    // Tagging through the tools hides at once (the cached resolution is dropped).
    call_ok(
        c,
        "nc_webdav_tag_file",
        json!({"path": format!("{base}/public.txt"), "tag": f.tag}),
    )
    .await;
    let e = call_err(
        c,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/public.txt")}),
    )
    .await;
    assert!(e.contains("Access denied"), "{e}");
    let list = call_ok(c, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(list["files"], json!([]));
    teardown(f).await;
}

#[tokio::test]
async fn resolution_is_cached_and_fails_closed() {
    let f = setup("excl-closed").await;
    let Some(emu) = f.nc.emulator() else {
        eprintln!("skipped: fault injection needs the emulator");
        return teardown(f).await;
    };
    let (c, base) = (&f.client, &f.base);

    // The first call resolves the tags; the next ones reuse that.
    call_ok(c, "nc_webdav_list_directory", json!({"path": base})).await;
    let before = emu.request_count();
    call_ok(c, "nc_webdav_list_directory", json!({"path": base})).await;
    call_ok(c, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(
        emu.request_count() - before,
        2,
        "one PROPFIND per listing, no tag lookups"
    );

    // A fresh server whose tag lookup fails must not show anything.
    let server =
        f.nc.server(&Default::default())
            .with_file_settings(nextcloud_mcp::config::FileSettings {
                excluded_tags: vec![f.tag.clone()],
                ..Default::default()
            });
    let url = spawn_http(server, &Default::default()).await;
    let fresh = connect_http(&url, Transport::HttpSession, None).await;
    emu.set_faults(Faults {
        path_prefix: Some("/remote.php/dav/systemtags".into()),
        error_status: Some(503),
        ..Default::default()
    });
    for (tool, args) in [
        ("nc_webdav_list_directory", json!({"path": base})),
        (
            "nc_webdav_read_file",
            json!({"path": format!("{base}/public.txt")}),
        ),
        ("nc_webdav_find_by_name", json!({"pattern": "secret"})),
    ] {
        let e = call_err(&fresh, tool, args).await;
        assert!(
            e.contains("EXCLUDED_TAGS") && e.contains("503"),
            "{tool}: {e}"
        );
        assert!(!e.contains("the secret"), "{e}");
    }
    emu.clear_faults();
    let list = call_ok(&fresh, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(list["total_count"], 1);

    // Without EXCLUDED_TAGS the same files are all visible (the guard is what hides them).
    let open = connect(&f.nc, Transport::HttpSession, &Default::default()).await;
    let list = call_ok(&open, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(list["total_count"], 3);
    teardown(f).await;
}

#[tokio::test]
async fn the_setting_reaches_the_binary() {
    let f = setup("excl-stdio").await;
    let base = &f.base;
    // `--excluded-tags` is the flag behind `EXCLUDED_TAGS`; an empty entry is ignored.
    let c = connect_stdio(&f.nc, &["--excluded-tags", &format!("{},", f.tag)]).await;
    let list = call_ok(&c, "nc_webdav_list_directory", json!({"path": base})).await;
    assert_eq!(paths(&list, "files"), vec![format!("{base}/public.txt")]);
    let e = call_err(
        &c,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/secret.txt")}),
    )
    .await;
    assert!(e.contains("Access denied"), "{e}");
    let _ = c.cancel().await;
    teardown(f).await;
}
