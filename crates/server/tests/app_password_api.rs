//! The app-password REST API (`/api/v1/users/{user_id}/...`) end to end against the emulator:
//! every status code (200, 400, 401, 403, 404, 409, 429, 500, 502), the live password check,
//! the sliding-window rate limit and what counts towards it, what DELETE and replacement do in
//! Nextcloud (a handed-over password is only forgotten unless `?revoke=true`; one this server
//! obtained is revoked), and the OpenAPI document. On SQLite and PostgreSQL.

mod common;
mod multi_common;

use common::TestNextcloud;
use multi_common::{
    Server, TestDb, browser_login, call_any, out, start_issuer, start_server, token,
};
use nextcloud_emulator::Faults;
use nextcloud_mcp::cli::DeploymentMode;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE_APP: &str = "Aaaaa-Bbbbb-Ccccc-Ddddd-Eeeee";
const ALICE_APP2: &str = "Aaaaa-Bbbbb-Ccccc-Ddddd-Fffff";
const BOB_APP: &str = "Bbbbb-Bbbbb-Ccccc-Ddddd-Eeeee";
const CAROL_APP: &str = "Ccccc-Bbbbb-Ccccc-Ddddd-Eeeee";
const DAVE_APP: &str = "Ddddd-Bbbbb-Ccccc-Ddddd-Eeeee";
const ERIN_APP: &str = "Eeeee-Bbbbb-Ccccc-Ddddd-Eeeee";
const FRANK_APP: &str = "Fffff-Bbbbb-Ccccc-Ddddd-Eeeee";
const HENRY_APP: &str = "Hhhhh-Bbbbb-Ccccc-Ddddd-Eeeee";
const HENRY_APP2: &str = "Hhhhh-Bbbbb-Ccccc-Ddddd-Fffff";

