//! Event tools: create, list (with recurrence expansion), get, update, delete, upcoming.

use chrono::{DateTime, Duration, Utc};
use nextcloud::NextcloudUser;
use nextcloud::calendar::{Calendar, Occurrence, Precondition, Tz, When, occurrences};
use nextcloud::ical::{Document, Span, prop};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::*;
use crate::apps;
use crate::config::TimeZone;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{ToolError, now};
use crate::tools::spec::{Effect::*, ToolSpec};

/// An event (or one occurrence of a recurring event).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventOut {
    pub uid: String,
    pub title: String,
    /// Start: `YYYY-MM-DD` for all-day events, else RFC 3339 with the offset of the event's
    /// own zone (or `Z` for UTC; no offset for floating times).
    pub start: String,
    pub end: String,
    pub all_day: bool,
    /// The event's zone: an IANA name, "UTC", or "floating"; absent for all-day events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub description: String,
    pub location: String,
    pub categories: Vec<String>,
    pub status: String,
    pub priority: Option<i64>,
    /// CLASS: PUBLIC, PRIVATE or CONFIDENTIAL.
    pub privacy: String,
    pub url: String,
    pub color: String,
    pub recurring: bool,
    pub recurrence_rule: String,
    /// For an occurrence of a recurring event: which one (its original start, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence_id: Option<String>,
    pub attendees: Vec<Attendee>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizer: Option<String>,
    pub reminders: Vec<Reminder>,
    pub calendar_name: String,
    pub href: String,
    /// Pass to `nc_calendar_update_event` so a concurrent change is detected.
    pub etag: String,
}

pub(super) struct Obj<'a> {
    pub calendar: &'a Calendar,
    pub href: &'a str,
    pub etag: &'a str,
}

/// Output for a component; with `occ`, the times of that occurrence.
pub(super) fn event_out(
    doc: &Document,
    span: Span,
    occ: Option<&Occurrence>,
    obj: &Obj<'_>,
    default: Tz,
) -> EventOut {
    let c = read_component(doc, span);
    let ical = calcard_of(doc);
    let start_w = doc.get(span, "DTSTART").and_then(When::from_line);
    let end_w = doc
        .get(span, "DTEND")
        .or_else(|| doc.get(span, "DUE"))
        .and_then(When::from_line);
    let (start, end) = match (&start_w, occ) {
        (Some(sw), Some(o)) => (
            render_instant(sw, o.start, default),
            match (sw, &end_w) {
                (When::Date(_), _) => render_instant(sw, o.end - Duration::seconds(1), default)
                    .max(render_instant(sw, o.start, default)),
                (_, Some(ew)) => render_instant(ew, o.end, default),
                _ => render_instant(sw, o.end, default),
            },
        ),
        (Some(sw), None) => {
            let s_instant = sw.instant(ical.as_ref(), default);
            let end = match &end_w {
                Some(When::Date(d)) => (*d - Duration::days(1)).format("%Y-%m-%d").to_string(),
                Some(ew) => render(ew, ew.instant(ical.as_ref(), default)),
                None => match duration_minutes(doc, span) {
                    Some(m) => render(
                        &sw.shifted(Duration::minutes(m)),
                        s_instant.map(|i| i + Duration::minutes(m)),
                    ),
                    None => render(sw, s_instant),
                },
            };
            (render(sw, s_instant), end)
        }
        (None, _) => (String::new(), String::new()),
    };
    let all_day = start_w.as_ref().is_some_and(When::is_date);
    EventOut {
        uid: c.uid,
        title: c.summary,
        start,
        end,
        all_day,
        timezone: match &start_w {
            Some(When::Floating(_)) => Some("floating".into()),
            Some(w) => w.zone(),
            None => None,
        },
        description: c.description,
        location: c.location,
        categories: c.categories,
        status: c.status,
        priority: c.priority,
        privacy: if c.class.is_empty() {
            "PUBLIC".into()
        } else {
            c.class
        },
        url: c.url,
        color: c.color,
        recurring: !c.rrule.is_empty() || doc.get(span, "RDATE").is_some(),
        recurrence_rule: c.rrule,
        recurrence_id: occ
            .and_then(|o| o.recurrence_id)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        attendees: c.attendees,
        organizer: c.organizer,
        reminders: c.reminders,
        calendar_name: obj.calendar.name.clone(),
        href: obj.href.to_string(),
        etag: obj.etag.to_string(),
    }
}

