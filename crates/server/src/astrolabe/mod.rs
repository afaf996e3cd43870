//! The management endpoints the Astrolabe Nextcloud app calls, besides the app-password API
//! and `/api/v1/status` (in [`crate::api`]): search (`POST /api/v1/search` for Nextcloud's
//! unified search, `POST /api/v1/vector-viz/search` with a 3-D PCA plot of the results),
//! `GET /api/v1/chunk-context`, `POST /api/v1/vector-sync/purge`, the public
//! `GET /api/v1/vector-sync/status`, and `POST /webhooks/nextcloud`, which Nextcloud calls
//! when documents change. Paths, fields and status codes are those Astrolabe sends and reads.
//!
//! The authenticated routes take the same credentials as `/mcp` ([`MultiUser::authenticate`]):
//! a bearer token in `login_flow` (Astrolabe mints one per user with Nextcloud's `oidc` app),
//! `Basic` in `multi_user_basic`. A bearer caller who has not given this server an app
//! password yet gets `428` with a message, which Astrolabe turns into "complete
//! authorization". The index behind them is a [`backend::SearchBackend`].

// Handlers answer refusals as ready `Response`s from their checks, like `crate::api` does.
#![allow(clippy::result_large_err)]

pub mod backend;
pub mod pca;
pub mod webhook;

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Query as QueryString, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use nextcloud::NextcloudUser;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::ApiState;
use crate::auth::{Caller, MultiUser, Unauthenticated};
use backend::{Found, Hit, SearchType};

/// The version of this management API Astrolabe is told (`management_api_version`).
pub const MANAGEMENT_API_VERSION: &str = "1.0";

/// The routes of this module: (method, path, handler), merged into the API's table.
pub(crate) fn routes() -> Vec<(Method, &'static str, MethodRouter<ApiState>)> {
    vec![
        (Method::GET, "/api/v1/vector-sync/status", get(sync_status)),
        (Method::POST, "/api/v1/vector-sync/purge", post(purge)),
        (Method::POST, "/api/v1/search", post(search)),
        (Method::POST, "/api/v1/vector-viz/search", post(viz_search)),
        (Method::GET, "/api/v1/chunk-context", get(chunk_context)),
        (Method::POST, "/webhooks/nextcloud", post(webhook)),
    ]
}

/// A refused or failed request. `success: false` only on chunk-context, as Astrolabe's
/// viewer reads it there.
#[derive(Serialize, ToSchema)]
pub(crate) struct Problem {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
}

fn problem(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    let body = Problem {
        error: error.to_string(),
        message: Some(message.into()),
        success: None,
    };
    (status, axum::Json(body)).into_response()
}

/// `422`: a query type this server cannot serve; `supported_search_types` says which it can.
#[derive(Serialize, ToSchema)]
pub(crate) struct UnsupportedSearchType {
    /// Always `unsupported_search_type`.
    error: &'static str,
    requested: Option<String>,
    supported_search_types: Vec<SearchType>,
}

/// The caller's Nextcloud access, as the authenticated routes need it.
struct Authorized {
    user_id: String,
    user: NextcloudUser,
    /// Effective scopes (token ∩ stored); `None` = unrestricted.
    scopes: Option<std::collections::BTreeSet<String>>,
}

const NOT_PROVISIONED: &str = "This server has no Nextcloud app password for you yet. Complete the authorization in Astrolabe's personal settings (or call nc_auth_provision_access from an MCP client), then retry.";

