use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::cards::CardIdArgs;
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentOut {
    pub id: u64,
    /// `file` (a file shared with the card) or `deck_file` (uploaded to Deck).
    #[serde(rename = "type")]
    pub kind: String,
    /// File name.
    pub name: String,
    /// Path in the Files of the person who attached it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    pub created_by: String,
    /// Unix time.
    pub created_at: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentsOut {
    pub results: Vec<AttachmentOut>,
    pub count: usize,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[ToolSpec::new(
    "deck_list_attachments",
    &apps::DECK,
    Some("deck.read"),
    Read,
)];

#[tool_router(router = deck_attachments_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_list_attachments",
        title = "List a card's attachments",
        description = "List the files attached to a card."
    )]
    async fn deck_list_attachments(
        &self,
        Parameters(args): Parameters<CardIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<AttachmentsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let list = user
            .deck()
            .attachments(args.board_id, args.stack_id, args.card_id)
            .await?;
        let results: Vec<AttachmentOut> = list
            .into_iter()
            .filter(|a| a.deleted_at == 0)
            .map(|a| AttachmentOut {
                id: a.id,
                path: a
                    .extended_data
                    .get("path")
                    .and_then(|p| p.as_str())
                    .map(str::to_string),
                mimetype: a
                    .extended_data
                    .get("mimetype")
                    .and_then(|p| p.as_str())
                    .map(str::to_string),
                kind: a.kind,
                name: a.data,
                created_by: a.created_by,
                created_at: a.created_at,
            })
            .collect();
        answer(AttachmentsOut {
            count: results.len(),
            results,
        })
    }
}
