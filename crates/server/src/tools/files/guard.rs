//! `EXCLUDED_TAGS`: files and folders carrying one of these system tags (and everything below
//! a tagged folder) are invisible to the file and sharing tools. Listings and searches leave
//! them out; reading, writing, moving, copying, deleting, commenting, tagging and sharing them
//! is refused.
//!
//! The rule is applied in one place: [`guarded`] wraps every route of the files and sharing
//! routers, checks path arguments before the tool runs and filters path-bearing results after.
//! Tag names resolve to paths with one `PROPFIND` of the tag list plus one `REPORT` per tag,
//! cached per user for a short time (and dropped after any change a tool makes). Resolution
//! fails closed: when Nextcloud cannot say which files are tagged, the tools answer with an
//! error instead of possibly showing them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::handler::server::router::tool::{ToolRoute, ToolRouter};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use serde_json::Value;

use crate::mcp::NextcloudMcp;
use nextcloud::NextcloudUser;
use nextcloud::files::normalize_path;

/// How long a resolution is reused. Short: a file tagged in the web interface is hidden from
/// the tools within this time.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// Path arguments checked before a tool runs.
const PATH_ARGS: &[&str] = &["path", "source_path", "destination_path", "scope"];

/// The configured tag names and the per-user cache of what they cover.
pub struct TagGuard {
    names: Vec<String>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Arc<Excluded>)>>,
}

impl std::fmt::Debug for TagGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagGuard")
            .field("names", &self.names)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// What the tags cover for one user.
#[derive(Debug, Default)]
pub struct Excluded {
    /// Normalised paths of the tagged files and folders.
    paths: Vec<String>,
    ids: HashSet<u64>,
}

impl Excluded {
    /// Whether `path` is tagged or lies below a tagged folder.
    pub fn covers(&self, path: &str) -> bool {
        let Ok(path) = normalize_path("path", path) else {
            return false;
        };
        self.paths
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")) || p.is_empty())
    }

    /// Whether something tagged lies below `path` (a copy would carry it out untagged).
    pub fn below(&self, path: &str) -> bool {
        let Ok(path) = normalize_path("path", path) else {
            return false;
        };
        self.paths
            .iter()
            .any(|p| path.is_empty() || p.starts_with(&format!("{path}/")))
    }
}

/// Tag names from a comma-separated list (`EXCLUDED_TAGS`).
pub fn parse_names(raw: &str) -> Vec<String> {
    let mut names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

impl Default for TagGuard {
    /// Off: nothing is hidden.
    fn default() -> Self {
        Self::new(Vec::new(), DEFAULT_TTL)
    }
}

impl TagGuard {
    pub fn new(names: Vec<String>, ttl: Duration) -> Self {
        Self {
            names,
            ttl,
            cache: Mutex::default(),
        }
    }

    pub fn is_active(&self) -> bool {
        !self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<Excluded>)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the tags cover for this user, from the cache when fresh.
    pub async fn resolve(&self, user: &NextcloudUser) -> Result<Arc<Excluded>, nextcloud::Error> {
        let key = user.credentials().login_name().to_string();
        if let Some((at, found)) = self.cache().get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(found.clone());
        }
        let tags = user.system_tags().list().await?;
        let mut excluded = Excluded::default();
        for name in &self.names {
            // A configured tag that does not exist covers nothing.
            let Some(tag) = nextcloud::systemtags::pick_by_name(tags.clone(), name) else {
                continue;
            };
            for file in user.system_tags().files(&[tag.id], "").await? {
                if let Some(id) = file.id {
                    excluded.ids.insert(id);
                }
                excluded.paths.push(file.path);
            }
        }
        let found = Arc::new(excluded);
        self.cache().insert(key, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// Forgets the user's resolution (after a tool changed files or tags).
    pub fn invalidate(&self, user: &NextcloudUser) {
        self.cache().remove(user.credentials().login_name());
    }
}

fn refusal(message: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message)]).into()
}

/// The refusal for an argument, if it names something hidden.
fn check_args(tool: &str, args: &serde_json::Map<String, Value>, ex: &Excluded) -> Option<String> {
    for key in PATH_ARGS {
        let Some(path) = args.get(*key).and_then(Value::as_str) else {
            continue;
        };
        if ex.covers(path) {
            return Some(format!(
                "Access denied: `{key}` `{path}` is hidden from this assistant (it or a folder above it carries a tag listed in EXCLUDED_TAGS)."
            ));
        }
    }
    // Copying or deleting a folder would copy hidden files out untagged, or destroy them.
    if matches!(
        tool,
        "nc_webdav_copy_resource" | "nc_webdav_delete_resource"
    ) && let Some(path) = args
        .get("source_path")
        .or_else(|| args.get("path"))
        .and_then(Value::as_str)
        && ex.below(path)
    {
        return Some(format!(
            "Access denied: `{path}` contains items hidden from this assistant (tagged with a tag listed in EXCLUDED_TAGS), so it cannot be copied or deleted here."
        ));
    }
    None
}