/// Checks the credentials (401) and that the caller has provisioned access (428).
async fn authorize(api: &ApiState, headers: &HeaderMap) -> Result<Authorized, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let multi: &MultiUser = &api.multi;
    let caller = match multi.authenticate(authorization).await {
        Ok(caller) => caller,
        Err(e) => {
            let message = match e {
                Unauthenticated::Missing
                    if multi.settings.mode == crate::cli::DeploymentMode::MultiUserBasic =>
                {
                    "send `Authorization: Basic` with your Nextcloud login name and an app password"
                        .to_string()
                }
                Unauthenticated::Missing => "a bearer token is required".to_string(),
                Unauthenticated::Invalid(e) => {
                    tracing::info!(error = %e, "management API: bearer token refused");
                    "the bearer token is invalid or expired".to_string()
                }
            };
            return Err(problem(StatusCode::UNAUTHORIZED, "Unauthorized", message));
        }
    };
    match caller {
        Caller::Basic {
            user_id,
            credentials,
        } => Ok(Authorized {
            user_id,
            user: api.nextcloud.user(credentials),
            scopes: None,
        }),
        Caller::Bearer { user_id, scopes } => match multi.store.app_password(&user_id).await {
            Ok(Some(stored)) => Ok(Authorized {
                user: api.nextcloud.user(stored.credentials()),
                scopes: crate::auth::effective_scopes(Some(&scopes), stored.scopes.as_deref()),
                user_id,
            }),
            Ok(None) => Err(problem(
                StatusCode::PRECONDITION_REQUIRED,
                "Provisioning required",
                NOT_PROVISIONED,
            )),
            Err(e) => {
                tracing::error!(error = %e, "credential store failure in the management API");
                Err(problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the credential store is unavailable; try again later",
                ))
            }
        },
    }
}

/// A Nextcloud failure while serving a request: 401 when Nextcloud refused the caller's
/// credentials, else 502; the message is the client's, which never carries a credential.
fn nextcloud_failure(e: &backend::BackendError) -> Response {
    if let backend::BackendError::Nextcloud(nextcloud::Error::Unauthorized { .. }) = e {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Nextcloud refused the stored credentials; provision access again",
        );
    }
    tracing::warn!(error = %e, "management API: the index or Nextcloud failed");
    let status = match e {
        backend::BackendError::Nextcloud(_) => StatusCode::BAD_GATEWAY,
        backend::BackendError::Index(_) => StatusCode::INTERNAL_SERVER_ERROR,
        backend::BackendError::Embedding(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    problem(status, "Search failed", e.to_string())
}

/// The read scope a document type needs.
fn scope_of(doc_type: &str) -> Option<&'static str> {
    backend::kind_of(doc_type).map(|k| k.read_scope())
}

/// `GET /api/v1/vector-sync/status`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SyncStatusBody {
    /// `syncing` while changes announced by webhooks wait to be indexed, else `idle`.
    status: &'static str,
    indexed_documents: u64,
    pending_documents: u64,
}

/// Indexing figures over every user (public, like Astrolabe expects)
#[utoipa::path(get, path = "/api/v1/vector-sync/status", operation_id = "vectorSyncStatus",
    responses(
        (status = 200, description = "Figures.", body = SyncStatusBody),
        (status = 404, description = "This server keeps no search index.", body = Problem),
    ))]
pub(crate) async fn sync_status(State(api): State<ApiState>) -> Response {
    if api.index.search_types().is_empty() {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "Vector sync is disabled on this server"})),
        )
            .into_response();
    }
    let s = api.index.status().await;
    axum::Json(SyncStatusBody {
        status: if s.pending_documents > 0 {
            "syncing"
        } else {
            "idle"
        },
        indexed_documents: s.indexed_documents,
        pending_documents: s.pending_documents,
    })
    .into_response()
}

/// The body of both search routes (what Astrolabe sends; unknown fields are ignored).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SearchRequest {
    query: String,
    /// `semantic`, `bm25` or `hybrid`; absent: the best the server supports. One outside
    /// `supported_search_types` (see `/api/v1/status`) is refused with 422.
    algorithm: Option<String>,
    /// 1-100 (`/search`, default 20) or 1-50 (`/vector-viz/search`, default 10).
    limit: Option<u32>,
    offset: Option<u32>,
    doc_types: Option<Vec<String>>,
    score_threshold: Option<f32>,
    include_pca: Option<bool>,
    include_chunks: Option<bool>,
    /// `chunk` (the only one served).
    granularity: Option<String>,
    /// Reranking is not available here (`rerank_available: false`): `true` gets 422.
    rerank: Option<bool>,
}

