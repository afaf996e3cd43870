//! The management REST API of the multi-user modes (`/api/v1/...`) and health probes.
//!
//! The app-password routes (`/api/v1/users/{user_id}/...`) let a user (or a Nextcloud app
//! acting for them, such as Astrolabe) store, inspect and delete the app password this server
//! uses for them. Every call authenticates with `Basic user:app-password`, and the password is
//! checked live against Nextcloud (`GET /ocs/v2.php/cloud/user`): a matching user name alone is
//! never trusted. A sliding window of 5 attempts per user per hour, kept in the credential
//! store so replicas share it, limits guessing. The OpenAPI document ([`openapi`]) is generated
//! from the handlers' annotations and types, served at `/api/v1/openapi.json` and committed as
//! `docs/openapi.json` (a test keeps the two equal).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, RefOr, ResponseBuilder, Type};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::NextcloudMcp;
use crate::auth::MultiUser;
use crate::auth::provisioning::{Disposal, Grant, ProvisionError};
use crate::db::{AuditEvent, Origin};

/// Attempts per user per window on the app-password routes.
pub const RATE_LIMIT: i64 = 5;

/// The API's OpenAPI 3.1 document: routes from the handlers' `#[utoipa::path]` annotations,
/// schemas from the types they accept and answer.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "nextcloud-mcp management API",
        description = "Health probes and the app-password API of the multi-user modes \
(`multi_user_basic`, `login_flow`). The app-password routes authenticate with \
`Basic user_id:app-password`; the password is checked live against Nextcloud \
(`GET /ocs/v2.php/cloud/user`). Rate limit: 5 attempts per user per sliding hour, shared by \
replicas; POST counts successes and failures, the other routes failures only; requests whose \
Basic user differs from the path are refused before they count. The search routes Astrolabe \
uses (`/api/v1/search`, `/api/v1/vector-viz/search`, `/api/v1/chunk-context`, \
`/api/v1/vector-sync/*`) take the same credentials as `/mcp`; `/webhooks/nextcloud` takes \
`WEBHOOK_SECRET`.",
    ),
    paths(
        live,
        ready,
        status,
        scopes,
        openapi_document,
        store_app_password,
        app_password_status,
        delete_app_password,
        access,
        update_scopes,
        crate::astrolabe::sync_status,
        crate::astrolabe::purge,
        crate::astrolabe::search,
        crate::astrolabe::viz_search,
        crate::astrolabe::chunk_context,
        crate::astrolabe::webhook
    ),
    components(schemas(ErrorBody, crate::astrolabe::Problem, crate::astrolabe::UnsupportedSearchType)),
    modifiers(&AppPasswordAuth)
)]
struct ApiDoc;

/// The `appPassword` security scheme the authenticated routes name.
struct AppPasswordAuth;

impl Modify for AppPasswordAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "appPassword",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The Nextcloud user id and an app password of that user.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The caller's credentials as `/mcp` takes them: an OAuth access token in `login_flow` (e.g. one Nextcloud's `oidc` app mints for Astrolabe), `Basic` in `multi_user_basic`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "webhookSecret",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`WEBHOOK_SECRET`."))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of this API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.info.license = None;
    doc.info.contact = None;
    doc
}

/// [`openapi`] as the pretty-printed JSON of `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().expect("the document serializes");
    json.push('\n');
    json
}

#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) multi: Arc<MultiUser>,
    pub(crate) nextcloud: nextcloud::Nextcloud,
    /// The search index behind the management search routes (see [`crate::astrolabe`]).
    pub(crate) index: Arc<dyn crate::astrolabe::backend::SearchBackend>,
    /// When the API started serving, for `uptime_seconds`.
    pub(crate) started: std::time::Instant,
    /// Applies webhook changes in the background.
    pub(crate) refresher: Arc<crate::astrolabe::webhook::Refresher>,
}

