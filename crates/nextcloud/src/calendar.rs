//! CalDAV: calendars and their events and tasks (`/remote.php/dav/calendars/{user}/`).
//!
//! Objects travel as iCalendar text and are edited with [`crate::ical::Document`], so what a
//! caller does not change is written back exactly as it was read. Writes carry `If-Match` /
//! `If-None-Match`, so a concurrent change is a [`crate::Error::Conflict`], never lost.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use quick_xml::escape::escape as xml_escape;
use reqwest::Method;

pub use calcard::common::timezone::Tz;
pub use calcard::icalendar::ICalendar;
use calcard::icalendar::{ICalendarComponent, ICalendarComponentType};

use crate::client::Request;
use crate::dav::{CALDAV, DAV, DavResponse, encode_segment};
use crate::ical::{Document, Line, Span};
use crate::{Error, NextcloudUser, Result};

const APPLE: &str = "http://apple.com/ns/ical/";
const CS: &str = "http://calendarserver.org/ns/";

/// A calendar collection.
#[derive(Clone, Debug)]
pub struct Calendar {
    /// Last path segment (`personal`): how tools name a calendar.
    pub name: String,
    /// Encoded URL path, ending in `/`.
    pub href: String,
    pub display_name: String,
    pub color: Option<String>,
    pub description: Option<String>,
    /// Component types it accepts (VEVENT, VTODO, ...). Empty when the server did not say.
    pub components: Vec<String>,
    /// Changes whenever anything in the calendar changes.
    pub ctag: Option<String>,
    pub sync_token: Option<String>,
}

impl Calendar {
    /// Whether the calendar accepts this component type (unknown set: everything).
    pub fn supports(&self, component: &str) -> bool {
        self.components.is_empty()
            || self
                .components
                .iter()
                .any(|c| c.eq_ignore_ascii_case(component))
    }
}

/// One calendar object resource (an `.ics` holding one event or task with its overrides).
#[derive(Clone, Debug)]
pub struct CalendarObject {
    /// Encoded URL path.
    pub href: String,
    pub etag: Option<String>,
    pub data: String,
}

/// Condition for a write.
#[derive(Clone, Debug)]
pub enum Precondition {
    /// Create only: fail if something is already there.
    Create,
    /// Replace only the version with this ETag.
    IfMatch(String),
    /// Write regardless.
    None,
}

/// Properties for a new calendar or a change to one.
#[derive(Clone, Debug, Default)]
pub struct CalendarProps {
    pub display_name: Option<String>,
    pub color: Option<String>,
    pub description: Option<String>,
}

/// CalDAV operations of one user.
pub struct Calendars<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn calendars(&self) -> Calendars<'_> {
        Calendars { user: self }
    }
}

const LIST_CALENDARS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/">
<d:prop><d:resourcetype/><d:displayname/><a:calendar-color/><c:calendar-description/><c:supported-calendar-component-set/><cs:getctag/><d:sync-token/></d:prop>
</d:propfind>"#;

/// What finding a calendar needs: no change tags, which some servers (Radicale, for one)
/// compute from every object of the collection on each request.
const FIND_CALENDARS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="http://apple.com/ns/ical/">
<d:prop><d:resourcetype/><d:displayname/><a:calendar-color/><c:calendar-description/><c:supported-calendar-component-set/></d:prop>
</d:propfind>"#;

/// CalDAV time-range format (UTC).
pub fn caldav_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

