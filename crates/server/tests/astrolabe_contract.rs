//! Astrolabe's requests, replayed as its PHP client (`McpServerClient`,
//! `AppPasswordProvisioningService`, the webhook delivery) sends them, against a
//! `login_flow` server whose tokens come from an external issuer (as Nextcloud's `oidc` app
//! mints them for Astrolabe: audience = the server's public URL), checking every field
//! Astrolabe reads in each state it handles: provisioned or not, feature on or off, bad input.
//! Needs the emulator (it issues the users' app passwords and knows who is an administrator).

mod common;
mod multi_common;

use common::TestNextcloud;
use multi_common::{Server, TestDb, start_issuer, start_server_with, token};
use nextcloud_mcp::cli::DeploymentMode;
use nextcloud_mcp::config::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE_APP: &str = "Aaaaa-Bbbbb-Ccccc-Ddddd-Eeeee";
const BOB_APP: &str = "Bbbbb-Bbbbb-Ccccc-Ddddd-Eeeee";
const SECRET: &str = "webhook-secret-0123456789abcdef";

async fn emulator() -> Option<TestNextcloud> {
    let nc = TestNextcloud::start_with(|b| {
        b.user("alice", "alice-login-password-0123456789")
            .user("bob", "bob-login-password-0123456789")
            .admin("alice")
            .app_password("alice", ALICE_APP)
            .app_password("bob", BOB_APP)
    })
    .await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (it issues the test users' app passwords)");
        return None;
    }
    Some(nc)
}

/// A `login_flow` server with an external issuer and, if `secret`, the webhook receiver on.
async fn server(nc: &TestNextcloud, issuer: &str, secret: bool) -> (Server, TestDb) {
    let db = TestDb::sqlite();
    let srv = start_server_with(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(issuer),
        &db,
        None,
        |a| {
            if secret {
                a.webhook_secret = Some(Secret::new(SECRET));
            }
        },
    )
    .await;
    (srv, db)
}

/// A token as Nextcloud's `oidc` app mints it for Astrolabe: audience = the server's public
/// URL (`mcp_server_public_url`, without `/mcp`).
fn astrolabe_token(issuer: &str, srv: &Server, user: &str, scope: &str) -> String {
    token(issuer, &srv.base, user, scope, 600)
}

struct Http {
    base: String,
    http: reqwest::Client,
}