/// Every route: (method, path, handler). The router is built from this table, and a test
/// checks the table against the OpenAPI document, so neither can drift from the other.
fn table() -> Vec<(Method, &'static str, MethodRouter<ApiState>)> {
    const APP_PASSWORD: &str = "/api/v1/users/{user_id}/app-password";
    let mut table = vec![
        (Method::GET, "/health/live", get(live)),
        (Method::GET, "/health/ready", get(ready)),
        (Method::GET, "/api/v1/status", get(status)),
        (Method::GET, "/api/v1/scopes", get(scopes)),
        (Method::GET, "/api/v1/openapi.json", get(openapi_document)),
        (Method::POST, APP_PASSWORD, post(store_app_password)),
        (Method::GET, APP_PASSWORD, get(app_password_status)),
        (Method::DELETE, APP_PASSWORD, delete(delete_app_password)),
        (Method::GET, "/api/v1/users/{user_id}/access", get(access)),
        (
            Method::PATCH,
            "/api/v1/users/{user_id}/scopes",
            patch(update_scopes),
        ),
    ];
    table.extend(crate::astrolabe::routes());
    table
}

/// The API's routes, health probes included.
pub fn router(server: NextcloudMcp, multi: Arc<MultiUser>) -> Router {
    let state = ApiState {
        multi,
        nextcloud: server.state().nextcloud.clone(),
        index: crate::astrolabe::backend::for_server(&server),
        started: std::time::Instant::now(),
        refresher: Default::default(),
    };
    table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
        .with_state(state)
}

/// Liveness probe
#[utoipa::path(get, path = "/health/live", operation_id = "live",
    responses((status = 200, description = "The process is serving.", body = String, example = "ok")))]
async fn live() -> &'static str {
    "ok"
}

/// Readiness probe: the credential store answers
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", responses(
    (status = 200, description = "Ready.", body = String),
    (status = 503, description = "The credential store does not answer.", body = String),
))]
async fn ready(State(api): State<ApiState>) -> Response {
    if api.multi.store.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "credential store unavailable",
        )
            .into_response()
    }
}

/// `GET /api/v1/status`: what Astrolabe reads to decide what to offer.
#[derive(Serialize, ToSchema)]
struct StatusBody {
    version: &'static str,
    /// `multi_user_basic` or `login_flow`.
    #[schema(example = "login_flow")]
    deployment_mode: &'static str,
    auth_mode: AuthMode,
    database: Health,
    /// Whether a search index is kept (`supported_search_types` says which kinds of search
    /// it serves: `["bm25"]` is keyword search only; with an embedding model configured,
    /// `["semantic", "bm25", "hybrid"]`).
    vector_sync_enabled: bool,
    supported_search_types: Vec<crate::astrolabe::backend::SearchType>,
    /// Subject-access-request cases are not served here.
    sar_available: bool,
    /// There is no reranker: `rerank: true` is refused.
    rerank_available: bool,
    /// Whether `POST /webhooks/nextcloud` is on (`WEBHOOK_SECRET` is set).
    webhooks_enabled: bool,
    uptime_seconds: u64,
    #[schema(example = "1.0")]
    management_api_version: &'static str,
    /// `multi_user_basic` only: the app-password API is available.
    #[serde(skip_serializing_if = "Option::is_none")]
    supports_app_passwords: Option<bool>,
    /// `login_flow` with an external issuer: where its tokens come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc: Option<OidcBody>,
}

/// The external token issuer.
#[derive(Serialize, ToSchema)]
struct OidcBody {
    discovery_url: String,
}

/// How MCP clients authenticate: `oauth` (bearer tokens, `login_flow`) or `multi_user_basic`
/// (Basic app passwords per request), the values Astrolabe knows.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum AuthMode {
    MultiUserBasic,
    Oauth,
}

/// Whether the credential store answers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Health {
    Ok,
    Unavailable,
}

/// Server version, mode, store health and the features Astrolabe may use
#[utoipa::path(get, path = "/api/v1/status", operation_id = "status",
    responses((status = 200, description = "Status.", body = StatusBody)))]