/// Whether one result entry (a file, search hit, trash item or share) is hidden.
fn entry_hidden(entry: &Value, ex: &Excluded) -> bool {
    let Some(obj) = entry.as_object() else {
        return false;
    };
    let path_hidden = ["path", "original_location"]
        .iter()
        .filter_map(|k| obj.get(*k).and_then(Value::as_str))
        .any(|p| ex.covers(p));
    let is_file_entry = matches!(
        obj.get("type").and_then(Value::as_str),
        Some("file" | "directory")
    );
    let id_hidden = obj
        .get("file_id")
        .or_else(|| obj.get("id").filter(|_| is_file_entry))
        .and_then(Value::as_u64)
        .is_some_and(|id| ex.ids.contains(&id));
    path_hidden || id_hidden
}

/// Drops hidden entries from a successful result (recounting the totals), or refuses the whole
/// result when its single item is hidden.
fn filter_result(result: &mut CallToolResult, ex: &Excluded) -> Option<String> {
    let Some(Value::Object(out)) = result.structured_content.as_mut() else {
        return None;
    };
    let mut changed = false;
    for (key, value) in out.iter_mut() {
        match value {
            Value::Array(items) => {
                let before = items.len();
                items.retain(|e| !entry_hidden(e, ex));
                changed |= items.len() != before;
            }
            Value::Object(_) if key == "result" && entry_hidden(value, ex) => {
                return Some(
                    "Access denied: that share is of an item hidden from this assistant (tagged with a tag listed in EXCLUDED_TAGS).".into(),
                );
            }
            _ => {}
        }
    }
    if !changed {
        return None;
    }
    let list = ["files", "results", "items", "result"]
        .iter()
        .find_map(|k| out.get(*k).and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let count = |kind: &str| {
        list.iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some(kind))
            .count()
    };
    let updates = [
        ("total_count", Value::from(list.len())),
        ("total_found", Value::from(list.len())),
        ("count", Value::from(list.len())),
        ("files_count", Value::from(count("file"))),
        ("directories_count", Value::from(count("directory"))),
        (
            "total_size",
            Value::from(
                list.iter()
                    .filter_map(|e| e.get("size").and_then(Value::as_u64))
                    .sum::<u64>(),
            ),
        ),
    ];
    for (k, v) in updates {
        if let Some(slot) = out.get_mut(k) {
            *slot = v;
        }
    }
    let text = Value::Object(out.clone()).to_string();
    result.content = vec![ContentBlock::text(text)];
    None
}

/// For share tools addressed by share id: the shared path, so it can be checked first.
async fn share_path(
    tool: &str,
    args: &serde_json::Map<String, Value>,
    user: &NextcloudUser,
) -> Result<Option<String>, nextcloud::Error> {
    if !matches!(tool, "nc_share_update" | "nc_share_delete") {
        return Ok(None);
    }
    let Some(id) = args.get("share_id").and_then(Value::as_u64) else {
        return Ok(None);
    };
    Ok(user.sharing().get(id).await?.path)
}

/// Wraps every route of `router` with the exclusion guard.
pub fn guarded(router: ToolRouter<NextcloudMcp>) -> ToolRouter<NextcloudMcp> {
    let mut out = ToolRouter::new();
    for route in router {
        out.add_route(wrap(route));
    }
    out
}