impl Http {
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
        headers: &[(&str, String)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let headers: Vec<_> = token
            .map(|t| ("authorization", format!("Bearer {t}")))
            .into_iter()
            .collect();
        self.send(reqwest::Method::GET, path, &headers, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(t) = token {
            headers.push(("authorization", format!("Bearer {t}")));
        }
        self.send(reqwest::Method::POST, path, &headers, Some(body))
            .await
    }

    /// `AppPasswordProvisioningService::syncToMcp`: Basic uid:app-password, `{"username"}`.
    async fn provision(&self, uid: &str, app_password: &str) {
        use base64::Engine;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{uid}:{app_password}"));
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/users/{uid}/app-password"),
                &[
                    ("authorization", format!("Basic {basic}")),
                    ("content-type", "application/json".into()),
                    ("accept", "application/json".into()),
                ],
                Some(json!({"username": uid})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
    }
}

/// `McpServerClient::searchForUnifiedSearch`'s body.
fn unified(query: &str, algorithm: &str) -> Value {
    json!({
        "query": query, "algorithm": algorithm, "fusion": "rrf", "score_threshold": 0.0,
        "limit": 20, "offset": 0, "include_pca": false, "include_chunks": true,
    })
}

/// `McpServerClient::search`'s body (the search page).
fn viz(query: &str, algorithm: &str) -> Value {
    json!({
        "query": query, "algorithm": algorithm, "limit": 10, "include_pca": true,
        "fusion": "rrf", "granularity": "chunk",
    })
}

async fn add_note(nc: &TestNextcloud, user: &str, app: &str, title: &str, content: &str) -> u64 {
    let client = nextcloud::Nextcloud::new(nc.client_config()).unwrap();
    let u = client.user(nextcloud::Credentials::new(user, app));
    u.notes()
        .create(&nextcloud::notes::NewNote {
            title: title.into(),
            content: content.into(),
            category: "Work".into(),
            favorite: false,
        })
        .await
        .expect("note created")
        .id
}

#[tokio::test]
async fn status_has_every_field_astrolabe_reads() {
    let Some(nc) = emulator().await else { return };
    let issuer = start_issuer().await;
    let (srv, _db) = server(&nc, &issuer, true).await;
    let http = Http::new(&srv);
    // With Nextcloud's request id, as Astrolabe forwards it.
    let (status, s) = http
        .send(
            reqwest::Method::GET,
            "/api/v1/status",
            &[("x-request-id", "nc-req-id-123".into())],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(s["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(s["auth_mode"], "oauth");
    assert_eq!(s["vector_sync_enabled"], true);
    assert_eq!(s["supported_search_types"], json!(["bm25"]));
    assert_eq!(s["sar_available"], false);
    assert_eq!(s["rerank_available"], false);
    assert_eq!(s["webhooks_enabled"], true);
    assert!(s["uptime_seconds"].is_u64(), "{s}");
    assert_eq!(s["management_api_version"], "1.0");
    assert_eq!(
        s["oidc"]["discovery_url"],
        format!("{issuer}/.well-known/openid-configuration")
    );

    // multi_user_basic without a webhook secret.
    let db = TestDb::sqlite();
    let basic = start_server_with(
        &nc.base_url,
        DeploymentMode::MultiUserBasic,
        None,
        &db,
        None,
        |_| {},
    )
    .await;
    let (status, s) = Http::new(&basic).get("/api/v1/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["auth_mode"], "multi_user_basic");
    assert_eq!(s["webhooks_enabled"], false);
    assert_eq!(s["supports_app_passwords"], true);
    assert!(s.get("oidc").is_none());
}

#[tokio::test]
async fn search_chunk_context_and_their_refusals() {
    let Some(nc) = emulator().await else { return };
    let issuer = start_issuer().await;
    let (srv, _db) = server(&nc, &issuer, false).await;
    let http = Http::new(&srv);
    let alice = astrolabe_token(&issuer, &srv, "alice", "openid notes.read");

    // Not provisioned yet: 428 with a message Astrolabe shows.
    let (status, body) = http
        .post("/api/v1/search", Some(&alice), unified("award", "bm25"))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("authorization"))
    );
    let (status, body) = http
        .get(
            "/api/v1/chunk-context?doc_type=note&doc_id=1&start=0&end=10&context=500",
            Some(&alice),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");

    // No token, a token for another audience, an expired one: 401.
    let (status, body) = http
        .post("/api/v1/search", None, unified("award", "bm25"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "Unauthorized");
    let elsewhere = token(
        &issuer,
        "https://other.example.com",
        "alice",
        "notes.read",
        600,
    );
    let (status, _) = http
        .post("/api/v1/search", Some(&elsewhere), unified("award", "bm25"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let expired = token(&issuer, &srv.base, "alice", "notes.read", -3600);
    let (status, _) = http
        .post("/api/v1/search", Some(&expired), unified("award", "bm25"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    http.provision("alice", ALICE_APP).await;
    let id = add_note(
        &nc,
        "alice",
        ALICE_APP,
        "Nominations",
        "Our team lead deserves the leadership award for the migration.",
    )
    .await;
    add_note(&nc, "alice", ALICE_APP, "Groceries", "milk, eggs").await;

    // Unified search.
    let (status, body) = http
        .post(
            "/api/v1/search",
            Some(&alice),
            unified("leadership award", "bm25"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_found"], 1, "{body}");
    assert_eq!(body["algorithm_used"], "bm25");
    let hit = &body["results"][0];
    assert_eq!(hit["id"], id);
    assert_eq!(hit["doc_type"], "note");
    assert_eq!(hit["title"], "Nominations");
    assert!(hit["score"].as_f64().is_some_and(|s| s > 0.0));
    assert!(
        hit["excerpt"]
            .as_str()
            .unwrap()
            .contains("leadership award")
    );
    // A note's path is its category.
    assert_eq!(hit["metadata"]["path"], "Work");
    assert_eq!(hit["path"], "Work");
    assert!(
        hit["metadata"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/apps/notes/note/{id}"))
    );
    let (start, end) = (
        hit["chunk_start_offset"].as_u64().unwrap(),
        hit["chunk_end_offset"].as_u64().unwrap(),
    );
    // The same token with the resource URL as audience also works.
    let resource = token(&issuer, &srv.mcp_url, "alice", "notes.read", 600);
    let (status, body) = http
        .post("/api/v1/search", Some(&resource), unified("milk", "bm25"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"][0]["title"], "Groceries");
    // Empty query: nothing, not an error.
    let (status, body) = http
        .post("/api/v1/search", Some(&alice), unified("", "bm25"))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"results": [], "total_found": 0}))
    );

    // The search page: results and an (empty, keyword search has no embeddings) plot.
    let (status, body) = http
        .post(
            "/api/v1/vector-viz/search",
            Some(&alice),
            viz("award", "bm25"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_documents"], 1);
    assert_eq!(body["results"][0]["id"], id);
    assert_eq!(body["algorithm_used"], "bm25");
    assert_eq!(body["coordinates_3d"], json!([]));
    assert_eq!(body["query_coords"], json!([]));

    // Unsupported search types: 422 as Astrolabe's SearchCapabilities expects.
    for path in ["/api/v1/search", "/api/v1/vector-viz/search"] {
        for algorithm in ["semantic", "hybrid"] {
            let (status, body) = http.post(path, Some(&alice), viz("award", algorithm)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(
                body,
                json!({"error": "unsupported_search_type", "requested": algorithm, "supported_search_types": ["bm25"]})
            );
        }
    }
    let mut reranked = viz("award", "bm25");
    reranked["rerank"] = json!(true);
    let (status, body) = http
        .post("/api/v1/vector-viz/search", Some(&alice), reranked)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "rerank_not_configured");

    // Bad input names the field.
    for (field, value, word) in [
        ("limit", json!(0), "limit"),
        ("limit", json!(101), "limit"),
        ("query", json!(5), "query"),
        ("doc_types", json!("note"), "doc_types"),
        ("include_pca", json!("yes"), "include_pca"),
        ("score_threshold", json!(-1), "score_threshold"),
        ("granularity", json!("document"), "granularity"),
    ] {
        let mut b = unified("award", "bm25");
        b[field] = value;
        let (status, body) = http.post("/api/v1/search", Some(&alice), b).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert!(body["error"].as_str().unwrap().contains(word), "{body}");
    }
    let (status, _) = http
        .send(
            reqwest::Method::POST,
            "/api/v1/search",
            &[("authorization", format!("Bearer {alice}"))],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A token with no read scope may search nothing (the message names the scopes); one
    // that may read files finds no notes among them.
    let no_notes = astrolabe_token(&issuer, &srv, "alice", "openid profile");
    let (status, body) = http
        .post("/api/v1/search", Some(&no_notes), unified("award", "bm25"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("notes.read"));
    let mut files_only = unified("award", "bm25");
    files_only["doc_types"] = json!(["file"]);
    let (status, body) = http
        .post("/api/v1/search", Some(&alice), files_only.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("files.read"));
    let reader = astrolabe_token(&issuer, &srv, "alice", "notes.read files.read");
    let (status, body) = http.post("/api/v1/search", Some(&reader), files_only).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total_found"], 0);

    // The chunk viewer: the passage the result pointed at, with its context.
    let (status, body) = http
        .get(
            &format!("/api/v1/chunk-context?doc_type=note&doc_id={id}&start={start}&end={end}&context=500"),
            Some(&alice),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["chunk_text"], hit["excerpt"]);
    assert_eq!(body["has_more_before"], false);
    assert_eq!(body["chunk_index"], 0);
    assert_eq!(body["total_chunks"], 1);
    assert!(body["page_number"].is_null());
    let (status, body) = http
        .get(
            &format!("/api/v1/chunk-context?doc_type=note&doc_id={id}&start=0&end=4&context=3"),
            Some(&alice),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["chunk_text"], "Our ");
    assert_eq!(body["after_context"], "tea");
    assert_eq!(body["has_more_after"], true);
    // Not indexed / unknown: 404 as the contract pins it.
    for query in [
        "doc_type=file&doc_id=999999&start=0&end=10&context=500",
        "doc_type=note&doc_id=999999&start=0&end=10&context=500",
    ] {
        let (status, body) = http
            .get(&format!("/api/v1/chunk-context?{query}"), Some(&reader))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["success"], false);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("Failed to fetch chunk context for")
        );
    }
    for (query, word) in [
        (
            "doc_type=note&doc_id=1&start=0",
            "Missing required parameters",
        ),
        (
            "doc_type=note&doc_id=abc&start=0&end=1",
            "doc_id must be numeric",
        ),
        ("doc_type=note&doc_id=1&start=x&end=1", "start"),
        ("doc_type=note&doc_id=1&start=5&end=1", "end"),
        (
            "doc_type=note&doc_id=1&start=0&end=1&context=99999",
            "context",
        ),
    ] {
        let (status, body) = http
            .get(&format!("/api/v1/chunk-context?{query}"), Some(&alice))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["success"], false);
        assert!(body["error"].as_str().unwrap().contains(word), "{body}");
    }
}

#[tokio::test]
async fn purge_is_for_administrators_and_empties_the_index() {
    let Some(nc) = emulator().await else { return };
    let issuer = start_issuer().await;
    let (srv, db) = server(&nc, &issuer, false).await;
    let http = Http::new(&srv);
    let alice = astrolabe_token(&issuer, &srv, "alice", "notes.read");
    let bob = astrolabe_token(&issuer, &srv, "bob", "notes.read");

    let (status, _) = http
        .post(
            "/api/v1/vector-sync/purge",
            Some(&bob),
            json!({"doc_types": ["note"]}),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    http.provision("alice", ALICE_APP).await;
    http.provision("bob", BOB_APP).await;
    add_note(&nc, "alice", ALICE_APP, "Plan", "quarterly plan").await;
    add_note(&nc, "bob", BOB_APP, "Plan", "bob's plan").await;
    for t in [&alice, &bob] {
        let (status, body) = http
            .post("/api/v1/search", Some(t), unified("plan", "bm25"))
            .await;
        assert_eq!(
            (status, body["total_found"].clone()),
            (StatusCode::OK, json!(1))
        );
    }
    let (status, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["indexed_documents"], 2);
    assert_eq!(s["pending_documents"], 0);
    assert_eq!(s["status"], "idle");
    // Each user's index is on disk, in a folder of its own.
    let user_folders = || {
        std::fs::read_dir(db.search_dir())
            .map(|d| d.filter(|e| e.as_ref().unwrap().path().is_dir()).count())
            .unwrap_or(0)
    };
    assert_eq!(user_folders(), 2);

    // Bob is no administrator.
    let (status, body) = http
        .post(
            "/api/v1/vector-sync/purge",
            Some(&bob),
            json!({"doc_types": ["note"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["message"], "Administrator privileges required");
    for bad in [
        json!({}),
        json!({"doc_types": "note"}),
        json!({"doc_types": [1]}),
        json!([]),
    ] {
        let (status, body) = http
            .post("/api/v1/vector-sync/purge", Some(&alice), bad)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["message"].as_str().unwrap().contains("doc_types")
                || body["message"].as_str().unwrap().contains("JSON object"),
            "{body}"
        );
    }
    let (status, body) = http
        .post(
            "/api/v1/vector-sync/purge",
            Some(&alice),
            json!({"doc_types": ["note", "file"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"purged": {"note": 2, "file": 0}}));
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(s["indexed_documents"], 0);
    assert_eq!(user_folders(), 0, "the indexes on disk are deleted too");
}

#[tokio::test]
async fn webhooks_need_the_secret_and_mark_notes_for_resync() {
    let Some(nc) = emulator().await else { return };
    let issuer = start_issuer().await;
    let (srv, _db) = server(&nc, &issuer, true).await;
    let http = Http::new(&srv);
    let note_event = json!({
        "event": {
            "node": {"id": 42, "path": "/alice/files/Notes/todo.md"},
            "class": "OCP\\Files\\Events\\Node\\NodeWrittenEvent",
        },
        "user": {"uid": "alice", "displayName": "alice"},
        "time": 1720000000,
    });
    let hook = |secret: Option<&str>, body: Value| {
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(s) = secret {
            headers.push(("authorization", format!("Bearer {s}")));
        }
        let http = &http;
        async move {
            http.send(
                reqwest::Method::POST,
                "/webhooks/nextcloud",
                &headers,
                Some(body),
            )
            .await
        }
    };
    let (status, body) = hook(None, note_event.clone()).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::UNAUTHORIZED, json!("unauthorized"))
    );
    let (status, _) = hook(Some("webhook-secret-0123456789abcdeX"), note_event.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = http
        .send(
            reqwest::Method::POST,
            "/webhooks/nextcloud",
            &[("authorization", format!("Bearer {SECRET}"))],
            None,
        )
        .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::BAD_REQUEST, json!("error"))
    );

    let (status, body) = hook(Some(SECRET), note_event.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"status": "queued", "doc_type": "note", "doc_id": "42", "operation": "index"})
    );
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(
        (s["status"].clone(), s["pending_documents"].clone()),
        (json!("syncing"), json!(1))
    );

    let card = json!({"event": {"class": "OCA\\Deck\\Event\\CardUpdatedEvent", "card": {"id": 5}},
        "user": {"uid": "alice"}, "time": 1});
    let (status, body) = hook(Some(SECRET), card).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"status": "queued", "doc_type": "deck_card", "doc_id": "5", "operation": "index"})
        )
    );
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(s["pending_documents"], 2);
    // Events of no interest are acknowledged.
    let other = json!({"event": {"class": "OCP\\User\\Events\\UserLoggedInEvent"}, "user": {"uid": "alice"}});
    let (status, body) = hook(Some(SECRET), other).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("ignored"))
    );

    // Alice's next search of notes synchronises them; the card waits for a search of Deck.
    http.provision("alice", ALICE_APP).await;
    let alice = astrolabe_token(&issuer, &srv, "alice", "notes.read");
    let (status, _) = http
        .post("/api/v1/search", Some(&alice), unified("todo", "bm25"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(
        (s["status"].clone(), s["pending_documents"].clone()),
        (json!("syncing"), json!(1))
    );
    let alice = astrolabe_token(&issuer, &srv, "alice", "notes.read deck.read");
    let (status, _) = http
        .post("/api/v1/search", Some(&alice), unified("todo", "bm25"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(
        (s["status"].clone(), s["pending_documents"].clone()),
        (json!("idle"), json!(0))
    );

    // Without WEBHOOK_SECRET the receiver is off.
    let (off, _db2) = server(&nc, &issuer, false).await;
    let (status, body) = Http::new(&off)
        .send(
            reqwest::Method::POST,
            "/webhooks/nextcloud",
            &[("authorization", format!("Bearer {SECRET}"))],
            Some(note_event),
        )
        .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, json!("unavailable"))
    );
}

/// A `login_flow` server with the webhook receiver on, a sync interval of an hour (so only
/// a webhook can explain a change showing up) and, with `model`, that embedding model.
async fn slow_sync_server(
    nc: &TestNextcloud,
    issuer: &str,
    model: Option<std::path::PathBuf>,
) -> (Server, TestDb) {
    let db = TestDb::sqlite();
    let srv = start_server_with(
        &nc.base_url,
        DeploymentMode::LoginFlow,
        Some(issuer),
        &db,
        None,
        |a| {
            a.webhook_secret = Some(Secret::new(SECRET));
            a.search_sync_interval = std::time::Duration::from_secs(3600);
            a.embedding_model_path = model;
        },
    )
    .await;
    (srv, db)
}

const CAT: &str = "My cat sleeps on the windowsill all afternoon and purrs when I stroke her.";
const TAX: &str =
    "Quarterly tax report: gather the receipts and send the VAT return to the accountant.";

#[tokio::test]
async fn semantic_and_hybrid_search_with_an_embedding_model() {
    let Some(model) = common::embedding_model_dir() else {
        return;
    };
    let Some(nc) = emulator().await else { return };
    let issuer = start_issuer().await;
    let (srv, _db) = slow_sync_server(&nc, &issuer, Some(model)).await;
    let http = Http::new(&srv);

    let (status, s) = http.get("/api/v1/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["vector_sync_enabled"], true);
    assert_eq!(
        s["supported_search_types"],
        json!(["semantic", "bm25", "hybrid"])
    );

    http.provision("alice", ALICE_APP).await;
    let alice = astrolabe_token(&issuer, &srv, "alice", "openid notes.read");
    let cat = add_note(&nc, "alice", ALICE_APP, "Pets", CAT).await;
    let tax = add_note(&nc, "alice", ALICE_APP, "Finance", TAX).await;
    // Long enough for several chunks; the last one is about bicycles.
    let long_text = format!(
        "{} Finally, my bicycle needs new brakes and a fresh chain before the summer ride.",
        "The committee discussed the budget for the next meeting at length. ".repeat(30)
    );
    let long = add_note(&nc, "alice", ALICE_APP, "Minutes", &long_text).await;

    // Semantic: by meaning alone (no word of the query is in the note).
    let (status, body) = http
        .post(
            "/api/v1/search",
            Some(&alice),
            unified("a kitten napping near the window", "semantic"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["algorithm_used"], "semantic");
    let top = &body["results"][0];
    assert_eq!(top["id"], cat, "{body}");
    assert_eq!(top["doc_type"], "note");
    assert_eq!(top["title"], "Pets");
    assert_eq!(top["excerpt"], CAT);
    assert_eq!(
        (top["chunk_index"].clone(), top["total_chunks"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(top["chunk_start_offset"], 0);
    assert_eq!(top["chunk_end_offset"], CAT.chars().count());
    assert_eq!(top["metadata"]["path"], "Work");
    let similarity = top["score"].as_f64().unwrap();
    assert!((0.2..=1.0).contains(&similarity), "{body}");

    // Hybrid: the fused ranking; a passage deep in the long note comes with its place.
    let (status, body) = http
        .post(
            "/api/v1/search",
            Some(&alice),
            unified("bicycle brakes and chain", "hybrid"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["algorithm_used"], "hybrid");
    let hit = &body["results"][0];
    assert_eq!(hit["id"], long, "{body}");
    let (index, total) = (
        hit["chunk_index"].as_u64().unwrap(),
        hit["total_chunks"].as_u64().unwrap(),
    );
    assert!(total > 1 && index == total - 1, "{hit}");
    let (start, end) = (
        hit["chunk_start_offset"].as_u64().unwrap() as usize,
        hit["chunk_end_offset"].as_u64().unwrap() as usize,
    );
    let chunk: String = long_text.chars().skip(start).take(end - start).collect();
    assert_eq!(hit["excerpt"], chunk.as_str());
    assert!(chunk.contains("bicycle"));

    // The chunk viewer finds that passage and its place among the note's chunks.
    let (status, body) = http
        .get(
            &format!("/api/v1/chunk-context?doc_type=note&doc_id={long}&start={start}&end={end}&context=100"),
            Some(&alice),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["chunk_text"], chunk.as_str());
    assert_eq!(body["chunk_index"], index);
    assert_eq!(body["total_chunks"], total);
    assert_eq!(body["has_more_before"], true);
    assert_eq!(
        body["before_context"].as_str().unwrap().chars().count(),
        100
    );

    // Semantic leaves out passages unrelated to the query (similarity below 0).
    let (status, body) = http
        .post(
            "/api/v1/vector-viz/search",
            Some(&alice),
            viz("pets and animals at home", "semantic"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["algorithm_used"], "semantic");
    assert_eq!(body["results"][0]["id"], cat);
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["score"].as_f64().is_some_and(|s| s >= 0.0))
    );
    // The search page: every result and the query on the results' principal axes.
    let (status, body) = http
        .post(
            "/api/v1/vector-viz/search",
            Some(&alice),
            viz("pets and animals at home", "hybrid"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["algorithm_used"], "hybrid");
    let results = body["results"].as_array().unwrap();
    // Passages of all three notes, the cat's first.
    assert!(results.len() >= 3, "{body}");
    assert_eq!(results[0]["id"], cat);
    assert!(results.iter().any(|r| r["id"] == tax));
    let coords = body["coordinates_3d"].as_array().unwrap();
    assert_eq!(coords.len(), results.len());
    for c in coords {
        let c = c.as_array().unwrap();
        assert_eq!(c.len(), 3);
        assert!(c.iter().all(|x| x.as_f64().is_some_and(f64::is_finite)));
    }
    // Three distinct notes are three distinct points, spread on the first axis.
    let xs: Vec<f64> = coords.iter().map(|c| c[0].as_f64().unwrap()).collect();
    assert!(xs.iter().any(|x| x.abs() > 1e-3), "{body}");
    let q = body["query_coords"].as_array().unwrap();
    assert_eq!(q.len(), 3);
    assert!(q.iter().any(|x| x.as_f64().unwrap().abs() > 1e-4), "{body}");
    let variance: Vec<f64> = body["pca_variance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(variance[0] >= variance[1] && variance[0] > 0.0, "{body}");
    assert!(variance.iter().sum::<f64>() <= 1.0 + 1e-3);
    // Hybrid has coordinates too; bm25 still has none.
    let (_, body) = http
        .post(
            "/api/v1/vector-viz/search",
            Some(&alice),
            viz("tax receipts", "hybrid"),
        )
        .await;
    assert_eq!(body["results"][0]["id"], tax, "{body}");
    assert_eq!(
        body["coordinates_3d"].as_array().map(Vec::len),
        body["results"].as_array().map(Vec::len)
    );
    let (_, body) = http
        .post(
            "/api/v1/vector-viz/search",
            Some(&alice),
            viz("tax", "bm25"),
        )
        .await;
    assert_eq!(body["algorithm_used"], "bm25");
    assert_eq!(body["coordinates_3d"], json!([]));
    // No algorithm: the best there is.
    let mut best = viz("tax", "hybrid");
    best.as_object_mut().unwrap().remove("algorithm");
    let (_, body) = http
        .post("/api/v1/vector-viz/search", Some(&alice), best)
        .await;
    assert_eq!(body["algorithm_used"], "hybrid");
    // A type the token may not read is still refused.
    let mut files = unified("cat", "semantic");
    files["doc_types"] = json!(["file"]);
    let (status, _) = http.post("/api/v1/search", Some(&alice), files).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Polls a search until `found(total)` holds (30 s at most: embedding is slow on a busy
/// machine); returns the last body.
async fn search_until(
    http: &Http,
    token: &str,
    query: &str,
    algorithm: &str,
    found: impl Fn(u64) -> bool,
) -> Value {
    let mut body = Value::Null;
    for _ in 0..300 {
        let (status, b) = http
            .post("/api/v1/search", Some(token), unified(query, algorithm))
            .await;
        assert_eq!(status, StatusCode::OK, "{b}");
        body = b;
        if found(body["total_found"].as_u64().unwrap_or(0)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    body
}

async fn webhook_updates_the_index_at_once(model: Option<std::path::PathBuf>) {
    let Some(nc) = emulator().await else { return };
    let issuer = start_issuer().await;
    let semantic = model.is_some();
    let (srv, _db) = slow_sync_server(&nc, &issuer, model).await;
    let http = Http::new(&srv);
    http.provision("alice", ALICE_APP).await;
    let alice = astrolabe_token(&issuer, &srv, "alice", "openid notes.read");
    let id = add_note(
        &nc,
        "alice",
        ALICE_APP,
        "Travel",
        "A plan for the original trip.",
    )
    .await;
    // The first search builds alice's index.
    let body = search_until(&http, &alice, "original trip", "bm25", |n| n == 1).await;
    assert_eq!(body["results"][0]["id"], id, "{body}");

    // Changed in Nextcloud: with an hour between syncs, the index does not know yet.
    let client = nextcloud::Nextcloud::new(nc.client_config()).unwrap();
    let notes = client.user(nextcloud::Credentials::new("alice", ALICE_APP));
    let notes = notes.notes();
    notes
        .update(
            id,
            &nextcloud::notes::NoteChanges {
                content: Some("Sail to Zanzibar harbour in the dry season.".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let (_, body) = http
        .post("/api/v1/search", Some(&alice), unified("zanzibar", "bm25"))
        .await;
    assert_eq!(body["total_found"], 0, "no sync was due: {body}");

    let hook = |class: &str| {
        json!({
            "event": {
                "class": class,
                "node": {"id": id, "path": "/alice/files/Notes/Work/Travel.md"},
            },
            "user": {"uid": "alice", "displayName": "alice"},
            "time": 1720000000,
        })
    };
    let send = |body: Value| {
        let http = &http;
        async move {
            http.send(
                reqwest::Method::POST,
                "/webhooks/nextcloud",
                &[
                    ("authorization", format!("Bearer {SECRET}")),
                    ("content-type", "application/json".into()),
                ],
                Some(body),
            )
            .await
        }
    };
    let started = std::time::Instant::now();
    let (status, body) = send(hook("OCP\\Files\\Events\\Node\\NodeWrittenEvent")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "queued");
    let body = search_until(&http, &alice, "zanzibar", "bm25", |n| n == 1).await;
    assert_eq!(
        body["results"][0]["id"], id,
        "the webhook re-indexed the note: {body}"
    );
    let (_, body) = http
        .post("/api/v1/search", Some(&alice), unified("original", "bm25"))
        .await;
    assert_eq!(body["total_found"], 0, "the old text is gone: {body}");
    if semantic {
        // The semantic index took the new version in too.
        let body = search_until(&http, &alice, "island port voyage", "hybrid", |n| n >= 1).await;
        assert_eq!(body["results"][0]["id"], id, "{body}");
        assert!(
            body["results"][0]["excerpt"]
                .as_str()
                .unwrap()
                .contains("Zanzibar")
        );
    }
    println!(
        "a webhook's change was searchable after {:?}",
        started.elapsed()
    );
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(
        (s["status"].clone(), s["pending_documents"].clone()),
        (json!("idle"), json!(0))
    );

    // Deleted: the delete event removes it from the index at once.
    notes.delete(id).await.unwrap();
    let (status, body) = send(hook("OCP\\Files\\Events\\Node\\NodeDeletedEvent")).await;
    assert_eq!(
        (status, body["operation"].clone()),
        (StatusCode::OK, json!("delete"))
    );
    let body = search_until(&http, &alice, "zanzibar", "bm25", |n| n == 0).await;
    assert_eq!(body["total_found"], 0, "{body}");
    if semantic {
        let body = search_until(&http, &alice, "zanzibar harbour", "hybrid", |n| n == 0).await;
        assert_eq!(body["total_found"], 0, "{body}");
    }

    // An event for a user without an index yet stays pending for that user's first search.
    let bob_event = json!({
        "event": {"class": "OCP\\Files\\Events\\Node\\NodeWrittenEvent",
            "node": {"id": 77, "path": "/bob/files/Notes/x.md"}},
        "user": {"uid": "bob"}, "time": 1,
    });
    let (status, _) = send(bob_event).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, s) = http.get("/api/v1/vector-sync/status", None).await;
    assert_eq!(s["pending_documents"], 1, "{s}");
}

#[tokio::test]
async fn webhooks_update_the_keyword_index_at_once() {
    webhook_updates_the_index_at_once(None).await;
}

#[tokio::test]
async fn webhooks_update_the_semantic_index_at_once() {
    let Some(model) = common::embedding_model_dir() else {
        return;
    };
    webhook_updates_the_index_at_once(Some(model)).await;
}