async fn status(State(api): State<ApiState>) -> Response {
    let multi = &api.multi;
    let login_flow = multi.settings.mode == crate::cli::DeploymentMode::LoginFlow;
    let search_types = api.index.search_types();
    axum::Json(StatusBody {
        version: env!("CARGO_PKG_VERSION"),
        deployment_mode: multi.settings.mode.as_str(),
        auth_mode: if login_flow {
            AuthMode::Oauth
        } else {
            AuthMode::MultiUserBasic
        },
        database: if multi.store.ping().await {
            Health::Ok
        } else {
            Health::Unavailable
        },
        vector_sync_enabled: !search_types.is_empty(),
        supported_search_types: search_types,
        sar_available: false,
        rerank_available: false,
        webhooks_enabled: multi.settings.webhook_secret.is_some(),
        uptime_seconds: api.started.elapsed().as_secs(),
        management_api_version: crate::astrolabe::MANAGEMENT_API_VERSION,
        supports_app_passwords: (!login_flow).then_some(true),
        oidc: (login_flow && multi.settings.external_issuer).then(|| OidcBody {
            discovery_url: multi.settings.oidc_discovery_url.to_string(),
        }),
    })
    .into_response()
}

/// `GET /api/v1/scopes`.
#[derive(Serialize, ToSchema)]
struct ScopesBody {
    success: bool,
    /// Every scope, in dot form (`notes.read`); the colon form `notes:read` is accepted on input.
    scopes: Vec<String>,
}

/// Every scope a user can grant
#[utoipa::path(get, path = "/api/v1/scopes", operation_id = "listScopes",
    responses((status = 200, description = "The scopes, sorted.", body = ScopesBody)))]
async fn scopes() -> Response {
    axum::Json(ScopesBody {
        success: true,
        scopes: crate::apps::all_scopes(),
    })
    .into_response()
}

/// This document
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document.", body = Object)))]
async fn openapi_document() -> Response {
    static DOC: std::sync::LazyLock<String> = std::sync::LazyLock::new(openapi_json);
    ([(header::CONTENT_TYPE, "application/json")], DOC.as_str()).into_response()
}

/// The answer to every refused or failed request.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
struct ErrorBody {
    /// Always `false`.
    success: bool,
    error: String,
    /// Every scope that exists, when the request named one that does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_scopes: Option<Vec<String>>,
}

impl ErrorBody {
    fn new(message: impl Into<String>) -> Self {
        Self {
            success: false,
            error: message.into(),
            valid_scopes: None,
        }
    }
}

/// `{"success": false, "error": message}` with a status.
fn failure(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(ErrorBody::new(message))).into_response()
}

/// A refused request body, answered as `400` once the caller is known to be allowed to ask.
struct BadBody(ErrorBody);

impl BadBody {
    fn new(message: &str) -> Self {
        Self(ErrorBody::new(message))
    }

    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, axum::Json(self.0)).into_response()
    }
}

/// How [`authenticate`] refuses a request, in the order it checks; every authenticated
/// route answers these (documentation only: it has no values).
enum AuthFailures {}

impl AuthFailures {
    const ANSWERS: [(u16, &'static str); 6] = [
        (
            400,
            "The password is not shaped like an app password (`^[A-Za-z0-9-]{20,256}$`), or the body or query is invalid.",
        ),
        (
            401,
            "No or malformed `Authorization: Basic` header (with `WWW-Authenticate: Basic`), or Nextcloud rejected the password.",
        ),
        (
            403,
            "The Basic user name differs from `user_id`, or the password belongs to another Nextcloud account.",
        ),
        (429, "More than 5 attempts for this user in the last hour."),
        (500, "The credential store is unavailable."),
        (
            502,
            "Nextcloud could not be reached (or answered with a server error) while checking the password.",
        ),
    ];
}

impl IntoResponses for AuthFailures {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        Self::ANSWERS
            .iter()
            .map(|(status, description)| {
                let mut response = ResponseBuilder::new().description(*description).content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "Error",
                        ))))
                        .build(),
                );
                if *status == 401 {
                    response = response.header(
                        "WWW-Authenticate",
                        utoipa::openapi::HeaderBuilder::new()
                            .description(Some("`Basic realm=\"nextcloud-mcp\", charset=\"UTF-8\"`"))
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    );
                }
                if *status == 429 {
                    response = response.header(
                        "Retry-After",
                        utoipa::openapi::HeaderBuilder::new()
                            .description(Some("Seconds until an attempt leaves the window."))
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::Integer)
                                    .minimum(Some(1)),
                            ))
                            .build(),
                    );
                }
                (status.to_string(), RefOr::T(response.build()))
            })
            .collect()
    }
}

