//! Sharing tools: `nc_share_*`, over the Sharing app's OCS API.

pub(super) mod tools;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

pub fn router() -> ToolRouter<NextcloudMcp> {
    // Items hidden by EXCLUDED_TAGS cannot be shared either.
    crate::tools::files::guard::guarded(NextcloudMcp::sharing_router())
}
