use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, in_range};
use crate::tools::deck::{Detail, truncate};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::deck::Comment;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
// Inlined: a short enum costs less in every tool schema than a shared definition.
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum CommentOrder {
    #[default]
    Newest,
    Oldest,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListCommentsArgs {
    pub card_id: u64,
    /// 1-200.
    #[serde(default = "twenty")]
    pub limit: u32,
    #[serde(default)]
    pub offset: u32,
    /// `full` adds mention and reply ids.
    #[serde(default)]
    pub detail: Detail,
    /// Cut messages to this length.
    #[serde(default)]
    pub message_max_length: Option<usize>,
    #[serde(default)]
    pub order: CommentOrder,
}

fn twenty() -> u32 {
    20
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentOut {
    pub id: u64,
    pub author: String,
    pub author_name: String,
    /// ISO 8601.
    pub created: String,
    pub message: String,
    /// Id of the comment this one answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mentions: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_id: Option<u64>,
}

pub(in crate::tools::deck) fn comment_out(
    c: Comment,
    detail: Detail,
    max: Option<usize>,
) -> CommentOut {
    let full = detail == Detail::Full;
    CommentOut {
        id: c.id,
        author: c.actor_id,
        author_name: c.actor_display_name,
        created: c.creation_date_time,
        message: match max {
            Some(n) => truncate(&c.message, n),
            None => c.message,
        },
        reply_to: c.reply_to.map(|r| r.id),
        mentions: full.then(|| serde_json::to_value(&c.mentions).unwrap_or_default()),
        card_id: full.then_some(c.object_id),
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentsOut {
    pub results: Vec<CommentOut>,
    pub count: usize,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[ToolSpec::new(
    "deck_get_card_comments",
    &apps::DECK,
    Some("deck.read"),
    Read,
)];

#[tool_router(router = deck_comments_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_get_card_comments",
        title = "Read a card's comments",
        description = "Read the comments on a card, newest first by default, a page at a time."
    )]
    async fn deck_get_card_comments(
        &self,
        Parameters(args): Parameters<ListCommentsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CommentsOut>>, ToolError> {
        in_range("limit", args.limit, 1..=200)?;
        let user = self.user(&ctx)?;
        let deck = user.deck();
        let comments = match args.order {
            CommentOrder::Newest => deck.comments(args.card_id, args.limit, args.offset).await?,
            CommentOrder::Oldest => {
                // The API pages newest first: read them all, then page from the oldest.
                let mut all = Vec::new();
                loop {
                    let page = deck.comments(args.card_id, 200, all.len() as u32).await?;
                    let n = page.len();
                    all.extend(page);
                    if n < 200 {
                        break;
                    }
                }
                all.reverse();
                all.into_iter()
                    .skip(args.offset as usize)
                    .take(args.limit as usize)
                    .collect()
            }
        };
        let results: Vec<CommentOut> = comments
            .into_iter()
            .map(|c| comment_out(c, args.detail, args.message_max_length))
            .collect();
        answer(CommentsOut {
            count: results.len(),
            results,
        })
    }
}
