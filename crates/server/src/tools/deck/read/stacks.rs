use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::deck::{CardFilterArgs, CardStatus, StackOut, stacks_with_cards};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetStacksArgs {
    pub board_id: u64,
    #[serde(default = "yes")]
    pub include_cards: bool,
    #[serde(flatten)]
    pub filter: CardFilterArgs,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetStackArgs {
    pub board_id: u64,
    pub stack_id: u64,
    #[serde(default = "yes")]
    pub include_cards: bool,
    #[serde(flatten)]
    pub filter: CardFilterArgs,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ArchivedStacksArgs {
    pub board_id: u64,
    /// `full`: every field.
    #[serde(default)]
    pub detail: crate::tools::deck::Detail,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Length cap with detail=full.
    #[serde(default)]
    pub description_max_length: Option<usize>,
    /// Preview length (0: none).
    #[serde(default = "crate::tools::deck::default_preview")]
    pub description_preview_length: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StacksOut {
    pub stacks: Vec<StackOut>,
    pub total: usize,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_get_stacks", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new("deck_get_stack", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new(
        "deck_get_archived_stacks",
        &apps::DECK,
        Some("deck.read"),
        Read,
    ),
];

#[tool_router(router = deck_stacks_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_get_stacks",
        title = "List a board's stacks",
        description = "A board's stacks (columns) with their cards, filtered by status, label or person."
    )]
    async fn deck_get_stacks(
        &self,
        Parameters(args): Parameters<GetStacksArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<StacksOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let view = args.filter.view();
        let base = user.client().base_url();
        let stacks: Vec<StackOut> = stacks_with_cards(&user, args.board_id, &view)
            .await?
            .iter()
            .map(|(s, cards)| view.stack(base, s, cards, args.include_cards))
            .collect();
        answer(StacksOut {
            total: stacks.len(),
            stacks,
        })
    }

    #[tool(
        name = "deck_get_stack",
        title = "Read a stack",
        description = "Read one stack (column) of a board with its cards, filtered like deck_get_stacks."
    )]
    async fn deck_get_stack(
        &self,
        Parameters(args): Parameters<GetStackArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<StackOut>, ToolError> {
        let user = self.user(&ctx)?;
        let view = args.filter.view();
        let mut stack = user.deck().stack(args.board_id, args.stack_id).await?;
        let mut cards = std::mem::take(&mut stack.cards);
        if view.needs_archived() && args.include_cards {
            let archived = user.deck().archived_stacks(args.board_id).await?;
            if let Some(a) = archived.into_iter().find(|a| a.id == stack.id) {
                cards.extend(a.cards);
            }
        }
        Ok(Json(view.stack(
            user.client().base_url(),
            &stack,
            &cards,
            args.include_cards,
        )))
    }

    #[tool(
        name = "deck_get_archived_stacks",
        title = "List archived cards by stack",
        description = "List a board's stacks with only their archived cards."
    )]
    async fn deck_get_archived_stacks(
        &self,
        Parameters(args): Parameters<ArchivedStacksArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<StacksOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let view = CardFilterArgs {
            detail: args.detail,
            status: CardStatus::Archived,
            label: args.label,
            assigned_to: args.assigned_to,
            description_max_length: args.description_max_length,
            description_preview_length: args.description_preview_length,
        }
        .view();
        let base = user.client().base_url();
        let stacks: Vec<StackOut> = user
            .deck()
            .archived_stacks(args.board_id)
            .await?
            .iter()
            .map(|s| view.stack(base, s, &s.cards, true))
            .collect();
        answer(StacksOut {
            total: stacks.len(),
            stacks,
        })
    }
}