impl Calendars<'_> {
    /// The calendar home, from the user id found by principal discovery.
    pub async fn home(&self) -> Result<String> {
        let id = self.user.user_id().await?;
        Ok(format!(
            "/remote.php/dav/calendars/{}/",
            encode_segment(&id)
        ))
    }

    /// Every calendar of the user (not the inbox/outbox or trash bin), with change tags.
    pub async fn list(&self) -> Result<Vec<Calendar>> {
        self.list_with(LIST_CALENDARS).await
    }

    async fn list_with(&self, propfind: &str) -> Result<Vec<Calendar>> {
        let home = self.home().await?;
        let responses = self
            .user
            .dav_multistatus("PROPFIND", &home, Some("1"), propfind, "The calendar list")
            .await?;
        Ok(responses
            .iter()
            .filter(|r| r.has_type(CALDAV, "calendar"))
            .map(calendar_from)
            .collect())
    }

    /// A calendar by its name (URL segment) or, failing that, its display name.
    /// Its `ctag` and `sync_token` are left out.
    pub async fn find(&self, name: &str) -> Result<Calendar> {
        let all = self.list_with(FIND_CALENDARS).await?;
        let found = all
            .iter()
            .find(|c| c.name == name)
            .or_else(|| all.iter().find(|c| c.display_name == name))
            .or_else(|| {
                all.iter()
                    .find(|c| c.display_name.eq_ignore_ascii_case(name))
            });
        found.cloned().ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
            Error::NotFound {
                what: format!("Calendar '{name}'"),
                message: Some(format!("the calendars are: {}", names.join(", "))),
            }
        })
    }

    /// Objects of one component type, optionally only those overlapping `[start, end)`; the
    /// server does the filtering (and for recurring events, the overlap test per instance).
    pub async fn query(
        &self,
        calendar: &Calendar,
        component: &str,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<CalendarObject>> {
        let inner = match range {
            Some((s, e)) => format!(
                r#"<c:time-range start="{}" end="{}"/>"#,
                caldav_time(s),
                caldav_time(e)
            ),
            None => String::new(),
        };
        self.report(calendar, component, &inner).await
    }

    /// The object whose UID is `uid`, if any.
    pub async fn find_by_uid(
        &self,
        calendar: &Calendar,
        component: &str,
        uid: &str,
    ) -> Result<Option<CalendarObject>> {
        let inner = format!(
            r#"<c:prop-filter name="UID"><c:text-match collation="i;octet">{}</c:text-match></c:prop-filter>"#,
            xml_escape(uid)
        );
        let found = self.report(calendar, component, &inner).await?;
        Ok(found.into_iter().find(|o| {
            let doc = Document::parse(&o.data);
            doc.components(component)
                .iter()
                .any(|s| doc.get(*s, "UID").is_some_and(|l| l.text() == uid))
        }))
    }

    async fn report(
        &self,
        calendar: &Calendar,
        component: &str,
        filter: &str,
    ) -> Result<Vec<CalendarObject>> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="{component}">{filter}</c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"#
        );
        let what = format!("Calendar '{}'", calendar.name);
        let responses = self
            .user
            .dav_multistatus("REPORT", &calendar.href, Some("1"), &body, &what)
            .await?;
        Ok(responses
            .into_iter()
            .filter_map(|r| {
                let data = r.text(CALDAV, "calendar-data")?.to_string();
                Some(CalendarObject {
                    etag: r.etag(),
                    href: r.href,
                    data,
                })
            })
            .collect())
    }

    /// Writes an object; returns its new ETag (asked for separately when the PUT answer
    /// carries none, as Sabre does when it changed the data on the way in).
    pub async fn put(&self, href: &str, data: &str, condition: Precondition) -> Result<String> {
        let mut req = Request::new(Method::PUT, href, "The calendar object")
            .body("text/calendar; charset=utf-8", data.to_string());
        req = match condition {
            Precondition::Create => req.header(http::header::IF_NONE_MATCH, "*")?,
            Precondition::IfMatch(etag) => req.header(
                http::header::IF_MATCH,
                &format!("\"{}\"", etag.trim_matches('"')),
            )?,
            Precondition::None => req,
        };
        let resp = self.user.send(req).await?;
        if let Some(etag) = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
        {
            return Ok(etag.trim_start_matches("W/").trim_matches('"').to_string());
        }
        self.etag(href).await
    }

    /// The current ETag of an object.
    pub async fn etag(&self, href: &str) -> Result<String> {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#;
        let r = self
            .user
            .dav_multistatus("PROPFIND", href, Some("0"), body, "The calendar object")
            .await?;
        r.first()
            .and_then(DavResponse::etag)
            .ok_or_else(|| Error::InvalidResponse("no ETag for the written object".into()))
    }

    /// Deletes an object, only if unchanged when `etag` is given.
    pub async fn delete_object(&self, href: &str, etag: Option<&str>) -> Result<()> {
        let mut req = Request::new(Method::DELETE, href, "The calendar object");
        if let Some(etag) = etag.filter(|e| !e.is_empty()) {
            req = req.header(
                http::header::IF_MATCH,
                &format!("\"{}\"", etag.trim_matches('"')),
            )?;
        }
        self.user.send(req).await?;
        Ok(())
    }

    /// Creates a calendar (MKCALENDAR) accepting the given component types.
    pub async fn create(
        &self,
        name: &str,
        props: &CalendarProps,
        components: &[&str],
    ) -> Result<Calendar> {
        if name.is_empty() || name.contains('/') {
            return Err(Error::invalid_argument(
                "calendar_name",
                "use a non-empty name without '/'",
            ));
        }
        let href = format!("{}{}/", self.home().await?, encode_segment(name));
        let comps: String = components
            .iter()
            .map(|c| format!(r#"<c:comp name="{c}"/>"#))
            .collect();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="http://apple.com/ns/ical/">
<d:set><d:prop>{}<c:supported-calendar-component-set>{comps}</c:supported-calendar-component-set></d:prop></d:set>
</c:mkcalendar>"#,
            prop_xml(props)
        );
        let req = Request::new(
            crate::dav::method("MKCALENDAR"),
            &href,
            format!("Calendar '{name}'"),
        )
        .body("application/xml; charset=utf-8", body);
        self.user.send(req).await?;
        self.find(name).await
    }

    /// Changes display name, color or description (PROPPATCH).
    pub async fn update(&self, calendar: &Calendar, props: &CalendarProps) -> Result<()> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<d:propertyupdate xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="http://apple.com/ns/ical/">
<d:set><d:prop>{}</d:prop></d:set></d:propertyupdate>"#,
            prop_xml(props)
        );
        let what = format!("Calendar '{}'", calendar.name);
        let answers = self
            .user
            .dav_multistatus("PROPPATCH", &calendar.href, None, &body, &what)
            .await?;
        drop(answers);
        Ok(())
    }

    /// Deletes a whole calendar.
    pub async fn delete(&self, calendar: &Calendar) -> Result<()> {
        let req = Request::new(
            Method::DELETE,
            &calendar.href,
            format!("Calendar '{}'", calendar.name),
        );
        self.user.send(req).await?;
        Ok(())
    }
}

