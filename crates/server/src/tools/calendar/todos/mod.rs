//! Task tools (VTODO): reads in `read.rs`, changes in `write.rs`. They only use calendars
//! whose component set includes VTODO.

pub(in crate::tools) mod read;
pub(in crate::tools) mod write;

use nextcloud::NextcloudUser;
use nextcloud::calendar::{Calendar, Todo};
use schemars::JsonSchema;
use serde::Serialize;

use crate::tools::common::ToolError;

/// A task and where it is stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TodoOut {
    #[serde(flatten)]
    pub todo: Todo,
    pub calendar_name: String,
    pub href: String,
    /// Pass to `nc_calendar_update_todo` so a concurrent change is detected.
    pub etag: String,
}

impl TodoOut {
    fn new(todo: Todo, calendar: &Calendar, href: &str, etag: &str) -> Self {
        Self {
            todo,
            calendar_name: calendar.name.clone(),
            href: href.to_string(),
            etag: etag.to_string(),
        }
    }
}

/// A calendar by name that holds tasks.
async fn todo_calendar(user: &NextcloudUser, name: &str) -> Result<Calendar, ToolError> {
    let cal = user.calendars().find(name).await?;
    if !cal.supports("VTODO") {
        return Err(ToolError::invalid(
            "calendar_name",
            format!(
                "calendar '{}' does not hold tasks (it holds {}); pick one that supports VTODO",
                cal.name,
                cal.components.join(", ")
            ),
        ));
    }
    Ok(cal)
}
