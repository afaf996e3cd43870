//! Reading calendars and events: list calendars, list events in a range (recurrence
//! expanded), one event, the coming days.

use chrono::{Duration, Utc};
use nextcloud::calendar::parse_bound;
use nextcloud::ical::Document;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::zone_arg;
use super::{EventFilter, EventOut, calendars_for, load, occurrences_in};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Serialize, JsonSchema)]
pub struct CalendarOut {
    /// Name to pass as `calendar_name`.
    pub name: String,
    pub display_name: String,
    pub color: Option<String>,
    pub description: Option<String>,
    /// Component types it holds: VEVENT (events), VTODO (tasks), ...
    pub components: Vec<String>,
    pub supports_events: bool,
    pub supports_todos: bool,
    /// Changes whenever the calendar's content changes.
    pub ctag: Option<String>,
    pub sync_token: Option<String>,
    pub href: String,
}

impl From<nextcloud::calendar::Calendar> for CalendarOut {
    fn from(c: nextcloud::calendar::Calendar) -> Self {
        Self {
            supports_events: c.supports("VEVENT"),
            supports_todos: c.supports("VTODO"),
            name: c.name,
            display_name: c.display_name,
            color: c.color,
            description: c.description,
            components: c.components,
            ctag: c.ctag,
            sync_token: c.sync_token,
            href: c.href,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListCalendarsOut {
    pub calendars: Vec<CalendarOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListEventsArgs {
    /// Empty: the first calendar, or all with `search_all_calendars`.
    #[serde(default)]
    pub calendar_name: String,
    /// `YYYY-MM-DD` or a date-time; default now.
    #[serde(default)]
    pub start_date: String,
    /// Inclusive; default 30 days after the start.
    #[serde(default)]
    pub end_date: String,
    /// 1-1000.
    #[serde(default = "default_limit")]
    pub limit: u32,
    #[serde(default)]
    pub min_attendees: Option<u32>,
    #[serde(default)]
    pub min_duration_minutes: Option<i64>,
    /// Comma-separated.
    #[serde(default)]
    pub categories: Option<String>,
    /// CONFIRMED, TENTATIVE or CANCELLED.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub title_contains: Option<String>,
    #[serde(default)]
    pub location_contains: Option<String>,
    #[serde(default)]
    pub search_all_calendars: bool,
}

fn default_limit() -> u32 {
    50
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListEventsOut {
    /// Occurrences in the range, earliest first (recurring events expanded).
    pub events: Vec<EventOut>,
    /// Matches before `limit`.
    pub total_count: usize,
    pub range_start: String,
    pub range_end: String,
    /// Zone used for dates without a zone in the arguments.
    pub timezone: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct EventRef {
    pub calendar_name: String,
    pub event_uid: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetEventOut {
    pub event: EventOut,
    /// The raw iCalendar text.
    pub ical: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpcomingArgs {
    /// Empty: every calendar with events.
    #[serde(default)]
    pub calendar_name: String,
    /// 1-366.
    #[serde(default = "default_days")]
    pub days_ahead: i64,
    #[serde(default = "default_upcoming_limit")]
    pub limit: u32,
}

fn default_days() -> i64 {
    7
}
fn default_upcoming_limit() -> u32 {
    10
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_calendar_list_calendars",
        &apps::CALENDAR,
        Some("calendar.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_calendar_list_events",
        &apps::CALENDAR,
        Some("calendar.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_calendar_get_event",
        &apps::CALENDAR,
        Some("calendar.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_calendar_get_upcoming_events",
        &apps::CALENDAR,
        Some("calendar.read"),
        Read,
    ),
];

#[tool_router(router = calendar_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_list_calendars",
        title = "List calendars",
        description = "Your calendars: names for calendar_name, colors, and whether each holds events or tasks."
    )]
    async fn nc_calendar_list_calendars(
        &self,
        Parameters(_): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListCalendarsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let calendars: Vec<CalendarOut> = user
            .calendars()
            .list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        answer(ListCalendarsOut {
            total_count: calendars.len(),
            calendars,
        })
    }

    #[tool(
        name = "nc_calendar_list_events",
        title = "List calendar events",
        description = "Events in a date range, series expanded, filtered by title, location, category, status, attendees or length."
    )]
    async fn nc_calendar_list_events(
        &self,
        Parameters(a): Parameters<ListEventsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListEventsOut>>, ToolError> {
        if !(1..=1000).contains(&a.limit) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let zone = zone_arg("", &self.state().timezone)?;
        let from = parse_bound("start_date", &a.start_date, &zone, false)?.unwrap_or_else(Utc::now);
        let to =
            parse_bound("end_date", &a.end_date, &zone, true)?.unwrap_or(from + Duration::days(30));
        if to <= from {
            return Err(ToolError::invalid(
                "end_date",
                "the end must be after the start",
            ));
        }
        let user = self.user(&ctx)?;
        let cals = calendars_for(&user, &a.calendar_name, a.search_all_calendars, "VEVENT").await?;
        let all = occurrences_in(&user, &cals, from, to, zone.tz).await?;
        let filter = EventFilter::new(
            a.categories.as_deref(),
            a.status.as_deref(),
            a.title_contains.as_deref(),
            a.location_contains.as_deref(),
        );
        let events: Vec<EventOut> = all
            .into_iter()
            .filter(|(start, e)| {
                a.min_attendees
                    .is_none_or(|n| e.event.attendees.len() >= n as usize)
                    && a.min_duration_minutes
                        .is_none_or(|m| e.event.minutes_from(*start).is_none_or(|d| d >= m))
                    && filter.keep(&e.event)
            })
            .map(|(_, e)| e)
            .collect();
        answer(ListEventsOut {
            total_count: events.len(),
            events: events.into_iter().take(a.limit as usize).collect(),
            range_start: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            range_end: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            timezone: zone.name,
        })
    }

    #[tool(
        name = "nc_calendar_get_event",
        title = "Get a calendar event",
        description = "One event by UID with every detail (attendees' answers, reminders, recurrence), its iCalendar text and ETag."
    )]
    async fn nc_calendar_get_event(
        &self,
        Parameters(a): Parameters<EventRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<GetEventOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VEVENT", &a.event_uid).await?;
        let doc = Document::parse(&obj.data);
        let etag = obj.etag.clone().unwrap_or_default();
        let event = EventOut::of(&doc, &cal, &obj.href, &etag, self.state().timezone.tz())?;
        answer(GetEventOut {
            event,
            ical: obj.data,
        })
    }

    #[tool(
        name = "nc_calendar_get_upcoming_events",
        title = "Upcoming events",
        description = "The next events from now over the coming days, earliest first, in every calendar unless one is named."
    )]
    async fn nc_calendar_get_upcoming_events(
        &self,
        Parameters(a): Parameters<UpcomingArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListEventsOut>>, ToolError> {
        if !(1..=366).contains(&a.days_ahead) {
            return Err(ToolError::invalid("days_ahead", "use 1 to 366"));
        }
        if !(1..=1000).contains(&a.limit) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let zone = zone_arg("", &self.state().timezone)?;
        let from = Utc::now();
        let to = from + Duration::days(a.days_ahead);
        let user = self.user(&ctx)?;
        let cals = calendars_for(&user, &a.calendar_name, true, "VEVENT").await?;
        let all = occurrences_in(&user, &cals, from, to, zone.tz).await?;
        answer(ListEventsOut {
            total_count: all.len(),
            events: all
                .into_iter()
                .take(a.limit as usize)
                .map(|(_, e)| e)
                .collect(),
            range_start: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            range_end: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            timezone: zone.name,
        })
    }
}