fn prop_xml(props: &CalendarProps) -> String {
    let mut out = String::new();
    if let Some(d) = &props.display_name {
        out += &format!("<d:displayname>{}</d:displayname>", xml_escape(d));
    }
    if let Some(c) = &props.color {
        out += &format!("<a:calendar-color>{}</a:calendar-color>", xml_escape(c));
    }
    if let Some(d) = &props.description {
        out += &format!(
            "<c:calendar-description>{}</c:calendar-description>",
            xml_escape(d)
        );
    }
    out
}

fn calendar_from(r: &DavResponse) -> Calendar {
    let path = r.path();
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let components = r
        .prop(CALDAV, "supported-calendar-component-set")
        .map(|p| {
            p.children
                .iter()
                .filter_map(|c| c.attribute("name").map(str::to_ascii_uppercase))
                .collect()
        })
        .unwrap_or_default();
    let mut href = r.href.clone();
    if !href.ends_with('/') {
        href.push('/');
    }
    // Hrefs may be absolute URLs; keep only the path.
    if let Some(idx) = href.find("://") {
        let rest = &href[idx + 3..];
        href = rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or(href);
    }
    Calendar {
        display_name: r
            .text(DAV, "displayname")
            .map(str::to_string)
            .unwrap_or_else(|| name.clone()),
        name,
        href,
        color: r.text(APPLE, "calendar-color").map(str::to_string),
        description: r.text(CALDAV, "calendar-description").map(str::to_string),
        components,
        ctag: r.text(CS, "getctag").map(str::to_string),
        sync_token: r.text(DAV, "sync-token").map(str::to_string),
    }
}

// ---------------------------------------------------------------------------------------
// Time values

/// A DATE or DATE-TIME value as written in iCalendar, keeping its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    /// All-day (VALUE=DATE).
    Date(NaiveDate),
    /// An instant in UTC (`...Z`).
    Utc(DateTime<Utc>),
    /// Local time in a named zone (TZID).
    Zoned(NaiveDateTime, String),
    /// Local time without a zone ("floating"): the same clock time everywhere.
    Floating(NaiveDateTime),
}

impl When {
    /// Reads DTSTART/DTEND/DUE/RECURRENCE-ID-like lines.
    pub fn from_line(line: &Line) -> Option<When> {
        let v = line.raw_value().trim();
        if v.len() == 8 {
            return NaiveDate::parse_from_str(v, "%Y%m%d").ok().map(When::Date);
        }
        if let Some(utc) = v.strip_suffix('Z') {
            let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
            return Some(When::Utc(Utc.from_utc_datetime(&t)));
        }
        let t = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()?;
        Some(match line.param("TZID") {
            Some(tz) => When::Zoned(t, tz),
            None => When::Floating(t),
        })
    }

