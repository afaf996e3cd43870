use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::deck::{CardFilterArgs, CardOut, LabelOut, card_url};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetCardsArgs {
    pub board_id: u64,
    pub stack_id: u64,
    #[serde(flatten)]
    pub filter: CardFilterArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CardsOut {
    pub cards: Vec<CardOut>,
    pub total: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CardIdArgs {
    pub board_id: u64,
    pub stack_id: u64,
    pub card_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CardFull {
    pub id: u64,
    pub title: String,
    #[serde(rename = "stackId")]
    pub stack_id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub order: i64,
    pub archived: bool,
    /// User id of the owner.
    pub owner: String,
    pub description: String,
    pub duedate: Option<String>,
    pub startdate: Option<String>,
    /// When the card was marked done, or null.
    pub done: Option<String>,
    pub color: Option<String>,
    #[serde(rename = "lastModified")]
    pub last_modified: i64,
    #[serde(rename = "createdAt")]
    pub created_at: i64,
    pub labels: Vec<LabelOut>,
    /// User ids of the assignees.
    #[serde(rename = "assignedUsers")]
    pub assigned_users: Vec<String>,
    /// Cards this card depends on.
    #[serde(rename = "dependentCards")]
    pub dependent_cards: Vec<Value>,
    pub attachments: Option<Value>,
    #[serde(rename = "attachmentCount")]
    pub attachment_count: Option<i64>,
    #[serde(rename = "deletedAt")]
    pub deleted_at: i64,
    #[serde(rename = "commentsUnread")]
    pub comments_unread: i64,
    #[serde(rename = "commentsCount")]
    pub comments_count: i64,
    #[serde(rename = "lastEditor")]
    pub last_editor: Option<String>,
    /// 0 no due date or done, 1 due later, 2 due within a day, 3 overdue.
    pub overdue: i64,
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    pub url: String,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_get_cards", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new("deck_get_card", &apps::DECK, Some("deck.read"), Read),
];

#[tool_router(router = deck_cards_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_get_cards",
        title = "List cards of a stack",
        description = "Cards of one stack (column), filtered by status, label or person; detail=full adds every field."
    )]
    async fn deck_get_cards(
        &self,
        Parameters(args): Parameters<GetCardsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let view = args.filter.view();
        let stacks = crate::tools::deck::stacks_with_cards(&user, args.board_id, &view).await?;
        let Some((stack, cards)) = stacks.iter().find(|(s, _)| s.id == args.stack_id) else {
            return Err(nextcloud::Error::NotFound {
                what: format!("Stack {} on Deck board {}", args.stack_id, args.board_id),
                message: None,
            }
            .into());
        };
        let out = view.stack(user.client().base_url(), stack, cards, true);
        answer(CardsOut {
            total: out.cards.len(),
            cards: out.cards,
        })
    }

    #[tool(
        name = "deck_get_card",
        title = "Read a card",
        description = "One card (task) in full: description, dates, labels, assignees, dependencies, attachments."
    )]
    async fn deck_get_card(
        &self,
        Parameters(args): Parameters<CardIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<CardFull>, ToolError> {
        let user = self.user(&ctx)?;
        let c = user
            .deck()
            .card(args.board_id, args.stack_id, args.card_id)
            .await?;
        Ok(Json(CardFull {
            url: card_url(user.client().base_url(), args.board_id, c.id),
            id: c.id,
            stack_id: c.stack_id,
            kind: c.kind,
            order: c.order,
            archived: c.archived,
            owner: c.owner.uid,
            description: c.description.unwrap_or_default(),
            duedate: c.duedate,
            startdate: c.startdate,
            done: c.done,
            color: c.color,
            last_modified: c.last_modified,
            created_at: c.created_at,
            labels: c.labels.iter().map(LabelOut::from).collect(),
            assigned_users: c
                .assigned_users
                .into_iter()
                .map(|a| a.participant.uid)
                .collect(),
            dependent_cards: c.dependent_cards,
            attachments: c
                .attachments
                .map(|a| serde_json::to_value(a).unwrap_or_default()),
            attachment_count: c.attachment_count,
            deleted_at: c.deleted_at,
            comments_unread: c.comments_unread,
            comments_count: c.comments_count,
            last_editor: c.last_editor,
            overdue: c.overdue,
            etag: c.etag,
            title: c.title,
        }))
    }
}