fn store_failure(e: crate::db::StoreError) -> Response {
    tracing::error!(error = %e, "credential store failure in the app-password API");
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the credential store is unavailable; try again later",
    )
}

/// The shape of a Nextcloud app password: the `xxxxx-xxxxx-xxxxx-xxxxx-xxxxx` form the web
/// page shows and the 72-character tokens Login Flow issues (`^[A-Za-z0-9-]{20,256}$`).
pub fn looks_like_app_password(password: &str) -> bool {
    (20..=256).contains(&password.len())
        && password
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether successful authentications count towards the rate limit (POST) or only failures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Count {
    All,
    FailuresOnly,
}

fn bucket(user_id: &str) -> String {
    format!("app_password:{user_id}")
}

/// Checks, in order: a Basic header (401), its user equal to the path (403, not counted, so
/// nobody can use up another user's attempts by naming them), the rate limit (429), the
/// request body (`body_error`, 400, not counted), the app-password shape (400) and the
/// password live against Nextcloud (401, or 403 when it belongs to another account; 502 when
/// Nextcloud cannot tell). Returns the password.
async fn authenticate(
    api: &ApiState,
    headers: &HeaderMap,
    user_id: &str,
    login_name: Option<&str>,
    count: Count,
    body_error: Option<BadBody>,
) -> Result<String, Response> {
    let Some((user, password)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic)
    else {
        let mut resp = failure(
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Basic` with your user id and an app password",
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"nextcloud-mcp\", charset=\"UTF-8\""),
        );
        return Err(resp);
    };
    if user != user_id {
        tracing::info!(path_user = %user_id, "app-password API: user name differs from the path");
        return Err(failure(
            StatusCode::FORBIDDEN,
            "the Basic user name does not match the user in the path",
        ));
    }
    let store = &api.multi.store;
    // The attempt takes its place in the window before the password is checked, so that
    // concurrent attempts (on any replica) cannot all pass a check made before any is counted.
    let attempt = match store
        .reserve_attempt(&bucket(user_id), RATE_LIMIT, crate::db::rate_limit::WINDOW)
        .await
    {
        Ok(Ok(id)) => id,
        Ok(Err(retry_after)) => {
            crate::metrics::rate_limited("app_password");
            tracing::warn!(user_id = %user_id, "app-password API rate limit reached");
            let mut resp = failure(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many attempts; try again in {retry_after} seconds"),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            return Err(resp);
        }
        Err(e) => return Err(store_failure(e)),
    };
    // Attempts that do not count give their place back.
    let release = || async {
        if let Err(e) = store.release_attempt(&attempt).await {
            tracing::error!(error = %e, "cannot release a rate-limit attempt");
        }
    };
    if let Some(bad) = body_error {
        release().await;
        return Err(bad.into_response());
    }
    // A failure stays recorded as the failed attempt it was reserved as.
    let fail = |status: StatusCode, message: &'static str| async move {
        store
            .audit(AuditEvent::AuthFailed, user_id, Some(message))
            .await;
        failure(status, message)
    };
    if !looks_like_app_password(&password) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "the password is not a Nextcloud app password (20-256 letters, digits and dashes)",
        )
        .await);
    }
    let login = login_name.unwrap_or(&user);
    let nc_user = api
        .nextcloud
        .user(nextcloud::Credentials::new(login, password.as_str()));
    match nc_user.current_user().await {
        Ok(me) if me.id == user_id => {}
        Ok(_) => {
            return Err(fail(
                StatusCode::FORBIDDEN,
                "the app password belongs to another Nextcloud account",
            )
            .await);
        }
        Err(nextcloud::Error::Unauthorized { .. } | nextcloud::Error::Forbidden { .. }) => {
            return Err(fail(StatusCode::UNAUTHORIZED, "invalid credentials").await);
        }
        Err(e) => {
            tracing::warn!(error = %e, "app-password API: Nextcloud could not check credentials");
            release().await;
            return Err(failure(
                StatusCode::BAD_GATEWAY,
                "Nextcloud could not be reached to check the credentials; try again later",
            ));
        }
    }
    if count == Count::All {
        if let Err(e) = store.settle_attempt(&attempt).await {
            tracing::error!(error = %e, "cannot record a rate-limit attempt");
        }
    } else {
        release().await;
    }
    Ok(password)
}

/// A JSON body that may be absent; `Err` is the 400 answer.
fn json_body(body: &Bytes) -> Result<Value, BadBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| BadBody::new("the body must be a JSON object"))
}

/// `scopes` of a body: `Ok(None)` when absent or null; canonical scopes otherwise.
fn body_scopes(body: &Value) -> Result<Option<Vec<String>>, BadBody> {
    let raw = match body.get("scopes") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(BadBody::new("`scopes` must be a list of scope names"));
        }
    };
    let mut scopes = std::collections::BTreeSet::new();
    let mut invalid = Vec::new();
    for item in raw {
        match item.as_str().and_then(crate::apps::normalize_scope) {
            Some(s) => {
                scopes.insert(s);
            }
            None => invalid.push(item.to_string()),
        }
    }
    if !invalid.is_empty() {
        return Err(BadBody(ErrorBody {
            valid_scopes: Some(crate::apps::all_scopes()),
            ..ErrorBody::new(format!("invalid scopes: {}", invalid.join(", ")))
        }));
    }
    if scopes.is_empty() {
        return Err(BadBody::new(
            "`scopes` must name at least one scope (omit it for no restriction)",
        ));
    }
    Ok(Some(scopes.into_iter().collect()))
}

/// The body of `POST .../app-password` (optional).
#[derive(Default, ToSchema)]
struct StoreRequest {
    /// Restrict the access to these scopes (dot or colon form); omitted or null = no
    /// restriction. Must not be empty.
    scopes: Option<Vec<String>>,
    /// The Nextcloud login name, when it differs from the user id (checked and stored with
    /// the password).
    username: Option<String>,
}

impl StoreRequest {
    /// Parses and checks a body (absent = no restriction, login name = user id).
    fn parse(body: &Bytes) -> Result<Self, BadBody> {
        let body = json_body(body)?;
        let scopes = body_scopes(&body)?;
        let username = match body.get("username") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(_) => {
                return Err(BadBody::new("`username` must be the Nextcloud login name"));
            }
        };
        Ok(Self { scopes, username })
    }
}

/// The answer of `POST .../app-password`.
#[derive(Serialize, ToSchema)]
struct StoredBody {
    success: bool,
    user_id: String,
    message: String,
    /// The stored restriction; null = none.
    #[schema(required = true)]
    scopes: Option<Vec<String>>,
}

/// Store the caller's app password (the Basic password)
///
/// Optionally restricted to `scopes` and under the Nextcloud login name `username`. The
/// password is stored as handed over: the caller keeps owning it, so deleting or replacing it
/// later only forgets it here (unless DELETE asks `revoke=true`). A password this server had
/// obtained for the user through a Login Flow and that this one replaces is revoked in
/// Nextcloud. The first provisioning binds `user_id` to its Nextcloud account.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/app-password", operation_id = "storeAppPassword",
    params(UserId), security(("appPassword" = [])),
    request_body(content = Option<StoreRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored (replacing any earlier one).", body = StoredBody),
        (status = 409, description = "`user_id` is bound to another Nextcloud account (the one that first gave this server access to it); nothing was stored.", body = ErrorBody),
        AuthFailures,
    ))]
async fn store_app_password(
    State(api): State<ApiState>,
    Path(UserId { user_id }): Path<UserId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ok, body_error) = match StoreRequest::parse(&body) {
        Ok(v) => (Some(v), None),
        Err(resp) => (None, Some(resp)),
    };
    let login_name = ok.as_ref().and_then(|r| r.username.clone());
    let password = match authenticate(
        &api,
        &headers,
        &user_id,
        login_name.as_deref(),
        Count::All,
        body_error,
    )
    .await
    {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let scopes = ok.and_then(|r| r.scopes);
    let login = login_name.unwrap_or_else(|| user_id.clone());
    let shown = scopes.clone().unwrap_or_else(crate::apps::all_scopes);
    let detail = format!("api; scopes={}", shown.join(" "));
    // Handed over: the caller keeps owning it, so it is only forgotten when deleted or
    // replaced; a password this server had obtained for the user and this one replaces is
    // revoked. `authenticate` proved the password is `user_id`'s own account.
    let grant = Grant {
        user_id: &user_id,
        login_name: &login,
        password: &password,
        scopes: scopes.as_deref(),
        origin: Origin::Api,
        account: Some(&user_id),
        required_account: None,
        flow: None,
        event: AuditEvent::Provisioned,
        detail: &detail,
    };
    match api.multi.provisioning.provision(grant).await {
        Ok(_) => {}
        Err(ProvisionError::WrongAccount { expected, .. }) => {
            return failure(
                StatusCode::CONFLICT,
                format!(
                    "{user_id} is bound to the Nextcloud account {expected}, which first gave this server access; a password of {user_id} is not stored for it"
                ),
            );
        }
        Err(ProvisionError::Store(e)) => return store_failure(e),
        Err(e) => {
            tracing::error!(error = %e, "app-password API: provisioning failed");
            return failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the app password could not be stored; try again later",
            );
        }
    }
    tracing::info!(user_id = %user_id, "app password stored through the API");
    axum::Json(StoredBody {
        success: true,
        message: format!("app password stored for {user_id}"),
        user_id,
        scopes,
    })
    .into_response()
}

/// The answer of `GET .../app-password`.
#[derive(Serialize, ToSchema)]
struct PasswordStatusBody {
    success: bool,
    user_id: String,
    has_app_password: bool,
}

/// Whether an app password is stored for the caller
#[utoipa::path(get, path = "/api/v1/users/{user_id}/app-password", operation_id = "getAppPasswordStatus",
    params(UserId), security(("appPassword" = [])),
    responses((status = 200, description = "Status.", body = PasswordStatusBody), AuthFailures))]
async fn app_password_status(
    State(api): State<ApiState>,
    Path(UserId { user_id }): Path<UserId>,
    headers: HeaderMap,
) -> Response {
    if let Err(resp) = authenticate(&api, &headers, &user_id, None, Count::FailuresOnly, None).await
    {
        return resp;
    }
    match api.multi.store.app_password(&user_id).await {
        Ok(stored) => axum::Json(PasswordStatusBody {
            success: true,
            user_id,
            has_app_password: stored.is_some(),
        })
        .into_response(),
        Err(e) => store_failure(e),
    }
}

/// The answer of `DELETE .../app-password`.
#[derive(Serialize, ToSchema)]
struct DeletedBody {
    success: bool,
    user_id: String,
    deleted: bool,
    /// Whether the stored password was revoked in Nextcloud (`DELETE
    /// /ocs/v2.php/core/apppassword`): always tried for a password this server obtained, for a
    /// handed-over one only with `revoke=true`.
    revoked: bool,
    message: &'static str,
}

/// The query of `DELETE .../app-password`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RevokeQuery {
    /// `true`: revoke the stored password in Nextcloud even if it was handed over through
    /// POST. Default `false`.
    revoke: Option<bool>,
}

/// Delete the stored app password (revoked in Nextcloud if this server obtained it, or on request)
///
/// A password this server obtained itself (Login Flow: the `nc_auth_*` tools or the built-in
/// authorization server) is revoked in Nextcloud as well. One handed over through POST is only
/// forgotten here and stays valid in Nextcloud, since whoever handed it over owns it, unless
/// `revoke=true` is given. The user's grants at the built-in authorization server end too.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/app-password", operation_id = "deleteAppPassword",
    params(UserId, RevokeQuery), security(("appPassword" = [])),
    responses((status = 200, description = "Deleted (or nothing was stored).", body = DeletedBody), AuthFailures))]
