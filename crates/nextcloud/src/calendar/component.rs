//! What events and tasks share: attendees and reminders as read, the lines an edit writes
//! for them, and keeping a resource whole after an edit (stamps, SEQUENCE, VTIMEZONEs).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::input::Alarm;
use super::when::{Tz, When, caldav_time, parse_duration, vtimezone};
use crate::ical::{Document, Line, Span, escape, prop};

/// An attendee as the resource states it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Attendee {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// PARTSTAT: NEEDS-ACTION, ACCEPTED, DECLINED, TENTATIVE, DELEGATED.
    pub status: String,
    /// ROLE: REQ-PARTICIPANT, OPT-PARTICIPANT, CHAIR, NON-PARTICIPANT.
    pub role: String,
}

/// A reminder (VALARM) as the resource states it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Reminder {
    /// Minutes before the start (negative: after); absent for an absolute trigger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes_before: Option<i64>,
    /// DISPLAY or EMAIL.
    pub action: String,
    /// The raw TRIGGER value.
    pub trigger: String,
}

/// A TEXT property, unescaped ("" when absent).
pub(crate) fn text(doc: &Document, span: Span, name: &str) -> String {
    doc.get(span, name).map(Line::text).unwrap_or_default()
}

/// An INTEGER property.
pub(crate) fn int(doc: &Document, span: Span, name: &str) -> Option<i64> {
    doc.get(span, name)
        .and_then(|l| l.raw_value().trim().parse::<i64>().ok())
}

/// Every CATEGORIES value of the component.
pub(crate) fn categories(doc: &Document, span: Span) -> Vec<String> {
    doc.get_all(span, "CATEGORIES")
        .into_iter()
        .flat_map(|l| l.text_list())
        .collect()
}

pub(crate) fn strip_mailto(v: &str) -> String {
    let v = v.trim();
    if v.len() > 7 && v.is_char_boundary(7) && v[..7].eq_ignore_ascii_case("mailto:") {
        v[7..].to_string()
    } else {
        v.to_string()
    }
}

pub(crate) fn attendees(doc: &Document, span: Span) -> Vec<Attendee> {
    doc.get_all(span, "ATTENDEE")
        .into_iter()
        .map(|l| Attendee {
            email: strip_mailto(l.raw_value()),
            name: l.param("CN"),
            status: l.param("PARTSTAT").unwrap_or_else(|| "NEEDS-ACTION".into()),
            role: l.param("ROLE").unwrap_or_else(|| "REQ-PARTICIPANT".into()),
        })
        .collect()
}

pub(crate) fn reminders(doc: &Document, span: Span) -> Vec<Reminder> {
    doc.children(span, "VALARM")
        .into_iter()
        .map(|a| {
            let trigger = doc
                .get(a, "TRIGGER")
                .map(|l| l.raw_value().to_string())
                .unwrap_or_default();
            Reminder {
                // A relative trigger counts back from the start: `-PT15M` is 15 before.
                minutes_before: parse_duration(&trigger).map(|d| -d.num_minutes()),
                action: doc
                    .get(a, "ACTION")
                    .map(|l| l.raw_value().to_string())
                    .unwrap_or_default(),
                trigger,
            }
        })
        .collect()
}

/// A TEXT property line, or none for an empty value (which removes the property).
pub(crate) fn text_prop(name: &str, value: &str) -> Vec<String> {
    if value.is_empty() {
        Vec::new()
    } else {
        vec![prop(name, &[], &escape(value))]
    }
}

/// One CATEGORIES line, or none for an empty list.
pub(crate) fn categories_prop(list: &[String]) -> Vec<String> {
    let cats: Vec<String> = list
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(escape)
        .collect();
    if cats.is_empty() {
        Vec::new()
    } else {
        vec![prop("CATEGORIES", &[], &cats.join(","))]
    }
}

/// Replaces the component's VALARMs with these reminders.
pub(crate) fn set_alarms(doc: &mut Document, span: Span, alarms: &[Alarm]) -> Span {
    let summary = text(doc, span, "SUMMARY");
    let mut span = doc.remove_children(span, "VALARM");
    for a in alarms {
        span = doc.append(span, alarm_lines(a, &summary));
    }
    span
}