/// What the search routes share after parsing.
struct Parsed {
    query: backend::Query,
    include_pca: bool,
    include_chunks: bool,
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"error": message.into()})),
    )
        .into_response()
}

/// Checks a search body (400, or 422 for an unsupported type or reranking); `Ok(None)` for
/// an empty query.
fn parse_search(
    api: &ApiState,
    body: &Bytes,
    max_limit: u64,
    default_limit: u64,
) -> Result<Option<Parsed>, Response> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| bad("the body must be a JSON object"))?;
    let Value::Object(o) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    let text = match o.get("query") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.chars().count() <= 10_000 => s.clone(),
        Some(Value::String(_)) => {
            return Err(bad("`query` is too long: at most 10000 characters"));
        }
        Some(_) => return Err(bad("`query` must be a string")),
    };
    let int = |name: &str, min: u64, max: u64, default: u64| -> Result<u64, Response> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| bad(format!("`{name}` must be an integer from {min} to {max}"))),
        }
    };
    let limit = int("limit", 1, max_limit, default_limit)?;
    let offset = int("offset", 0, 1_000_000, 0)?;
    let flag = |name: &str, default: bool| -> Result<bool, Response> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(format!("`{name}` must be true or false"))),
        }
    };
    let include_pca = flag("include_pca", false)?;
    let include_chunks = flag("include_chunks", true)?;
    let rerank = flag("rerank", false)?;
    let score_threshold = match o.get("score_threshold") {
        None | Some(Value::Null) => 0.0,
        Some(v) => {
            v.as_f64()
                .filter(|x| *x >= 0.0 && x.is_finite())
                .ok_or_else(|| bad("`score_threshold` must be a number ≥ 0"))? as f32
        }
    };
    let doc_types = match o.get("doc_types") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(
            list.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("`doc_types` must be a list of strings"))?,
        ),
        Some(_) => return Err(bad("`doc_types` must be a list of strings")),
    };
    match o.get("granularity") {
        None | Some(Value::Null) => {}
        Some(Value::String(g)) if g == "chunk" => {}
        Some(other) => {
            return Err(bad(format!(
                "Invalid granularity {other}. Must be one of [\"chunk\"]"
            )));
        }
    }
    if let Some(f) = o.get("fusion").filter(|f| !f.is_null() && !f.is_string()) {
        return Err(bad(format!("`fusion` must be a string, not {f}")));
    }
    let supported = api.index.search_types();
    let requested = match o.get("algorithm") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) => Some(a.clone()),
        Some(_) => return Err(bad("`algorithm` must be a string")),
    };
    let search_type = match &requested {
        Some(name) => SearchType::parse(name).filter(|t| supported.contains(t)),
        // The best available: hybrid, then semantic, then keyword.
        None => [SearchType::Hybrid, SearchType::Semantic, SearchType::Bm25]
            .into_iter()
            .find(|t| supported.contains(t)),
    };
    let Some(search_type) = search_type else {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(UnsupportedSearchType {
                error: "unsupported_search_type",
                requested,
                supported_search_types: supported,
            }),
        )
            .into_response());
    };
    if rerank {
        return Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rerank_not_configured",
            "this server has no reranker (rerank_available is false); send rerank: false",
        ));
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(Parsed {
        query: backend::Query {
            text,
            search_type,
            limit: limit as usize,
            offset: offset as usize,
            doc_types,
            score_threshold,
        },
        include_pca,
        include_chunks,
    }))
}