async fn delete_app_password(
    State(api): State<ApiState>,
    Path(UserId { user_id }): Path<UserId>,
    query: Result<Query<RevokeQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // A bad query is answered only once the caller is known to be allowed to ask.
    let (revoke, body_error) = match query {
        Ok(Query(q)) => (q.revoke.unwrap_or(false), None),
        Err(_) => (false, Some(BadBody::new("`revoke` must be true or false"))),
    };
    if let Err(resp) = authenticate(
        &api,
        &headers,
        &user_id,
        None,
        Count::FailuresOnly,
        body_error,
    )
    .await
    {
        return resp;
    }
    let store = &api.multi.store;
    let removed = match api
        .multi
        .provisioning
        .remove(&user_id, revoke, "api delete")
        .await
    {
        Ok(r) => r,
        Err(e) => return store_failure(e),
    };
    // Clients connected through the built-in authorization server acted with this password:
    // their grants end with it, and so do the person's browser sessions there.
    if let Err(e) = store
        .revoke_user_grants(&user_id, chrono::Utc::now().timestamp())
        .await
    {
        return store_failure(e);
    }
    if let Err(e) = store.delete_browser_sessions(&user_id).await {
        return store_failure(e);
    }
    let (deleted, revoked, message) = match removed {
        None => (false, false, "no app password was stored"),
        Some(Disposal::Revoked) => (true, true, "app password deleted and revoked in Nextcloud"),
        Some(Disposal::RevocationFailed) => (
            true,
            false,
            "app password deleted; revoking it in Nextcloud failed, remove it under Settings → Security",
        ),
        Some(Disposal::Forgotten) => (
            true,
            false,
            "app password forgotten; it was handed to this server, so it stays valid in Nextcloud (add ?revoke=true to revoke it as well)",
        ),
    };
    axum::Json(DeletedBody {
        success: true,
        user_id,
        deleted,
        revoked,
        message,
    })
    .into_response()
}

