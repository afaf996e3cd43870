//! Notes app tools: `nc_notes_*`. Reads in `read.rs`, changes in `write.rs`.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::notes_read_router() + NextcloudMcp::notes_write_router()
}

/// Link to the note in the Notes web app.
fn note_url(base_url: &str, id: u64) -> String {
    format!("{base_url}/index.php/apps/notes/note/{id}")
}

/// A note in a listing or search result (no content).
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteSummary {
    pub id: u64,
    pub title: String,
    pub category: String,
    /// Relevance for searches (higher is better); absent in listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Unix time of the last change; absent in search results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// Link to the note in Nextcloud's web interface.
    pub url: String,
}

/// What a change to a note returns: enough to change it again (the new ETag).
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteChanged {
    pub id: u64,
    pub title: String,
    pub category: String,
    /// The note's new ETag: pass it to `nc_notes_update_note` for the next change.
    pub etag: String,
    pub url: String,
}

impl NoteChanged {
    fn from_note(base_url: &str, note: nextcloud::notes::Note) -> Self {
        Self {
            url: note_url(base_url, note.id),
            id: note.id,
            title: note.title,
            category: note.category,
            etag: note.etag,
        }
    }
}
