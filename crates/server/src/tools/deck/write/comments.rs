use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::deck::read::comments::{CommentOut, comment_out};
use crate::tools::deck::{Changed, Detail};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::deck::{MAX_COMMENT_LENGTH, split_text};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
// Inlined: a short enum costs less in every tool schema than a shared definition.
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    // Refuse a message over 1000 characters.
    #[default]
    Error,
    // Post a long message as several comments.
    Split,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCommentArgs {
    pub card_id: u64,
    /// At most 1000 characters unless overflow=split.
    pub message: String,
    /// Comment to reply to.
    #[serde(default)]
    pub parent_id: Option<u64>,
    /// `split` posts a long one as several comments.
    #[serde(default)]
    pub overflow: Overflow,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentWritten {
    /// The (first) comment written.
    pub comment: CommentOut,
    /// Every comment written, in order (more than one when a long message was split).
    pub parts: Vec<CommentOut>,
    pub part_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateCommentArgs {
    pub card_id: u64,
    pub comment_id: u64,
    /// At most 1000 characters.
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteCommentArgs {
    pub card_id: u64,
    pub comment_id: u64,
}

fn check_message(message: &str) -> Result<(), ToolError> {
    non_empty("message", message, "expected some text").map(drop)
}

fn comment_out_clone(c: &CommentOut) -> CommentOut {
    CommentOut {
        id: c.id,
        author: c.author.clone(),
        author_name: c.author_name.clone(),
        created: c.created.clone(),
        message: c.message.clone(),
        reply_to: c.reply_to,
        mentions: c.mentions.clone(),
        card_id: c.card_id,
    }
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "deck_create_card_comment",
        &apps::DECK,
        Some("deck.write"),
        Create,
    ),
    ToolSpec::new(
        "deck_update_card_comment",
        &apps::DECK,
        Some("deck.write"),
        Delete,
    ),
    ToolSpec::new(
        "deck_delete_card_comment",
        &apps::DECK,
        Some("deck.write"),
        Delete,
    ),
];

#[tool_router(router = deck_comments_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_create_card_comment",
        title = "Comment on a card",
        description = "Comment on a card, optionally as a reply. Over 1000 characters is refused unless overflow=split."
    )]
    async fn deck_create_card_comment(
        &self,
        Parameters(args): Parameters<CreateCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CommentWritten>>, ToolError> {
        check_message(&args.message)?;
        let length = args.message.chars().count();
        let texts = if length > MAX_COMMENT_LENGTH {
            if args.overflow == Overflow::Error {
                return Err(ToolError::invalid(
                    "message",
                    format!(
                        "{length} characters is over the {MAX_COMMENT_LENGTH}-character limit of a comment; shorten it or pass overflow='split'"
                    ),
                ));
            }
            split_text(&args.message, MAX_COMMENT_LENGTH)
        } else {
            vec![args.message.clone()]
        };
        let user = self.user(&ctx)?;
        let mut parts = Vec::new();
        for text in &texts {
            let c = user
                .deck()
                .create_comment(args.card_id, text, args.parent_id)
                .await?;
            parts.push(comment_out(c, Detail::Summary, None));
        }
        let first = parts.remove(0);
        let mut all = vec![first];
        all.extend(parts);
        let comment = comment_out_clone(&all[0]);
        answer(CommentWritten {
            part_count: all.len(),
            comment,
            parts: all,
        })
    }

    #[tool(
        name = "deck_update_card_comment",
        title = "Edit a comment",
        description = "Replace the text of your own comment on a card."
    )]
    async fn deck_update_card_comment(
        &self,
        Parameters(args): Parameters<UpdateCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CommentWritten>>, ToolError> {
        check_message(&args.message)?;
        let length = args.message.chars().count();
        if length > MAX_COMMENT_LENGTH {
            return Err(ToolError::invalid(
                "message",
                format!(
                    "{length} characters is over the {MAX_COMMENT_LENGTH}-character limit of a comment"
                ),
            ));
        }
        let user = self.user(&ctx)?;
        let c = user
            .deck()
            .update_comment(args.card_id, args.comment_id, &args.message)
            .await?;
        let out = comment_out(c, Detail::Summary, None);
        answer(CommentWritten {
            comment: comment_out_clone(&out),
            parts: vec![out],
            part_count: 1,
        })
    }

    #[tool(
        name = "deck_delete_card_comment",
        title = "Delete a comment",
        description = "Delete your own comment from a card."
    )]
    async fn deck_delete_card_comment(
        &self,
        Parameters(args): Parameters<DeleteCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Changed>>, ToolError> {
        let user = self.user(&ctx)?;
        user.deck()
            .delete_comment(args.card_id, args.comment_id)
            .await?;
        let mut out = Changed::ok(format!(
            "Comment {} was deleted from card {}.",
            args.comment_id, args.card_id
        ));
        out.card_id = Some(args.card_id);
        out.comment_id = Some(args.comment_id);
        answer(out)
    }
}
