use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateBoardArgs {
    pub title: String,
    /// 6 hex digits, e.g. `0082c9`.
    pub color: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedOut {
    pub id: u64,
    pub title: String,
    pub color: String,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[ToolSpec::new(
    "deck_create_board",
    &apps::DECK,
    Some("deck.write"),
    Create,
)];

#[tool_router(router = deck_boards_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_create_board",
        title = "Create a Deck board",
        description = "Create a Deck board (kanban) with a title and a colour; add its columns with deck_create_stack."
    )]
    async fn deck_create_board(
        &self,
        Parameters(args): Parameters<CreateBoardArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreatedOut>>, ToolError> {
        non_empty("title", &args.title, "expected a non-empty title")?;
        let color = nextcloud::deck::normalize_color(&args.color, "color")?;
        let user = self.user(&ctx)?;
        let b = user.deck().create_board(args.title.trim(), &color).await?;
        answer(CreatedOut {
            id: b.id,
            title: b.title,
            color: b.color,
        })
    }
}
