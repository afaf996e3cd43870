//! Deck tools that change something, one file per kind of thing they change.

pub(in crate::tools) mod assignments;
pub(in crate::tools) mod attachments;
pub(in crate::tools) mod boards;
pub(in crate::tools) mod cards;
pub(in crate::tools) mod comments;
pub(in crate::tools) mod labels;
pub(in crate::tools) mod stacks;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

pub(super) fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::deck_boards_write_router()
        + NextcloudMcp::deck_stacks_write_router()
        + NextcloudMcp::deck_cards_write_router()
        + NextcloudMcp::deck_labels_write_router()
        + NextcloudMcp::deck_assignments_write_router()
        + NextcloudMcp::deck_comments_write_router()
        + NextcloudMcp::deck_attachments_write_router()
}
