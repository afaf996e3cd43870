//! Prometheus metrics (`--metrics`, docs/OBSERVABILITY.md): one process-wide registry that
//! the parts of the server record into, rendered in the OpenMetrics text format at `/metrics`.
//!
//! Recording is a few atomic operations plus a label lookup, so it is always on; the setting
//! only decides whether the endpoint is served. Label values come from fixed sets (tool names
//! of the catalogue, API names, outcomes), never from what a caller sends.

use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

/// Latency buckets in seconds, 1 ms to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolOutcome {
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Tool {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiStatus {
    app: &'static str,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Api {
    app: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Limit {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

struct Metrics {
    registry: Registry,
    tool_calls: Family<ToolOutcome, Counter>,
    tool_seconds: HistogramFamily<Tool>,
    nextcloud_requests: Family<ApiStatus, Counter>,
    nextcloud_seconds: HistogramFamily<Api>,
    sessions: Gauge,
    store_errors: Family<Operation, Counter>,
    rate_limited: Family<Limit, Counter>,
    login_flows: Family<Outcome, Counter>,
    /// The session managers of the HTTP servers in this process, counted when scraped.
    session_managers: Mutex<Vec<Weak<LocalSessionManager>>>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let tool_calls = Family::<ToolOutcome, Counter>::default();
    registry.register(
        "mcp_tool_calls",
        "Tool calls by tool and outcome (ok, error: the tool answered with an error, failed: a protocol error)",
        tool_calls.clone(),
    );
    let tool_seconds: HistogramFamily<Tool> = Family::new_with_constructor(latency_histogram);
    registry.register(
        "mcp_tool_call_duration_seconds",
        "Time from a tool call's arrival to its answer",
        tool_seconds.clone(),
    );
    let nextcloud_requests = Family::<ApiStatus, Counter>::default();
    registry.register(
        "nextcloud_requests",
        "HTTP requests sent to Nextcloud by API and status (`none`: no answer came)",
        nextcloud_requests.clone(),
    );
    let nextcloud_seconds: HistogramFamily<Api> = Family::new_with_constructor(latency_histogram);
    registry.register(
        "nextcloud_request_duration_seconds",
        "Time until Nextcloud's answer headers arrived, by API",
        nextcloud_seconds.clone(),
    );
    let sessions = Gauge::default();
    registry.register(
        "mcp_active_sessions",
        "Open sessions of session-based (2025-11-25 and older) MCP clients",
        sessions.clone(),
    );
    let store_errors = Family::<Operation, Counter>::default();
    registry.register(
        "credential_store_errors",
        "Failed credential-store (SQLite/PostgreSQL) operations",
        store_errors.clone(),
    );
    let rate_limited = Family::<Limit, Counter>::default();
    registry.register(
        "rate_limit_refusals",
        "Requests refused by a rate limit",
        rate_limited.clone(),
    );
    let login_flows = Family::<Outcome, Counter>::default();
    registry.register(
        "login_flows",
        "Login Flow v2 sign-ins that ended, by outcome",
        login_flows.clone(),
    );
    Metrics {
        registry,
        tool_calls,
        tool_seconds,
        nextcloud_requests,
        nextcloud_seconds,
        sessions,
        store_errors,
        rate_limited,
        login_flows,
        session_managers: Mutex::default(),
    }
});

/// How a tool call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    /// The tool answered with `isError: true`.
    Error,
    /// A protocol error (unknown tool, bad arguments, missing scope).
    Failed,
}

pub fn tool_call(tool: &str, outcome: CallOutcome, elapsed: Duration) {
    let m = &*METRICS;
    let outcome = match outcome {
        CallOutcome::Ok => "ok",
        CallOutcome::Error => "error",
        CallOutcome::Failed => "failed",
    };
    m.tool_calls
        .get_or_create(&ToolOutcome {
            tool: tool.to_string(),
            outcome,
        })
        .inc();
    m.tool_seconds
        .get_or_create(&Tool {
            tool: tool.to_string(),
        })
        .observe(elapsed.as_secs_f64());
}

pub fn store_error(operation: &'static str) {
    METRICS
        .store_errors
        .get_or_create(&Operation { operation })
        .inc();
}

/// A request refused by the limit named `limit` (`app_password`, `client_registration`).
pub fn rate_limited(limit: &'static str) {
    METRICS.rate_limited.get_or_create(&Limit { limit }).inc();
}

/// A Login Flow that ended: `granted`, `denied`, `expired`, `refused` (another account), ...
pub fn login_flow(outcome: &'static str) {
    METRICS
        .login_flows
        .get_or_create(&Outcome { outcome })
        .inc();
}

/// Counts the sessions of `manager` while it lives.
pub fn watch_sessions(manager: &Arc<LocalSessionManager>) {
    let mut managers = METRICS
        .session_managers
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    managers.retain(|m| m.strong_count() > 0);
    managers.push(Arc::downgrade(manager));
}

/// Records every request the Nextcloud client sends.
pub struct NextcloudRequests;

impl nextcloud::RequestObserver for NextcloudRequests {
    fn finished(&self, app: &'static str, status: Option<u16>, elapsed: Duration) {
        let m = &*METRICS;
        let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        m.nextcloud_requests
            .get_or_create(&ApiStatus { app, status })
            .inc();
        m.nextcloud_seconds
            .get_or_create(&Api { app })
            .observe(elapsed.as_secs_f64());
    }
}

/// The observer to put in the Nextcloud client's configuration.
pub fn nextcloud_observer() -> Arc<dyn nextcloud::RequestObserver> {
    Arc::new(NextcloudRequests)
}

/// Every metric in the OpenMetrics text format.
pub async fn render() -> String {
    let m = &*METRICS;
    let managers: Vec<_> = m
        .session_managers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut sessions = 0;
    for manager in managers {
        sessions += manager.sessions.read().await.len();
    }
    m.sessions.set(i64::try_from(sessions).unwrap_or(i64::MAX));
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &m.registry);
    out
}

/// `GET /metrics`.
pub async fn endpoint() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        render().await,
    )
        .into_response()
}

/// The router that serves only `/metrics` (its own port, `--metrics-port`).
pub fn router() -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(endpoint))
}
