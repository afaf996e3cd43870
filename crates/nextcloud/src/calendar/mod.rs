//! CalDAV: calendars and their events and tasks (`/remote.php/dav/calendars/{user}/`).
//!
//! Objects travel as iCalendar text and are edited with [`crate::ical::Document`], so what a
//! caller does not change is written back exactly as it was read. Writes carry `If-Match` /
//! `If-None-Match`, so a concurrent change is a [`crate::Error::Conflict`], never lost.
//!
//! The editing models live beside the protocol: [`EventEdit`] and [`TodoEdit`] turn a
//! caller's change into the few lines it touches, [`Event`] and [`Todo`] read a resource for
//! people, [`occurrences`] expands recurrence, and [`when`] reads and writes times with their
//! zones.

mod component;
mod event;
mod expand;
mod input;
mod todo;
pub mod when;

use chrono::{DateTime, Utc};
use quick_xml::escape::escape as xml_escape;
use reqwest::Method;

pub use calcard::icalendar::ICalendar;
pub use component::{Attendee, Reminder, master, new_uid, object_name};
pub use event::{Event, EventEdit};
pub use expand::{Occurrence, occurrences};
pub use input::{Alarm, TODO_STATUSES, emails, one_of, split_csv};
pub use todo::{Todo, TodoEdit};
pub use when::{Tz, When, Zone, caldav_time, local_to_utc, parse_bound, vtimezone};

use crate::client::Request;
use crate::dav::{CALDAV, DAV, DavResponse, encode_segment};
use crate::ical::Document;
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

impl Precondition {
    /// Puts this condition on a write request (`If-None-Match: *` or `If-Match`).
    pub(crate) fn apply(self, req: Request) -> Result<Request> {
        match self {
            Precondition::Create => req.header(http::header::IF_NONE_MATCH, "*"),
            Precondition::IfMatch(etag) => req.header(
                http::header::IF_MATCH,
                &format!("\"{}\"", etag.trim_matches('"')),
            ),
            Precondition::None => Ok(req),
        }
    }
}

/// The ETag a write answer carries, unquoted; `None` when the server sent none (Sabre omits
/// it when it changed the data on the way in).
pub(crate) fn written_etag(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|etag| etag.trim_start_matches("W/").trim_matches('"').to_string())
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
        req = condition.apply(req)?;
        let resp = self.user.send(req).await?;
        if let Some(etag) = written_etag(&resp) {
            return Ok(etag);
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
