//! `nc_semantic_search`: finds documents by meaning as well as by words (hybrid search over
//! the semantic index, [`crate::search::semantic`]).

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::search::Kind;
use crate::search::semantic::{Fusion, Granularity, Query, SemanticError};
use crate::tools::common::{Envelope, ToolError, answer, given, in_range, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::semantic_router()
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[ToolSpec::new(
    "nc_semantic_search",
    &apps::SEMANTIC,
    Some("semantic.read"),
    Read,
)];

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum FusionArg {
    #[default]
    Rrf,
    Dbsf,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum GranularityArg {
    #[default]
    Chunk,
    Document,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SemanticSearchArgs {
    pub query: String,
    #[serde(default = "default_limit")]
    pub limit: u8,
    /// Of notes, files, calendar, tasks, contacts, deck.
    #[serde(default)]
    pub doc_types: Option<Vec<String>>,
    /// Least cosine similarity (-1..1).
    #[serde(default)]
    pub score_threshold: Option<f64>,
    /// Least result score (0..1).
    #[serde(default)]
    pub min_relevance: Option<f64>,
    #[serde(default)]
    pub fusion: FusionArg,
    #[serde(default)]
    pub granularity: GranularityArg,
    #[serde(default)]
    pub rerank: bool,
    #[serde(default)]
    pub include_context: bool,
    #[serde(default = "default_context_chars")]
    pub context_chars: u16,
    /// ISO 8601 date or time.
    #[serde(default)]
    pub modified_after: Option<String>,
    #[serde(default)]
    pub modified_before: Option<String>,
    #[serde(default)]
    pub path_prefixes: Option<Vec<String>>,
}

fn default_limit() -> u8 {
    10
}

fn default_context_chars() -> u16 {
    300
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SemanticHit {
    pub doc_type: String,
    pub id: String,
    pub title: String,
    pub excerpt: String,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
    // `<doc_type>:<id>#<start>-<end>`: byte offsets of the excerpt in the document's text.
    pub chunk_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_after: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SemanticSearchOut {
    pub query: String,
    pub results: Vec<SemanticHit>,
    pub total_found: usize,
    // `hybrid_rrf`, `hybrid_dbsf` or `keyword`.
    pub search_method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Reads an ISO 8601 date (`2024-05-01`, midnight UTC) or date-time (RFC 3339, or without a
/// zone for UTC) as Unix time.
fn unix_time(name: &'static str, value: &str) -> Result<i64, ToolError> {
    let v = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc().timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp());
    }
    Err(ToolError::invalid(
        name,
        format!(
            "expected an ISO 8601 date or time such as 2024-05-01 or 2024-05-01T09:00:00Z, got {value:?}"
        ),
    ))
}

fn list(value: Option<Vec<String>>) -> Vec<String> {
    value
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| given(Some(v)).map(|v| v.trim().to_string()))
        .collect()
}

#[tool_router(router = semantic_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_semantic_search",
        title = "Search by meaning",
        description = "Find passages by meaning as well as words (embeddings + keywords) in notes, files, events, tasks, contacts and cards. Prefer it to `search` when wording is unknown."
    )]
    async fn nc_semantic_search(
        &self,
        Parameters(args): Parameters<SemanticSearchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SemanticSearchOut>>, ToolError> {
        let text = non_empty("query", &args.query, "expected words to search for")?.to_string();
        in_range("limit", args.limit, 1..=100)?;
        in_range("context_chars", args.context_chars, 0..=5000)?;
        if let Some(t) = args.score_threshold {
            in_range("score_threshold", t, -1.0..=1.0)?;
        }
        if let Some(m) = args.min_relevance {
            in_range("min_relevance", m, 0.0..=1.0)?;
        }
        let modified_after = given(args.modified_after)
            .map(|v| unix_time("modified_after", &v))
            .transpose()?;
        let modified_before = given(args.modified_before)
            .map(|v| unix_time("modified_before", &v))
            .transpose()?;
        let fusion = match args.fusion {
            FusionArg::Rrf => Fusion::Rrf,
            FusionArg::Dbsf => Fusion::Dbsf,
        };
        let mut kinds = crate::tools::search::readable(&ctx);
        let doc_types = list(args.doc_types);
        for name in &doc_types {
            if Kind::parse(name).is_none() {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                return Err(ToolError::invalid(
                    "doc_types",
                    format!("expected names from {}, got {name:?}", known.join(", ")),
                ));
            }
        }
        kinds.retain(|k| doc_types.is_empty() || doc_types.iter().any(|d| d == k.name()));
        let query = Query {
            text,
            limit: args.limit as usize,
            doc_types,
            score_threshold: args.score_threshold.map(|t| t as f32),
            min_relevance: args.min_relevance.map(|m| m as f32),
            fusion,
            granularity: match args.granularity {
                GranularityArg::Chunk => Granularity::Chunk,
                GranularityArg::Document => Granularity::Document,
            },
            modified_after,
            modified_before,
            path_prefixes: list(args.path_prefixes),
            context_chars: args.include_context.then_some(args.context_chars as usize),
            vector_only: false,
        };
        let user = self.user(&ctx)?;
        let state = self.state();
        let found = state
            .semantic
            .search(&user, &state.search, &kinds, &query)
            .await
            .map_err(|e| match e {
                SemanticError::Nextcloud(e) => ToolError::Nextcloud(e),
                SemanticError::Index(e) => ToolError::PartlyDone(e),
            })?;
        let mut notices: Vec<String> = found.notice.into_iter().collect();
        if args.rerank {
            notices.push(
                "rerank: no reranking model is configured, so results keep the fused order".into(),
            );
        }
        let results: Vec<SemanticHit> = found
            .hits
            .into_iter()
            .map(|h| SemanticHit {
                chunk_id: format!("{}:{}#{}-{}", h.doc_type, h.id, h.span.start, h.span.end),
                doc_type: h.doc_type.to_string(),
                id: h.id,
                title: h.title,
                excerpt: h.excerpt,
                score: h.score,
                similarity: h.similarity,
                url: h.url,
                path: h.path,
                modified: h.modified.and_then(|t| {
                    chrono::DateTime::from_timestamp(t, 0)
                        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                }),
                context_before: h.context_before,
                context_after: h.context_after,
            })
            .collect();
        let search_method = match (found.method, fusion) {
            ("hybrid", Fusion::Rrf) => "hybrid_rrf",
            ("hybrid", Fusion::Dbsf) => "hybrid_dbsf",
            _ => "keyword",
        };
        answer(SemanticSearchOut {
            query: args.query,
            total_found: results.len(),
            results,
            search_method: search_method.into(),
            model: found.model,
            notice: (!notices.is_empty()).then(|| notices.join("; ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::unix_time;

    #[test]
    fn times_are_iso_dates_or_date_times() {
        assert_eq!(unix_time("t", "1970-01-02").unwrap(), 86_400);
        assert_eq!(unix_time("t", "1970-01-01T01:00:00Z").unwrap(), 3_600);
        assert_eq!(unix_time("t", "1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(unix_time("t", "1970-01-01T00:01:00").unwrap(), 60);
        let e = unix_time("modified_after", "last week")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("modified_after") && e.contains("ISO 8601"),
            "{e}"
        );
    }
}
