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
    pub title: String,
    pub content: String,
    /// `/` nests; "" for none.
    #[serde(default)]
    pub category: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateNoteArgs {
    pub note_id: u64,
    /// From your last read of the note.
    pub etag: String,
    #[serde(default)]
    pub title: Option<String>,
    /// Replaces the whole text.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppendArgs {
    pub note_id: u64,
    pub content: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteNoteArgs {
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
        description = "Create a note with a title, Markdown text and an optional category. Returns its id and ETag."
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
        description = "Replace a note's title, text or category (null keeps a field), with the ETag of your last read."
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
        description = "Add text at the end of a note below a `---` line, keeping the rest; no ETag needed."
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
        description = "Delete a note (it goes to the Nextcloud trash bin)."
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
