//! OpenTelemetry traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the server continues the
//! trace of an incoming `traceparent`, sends the trace context on to Nextcloud, and exports
//! its spans over OTLP/HTTP to `<endpoint>/v1/traces`.
//!
//! The server runs as its own process (the tracing subscriber is process-wide); the OTLP
//! collector is a stub in this test, Nextcloud the emulator, which records the `traceparent`
//! of every request it gets.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use nextcloud_emulator::Emulator;
use serde_json::{Value, json};

const USER: &str = "tracy";
const PASSWORD: &str = "tracy-app-password-0123456789abcdef";
/// The trace the test's client is part of.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// What the collector stub received: request path and body.
type Received = Arc<Mutex<Vec<(String, Option<String>, Bytes)>>>;

async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    async fn record(State(received): State<Received>, request: Request) -> &'static str {
        let path = request.uri().path().to_string();
        let kind = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = axum::body::to_bytes(request.into_body(), 16 << 20)
            .await
            .unwrap_or_default();
        received.lock().unwrap().push((path, kind, body));
        ""
    }
    let app = axum::Router::new()
        .fallback(record)
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

#[tokio::test]
async fn tool_calls_continue_the_callers_trace_into_nextcloud_and_export_spans() {
    let emulator = Emulator::builder()
        .user(USER, PASSWORD)
        .start()
        .await
        .unwrap();
    let base = emulator.base_url();
    let http = reqwest::Client::new();
    let note: Value = http
        .post(format!("{base}/index.php/apps/notes/api/v1/notes"))
        .basic_auth(USER, Some(PASSWORD))
        .json(&json!({"title": "Traced", "content": "follow me", "category": ""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (otlp, received) = collector().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A search index folder of its own: never the home directory's, never another server's.
    let index_dir =
        std::env::temp_dir().join(format!("ncmcp-otel-index-{}-{port}", std::process::id()));
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"))
        .args(["run", "--transport", "streamable-http"])
        .arg(format!("--port={port}"))
        .env("NEXTCLOUD_HOST", &base)
        .env("NEXTCLOUD_USERNAME", USER)
        .env("NEXTCLOUD_PASSWORD", PASSWORD)
        .env("NEXTCLOUD_MCP_SEARCH_INDEX_DIR", &index_dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mcp = format!("http://127.0.0.1:{port}/mcp");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A stateless (2026-07-28) tool call from a client whose own span is CLIENT_SPAN.
    let before = emulator.handle().traceparents().len();
    let answer: Value = get_note(
        &http,
        &mcp,
        1,
        &note["id"],
        Some(format!("00-{TRACE_ID}-{CLIENT_SPAN}-01")),
    )
    .await;
    assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
    assert_eq!(
        answer["result"]["structuredContent"]["content"],
        json!("follow me"),
        "{answer}"
    );

    // Nextcloud got the note request inside the caller's trace, from a span of the server's
    // own (not the client's span id).
    let seen = emulator.handle().traceparents();
    let ours: Vec<&String> = seen[before..]
        .iter()
        .filter(|tp| tp.contains(TRACE_ID))
        .collect();
    assert!(
        !ours.is_empty(),
        "no Nextcloud request carried trace {TRACE_ID}: {seen:?}"
    );
    for tp in &ours {
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "{tp}");
        assert_eq!(parts[1], TRACE_ID, "{tp}");
        assert_ne!(parts[2], CLIENT_SPAN, "{tp}");
        assert_eq!(parts[3], "01", "sampled: {tp}");
    }

    // A call without traceparent starts a trace of its own, also carried into Nextcloud.
    let before = emulator.handle().traceparents().len();
    let answer: Value = get_note(&http, &mcp, 2, &note["id"], None).await;
    assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
    let fresh = emulator.handle().traceparents();
    assert!(
        fresh[before..]
            .iter()
            .any(|tp| tp.starts_with("00-") && !tp.contains(TRACE_ID)),
        "{fresh:?}"
    );

    // On SIGTERM the server stops and sends the spans still buffered.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("the server stops within 30 s")
        .unwrap();
    assert!(exit.success(), "{exit}");
    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "the collector received nothing");
    for (path, kind, body) in &received {
        assert_eq!(path, "/v1/traces");
        assert_eq!(kind.as_deref(), Some("application/x-protobuf"));
        assert!(!body.is_empty());
    }
    // The protobuf carries the trace id as its 16 raw bytes.
    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert!(
        received
            .iter()
            .any(|(_, _, body)| body.windows(16).any(|w| w == trace_id.as_slice())),
        "no exported span belongs to trace {TRACE_ID}"
    );
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&index_dir);
}

/// `nc_notes_get_note` as a stateless (2026-07-28) request, with `traceparent` when given;
/// returns the JSON-RPC answer.
async fn get_note(
    http: &reqwest::Client,
    mcp: &str,
    request_id: u64,
    note_id: &Value,
    traceparent: Option<String>,
) -> Value {
    let mut request = http
        .post(mcp)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "nc_notes_get_note");
    if let Some(tp) = traceparent {
        request = request.header("traceparent", tp);
    }
    request
        .json(&json!({
            "jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {
                "name": "nc_notes_get_note",
                "arguments": {"note_id": note_id},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "io.modelcontextprotocol/clientInfo": {"name": "otel-test", "version": "0"}
                }
            }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