/// A VALARM block.
fn alarm_lines(a: &Alarm, summary: &str) -> Vec<String> {
    let minutes = a.minutes_before;
    let trigger = if minutes >= 0 {
        format!("-PT{minutes}M")
    } else {
        format!("PT{}M", -minutes)
    };
    let mut lines = vec![
        "BEGIN:VALARM".to_string(),
        prop("ACTION", &[], if a.email { "EMAIL" } else { "DISPLAY" }),
        prop("TRIGGER", &[], &trigger),
        prop(
            "DESCRIPTION",
            &[],
            &escape(if summary.is_empty() {
                "Reminder"
            } else {
                summary
            }),
        ),
    ];
    if a.email {
        lines.push(prop("SUMMARY", &[], &escape(summary)));
    }
    lines.push("END:VALARM".to_string());
    lines
}

/// ATTENDEE lines for these addresses, keeping the line (answer, role, name) of an address
/// that was already invited.
pub(crate) fn attendee_lines(emails: &[String], existing: &[Line]) -> Vec<String> {
    emails
        .iter()
        .map(|email| {
            match existing
                .iter()
                .find(|l| strip_mailto(l.raw_value()).eq_ignore_ascii_case(email))
            {
                Some(old) => old.raw().to_string(),
                None => prop(
                    "ATTENDEE",
                    &[
                        ("CUTYPE", "INDIVIDUAL"),
                        ("ROLE", "REQ-PARTICIPANT"),
                        ("PARTSTAT", "NEEDS-ACTION"),
                        ("RSVP", "TRUE"),
                    ],
                    &format!("mailto:{email}"),
                ),
            }
        })
        .collect()
}

/// Makes sure every TZID used in the resource has a VTIMEZONE (generated from the tz
/// database, covering the resource's earliest date) so other clients read the same instant.
pub(crate) fn ensure_vtimezones(doc: &mut Document, now: DateTime<Utc>) {
    let at = doc
        .lines()
        .iter()
        .filter(|l| {
            ["DTSTART", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE"].contains(&l.name().as_str())
        })
        .filter_map(When::from_line)
        .filter_map(|w| w.instant(None, Tz::UTC))
        .min()
        .unwrap_or(now);
    let mut used: Vec<String> = doc.lines().iter().filter_map(|l| l.param("TZID")).collect();
    used.sort();
    used.dedup();
    let defined: Vec<String> = doc
        .components("VTIMEZONE")
        .into_iter()
        .filter_map(|s| doc.get(s, "TZID").map(|l| l.text()))
        .collect();
    for tzid in used.into_iter().filter(|t| !defined.contains(t)) {
        if let Some(block) = vtimezone(&tzid, at) {
            // Right after the VCALENDAR's own properties, before the first component.
            let at_line = doc
                .lines()
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, l)| l.name() == "BEGIN")
                .map(|(i, _)| i)
                .unwrap_or(doc.lines().len().saturating_sub(1));
            doc.insert(at_line, &block);
        }
    }
}

/// A new VCALENDAR with one component of `kind` holding `lines`.
pub(crate) fn new_calendar(kind: &str, lines: Vec<String>) -> Document {
    let mut text = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nextcloud-mcp//EN\r\nCALSCALE:GREGORIAN\r\n",
    );
    text.push_str(&format!("BEGIN:{kind}\r\n"));
    for l in lines {
        text.push_str(&l);
        text.push_str("\r\n");
    }
    text.push_str(&format!("END:{kind}\r\nEND:VCALENDAR\r\n"));
    Document::parse(&text)
}

/// The main component of a resource: the one without RECURRENCE-ID.
pub fn master(doc: &Document, kind: &str) -> Option<Span> {
    let all = doc.components(kind);
    all.iter()
        .copied()
        .find(|s| doc.get(*s, "RECURRENCE-ID").is_none())
        .or_else(|| all.first().copied())
}

/// Sets DTSTAMP and LAST-MODIFIED to now and counts SEQUENCE up, as a changed component
/// must (RFC 5545 §3.8.7.4).
pub(crate) fn touch(doc: &mut Document, span: Span) -> Span {
    let now = caldav_time(Utc::now());
    let mut span = doc.set(span, "DTSTAMP", vec![prop("DTSTAMP", &[], &now)]);
    span = doc.set(
        span,
        "LAST-MODIFIED",
        vec![prop("LAST-MODIFIED", &[], &now)],
    );
    let seq = int(doc, span, "SEQUENCE").unwrap_or(0);
    doc.set(
        span,
        "SEQUENCE",
        vec![prop("SEQUENCE", &[], &(seq + 1).to_string())],
    )
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

/// The file name for a new resource with this UID: the UID itself when it is made of safe
/// characters, else a fresh one, so the URL needs no escaping.
pub fn object_name(uid: &str, ext: &str) -> String {
    if !uid.is_empty()
        && uid.len() < 200
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        format!("{uid}.{ext}")
    } else {
        format!("{}.{ext}", new_uid())
    }
}