/// The `user_id` path parameter.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct UserId {
    /// The Nextcloud user id; must equal the Basic user name.
    user_id: String,
}

fn rfc3339(unix: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The answer of `GET .../access`.
#[derive(Serialize, ToSchema)]
struct AccessBody {
    success: bool,
    user_id: String,
    provisioned: bool,
    /// null = no restriction beyond the caller's token.
    #[schema(required = true)]
    scopes: Option<Vec<String>>,
    /// The Nextcloud login name the password is used with.
    #[schema(required = true)]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    updated_at: Option<String>,
}

/// The caller's stored access: scopes, login name, timestamps
#[utoipa::path(get, path = "/api/v1/users/{user_id}/access", operation_id = "getAccess",
    params(UserId), security(("appPassword" = [])),
    responses((status = 200, description = "Access.", body = AccessBody), AuthFailures))]
async fn access(
    State(api): State<ApiState>,
    Path(UserId { user_id }): Path<UserId>,
    headers: HeaderMap,
) -> Response {
    if let Err(resp) = authenticate(&api, &headers, &user_id, None, Count::FailuresOnly, None).await
    {
        return resp;
    }
    match api.multi.store.app_password(&user_id).await {
        Ok(Some(stored)) => axum::Json(AccessBody {
            success: true,
            user_id,
            provisioned: true,
            scopes: stored.scopes,
            username: Some(stored.login_name),
            created_at: rfc3339(stored.created_at),
            updated_at: rfc3339(stored.updated_at),
        })
        .into_response(),
        Ok(None) => axum::Json(AccessBody {
            success: true,
            user_id,
            provisioned: false,
            scopes: None,
            username: None,
            created_at: None,
            updated_at: None,
        })
        .into_response(),
        Err(e) => store_failure(e),
    }
}

