//! Changing calendars and events: create, update and delete an event, a quick meeting,
//! create/update/delete a calendar, and bulk changes. Each builds a `nextcloud::calendar::
//! EventEdit` from its arguments; the client's model writes only the lines it names.

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use nextcloud::NextcloudUser;
use nextcloud::calendar::{
    Alarm, CalendarProps, Event, EventEdit, Precondition, emails, object_name, occurrences, one_of,
    parse_bound, split_csv,
};
use nextcloud::ical::Document;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::zone_arg;
use super::read::{CalendarOut, EventRef};
use super::{DeleteOut, EventFilter, EventOut, calendars_for, etag_to_match, load};
use crate::apps;
use crate::config::TimeZone;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateEventArgs {
    pub calendar_name: String,
    pub title: String,
    /// `YYYY-MM-DDTHH:MM` (local, in `timezone`), with Z or an offset for an exact instant,
    /// or `YYYY-MM-DD` for all day.
    pub start_datetime: String,
    /// Default an hour after the start.
    #[serde(default)]
    pub end_datetime: String,
    #[serde(default)]
    pub all_day: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    /// Comma-separated.
    #[serde(default)]
    pub categories: String,
    /// Repeat (weekly unless `recurrence_rule` says).
    #[serde(default)]
    pub recurring: Option<bool>,
    /// An RRULE such as `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`, or DAILY/WEEKLY/MONTHLY/YEARLY.
    #[serde(default)]
    pub recurrence_rule: String,
    /// Last day of the series, if the rule has no COUNT/UNTIL.
    #[serde(default)]
    pub recurrence_end_date: String,
    /// Minutes before the start (0: none).
    #[serde(default = "default_reminder")]
    pub reminder_minutes: i64,
    /// Remind by e-mail instead of a notification.
    #[serde(default)]
    pub reminder_email: bool,
    /// CONFIRMED, TENTATIVE or CANCELLED.
    #[serde(default = "default_status")]
    pub status: String,
    /// 0 (undefined), 1 (highest) to 9 (lowest).
    #[serde(default = "default_priority")]
    pub priority: i64,
    /// PUBLIC, PRIVATE or CONFIDENTIAL.
    #[serde(default = "default_privacy")]
    pub privacy: String,
    /// Comma-separated e-mails to invite.
    #[serde(default)]
    pub attendees: String,
    #[serde(default)]
    pub url: String,
    /// CSS color name or `#RRGGBB`.
    #[serde(default)]
    pub color: String,
    /// IANA zone of local times; "floating" for none.
    #[serde(default)]
    pub timezone: String,
    /// Minutes before the start, or `{"minutes_before": 30, "action": "EMAIL"}`.
    #[serde(default)]
    pub reminders: Option<Vec<serde_json::Value>>,
}