/// Restricts the query to the document types the caller's scopes allow (403 when none is
/// left of what the index holds).
fn within_scopes(
    auth: &Authorized,
    api: &ApiState,
    query: &mut backend::Query,
) -> Result<(), Response> {
    let Some(scopes) = &auth.scopes else {
        return Ok(());
    };
    let allowed = |t: &str| scope_of(t).is_some_and(|s| scopes.contains(s));
    let candidates: Vec<String> = match &query.doc_types {
        Some(types) => types.clone(),
        None => [
            "note",
            "file",
            "deck_card",
            "calendar_event",
            "task",
            "contact",
        ]
        .into_iter()
        .filter(|t| api.index.holds(t))
        .map(str::to_string)
        .collect(),
    };
    let kept: Vec<String> = candidates.iter().filter(|t| allowed(t)).cloned().collect();
    if kept.is_empty() && candidates.iter().any(|t| api.index.holds(t)) {
        let needed: Vec<&str> = candidates
            .iter()
            .filter(|t| api.index.holds(t))
            .filter_map(|t| scope_of(t))
            .collect();
        return Err(problem(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("searching needs the scope {}", needed.join(" or ")),
        ));
    }
    query.doc_types = Some(kept);
    Ok(())
}

/// Runs a parsed search for an authorized caller.
async fn run_search(
    api: &ApiState,
    headers: &HeaderMap,
    body: &Bytes,
    max_limit: u64,
    default_limit: u64,
) -> Result<(Option<Parsed>, Found), Response> {
    let auth = authorize(api, headers).await?;
    let Some(mut parsed) = parse_search(api, body, max_limit, default_limit)? else {
        return Ok((None, Found::default()));
    };
    within_scopes(&auth, api, &mut parsed.query)?;
    let found = api
        .index
        .search(&auth.user, &auth.user_id, &parsed.query)
        .await
        .map_err(|e| nextcloud_failure(&e))?;
    Ok((Some(parsed), found))
}

/// One result of `POST /api/v1/search`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SearchResult {
    #[schema(value_type = Object)]
    id: Value,
    doc_type: String,
    title: String,
    score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    excerpt: Option<String>,
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    board_id: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_id: Option<Value>,
    chunk_index: u32,
    total_chunks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk_start_offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk_end_offset: Option<usize>,
}

/// `POST /api/v1/search`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SearchBody {
    results: Vec<SearchResult>,
    total_found: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    algorithm_used: Option<SearchType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    granularity: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reranked: Option<bool>,
}

/// The refusals both search routes share.
enum SearchFailures {}

impl utoipa::IntoResponses for SearchFailures {
    fn responses() -> BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        let problem = |d: &str| {
            utoipa::openapi::ResponseBuilder::new()
                .description(d)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
                .into()
        };
        let unsupported = utoipa::openapi::ResponseBuilder::new()
            .description(
                "`unsupported_search_type` (body `UnsupportedSearchType`), or `rerank_not_configured`.",
            )
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name(
                        "UnsupportedSearchType",
                    )))
                    .build(),
            )
            .build()
            .into();
        [
            (
                "400",
                problem("The body is not valid (`error` says which field)."),
            ),
            ("401", problem("No valid credentials.")),
            (
                "403",
                problem("The token's scopes allow none of the document types searched."),
            ),
            ("422", unsupported),
            (
                "428",
                problem("The caller has not provisioned an app password yet."),
            ),
            (
                "502",
                problem("Nextcloud failed while the index synchronised."),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

fn result_of(hit: Hit, include_chunks: bool) -> SearchResult {
    let meta = |k: &str| hit.metadata.get(k).cloned();
    SearchResult {
        path: meta("path"),
        board_id: meta("board_id"),
        card_id: meta("card_id"),
        excerpt: include_chunks.then_some(hit.excerpt),
        id: hit.id,
        doc_type: hit.doc_type,
        title: hit.title,
        score: hit.score,
        metadata: hit.metadata,
        chunk_index: hit.chunk_index,
        total_chunks: hit.total_chunks,
        chunk_start_offset: hit.chunk_start_offset,
        chunk_end_offset: hit.chunk_end_offset,
    }
}

/// Search the caller's documents (Nextcloud's unified search)
#[utoipa::path(post, path = "/api/v1/search", operation_id = "search",
    request_body(content = SearchRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "Results; `{\"results\": [], \"total_found\": 0}` for an empty query.", body = SearchBody), SearchFailures))]
