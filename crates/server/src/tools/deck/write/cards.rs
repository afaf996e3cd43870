use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, at_least, non_empty};
use crate::tools::deck::read::cards::CardIdArgs;
use crate::tools::deck::{CardChanged, card_url};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::deck::{CardChanges, NewCard, normalize_color, normalize_date};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCardArgs {
    pub board_id: u64,
    pub stack_id: u64,
    pub title: String,
    /// Usually `plain`.
    #[serde(default = "plain", rename = "type")]
    pub kind: String,
    /// Lower comes first; 999 is the end.
    #[serde(default = "end")]
    pub order: i64,
    #[serde(default)]
    pub description: Option<String>,
    /// ISO 8601, e.g. `2030-05-01T17:00:00Z` or `2030-05-01`.
    #[serde(default)]
    pub duedate: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub startdate: Option<String>,
    /// 6 hex digits.
    #[serde(default)]
    pub color: Option<String>,
}

fn plain() -> String {
    "plain".into()
}
fn end() -> i64 {
    999
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CardCreated {
    pub id: u64,
    pub title: String,
    #[serde(rename = "stackId")]
    pub stack_id: u64,
    pub url: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateCardArgs {
    pub board_id: u64,
    pub stack_id: u64,
    pub card_id: u64,
    #[serde(default)]
    pub title: Option<String>,
    /// Markdown; replaces the old one.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// User id.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub order: Option<i64>,
    /// ISO 8601; "" clears it.
    #[serde(default)]
    pub duedate: Option<String>,
    #[serde(default)]
    pub archived: Option<bool>,
    /// When it was done (ISO 8601); "" for not done.
    #[serde(default)]
    pub done: Option<String>,
    /// ISO 8601; "" clears it.
    #[serde(default)]
    pub startdate: Option<String>,
    /// 6 hex digits; "" clears it.
    #[serde(default)]
    pub color: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReorderArgs {
    pub board_id: u64,
    /// The stack the card is in now.
    pub stack_id: u64,
    pub card_id: u64,
    /// 0 is the top.
    pub order: i64,
    /// A stack of the same board.
    pub target_stack_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MoveArgs {
    pub source_board_id: u64,
    pub source_stack_id: u64,
    pub card_id: u64,
    pub target_board_id: u64,
    pub target_stack_id: u64,
    /// 0 is the top.
    #[serde(default)]
    pub order: i64,
}

fn check_date(arg: &'static str, v: &Option<String>) -> Result<(), ToolError> {
    if let Some(s) = v.as_deref().filter(|s| !s.trim().is_empty()) {
        let ok = chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok()
            || chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S").is_ok()
            || chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok();
        if !ok {
            return Err(ToolError::invalid(
                arg,
                format!(
                    "expected an ISO 8601 date such as `2030-05-01T17:00:00Z` or `2030-05-01`, got `{s}`"
                ),
            ));
        }
    }
    Ok(())
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_create_card", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new("deck_update_card", &apps::DECK, Some("deck.write"), Delete),
    ToolSpec::new("deck_delete_card", &apps::DECK, Some("deck.write"), Delete),
    ToolSpec::new("deck_archive_card", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new(
        "deck_unarchive_card",
        &apps::DECK,
        Some("deck.write"),
        Create,
    ),
    ToolSpec::new("deck_reorder_card", &apps::DECK, Some("deck.write"), Update),
    ToolSpec::new(
        "deck_move_card_to_board",
        &apps::DECK,
        Some("deck.write"),
        Create,
    ),
];

#[tool_router(router = deck_cards_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_create_card",
        title = "Create a card",
        description = "Create a card (task) in a stack, with an optional description, due and start dates and colour."
    )]
    async fn deck_create_card(
        &self,
        Parameters(args): Parameters<CreateCardArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardCreated>>, ToolError> {
        non_empty("title", &args.title, "expected a non-empty title")?;
        if args.title.chars().count() > 255 {
            return Err(ToolError::invalid("title", "at most 255 characters"));
        }
        check_date("duedate", &args.duedate)?;
        check_date("startdate", &args.startdate)?;
        let color = match args.color.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(normalize_color(c, "color")?),
            None => None,
        };
        let user = self.user(&ctx)?;
        let card = user
            .deck()
            .create_card(
                args.board_id,
                args.stack_id,
                &NewCard {
                    title: args.title.trim().to_string(),
                    kind: args.kind,
                    order: args.order,
                    description: args.description,
                    duedate: args.duedate.as_deref().and_then(normalize_date),
                    startdate: args.startdate.as_deref().and_then(normalize_date),
                    color,
                },
            )
            .await?;
        answer(CardCreated {
            url: card_url(user.client().base_url(), args.board_id, card.id),
            id: card.id,
            title: card.title,
            stack_id: card.stack_id,
        })
    }

    #[tool(
        name = "deck_update_card",
        title = "Update a card",
        description = "Change a card's title, description, dates, done state, colour, owner or archived flag; the rest stays."
    )]
    async fn deck_update_card(
        &self,
        Parameters(args): Parameters<UpdateCardArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        if let Some(title) = &args.title {
            non_empty("title", title, "expected a non-empty title")?;
        }
        check_date("duedate", &args.duedate)?;
        check_date("startdate", &args.startdate)?;
        check_date("done", &args.done)?;
        if let Some(c) = args.color.as_deref().filter(|c| !c.is_empty()) {
            normalize_color(c, "color")?;
        }
        let changes = CardChanges {
            title: args.title.map(|t| t.trim().to_string()),
            description: args.description,
            kind: args.kind,
            owner: args.owner,
            order: args.order,
            duedate: args.duedate,
            archived: args.archived,
            done: args.done,
            startdate: args.startdate,
            color: args.color,
        };
        let user = self.user(&ctx)?;
        let card = user
            .deck()
            .update_card(args.board_id, args.stack_id, args.card_id, &changes)
            .await?;
        answer(CardChanged::new(
            user.client().base_url(),
            args.board_id,
            Some(&card),
            (args.stack_id, args.card_id),
            format!("Card {} was updated.", args.card_id),
        ))
    }

    #[tool(
        name = "deck_delete_card",
        title = "Delete a card",
        description = "Delete a card (Deck can restore it for a while)."
    )]
    async fn deck_delete_card(
        &self,
        Parameters(args): Parameters<CardIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        user.deck()
            .delete_card(args.board_id, args.stack_id, args.card_id)
            .await?;
        answer(CardChanged::new(
            user.client().base_url(),
            args.board_id,
            None,
            (args.stack_id, args.card_id),
            format!("Card {} was deleted.", args.card_id),
        ))
    }

    #[tool(
        name = "deck_archive_card",
        title = "Archive a card",
        description = "Archive a card: it leaves the board but is kept (see deck_get_archived_stacks)."
    )]
    async fn deck_archive_card(
        &self,
        Parameters(args): Parameters<CardIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        self.set_card_archived(args, true, &ctx).await
    }

    #[tool(
        name = "deck_unarchive_card",
        title = "Unarchive a card",
        description = "Bring an archived card back onto its board."
    )]
    async fn deck_unarchive_card(
        &self,
        Parameters(args): Parameters<CardIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        self.set_card_archived(args, false, &ctx).await
    }

    #[tool(
        name = "deck_reorder_card",
        title = "Move a card within a board",
        description = "Move a card to another stack of its board (e.g. \"To do\" to \"Done\") or position. Other board: deck_move_card_to_board."
    )]
    async fn deck_reorder_card(
        &self,
        Parameters(args): Parameters<ReorderArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        at_least("order", args.order, 0)?;
        let user = self.user(&ctx)?;
        let deck = user.deck();
        if args.target_stack_id != args.stack_id {
            let stacks = deck.stacks(args.board_id).await?;
            if !stacks.iter().any(|s| s.id == args.target_stack_id) {
                return Err(ToolError::invalid(
                    "target_stack_id",
                    format!(
                        "stack {} is not on board {}; to move a card to another board use deck_move_card_to_board",
                        args.target_stack_id, args.board_id
                    ),
                ));
            }
        }
        let cards = deck
            .reorder_card(args.card_id, args.target_stack_id, args.order)
            .await?;
        let card = cards.iter().find(|c| c.id == args.card_id);
        let mut out = CardChanged::new(
            user.client().base_url(),
            args.board_id,
            card,
            (args.target_stack_id, args.card_id),
            format!(
                "Card {} is now at position {} of stack {}.",
                args.card_id, args.order, args.target_stack_id
            ),
        );
        out.stack_id = args.target_stack_id;
        answer(out)
    }

    #[tool(
        name = "deck_move_card_to_board",
        title = "Move a card to another board",
        description = "Move a card to a stack on another board, keeping comments, attachments, dates and assignees."
    )]
    async fn deck_move_card_to_board(
        &self,
        Parameters(args): Parameters<MoveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        let deck = user.deck();
        let targets = deck.stacks(args.target_board_id).await?;
        if !targets.iter().any(|s| s.id == args.target_stack_id) {
            return Err(ToolError::invalid(
                "target_stack_id",
                format!(
                    "stack {} is not on board {}; list its stacks with deck_get_stacks",
                    args.target_stack_id, args.target_board_id
                ),
            ));
        }
        let current = deck
            .card(args.source_board_id, args.source_stack_id, args.card_id)
            .await?;
        let mut moved = deck
            .move_card(&current, args.target_stack_id, args.order)
            .await?;
        if current.is_done() && !moved.is_done() {
            moved = deck.mark_done(args.card_id).await?;
        }
        answer(CardChanged::new(
            user.client().base_url(),
            args.target_board_id,
            Some(&moved),
            (args.target_stack_id, args.card_id),
            format!(
                "Card {} moved to stack {} on board {}.",
                args.card_id, args.target_stack_id, args.target_board_id
            ),
        ))
    }
}

impl NextcloudMcp {
    /// Archives or unarchives a card: the two tools differ only in the flag.
    async fn set_card_archived(
        &self,
        args: CardIdArgs,
        archived: bool,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user = self.user(ctx)?;
        let card = user
            .deck()
            .set_archived(args.board_id, args.stack_id, args.card_id, archived)
            .await?;
        let done = if archived { "archived" } else { "unarchived" };
        answer(CardChanged::new(
            user.client().base_url(),
            args.board_id,
            Some(&card),
            (args.stack_id, args.card_id),
            format!("Card {} was {done}.", args.card_id),
        ))
    }
}
