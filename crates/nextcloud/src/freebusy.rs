//! CalDAV scheduling free-busy queries (RFC 6638 §5): a `VFREEBUSY` request POSTed to the
//! caller's schedule outbox, answered with a `C:schedule-response` holding each attendee's
//! busy periods (what Sabre's `Schedule\Plugin::outboxRequest` does in Nextcloud).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use reqwest::Method;

use crate::calendar::caldav_time;
use crate::client::Request;
use crate::dav::multistatus::event_text;
use crate::dav::{CALDAV, DAV, encode_segment};
use crate::ical::Document;
use crate::{Error, NextcloudUser, Result};

/// One busy period of an attendee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusyPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// BUSY, BUSY-TENTATIVE or BUSY-UNAVAILABLE.
    pub kind: String,
}

/// What the server said about one attendee.
#[derive(Clone, Debug)]
pub struct AttendeeAnswer {
    /// The address asked about, without `mailto:`.
    pub email: String,
    /// The `request-status`, e.g. `2.0;Success` or `3.7;Could not find principal`.
    pub request_status: String,
    pub busy: Vec<BusyPeriod>,
}

impl AttendeeAnswer {
    /// Whether the server could look the attendee up (a 2.x request status).
    pub fn found(&self) -> bool {
        self.request_status.trim_start().starts_with('2')
    }
}

/// Outcome of a free-busy query.
#[derive(Clone, Debug)]
pub enum FreeBusy {
    /// The server advertises no schedule outbox: it does not do CalDAV scheduling.
    NotSupported,
    Answered(Vec<AttendeeAnswer>),
}

const OUTBOX_QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:schedule-outbox-URL/></d:prop></d:propfind>"#;

impl NextcloudUser {
    /// The caller's schedule outbox (an encoded path), if the server advertises one.
    pub async fn schedule_outbox(&self) -> Result<Option<String>> {
        let id = self.user_id().await?;
        let principal = format!("/remote.php/dav/principals/users/{}/", encode_segment(&id));
        let answers = self
            .dav_multistatus(
                "PROPFIND",
                &principal,
                Some("0"),
                OUTBOX_QUERY,
                "The DAV principal",
            )
            .await?;
        let base_path = self.client().config().base_url.path().to_string();
        Ok(answers.iter().find_map(|r| {
            let prop = r.prop(CALDAV, "schedule-outbox-URL")?;
            let href = prop
                .children
                .iter()
                .find(|c| c.name.namespace == DAV && c.name.local == "href")
                .map(|c| c.text.trim().to_string())
                .or_else(|| Some(prop.text.trim().to_string()))
                .filter(|h| !h.is_empty())?;
            Some(relative_href(&href, &base_path))
        }))
    }