    /// The content line, e.g. `DTSTART;TZID=Europe/Berlin:20250101T100000`.
    pub fn to_prop(&self, name: &str) -> String {
        match self {
            When::Date(d) => {
                crate::ical::prop(name, &[("VALUE", "DATE")], &d.format("%Y%m%d").to_string())
            }
            When::Utc(t) => crate::ical::prop(name, &[], &caldav_time(*t)),
            When::Zoned(t, tz) => crate::ical::prop(
                name,
                &[("TZID", tz)],
                &t.format("%Y%m%dT%H%M%S").to_string(),
            ),
            When::Floating(t) => {
                crate::ical::prop(name, &[], &t.format("%Y%m%dT%H%M%S").to_string())
            }
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, When::Date(_))
    }

    /// The zone name to report: the TZID, "UTC", or None for dates and floating times.
    pub fn zone(&self) -> Option<String> {
        match self {
            When::Utc(_) => Some("UTC".into()),
            When::Zoned(_, tz) => Some(tz.clone()),
            _ => None,
        }
    }

    /// The instant, resolving zones with the resource's own VTIMEZONEs when given, and
    /// floating times and dates in `default`.
    pub fn instant(&self, ical: Option<&ICalendar>, default: Tz) -> Option<DateTime<Utc>> {
        match self {
            When::Date(d) => local_to_utc(d.and_hms_opt(0, 0, 0)?, default),
            When::Utc(t) => Some(*t),
            When::Zoned(t, tz) => {
                let zone = match ical {
                    Some(cal) => cal.build_tz_resolver().resolve(tz),
                    None => tz.parse::<Tz>().ok(),
                }
                .unwrap_or(default);
                local_to_utc(*t, zone)
            }
            When::Floating(t) => local_to_utc(*t, default),
        }
    }

    /// Same kind, moved by a duration (dates move by whole days).
    pub fn shifted(&self, by: Duration) -> When {
        match self {
            When::Date(d) => When::Date(*d + Duration::days(by.num_days())),
            When::Utc(t) => When::Utc(*t + by),
            When::Zoned(t, tz) => When::Zoned(*t + by, tz.clone()),
            When::Floating(t) => When::Floating(*t + by),
        }
    }
}

/// Local time in a zone to UTC; in a DST gap the later reading is used, in an overlap the
/// earlier (RFC 5545 §3.3.5).
pub fn local_to_utc(t: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&t) {
        LocalResult::Single(d) => Some(d.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        LocalResult::None => tz
            .from_local_datetime(&(t + Duration::hours(1)))
            .earliest()
            .map(|d| d.with_timezone(&Utc)),
    }
}

/// A VTIMEZONE block for an IANA zone, generated from the tz database, covering the years
/// around `at`.
pub fn vtimezone(tzid: &str, at: DateTime<Utc>) -> Option<String> {
    let mut cal = ICalendar {
        components: vec![ICalendarComponent::new(ICalendarComponentType::VCalendar)],
    };
    let year = 366 * 86400;
    cal.add_timezone(tzid, at.timestamp() - year, at.timestamp() + 2 * year)?;
    let text = cal.to_string();
    let start = text.find("BEGIN:VTIMEZONE")?;
    let end = text.find("END:VTIMEZONE")? + "END:VTIMEZONE".len();
    Some(text[start..end].to_string())
}

/// A random UID in UUID v4 form.
pub fn new_uid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

/// Whether an RRULE value is well-formed and produces occurrences.
pub fn rrule_is_valid(value: &str) -> bool {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:check\r\nDTSTART:20250101T000000Z\r\nRRULE:{value}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    match ICalendar::parse(text) {
        Ok(cal) => {
            let expanded = cal.expand_dates(Tz::UTC, 3);
            expanded.errors.is_empty() && !expanded.events.is_empty()
        }
        Err(_) => false,
    }
}

/// One occurrence of an event or task.
#[derive(Clone, Debug)]
pub struct Occurrence {
    /// The component that describes it (the master or an overriding instance).
    pub span: Span,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// RECURRENCE-ID of this occurrence when it belongs to a recurring series.
    pub recurrence_id: Option<DateTime<Utc>>,
}

