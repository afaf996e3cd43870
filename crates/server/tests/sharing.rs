//! Sharing tools (`nc_share_*`) end to end through MCP, checked in the backend with the client.

mod common;

use common::*;
use serde_json::json;

/// A second account to share with: `bob` on the emulator, `NEXTCLOUD_SHARE_WITH` on a real
/// Nextcloud (user-share steps are skipped without it).
fn recipient(nc: &TestNextcloud) -> Option<String> {
    if nc.emulator().is_some() {
        Some("bob".into())
    } else {
        std::env::var("NEXTCLOUD_SHARE_WITH").ok()
    }
}

async fn setup(test: &str) -> (TestNextcloud, Client, String) {
    let nc = TestNextcloud::start_with(|b| b.user("bob", "bob-password-0123456789")).await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let base = unique_category(test);
    call_ok(&client, "nc_webdav_create_directory", json!({"path": base})).await;
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/doc & #1.txt"), "content": "shared text"}),
    )
    .await;
    (nc, client, base)
}

#[tokio::test]
async fn public_link_lifecycle() {
    let (nc, client, base) = setup("link").await;
    let path = format!("{base}/doc & #1.txt");
    let link = call_ok(
        &client,
        "nc_share_create_public_link",
        json!({"path": path, "expires_in_minutes": 60}),
    )
    .await;
    let id = link["share_id"].as_u64().unwrap();
    let url = link["url"].as_str().unwrap();
    let token = link["token"].as_str().unwrap();
    assert!(!token.is_empty() && url.ends_with(token), "{link}");
    assert_eq!(link["download_url"], format!("{url}/download"));
    assert_eq!(link["permissions"], 1);

    // The backend has it, read-only, with an expiry date.
    let share = nc.direct().sharing().get(id).await.unwrap();
    assert_eq!(share.share_type, 3);
    assert_eq!(share.permissions, 1);
    assert!(share.expiration.is_some());
    assert_eq!(share.path.as_deref(), Some(format!("/{path}").as_str()));

    let got = call_ok(&client, "nc_share_get", json!({"share_id": id})).await;
    assert_eq!(got["result"]["id"], id);
    assert_eq!(got["result"]["share_type_name"], "public_link");
    assert_eq!(got["result"]["token"], token);

    let listed = call_ok(&client, "nc_share_list", json!({"path": path})).await;
    let ids: Vec<u64> = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);

    let e = call_err(
        &client,
        "nc_share_create_public_link",
        json!({"path": path, "expires_in_minutes": 0}),
    )
    .await;
    assert!(e.contains("`expires_in_minutes`"), "{e}");

    call_ok(&client, "nc_share_delete", json!({"share_id": id})).await;
    assert!(matches!(
        nc.direct().sharing().get(id).await,
        Err(nextcloud::Error::NotFound { .. })
    ));
    let e = call_err(&client, "nc_share_get", json!({"share_id": id})).await;
    assert!(e.contains("404"), "{e}");
    call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
}

#[tokio::test]
async fn user_share_create_update_list() {
    let (nc, client, base) = setup("user").await;
    let Some(bob) = recipient(&nc) else {
        println!("skipped: set NEXTCLOUD_SHARE_WITH to a second account to test user shares");
        call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
        return;
    };
    let created = call_ok(
        &client,
        "nc_share_create",
        json!({"path": base, "share_with": bob, "share_type": 0, "permissions": 1}),
    )
    .await;
    let id = created["result"]["id"].as_u64().unwrap();
    assert_eq!(created["result"]["share_with"], bob);
    assert_eq!(created["result"]["item_type"], "folder");

    let updated = call_ok(
        &client,
        "nc_share_update",
        json!({"share_id": id, "permissions": 15}),
    )
    .await;
    assert_eq!(updated["result"]["permissions"], 15);
    assert_eq!(nc.direct().sharing().get(id).await.unwrap().permissions, 15);

    // Listing all my shares includes it; bad permissions are explained before any request.
    let all = call_ok(&client, "nc_share_list", json!({})).await;
    assert!(
        all["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"].as_u64() == Some(id))
    );
    let e = call_err(
        &client,
        "nc_share_update",
        json!({"share_id": id, "permissions": 2}),
    )
    .await;
    assert!(e.contains("`permissions`"), "{e}");
    let e = call_err(
        &client,
        "nc_share_create",
        json!({"path": base, "share_type": 0}),
    )
    .await;
    assert!(e.contains("`share_with`"), "{e}");
    let e = call_err(
        &client,
        "nc_share_create",
        json!({"path": format!("{base}/missing"), "share_with": bob}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    let e = call_err(
        &client,
        "nc_share_create",
        json!({"path": "../outside", "share_with": bob}),
    )
    .await;
    assert!(e.contains("`path`") && e.contains(".."), "{e}");

    // The recipient sees it as shared with them.
    if let Some(_emu) = nc.emulator() {
        let bob_user = nextcloud::Nextcloud::new(nc.client_config()).unwrap().user(
            nextcloud::Credentials::new("bob", "bob-password-0123456789"),
        );
        let mine = bob_user
            .sharing()
            .list(&nextcloud::sharing::ShareFilter {
                shared_with_me: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(mine.iter().map(|s| s.id).collect::<Vec<_>>(), vec![id]);
    }
    let with_me = call_ok(&client, "nc_share_list", json!({"shared_with_me": true})).await;
    assert!(
        !with_me["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"].as_u64() == Some(id))
    );

    call_ok(&client, "nc_share_delete", json!({"share_id": id})).await;
    assert!(nc.direct().sharing().get(id).await.is_err());
    call_ok(&client, "nc_webdav_delete_resource", json!({"path": base})).await;
}