fn wrap(route: ToolRoute<NextcloudMcp>) -> ToolRoute<NextcloudMcp> {
    let name = route.attr.name.to_string();
    // A tool without a record counts as a writer: its paths are checked before the call.
    let read_only = crate::tools::spec::of(&name).is_some_and(|s| s.is_read_only());
    let inner = route.call.clone();
    ToolRoute::new_dyn(
        route.attr.clone(),
        move |ctx: ToolCallContext<'_, NextcloudMcp>| {
            let inner = inner.clone();
            let name = name.clone();
            Box::pin(async move {
                let service = ctx.service;
                let guard = &service.state().file_guard;
                if !guard.is_active() {
                    return inner(ctx).await;
                }
                // Without a user the tool reports the access problem itself.
                let Ok(user) = service.user(&ctx.request_context) else {
                    return inner(ctx).await;
                };
                let excluded = match guard.resolve(&user).await {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(tool = %name, error = %e, "EXCLUDED_TAGS could not be resolved; refusing");
                        return Ok(refusal(format!(
                            "The files hidden by EXCLUDED_TAGS could not be determined, so `{name}` was refused rather than risk showing them: {e}"
                        )));
                    }
                };
                let args = ctx.arguments.clone().unwrap_or_default();
                if let Some(message) = check_args(&name, &args, &excluded) {
                    return Ok(refusal(message));
                }
                match share_path(&name, &args, &user).await {
                    Ok(Some(path)) if excluded.covers(&path) => {
                        return Ok(refusal(
                        "Access denied: that share is of an item hidden from this assistant (tagged with a tag listed in EXCLUDED_TAGS).".into(),
                    ));
                    }
                    Ok(_) => {}
                    // The tool itself reports a share that cannot be read.
                    Err(_) => return inner(ctx).await,
                }
                let mut response = inner(ctx).await?;
                if let CallToolResponse::Complete(result) = &mut response
                    && result.is_error != Some(true)
                {
                    if let Some(message) = filter_result(result, &excluded) {
                        return Ok(refusal(message));
                    }
                    if !read_only {
                        guard.invalidate(&user);
                    }
                }
                Ok(response)
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn excluded(paths: &[&str], ids: &[u64]) -> Excluded {
        Excluded {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            ids: ids.iter().copied().collect(),
        }
    }

    #[test]
    fn covers_tagged_items_and_everything_below() {
        let ex = excluded(&["Private", "Docs/secret.txt"], &[]);
        assert!(ex.covers("Private"));
        assert!(ex.covers("/Private/a/b.txt"));
        assert!(ex.covers("Docs/./secret.txt"));
        assert!(!ex.covers("Private2"));
        assert!(!ex.covers("Docs"));
        assert!(ex.below("Docs"));
        assert!(ex.below(""));
        assert!(!ex.below("Private"));
        assert_eq!(parse_names(" a, b,,a "), vec!["a", "b"]);
    }

    #[test]
    fn arguments_are_checked() {
        let ex = excluded(&["Private"], &[]);
        let args = |v: Value| v.as_object().unwrap().clone();
        assert!(
            check_args(
                "nc_webdav_read_file",
                &args(json!({"path": "Private/x"})),
                &ex
            )
            .is_some()
        );
        assert!(
            check_args(
                "nc_webdav_move_resource",
                &args(json!({"source_path": "a", "destination_path": "Private/a"})),
                &ex
            )
            .is_some()
        );
        assert!(
            check_args(
                "nc_webdav_copy_resource",
                &args(json!({"source_path": "", "destination_path": "b"})),
                &ex
            )
            .is_some()
        );
        assert!(
            check_args(
                "nc_webdav_read_file",
                &args(json!({"path": "Public/x"})),
                &ex
            )
            .is_none()
        );
    }

    #[test]
    fn results_are_filtered_and_recounted() {
        let ex = excluded(&["Private"], &[77]);
        let value = json!({
            "success": true,
            "files": [
                {"path": "Private", "type": "directory", "size": 5, "id": 1},
                {"path": "a.txt", "type": "file", "size": 3, "id": 2},
                {"path": "renamed.txt", "type": "file", "size": 4, "id": 77},
            ],
            "total_count": 3, "files_count": 2, "directories_count": 1, "total_size": 12
        });
        let mut result = CallToolResult::structured(value);
        assert!(filter_result(&mut result, &ex).is_none());
        let out = result.structured_content.unwrap();
        assert_eq!(out["files"].as_array().unwrap().len(), 1);
        assert_eq!(out["total_count"], 1);
        assert_eq!(out["directories_count"], 0);
        assert_eq!(out["total_size"], 3);
        let text = result.content[0].as_text().unwrap().text.clone();
        assert!(!text.contains("Private"), "{text}");

        // Comment ids are not file ids.
        let mut comments = CallToolResult::structured(
            json!({"results": [{"id": 77, "message": "hi"}], "count": 1}),
        );
        filter_result(&mut comments, &ex);
        assert_eq!(comments.structured_content.unwrap()["count"], 1);

        let mut share =
            CallToolResult::structured(json!({"result": {"id": 5, "path": "/Private/x"}}));
        assert!(filter_result(&mut share, &ex).is_some());
    }
}