pub(crate) async fn search(
    State(api): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (parsed, found) = match run_search(&api, &headers, &body, 100, 20).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(parsed) = parsed else {
        return axum::Json(SearchBody {
            results: Vec::new(),
            total_found: 0,
            algorithm_used: None,
            granularity: None,
            reranked: None,
        })
        .into_response();
    };
    axum::Json(SearchBody {
        total_found: found.total,
        results: found
            .hits
            .into_iter()
            .map(|h| result_of(h, parsed.include_chunks))
            .collect(),
        algorithm_used: Some(parsed.query.search_type),
        granularity: Some("chunk"),
        reranked: Some(false),
    })
    .into_response()
}

/// One result of `POST /api/v1/vector-viz/search`.
#[derive(Serialize, ToSchema)]
pub(crate) struct VizResult {
    #[schema(value_type = Object)]
    id: Value,
    doc_type: String,
    title: String,
    /// The first 200 characters of the passage.
    excerpt: String,
    score: f32,
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    chunk_index: u32,
    total_chunks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk_start_offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk_end_offset: Option<usize>,
}

/// `POST /api/v1/vector-viz/search`.
#[derive(Serialize, ToSchema)]
pub(crate) struct VizBody {
    results: Vec<VizResult>,
    algorithm_used: Option<SearchType>,
    total_documents: usize,
    reranked: bool,
    /// With `include_pca`: each result's position on the first three principal axes of the
    /// result embeddings (in result order), for `semantic` and `hybrid` searches; empty when
    /// the search used no embeddings (`bm25`) or found fewer than two results. A result
    /// without an embedding sits at the origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    coordinates_3d: Option<Vec<[f32; 3]>>,
    /// The query's position on the same axes (empty with the coordinates).
    #[serde(skip_serializing_if = "Option::is_none")]
    query_coords: Option<Vec<f32>>,
    /// The share of the results' variance each axis explains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pca_variance: Option<Vec<f32>>,
}

/// Search with a 3-D map of the results (Astrolabe's search page)
#[utoipa::path(post, path = "/api/v1/vector-viz/search", operation_id = "vectorVizSearch",
    request_body(content = SearchRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "Results and, with `include_pca`, their coordinates.", body = VizBody), SearchFailures))]
pub(crate) async fn viz_search(
    State(api): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (parsed, found) = match run_search(&api, &headers, &body, 50, 10).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let include_pca = parsed.as_ref().is_none_or(|p| p.include_pca);
    let plot = found.query_vector.as_ref().and_then(|q| {
        // Results without an embedding sit at the origin; the axes come from those with one.
        let with: Vec<Vec<f32>> = found.hits.iter().filter_map(|h| h.vector.clone()).collect();
        let projection = pca::project(&with, q)?;
        let mut points = projection.points.into_iter();
        let coords: Vec<[f32; 3]> = found
            .hits
            .iter()
            .map(|h| match h.vector {
                Some(_) => points.next().unwrap_or_default(),
                None => [0.0; 3],
            })
            .collect();
        Some((coords, projection.query, projection.variance))
    });
    let (coordinates_3d, query_coords, pca_variance) = match (include_pca, plot) {
        (false, _) => (None, None, None),
        (true, Some((c, q, v))) => (Some(c), Some(q.to_vec()), Some(v.to_vec())),
        (true, None) => (Some(Vec::new()), Some(Vec::new()), None),
    };
    let results: Vec<VizResult> = found
        .hits
        .into_iter()
        .map(|h| VizResult {
            id: h.id,
            doc_type: h.doc_type,
            title: h.title,
            excerpt: h.excerpt.chars().take(200).collect(),
            score: h.score,
            metadata: h.metadata,
            chunk_index: h.chunk_index,
            total_chunks: h.total_chunks,
            chunk_start_offset: h.chunk_start_offset,
            chunk_end_offset: h.chunk_end_offset,
        })
        .collect();
    axum::Json(VizBody {
        total_documents: results.len(),
        results,
        algorithm_used: parsed.map(|p| p.query.search_type),
        reranked: false,
        coordinates_3d,
        query_coords,
        pca_variance,
    })
    .into_response()
}

