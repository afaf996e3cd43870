//! Calendar app tools: `nc_calendar_*`. Calendars and events: reads in `read.rs` (free time
//! in `availability.rs`), changes in `write.rs`; tasks in `todos/`. The tools only translate:
//! iCalendar editing, recurrence and zones are the client's models (`nextcloud::calendar`:
//! `EventEdit`, `TodoEdit`, `Event`, `Todo`, `occurrences`), which rewrite only the lines a
//! change names.

pub(super) mod availability;
pub(crate) mod model;
pub(super) mod read;
pub(super) mod todos;
pub(super) mod write;

use chrono::{DateTime, Utc};
use nextcloud::NextcloudUser;
use nextcloud::calendar::{Calendar, CalendarObject, Event, Tz, occurrences};
use nextcloud::ical::Document;
use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;
use crate::tools::common::ToolError;

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::calendar_read_router()
        + NextcloudMcp::calendar_availability_router()
        + NextcloudMcp::calendar_write_router()
        + NextcloudMcp::calendar_todos_read_router()
        + NextcloudMcp::calendar_todos_write_router()
}

/// An event (or one occurrence of a recurring event) and where it is stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventOut {
    #[serde(flatten)]
    pub event: Event,
    pub calendar_name: String,
    pub href: String,
    /// Pass to `nc_calendar_update_event` so a concurrent change is detected.
    pub etag: String,
}

impl EventOut {
    fn new(event: Event, calendar: &Calendar, href: &str, etag: &str) -> Self {
        Self {
            event,
            calendar_name: calendar.name.clone(),
            href: href.to_string(),
            etag: etag.to_string(),
        }
    }

    /// The event a resource holds (its series); floating times and dates read in `tz`.
    fn of(
        doc: &Document,
        calendar: &Calendar,
        href: &str,
        etag: &str,
        tz: Tz,
    ) -> Result<Self, ToolError> {
        let event = Event::of(doc, tz)?;
        Ok(Self::new(event, calendar, href, etag))
    }
}

/// What deleting an event or a task answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteOut {
    pub status_code: u16,
    pub message: String,
    pub deleted_uid: String,
    pub calendar_name: String,
}

/// Finds an event or task by UID, with its calendar.
async fn load(
    user: &NextcloudUser,
    calendar_name: &str,
    kind: &str,
    uid: &str,
) -> Result<(Calendar, CalendarObject), ToolError> {
    let cal = user.calendars().find(calendar_name).await?;
    let obj = user
        .calendars()
        .find_by_uid(&cal, kind, uid)
        .await?
        .ok_or_else(|| nextcloud::Error::NotFound {
            what: format!(
                "{} '{uid}' in calendar '{}'",
                if kind == "VTODO" { "Task" } else { "Event" },
                cal.name
            ),
            message: None,
        })?;
    Ok((cal, obj))
}

/// The ETag a write must match: the caller's, else the one just read.
fn etag_to_match(given: &str, read: &Option<String>) -> String {
    if given.trim().is_empty() {
        read.clone().unwrap_or_default()
    } else {
        given.trim().to_string()
    }
}

/// Calendars to read for a list: the named one, or every one holding `kind` (only the
/// first unless `all`).
async fn calendars_for(
    user: &NextcloudUser,
    name: &str,
    all: bool,
    kind: &str,
) -> Result<Vec<Calendar>, ToolError> {
    if !name.trim().is_empty() {
        return Ok(vec![user.calendars().find(name).await?]);
    }
    let list: Vec<Calendar> = user
        .calendars()
        .list()
        .await?
        .into_iter()
        .filter(|c| c.supports(kind))
        .collect();
    if all || list.len() <= 1 {
        return Ok(list);
    }
    Ok(list.into_iter().take(1).collect())
}

/// Every occurrence of every event in the calendars within `[from, to)`, earliest first.
async fn occurrences_in(
    user: &NextcloudUser,
    calendars: &[Calendar],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    default: Tz,
) -> Result<Vec<(DateTime<Utc>, EventOut)>, ToolError> {
    let mut out = Vec::new();
    for cal in calendars {
        let objects = user
            .calendars()
            .query(cal, "VEVENT", Some((from, to)))
            .await?;
        for o in objects {
            let doc = Document::parse(&o.data);
            let etag = o.etag.clone().unwrap_or_default();
            for occ in occurrences(&doc, "VEVENT", from, to, default) {
                let event = Event::read(&doc, occ.span, Some(&occ), default);
                out.push((occ.start, EventOut::new(event, cal, &o.href, &etag)));
            }
        }
    }
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.event.title.cmp(&b.1.event.title))
    });
    Ok(out)
}

/// Keeps events by the filters the list and bulk tools share.
#[derive(Default)]
struct EventFilter {
    categories: Vec<String>,
    status: Option<String>,
    title: Option<String>,
    location: Option<String>,
}

impl EventFilter {
    fn new(
        categories: Option<&str>,
        status: Option<&str>,
        title: Option<&str>,
        location: Option<&str>,
    ) -> Self {
        let lower = |s: Option<&str>| s.map(str::to_lowercase).filter(|s| !s.is_empty());
        Self {
            categories: categories
                .map(nextcloud::calendar::split_csv)
                .unwrap_or_default(),
            status: status.map(str::to_string).filter(|s| !s.is_empty()),
            title: lower(title),
            location: lower(location),
        }
    }

    fn keep(&self, e: &Event) -> bool {
        (self.categories.is_empty()
            || e.categories
                .iter()
                .any(|c| self.categories.iter().any(|w| w.eq_ignore_ascii_case(c))))
            && self
                .status
                .as_deref()
                .is_none_or(|s| e.status.eq_ignore_ascii_case(s))
            && self
                .title
                .as_deref()
                .is_none_or(|t| e.title.to_lowercase().contains(t))
            && self
                .location
                .as_deref()
                .is_none_or(|t| e.location.to_lowercase().contains(t))
    }
}