/// The body of `PATCH .../scopes`.
#[derive(ToSchema)]
struct ScopesRequest {
    /// The new restriction (dot or colon form); at least one scope.
    scopes: Vec<String>,
}

impl ScopesRequest {
    fn parse(body: &Bytes) -> Result<Self, BadBody> {
        match body_scopes(&json_body(body)?)? {
            Some(scopes) => Ok(Self { scopes }),
            None => Err(BadBody::new(
                "the body must be {\"scopes\": [...]} with at least one scope",
            )),
        }
    }
}

/// The answer of `PATCH .../scopes`.
#[derive(Serialize, ToSchema)]
struct ScopesUpdatedBody {
    success: bool,
    user_id: String,
    scopes: Vec<String>,
    message: &'static str,
}

/// Replace the stored scope restriction (the app password stays)
#[utoipa::path(patch, path = "/api/v1/users/{user_id}/scopes", operation_id = "updateScopes",
    params(UserId), security(("appPassword" = [])),
    request_body(content = ScopesRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated.", body = ScopesUpdatedBody),
        (status = 404, description = "No app password is stored for this user.", body = ErrorBody),
        AuthFailures,
    ))]
async fn update_scopes(
    State(api): State<ApiState>,
    Path(UserId { user_id }): Path<UserId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (scopes, body_error) = match ScopesRequest::parse(&body) {
        Ok(r) => (r.scopes, None),
        Err(resp) => (Vec::new(), Some(resp)),
    };
    if let Err(resp) = authenticate(
        &api,
        &headers,
        &user_id,
        None,
        Count::FailuresOnly,
        body_error,
    )
    .await
    {
        return resp;
    }
    let store = &api.multi.store;
    match store.set_scopes(&user_id, Some(&scopes)).await {
        Ok(true) => {}
        Ok(false) => {
            return failure(
                StatusCode::NOT_FOUND,
                "no app password is stored for this user",
            );
        }
        Err(e) => return store_failure(e),
    }
    store
        .audit(
            AuditEvent::ScopesChanged,
            &user_id,
            Some(&format!("api; scopes={}", scopes.join(" "))),
        )
        .await;
    axum::Json(ScopesUpdatedBody {
        success: true,
        user_id,
        scopes,
        message: "scopes updated",
    })
    .into_response()
}

