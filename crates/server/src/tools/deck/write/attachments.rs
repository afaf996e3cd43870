use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::deck::Changed;
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AttachFileArgs {
    pub card_id: u64,
    /// In your Files, e.g. `/Documents/spec.pdf`.
    pub path: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AttachNoteArgs {
    pub card_id: u64,
    pub note_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Attached {
    /// Id of the attachment (the share with the card).
    pub attachment_id: u64,
    pub card_id: u64,
    pub path: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteAttachmentArgs {
    pub board_id: u64,
    pub stack_id: u64,
    pub card_id: u64,
    pub attachment_id: u64,
    /// `file` or `deck_file`, as deck_list_attachments shows.
    #[serde(default = "deck_file")]
    pub attachment_type: String,
}

fn deck_file() -> String {
    "deck_file".into()
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_attach_file", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new("deck_attach_note", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new(
        "deck_delete_attachment",
        &apps::DECK,
        Some("deck.write"),
        Delete,
    ),
];

#[tool_router(router = deck_attachments_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_attach_file",
        title = "Attach a file to a card",
        description = "Attach a file from your Files to a card by sharing it with the card (no copy)."
    )]
    async fn deck_attach_file(
        &self,
        Parameters(args): Parameters<AttachFileArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Attached>>, ToolError> {
        if !args.path.starts_with('/') || args.path.trim_end_matches('/').is_empty() {
            return Err(ToolError::invalid(
                "path",
                "expected the path of a file in your Files, starting with `/`, e.g. `/Documents/spec.pdf`",
            ));
        }
        let user = self.user(&ctx)?;
        let id = user
            .deck()
            .share_file_with_card(&args.path, args.card_id)
            .await?;
        answer(Attached {
            attachment_id: id,
            card_id: args.card_id,
            path: args.path,
        })
    }

    #[tool(
        name = "deck_attach_note",
        title = "Attach a note to a card",
        description = "Attach a note from the Notes app to a card, as a link to its file (it stays editable in Notes)."
    )]
    async fn deck_attach_note(
        &self,
        Parameters(args): Parameters<AttachNoteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Attached>>, ToolError> {
        let user = self.user(&ctx)?;
        let notes = user.notes();
        let note = notes.get(args.note_id).await?;
        let settings = notes.settings().await?;
        let mut path = format!("/{}", settings.notes_path.trim_matches('/'));
        if !note.category.is_empty() {
            path.push('/');
            path.push_str(&note.category);
        }
        let suffix = if settings.file_suffix.starts_with('.') {
            settings.file_suffix.clone()
        } else {
            ".md".to_string()
        };
        path.push_str(&format!("/{}{suffix}", note.title));
        let id = user
            .deck()
            .share_file_with_card(&path, args.card_id)
            .await?;
        answer(Attached {
            attachment_id: id,
            card_id: args.card_id,
            path,
        })
    }

    #[tool(
        name = "deck_delete_attachment",
        title = "Remove an attachment",
        description = "Remove an attachment from a card; a file attached from your Files stays there."
    )]
    async fn deck_delete_attachment(
        &self,
        Parameters(args): Parameters<DeleteAttachmentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Changed>>, ToolError> {
        if !matches!(args.attachment_type.as_str(), "file" | "deck_file") {
            return Err(ToolError::invalid(
                "attachment_type",
                "expected `file` or `deck_file` (the type deck_list_attachments shows)",
            ));
        }
        let user = self.user(&ctx)?;
        user.deck()
            .delete_attachment(
                args.board_id,
                args.stack_id,
                args.card_id,
                args.attachment_id,
                &args.attachment_type,
            )
            .await?;
        let mut out = Changed::ok(format!(
            "Attachment {} was removed from card {}.",
            args.attachment_id, args.card_id
        ));
        out.card_id = Some(args.card_id);
        out.attachment_id = Some(args.attachment_id);
        answer(out)
    }
}
