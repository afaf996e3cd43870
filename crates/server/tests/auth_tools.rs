//! The Login Flow v2 tools end to end: bearer tokens signed by a test key (served as JWKS),
//! the emulator's real Login Flow v2 (its browser page completes the flow), every status of
//! `nc_auth_provision_access`, `nc_auth_check_status` and `nc_auth_update_scopes`, URL
//! elicitation on both protocol generations, concurrency, SQLite and PostgreSQL.

mod common;
mod multi_common;

use common::{EMU_PASSWORD, EMU_USER, TestNextcloud, Transport, connect_http, text_of};
use multi_common::{
    Elicitor, Server, TestDb, browser_login, call_any, connect_eliciting, out, start_issuer,
    start_server, start_server_with, token, token_with,
};
use nextcloud_emulator::Faults;
use nextcloud_mcp::cli::DeploymentMode;
use nextcloud_mcp::db::AuditEvent;
use rmcp::model::ElicitationAction;
use serde_json::{Value, json};

const BOB: (&str, &str) = ("bob", "bob-login-password-0123456789");
const CAROL: (&str, &str) = ("carol", "carol-login-password-012345678");

async fn emulator() -> Option<TestNextcloud> {
    let nc = TestNextcloud::start_with(|b| b.user(BOB.0, BOB.1).user(CAROL.0, CAROL.1)).await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (its Login Flow v2 page is driven by the test)");
        return None;
    }
    Some(nc)
}

fn nc_user(nc: &TestNextcloud, login: &str, password: &str) -> nextcloud::NextcloudUser {
    nextcloud::Nextcloud::new(nc.client_config())
        .unwrap()
        .user(nextcloud::Credentials::new(login, password))
}