async fn emulator() -> Option<TestNextcloud> {
    let mut users = vec![
        ("alice", ALICE_APP),
        ("bob", BOB_APP),
        ("carol", CAROL_APP),
        ("dave", DAVE_APP),
        ("erin", ERIN_APP),
        ("frank", FRANK_APP),
    ];
    let nc = TestNextcloud::start_with(|mut b| {
        b = b
            .user_with_login("henry", "henry@example.com", "henry-login-password-012345")
            .app_password("henry", HENRY_APP)
            .app_password("henry", HENRY_APP2)
            .app_password("alice", ALICE_APP2);
        for (user, app) in users.drain(..) {
            if user != "alice" {
                b = b.user(user, &format!("{user}-login-password-0123456789"));
            }
            b = b.app_password(user, app);
        }
        b
    })
    .await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (it issues the test users' app passwords)");
        return None;
    }
    Some(nc)
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(srv: &Server) -> Self {
        Self {
            base: srv.base.clone(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    async fn pw(
        &self,
        method: reqwest::Method,
        user: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.send(
            method,
            &format!("/api/v1/users/{user}/app-password"),
            auth,
            body,
        )
        .await
    }
}

async fn works(nc: &TestNextcloud, login: &str, password: &str) -> bool {
    nextcloud::Nextcloud::new(nc.client_config())
        .unwrap()
        .user(nextcloud::Credentials::new(login, password))
        .current_user()
        .await
        .is_ok()
}

use reqwest::Method;

async fn api(db: TestDb) {
    let Some(nc) = emulator().await else {
        return db.cleanup().await;
    };
    let emu = nc.emulator().unwrap();
    let srv = start_server(
        &nc.base_url,
        DeploymentMode::MultiUserBasic,
        None,
        &db,
        None,
    )
    .await;
    let api = Api::new(&srv);
    let store = &srv.multi.store;

    // Public routes.
    let (s, _, v) = api.send(Method::GET, "/api/v1/scopes", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["scopes"].as_array().unwrap().len(),
        nextcloud_mcp::apps::all_scopes().len()
    );
    let (s, _, v) = api.send(Method::GET, "/api/v1/status", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["deployment_mode"], "multi_user_basic");
    assert_eq!(v["database"], "ok");
    for path in ["/health/live", "/health/ready"] {
        assert_eq!(
            api.send(Method::GET, path, None, None).await.0,
            200,
            "{path}"
        );
    }
    let (s, h, v) = api
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(h["content-type"], "application/json");
    assert!(v["paths"]["/api/v1/users/{user_id}/app-password"]["post"].is_object());
    assert_eq!(
        v,
        serde_json::from_str::<Value>(&nextcloud_mcp::api::openapi_json()).unwrap()
    );

    // 401: no header, not Basic, malformed Basic.
    for auth in [
        None,
        Some("Bearer abc"),
        Some("Basic !!!"),
        Some("Basic YWxpY2U="),
    ] {
        let (s, h, v) = api.pw(Method::POST, "alice", auth, None).await;
        assert_eq!(s, 401, "{auth:?}");
        assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        assert_eq!(v["success"], false);
    }
    // 403: the Basic user is not the path's.
    let (s, _, v) = api
        .pw(Method::POST, "alice", Some(&basic("bob", BOB_APP)), None)
        .await;
    assert_eq!(s, 403, "{v}");
    // 400: not shaped like an app password; bad bodies.
    let (s, _, v) = api
        .pw(Method::POST, "carol", Some(&basic("carol", "short")), None)
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("app password"));
    let (s, _, v) = api
        .pw(
            Method::POST,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            Some(json!({"scopes": ["notes.read", "bogus:x"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("bogus:x"));
    assert!(
        v["valid_scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("notes.write"))
    );
    let (s, _, _) = api
        .pw(
            Method::POST,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            Some(json!({"scopes": []})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = api
        .pw(
            Method::POST,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            Some(json!(["x"])),
        )
        .await;
    assert_eq!(s, 400);
    // 401: well-formed but wrong.
    let (s, _, v) = api
        .pw(
            Method::POST,
            "carol",
            Some(&basic("carol", "Zzzzz-Zzzzz-Zzzzz-Zzzzz-Zzzzz")),
            None,
        )
        .await;
    assert_eq!(s, 401, "{v}");
    // 403: the password authenticates, but as another account.
    let (s, _, v) = api
        .pw(
            Method::POST,
            "carol",
            Some(&basic("carol", BOB_APP)),
            Some(json!({"username": "bob"})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(store.app_password("carol").await.unwrap().is_none());
    // 502: Nextcloud unreachable, with a message that names nothing secret.
    emu.set_faults(Faults {
        path_prefix: Some("/ocs/v2.php/cloud/user".into()),
        drop_connection: true,
        ..Default::default()
    });
    let (s, _, v) = api
        .pw(Method::GET, "bob", Some(&basic("bob", BOB_APP)), None)
        .await;
    emu.clear_faults();
    assert_eq!(s, 502, "{v}");
    let text = v.to_string();
    assert!(
        !text.contains(BOB_APP) && !text.contains(&nc.base_url),
        "{text}"
    );
    emu.set_faults(Faults {
        path_prefix: Some("/ocs/v2.php/cloud/user".into()),
        error_status: Some(503),
        ..Default::default()
    });
    let (s, _, _) = api
        .pw(Method::GET, "bob", Some(&basic("bob", BOB_APP)), None)
        .await;
    emu.clear_faults();
    assert_eq!(s, 502);

    // POST stores (scopes normalised); GET reports; access shows the details.
    let (s, _, v) = api
        .pw(
            Method::POST,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            Some(json!({"scopes": ["notes:read", "files.read"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["scopes"], json!(["files.read", "notes.read"]));
    let stored = store.app_password("alice").await.unwrap().unwrap();
    assert_eq!(stored.password.expose(), ALICE_APP);
    assert_eq!(stored.login_name, "alice");
    let (s, _, v) = api
        .pw(
            Method::GET,
            "alice",
            Some(&basic("alice", ALICE_APP2)),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["has_app_password"], true);
    let (s, _, v) = api
        .pw(Method::GET, "bob", Some(&basic("bob", BOB_APP)), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["has_app_password"], false);
    let (s, _, v) = api
        .send(
            Method::GET,
            "/api/v1/users/alice/access",
            Some(&basic("alice", ALICE_APP)),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["provisioned"], true);
    assert_eq!(v["scopes"], json!(["files.read", "notes.read"]));
    assert_eq!(v["username"], "alice");
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    let (s, _, v) = api
        .send(
            Method::GET,
            "/api/v1/users/bob/access",
            Some(&basic("bob", BOB_APP)),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["provisioned"], false);
    // A GET with a wrong password is refused (a user name alone proves nothing).
    let (s, _, _) = api
        .send(
            Method::GET,
            "/api/v1/users/alice/access",
            Some(&basic("alice", "Zzzzz-Zzzzz-Zzzzz-Zzzzz-Zzzzy")),
            None,
        )
        .await;
    assert_eq!(s, 401);

    // A login name other than the user id.
    let (s, _, v) = api
        .pw(
            Method::POST,
            "henry",
            Some(&basic("henry", HENRY_APP)),
            Some(json!({"username": "henry@example.com"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let henry = store.app_password("henry").await.unwrap().unwrap();
    assert_eq!(henry.login_name, "henry@example.com");
    assert!(henry.scopes.is_none());
    assert_eq!(henry.origin, nextcloud_mcp::db::Origin::Api);
    // Replacing a handed-over password forgets the old one; it stays valid in Nextcloud.
    let (s, _, v) = api
        .pw(
            Method::POST,
            "henry",
            Some(&basic("henry", HENRY_APP2)),
            Some(json!({"username": "henry@example.com"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        store
            .app_password("henry")
            .await
            .unwrap()
            .unwrap()
            .password
            .expose(),
        HENRY_APP2
    );
    assert!(works(&nc, "henry@example.com", HENRY_APP).await);
    assert!(emu.app_passwords("henry").contains(&HENRY_APP.to_string()));
    assert_eq!(
        store
            .audit_entries("henry")
            .await
            .unwrap()
            .last()
            .unwrap()
            .event,
        "forgotten"
    );

    // PATCH scopes: 200, 400, 404.
    let scopes_path = "/api/v1/users/alice/scopes";
    let (s, _, v) = api
        .send(
            Method::PATCH,
            scopes_path,
            Some(&basic("alice", ALICE_APP)),
            Some(json!({"scopes": ["deck:write"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        store.app_password("alice").await.unwrap().unwrap().scopes,
        Some(vec!["deck.write".to_string()])
    );
    for body in [
        json!({"scopes": ["nope"]}),
        json!({}),
        json!({"scopes": "notes.read"}),
    ] {
        let (s, _, _) = api
            .send(
                Method::PATCH,
                scopes_path,
                Some(&basic("alice", ALICE_APP)),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 400, "{body}");
    }
    let (s, _, _) = api
        .send(
            Method::PATCH,
            "/api/v1/users/bob/scopes",
            Some(&basic("bob", BOB_APP)),
            Some(json!({"scopes": ["notes.read"]})),
        )
        .await;
    assert_eq!(s, 404);
    let events: Vec<String> = store
        .audit_entries("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.contains(&"auth_failed".to_string()), "{events:?}");
    assert!(events.contains(&"provisioned".to_string()));
    assert!(events.contains(&"scopes_changed".to_string()));

    // DELETE of a handed-over password: forgotten here, still valid in Nextcloud (whoever
    // handed it over owns it).
    assert!(works(&nc, "alice", ALICE_APP).await);
    let (s, _, v) = api
        .pw(
            Method::DELETE,
            "alice",
            Some(&basic("alice", ALICE_APP2)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["deleted"], true);
    assert_eq!(v["revoked"], false);
    assert!(
        v["message"].as_str().unwrap().contains("revoke=true"),
        "{v}"
    );
    assert!(store.app_password("alice").await.unwrap().is_none());
    assert!(
        works(&nc, "alice", ALICE_APP).await,
        "still valid in Nextcloud"
    );
    assert!(emu.app_passwords("alice").contains(&ALICE_APP.to_string()));
    let last = store.audit_entries("alice").await.unwrap().pop().unwrap();
    assert_eq!(last.event, "forgotten");
    let (s, _, v) = api
        .pw(
            Method::DELETE,
            "alice",
            Some(&basic("alice", ALICE_APP2)),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["deleted"], false);
    // `?revoke=true`: the owner asks for it to be revoked in Nextcloud as well.
    let (s, _, v) = api
        .pw(
            Method::POST,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = api
        .send(
            Method::DELETE,
            "/api/v1/users/alice/app-password?revoke=maybe",
            Some(&basic("alice", ALICE_APP2)),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(store.app_password("alice").await.unwrap().is_some());
    let (s, _, v) = api
        .send(
            Method::DELETE,
            "/api/v1/users/alice/app-password?revoke=true",
            Some(&basic("alice", ALICE_APP2)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], true);
    assert_eq!(v["revoked"], true);
    assert!(store.app_password("alice").await.unwrap().is_none());
    assert!(
        !works(&nc, "alice", ALICE_APP).await,
        "revoked in Nextcloud"
    );
    assert!(!emu.app_passwords("alice").contains(&ALICE_APP.to_string()));
    assert!(works(&nc, "alice", ALICE_APP2).await);
    let last = store.audit_entries("alice").await.unwrap().pop().unwrap();
    assert_eq!(last.event, "revoked");

    // Rate limit: 5 failures in the window → 429 with Retry-After, even with the right
    // password afterwards.
    for _ in 0..5 {
        let (s, _, _) = api
            .pw(
                Method::GET,
                "dave",
                Some(&basic("dave", "Zzzzz-Zzzzz-Zzzzz-Zzzzz-Zzzzz")),
                None,
            )
            .await;
        assert_eq!(s, 401);
    }
    let (s, h, v) = api
        .pw(Method::GET, "dave", Some(&basic("dave", DAVE_APP)), None)
        .await;
    assert_eq!(s, 429, "{v}");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 3500 && retry <= 3600, "{retry}");
    // Wrong-user requests are refused before they count.
    for _ in 0..8 {
        let (s, _, _) = api
            .pw(Method::GET, "erin", Some(&basic("mallory", ERIN_APP)), None)
            .await;
        assert_eq!(s, 403);
    }
    let (s, _, _) = api
        .pw(Method::GET, "erin", Some(&basic("erin", ERIN_APP)), None)
        .await;
    assert_eq!(s, 200);
    // Successful GETs do not count; successful POSTs do.
    for _ in 0..6 {
        let (s, _, _) = api
            .pw(Method::GET, "erin", Some(&basic("erin", ERIN_APP)), None)
            .await;
        assert_eq!(s, 200);
    }
    for i in 0..5 {
        let (s, _, v) = api
            .pw(
                Method::POST,
                "frank",
                Some(&basic("frank", FRANK_APP)),
                None,
            )
            .await;
        assert_eq!(s, 200, "POST {i}: {v}");
    }
    let (s, h, _) = api
        .pw(
            Method::POST,
            "frank",
            Some(&basic("frank", FRANK_APP)),
            None,
        )
        .await;
    assert_eq!(s, 429);
    assert!(h.contains_key("retry-after"));

    // 500: the credential store fails (its rate-limit table is gone); nothing leaks.
    db.execute("DROP TABLE rate_limit_attempts").await;
    let (s, _, v) = api
        .pw(Method::GET, "bob", Some(&basic("bob", BOB_APP)), None)
        .await;
    assert_eq!(s, 500, "{v}");
    assert!(!v.to_string().contains(BOB_APP));

    db.cleanup().await;
}

#[tokio::test]
async fn app_password_api_sqlite() {
    api(TestDb::sqlite()).await;
}

#[tokio::test]
async fn app_password_api_postgres() {
    if let Some(db) = TestDb::postgres().await {
        api(db).await;
    }
}

/// Passwords this server obtained (Login Flow) are revoked when the REST API replaces or
/// deletes them; a handed-over one that a Login Flow replaces is only forgotten.
async fn obtained_and_handed_over(db: TestDb) {
    let nc = TestNextcloud::start_with(|b| b.app_password("alice", ALICE_APP)).await;
    let Some(emu) = nc.emulator() else {
        println!("skipped: needs the emulator (its Login Flow v2 page is driven by the test)");
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
    let api = Api::new(&srv);
    let store = &srv.multi.store;
    let tok = token(&issuer, &srv.mcp_url, "alice", "notes.read files.read", 600);
    let client =
        common::connect_http(&srv.mcp_url, common::Transport::HttpSession, Some(&tok)).await;
    let login = |args: Value| {
        let client = &client;
        async move {
            let tool = if args.get("add_scopes").is_some() {
                "nc_auth_update_scopes"
            } else {
                "nc_auth_provision_access"
            };
            let o = out(&call_any(client, tool, args).await);
            assert!(
                browser_login(
                    o["login_url"].as_str().unwrap(),
                    "alice",
                    common::EMU_PASSWORD
                )
                .await
            );
            let o = out(&call_any(client, "nc_auth_check_status", json!({})).await);
            assert_eq!(o["status"], "provisioned", "{o}");
        }
    };

    // Obtained by a Login Flow, then replaced through POST: revoked in Nextcloud.
    login(json!({"scopes": ["notes.read"]})).await;
    let obtained = store.app_password("alice").await.unwrap().unwrap();
    assert_eq!(obtained.origin, nextcloud_mcp::db::Origin::LoginFlow);
    assert!(
        emu.app_passwords("alice")
            .contains(&obtained.password.expose().to_string())
    );
    let (s, _, v) = api
        .pw(
            Method::POST,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            Some(json!({"scopes": ["notes.read"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(!works(&nc, "alice", obtained.password.expose()).await);
    assert!(
        !emu.app_passwords("alice")
            .contains(&obtained.password.expose().to_string())
    );

    // Handed over, then replaced by a Login Flow: forgotten only.
    login(json!({"add_scopes": ["files.read"]})).await;
    let second = store.app_password("alice").await.unwrap().unwrap();
    assert_eq!(second.origin, nextcloud_mcp::db::Origin::LoginFlow);
    assert!(works(&nc, "alice", ALICE_APP).await);
    assert!(emu.app_passwords("alice").contains(&ALICE_APP.to_string()));

    // Obtained, then deleted through the API (no `revoke`): revoked in Nextcloud.
    let (s, _, v) = api
        .pw(
            Method::DELETE,
            "alice",
            Some(&basic("alice", ALICE_APP)),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], true);
    assert_eq!(v["revoked"], true, "{v}");
    assert!(!works(&nc, "alice", second.password.expose()).await);
    assert!(
        !emu.app_passwords("alice")
            .contains(&second.password.expose().to_string())
    );
    assert!(works(&nc, "alice", ALICE_APP).await);
    let events: Vec<String> = store
        .audit_entries("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        [
            "provisioned",
            "provisioned",
            "revoked",
            "scopes_changed",
            "forgotten",
            "revoked"
        ]
    );
    let _ = client.cancel().await;
    db.cleanup().await;
}

#[tokio::test]
async fn obtained_and_handed_over_sqlite() {
    obtained_and_handed_over(TestDb::sqlite()).await;
}

#[tokio::test]
async fn obtained_and_handed_over_postgres() {
    if let Some(db) = TestDb::postgres().await {
        obtained_and_handed_over(db).await;
    }
}
