//! `search` and `fetch` across apps, in the shape ChatGPT connectors and deep-research
//! clients expect (`{results: [{id, title, url}]}`, `{id, title, text, url, metadata}`), and
//! `nc_get_vector_sync_status`. They answer from the caller's index ([`crate::search`]).
//!
//! Scopes: `search` and `fetch` need no scope of their own; each result needs its app's read
//! scope (`notes.read`, `files.read`, `calendar.read`, `todo.read` for tasks,
//! `contacts.read`, `deck.read`), so a caller with only `notes.read` finds only notes.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::{Access, NextcloudMcp};
use crate::search::{DocId, Kind, Progress, Query, SearchError};
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, given, in_range, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

pub fn router() -> rmcp::handler::server::router::tool::ToolRouter<NextcloudMcp> {
    NextcloudMcp::search_router()
}

/// Tools without a scope of their own: each result needs its app's read scope.
pub const SCOPED_PER_RESULT: &[&str] = &["search", "fetch"];

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("search", &apps::SEMANTIC, None, Read),
    ToolSpec::new("fetch", &apps::SEMANTIC, None, Read),
    ToolSpec::new(
        "nc_get_vector_sync_status",
        &apps::SEMANTIC,
        Some("semantic.read"),
        Read,
    ),
];

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    pub query: String,
    /// Only these: notes, files, calendar, tasks, contacts, deck.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Changed on or after this date.
    #[serde(default)]
    pub since: Option<String>,
    /// Only files below this folder.
    #[serde(default)]
    pub folder: Option<String>,
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    10
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOut {
    pub results: Vec<SearchResult>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResult {
    pub id: String,
    pub title: String,
    pub url: String,
    pub snippet: String,
    pub modified: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FetchArgs {
    /// An id from `search`.
    pub id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchOut {
    pub id: String,
    pub title: String,
    pub text: String,
    pub url: String,
    pub metadata: FetchMeta,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchMeta {
    pub app: String,
    pub modified: String,
    pub path: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncStatusOut {
    /// `syncing`, `idle` or `not_started`.
    pub status: String,
    pub indexed_count: usize,
    pub pending_count: usize,
    pub apps: Vec<AppStatus>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AppStatus {
    pub app: String,
    pub indexed: usize,
    pub pending: usize,
    pub syncing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// `2025-03-01` (midnight UTC) or an RFC 3339 time, as Unix seconds.
fn parse_since(name: &'static str, value: &str) -> Result<i64, ToolError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| {
            ToolError::invalid(
                name,
                format!("expected a date like 2025-03-01 or 2025-03-01T09:00:00Z, got `{value}`"),
            )
        })
}

/// The kinds whose read scope the caller has.
pub(crate) fn readable(ctx: &RequestContext<RoleServer>) -> Vec<Kind> {
    let scopes = ctx
        .extensions
        .get::<Access>()
        .and_then(|a| a.scopes.clone());
    Kind::ALL
        .into_iter()
        .filter(|k| scopes.as_ref().is_none_or(|s| s.contains(k.read_scope())))
        .collect()
}

fn index_error(e: SearchError) -> ToolError {
    match e {
        SearchError::Nextcloud(e) => ToolError::Nextcloud(e),
        other => ToolError::PartlyDone(other.to_string()),
    }
}

/// Forwards sync progress as MCP progress notifications when the request asked for them;
/// await the handle after dropping the callback, so every notification precedes the answer.
fn progress(ctx: &RequestContext<RoleServer>) -> Option<(Progress, tokio::task::JoinHandle<()>)> {
    let token = ctx.meta.get_progress_token()?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, u32, String)>();
    let peer = ctx.peer.clone();
    let forwarder = tokio::spawn(async move {
        while let Some((done, total, message)) = rx.recv().await {
            let note = ProgressNotificationParam::new(token.clone(), done as f64)
                .with_total(total as f64)
                .with_message(message);
            if peer.notify_progress(note).await.is_err() {
                break;
            }
        }
    });
    let report: Progress = std::sync::Arc::new(move |done, total, message| {
        let _ = tx.send((done, total, message));
    });
    Some((report, forwarder))
}

#[tool_router(router = search_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "search",
        title = "Search everything",
        description = "Keyword search across notes, files, calendar, tasks, contacts and Deck cards, tolerating typos and word forms. Full text: fetch."
    )]
    async fn search(
        &self,
        Parameters(args): Parameters<SearchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SearchOut>, ToolError> {
        let text = non_empty("query", &args.query, "expected words to search for")?;
        in_range("limit", args.limit, 1..=50)?;
        let mut kinds = Vec::new();
        for name in &args.apps {
            kinds.push(Kind::parse(name.trim()).ok_or_else(|| {
                ToolError::invalid(
                    "apps",
                    format!(
                        "expected notes, files, calendar, tasks, contacts or deck, got `{name}`"
                    ),
                )
            })?);
        }
        let modified_after = given(args.since)
            .map(|s| parse_since("since", s.trim()))
            .transpose()?;
        let allowed = readable(&ctx);
        if allowed.is_empty() {
            return Err(ToolError::Access(
                "Searching needs the read scope of at least one app (notes.read, files.read, ...); call `nc_auth_update_scopes` to grant one.".into(),
            ));
        }
        let query = Query {
            text: text.to_string(),
            kinds,
            modified_after,
            modified_before: None,
            path_prefix: given(args.folder),
            limit: args.limit as usize,
        };
        let user = self.user(&ctx)?;
        let reporter = progress(&ctx);
        let found = self
            .state()
            .search
            .search(
                &user,
                &query,
                &allowed,
                reporter.as_ref().map(|r| r.0.clone()),
            )
            .await;
        if let Some((report, forwarder)) = reporter {
            drop(report);
            let _ = forwarder.await;
        }
        let mut hits = found.map_err(index_error)?;
        let guard = &self.state().file_guard;
        if guard.is_active() && hits.iter().any(|h| h.id.kind == Kind::Files) {
            let excluded = guard.resolve(&user).await?;
            hits.retain(|h| h.id.kind != Kind::Files || !excluded.covers(&h.path));
        }
        Ok(Json(SearchOut {
            results: hits
                .into_iter()
                .map(|h| SearchResult {
                    id: h.id.to_string(),
                    title: h.title,
                    url: h.url,
                    snippet: h.snippet,
                    modified: rfc3339(h.modified),
                })
                .collect(),
        }))
    }

    #[tool(
        name = "fetch",
        title = "Fetch a search result",
        description = "Read the full text of a document found by search, by its id."
    )]
    async fn fetch(
        &self,
        Parameters(args): Parameters<FetchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<FetchOut>, ToolError> {
        let id = DocId::parse(args.id.trim()).ok_or_else(|| {
            ToolError::invalid(
                "id",
                format!(
                    "expected an id from search such as `notes:12`, got `{}`",
                    args.id
                ),
            )
        })?;
        if !readable(&ctx).contains(&id.kind) {
            return Err(ToolError::Access(format!(
                "Reading {} needs the `{}` scope; call `nc_auth_update_scopes` to grant it.",
                id.kind.name(),
                id.kind.read_scope()
            )));
        }
        let user = self.user(&ctx)?;
        let not_found = || {
            ToolError::Nextcloud(nextcloud::Error::NotFound {
                what: format!("Document `{id}`"),
                message: Some("search again for a current id".into()),
            })
        };
        let doc = self
            .state()
            .search
            .fetch(&user, &id)
            .await
            .map_err(index_error)?
            .ok_or_else(not_found)?;
        let guard = &self.state().file_guard;
        if id.kind == Kind::Files
            && guard.is_active()
            && guard.resolve(&user).await?.covers(&doc.path)
        {
            return Err(not_found());
        }
        Ok(Json(FetchOut {
            id: doc.id.to_string(),
            title: doc.title,
            text: doc.text,
            url: doc.url,
            metadata: FetchMeta {
                app: doc.id.kind.name().into(),
                modified: rfc3339(doc.modified),
                path: doc.path,
            },
        }))
    }

    #[tool(
        name = "nc_get_vector_sync_status",
        title = "Search index status",
        description = "How far indexing your documents for search has got, per app: indexed and pending counts, last sync."
    )]
    async fn nc_get_vector_sync_status(
        &self,
        Parameters(_): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SyncStatusOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let status = self
            .state()
            .search
            .status(&user)
            .await
            .map_err(index_error)?;
        let apps: Vec<AppStatus> = status
            .into_iter()
            .map(|(kind, s)| AppStatus {
                app: kind.name().into(),
                indexed: s.indexed,
                pending: s.pending,
                syncing: s.syncing,
                last_sync: s.synced_at.map(rfc3339),
                error: s.error,
            })
            .collect();
        let state = if apps.iter().any(|a| a.syncing) {
            "syncing"
        } else if apps.is_empty() {
            "not_started"
        } else {
            "idle"
        };
        answer(SyncStatusOut {
            status: state.into(),
            indexed_count: apps.iter().map(|a| a.indexed).sum(),
            pending_count: apps.iter().map(|a| a.pending).sum(),
            apps,
        })
    }
}