/// Expands the events (or tasks) in a resource into occurrences overlapping `[from, to)`,
/// honouring RRULE, RDATE, EXDATE and overridden instances, with zones resolved from the
/// resource's VTIMEZONEs (floating times in `default`).
pub fn occurrences(
    doc: &Document,
    component: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    default: Tz,
) -> Vec<Occurrence> {
    // calcard pairs an overridden instance with its series only when their SEQUENCE values
    // are equal; RFC 5545 pairs them by UID and RECURRENCE-ID alone, so SEQUENCE is left out
    // of the copy that is expanded.
    let mut text = String::new();
    for l in doc.lines().iter().filter(|l| l.name() != "SEQUENCE") {
        text.push_str(l.raw());
        text.push_str("\r\n");
    }
    let Ok(ical) = ICalendar::parse(text) else {
        return Vec::new();
    };
    let spans = doc.components(component);
    let kind = if component.eq_ignore_ascii_case("VTODO") {
        ICalendarComponentType::VTodo
    } else {
        ICalendarComponentType::VEvent
    };
    // calcard numbers components in document order; map its ids to our spans by order.
    let ids: Vec<u32> = ical
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.component_type == kind)
        .map(|(i, _)| i as u32)
        .collect();
    let recurring = spans
        .iter()
        .any(|s| doc.get(*s, "RRULE").is_some() || doc.get(*s, "RDATE").is_some());
    let limit = if recurring { 50_000 } else { 1_000 };
    let expanded = ical.expand_dates(default, limit);
    let mut out = Vec::new();
    for ev in expanded.events {
        let Some(pos) = ids.iter().position(|&i| i == ev.comp_id) else {
            continue;
        };
        let Some(span) = spans.get(pos).copied() else {
            continue;
        };
        let (s, e) = ev.timestamps_utc();
        let (Some(start), Some(end)) = (
            Utc.timestamp_opt(s, 0).single(),
            Utc.timestamp_opt(e, 0).single(),
        ) else {
            continue;
        };
        let overlaps = if start == end {
            start >= from && start < to
        } else {
            start < to && end > from
        };
        if !overlaps {
            continue;
        }
        let recurrence_id = if recurring {
            doc.get(span, "RECURRENCE-ID")
                .and_then(When::from_line)
                .and_then(|w| w.instant(Some(&ical), default))
                .or(Some(start))
        } else {
            None
        };
        out.push(Occurrence {
            span,
            start,
            end,
            recurrence_id,
        });
    }
    out.sort_by_key(|o| o.start);
    out
}

trait Timestamps {
    fn timestamps_utc(&self) -> (i64, i64);
}

impl Timestamps
    for calcard::icalendar::dates::CalendarEvent<
        DateTime<Tz>,
        calcard::icalendar::dates::TimeOrDelta<DateTime<Tz>, chrono::TimeDelta>,
    >
{
    fn timestamps_utc(&self) -> (i64, i64) {
        let s = self.start.timestamp();
        let e = match &self.end {
            calcard::icalendar::dates::TimeOrDelta::Time(t) => t.timestamp(),
            calcard::icalendar::dates::TimeOrDelta::Delta(d) => s + d.num_seconds(),
        };
        (s, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dst_crossing_recurrence_keeps_local_time() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Europe/Berlin:20240330T100000\r\nDTEND;TZID=Europe/Berlin:20240330T110000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEXDATE;TZID=Europe/Berlin:20240331T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let doc = Document::parse(text);
        let from = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
        let occ = occurrences(&doc, "VEVENT", from, to, Tz::UTC);
        let starts: Vec<String> = occ.iter().map(|o| o.start.to_rfc3339()).collect();
        assert_eq!(
            starts,
            vec!["2024-03-30T09:00:00+00:00", "2024-04-01T08:00:00+00:00"]
        );
    }

    #[test]
    fn overridden_instances_replace_their_occurrence() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSEQUENCE:2\r\nDTSTART;TZID=Europe/Berlin:20250320T100000\r\nDTEND;TZID=Europe/Berlin:20250320T110000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID;TZID=Europe/Berlin:20250327T100000\r\nDTSTART;TZID=Europe/Berlin:20250327T150000\r\nDTEND;TZID=Europe/Berlin:20250327T160000\r\nSUMMARY:moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let doc = Document::parse(text);
        let from = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2025, 5, 1, 0, 0, 0).unwrap();
        let occ = occurrences(&doc, "VEVENT", from, to, Tz::UTC);
        let starts: Vec<String> = occ.iter().map(|o| o.start.to_rfc3339()).collect();
        assert_eq!(
            starts,
            vec![
                "2025-03-20T09:00:00+00:00",
                "2025-03-27T14:00:00+00:00",
                "2025-04-03T08:00:00+00:00"
            ]
        );
        assert_eq!(occ[1].span, doc.components("VEVENT")[1]);
    }

    #[test]
    fn vtimezone_is_generated() {
        let at = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
        let tz = vtimezone("America/New_York", at).unwrap();
        assert!(tz.contains("TZID:America/New_York"), "{tz}");
        assert!(tz.contains("TZOFFSETTO:-0400"), "{tz}");
    }
}