/// `GET /api/v1/chunk-context`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ChunkContextBody {
    success: bool,
    chunk_text: String,
    before_context: String,
    after_context: String,
    has_more_before: bool,
    has_more_after: bool,
    /// Always null: no paged documents are indexed.
    #[schema(value_type = Option<u32>)]
    page_number: Option<u32>,
    chunk_index: u32,
    total_chunks: u32,
}

/// The query of `GET /api/v1/chunk-context`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ChunkQuery {
    /// `note`, `file`, `deck_card`, `calendar_event`, `task` or `contact`.
    doc_type: String,
    /// The document's id (numeric for notes and files).
    doc_id: String,
    /// Character offset where the passage starts.
    start: u64,
    /// Character offset where it ends.
    end: u64,
    /// Characters of context either side (default 500, at most 10000).
    context: Option<u64>,
}

fn chunk_problem(status: StatusCode, error: impl Into<String>) -> Response {
    let body = Problem {
        error: error.into(),
        message: None,
        success: Some(false),
    };
    (status, axum::Json(body)).into_response()
}

/// A passage of an indexed document with the text around it (Astrolabe's chunk viewer)
#[utoipa::path(get, path = "/api/v1/chunk-context", operation_id = "chunkContext",
    params(ChunkQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The passage.", body = ChunkContextBody),
        (status = 400, description = "A parameter is missing or invalid.", body = Problem),
        (status = 401, description = "No valid credentials.", body = Problem),
        (status = 404, description = "The index does not hold this document, or the range is outside it.", body = Problem),
        (status = 428, description = "The caller has not provisioned an app password yet.", body = Problem),
        (status = 502, description = "Nextcloud failed.", body = Problem),
    ))]
pub(crate) async fn chunk_context(
    State(api): State<ApiState>,
    headers: HeaderMap,
    QueryString(q): QueryString<HashMap<String, String>>,
) -> Response {
    let auth = match authorize(&api, &headers).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(doc_type), Some(doc_id), Some(start), Some(end)) =
        (get("doc_type"), get("doc_id"), get("start"), get("end"))
    else {
        return chunk_problem(
            StatusCode::BAD_REQUEST,
            "Missing required parameters: doc_type, doc_id, start, end",
        );
    };
    if doc_id.is_empty() || !doc_id.bytes().all(|b| b.is_ascii_digit()) || doc_id.starts_with('0') {
        return chunk_problem(
            StatusCode::BAD_REQUEST,
            format!("doc_id must be numeric, got {doc_id:?}"),
        );
    }
    let number = |name: &str, v: &str, max: usize| {
        v.parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                chunk_problem(
                    StatusCode::BAD_REQUEST,
                    format!("{name} must be an integer from 0 to {max}, got {v:?}"),
                )
            })
    };
    let parsed = (|| {
        let start = number("start", start, usize::MAX / 4)?;
        let end = number("end", end, usize::MAX / 4)?;
        let context = number("context", get("context").unwrap_or("500"), 10_000)?;
        if end < start {
            return Err(chunk_problem(
                StatusCode::BAD_REQUEST,
                "end must not be less than start",
            ));
        }
        Ok((start, end, context))
    })();
    let (start, end, context) = match parsed {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Some(scopes) = &auth.scopes
        && api.index.holds(doc_type)
        && let Some(needed) = scope_of(doc_type)
        && !scopes.contains(needed)
    {
        return problem(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("reading a {doc_type} needs the scope {needed}"),
        );
    }
    match api
        .index
        .chunk_context(&auth.user, doc_type, doc_id, start, end, context)
        .await
    {
        Ok(Some(c)) => axum::Json(ChunkContextBody {
            success: true,
            chunk_text: c.chunk_text,
            before_context: c.before_context,
            after_context: c.after_context,
            has_more_before: c.has_more_before,
            has_more_after: c.has_more_after,
            page_number: None,
            chunk_index: c.chunk_index,
            total_chunks: c.total_chunks,
        })
        .into_response(),
        Ok(None) => chunk_problem(
            StatusCode::NOT_FOUND,
            format!("Failed to fetch chunk context for {doc_type} {doc_id}"),
        ),
        Err(e) => nextcloud_failure(&e),
    }
}

