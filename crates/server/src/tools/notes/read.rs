use base64::Engine;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{NoteSummary, note_url};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, in_range, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetNoteArgs {
    pub note_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteOut {
    pub id: u64,
    pub title: String,
    /// Markdown text of the note.
    pub content: String,
    pub category: String,
    /// Unix time of the last change.
    pub modified: i64,
    pub favorite: bool,
    /// Pass this to `nc_notes_update_note` so a concurrent edit is detected.
    pub etag: String,
    pub readonly: bool,
    pub url: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListNotesArgs {
    /// Only this category; "" for notes without one.
    #[serde(default)]
    pub category: Option<String>,
    /// 1-1000.
    #[serde(default = "default_list_limit")]
    pub limit: u32,
}

fn default_list_limit() -> u32 {
    100
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListNotesOut {
    /// Notes matching the filter, before `limit` was applied.
    pub total_found: usize,
    pub category: Option<String>,
    pub results: Vec<NoteSummary>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchNotesArgs {
    pub query: String,
    /// 1-200.
    #[serde(default = "default_search_limit")]
    pub limit: u32,
}

fn default_search_limit() -> u32 {
    20
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchNotesOut {
    /// Best matches first.
    pub results: Vec<NoteSummary>,
    pub query: String,
    pub total_found: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetAttachmentArgs {
    pub note_id: u64,
    /// As the note's Markdown names it, e.g. `photo.png`.
    pub attachment_filename: String,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("nc_notes_get_note", &apps::NOTES, Some("notes.read"), Read),
    ToolSpec::new(
        "nc_notes_list_notes",
        &apps::NOTES,
        Some("notes.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_notes_search_notes",
        &apps::NOTES,
        Some("notes.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_notes_get_attachment",
        &apps::NOTES,
        Some("notes.read"),
        Read,
    ),
];

#[tool_router(router = notes_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_notes_get_note",
        title = "Read a note",
        description = "Read one note in full: its Markdown text, title, category and the ETag needed to change it."
    )]
    async fn nc_notes_get_note(
        &self,
        Parameters(args): Parameters<GetNoteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<NoteOut>, ToolError> {
        let user = self.user(&ctx)?;
        let note = user.notes().get(args.note_id).await?;
        Ok(Json(NoteOut {
            url: note_url(user.client().base_url(), note.id),
            id: note.id,
            title: note.title,
            content: note.content,
            category: note.category,
            modified: note.modified,
            favorite: note.favorite,
            etag: note.etag,
            readonly: note.readonly,
        }))
    }

    #[tool(
        name = "nc_notes_list_notes",
        title = "List notes",
        description = "Notes, newest first, optionally of one category: ids and titles only."
    )]
    async fn nc_notes_list_notes(
        &self,
        Parameters(args): Parameters<ListNotesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListNotesOut>>, ToolError> {
        in_range("limit", args.limit, 1..=1000)?;
        let user = self.user(&ctx)?;
        let query = nextcloud::notes::ListQuery {
            category: args.category.clone(),
            exclude: vec!["content"],
            ..Default::default()
        };
        let notes = user
            .notes()
            .list(&query)
            .await?
            .map(|l| l.notes)
            .unwrap_or_default();
        let mut notes: Vec<_> = notes.into_iter().filter(|n| !n.is_pruned()).collect();
        notes.sort_by_key(|n| std::cmp::Reverse(n.modified.unwrap_or_default()));
        let total_found = notes.len();
        let base = user.client().base_url();
        let results = notes
            .into_iter()
            .take(args.limit as usize)
            .map(|n| NoteSummary {
                url: note_url(base, n.id),
                id: n.id,
                title: n.title.unwrap_or_default(),
                category: n.category.unwrap_or_default(),
                score: None,
                modified: n.modified,
            })
            .collect();
        answer(ListNotesOut {
            total_found,
            category: args.category,
            results,
        })
    }

    #[tool(
        name = "nc_notes_search_notes",
        title = "Search notes",
        description = "Find notes by words in title, text or category, best first. Gives ids and titles."
    )]
    async fn nc_notes_search_notes(
        &self,
        Parameters(args): Parameters<SearchNotesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchNotesOut>>, ToolError> {
        let query = non_empty(
            "query",
            &args.query,
            "expected at least one word to search for",
        )?;
        in_range("limit", args.limit, 1..=200)?;
        let user = self.user(&ctx)?;
        let query = crate::search::Query {
            text: query.to_string(),
            kinds: vec![crate::search::Kind::Notes],
            limit: args.limit as usize,
            ..Default::default()
        };
        let hits = self
            .state()
            .search
            .search(&user, &query, &[crate::search::Kind::Notes], None)
            .await
            .map_err(|e| match e {
                crate::search::SearchError::Nextcloud(e) => ToolError::Nextcloud(e),
                other => ToolError::invalid("query", other.to_string()),
            })?;
        let results: Vec<_> = hits
            .into_iter()
            .filter_map(|h| {
                Some(NoteSummary {
                    id: h.id.id.parse().ok()?,
                    url: h.url,
                    title: h.title,
                    category: h.path,
                    score: Some(h.score),
                    modified: Some(h.modified),
                })
            })
            .collect();
        answer(SearchNotesOut {
            total_found: results.len(),
            query: args.query,
            results,
        })
    }

    #[tool(
        name = "nc_notes_get_attachment",
        title = "Read a note attachment",
        description = "Fetch a file attached to a note, such as a pasted image, by the file name the note's Markdown uses."
    )]
    async fn nc_notes_get_attachment(
        &self,
        Parameters(args): Parameters<GetAttachmentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ToolError> {
        let user = self.user(&ctx)?;
        let note = user.notes().get(args.note_id).await?;
        let file = user
            .notes()
            .attachment(&note, &args.attachment_filename)
            .await?;
        let uri = format!(
            "nc://Notes/{}/attachments/{}",
            note.id,
            nextcloud::dav::encode_segment(&args.attachment_filename)
        );
        let data = base64::engine::general_purpose::STANDARD.encode(&file.content);
        let mime = file
            .content_type
            .split(';')
            .next()
            .unwrap_or("application/octet-stream")
            .trim()
            .to_string();
        let summary = ContentBlock::text(format!(
            "Attachment `{}` of note {} ({}, {} bytes)",
            args.attachment_filename,
            note.id,
            mime,
            file.content.len()
        ));
        let body = if mime.starts_with("image/") {
            ContentBlock::image(data, mime)
        } else {
            ContentBlock::resource(ResourceContents::blob(data, uri).with_mime_type(mime))
        };
        Ok(CallToolResult::success(vec![summary, body]))
    }
}
