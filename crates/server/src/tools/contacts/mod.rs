//! Contacts app tools: `nc_contacts_*` over CardDAV. Contacts are vCards edited line by
//! line: a tool rewrites only the properties named in `contact_data`, so everything else
//! (other clients' X- properties, grouped labels, photos) survives an update unchanged.

pub(super) mod tools;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::contacts_router()
}