/// The body of `POST /api/v1/vector-sync/purge`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct PurgeRequest {
    /// At most 64 document types (`note`, `file`, ...).
    doc_types: Vec<String>,
}

/// `POST /api/v1/vector-sync/purge`.
#[derive(Serialize, ToSchema)]
pub(crate) struct PurgeBody {
    /// Per document type, how many indexed documents were deleted.
    purged: BTreeMap<String, u64>,
}

const MAX_PURGE_TYPES: usize = 64;

/// Delete every user's indexed documents of some types (administrators only)
///
/// Astrolabe calls this when an administrator turns a source off. Every user's keyword index
/// is dropped, and read from Nextcloud again at that user's next search.
#[utoipa::path(post, path = "/api/v1/vector-sync/purge", operation_id = "vectorSyncPurge",
    request_body(content = PurgeRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted.", body = PurgeBody),
        (status = 400, description = "The body is not `{\"doc_types\": [...]}`.", body = Problem),
        (status = 401, description = "No valid credentials.", body = Problem),
        (status = 403, description = "The caller is not in Nextcloud's `admin` group.", body = Problem),
        (status = 428, description = "The caller has not provisioned an app password yet.", body = Problem),
        (status = 502, description = "Nextcloud could not say whether the caller is an administrator.", body = Problem),
    ))]
pub(crate) async fn purge(
    State(api): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = match authorize(&api, &headers).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let bad = |m: &str| problem(StatusCode::BAD_REQUEST, "Bad request", m);
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&body) else {
        return bad("the body must be a JSON object");
    };
    let doc_types: Vec<String> = match o.get("doc_types") {
        None | Some(Value::Null) => return bad("doc_types is required"),
        Some(Value::Array(list)) => match list
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
        {
            Some(types) => types.into_iter().filter(|t| !t.is_empty()).collect(),
            None => return bad("doc_types must be a list of strings"),
        },
        Some(_) => return bad("doc_types must be a list of strings"),
    };
    if doc_types.len() > MAX_PURGE_TYPES {
        return bad(&format!(
            "doc_types exceeds the maximum of {MAX_PURGE_TYPES}"
        ));
    }
    // The purge deletes every user's documents: administrators only, asked of Nextcloud
    // with the caller's own access, even for an empty list.
    match auth.user.current_user().await {
        Ok(me) if me.groups.iter().any(|g| g == "admin") => {}
        Ok(_) => {
            tracing::warn!(user_id = %auth.user_id, "non-administrator asked to purge the index");
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Administrator privileges required",
            );
        }
        Err(e) => return nextcloud_failure(&backend::BackendError::Nextcloud(e)),
    }
    let purged = api.index.purge(&doc_types).await;
    tracing::info!(user_id = %auth.user_id, ?purged, "index purged by an administrator");
    axum::Json(PurgeBody { purged }).into_response()
}

