//! Files over WebDAV: `nc_webdav_*`. Reads (listing, reading, searching) in `read.rs`, changes
//! (writing, folders, delete, move, copy) in `write.rs`. Every path argument goes through the
//! client's single normaliser (`nextcloud::files::normalize_path`).

pub(crate) mod extract;
pub mod guard;
pub(super) mod meta;
pub(crate) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;
use nextcloud::files::FileInfo;

pub fn router() -> ToolRouter<NextcloudMcp> {
    guard::guarded(
        NextcloudMcp::files_read_router() + NextcloudMcp::files_write_router() + meta::router(),
    )
}

/// A file or folder in listings and search results.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileEntry {
    /// Nextcloud's file id (stable across renames).
    pub id: Option<u64>,
    pub name: String,
    /// Path relative to your home folder; pass it to the other file tools.
    pub path: String,
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Bytes (for folders: everything inside).
    pub size: u64,
    /// Last change, RFC 3339 UTC.
    pub modified: Option<String>,
    /// Current ETag: pass it as `if_match` / `if_destination_match` to change this exact version.
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub favorite: bool,
}

impl From<FileInfo> for FileEntry {
    fn from(f: FileInfo) -> Self {
        Self {
            id: f.id,
            modified: f.modified_unix().and_then(rfc3339),
            kind: if f.is_dir { "directory" } else { "file" },
            name: f.name,
            path: f.path,
            size: f.size,
            etag: f.etag,
            content_type: f.content_type,
            favorite: f.favorite,
        }
    }
}

fn rfc3339(ts: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Link that opens a file in the Files web app.
fn file_url(base_url: &str, id: Option<u64>) -> Option<String> {
    id.map(|id| format!("{base_url}/index.php/f/{id}"))
}
