//! Calendar-level tools: listing and managing calendars, meetings, free slots, bulk changes.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use nextcloud::calendar::{CalendarProps, Precondition, occurrences};
use nextcloud::freebusy::FreeBusy;
use nextcloud::ical::Document;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::events::{
    EventEdit, EventOut, Obj, apply_edit, calendars_for, create_in, event_out, occurrences_in,
};
use super::model::*;
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{ToolError, now};
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

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListCalendarsOut {
    pub success: bool,
    pub timestamp: String,
    pub calendars: Vec<CalendarOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ManageCalendarArgs {
    /// create, update, delete or list.
    pub action: String,
    /// Calendar name (URL segment, letters, digits, - and _); required except for list.
    #[serde(default)]
    pub calendar_name: String,
    /// Name shown in the Calendar app (create/update).
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// `#RRGGBB`.
    #[serde(default = "default_color")]
    pub color: String,
}

fn default_color() -> String {
    "#1976D2".into()
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ManageCalendarOut {
    pub success: bool,
    pub timestamp: String,
    pub action: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendars: Option<Vec<CalendarOut>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MeetingArgs {
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Local start time `HH:MM` in `timezone`.
    pub time: String,
    #[serde(default = "default_duration")]
    pub duration_minutes: i64,
    #[serde(default = "default_calendar")]
    pub calendar_name: String,
    /// Comma-separated e-mail addresses to invite.
    #[serde(default)]
    pub attendees: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_reminder")]
    pub reminder_minutes: i64,
    /// IANA zone of `time`; default the configured zone.
    #[serde(default)]
    pub timezone: String,
}

fn default_duration() -> i64 {
    60
}
fn default_calendar() -> String {
    "personal".into()
}
fn default_reminder() -> i64 {
    15
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MeetingOut {
    pub success: bool,
    pub timestamp: String,
    pub message: String,
    pub event: EventOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AvailabilityArgs {
    /// Length of the slot wanted.
    pub duration_minutes: i64,
    /// Comma-separated e-mail addresses whose busy time (from the server's CalDAV free-busy
    /// query) is avoided as well as your own; addresses the server cannot look up are listed
    /// in `attendees_unavailable`.
    #[serde(default)]
    pub attendees: String,
    /// First day to search (`YYYY-MM-DD`); default today.
    #[serde(default)]
    pub date_range_start: String,
    /// Last day to search (inclusive); default 7 days after the start.
    #[serde(default)]
    pub date_range_end: String,
    /// Only 09:00-17:00 local time.
    #[serde(default = "yes")]
    pub business_hours_only: bool,
    /// Skip Saturdays and Sundays.
    #[serde(default = "yes")]
    pub exclude_weekends: bool,
    /// Prefer "morning" (before 12:00) or "afternoon" slots; they are listed first.
    #[serde(default)]
    pub preferred_times: String,
    /// Count all-day events as busy.
    #[serde(default)]
    pub include_all_day: bool,
    /// IANA zone for business hours and the answer; default the configured zone.
    #[serde(default)]
    pub timezone: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Slot {
    /// RFC 3339 in the requested zone.
    pub start: String,
    pub end: String,
    pub duration_minutes: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AvailabilityOut {
    pub success: bool,
    pub timestamp: String,
    pub available_slots: Vec<Slot>,
    pub duration_requested: i64,
    pub date_range_start: String,
    pub date_range_end: String,
    /// Attendees whose busy time was taken into account.
    pub attendees_checked: Vec<String>,
    /// Attendees whose busy time could not be read, with the reason; slots may clash for them.
    pub attendees_unavailable: Vec<AttendeeUnavailable>,
    pub business_hours_only: bool,
    pub timezone: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttendeeUnavailable {
    pub email: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BulkArgs {
    /// update, delete or move.
    pub operation: String,
    /// Select events whose title contains this (case-insensitive).
    #[serde(default)]
    pub title_contains: Option<String>,
    /// Select events with one of these comma-separated categories.
    #[serde(default)]
    pub categories: Option<String>,
    /// Calendar to search; default all calendars with events.
    #[serde(default)]
    pub calendar_name: Option<String>,
    /// Range start; default today.
    #[serde(default)]
    pub start_date: String,
    /// Range end; default 90 days after the start.
    #[serde(default)]
    pub end_date: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub location_contains: Option<String>,
    #[serde(default)]
    pub new_title: Option<String>,
    #[serde(default)]
    pub new_description: Option<String>,
    #[serde(default)]
    pub new_location: Option<String>,
    #[serde(default)]
    pub new_categories: Option<String>,
    #[serde(default)]
    pub new_priority: Option<i64>,
    #[serde(default)]
    pub new_reminder_minutes: Option<i64>,
    /// Destination calendar for `move`.
    #[serde(default)]
    pub target_calendar: Option<String>,
    /// Must be true to change recurring events (it changes the whole series).
    #[serde(default)]
    pub apply_to_series: bool,
    /// Only report what would change; nothing is written.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkItem {
    pub uid: String,
    pub title: String,
    pub calendar_name: String,
    /// done, would_change, skipped or failed.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkOut {
    pub success: bool,
    pub timestamp: String,
    pub operation: String,
    pub dry_run: bool,
    pub matched: usize,
    pub changed: usize,
    pub failed: usize,
    pub items: Vec<BulkItem>,
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
        "nc_calendar_manage_calendar",
        &apps::CALENDAR,
        Some("calendar.write"),
        Overwrite,
    ),
    ToolSpec::new(
        "nc_calendar_create_meeting",
        &apps::CALENDAR,
        Some("calendar.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_calendar_find_availability",
        &apps::CALENDAR,
        Some("calendar.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_calendar_bulk_operations",
        &apps::CALENDAR,
        Some("calendar.write"),
        Overwrite,
    ),
];

#[tool_router(router = calendar_schedule_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_list_calendars",
        title = "List calendars",
        description = "List the user's calendars with name, display name, color, the kinds of items each holds (events, tasks) and change tags."
    )]
    async fn nc_calendar_list_calendars(
        &self,
        Parameters(_): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListCalendarsOut>, ToolError> {
        let user = self.user(&ctx)?;
        let calendars: Vec<CalendarOut> = user
            .calendars()
            .list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(ListCalendarsOut {
            success: true,
            timestamp: now(),
            total_count: calendars.len(),
            calendars,
        }))
    }

    #[tool(
        name = "nc_calendar_manage_calendar",
        title = "Create, update or delete a calendar",
        description = "action=create makes a calendar for events and tasks (calendar_name, display_name, description, color); update changes display name, description or color; delete removes a calendar and everything in it; list lists calendars."
    )]
    async fn nc_calendar_manage_calendar(
        &self,
        Parameters(a): Parameters<ManageCalendarArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ManageCalendarOut>, ToolError> {
        let action =
            one_of("action", &a.action, &["CREATE", "UPDATE", "DELETE", "LIST"])?.to_lowercase();
        let user = self.user(&ctx)?;
        let out = |message: String,
                   calendar: Option<CalendarOut>,
                   calendars: Option<Vec<CalendarOut>>| {
            Json(ManageCalendarOut {
                success: true,
                timestamp: now(),
                action: action.clone(),
                message,
                calendar,
                calendars,
            })
        };
        if action == "list" {
            let list: Vec<CalendarOut> = user
                .calendars()
                .list()
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
            return Ok(out(format!("{} calendars", list.len()), None, Some(list)));
        }
        let name = a.calendar_name.trim();
        if name.is_empty() {
            return Err(ToolError::invalid(
                "calendar_name",
                format!("required for {action}"),
            ));
        }
        let color = Some(a.color.clone()).filter(|c| !c.is_empty());
        if let Some(c) = &color
            && !(c.starts_with('#')
                && (c.len() == 7 || c.len() == 9)
                && c[1..].chars().all(|h| h.is_ascii_hexdigit()))
        {
            return Err(ToolError::invalid("color", "use #RRGGBB"));
        }
        match action.as_str() {
            "create" => {
                if !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(ToolError::invalid(
                        "calendar_name",
                        "use letters, digits, '-' and '_' only",
                    ));
                }
                let props = CalendarProps {
                    display_name: Some(if a.display_name.is_empty() {
                        name.to_string()
                    } else {
                        a.display_name.clone()
                    }),
                    color,
                    description: Some(a.description.clone()).filter(|d| !d.is_empty()),
                };
                let cal = user
                    .calendars()
                    .create(name, &props, &["VEVENT", "VTODO"])
                    .await?;
                Ok(out(
                    format!("Created calendar '{}'", cal.name),
                    Some(cal.into()),
                    None,
                ))
            }
            "update" => {
                let cal = user.calendars().find(name).await?;
                let props = CalendarProps {
                    display_name: Some(a.display_name.clone()).filter(|d| !d.is_empty()),
                    color,
                    description: Some(a.description.clone()).filter(|d| !d.is_empty()),
                };
                user.calendars().update(&cal, &props).await?;
                // Read back with its change tags, which `find` leaves out.
                let cal = user
                    .calendars()
                    .list()
                    .await?
                    .into_iter()
                    .find(|c| c.name == cal.name)
                    .unwrap_or(cal);
                Ok(out(
                    format!("Updated calendar '{}'", cal.name),
                    Some(cal.into()),
                    None,
                ))
            }
            _ => {
                let cal = user.calendars().find(name).await?;
                user.calendars().delete(&cal).await?;
                Ok(out(format!("Deleted calendar '{}'", cal.name), None, None))
            }
        }
    }

    #[tool(
        name = "nc_calendar_create_meeting",
        title = "Create a meeting",
        description = "Quickly schedule a meeting: a date, a local start time and a duration in a time zone, with invitees, location and a reminder."
    )]
    async fn nc_calendar_create_meeting(
        &self,
        Parameters(a): Parameters<MeetingArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<MeetingOut>, ToolError> {
        let date = NaiveDate::parse_from_str(a.date.trim(), "%Y-%m-%d")
            .map_err(|_| ToolError::invalid("date", "use YYYY-MM-DD"))?;
        let time = NaiveTime::parse_from_str(a.time.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(a.time.trim(), "%H:%M:%S"))
            .map_err(|_| ToolError::invalid("time", "use HH:MM (24-hour)"))?;
        if !(1..=24 * 60).contains(&a.duration_minutes) {
            return Err(ToolError::invalid("duration_minutes", "use 1 to 1440"));
        }
        let start = date.and_time(time);
        let end = start + Duration::minutes(a.duration_minutes);
        let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let user = self.user(&ctx)?;
        let edit = EventEdit {
            title: Some(a.title),
            start: Some(fmt(start)),
            end: Some(fmt(end)),
            all_day: Some(false),
            description: Some(a.description),
            location: Some(a.location),
            attendees: Some(a.attendees),
            reminder_minutes: Some(a.reminder_minutes),
            timezone: Some(a.timezone),
            status: Some("CONFIRMED".into()),
            ..Default::default()
        };
        let event = create_in(&user, &a.calendar_name, &edit, &self.state().timezone).await?;
        Ok(Json(MeetingOut {
            success: true,
            timestamp: now(),
            message: format!("Scheduled '{}' at {}", event.title, event.start),
            event,
        }))
    }

    #[tool(
        name = "nc_calendar_find_availability",
        title = "Find free time",
        description = "Find free slots of a given length over a date range that clash neither with your calendars nor with the busy time of the attendees named (read with the server's CalDAV free-busy query), optionally only in business hours (09:00-17:00) and on weekdays, in a given time zone. Attendees whose time could not be read are listed with the reason."
    )]
    async fn nc_calendar_find_availability(
        &self,
        Parameters(a): Parameters<AvailabilityArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<AvailabilityOut>, ToolError> {
        if !(5..=24 * 60).contains(&a.duration_minutes) {
            return Err(ToolError::invalid("duration_minutes", "use 5 to 1440"));
        }
        let (zone, tz) = zone_arg(&a.timezone, &self.state().timezone)?;
        let today = Utc::now().with_timezone(&tz).date_naive();
        let day =
            |arg: &'static str, v: &str, default: NaiveDate| -> Result<NaiveDate, ToolError> {
                if v.trim().is_empty() {
                    return Ok(default);
                }
                NaiveDate::parse_from_str(v.trim().get(..10).unwrap_or(v), "%Y-%m-%d")
                    .map_err(|_| ToolError::invalid(arg, "use YYYY-MM-DD"))
            };
        let first = day("date_range_start", &a.date_range_start, today)?;
        let last = day(
            "date_range_end",
            &a.date_range_end,
            first + Duration::days(7),
        )?;
        if last < first || (last - first).num_days() > 62 {
            return Err(ToolError::invalid(
                "date_range_end",
                "must be on or after the start and at most 62 days later",
            ));
        }
        let from = nextcloud::calendar::local_to_utc(first.and_time(NaiveTime::MIN), tz)
            .unwrap_or_else(Utc::now);
        let to = nextcloud::calendar::local_to_utc(
            (last + Duration::days(1)).and_time(NaiveTime::MIN),
            tz,
        )
        .unwrap_or(from);
        let attendees = split_csv(&a.attendees);
        if let Some(bad) = attendees
            .iter()
            .find(|e| !e.contains('@') || e.contains(char::is_whitespace))
        {
            return Err(ToolError::invalid(
                "attendees",
                format!("'{bad}' is not an e-mail address"),
            ));
        }
        let user = self.user(&ctx)?;
        let (attendee_busy, attendees_checked, attendees_unavailable) =
            attendees_busy(&user, &attendees, from, to).await?;
        let cals = calendars_for(&user, "", true, "VEVENT").await?;
        let busy_events = occurrences_in(&user, &cals, from, to, tz).await?;
        let mut busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = busy_events
            .iter()
            .filter(|(_, e)| {
                (a.include_all_day || !e.all_day) && !e.status.eq_ignore_ascii_case("CANCELLED")
            })
            .filter_map(|(s, e)| {
                let end = if e.all_day {
                    *s + Duration::days(1)
                } else {
                    DateTime::parse_from_rfc3339(&e.end)
                        .ok()?
                        .with_timezone(&Utc)
                };
                Some((*s, end))
            })
            .collect();
        busy.extend(attendee_busy);
        busy.sort();
        let need = Duration::minutes(a.duration_minutes);
        let mut slots = Vec::new();
        let mut d = first;
        while d <= last {
            let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            if !(a.exclude_weekends && weekend) {
                let (open, close) = if a.business_hours_only {
                    (
                        NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
                        Some(NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default()),
                    )
                } else {
                    (NaiveTime::MIN, None)
                };
                let day_start = nextcloud::calendar::local_to_utc(d.and_time(open), tz);
                let day_end = match close {
                    Some(c) => nextcloud::calendar::local_to_utc(d.and_time(c), tz),
                    None => nextcloud::calendar::local_to_utc(
                        (d + Duration::days(1)).and_time(NaiveTime::MIN),
                        tz,
                    ),
                };
                if let (Some(mut cursor), Some(day_end)) = (day_start, day_end) {
                    cursor = cursor.max(Utc::now());
                    for (bs, be) in busy.iter() {
                        if *be <= cursor || *bs >= day_end {
                            continue;
                        }
                        if *bs - cursor >= need {
                            slots.push((cursor, *bs));
                        }
                        cursor = cursor.max(*be);
                    }
                    if day_end - cursor >= need {
                        slots.push((cursor, day_end));
                    }
                }
            }
            d += Duration::days(1);
        }
        let pref = a.preferred_times.to_ascii_lowercase();
        let local_hour = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .format("%H")
                .to_string()
                .parse::<u32>()
                .unwrap_or(0)
        };
        if pref.contains("morning") {
            slots.sort_by_key(|(s, _)| (local_hour(*s) >= 12, *s));
        } else if pref.contains("afternoon") {
            slots.sort_by_key(|(s, _)| (local_hour(*s) < 12, *s));
        }
        let show = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .fixed_offset()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        Ok(Json(AvailabilityOut {
            success: true,
            timestamp: now(),
            available_slots: slots
                .into_iter()
                .take(50)
                .map(|(s, e)| Slot {
                    start: show(s),
                    end: show(e),
                    duration_minutes: (e - s).num_minutes(),
                })
                .collect(),
            duration_requested: a.duration_minutes,
            date_range_start: first.to_string(),
            date_range_end: last.to_string(),
            attendees_checked,
            attendees_unavailable,
            business_hours_only: a.business_hours_only,
            timezone: zone,
        }))
    }

    #[tool(
        name = "nc_calendar_bulk_operations",
        title = "Change many events at once",
        description = "Update, delete or move every event matching filters (title, categories, status, location, date range). Use dry_run=true first to see what would change. Recurring series are only changed with apply_to_series=true."
    )]
    async fn nc_calendar_bulk_operations(
        &self,
        Parameters(a): Parameters<BulkArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<BulkOut>, ToolError> {
        let op = one_of("operation", &a.operation, &["UPDATE", "DELETE", "MOVE"])?.to_lowercase();
        let zone = &self.state().timezone;
        let tz = zone.tz();
        let from = parse_bound("start_date", &a.start_date, zone, false)?.unwrap_or_else(Utc::now);
        let to =
            parse_bound("end_date", &a.end_date, zone, true)?.unwrap_or(from + Duration::days(90));
        let has_filter = [
            &a.title_contains,
            &a.categories,
            &a.status,
            &a.location_contains,
        ]
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| !v.trim().is_empty()));
        if !has_filter {
            return Err(ToolError::invalid(
                "title_contains",
                "give at least one filter (title_contains, categories, status or location_contains)",
            ));
        }
        let edit = EventEdit {
            title: a.new_title.clone(),
            description: a.new_description.clone(),
            location: a.new_location.clone(),
            categories: a.new_categories.clone(),
            priority: a.new_priority,
            reminder_minutes: a.new_reminder_minutes,
            ..Default::default()
        };
        let user = self.user(&ctx)?;
        let target = match (&op[..], a.target_calendar.as_deref()) {
            ("move", Some(t)) if !t.is_empty() => Some(user.calendars().find(t).await?),
            ("move", _) => return Err(ToolError::invalid("target_calendar", "required for move")),
            _ => None,
        };
        if op == "update"
            && edit.title.is_none()
            && edit.description.is_none()
            && edit.location.is_none()
            && edit.categories.is_none()
            && edit.priority.is_none()
            && edit.reminder_minutes.is_none()
        {
            return Err(ToolError::invalid(
                "new_title",
                "give at least one new_* value to update",
            ));
        }
        let cals = calendars_for(
            &user,
            a.calendar_name.as_deref().unwrap_or(""),
            true,
            "VEVENT",
        )
        .await?;
        let cats = a.categories.as_deref().map(split_csv).unwrap_or_default();
        let lower = |s: &Option<String>| {
            s.as_deref()
                .map(str::to_lowercase)
                .filter(|s| !s.is_empty())
        };
        let (title, location) = (lower(&a.title_contains), lower(&a.location_contains));
        let mut items = Vec::new();
        let (mut changed, mut failed) = (0, 0);
        for cal in &cals {
            let objects = user
                .calendars()
                .query(cal, "VEVENT", Some((from, to)))
                .await?;
            for o in objects {
                let mut doc = Document::parse(&o.data);
                let Some(span) = master(&doc, "VEVENT") else {
                    continue;
                };
                if occurrences(&doc, "VEVENT", from, to, tz).is_empty() {
                    continue;
                }
                let etag = o.etag.clone().unwrap_or_default();
                let e = event_out(
                    &doc,
                    span,
                    None,
                    &Obj {
                        calendar: cal,
                        href: &o.href,
                        etag: &etag,
                    },
                    tz,
                );
                let matches = (cats.is_empty()
                    || e.categories
                        .iter()
                        .any(|c| cats.iter().any(|w| w.eq_ignore_ascii_case(c))))
                    && a.status
                        .as_deref()
                        .is_none_or(|s| s.is_empty() || e.status.eq_ignore_ascii_case(s))
                    && title
                        .as_deref()
                        .is_none_or(|t| e.title.to_lowercase().contains(t))
                    && location
                        .as_deref()
                        .is_none_or(|t| e.location.to_lowercase().contains(t));
                if !matches {
                    continue;
                }
                let mut item = BulkItem {
                    uid: e.uid.clone(),
                    title: e.title.clone(),
                    calendar_name: cal.name.clone(),
                    result: String::new(),
                    message: None,
                };
                if e.recurring && !a.apply_to_series {
                    item.result = "skipped".into();
                    item.message =
                        Some("recurring series; pass apply_to_series=true to change it".into());
                    items.push(item);
                    continue;
                }
                if a.dry_run {
                    item.result = "would_change".into();
                    items.push(item);
                    continue;
                }
                let ifm = if etag.is_empty() {
                    Precondition::None
                } else {
                    Precondition::IfMatch(etag.clone())
                };
                let outcome: Result<(), ToolError> = async {
                    match op.as_str() {
                        "delete" => user.calendars().delete_object(&o.href, Some(&etag)).await?,
                        "update" => {
                            let span = apply_edit(&mut doc, span, &edit, zone)?;
                            touch(&mut doc, span, true);
                            user.calendars().put(&o.href, &doc.to_text(), ifm).await?;
                        }
                        _ => {
                            let Some(target) = target.as_ref() else {
                                return Err(ToolError::invalid(
                                    "target_calendar",
                                    "expected the calendar to move the events to",
                                ));
                            };
                            let name = o.href.rsplit('/').next().unwrap_or_default();
                            let href = format!("{}{}", target.href, name);
                            user.calendars()
                                .put(&href, &o.data, Precondition::Create)
                                .await?;
                            user.calendars().delete_object(&o.href, Some(&etag)).await?;
                        }
                    }
                    Ok(())
                }
                .await;
                match outcome {
                    Ok(()) => {
                        changed += 1;
                        item.result = "done".into();
                    }
                    Err(err) => {
                        failed += 1;
                        item.result = "failed".into();
                        item.message = Some(err.to_string());
                    }
                }
                items.push(item);
            }
        }
        Ok(Json(BulkOut {
            success: failed == 0,
            timestamp: now(),
            operation: op,
            dry_run: a.dry_run,
            matched: items.len(),
            changed,
            failed,
            items,
        }))
    }
}

