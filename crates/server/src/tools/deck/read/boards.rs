use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, given};
use crate::tools::deck::{
    CardStatus, CardView, Detail, LabelOut, board_url, default_preview, stacks_with_cards,
};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Serialize, JsonSchema)]
pub struct BoardSummary {
    pub id: u64,
    pub title: String,
    /// User id of the owner.
    pub owner: String,
    pub color: String,
    pub archived: bool,
    /// Whether you may change cards on this board (false for a read-only share).
    pub can_edit: bool,
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BoardsOut {
    pub boards: Vec<BoardSummary>,
    pub total: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetBoardArgs {
    pub board_id: u64,
    /// Include the sharing rules.
    #[serde(default = "yes")]
    pub include_acl: bool,
    #[serde(default = "yes")]
    pub include_users: bool,
    #[serde(default = "yes")]
    pub include_labels: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BoardOut {
    pub id: u64,
    pub title: String,
    pub owner: Value,
    pub color: String,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<LabelOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<Value>,
    /// What you may do: PERMISSION_READ / _EDIT / _MANAGE / _SHARE.
    pub permissions: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Value>,
    #[serde(rename = "deletedAt")]
    pub deleted_at: i64,
    #[serde(rename = "lastModified")]
    pub last_modified: i64,
    pub url: String,
    pub settings: Value,
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct OverviewArgs {
    pub board_id: u64,
    /// `open`: not done or archived.
    #[serde(default)]
    pub status: CardStatus,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// 0 for none.
    #[serde(default = "default_preview")]
    pub description_preview_length: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OverviewOut {
    pub board_id: u64,
    pub title: String,
    /// Label titles available on the board.
    pub labels: Vec<String>,
    pub stacks: Vec<crate::tools::deck::StackOut>,
    pub total_cards: usize,
}

/// `serde_json::to_value` for the heterogeneous pieces of a board.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_get_boards", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new("deck_get_board", &apps::DECK, Some("deck.read"), Read),
    ToolSpec::new(
        "deck_get_board_overview",
        &apps::DECK,
        Some("deck.read"),
        Read,
    ),
];

#[tool_router(router = deck_boards_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_get_boards",
        title = "List Deck boards",
        description = "List your Deck boards (own and shared) with their ids, owners and whether you may edit them."
    )]
    async fn deck_get_boards(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<BoardsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let base = user.client().base_url();
        let boards: Vec<BoardSummary> = user
            .deck()
            .boards()
            .await?
            .into_iter()
            .filter(|b| b.deleted_at == 0)
            .map(|b| BoardSummary {
                url: board_url(base, b.id),
                id: b.id,
                title: b.title,
                owner: b.owner.uid,
                color: b.color,
                archived: b.archived,
                can_edit: b.permissions.edit,
            })
            .collect();
        answer(BoardsOut {
            total: boards.len(),
            boards,
        })
    }

    #[tool(
        name = "deck_get_board",
        title = "Read a Deck board",
        description = "One Deck board's details: owner, colour, your permissions, labels, sharing."
    )]
    async fn deck_get_board(
        &self,
        Parameters(args): Parameters<GetBoardArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<BoardOut>, ToolError> {
        let user = self.user(&ctx)?;
        let b = user.deck().board(args.board_id).await?;
        let to_value = |v: &dyn erased::Ser| v.value();
        Ok(Json(BoardOut {
            url: board_url(user.client().base_url(), b.id),
            id: b.id,
            owner: to_value(&b.owner),
            labels: args
                .include_labels
                .then(|| b.labels.iter().map(LabelOut::from).collect()),
            acl: args.include_acl.then(|| to_value(&b.acl)),
            users: args.include_users.then(|| to_value(&b.users)),
            permissions: to_value(&b.permissions),
            title: b.title,
            color: b.color,
            archived: b.archived,
            deleted_at: b.deleted_at,
            last_modified: b.last_modified,
            settings: b.settings,
            etag: b.etag,
        }))
    }

    #[tool(
        name = "deck_get_board_overview",
        title = "Deck board overview",
        description = "A whole Deck board in one call: stacks (columns) in order with short cards, filtered by status, label or person."
    )]
    async fn deck_get_board_overview(
        &self,
        Parameters(args): Parameters<OverviewArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OverviewOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let base = user.client().base_url();
        let board = user.deck().board(args.board_id).await?;
        let view = CardView {
            detail: Detail::Summary,
            status: args.status,
            label: given(args.label),
            assigned_to: given(args.assigned_to),
            description_max_length: None,
            description_preview_length: args.description_preview_length,
        };
        let stacks: Vec<crate::tools::deck::StackOut> =
            stacks_with_cards(&user, args.board_id, &view)
                .await?
                .iter()
                .map(|(s, cards)| view.stack(base, s, cards, true))
                .collect();
        answer(OverviewOut {
            board_id: board.id,
            title: board.title,
            labels: board.labels.iter().map(|l| l.title.clone()).collect(),
            total_cards: stacks.iter().map(|s| s.card_count).sum(),
            stacks,
        })
    }
}
