//! Deck tools that only read: boards, their stacks and cards, labels, comments and
//! attachments, one file per kind of thing.

pub(in crate::tools) mod attachments;
pub(in crate::tools) mod boards;
pub(in crate::tools) mod cards;
pub(in crate::tools) mod comments;
pub(in crate::tools) mod labels;
pub(in crate::tools) mod stacks;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

pub(super) fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::deck_boards_read_router()
        + NextcloudMcp::deck_stacks_read_router()
        + NextcloudMcp::deck_cards_read_router()
        + NextcloudMcp::deck_labels_read_router()
        + NextcloudMcp::deck_comments_read_router()
        + NextcloudMcp::deck_attachments_read_router()
}
