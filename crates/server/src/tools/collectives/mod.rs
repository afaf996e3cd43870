//! Collectives app tools: `collectives_*`. Collectives are team wikis; their pages are markdown
//! files, read and written through WebDAV with the file's ETag so that a concurrent edit is a
//! conflict rather than lost. Page search answers from the app's index, which a background job
//! builds, so pages changed a moment ago may not be found yet.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::NextcloudMcp;
use nextcloud::collectives::{Collective, Page, Tag};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::collectives_read_router() + NextcloudMcp::collectives_write_router()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CollectiveArgs {
    pub collective_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageArgs {
    pub collective_id: u64,
    pub page_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CollectiveOut {
    pub id: u64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trash_timestamp: Option<i64>,
}

impl From<Collective> for CollectiveOut {
    fn from(c: Collective) -> Self {
        Self {
            id: c.id,
            name: c.name,
            emoji: c.emoji.filter(|e| !e.is_empty()),
            trash_timestamp: c.trash_timestamp,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PageOut {
    pub id: u64,
    pub title: String,
    pub parent_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

impl From<Page> for PageOut {
    fn from(p: Page) -> Self {
        Self {
            id: p.id,
            title: p.title,
            parent_id: p.parent_id,
            emoji: p.emoji.filter(|e| !e.is_empty()),
            tags: p.tags,
            timestamp: p.timestamp,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TagOut {
    pub id: u64,
    pub name: String,
    pub color: String,
}

impl From<Tag> for TagOut {
    fn from(t: Tag) -> Self {
        Self {
            id: t.id,
            name: t.name,
            color: t.color,
        }
    }
}

/// The pages of an answer, converted.
pub fn pages_out(pages: Vec<Page>) -> Vec<PageOut> {
    pages.into_iter().map(PageOut::from).collect()
}
