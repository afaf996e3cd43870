//! Calendar app tools: `nc_calendar_*` (events in `events.rs`, scheduling helpers in
//! `schedule.rs`, tasks in `todos.rs`). Everything time-related goes through [`model`], which
//! keeps zones: zoned times are written with TZID and a VTIMEZONE, UTC stays UTC, all-day is
//! DATE, and floating times are only written when asked for.

pub(super) mod events;
pub(crate) mod model;
pub(super) mod schedule;
pub(super) mod todos;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::mcp::NextcloudMcp;

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::calendar_events_router()
        + NextcloudMcp::calendar_schedule_router()
        + NextcloudMcp::calendar_todos_router()
}
