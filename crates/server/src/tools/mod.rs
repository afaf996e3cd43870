//! MCP tools, one folder per Nextcloud app. Each app module exposes a `router()` built from
//! `#[tool_router]` impl blocks on [`NextcloudMcp`]; [`all`] adds them up and [`catalogue`]
//! is what the server starts with.

pub mod auth;
pub mod calendar;
pub mod collectives;
pub mod common;
pub mod contacts;
pub mod cookbook;
pub mod deck;
pub mod files;
pub mod mail;
pub mod news;
pub mod notes;
pub mod search;
pub mod semantic;
pub mod sharing;
pub mod shopping_list;
pub mod spec;
pub mod tables;
pub mod talk;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

/// Every tool, built on a short-lived thread. rmcp caches each schema it generates in
/// thread-locals (the raw and the stripped form, for inputs and for outputs); built on a
/// long-lived thread those caches would keep two more copies of the whole catalogue's schemas
/// alive for the life of the process. With the thread gone, the tools own the only copy.
pub fn catalogue() -> ToolRouter<NextcloudMcp> {
    std::thread::scope(|scope| scope.spawn(all).join())
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Every tool the server has, before any selection.
pub fn all() -> ToolRouter<NextcloudMcp> {
    spec::annotate(
        notes::router()
            + files::router()
            + sharing::router()
            + calendar::router()
            + contacts::router()
            + deck::router()
            + auth::router()
            + tables::router()
            + cookbook::router()
            + shopping_list::router()
            + semantic::router()
            + search::router()
            + news::router()
            + talk::router()
            + collectives::router()
            + mail::router(),
    )
}

/// Every tool's record ([`spec::ToolSpec`]), one table per file of tools.
const SPECS: &[&[spec::ToolSpec]] = &[
    notes::read::SPECS,
    notes::write::SPECS,
    files::read::SPECS,
    files::write::SPECS,
    files::meta::read::SPECS,
    files::meta::write::SPECS,
    sharing::read::SPECS,
    sharing::write::SPECS,
    calendar::read::SPECS,
    calendar::availability::SPECS,
    calendar::write::SPECS,
    calendar::todos::read::SPECS,
    calendar::todos::write::SPECS,
    contacts::read::SPECS,
    contacts::write::SPECS,
    deck::read::boards::SPECS,
    deck::read::stacks::SPECS,
    deck::read::cards::SPECS,
    deck::read::labels::SPECS,
    deck::read::comments::SPECS,
    deck::read::attachments::SPECS,
    deck::write::boards::SPECS,
    deck::write::stacks::SPECS,
    deck::write::cards::SPECS,
    deck::write::labels::SPECS,
    deck::write::assignments::SPECS,
    deck::write::comments::SPECS,
    deck::write::attachments::SPECS,
    auth::SPECS,
    tables::read::SPECS,
    tables::write::SPECS,
    cookbook::read::SPECS,
    cookbook::write::SPECS,
    shopping_list::read::SPECS,
    shopping_list::write::SPECS,
    semantic::SPECS,
    search::SPECS,
    collectives::read::SPECS,
    collectives::write::SPECS,
    mail::read::SPECS,
    mail::write::SPECS,
    news::read::SPECS,
    news::write::SPECS,
    talk::read::SPECS,
    talk::write::SPECS,
];
