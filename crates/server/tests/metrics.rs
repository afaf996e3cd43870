//! Prometheus metrics at `/metrics`: tool calls by tool and outcome with latency, Nextcloud
//! requests by API and status, active sessions, rate-limit refusals and store errors; served
//! only when configured, on the MCP port or a port of its own.
//!
//! The registry is process-wide, so the tests compare values before and after what they do.

mod common;
mod multi_common;

use common::*;
use nextcloud_mcp::cli::{DeploymentMode, RunArgs};
use nextcloud_mcp::config::Config;
use serde_json::json;

/// The server for `nc` (single user) with `extra` flags, on a free port; returns its base URL.
async fn serve(nc: &TestNextcloud, extra: &[&str]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut flags = vec![
        "--transport=streamable-http".to_string(),
        format!("--port={}", addr.port()),
        format!("--nextcloud-host={}", nc.base_url),
        format!("--nextcloud-username={}", nc.username),
        format!("--nextcloud-password={}", nc.password),
        format!("--search-index-dir={}", common::fresh_index_dir().display()),
    ];
    flags.extend(extra.iter().map(|s| s.to_string()));
    let config = Config::resolve(RunArgs::from_flags(flags).unwrap()).unwrap();
    let server = nextcloud_mcp::build_server(&config).unwrap();
    tokio::spawn(async move {
        let _ = nextcloud_mcp::transport::http::serve(
            server,
            &config.http,
            listener,
            std::future::pending(),
        )
        .await;
    });
    format!("http://{addr}")
}

async fn scrape(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    resp.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as exposed), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn tool_calls_and_nextcloud_requests_are_counted() {
    let nc = TestNextcloud::start().await;
    let base = serve(&nc, &["--metrics"]).await;
    let metrics = format!("{base}/metrics");
    let before = scrape(&metrics).await;

    let session = connect_http(&format!("{base}/mcp"), Transport::HttpSession, None).await;
    let stateless = connect_http(&format!("{base}/mcp"), Transport::HttpStateless, None).await;
    let note = call_ok(
        &stateless,
        "nc_notes_create_note",
        json!({"title": "Metrics", "content": "counted", "category": unique_category("metrics")}),
    )
    .await;
    let id = note["id"].as_u64().unwrap();
    call_ok(&session, "nc_notes_get_note", json!({"note_id": id})).await;
    call_ok(&stateless, "nc_notes_get_note", json!({"note_id": id})).await;
    call_err(
        &session,
        "nc_notes_get_note",
        json!({"note_id": 999_999_999}),
    )
    .await;
    let after = scrape(&metrics).await;

    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta(r#"mcp_tool_calls_total{tool="nc_notes_get_note",outcome="ok"}"#),
        2.0,
        "{after}"
    );
    assert_eq!(
        delta(r#"mcp_tool_calls_total{tool="nc_notes_get_note",outcome="error"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"mcp_tool_calls_total{tool="nc_notes_create_note",outcome="ok"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"mcp_tool_call_duration_seconds_count{tool="nc_notes_get_note"}"#),
        3.0
    );
    assert!(
        after.contains(
            r#"mcp_tool_call_duration_seconds_bucket{le="0.001",tool="nc_notes_get_note"}"#
        ) || after.contains(
            r#"mcp_tool_call_duration_seconds_bucket{tool="nc_notes_get_note",le="0.001"}"#
        ),
        "histogram buckets: {after}"
    );
    if nc.emulator().is_some() {
        // A 200 at least per read (the create may be followed by a read), a 404 for the missing note.
        assert!(delta(r#"nextcloud_requests_total{app="notes",status="200"}"#) >= 3.0);
        assert_eq!(
            delta(r#"nextcloud_requests_total{app="notes",status="404"}"#),
            1.0
        );
        assert!(delta(r#"nextcloud_request_duration_seconds_count{app="notes"}"#) >= 4.0);
    }
    // The session client holds one session open (the stateless one none).
    assert!(value(&after, "mcp_active_sessions") >= 1.0, "{after}");
    session.cancel().await.unwrap();
    stateless.cancel().await.unwrap();
}

#[tokio::test]
async fn metrics_are_served_only_when_configured_and_where_configured() {
    let nc = TestNextcloud::start().await;
    let off = serve(&nc, &[]).await;
    let resp = reqwest::get(format!("{off}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 404, "no metrics without --metrics");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let own = serve(&nc, &[&format!("--metrics-port={port}")]).await;
    let resp = reqwest::get(format!("{own}/metrics")).await.unwrap();
    assert_eq!(
        resp.status(),
        404,
        "not on the MCP port when it has its own"
    );
    let mut text = None;
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
            text = Some(r.text().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let text = text.expect("metrics port answers");
    assert!(text.contains("# TYPE mcp_active_sessions gauge"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

#[tokio::test]
async fn rate_limit_refusals_and_store_errors_are_counted() {
    use multi_common::*;
    let nc = TestNextcloud::start_with(|b| b.app_password("alice", ALICE_APP)).await;
    if nc.emulator().is_none() {
        println!("skipped: needs the emulator's test users");
        return;
    }
    let db = TestDb::sqlite();
    let srv = start_server_with(
        &nc.base_url,
        DeploymentMode::MultiUserBasic,
        None,
        &db,
        None,
        |a| a.metrics = true,
    )
    .await;
    let metrics = format!("{}/metrics", srv.base);
    let before = scrape(&metrics).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/users/alice/app-password", srv.base);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let resp = http
            .get(&url)
            .basic_auth("alice", Some("Zzzzz-Zzzzz-Zzzzz-Zzzzz-Zzzzz"))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    db.execute("DROP TABLE rate_limit_attempts").await;
    let resp = http
        .get(&url)
        .basic_auth("alice", Some(ALICE_APP))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let after = scrape(&metrics).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta(r#"rate_limit_refusals_total{limit="app_password"}"#),
        2.0,
        "{after}"
    );
    assert!(
        delta(r#"credential_store_errors_total{operation="reserve attempt"}"#) >= 1.0,
        "{after}"
    );
    db.cleanup().await;
}

const ALICE_APP: &str = "Aaaaa-Mmmmm-Ccccc-Ddddd-Eeeee";