type Busy = Vec<(DateTime<Utc>, DateTime<Utc>)>;

/// The attendees' busy time in `[from, to)` from the server's free-busy query, which attendees
/// it covers, and which it could not (with why).
async fn attendees_busy(
    user: &nextcloud::NextcloudUser,
    attendees: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Busy, Vec<String>, Vec<AttendeeUnavailable>), ToolError> {
    if attendees.is_empty() {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let unavailable = |reason: &str| -> Vec<AttendeeUnavailable> {
        attendees
            .iter()
            .map(|e| AttendeeUnavailable {
                email: e.clone(),
                reason: reason.to_string(),
            })
            .collect()
    };
    if user.schedule_outbox().await?.is_none() {
        return Ok((
            Vec::new(),
            Vec::new(),
            unavailable("this server offers no CalDAV free-busy query (no schedule outbox)"),
        ));
    }
    let organizer = user
        .current_user()
        .await?
        .email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            ToolError::invalid(
                "attendees",
                "checking attendees needs an e-mail address on your Nextcloud account (set one in Personal settings), as the free-busy query is sent from it",
            )
        })?;
    let answers = match user.free_busy(&organizer, attendees, from, to).await? {
        FreeBusy::NotSupported => {
            return Ok((
                Vec::new(),
                Vec::new(),
                unavailable("this server offers no CalDAV free-busy query (no schedule outbox)"),
            ));
        }
        FreeBusy::Answered(answers) => answers,
    };
    let mut busy = Vec::new();
    let mut checked = Vec::new();
    let mut missing = Vec::new();
    for email in attendees {
        match answers.iter().find(|a| a.email.eq_ignore_ascii_case(email)) {
            Some(answer) if answer.found() => {
                busy.extend(answer.busy.iter().map(|p| (p.start, p.end)));
                checked.push(email.clone());
            }
            Some(answer) => missing.push(AttendeeUnavailable {
                email: email.clone(),
                reason: status_reason(&answer.request_status),
            }),
            None => missing.push(AttendeeUnavailable {
                email: email.clone(),
                reason: "the server did not answer for this address".into(),
            }),
        }
    }
    Ok((busy, checked, missing))
}

/// A request status such as `3.7;Could not find principal` in words.
fn status_reason(status: &str) -> String {
    let code = status.split(';').next().unwrap_or("").trim();
    let text = status.split(';').nth(1).unwrap_or("").trim();
    match code {
        "3.7" => "no Nextcloud user has this e-mail address".into(),
        "3.8" => "you may not see this user's free/busy time".into(),
        _ if text.is_empty() => format!("the server answered '{status}'"),
        _ => format!("the server answered: {text} ({code})"),
    }
}