/// `Basic base64(user:password)` → (user, password); `None` when missing or malformed. The
/// scheme name is case-insensitive (RFC 9110 §11.1).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (!user.is_empty() && !password.is_empty()).then(|| (user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::{looks_like_app_password, openapi_json, parse_basic, table};

    /// `docs/openapi.json` is the generated document; `UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn committed_openapi_is_generated() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let generated = openapi_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("write docs/openapi.json");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the generated document; \
             run `UPDATE_OPENAPI=1 cargo test -p nextcloud-mcp --lib committed_openapi` and commit it"
        );
    }

    /// Every route of the router is documented, and every documented operation is routed.
    #[test]
    fn openapi_matches_the_router() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).expect("JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let paths = doc["paths"].as_object().expect("paths");
        let routed: std::collections::BTreeSet<(String, String)> = table()
            .into_iter()
            .map(|(m, p, _)| (m.as_str().to_ascii_lowercase(), p.to_string()))
            .collect();
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in paths {
            for method in item.as_object().expect("path item").keys() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    documented.insert((method.clone(), path.clone()));
                }
            }
        }
        assert_eq!(routed, documented);
    }

    #[test]
    fn app_password_shape() {
        assert!(looks_like_app_password("Abcde-Fghij-Klmno-Pqrst-Uvwxy"));
        assert!(looks_like_app_password(&"a".repeat(72)));
        assert!(!looks_like_app_password("short-1234"));
        assert!(!looks_like_app_password("has space in it 0123456789"));
        assert!(!looks_like_app_password(&"a".repeat(257)));
    }

    #[test]
    fn basic_header() {
        assert_eq!(
            parse_basic("Basic YWxpY2U6cHc6eA=="),
            Some(("alice".into(), "pw:x".into()))
        );
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Bearer x"), None);
        assert_eq!(parse_basic("Basic YWxpY2U="), None);
        assert_eq!(
            parse_basic("BASIC  YWxpY2U6cHc= "),
            Some(("alice".into(), "pw".into()))
        );
    }
}
