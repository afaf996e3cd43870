use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::deck::LabelOut;
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BoardIdArgs {
    pub board_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LabelsOut {
    pub labels: Vec<LabelOut>,
    pub total: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelIdArgs {
    pub board_id: u64,
    pub label_id: u64,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_get_labels", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new("deck_get_label", &apps::DECK, Some("deck.read"), Read),
];

#[tool_router(router = deck_labels_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_get_labels",
        title = "List a board's labels",
        description = "List the labels defined on a Deck board."
    )]
    async fn deck_get_labels(
        &self,
        Parameters(args): Parameters<BoardIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<LabelsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let board = user.deck().board(args.board_id).await?;
        let labels: Vec<LabelOut> = board.labels.iter().map(LabelOut::from).collect();
        answer(LabelsOut {
            total: labels.len(),
            labels,
        })
    }

    #[tool(
        name = "deck_get_label",
        title = "Read a label",
        description = "Read one label of a Deck board."
    )]
    async fn deck_get_label(
        &self,
        Parameters(args): Parameters<LabelIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<LabelOut>, ToolError> {
        let user = self.user(&ctx)?;
        let label = user.deck().label(args.board_id, args.label_id).await?;
        Ok(Json(LabelOut::from(&label)))
    }
}
