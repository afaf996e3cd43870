use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoteChanged;
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::notes::{NewNote, NoteChanges};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateNoteArgs {
    /// Title of the new note (also its file name in Nextcloud).
    pub title: String,
    /// Markdown text of the note.
    pub content: String,
    /// Category (a folder below the notes folder; `/` nests), or "" for none.
    #[serde(default)]
    pub category: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateNoteArgs {
    /// Id of the note to change.
    pub note_id: u64,
    /// ETag from the last read of the note (nc_notes_get_note). If the note changed since,
    /// nothing is written and a conflict is reported.
    pub etag: String,
    /// New title, or null to keep it.
    #[serde(default)]
    pub title: Option<String>,
    /// New Markdown content (replaces the whole text), or null to keep it.
    #[serde(default)]
    pub content: Option<String>,
    /// New category, or null to keep it.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppendArgs {
    /// Id of the note to add to.
    pub note_id: u64,
    /// Markdown to add at the end; it is separated from the existing text by a `---` line.
    pub content: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteNoteArgs {
    /// Id of the note to delete.
    pub note_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteNoteOut {
    pub status_code: u16,
    pub message: String,
    pub deleted_id: u64,
}

/// What `nc_notes_append_content` puts between the old text and the new.
const APPEND_SEPARATOR: &str = "\n---\n";

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_notes_create_note",
        &apps::NOTES,
        Some("notes.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_notes_update_note",
        &apps::NOTES,
        Some("notes.write"),
        Overwrite,
    ),
    ToolSpec::new(
        "nc_notes_append_content",
        &apps::NOTES,
        Some("notes.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_notes_delete_note",
        &apps::NOTES,
        Some("notes.write"),
        Delete,
    ),
];

#[tool_router(router = notes_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_notes_create_note",
        title = "Create a note",
        description = "Create a note in the Notes app with a title, Markdown content and an optional category. Returns its id and ETag."
    )]
    async fn nc_notes_create_note(
        &self,
        Parameters(args): Parameters<CreateNoteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<NoteChanged>>, ToolError> {
        if args.title.trim().is_empty() && args.content.trim().is_empty() {
            return Err(ToolError::invalid("title", "give a title or some content"));
        }
        let user = self.user(&ctx)?;
        let note = user
            .notes()
            .create(&NewNote {
                title: args.title,
                content: args.content,
                category: args.category,
                favorite: false,
            })
            .await?;
        answer(NoteChanged::from_note(user.client().base_url(), note))
    }

    #[tool(
        name = "nc_notes_update_note",
        title = "Update a note",
        description = "Change a note's title, content and/or category. Needs the ETag from your last read: if someone changed the note since, nothing is overwritten and you are told to read it again. Content replaces the whole text; to add to it use nc_notes_append_content."
    )]
    async fn nc_notes_update_note(
        &self,
        Parameters(args): Parameters<UpdateNoteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<NoteChanged>>, ToolError> {
        non_empty(
            "etag",
            &args.etag,
            "expected the note's ETag from nc_notes_get_note",
        )?;
        let changes = NoteChanges {
            title: args.title,
            content: args.content,
            category: args.category,
            favorite: None,
        };
        if changes.is_empty() {
            return Err(ToolError::invalid(
                "title",
                "nothing to change: give at least one of title, content or category",
            ));
        }
        let user = self.user(&ctx)?;
        let note = user
            .notes()
            .update(args.note_id, &changes, Some(&args.etag))
            .await?;
        answer(NoteChanged::from_note(user.client().base_url(), note))
    }

    #[tool(
        name = "nc_notes_append_content",
        title = "Append to a note",
        description = "Add Markdown to the end of a note, below a `---` separator line. Safe against concurrent edits: the other person's text is kept and yours is added after it."
    )]
    async fn nc_notes_append_content(
        &self,
        Parameters(args): Parameters<AppendArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<NoteChanged>>, ToolError> {
        if args.content.is_empty() {
            return Err(ToolError::invalid(
                "content",
                "expected some text to append",
            ));
        }
        let user = self.user(&ctx)?;
        let note = user
            .notes()
            .append(args.note_id, &args.content, APPEND_SEPARATOR)
            .await?;
        answer(NoteChanged::from_note(user.client().base_url(), note))
    }

    #[tool(
        name = "nc_notes_delete_note",
        title = "Delete a note",
        description = "Delete a note (Nextcloud keeps it in the trash bin for a while)."
    )]
    async fn nc_notes_delete_note(
        &self,
        Parameters(args): Parameters<DeleteNoteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeleteNoteOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.notes().delete(args.note_id).await?;
        answer(DeleteNoteOut {
            status_code: 200,
            message: format!("Note {} was deleted.", args.note_id),
            deleted_id: args.note_id,
        })
    }
}
