use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::deck::Changed;
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateStackArgs {
    pub board_id: u64,
    pub title: String,
    /// Lower comes first.
    pub order: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StackCreated {
    pub id: u64,
    pub title: String,
    pub order: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateStackArgs {
    pub board_id: u64,
    pub stack_id: u64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub order: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StackIdArgs {
    pub board_id: u64,
    pub stack_id: u64,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_create_stack", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new("deck_update_stack", &apps::DECK, Some("deck.write"), Update),
    ToolSpec::new("deck_delete_stack", &apps::DECK, Some("deck.write"), Delete),
];

#[tool_router(router = deck_stacks_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_create_stack",
        title = "Create a stack",
        description = "Add a stack (a column such as \"To do\") to a Deck board at a position."
    )]
    async fn deck_create_stack(
        &self,
        Parameters(args): Parameters<CreateStackArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<StackCreated>>, ToolError> {
        non_empty("title", &args.title, "expected a non-empty title")?;
        let user = self.user(&ctx)?;
        let s = user
            .deck()
            .create_stack(args.board_id, args.title.trim(), args.order)
            .await?;
        answer(StackCreated {
            id: s.id,
            title: s.title,
            order: s.order,
        })
    }

    #[tool(
        name = "deck_update_stack",
        title = "Rename or move a stack",
        description = "Rename a stack (column) or change its position."
    )]
    async fn deck_update_stack(
        &self,
        Parameters(args): Parameters<UpdateStackArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Changed>>, ToolError> {
        if args.title.is_none() && args.order.is_none() {
            return Err(ToolError::invalid(
                "title",
                "nothing to change: give a title and/or an order",
            ));
        }
        if let Some(title) = &args.title {
            non_empty("title", title, "expected a non-empty title")?;
        }
        let user = self.user(&ctx)?;
        let s = user
            .deck()
            .update_stack(
                args.board_id,
                args.stack_id,
                args.title.as_deref().map(str::trim),
                args.order,
            )
            .await?;
        let mut out = Changed::ok(format!(
            "Stack {} is now `{}` at order {}.",
            s.id, s.title, s.order
        ));
        out.stack_id = Some(args.stack_id);
        out.board_id = Some(args.board_id);
        answer(out)
    }

    #[tool(
        name = "deck_delete_stack",
        title = "Delete a stack",
        description = "Delete a stack (column) with all its cards."
    )]
    async fn deck_delete_stack(
        &self,
        Parameters(args): Parameters<StackIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Changed>>, ToolError> {
        let user = self.user(&ctx)?;
        user.deck()
            .delete_stack(args.board_id, args.stack_id)
            .await?;
        let mut out = Changed::ok(format!("Stack {} was deleted.", args.stack_id));
        out.stack_id = Some(args.stack_id);
        out.board_id = Some(args.board_id);
        answer(out)
    }
}
