use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CardFilterArgs, CardStatus, Changed, StackOut, stacks_with_cards};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetStacksArgs {
    pub board_id: u64,
    /// Include the cards of each stack (filtered as below).
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
    /// Include the stack's cards (filtered as below).
    #[serde(default = "yes")]
    pub include_cards: bool,
    #[serde(flatten)]
    pub filter: CardFilterArgs,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ArchivedStacksArgs {
    pub board_id: u64,
    /// `summary` (default) or `full`.
    #[serde(default)]
    pub detail: super::Detail,
    /// Only cards with this label (title or id).
    #[serde(default)]
    pub label: Option<String>,
    /// Only cards assigned to this user (id or display name).
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// With `detail = full`: cut descriptions to this many characters.
    #[serde(default)]
    pub description_max_length: Option<usize>,
    /// With `detail = summary`: characters of description preview (default 140).
    #[serde(default = "super::default_preview")]
    pub description_preview_length: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StacksOut {
    pub stacks: Vec<StackOut>,
    pub total: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateStackArgs {
    pub board_id: u64,
    /// Title of the stack (column), e.g. "To do".
    pub title: String,
    /// Position among the board's stacks (lower comes first).
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
    /// New title, or null to keep it.
    #[serde(default)]
    pub title: Option<String>,
    /// New position, or null to keep it.
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
    ToolSpec::new("deck_get_stacks", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new("deck_get_stack", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new(
        "deck_get_archived_stacks",
        &apps::DECK,
        Some("deck.read"),
        Read,
    ),
    ToolSpec::new("deck_create_stack", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new("deck_update_stack", &apps::DECK, Some("deck.write"), Update),
    ToolSpec::new("deck_delete_stack", &apps::DECK, Some("deck.write"), Delete),
];

#[tool_router(router = deck_stacks_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_get_stacks",
        title = "List a board's stacks",
        description = "List the stacks (columns) of a Deck board in order, with their cards. Compact by default: open cards only, summary detail, 140-character description previews; use status, label, assigned_to and detail to change that."
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
        description = "Read one stack of a Deck board with its cards (open cards in summary form by default; same filters as deck_get_stacks)."
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
        description = "List the stacks of a Deck board with their archived cards only."
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

    #[tool(
        name = "deck_create_stack",
        title = "Create a stack",
        description = "Add a stack (column) to a Deck board at a position. Needs manage permission on the board."
    )]
    async fn deck_create_stack(
        &self,
        Parameters(args): Parameters<CreateStackArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<StackCreated>>, ToolError> {
        if args.title.trim().is_empty() {
            return Err(ToolError::invalid("title", "expected a non-empty title"));
        }
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
        description = "Change a stack's title and/or position; what you leave out is kept."
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
        if args.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ToolError::invalid("title", "expected a non-empty title"));
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
        description = "Delete a stack and the cards in it from a Deck board."
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