fn default_reminder() -> i64 {
    15
}
fn default_status() -> String {
    "CONFIRMED".into()
}
fn default_priority() -> i64 {
    5
}
fn default_privacy() -> String {
    "PUBLIC".into()
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EventChanged {
    pub message: String,
    pub event: EventOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateEventArgs {
    pub calendar_name: String,
    pub event_uid: String,
    #[serde(default)]
    pub title: Option<String>,
    /// As for create; keeps the length if `end_datetime` is null.
    #[serde(default)]
    pub start_datetime: Option<String>,
    #[serde(default)]
    pub end_datetime: Option<String>,
    #[serde(default)]
    pub all_day: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// Comma-separated; "" removes them.
    #[serde(default)]
    pub categories: Option<String>,
    /// false removes the recurrence.
    #[serde(default)]
    pub recurring: Option<bool>,
    #[serde(default)]
    pub recurrence_rule: Option<String>,
    #[serde(default)]
    pub recurrence_end_date: Option<String>,
    /// Replaces the reminders with one (0: none).
    #[serde(default)]
    pub reminder_minutes: Option<i64>,
    #[serde(default)]
    pub reminder_email: Option<bool>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub privacy: Option<String>,
    /// Comma-separated; replaces the list, keeping answers.
    #[serde(default)]
    pub attendees: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    /// Zone of local times; alone, re-expresses the times.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub reminders: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ManageCalendarArgs {
    /// create, update, delete or list.
    pub action: String,
    /// Letters, digits, - and _; not needed for list.
    #[serde(default)]
    pub calendar_name: String,
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
    /// Local start time `HH:MM`.
    pub time: String,
    #[serde(default = "default_duration")]
    pub duration_minutes: i64,
    #[serde(default = "default_calendar")]
    pub calendar_name: String,
    /// Comma-separated e-mails to invite.
    #[serde(default)]
    pub attendees: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_reminder")]
    pub reminder_minutes: i64,
    /// IANA zone of `time`; default the server's.
    #[serde(default)]
    pub timezone: String,
}

fn default_duration() -> i64 {
    60
}
fn default_calendar() -> String {
    "personal".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BulkArgs {
    /// update, delete or move.
    pub operation: String,
    #[serde(default)]
    pub title_contains: Option<String>,
    /// Comma-separated.
    #[serde(default)]
    pub categories: Option<String>,
    /// Default: every calendar with events.
    #[serde(default)]
    pub calendar_name: Option<String>,
    /// Default today.
    #[serde(default)]
    pub start_date: String,
    /// Default 90 days after the start.
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
    /// For move.
    #[serde(default)]
    pub target_calendar: Option<String>,
    /// Needed to change recurring series.
    #[serde(default)]
    pub apply_to_series: bool,
    /// Only report what would change.
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
    pub operation: String,
    pub dry_run: bool,
    pub matched: usize,
    pub changed: usize,
    pub failed: usize,
    pub items: Vec<BulkItem>,
}

/// Writes a new event into a calendar and returns it.
async fn create_in(
    user: &NextcloudUser,
    calendar_name: &str,
    edit: &EventEdit,
    zone: &TimeZone,
) -> Result<EventOut, ToolError> {
    let (uid, doc) = edit.create(zone.name())?;
    let cal = user.calendars().find(calendar_name).await?;
    if !cal.supports("VEVENT") {
        return Err(ToolError::invalid(
            "calendar_name",
            format!(
                "calendar '{}' does not hold events (only {})",
                cal.name,
                cal.components.join(", ")
            ),
        ));
    }
    let href = format!("{}{}", cal.href, object_name(&uid, "ics"));
    let etag = user
        .calendars()
        .put(&href, &doc.to_text(), Precondition::Create)
        .await?;
    EventOut::of(&doc, &cal, &href, &etag, zone.tz())
}

/// `If-Match` for this ETag, or no condition without one.
fn if_match(etag: String) -> Precondition {
    if etag.is_empty() {
        Precondition::None
    } else {
        Precondition::IfMatch(etag)
    }
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_calendar_create_event",
        &apps::CALENDAR,
        Some("calendar.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_calendar_update_event",
        &apps::CALENDAR,
        Some("calendar.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_calendar_delete_event",
        &apps::CALENDAR,
        Some("calendar.write"),
        Delete,
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
        "nc_calendar_bulk_operations",
        &apps::CALENDAR,
        Some("calendar.write"),
        Overwrite,
    ),
];

#[tool_router(router = calendar_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_create_event",
        title = "Create a calendar event",
        description = "Create an event with recurrence, reminders, attendees, categories or privacy; a date alone makes it all-day."
    )]
    async fn nc_calendar_create_event(
        &self,
        Parameters(a): Parameters<CreateEventArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<EventChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        let edit = EventEdit {
            title: Some(a.title),
            start: Some(a.start_datetime),
            end: Some(a.end_datetime),
            all_day: Some(a.all_day),
            description: Some(a.description),
            location: Some(a.location),
            categories: Some(split_csv(&a.categories)),
            recurring: a.recurring.filter(|r| *r),
            recurrence_rule: Some(a.recurrence_rule).filter(|r| !r.is_empty()),
            recurrence_end_date: Some(a.recurrence_end_date),
            alarms: Alarm::choose(
                a.reminders.as_deref(),
                Some(a.reminder_minutes),
                Some(a.reminder_email),
            )?,
            status: Some(a.status),
            priority: Some(a.priority),
            privacy: Some(a.privacy),
            attendees: Some(emails("attendees", &a.attendees)?),
            url: Some(a.url),
            color: Some(a.color),
            timezone: Some(a.timezone),
        };
        let event = create_in(&user, &a.calendar_name, &edit, &self.state().timezone).await?;
        answer(EventChanged {
            message: format!(
                "Created event '{}' starting {}",
                event.event.title, event.event.start
            ),
            event,
        })
    }

    #[tool(
        name = "nc_calendar_update_event",
        title = "Update a calendar event",
        description = "Change some fields of an event (null keeps a field), with the ETag of your last read."
    )]
    async fn nc_calendar_update_event(
        &self,
        Parameters(a): Parameters<UpdateEventArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<EventChanged>>, ToolError> {
        let edit = EventEdit {
            title: a.title,
            start: a.start_datetime,
            end: a.end_datetime,
            all_day: a.all_day,
            description: a.description,
            location: a.location,
            categories: a.categories.as_deref().map(split_csv),
            recurring: a.recurring,
            recurrence_rule: a.recurrence_rule,
            recurrence_end_date: a.recurrence_end_date,
            alarms: Alarm::choose(a.reminders.as_deref(), a.reminder_minutes, a.reminder_email)?,
            status: a.status,
            priority: a.priority,
            privacy: a.privacy,
            attendees: a
                .attendees
                .as_deref()
                .map(|list| emails("attendees", list))
                .transpose()?,
            url: a.url,
            color: a.color,
            timezone: a.timezone,
        };
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VEVENT", &a.event_uid).await?;
        let etag = etag_to_match(&a.etag, &obj.etag);
        let mut doc = Document::parse(&obj.data);
        edit.update(&mut doc, self.state().timezone.name())?;
        let new_etag = user
            .calendars()
            .put(&obj.href, &doc.to_text(), if_match(etag))
            .await?;
        let event = EventOut::of(&doc, &cal, &obj.href, &new_etag, self.state().timezone.tz())?;
        answer(EventChanged {
            message: format!("Updated event '{}'", event.event.title),
            event,
        })
    }

    #[tool(
        name = "nc_calendar_delete_event",
        title = "Delete a calendar event",
        description = "Delete an event by UID (for a recurring event, the whole series)."
    )]
    async fn nc_calendar_delete_event(
        &self,
        Parameters(a): Parameters<EventRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeleteOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VEVENT", &a.event_uid).await?;
        user.calendars()
            .delete_object(&obj.href, obj.etag.as_deref())
            .await?;
        answer(DeleteOut {
            status_code: 204,
            message: format!(
                "Deleted event '{}' from calendar '{}'",
                a.event_uid, cal.name
            ),
            deleted_uid: a.event_uid,
            calendar_name: cal.name,
        })
    }

    #[tool(
        name = "nc_calendar_manage_calendar",
        title = "Create, update or delete a calendar",
        description = "Create, rename, recolor or delete a calendar (with everything in it); action=list lists them."
    )]
    async fn nc_calendar_manage_calendar(
        &self,
        Parameters(a): Parameters<ManageCalendarArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ManageCalendarOut>>, ToolError> {
        let action =
            one_of("action", &a.action, &["CREATE", "UPDATE", "DELETE", "LIST"])?.to_lowercase();
        let user = self.user(&ctx)?;
        let out = |message: String,
                   calendar: Option<CalendarOut>,
                   calendars: Option<Vec<CalendarOut>>| {
            answer(ManageCalendarOut {
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
            return out(format!("{} calendars", list.len()), None, Some(list));
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
        let description = Some(a.description.clone()).filter(|d| !d.is_empty());
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
                    description,
                };
                let cal = user
                    .calendars()
                    .create(name, &props, &["VEVENT", "VTODO"])
                    .await?;
                out(
                    format!("Created calendar '{}'", cal.name),
                    Some(cal.into()),
                    None,
                )
            }
            "update" => {
                let cal = user.calendars().find(name).await?;
                let props = CalendarProps {
                    display_name: Some(a.display_name.clone()).filter(|d| !d.is_empty()),
                    color,
                    description,
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
                out(
                    format!("Updated calendar '{}'", cal.name),
                    Some(cal.into()),
                    None,
                )
            }
            _ => {
                let cal = user.calendars().find(name).await?;
                user.calendars().delete(&cal).await?;
                out(format!("Deleted calendar '{}'", cal.name), None, None)
            }
        }
    }

    #[tool(
        name = "nc_calendar_create_meeting",
        title = "Create a meeting",
        description = "Schedule a meeting from a date, local start time and length, with invitees, location and a reminder."
    )]
    async fn nc_calendar_create_meeting(
        &self,
        Parameters(a): Parameters<MeetingArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<EventChanged>>, ToolError> {
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
        let edit = EventEdit {
            title: Some(a.title),
            start: Some(fmt(start)),
            end: Some(fmt(end)),
            all_day: Some(false),
            description: Some(a.description),
            location: Some(a.location),
            attendees: Some(emails("attendees", &a.attendees)?),
            alarms: Alarm::choose(None, Some(a.reminder_minutes), None)?,
            timezone: Some(a.timezone),
            status: Some("CONFIRMED".into()),
            ..Default::default()
        };
        let user = self.user(&ctx)?;
        let event = create_in(&user, &a.calendar_name, &edit, &self.state().timezone).await?;
        answer(EventChanged {
            message: format!("Scheduled '{}' at {}", event.event.title, event.event.start),
            event,
        })
    }

    #[tool(
        name = "nc_calendar_bulk_operations",
        title = "Change many events at once",
        description = "Update, delete or move every event matching filters in a date range; try dry_run=true first."
    )]
    async fn nc_calendar_bulk_operations(
        &self,
        Parameters(a): Parameters<BulkArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<BulkOut>>, ToolError> {
        let op = one_of("operation", &a.operation, &["UPDATE", "DELETE", "MOVE"])?.to_lowercase();
        let zone = zone_arg("", &self.state().timezone)?;
        let from = parse_bound("start_date", &a.start_date, &zone, false)?.unwrap_or_else(Utc::now);
        let to =
            parse_bound("end_date", &a.end_date, &zone, true)?.unwrap_or(from + Duration::days(90));
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
            categories: a.new_categories.as_deref().map(split_csv),
            priority: a.new_priority,
            alarms: Alarm::choose(None, a.new_reminder_minutes, None)?,
            ..Default::default()
        };
        let user = self.user(&ctx)?;
        let target = match (&op[..], a.target_calendar.as_deref()) {
            ("move", Some(t)) if !t.is_empty() => Some(user.calendars().find(t).await?),
            ("move", _) => return Err(ToolError::invalid("target_calendar", "required for move")),
            _ => None,
        };
        if op == "update" && edit.is_empty() {
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
        let filter = EventFilter::new(
            a.categories.as_deref(),
            a.status.as_deref(),
            a.title_contains.as_deref(),
            a.location_contains.as_deref(),
        );
        let mut items = Vec::new();
        let (mut changed, mut failed) = (0, 0);
        for cal in &cals {
            let objects = user
                .calendars()
                .query(cal, "VEVENT", Some((from, to)))
                .await?;
            for o in objects {
                let mut doc = Document::parse(&o.data);
                let Ok(e) = Event::of(&doc, zone.tz) else {
                    continue;
                };
                if occurrences(&doc, "VEVENT", from, to, zone.tz).is_empty() || !filter.keep(&e) {
                    continue;
                }
                let etag = o.etag.clone().unwrap_or_default();
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
                let outcome: Result<(), ToolError> = async {
                    match op.as_str() {
                        "delete" => user.calendars().delete_object(&o.href, Some(&etag)).await?,
                        "update" => {
                            edit.update(&mut doc, self.state().timezone.name())?;
                            user.calendars()
                                .put(&o.href, &doc.to_text(), if_match(etag.clone()))
                                .await?;
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
        let mut out = Envelope::ok(BulkOut {
            operation: op,
            dry_run: a.dry_run,
            matched: items.len(),
            changed,
            failed,
            items,
        });
        // Some changes failed: the answer says so at the top, and which in `items`.
        out.success = failed == 0;
        Ok(Json(out))
    }
}