    /// Asks the server for the busy periods of `attendees` (e-mail addresses) in
    /// `[start, end)`, as `organizer` (the caller's own address).
    pub async fn free_busy(
        &self,
        organizer: &str,
        attendees: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<FreeBusy> {
        if attendees.is_empty() {
            return Ok(FreeBusy::Answered(Vec::new()));
        }
        let Some(outbox) = self.schedule_outbox().await? else {
            return Ok(FreeBusy::NotSupported);
        };
        let body = request_body(organizer, attendees, start, end);
        let req = Request::new(Method::POST, &outbox, "The schedule outbox")
            .body("text/calendar; charset=utf-8", body);
        let resp = self.send(req).await?;
        let text = resp
            .text()
            .await
            .map_err(|e| Error::Transport(format!("reading the free-busy answer: {e}")))?;
        Ok(FreeBusy::Answered(parse_schedule_response(&text)?))
    }
}

/// An href from the server as a path below the client's base URL.
fn relative_href(href: &str, base_path: &str) -> String {
    let path = match href.find("://") {
        Some(i) => {
            let rest = &href[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        None => href,
    };
    let base = base_path.trim_end_matches('/');
    if !base.is_empty()
        && let Some(stripped) = path.strip_prefix(base)
    {
        return stripped.to_string();
    }
    path.to_string()
}

/// The `VFREEBUSY` request of RFC 6638 §5.
pub fn request_body(
    organizer: &str,
    attendees: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> String {
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nextcloud-mcp//free-busy//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\n",
    );
    out.push_str(&format!("UID:{}\r\n", crate::calendar::new_uid()));
    out.push_str(&format!("DTSTAMP:{}\r\n", caldav_time(Utc::now())));
    out.push_str(&format!("DTSTART:{}\r\n", caldav_time(start)));
    out.push_str(&format!("DTEND:{}\r\n", caldav_time(end)));
    out.push_str(&format!("ORGANIZER:mailto:{}\r\n", cal_address(organizer)));
    for a in attendees {
        out.push_str(&format!("ATTENDEE:mailto:{}\r\n", cal_address(a)));
    }
    out.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    out
}

/// A CAL-ADDRESS value is a URI, not TEXT: nothing is escaped, but control characters
/// (which could start a new content line) are dropped.
fn cal_address(email: &str) -> String {
    email.trim().chars().filter(|c| !c.is_control()).collect()
}

/// Parses a `C:schedule-response`.
pub fn parse_schedule_response(xml: &str) -> Result<Vec<AttendeeAnswer>> {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<(bool, String)> = Vec::new();
    let mut out = Vec::new();
    let (mut recipient, mut status, mut data) = (String::new(), String::new(), String::new());
    let mut saw_root = false;
    loop {
        let event = reader
            .read_resolved_event()
            .map_err(|e| Error::InvalidResponse(format!("free-busy answer: bad XML: {e}")))?;
        match event {
            (ns, Event::Start(e)) => {
                let caldav =
                    matches!(ns, ResolveResult::Bound(n) if n.as_ref() == CALDAV.as_bytes());
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if caldav && local == "schedule-response" {
                    saw_root = true;
                }
                if caldav && local == "response" {
                    recipient.clear();
                    status.clear();
                    data.clear();
                }
                stack.push((caldav, local));
            }
            (_, Event::End(_)) => {
                if let Some((true, local)) = stack.pop()
                    && local == "response"
                {
                    let email = recipient.trim();
                    let email = email
                        .strip_prefix("mailto:")
                        .or_else(|| email.strip_prefix("MAILTO:"))
                        .unwrap_or(email);
                    out.push(AttendeeAnswer {
                        email: email.to_string(),
                        request_status: status.trim().to_string(),
                        busy: busy_periods(&data),
                    });
                }
            }
            (_, ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                let text = event_text(&ev).map_err(|e| {
                    Error::InvalidResponse(format!("free-busy answer: bad XML: {e}"))
                })?;
                push_text(&stack, &text, &mut recipient, &mut status, &mut data);
            }
            (_, Event::Eof) => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(Error::InvalidResponse(
            "free-busy answer: no schedule-response".into(),
        ));
    }
    Ok(out)
}

fn push_text(
    stack: &[(bool, String)],
    text: &str,
    recipient: &mut String,
    status: &mut String,
    data: &mut String,
) {
    let names: Vec<&str> = stack.iter().map(|(_, l)| l.as_str()).collect();
    match names.as_slice() {
        [.., "recipient", "href"] => recipient.push_str(text),
        [.., "response", "request-status"] => status.push_str(text),
        [.., "response", "calendar-data"] => data.push_str(text),
        _ => {}
    }
}

/// Busy periods in a `VFREEBUSY` reply (FREE periods are left out).
pub fn busy_periods(ics: &str) -> Vec<BusyPeriod> {
    let doc = Document::parse(ics);
    let mut out = Vec::new();
    for span in doc.components("VFREEBUSY") {
        for line in doc.get_all(span, "FREEBUSY") {
            let kind = line
                .param("FBTYPE")
                .unwrap_or_else(|| "BUSY".into())
                .to_ascii_uppercase();
            if kind == "FREE" {
                continue;
            }
            for period in line.raw_value().split(',') {
                if let Some((start, end)) = parse_period(period.trim()) {
                    out.push(BusyPeriod {
                        start,
                        end,
                        kind: kind.clone(),
                    });
                }
            }
        }
    }
    out.sort_by_key(|p| (p.start, p.end));
    out
}

fn parse_utc(v: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y%m%dT%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// `start/end` or `start/duration` (RFC 5545 PERIOD, UTC).
fn parse_period(v: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (s, e) = v.split_once('/')?;
    let start = parse_utc(s)?;
    let end = if e.starts_with('P') || e.starts_with('+') || e.starts_with('-') {
        start + parse_duration(e)?
    } else {
        parse_utc(e)?
    };
    (end > start).then_some((start, end))
}

/// An RFC 5545 DURATION (`PT1H30M`, `P1D`, `P2W`).
pub fn parse_duration(v: &str) -> Option<Duration> {
    let (sign, rest) = match v.as_bytes().first()? {
        b'-' => (-1, &v[1..]),
        b'+' => (1, &v[1..]),
        _ => (1, v),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += match (c, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(total * sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<cal:schedule-response xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:cal="urn:ietf:params:xml:ns:caldav">
 <cal:response>
  <cal:recipient><d:href>mailto:bob@example.com</d:href></cal:recipient>
  <cal:request-status>2.0;Success</cal:request-status>
  <cal:calendar-data>BEGIN:VCALENDAR&#13;
VERSION:2.0&#13;
METHOD:REPLY&#13;
BEGIN:VFREEBUSY&#13;
DTSTART:20300101T000000Z&#13;
DTEND:20300102T000000Z&#13;
FREEBUSY;FBTYPE=BUSY:20300101T100000Z/20300101T120000Z,20300101T130000Z/PT30M&#13;
FREEBUSY;FBTYPE=FREE:20300101T140000Z/20300101T150000Z&#13;
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20300101T160000Z/20300101T170000Z&#13;
END:VFREEBUSY&#13;
END:VCALENDAR&#13;
</cal:calendar-data>
 </cal:response>
 <cal:response>
  <cal:recipient><d:href>mailto:nobody@example.com</d:href></cal:recipient>
  <cal:request-status>3.7;Could not find principal</cal:request-status>
 </cal:response>
</cal:schedule-response>"#;

    #[test]
    fn parses_sabre_schedule_response() {
        let answers = parse_schedule_response(ANSWER).unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].email, "bob@example.com");
        assert!(answers[0].found());
        let busy: Vec<String> = answers[0]
            .busy
            .iter()
            .map(|p| format!("{}/{}/{}", caldav_time(p.start), caldav_time(p.end), p.kind))
            .collect();
        assert_eq!(
            busy,
            [
                "20300101T100000Z/20300101T120000Z/BUSY",
                "20300101T130000Z/20300101T133000Z/BUSY",
                "20300101T160000Z/20300101T170000Z/BUSY-TENTATIVE",
            ]
        );
        assert_eq!(answers[1].email, "nobody@example.com");
        assert!(!answers[1].found());
        assert!(answers[1].busy.is_empty());
    }

    #[test]
    fn relative_hrefs() {
        assert_eq!(
            relative_href("/remote.php/dav/calendars/a/outbox/", ""),
            "/remote.php/dav/calendars/a/outbox/"
        );
        assert_eq!(
            relative_href("https://h/nc/remote.php/dav/calendars/a/outbox/", "/nc"),
            "/remote.php/dav/calendars/a/outbox/"
        );
    }
}
