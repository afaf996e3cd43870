//! MCP tools, one folder per Nextcloud app. Each app module exposes a `router()` built from
//! `#[tool_router]` impl blocks on [`NextcloudMcp`]; [`all`] adds them up.

pub mod auth;
pub mod calendar;
pub mod common;
pub mod contacts;
pub mod cookbook;
pub mod deck;
pub mod files;
pub mod notes;
pub mod sharing;
pub mod tables;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

/// Every tool the server has, before any selection.
pub fn all() -> ToolRouter<NextcloudMcp> {
    notes::router()
        + files::router()
        + sharing::router()
        + calendar::router()
        + contacts::router()
        + deck::router()
        + auth::router()
        + tables::router()
        + cookbook::router()
}