fn calcard_of(doc: &Document) -> Option<calcard_ical::ICalendar> {
    calcard_ical::ICalendar::parse(doc.to_text()).ok()
}

mod calcard_ical {
    pub use nextcloud::calendar::ICalendar;
}

fn duration_minutes(doc: &Document, span: Span) -> Option<i64> {
    let v = doc.get(span, "DURATION")?.raw_value().trim().to_string();
    let (neg, rest) = match v.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, v.trim_start_matches('+').to_string()),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total = 0i64;
    let mut num = String::new();
    let mut time = false;
    for ch in rest.chars() {
        match ch {
            'T' => time = true,
            d if d.is_ascii_digit() => num.push(d),
            u => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += match (u, time) {
                    ('W', _) => n * 10080,
                    ('D', _) => n * 1440,
                    ('H', true) => n * 60,
                    ('M', true) => n,
                    ('S', true) => n / 60,
                    _ => return None,
                }
            }
        }
    }
    Some(if neg { -total } else { total })
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateEventArgs {
    /// Calendar to add the event to (its name from nc_calendar_list_calendars, or display name).
    pub calendar_name: String,
    /// Event title (SUMMARY).
    pub title: String,
    /// Start: `YYYY-MM-DDTHH:MM[:SS]` (local time in `timezone`), with `Z` or an offset for an
    /// exact instant, or `YYYY-MM-DD` for an all-day event.
    pub start_datetime: String,
    /// End, same formats; default one hour after the start (all-day: the same day).
    #[serde(default)]
    pub end_datetime: String,
    /// Make it an all-day event (dates only).
    #[serde(default)]
    pub all_day: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    /// Comma-separated categories.
    #[serde(default)]
    pub categories: String,
    /// Repeat the event (weekly unless `recurrence_rule` says otherwise).
    #[serde(default)]
    pub recurring: Option<bool>,
    /// RFC 5545 rule such as `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`, or DAILY/WEEKLY/MONTHLY/YEARLY.
    #[serde(default)]
    pub recurrence_rule: String,
    /// Last date of the series (`YYYY-MM-DD`), if the rule has no COUNT/UNTIL.
    #[serde(default)]
    pub recurrence_end_date: String,
    /// One reminder this many minutes before the start (0: none). Ignored when `reminders` is given.
    #[serde(default = "default_reminder")]
    pub reminder_minutes: i64,
    /// Make that reminder an e-mail instead of a notification.
    #[serde(default)]
    pub reminder_email: bool,
    /// CONFIRMED, TENTATIVE or CANCELLED.
    #[serde(default = "default_status")]
    pub status: String,
    /// 0 (undefined) or 1 (highest) to 9 (lowest).
    #[serde(default = "default_priority")]
    pub priority: i64,
    /// PUBLIC, PRIVATE or CONFIDENTIAL.
    #[serde(default = "default_privacy")]
    pub privacy: String,
    /// Comma-separated e-mail addresses to invite.
    #[serde(default)]
    pub attendees: String,
    #[serde(default)]
    pub url: String,
    /// CSS color name or `#RRGGBB` for this event.
    #[serde(default)]
    pub color: String,
    /// IANA zone for local times (e.g. Europe/Berlin); default from NEXTCLOUD_MCP_TIMEZONE
    /// (UTC if unset); "floating" for a time without zone.
    #[serde(default)]
    pub timezone: String,
    /// Several reminders: minutes before the start, or objects
    /// `{"minutes_before": 30, "action": "EMAIL"}`.
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
    pub success: bool,
    pub timestamp: String,
    pub message: String,
    pub event: EventOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListEventsArgs {
    /// Calendar to read; empty: the first calendar, or all with `search_all_calendars`.
    #[serde(default)]
    pub calendar_name: String,
    /// Range start (`YYYY-MM-DD` or date-time); default now.
    #[serde(default)]
    pub start_date: String,
    /// Range end (a date includes that whole day); default 30 days after the start.
    #[serde(default)]
    pub end_date: String,
    /// Most occurrences to return (1-1000).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Only events with at least this many attendees.
    #[serde(default)]
    pub min_attendees: Option<u32>,
    /// Only events lasting at least this long.
    #[serde(default)]
    pub min_duration_minutes: Option<i64>,
    /// Only events with one of these comma-separated categories.
    #[serde(default)]
    pub categories: Option<String>,
    /// Only events with this STATUS (CONFIRMED, TENTATIVE, CANCELLED).
    #[serde(default)]
    pub status: Option<String>,
    /// Case-insensitive substring of the title.
    #[serde(default)]
    pub title_contains: Option<String>,
    /// Case-insensitive substring of the location.
    #[serde(default)]
    pub location_contains: Option<String>,
    /// Look in every calendar that holds events.
    #[serde(default)]
    pub search_all_calendars: bool,
}

fn default_limit() -> u32 {
    50
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListEventsOut {
    pub success: bool,
    pub timestamp: String,
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
    /// The event's UID.
    pub event_uid: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetEventOut {
    pub success: bool,
    pub timestamp: String,
    pub event: EventOut,
    /// The raw iCalendar text.
    pub ical: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateEventArgs {
    pub calendar_name: String,
    pub event_uid: String,
    #[serde(default)]
    pub title: Option<String>,
    /// New start (same formats as create); the duration is kept when `end_datetime` is null.
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
    /// Comma-separated; replaces the categories ("" removes them).
    #[serde(default)]
    pub categories: Option<String>,
    /// false removes the recurrence.
    #[serde(default)]
    pub recurring: Option<bool>,
    #[serde(default)]
    pub recurrence_rule: Option<String>,
    #[serde(default)]
    pub recurrence_end_date: Option<String>,
    /// Replace the reminders with one this many minutes before (0: no reminder).
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
    /// Comma-separated e-mail addresses; replaces the list (existing answers are kept).
    #[serde(default)]
    pub attendees: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    /// Zone for the new local times; alone, it re-expresses the existing times in that zone.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub reminders: Option<Vec<serde_json::Value>>,
    /// ETag from the last read; if the event changed since, nothing is written.
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteOut {
    pub success: bool,
    pub timestamp: String,
    pub status_code: u16,
    pub message: String,
    pub deleted_uid: String,
    pub calendar_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpcomingArgs {
    /// Calendar to read; empty: every calendar with events.
    #[serde(default)]
    pub calendar_name: String,
    /// How many days ahead to look (1-366).
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

/// The event fields every write understands (create and update share them).
#[derive(Default)]
pub(super) struct EventEdit {
    pub title: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub all_day: Option<bool>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub categories: Option<String>,
    pub recurring: Option<bool>,
    pub recurrence_rule: Option<String>,
    pub recurrence_end_date: Option<String>,
    pub reminder_minutes: Option<i64>,
    pub reminder_email: Option<bool>,
    pub status: Option<String>,
    pub priority: Option<i64>,
    pub privacy: Option<String>,
    pub attendees: Option<String>,
    pub url: Option<String>,
    pub color: Option<String>,
    pub timezone: Option<String>,
    pub reminders: Option<Vec<serde_json::Value>>,
}

/// Applies an edit to the component, touching only the properties the edit names.
/// Local times without a zone are in `zone` (the server's), unless the edit names one.
pub(super) fn apply_edit(
    doc: &mut Document,
    span: Span,
    e: &EventEdit,
    zone: &TimeZone,
) -> Result<Span, ToolError> {
    let mut span = span;
    let tz_arg = e.timezone.clone().unwrap_or_default();
    let ical = calcard_of(doc);
    let default = zone.tz();
    let old_start = doc.get(span, "DTSTART").and_then(When::from_line);
    let old_end = doc.get(span, "DTEND").and_then(When::from_line);
    let was_all_day = old_start.as_ref().is_some_and(When::is_date);
    let all_day = e.all_day.unwrap_or(was_all_day);
    let old_len = match (&old_start, &old_end) {
        (Some(s), Some(en)) => match (
            s.instant(ical.as_ref(), default),
            en.instant(ical.as_ref(), default),
        ) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        (Some(_), None) => duration_minutes(doc, span).map(Duration::minutes),
        _ => None,
    };

    let mut start = match &e.start {
        Some(s) => Some(parse_when("start_datetime", s, &tz_arg, zone, all_day)?),
        None => old_start.clone(),
    };
    let mut end = match &e.end {
        Some(s) if !s.trim().is_empty() => {
            Some(parse_when("end_datetime", s, &tz_arg, zone, all_day)?)
        }
        _ => None,
    };
    // Re-express existing times in a new zone, or convert to/from all-day.
    if e.start.is_none() && (e.timezone.is_some() || e.all_day.is_some()) {
        if let Some(s) = &old_start {
            let instant = s.instant(ical.as_ref(), default);
            start = Some(reexpress(s, instant, &tz_arg, zone, all_day)?);
        }
        if e.end.is_none()
            && let Some(en) = &old_end
        {
            let instant = en.instant(ical.as_ref(), default);
            end = Some(reexpress(en, instant, &tz_arg, zone, all_day)?);
        }
    }
    let start_changed = start != old_start;
    if let Some(s) = &start {
        if end.is_none() && (start_changed || e.end.is_some()) {
            end = Some(if s.is_date() {
                match (&old_end, old_len) {
                    (Some(When::Date(_)), Some(len)) if !was_all_day || e.all_day.is_none() => {
                        s.shifted(Duration::days(len.num_days().max(1)))
                    }
                    _ => s.shifted(Duration::days(1)),
                }
            } else {
                match old_len {
                    Some(len) if !was_all_day => s.shifted(len),
                    _ => s.shifted(Duration::hours(1)),
                }
            });
        }
        if let (When::Date(sd), Some(When::Date(ed))) = (s, &end)
            && ed <= sd
        {
            // DTEND of an all-day event is exclusive: the "same day" means the next date.
            end = Some(When::Date(*sd + Duration::days(1)));
        }
        if let (Some(si), Some(ei)) = (
            s.instant(ical.as_ref(), default),
            end.as_ref()
                .and_then(|en| en.instant(ical.as_ref(), default)),
        ) && ei < si
        {
            return Err(ToolError::invalid(
                "end_datetime",
                "the end is before the start",
            ));
        }
        if start_changed || e.all_day.is_some() || e.timezone.is_some() {
            span = doc.set(span, "DTSTART", vec![s.to_prop("DTSTART")]);
        }
    }
    if let Some(en) = &end
        && (Some(en) != old_end.as_ref())
    {
        span = doc.set(span, "DURATION", vec![]);
        span = doc.set(span, "DTEND", vec![en.to_prop("DTEND")]);
    }
    if let Some(t) = &e.title {
        span = doc.set(span, "SUMMARY", text_prop("SUMMARY", t));
    }
    if let Some(v) = &e.description {
        span = doc.set(span, "DESCRIPTION", text_prop("DESCRIPTION", v));
    }
    if let Some(v) = &e.location {
        span = doc.set(span, "LOCATION", text_prop("LOCATION", v));
    }
    if let Some(v) = &e.categories {
        span = doc.set(span, "CATEGORIES", categories_prop(v));
    }
    if let Some(v) = &e.status {
        let v = one_of("status", v, &["CONFIRMED", "TENTATIVE", "CANCELLED"])?;
        span = doc.set(span, "STATUS", vec![prop("STATUS", &[], &v)]);
    }
    if let Some(p) = e.priority {
        let p = check_priority("priority", p)?;
        span = doc.set(
            span,
            "PRIORITY",
            vec![prop("PRIORITY", &[], &p.to_string())],
        );
    }
    if let Some(v) = &e.privacy {
        let v = one_of("privacy", v, &["PUBLIC", "PRIVATE", "CONFIDENTIAL"])?;
        span = doc.set(span, "CLASS", vec![prop("CLASS", &[], &v)]);
    }
    if let Some(v) = &e.url {
        let lines = if v.is_empty() {
            vec![]
        } else {
            vec![prop("URL", &[("VALUE", "URI")], v)]
        };
        span = doc.set(span, "URL", lines);
    }
    if let Some(v) = &e.color {
        span = doc.set(span, "COLOR", text_prop("COLOR", v));
    }
    if let Some(v) = &e.attendees {
        let existing: Vec<_> = doc.get_all(span, "ATTENDEE").into_iter().cloned().collect();
        let lines = attendee_lines(v, &existing)?;
        span = doc.set(span, "ATTENDEE", lines);
    }
    match (e.recurring, &e.recurrence_rule) {
        (Some(false), _) => span = doc.set(span, "RRULE", vec![]),
        (Some(true), rule) | (None, rule @ Some(_)) => {
            let rule = rule.clone().unwrap_or_default();
            if e.recurring == Some(true) || !rule.trim().is_empty() {
                let value = rrule_value(&rule, e.recurrence_end_date.as_deref().unwrap_or(""))?;
                span = doc.set(span, "RRULE", vec![prop("RRULE", &[], &value)]);
            }
        }
        (None, None) => {
            if let Some(until) = e.recurrence_end_date.as_deref().filter(|u| !u.is_empty())
                && let Some(old) = doc.get(span, "RRULE")
            {
                let base: Vec<&str> = old
                    .raw_value()
                    .split(';')
                    .filter(|p| !p.starts_with("UNTIL=") && !p.starts_with("COUNT="))
                    .collect();
                let value = rrule_value(&base.join(";"), until)?;
                span = doc.set(span, "RRULE", vec![prop("RRULE", &[], &value)]);
            }
        }
    }
    let summary = doc
        .get(span, "SUMMARY")
        .map(|l| l.text())
        .unwrap_or_default();
    let alarms: Option<Vec<(i64, bool)>> = if let Some(list) = &e.reminders {
        Some(parse_reminders(list)?)
    } else {
        e.reminder_minutes.map(|m| {
            if m > 0 {
                vec![(m, e.reminder_email.unwrap_or(false))]
            } else {
                vec![]
            }
        })
    };
    if let Some(alarms) = alarms {
        span = doc.remove_children(span, "VALARM");
        for (m, email) in alarms {
            span = doc.append(span, alarm_lines(m, email, &summary));
        }
    }
    Ok(span)
}

fn reexpress(
    w: &When,
    instant: Option<DateTime<Utc>>,
    tz_arg: &str,
    zone: &TimeZone,
    all_day: bool,
) -> Result<When, ToolError> {
    let Some(instant) = instant else {
        return Ok(w.clone());
    };
    if all_day {
        let (_, tz) = zone_arg(tz_arg, zone)?;
        return Ok(match w {
            When::Date(d) => When::Date(*d),
            _ => When::Date(instant.with_timezone(&tz).date_naive()),
        });
    }
    if let When::Date(d) = w {
        let (name, _) = zone_arg(tz_arg, zone)?;
        let t = d.and_hms_opt(9, 0, 0).unwrap_or_default();
        return parse_when(
            "timezone",
            &t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            &name,
            zone,
            false,
        );
    }
    let rfc = instant.to_rfc3339();
    parse_when("timezone", &rfc, tz_arg, zone, false)
}

/// Finds an event or task by UID, with its calendar.
pub(super) async fn load(
    user: &NextcloudUser,
    calendar_name: &str,
    kind: &str,
    uid: &str,
) -> Result<(Calendar, nextcloud::calendar::CalendarObject), ToolError> {
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

/// Calendars to read for a list: the named one, or every one holding `kind`.
pub(super) async fn calendars_for(
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

/// Every occurrence of every event in the calendars within `[from, to)`.
pub(super) async fn occurrences_in(
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
            let obj = Obj {
                calendar: cal,
                href: &o.href,
                etag: &etag,
            };
            for occ in occurrences(&doc, "VEVENT", from, to, default) {
                out.push((
                    occ.start,
                    event_out(&doc, occ.span, Some(&occ), &obj, default),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.title.cmp(&b.1.title)));
    Ok(out)
}

/// Builds a new event resource from create arguments; returns (uid, text).
pub(super) fn new_event(
    edit: &EventEdit,
    status: &str,
    zone: &TimeZone,
) -> Result<(String, Document), ToolError> {
    let uid = new_uid();
    let stamp = nextcloud::calendar::caldav_time(Utc::now());
    let mut doc = new_calendar(
        "VEVENT",
        vec![
            prop("UID", &[], &uid),
            prop("DTSTAMP", &[], &stamp),
            prop("CREATED", &[], &stamp),
            prop("LAST-MODIFIED", &[], &stamp),
            prop("SEQUENCE", &[], "0"),
            prop("STATUS", &[], status),
        ],
    );
    let span = master(&doc, "VEVENT").expect("just built");
    apply_edit(&mut doc, span, edit, zone)?;
    ensure_vtimezones(&mut doc, Utc::now());
    Ok((uid, doc))
}

/// Writes a new event into a calendar and returns its output.
pub(super) async fn create_in(
    user: &NextcloudUser,
    calendar_name: &str,
    edit: &EventEdit,
    zone: &TimeZone,
) -> Result<EventOut, ToolError> {
    if edit.start.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(ToolError::invalid(
            "start_datetime",
            "give the start date or date-time",
        ));
    }
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
    let status = edit.status.clone().unwrap_or_else(|| "CONFIRMED".into());
    let status = one_of("status", &status, &["CONFIRMED", "TENTATIVE", "CANCELLED"])?;
    let (uid, doc) = new_event(edit, &status, zone)?;
    let href = format!("{}{}", cal.href, object_name(&uid, "ics"));
    let etag = user
        .calendars()
        .put(&href, &doc.to_text(), Precondition::Create)
        .await?;
    let default = zone.tz();
    let span = master(&doc, "VEVENT").expect("just built");
    Ok(event_out(
        &doc,
        span,
        None,
        &Obj {
            calendar: &cal,
            href: &href,
            etag: &etag,
        },
        default,
    ))
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
        "nc_calendar_get_upcoming_events",
        &apps::CALENDAR,
        Some("calendar.read"),
        Read,
    ),
];

#[tool_router(router = calendar_events_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_create_event",
        title = "Create a calendar event",
        description = "Create an event in a calendar. Times keep their zone: give local times with `timezone` (IANA name; default the server's configured zone), or an exact instant with Z/offset; a date alone makes an all-day event. Supports recurrence (RRULE), reminders, attendees, categories, status, priority, privacy, URL and color. Returns the event with its UID and ETag."
    )]
    async fn nc_calendar_create_event(
        &self,
        Parameters(a): Parameters<CreateEventArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<EventChanged>, ToolError> {
        let user = self.user(&ctx)?;
        let edit = EventEdit {
            title: Some(a.title),
            start: Some(a.start_datetime),
            end: Some(a.end_datetime),
            all_day: Some(a.all_day),
            description: Some(a.description),
            location: Some(a.location),
            categories: Some(a.categories),
            recurring: a.recurring.filter(|r| *r),
            recurrence_rule: Some(a.recurrence_rule).filter(|r| !r.is_empty()),
            recurrence_end_date: Some(a.recurrence_end_date),
            reminder_minutes: Some(a.reminder_minutes),
            reminder_email: Some(a.reminder_email),
            status: Some(a.status),
            priority: Some(a.priority),
            privacy: Some(a.privacy),
            attendees: Some(a.attendees),
            url: Some(a.url),
            color: Some(a.color),
            timezone: Some(a.timezone),
            reminders: a.reminders,
        };
        let event = create_in(&user, &a.calendar_name, &edit, &self.state().timezone).await?;
        Ok(Json(EventChanged {
            success: true,
            timestamp: now(),
            message: format!("Created event '{}' starting {}", event.title, event.start),
            event,
        }))
    }

    #[tool(
        name = "nc_calendar_list_events",
        title = "List calendar events",
        description = "List events in a date range (server-side time-range query), with recurring events expanded into their occurrences (RRULE, RDATE, EXDATE and moved instances). Optional filters on attendees, duration, categories, status, title and location. Times are given in each event's own zone."
    )]
    async fn nc_calendar_list_events(
        &self,
        Parameters(a): Parameters<ListEventsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListEventsOut>, ToolError> {
        if !(1..=1000).contains(&a.limit) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let zone = &self.state().timezone;
        let tz = zone.tz();
        let from = parse_bound("start_date", &a.start_date, zone, false)?.unwrap_or_else(Utc::now);
        let to =
            parse_bound("end_date", &a.end_date, zone, true)?.unwrap_or(from + Duration::days(30));
        if to <= from {
            return Err(ToolError::invalid(
                "end_date",
                "the end must be after the start",
            ));
        }
        let user = self.user(&ctx)?;
        let cals = calendars_for(&user, &a.calendar_name, a.search_all_calendars, "VEVENT").await?;
        let all = occurrences_in(&user, &cals, from, to, tz).await?;
        let cats = a.categories.as_deref().map(split_csv).unwrap_or_default();
        let lower = |s: &Option<String>| {
            s.as_deref()
                .map(str::to_lowercase)
                .filter(|s| !s.is_empty())
        };
        let (title, location) = (lower(&a.title_contains), lower(&a.location_contains));
        let events: Vec<EventOut> = all
            .into_iter()
            .filter(|(start, e)| {
                a.min_attendees
                    .is_none_or(|n| e.attendees.len() >= n as usize)
                    && a.min_duration_minutes
                        .is_none_or(|m| occurrence_minutes(e, *start).is_none_or(|d| d >= m))
                    && (cats.is_empty()
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
                        .is_none_or(|t| e.location.to_lowercase().contains(t))
            })
            .map(|(_, e)| e)
            .collect();
        let total = events.len();
        Ok(Json(ListEventsOut {
            success: true,
            timestamp: now(),
            events: events.into_iter().take(a.limit as usize).collect(),
            total_count: total,
            range_start: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            range_end: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            timezone: zone.name().to_string(),
        }))
    }

    #[tool(
        name = "nc_calendar_get_event",
        title = "Get a calendar event",
        description = "Get one event by UID with all its details (zone-aware times, recurrence rule, attendees with their answers, reminders), its ETag and the raw iCalendar text."
    )]
    async fn nc_calendar_get_event(
        &self,
        Parameters(a): Parameters<EventRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<GetEventOut>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VEVENT", &a.event_uid).await?;
        let doc = Document::parse(&obj.data);
        let span = master(&doc, "VEVENT")
            .ok_or_else(|| nextcloud::Error::InvalidResponse("no VEVENT in the object".into()))?;
        let default = self.state().timezone.tz();
        let etag = obj.etag.clone().unwrap_or_default();
        let event = event_out(
            &doc,
            span,
            None,
            &Obj {
                calendar: &cal,
                href: &obj.href,
                etag: &etag,
            },
            default,
        );
        Ok(Json(GetEventOut {
            success: true,
            timestamp: now(),
            event,
            ical: obj.data,
        }))
    }

    #[tool(
        name = "nc_calendar_update_event",
        title = "Update a calendar event",
        description = "Change fields of an event (null keeps a field). Only the properties you change are rewritten; everything else in the event (other clients' properties, attendee answers) stays as it was. Pass the ETag from your last read to be told, instead of overwriting, when someone else changed it."
    )]
    async fn nc_calendar_update_event(
        &self,
        Parameters(a): Parameters<UpdateEventArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<EventChanged>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VEVENT", &a.event_uid).await?;
        let etag = if a.etag.trim().is_empty() {
            obj.etag.clone().unwrap_or_default()
        } else {
            a.etag.trim().to_string()
        };
        let mut doc = Document::parse(&obj.data);
        let span = master(&doc, "VEVENT")
            .ok_or_else(|| nextcloud::Error::InvalidResponse("no VEVENT in the object".into()))?;
        let edit = EventEdit {
            title: a.title,
            start: a.start_datetime,
            end: a.end_datetime,
            all_day: a.all_day,
            description: a.description,
            location: a.location,
            categories: a.categories,
            recurring: a.recurring,
            recurrence_rule: a.recurrence_rule,
            recurrence_end_date: a.recurrence_end_date,
            reminder_minutes: a.reminder_minutes,
            reminder_email: a.reminder_email,
            status: a.status,
            priority: a.priority,
            privacy: a.privacy,
            attendees: a.attendees,
            url: a.url,
            color: a.color,
            timezone: a.timezone,
            reminders: a.reminders,
        };
        let span = apply_edit(&mut doc, span, &edit, &self.state().timezone)?;
        touch(&mut doc, span, true);
        ensure_vtimezones(&mut doc, Utc::now());
        // Inserting a VTIMEZONE moves the event's lines: find it again.
        let span = master(&doc, "VEVENT").expect("still there");
        let precondition = if etag.is_empty() {
            Precondition::None
        } else {
            Precondition::IfMatch(etag)
        };
        let new_etag = user
            .calendars()
            .put(&obj.href, &doc.to_text(), precondition)
            .await?;
        let default = self.state().timezone.tz();
        let event = event_out(
            &doc,
            span,
            None,
            &Obj {
                calendar: &cal,
                href: &obj.href,
                etag: &new_etag,
            },
            default,
        );
        Ok(Json(EventChanged {
            success: true,
            timestamp: now(),
            message: format!("Updated event '{}'", event.title),
            event,
        }))
    }

    #[tool(
        name = "nc_calendar_delete_event",
        title = "Delete a calendar event",
        description = "Delete an event (the whole series for a recurring event) by UID."
    )]
    async fn nc_calendar_delete_event(
        &self,
        Parameters(a): Parameters<EventRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DeleteOut>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VEVENT", &a.event_uid).await?;
        user.calendars()
            .delete_object(&obj.href, obj.etag.as_deref())
            .await?;
        Ok(Json(DeleteOut {
            success: true,
            timestamp: now(),
            status_code: 204,
            message: format!(
                "Deleted event '{}' from calendar '{}'",
                a.event_uid, cal.name
            ),
            deleted_uid: a.event_uid,
            calendar_name: cal.name,
        }))
    }

    #[tool(
        name = "nc_calendar_get_upcoming_events",
        title = "Upcoming events",
        description = "The next events from now over the coming days (recurring events expanded), earliest first."
    )]
    async fn nc_calendar_get_upcoming_events(
        &self,
        Parameters(a): Parameters<UpcomingArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListEventsOut>, ToolError> {
        if !(1..=366).contains(&a.days_ahead) {
            return Err(ToolError::invalid("days_ahead", "use 1 to 366"));
        }
        if !(1..=1000).contains(&a.limit) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let zone = &self.state().timezone;
        let tz = zone.tz();
        let from = Utc::now();
        let to = from + Duration::days(a.days_ahead);
        let user = self.user(&ctx)?;
        let cals = calendars_for(&user, &a.calendar_name, true, "VEVENT").await?;
        let all = occurrences_in(&user, &cals, from, to, tz).await?;
        let total = all.len();
        Ok(Json(ListEventsOut {
            success: true,
            timestamp: now(),
            events: all
                .into_iter()
                .take(a.limit as usize)
                .map(|(_, e)| e)
                .collect(),
            total_count: total,
            range_start: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            range_end: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            timezone: zone.name().to_string(),
        }))
    }
}

fn occurrence_minutes(e: &EventOut, start: DateTime<Utc>) -> Option<i64> {
    let end = DateTime::parse_from_rfc3339(&e.end)
        .ok()?
        .with_timezone(&Utc);
    Some((end - start).num_minutes())
}