/// The answer of `POST /webhooks/nextcloud`.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookBody {
    /// `queued` (the user's index takes the change in at once, in the background),
    /// `ignored`, `unauthorized`, `error` or `unavailable`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<String>,
    /// `index` or `delete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl WebhookBody {
    fn status(status: &'static str, reason: Option<String>) -> Self {
        Self {
            status,
            doc_type: None,
            doc_id: None,
            operation: None,
            reason,
        }
    }
}

/// A document changed in Nextcloud (webhook_listeners, or Astrolabe's own listeners)
///
/// Authenticated with `Authorization: Bearer <WEBHOOK_SECRET>` (compared in constant time).
/// File (notes are the files under `Notes/`), Deck card and calendar object events are
/// understood; the index takes in those of the document types it holds at once, in the
/// background: a note or file is read again and re-indexed (or deleted), a Deck or calendar
/// change syncs that kind of the user's documents. A user without an index yet, or without
/// stored credentials, gets the change at their next search.
#[utoipa::path(post, path = "/webhooks/nextcloud", operation_id = "nextcloudWebhook",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"user\": {\"uid\": ...}, \"time\": ..., \"event\": {\"class\": ..., ...}}`"),
    security(("webhookSecret" = [])),
    responses(
        (status = 200, description = "`queued` or `ignored` (with a reason).", body = WebhookBody),
        (status = 400, description = "The body is not JSON.", body = WebhookBody),
        (status = 401, description = "Missing or wrong secret.", body = WebhookBody),
        (status = 503, description = "WEBHOOK_SECRET is not set: the receiver is off.", body = WebhookBody),
    ))]
pub(crate) async fn webhook(
    State(api): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = &api.multi.settings.webhook_secret else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(WebhookBody::status(
                "unavailable",
                Some("WEBHOOK_SECRET is not set on this server".into()),
            )),
        )
            .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::bearer_token);
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), secret.expose().as_bytes())) {
        tracing::warn!("webhook refused: missing or wrong secret");
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(WebhookBody::status("unauthorized", None)),
        )
            .into_response();
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(WebhookBody::status("error", Some("invalid JSON".into()))),
        )
            .into_response();
    };
    let change = match webhook::change_of(&payload) {
        Ok(c) => c,
        Err(why) => {
            tracing::debug!(reason = %why, "webhook ignored");
            return axum::Json(WebhookBody::status("ignored", Some(why.to_string())))
                .into_response();
        }
    };
    if !api.index.holds(&change.doc_type) {
        return axum::Json(WebhookBody::status(
            "ignored",
            Some(format!(
                "this server's index holds no {} documents",
                change.doc_type
            )),
        ))
        .into_response();
    }
    let answer = WebhookBody {
        status: "queued",
        doc_type: Some(change.doc_type.clone()),
        doc_id: Some(change.doc_id.clone()),
        operation: Some(if change.deleted { "delete" } else { "index" }),
        reason: None,
    };
    tracing::info!(user_id = %change.user_id, doc_type = %change.doc_type, doc_id = %change.doc_id, "webhook queued");
    api.index.announce(&change);
    // Brought into the user's index in the background: the answer does not wait.
    let (index, multi, nextcloud) = (api.index.clone(), api.multi.clone(), api.nextcloud.clone());
    let spawned = api.refresher.spawn(async move {
        let user = match multi.store.app_password(&change.user_id).await {
            Ok(stored) => stored.map(|s| nextcloud.user(s.credentials())),
            Err(e) => {
                tracing::warn!(error = %e, "credential store failure while applying a webhook");
                None
            }
        };
        index.apply(user, change).await;
    });
    if !spawned {
        tracing::info!("webhook backlog full: the change waits for the user's next search");
    }
    axum::Json(answer).into_response()
}

/// Compares without an early exit, so timing does not reveal the secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
