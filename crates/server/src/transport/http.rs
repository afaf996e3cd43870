//! Streamable HTTP on `/mcp`, with the protections a personal server needs: an optional
//! bearer token, Host checks against DNS rebinding and an Origin allow-list.
//!
//! Both protocol generations are served: session-based clients (`2025-11-25` and older) get
//! an `Mcp-Session-Id`; `2026-07-28` clients are served statelessly by rmcp, so replicas need
//! no sticky sessions for them.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::NextcloudMcp;
use crate::auth::{MultiUser, Unauthenticated};
use crate::cli::DeploymentMode;
use crate::config::{HttpSettings, Secret};

/// Serves until `shutdown` resolves, then stops gracefully: it stops accepting connections
/// (a load balancer moves on to another replica), lets the requests in flight finish for at
/// most `settings.shutdown_timeout`, then ends MCP sessions and whatever is still running and
/// returns. `server` is the product's handler or one wrapping it (see [`crate::run_with`]).
pub async fn serve<H>(
    server: H,
    settings: &HttpSettings,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    H: rmcp::ServerHandler + Clone + AsRef<NextcloudMcp>,
{
    let cancel = CancellationToken::new();
    let in_flight = InFlight::default();
    let mut app = router(server, settings, cancel.child_token());
    if crate::telemetry::enabled() {
        app = app.layer(middleware::from_fn(crate::telemetry::trace_request));
    }
    let app = app.layer(middleware::from_fn_with_state(
        in_flight.clone(),
        track_in_flight,
    ));
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "serving MCP over streamable HTTP at http://{addr}/mcp");
    // Answers go out as several small writes (SSE events, then the end of the stream). With
    // Nagle's algorithm the last one waits for the client's delayed ACK, about 40 ms, which a
    // client reading the whole response pays on every call.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let stop_accepting = CancellationToken::new();
    if let Some(port) = settings.metrics_port.filter(|_| settings.metrics) {
        let metrics = tokio::net::TcpListener::bind((addr.ip(), port))
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot listen on {}:{port} for metrics: {e}", addr.ip())
            })?;
        tracing::info!(
            "serving metrics at http://{}/metrics",
            metrics.local_addr()?
        );
        let stop = stop_accepting.clone();
        tokio::spawn(async move {
            let served = axum::serve(metrics, crate::metrics::router())
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    // Connect info gives the authorization server the client address for its per-IP limit.
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop_accepting.clone().cancelled_owned());
    let mut serving = tokio::spawn(serving.into_future());
    tokio::select! {
        done = &mut serving => return Ok(done??),
        () = shutdown => {}
    }
    // The listener closes: new connections are refused, idle keep-alive connections close and
    // busy ones close after their current request.
    stop_accepting.cancel();
    let grace = settings.shutdown_timeout;
    tracing::info!(
        in_flight = in_flight.count(),
        "stopping: no new requests; waiting up to {}s for those in flight",
        grace.as_secs()
    );
    if tokio::time::timeout(grace, in_flight.idle()).await.is_err() {
        tracing::warn!(
            left = in_flight.count(),
            "shutdown timeout reached: ending the requests still in flight"
        );
    }
    // Ends MCP sessions, their event streams and any handler still running.
    cancel.cancel();
    match tokio::time::timeout(Duration::from_secs(2), &mut serving).await {
        Ok(done) => done??,
        Err(_) => serving.abort(),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Counts the requests being answered (until their response body is sent or dropped), so a
/// stopping server knows when it may exit. A session's standalone event stream (`GET /mcp`)
/// is not counted: it lasts as long as the session.
#[derive(Clone, Default)]
struct InFlight(Arc<InFlightInner>);

#[derive(Default)]
struct InFlightInner {
    count: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl InFlight {
    fn enter(&self) -> InFlightGuard {
        self.0.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.count.load(Ordering::Acquire)
    }

    /// Resolves once no request is in flight.
    async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct InFlightGuard(Arc<InFlightInner>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// A response body that holds its request's place in [`InFlight`] until it is sent.
struct GuardedBody {
    inner: axum::body::Body,
    _guard: InFlightGuard,
}

impl http_body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn track_in_flight(
    State(in_flight): State<InFlight>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == axum::http::Method::GET && request.uri().path() == "/mcp" {
        return next.run(request).await;
    }
    let guard = in_flight.enter();
    let (parts, body) = next.run(request).await.into_parts();
    Response::from_parts(
        parts,
        axum::body::Body::new(GuardedBody {
            inner: body,
            _guard: guard,
        }),
    )
}

/// The axum application: `/mcp` plus `/health/live`.
pub fn router<H>(handler: H, settings: &HttpSettings, cancel: CancellationToken) -> Router
where
    H: rmcp::ServerHandler + Clone + AsRef<NextcloudMcp>,
{
    let server = handler.as_ref().clone();
    // A stateless (2026-07-28) request whose handler answers at once gets a plain JSON body
    // instead of a one-event SSE stream: less work on both sides. Handlers that send progress
    // or elicitation first still get a stream.
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(cancel)
        .with_json_response(true);
    // A write of up to WEBDAV_WRITE_MAX_MB arrives base64-encoded in one JSON request.
    let files = &server.state().files;
    let body_limit =
        (files.write_max_bytes.saturating_mul(4) / 3 + 1024 * 1024).max(4 * 1024 * 1024);
    config = config.with_max_request_body_bytes(usize::try_from(body_limit).unwrap_or(usize::MAX));
    if !settings.allowed_hosts.is_empty() {
        let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        hosts.extend(settings.allowed_hosts.iter().cloned());
        config = config.with_allowed_hosts(hosts);
    } else if settings.auth_token.is_some() || server.state().multi.is_some() {
        // A rebinding attacker cannot know the token, so any Host may pass.
        config = config.disable_allowed_hosts();
    }
    config = if settings.allowed_origins.is_empty() {
        // No browser page may drive this server unless explicitly allowed.
        config.enforce_origin_validation()
    } else {
        config.with_allowed_origins(settings.allowed_origins.clone())
    };
    let multi = server.state().multi.clone();
    if let Some(multi) = &multi {
        // Sessions live in the shared database: any replica can serve any session, so a load
        // balancer needs no sticky sessions and a replica's sessions survive it.
        config.session_store = Some(Arc::new(crate::db::sessions::SharedSessions(
            multi.store.clone(),
        )));
    }
    let sessions = Arc::new(LocalSessionManager::default());
    crate::metrics::watch_sessions(&sessions);
    let service = StreamableHttpService::new(move || Ok(handler.clone()), sessions, config);
    let mut mcp = Router::new().nest_service("/mcp", service);
    if let Some(token) = settings.auth_token.clone() {
        mcp = mcp.layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_bearer,
        ));
    }
    if let Some(multi) = multi {
        mcp = mcp
            .layer(middleware::from_fn_with_state(
                (server.clone(), multi.clone()),
                authenticate_user,
            ))
            .merge(crate::api::router(server.clone(), multi.clone()));
        if let Some(authorization_server) = multi.authorization_server.clone() {
            mcp = mcp.merge(authorization_server.router());
        }
        if multi.settings.mode == DeploymentMode::LoginFlow {
            mcp = mcp
                .route(
                    "/.well-known/oauth-protected-resource",
                    get(protected_resource_metadata).with_state(multi.clone()),
                )
                .route(
                    "/.well-known/oauth-protected-resource/{*resource_path}",
                    get(protected_resource_metadata_for_path).with_state(multi),
                );
        }
        return with_metrics(mcp, settings);
    }
    with_metrics(mcp.route("/health/live", get(|| async { "ok" })), settings)
}

/// Adds `/metrics` when it is served on the MCP port (outside the authentication layers).
fn with_metrics(router: Router, settings: &HttpSettings) -> Router {
    if settings.metrics && settings.metrics_port.is_none() {
        router.route("/metrics", get(crate::metrics::endpoint))
    } else {
        router
    }
}

/// RFC 9728 metadata: where to get tokens for this server and which scopes exist.
async fn protected_resource_metadata(State(multi): State<Arc<MultiUser>>) -> Response {
    let issuer = match (&multi.authorization_server, &multi.verifier) {
        (Some(own), _) => Some(own.issuer().to_string()),
        (None, Some(v)) => v.issuer().await.ok(),
        (None, None) => None,
    }
    .unwrap_or_else(|| {
        multi
            .settings
            .oidc_discovery_url
            .as_str()
            .trim_end_matches("/.well-known/openid-configuration")
            .to_string()
    });
    axum::Json(serde_json::json!({
        "resource": multi.settings.resource_url.as_str(),
        "authorization_servers": [issuer],
        "scopes_supported": crate::apps::all_scopes(),
        "bearer_methods_supported": ["header"],
        "resource_name": "Nextcloud MCP server",
    }))
    .into_response()
}

/// RFC 9728's path-suffixed form, `/.well-known/oauth-protected-resource/{resource path}`:
/// `/tools/mcp` when a proxy serves this server under `/tools` (and `/mcp`, the path this
/// server itself serves MCP on). Other paths are not ours.
async fn protected_resource_metadata_for_path(
    State(multi): State<Arc<MultiUser>>,
    axum::extract::Path(resource_path): axum::extract::Path<String>,
) -> Response {
    use crate::auth::authorization_server::well_known_suffix_names;
    let ours = multi.settings.resource_url.path();
    if well_known_suffix_names(&resource_path, ours)
        || well_known_suffix_names(&resource_path, "/mcp")
    {
        protected_resource_metadata(State(multi)).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// The URL of this server's protected-resource metadata, for `WWW-Authenticate`.
fn metadata_url(multi: &MultiUser) -> String {
    let r = &multi.settings.resource_url;
    let origin = r.origin().ascii_serialization();
    format!(
        "{origin}/.well-known/oauth-protected-resource{}",
        r.path().trim_end_matches('/')
    )
}

fn unauthorized(challenge: String, message: &'static str) -> Response {
    let mut resp = (StatusCode::UNAUTHORIZED, message).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// Authenticates each `/mcp` request of the multi-user modes and attaches the [`crate::auth::Caller`]:
/// `Basic user:app-password` (`multi_user_basic`) or an OAuth bearer token (`login_flow`).
/// A bearer token lacking the scope a `tools/call` needs gets 403 `insufficient_scope`.
async fn authenticate_user(
    State((server, multi)): State<(NextcloudMcp, Arc<MultiUser>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let caller = match multi.authenticate(authorization.as_deref()).await {
        Ok(caller) => caller,
        Err(refusal) if multi.settings.mode == DeploymentMode::MultiUserBasic => {
            tracing::debug!(error = %refusal, "request without Basic credentials");
            return unauthorized(
                "Basic realm=\"nextcloud-mcp\", charset=\"UTF-8\"".into(),
                "send `Authorization: Basic` with your Nextcloud login name and an app password\n",
            );
        }
        Err(Unauthenticated::Missing) => {
            let challenge = format!("Bearer resource_metadata=\"{}\"", metadata_url(&multi));
            return unauthorized(challenge, "a bearer token is required\n");
        }
        Err(Unauthenticated::Invalid(e)) => {
            tracing::info!(error = %e, "bearer token refused");
            let challenge = format!("Bearer resource_metadata=\"{}\"", metadata_url(&multi));
            return unauthorized(
                format!("{challenge}, error=\"invalid_token\""),
                "the bearer token is invalid or expired\n",
            );
        }
    };
    if let Some(granted) = caller.token_scopes().cloned() {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
        };
        if let Some(needed) = scope_needed(&server, &bytes)
            && !granted.contains(&needed)
        {
            let challenge = format!(
                "Bearer error=\"insufficient_scope\", scope=\"{needed}\", resource_metadata=\"{}\"",
                metadata_url(&multi)
            );
            let mut resp = (
                StatusCode::FORBIDDEN,
                format!("the token lacks the `{needed}` scope this tool needs\n"),
            )
                .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return resp;
        }
        request = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The scope a JSON-RPC `tools/call` body needs, if it is one: that of the tool called, or
/// in discovery mode of the tool `nc_call_tool` names.
fn scope_needed(server: &NextcloudMcp, body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("method")?.as_str()? != "tools/call" {
        return None;
    }
    let params = value.get("params")?;
    let mut name = params.get("name")?.as_str()?;
    if name == crate::mcp::discover::CALL_TOOL && server.state().discovery.is_some() {
        name = params.get("arguments")?.get("name")?.as_str()?;
    }
    server.state().tools.get(name)?;
    crate::tools::spec::of(name)?.scope.map(str::to_string)
}

async fn require_bearer(
    State(token): State<Arc<Secret>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::bearer_token);
    match presented {
        Some(given) if constant_time_eq(given.as_bytes(), token.expose().as_bytes()) => {
            next.run(request).await
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"nextcloud-mcp\"")],
            "a valid bearer token (MCP_AUTH_TOKEN) is required\n",
        )
            .into_response(),
    }
}

/// Compares without an early exit, so response timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