/// Whether these credentials still authenticate in Nextcloud.
async fn works(nc: &TestNextcloud, login: &str, password: &str) -> bool {
    match nc_user(nc, login, password).current_user().await {
        Ok(_) => true,
        Err(nextcloud::Error::Unauthorized { .. }) => false,
        Err(e) => panic!("unexpected error checking credentials: {e}"),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

async fn audit_events(srv: &Server, user: &str) -> Vec<String> {
    srv.multi
        .store
        .audit_entries(user)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// Every status of the three tools, with a client that has no elicitation.
async fn lifecycle(db: TestDb) {
    let Some(nc) = emulator().await else {
        return db.cleanup().await;
    };
    let emu = nc.emulator().unwrap();
    let issuer = start_issuer().await;
    let srv = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let all = "notes.read notes.write files.read deck.read";
    let alice_token = token(&issuer, &srv.mcp_url, EMU_USER, all, 600);
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&alice_token)).await;
    let store = &srv.multi.store;

    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for tool in [
        "nc_auth_provision_access",
        "nc_auth_check_status",
        "nc_auth_update_scopes",
    ] {
        assert!(
            names.contains(&tool.to_string()),
            "{tool} missing: {names:?}"
        );
    }

    // Not provisioned: app tools say what to do; status is not_initiated; no scopes to update.
    let r = call_any(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        text_of(&r).contains("nc_auth_provision_access"),
        "{}",
        text_of(&r)
    );
    let r = call_any(&client, "nc_auth_check_status", json!({})).await;
    let o = out(&r);
    assert_eq!(o["status"], "not_initiated", "{o}");
    assert_eq!(o["user_id"], EMU_USER);
    let r = call_any(
        &client,
        "nc_auth_update_scopes",
        json!({"add_scopes": ["notes.write"]}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert_eq!(out(&r)["status"], "error");
    assert!(
        text_of(&r).contains("nc_auth_provision_access"),
        "{}",
        text_of(&r)
    );

    // Invalid scopes: the invalid one and the valid ones are named.
    let r = call_any(
        &client,
        "nc_auth_provision_access",
        json!({"scopes": ["notes:read", "notes:bogus"]}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let msg = text_of(&r);
    assert!(
        msg.contains("`scopes`") && msg.contains("notes:bogus"),
        "{msg}"
    );
    assert!(
        msg.contains("calendar.write") && msg.contains("semantic.read"),
        "{msg}"
    );
    assert_eq!(out(&r)["success"], false);
    assert!(store.pending_login(EMU_USER).await.unwrap().is_none());

    // Nextcloud refusing to start a flow: error with the status.
    emu.set_faults(Faults {
        path_prefix: Some("/index.php/login/v2".into()),
        error_status: Some(503),
        remaining: Some(1),
        ..Default::default()
    });
    let r = call_any(&client, "nc_auth_provision_access", json!({})).await;
    emu.clear_faults();
    assert_eq!(r.is_error, Some(true));
    assert!(text_of(&r).contains("503"), "{}", text_of(&r));

    // Start: login_required with the URL; colon aliases normalised; the flow is pending.
    let r = call_any(
        &client,
        "nc_auth_provision_access",
        json!({"scopes": ["notes:read", "notes.write", "openid"]}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
    let o = out(&r);
    assert_eq!(o["status"], "login_required", "{o}");
    assert_eq!(o["success"], true);
    let login_url = o["login_url"].as_str().unwrap().to_string();
    assert!(
        login_url.starts_with(&format!("{}/index.php/login/v2/flow/", nc.base_url)),
        "{login_url}"
    );
    assert!(text_of(&r).contains(&login_url));
    assert_eq!(
        strings(&o["requested_scopes"]),
        ["notes.read", "notes.write"]
    );
    let flow = store
        .pending_login(EMU_USER)
        .await
        .unwrap()
        .expect("pending");
    assert_eq!(flow.login_url, login_url);
    assert!(flow.expires_at - flow.created_at == 20 * 60);

    // Pending until the person logs in (a wrong password does not complete it).
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "pending", "{o}");
    assert!(!browser_login(&login_url, EMU_USER, "wrong-password").await);
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "pending", "{o}");
    assert!(browser_login(&login_url, EMU_USER, EMU_PASSWORD).await);

    // Provisioned: the app password is stored (encrypted) with the scopes and works.
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert_eq!(o["username"], EMU_USER);
    assert_eq!(strings(&o["scopes"]), ["notes.read", "notes.write"]);
    assert!(store.pending_login(EMU_USER).await.unwrap().is_none());
    let first = store.app_password(EMU_USER).await.unwrap().expect("stored");
    assert_eq!(
        first.scopes.as_deref(),
        Some(&["notes.read".to_string(), "notes.write".to_string()][..])
    );
    assert_ne!(first.password.expose(), EMU_PASSWORD);
    assert!(works(&nc, &first.login_name, first.password.expose()).await);
    assert_eq!(audit_events(&srv, EMU_USER).await, ["provisioned"]);
    // Checking again answers from the store.
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned");

    // Already provisioned.
    let o = out(&call_any(
        &client,
        "nc_auth_provision_access",
        json!({"scopes": ["files.read"]}),
    )
    .await);
    assert_eq!(o["status"], "already_provisioned", "{o}");
    assert_eq!(
        strings(&o["requested_scopes"]),
        ["notes.read", "notes.write"]
    );
    assert!(
        o["message"]
            .as_str()
            .unwrap()
            .contains("nc_auth_update_scopes")
    );

    // App tools now run as the user with the stored app password.
    let category = common::unique_category("auth");
    let created = common::call_ok(
        &client,
        "nc_notes_create_note",
        json!({"title": "provisioned", "content": "by login flow", "category": category}),
    )
    .await;
    let id = created["id"].as_u64().unwrap();
    assert_eq!(
        nc.direct().notes().get(id).await.unwrap().title,
        "provisioned"
    );
    // files.read is in the token but not granted: effective scopes exclude it.
    let r = call_any(&client, "nc_webdav_list_directory", json!({"path": "/"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        text_of(&r).contains("nc_auth_update_scopes"),
        "{}",
        text_of(&r)
    );

    // update_scopes: argument errors, unchanged.
    for (args, needle) in [
        (json!({}), "add_scopes"),
        (json!({"add_scopes": [], "remove_scopes": []}), "add_scopes"),
        (json!({"add_scopes": ["bogus.read"]}), "bogus.read"),
        (json!({"remove_scopes": ["nope"]}), "remove_scopes"),
        (
            json!({"remove_scopes": ["notes.read", "notes:write"]}),
            "at least one",
        ),
    ] {
        let r = call_any(&client, "nc_auth_update_scopes", args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{args}");
        assert_eq!(out(&r)["status"], "error");
        assert!(text_of(&r).contains(needle), "{args}: {}", text_of(&r));
    }
    let o = out(&call_any(
        &client,
        "nc_auth_update_scopes",
        json!({"add_scopes": ["notes:read"]}),
    )
    .await);
    assert_eq!(o["status"], "unchanged", "{o}");
    assert_eq!(strings(&o["new_scopes"]), ["notes.read", "notes.write"]);
    assert!(store.pending_login(EMU_USER).await.unwrap().is_none());

    // A real change: a new flow; the old password keeps working until it completes.
    let r = call_any(
        &client,
        "nc_auth_update_scopes",
        json!({"add_scopes": ["files:read"], "remove_scopes": ["notes.write"]}),
    )
    .await;
    let o = out(&r);
    assert_eq!(o["status"], "login_required", "{o}");
    assert_eq!(
        strings(&o["previous_scopes"]),
        ["notes.read", "notes.write"]
    );
    assert_eq!(strings(&o["new_scopes"]), ["files.read", "notes.read"]);
    let update_url = o["login_url"].as_str().unwrap().to_string();
    assert_ne!(update_url, login_url);
    common::call_ok(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "pending", "{o}");
    assert!(browser_login(&update_url, EMU_USER, EMU_PASSWORD).await);
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert_eq!(strings(&o["scopes"]), ["files.read", "notes.read"]);
    let second = store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_ne!(second.password.expose(), first.password.expose());
    assert!(works(&nc, &second.login_name, second.password.expose()).await);
    // The replaced app password was revoked in Nextcloud.
    assert!(!works(&nc, &first.login_name, first.password.expose()).await);
    assert_eq!(
        audit_events(&srv, EMU_USER).await,
        ["provisioned", "scopes_changed", "revoked"]
    );
    // New effective scopes apply at once.
    common::call_ok(&client, "nc_webdav_list_directory", json!({"path": "/"})).await;
    let r = call_any(
        &client,
        "nc_notes_create_note",
        json!({"title": "t", "content": "c", "category": category}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));

    // An expired scope-change flow: deleted, access stays as it was.
    let o = out(&call_any(
        &client,
        "nc_auth_update_scopes",
        json!({"add_scopes": ["deck.read"]}),
    )
    .await);
    assert_eq!(o["status"], "login_required");
    db.execute("UPDATE login_flow_sessions SET expires_at = 0")
        .await;
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert!(o["message"].as_str().unwrap().contains("expired"), "{o}");
    assert_eq!(strings(&o["scopes"]), ["files.read", "notes.read"]);
    assert!(store.pending_login(EMU_USER).await.unwrap().is_none());

    // Bob: an expired first login → not_initiated; a failing poll → error.
    let bob_token = token(&issuer, &srv.mcp_url, BOB.0, all, 600);
    let bob = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&bob_token)).await;
    let o = out(&call_any(&bob, "nc_auth_provision_access", json!({})).await);
    assert_eq!(o["status"], "login_required");
    assert_eq!(
        strings(&o["requested_scopes"]),
        nextcloud_mcp::apps::all_scopes()
    );
    emu.set_faults(Faults {
        path_prefix: Some("/index.php/login/v2/poll".into()),
        error_status: Some(500),
        remaining: Some(1),
        ..Default::default()
    });
    let r = call_any(&bob, "nc_auth_check_status", json!({})).await;
    emu.clear_faults();
    assert_eq!(r.is_error, Some(true));
    let o = out(&r);
    assert_eq!(o["status"], "error", "{o}");
    assert_eq!(o["success"], false);
    assert!(text_of(&r).contains("500"), "{}", text_of(&r));
    // The flow survives a failed poll.
    assert!(store.pending_login(BOB.0).await.unwrap().is_some());
    emu.advance_clock(21 * 60);
    db.execute("UPDATE login_flow_sessions SET expires_at = 1")
        .await;
    let o = out(&call_any(&bob, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "not_initiated", "{o}");
    assert!(o["message"].as_str().unwrap().contains("expired"));
    assert!(store.pending_login(BOB.0).await.unwrap().is_none());

    // The background cleanup removes expired flows nobody asks about.
    let carol_token = token(&issuer, &srv.mcp_url, CAROL.0, all, 600);
    let carol = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&carol_token)).await;
    let o = out(&call_any(&carol, "nc_auth_provision_access", json!({})).await);
    assert_eq!(o["status"], "login_required");
    db.execute("UPDATE login_flow_sessions SET expires_at = 1")
        .await;
    store
        .cleanup(std::time::Duration::from_secs(86_400))
        .await
        .unwrap();
    assert!(store.pending_login(CAROL.0).await.unwrap().is_none());

    for c in [client, bob, carol] {
        let _ = c.cancel().await;
    }
    db.cleanup().await;
}

#[tokio::test]
async fn lifecycle_sqlite() {
    lifecycle(TestDb::sqlite()).await;
}

#[tokio::test]
async fn lifecycle_postgres() {
    if let Some(db) = TestDb::postgres().await {
        lifecycle(db).await;
    }
}

/// URL elicitation: a server request for `2025-11-25` sessions, an input-required result
/// (MRTR) for `2026-07-28`; accept → pending, decline / cancel → the flow is discarded. The
/// login URL is rewritten to NEXTCLOUD_PUBLIC_URL.
#[tokio::test]
async fn elicitation_on_both_protocols() {
    let Some(nc) = emulator().await else { return };
    let db = TestDb::sqlite();
    let issuer = start_issuer().await;
    let public = nc.base_url.replace("127.0.0.1", "localhost");
    let srv = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        Some(&public),
    )
    .await;
    let store = &srv.multi.store;
    let scope = "notes.read notes.write files.read";

    for (stateless, (user, password)) in [(false, (EMU_USER, EMU_PASSWORD)), (true, BOB)] {
        let tok = token(&issuer, &srv.mcp_url, user, scope, 600);
        let elicitor = Elicitor::new(ElicitationAction::Decline);
        let client = connect_eliciting(&srv.mcp_url, &tok, elicitor.clone(), stateless).await;
        let label = if stateless {
            "2026-07-28"
        } else {
            "2025-11-25"
        };

        // Declined, then cancelled: nothing stays pending.
        for (action, status) in [
            (ElicitationAction::Decline, "declined"),
            (ElicitationAction::Cancel, "cancelled"),
        ] {
            elicitor.set(action);
            let r = call_any(
                &client,
                "nc_auth_provision_access",
                json!({"scopes": ["notes.read"]}),
            )
            .await;
            let o = out(&r);
            assert_eq!(o["status"], status, "{label}: {o}");
            assert_eq!(o["success"], false);
            assert!(
                store.pending_login(user).await.unwrap().is_none(),
                "{label}"
            );
        }
        assert_eq!(elicitor.urls().len(), 2, "{label}");

        // Accepted: pending; the URL shown is the public one, and also in the output.
        elicitor.set(ElicitationAction::Accept);
        let o = out(&call_any(
            &client,
            "nc_auth_provision_access",
            json!({"scopes": ["notes.read"]}),
        )
        .await);
        assert_eq!(o["status"], "pending", "{label}: {o}");
        let url = o["login_url"].as_str().unwrap().to_string();
        assert!(
            url.starts_with(&format!("{public}/index.php/login/v2/flow/")),
            "{url}"
        );
        assert_eq!(elicitor.urls().last().unwrap(), &url, "{label}");
        // The poll endpoint stays on the internal host.
        let flow = store.pending_login(user).await.unwrap().unwrap();
        assert!(
            flow.poll_endpoint.starts_with(&nc.base_url),
            "{}",
            flow.poll_endpoint
        );
        assert!(browser_login(&url, user, password).await);
        let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
        assert_eq!(o["status"], "provisioned", "{label}: {o}");
        let old = store.app_password(user).await.unwrap().unwrap();

        // Scope change declined / cancelled: flow discarded, access unchanged.
        for (action, status) in [
            (ElicitationAction::Decline, "declined"),
            (ElicitationAction::Cancel, "cancelled"),
        ] {
            elicitor.set(action);
            let o = out(&call_any(
                &client,
                "nc_auth_update_scopes",
                json!({"add_scopes": ["files.read"]}),
            )
            .await);
            assert_eq!(o["status"], status, "{label}: {o}");
            assert_eq!(strings(&o["new_scopes"]), ["files.read", "notes.read"]);
            assert!(store.pending_login(user).await.unwrap().is_none());
            let now = store.app_password(user).await.unwrap().unwrap();
            assert_eq!(now.password.expose(), old.password.expose());
        }
        // Accepted: pending; completing it swaps and revokes.
        elicitor.set(ElicitationAction::Accept);
        let o = out(&call_any(
            &client,
            "nc_auth_update_scopes",
            json!({"add_scopes": ["files.read"]}),
        )
        .await);
        assert_eq!(o["status"], "pending", "{label}: {o}");
        let url = o["login_url"].as_str().unwrap().to_string();
        assert!(browser_login(&url, user, password).await);
        let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
        assert_eq!(
            strings(&o["scopes"]),
            ["files.read", "notes.read"],
            "{label}"
        );
        assert!(!works(&nc, &old.login_name, old.password.expose()).await);
        let _ = client.cancel().await;
    }
    db.cleanup().await;
}

/// Two simultaneous provisionings or scope updates for one user leave one consistent row.
async fn concurrency(db: TestDb) {
    let Some(nc) = emulator().await else {
        return db.cleanup().await;
    };
    let issuer = start_issuer().await;
    let srv = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let store = &srv.multi.store;
    let tok = token(
        &issuer,
        &srv.mcp_url,
        EMU_USER,
        "notes.read files.read deck.read",
        600,
    );
    let a = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&tok)).await;
    let b = connect_http(&srv.mcp_url, Transport::HttpStateless, Some(&tok)).await;

    let (ra, rb) = tokio::join!(
        call_any(
            &a,
            "nc_auth_provision_access",
            json!({"scopes": ["notes.read"]})
        ),
        call_any(
            &b,
            "nc_auth_provision_access",
            json!({"scopes": ["files.read"]})
        ),
    );
    let (ua, ub) = (
        out(&ra)["login_url"].as_str().unwrap().to_string(),
        out(&rb)["login_url"].as_str().unwrap().to_string(),
    );
    assert_ne!(ua, ub);
    let flow = store
        .pending_login(EMU_USER)
        .await
        .unwrap()
        .expect("one flow");
    let (kept, lost) = if flow.login_url == ua {
        (ua, ub)
    } else {
        (ub, ua)
    };
    assert_eq!(flow.login_url, kept);
    // Completing the replaced flow grants nothing here.
    assert!(browser_login(&lost, EMU_USER, EMU_PASSWORD).await);
    let o = out(&call_any(&a, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "pending", "{o}");
    assert!(browser_login(&kept, EMU_USER, EMU_PASSWORD).await);
    let (ra, rb) = tokio::join!(
        call_any(&a, "nc_auth_check_status", json!({})),
        call_any(&b, "nc_auth_check_status", json!({})),
    );
    assert_eq!(out(&ra)["status"], "provisioned", "{:?}", out(&ra));
    assert_eq!(out(&rb)["status"], "provisioned", "{:?}", out(&rb));
    let stored = store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_eq!(stored.scopes, flow.requested_scopes);
    assert!(works(&nc, &stored.login_name, stored.password.expose()).await);
    assert_eq!(audit_events(&srv, EMU_USER).await, ["provisioned"]);

    // Two simultaneous scope updates: one flow stays, and completes consistently.
    let (ra, rb) = tokio::join!(
        call_any(
            &a,
            "nc_auth_update_scopes",
            json!({"add_scopes": ["deck.read"]})
        ),
        call_any(
            &b,
            "nc_auth_update_scopes",
            json!({"add_scopes": ["deck.read", "files.read"]})
        ),
    );
    assert_eq!(out(&ra)["status"], "login_required");
    assert_eq!(out(&rb)["status"], "login_required");
    let flow = store
        .pending_login(EMU_USER)
        .await
        .unwrap()
        .expect("one flow");
    assert!(browser_login(&flow.login_url, EMU_USER, EMU_PASSWORD).await);
    let (ra, rb) = tokio::join!(
        call_any(&a, "nc_auth_check_status", json!({})),
        call_any(&b, "nc_auth_check_status", json!({})),
    );
    for r in [&ra, &rb] {
        assert_eq!(out(r)["status"], "provisioned", "{:?}", out(r));
    }
    let now = store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_eq!(now.scopes, flow.requested_scopes);
    assert!(works(&nc, &now.login_name, now.password.expose()).await);
    assert!(!works(&nc, &stored.login_name, stored.password.expose()).await);
    let events = audit_events(&srv, EMU_USER).await;
    assert_eq!(events, ["provisioned", "scopes_changed", "revoked"]);
    assert!(
        store
            .audit_entries(EMU_USER)
            .await
            .unwrap()
            .iter()
            .all(|e| e.event != AuditEvent::AuthFailed.as_str())
    );
    let _ = a.cancel().await;
    let _ = b.cancel().await;
    db.cleanup().await;
}

#[tokio::test]
async fn concurrency_sqlite() {
    concurrency(TestDb::sqlite()).await;
}

#[tokio::test]
async fn concurrency_postgres() {
    if let Some(db) = TestDb::postgres().await {
        concurrency(db).await;
    }
}

/// A flow started on one server completes on another (a restart, or a second replica), and
/// the stored access survives too.
async fn restart(db: TestDb) {
    let Some(nc) = emulator().await else {
        return db.cleanup().await;
    };
    let issuer = start_issuer().await;
    let first = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let tok = token(&issuer, &first.mcp_url, CAROL.0, "notes.read", 600);
    let client = connect_http(&first.mcp_url, Transport::HttpSession, Some(&tok)).await;
    let o = out(&call_any(
        &client,
        "nc_auth_provision_access",
        json!({"scopes": ["notes.read"]}),
    )
    .await);
    assert_eq!(o["status"], "login_required");
    let url = o["login_url"].as_str().unwrap().to_string();
    let _ = client.cancel().await;

    let second = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let tok = token(&issuer, &second.mcp_url, CAROL.0, "notes.read", 600);
    let client = connect_http(&second.mcp_url, Transport::HttpStateless, Some(&tok)).await;
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "pending", "{o}");
    assert!(browser_login(&url, CAROL.0, CAROL.1).await);
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    let _ = client.cancel().await;

    let third = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let tok = token(&issuer, &third.mcp_url, CAROL.0, "notes.read", 600);
    let client = connect_http(&third.mcp_url, Transport::HttpSession, Some(&tok)).await;
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert_eq!(strings(&o["scopes"]), ["notes.read"]);
    common::call_ok(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    let _ = client.cancel().await;
    db.cleanup().await;
}

#[tokio::test]
async fn restart_sqlite() {
    restart(TestDb::sqlite()).await;
}

#[tokio::test]
async fn restart_postgres() {
    if let Some(db) = TestDb::postgres().await {
        restart(db).await;
    }
}

/// Someone else opens a user's login link and grants it: the login is refused with a message
/// naming both accounts, the app password it produced is revoked in Nextcloud at once, and the
/// user's own access, scopes and binding stay as they were.
async fn someone_else_grants_the_login(db: TestDb) {
    let Some(nc) = emulator().await else {
        return db.cleanup().await;
    };
    let emu = nc.emulator().unwrap();
    let issuer = start_issuer().await;
    let srv = start_server(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    let store = &srv.multi.store;
    let tok = token(
        &issuer,
        &srv.mcp_url,
        EMU_USER,
        "notes.read files.read",
        600,
    );
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&tok)).await;

    // The first provisioning, by alice herself, binds her identity to her account.
    let o = out(&call_any(
        &client,
        "nc_auth_provision_access",
        json!({"scopes": ["notes.read"]}),
    )
    .await);
    assert!(browser_login(o["login_url"].as_str().unwrap(), EMU_USER, EMU_PASSWORD).await);
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    let first = store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_eq!(
        store.account_binding(EMU_USER).await.unwrap().as_deref(),
        Some(EMU_USER)
    );

    // Bob opens alice's scope-change link and logs in there as himself.
    let o = out(&call_any(
        &client,
        "nc_auth_update_scopes",
        json!({"add_scopes": ["files.read"]}),
    )
    .await);
    assert_eq!(o["status"], "login_required", "{o}");
    let bobs_before = emu.app_passwords(BOB.0);
    assert!(browser_login(o["login_url"].as_str().unwrap(), BOB.0, BOB.1).await);
    assert_eq!(emu.app_passwords(BOB.0).len(), bobs_before.len() + 1);
    let r = call_any(&client, "nc_auth_check_status", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    let o = out(&r);
    assert_eq!(o["status"], "error", "{o}");
    assert_eq!(o["success"], false);
    let msg = text_of(&r);
    assert!(
        msg.contains("Refused") && msg.contains("`bob`") && msg.contains("`alice`"),
        "{msg}"
    );
    assert!(msg.contains("was revoked"), "{msg}");
    // Bob's fresh app password is gone from Nextcloud; alice's access is untouched.
    assert_eq!(emu.app_passwords(BOB.0), bobs_before);
    let now = store.app_password(EMU_USER).await.unwrap().unwrap();
    assert_eq!(now.password.expose(), first.password.expose());
    assert_eq!(now.scopes, first.scopes);
    assert!(works(&nc, &now.login_name, now.password.expose()).await);
    assert!(store.pending_login(EMU_USER).await.unwrap().is_none());
    let entries = store.audit_entries(EMU_USER).await.unwrap();
    let refused = entries.last().unwrap();
    assert_eq!(refused.event, AuditEvent::Refused.as_str());
    assert!(
        refused.detail.as_deref().unwrap().contains("bob"),
        "{refused:?}"
    );
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert_eq!(strings(&o["scopes"]), ["notes.read"]);

    // Alice herself can still change her scopes.
    let o = out(&call_any(
        &client,
        "nc_auth_update_scopes",
        json!({"add_scopes": ["files.read"]}),
    )
    .await);
    assert!(browser_login(o["login_url"].as_str().unwrap(), EMU_USER, EMU_PASSWORD).await);
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert_eq!(strings(&o["scopes"]), ["files.read", "notes.read"]);
    assert!(!works(&nc, &first.login_name, first.password.expose()).await);
    let _ = client.cancel().await;
    db.cleanup().await;
}

#[tokio::test]
async fn someone_else_grants_the_login_sqlite() {
    someone_else_grants_the_login(TestDb::sqlite()).await;
}

#[tokio::test]
async fn someone_else_grants_the_login_postgres() {
    if let Some(db) = TestDb::postgres().await {
        someone_else_grants_the_login(db).await;
    }
}

/// NEXTCLOUD_MCP_OIDC_USER_CLAIM names the Nextcloud user in the token, and with
/// NEXTCLOUD_MCP_OIDC_REQUIRE_USER_MATCH even the first login must be that user's own.
#[tokio::test]
async fn the_first_login_must_be_the_claimed_user() {
    let Some(nc) = emulator().await else { return };
    let emu = nc.emulator().unwrap();
    let db = TestDb::sqlite();
    let issuer = start_issuer().await;
    let srv = start_server_with(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
        |args| {
            args.oidc_user_claim = Some("preferred_username".into());
            args.oidc_require_user_match = true;
        },
    )
    .await;
    let store = &srv.multi.store;
    let claims =
        json!({"sub": "3f0c2a9e-carol", "preferred_username": CAROL.0, "scope": "notes.read"});
    let tok = token_with(&issuer, &srv.mcp_url, claims, 600);
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&tok)).await;
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["user_id"], CAROL.0, "{o}");

    // Bob grants carol's very first login: refused, revoked, nothing stored or bound.
    let o = out(&call_any(&client, "nc_auth_provision_access", json!({})).await);
    let bobs_before = emu.app_passwords(BOB.0);
    assert!(browser_login(o["login_url"].as_str().unwrap(), BOB.0, BOB.1).await);
    let r = call_any(&client, "nc_auth_check_status", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    let msg = text_of(&r);
    assert!(msg.contains("`bob`") && msg.contains("`carol`"), "{msg}");
    assert_eq!(emu.app_passwords(BOB.0), bobs_before);
    assert!(store.app_password(CAROL.0).await.unwrap().is_none());
    assert!(store.account_binding(CAROL.0).await.unwrap().is_none());
    assert!(store.pending_login(CAROL.0).await.unwrap().is_none());
    assert_eq!(
        store
            .audit_entries(CAROL.0)
            .await
            .unwrap()
            .last()
            .unwrap()
            .event,
        "refused"
    );

    // Carol's own login works.
    let o = out(&call_any(&client, "nc_auth_provision_access", json!({})).await);
    assert!(browser_login(o["login_url"].as_str().unwrap(), CAROL.0, CAROL.1).await);
    let o = out(&call_any(&client, "nc_auth_check_status", json!({})).await);
    assert_eq!(o["status"], "provisioned", "{o}");
    assert_eq!(
        store.account_binding(CAROL.0).await.unwrap().as_deref(),
        Some(CAROL.0)
    );
    common::call_ok(&client, "nc_notes_search_notes", json!({"query": "x"})).await;
    let _ = client.cancel().await;

    // A token without the claim names nobody: refused like any invalid token.
    let nameless = token_with(
        &issuer,
        &srv.mcp_url,
        json!({"sub": "3f0c2a9e-carol", "scope": "notes.read"}),
        600,
    );
    let status = reqwest::Client::new()
        .post(&srv.mcp_url)
        .bearer_auth(nameless)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    db.cleanup().await;
}
