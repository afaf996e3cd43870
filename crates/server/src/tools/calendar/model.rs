//! Turning tool arguments into iCalendar lines and iCalendar components into tool output.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use nextcloud::calendar::{Tz, When, local_to_utc, vtimezone};
use nextcloud::ical::{Document, Span, escape, prop};
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::TimeZone;
use crate::tools::common::ToolError;

/// The zone for reading: the argument when given, else the server's zone (`--timezone`).
pub fn zone_arg(arg: &str, default: &TimeZone) -> Result<(String, Tz), ToolError> {
    let name = arg.trim();
    if name.is_empty() {
        return Ok((default.name().to_string(), default.tz()));
    }
    if name.eq_ignore_ascii_case("floating") {
        return Ok(("floating".into(), default.tz()));
    }
    let tz = name.parse::<Tz>().map_err(|_| {
        ToolError::invalid(
            "timezone",
            format!("'{name}' is not an IANA time zone name (like Europe/Berlin, America/New_York or UTC)"),
        )
    })?;
    Ok((name.to_string(), tz))
}

/// Parses a date or date-time argument.
///
/// - `2025-03-01` → an all-day date;
/// - `2025-03-01T09:30:00Z` or with `+01:00` → that instant; kept in UTC unless a `timezone`
///   is given, in which case it is written as local time in that zone (TZID);
/// - `2025-03-01T09:30` → local time in `timezone` (or the server's zone, `default`); written
///   as UTC when that zone is UTC, floating only when `timezone` is "floating".
pub fn parse_when(
    arg: &'static str,
    value: &str,
    timezone: &str,
    default: &TimeZone,
    all_day: bool,
) -> Result<When, ToolError> {
    let v = value.trim();
    let bad = || {
        ToolError::invalid(
            arg,
            format!(
                "'{value}' is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS], optionally with Z or an offset like +01:00)"
            ),
        )
    };
    if v.is_empty() {
        return Err(bad());
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(When::Date(d));
    }
    let explicit_zone = !timezone.trim().is_empty();
    let (zone_name, tz) = zone_arg(timezone, default)?;
    let normalized = v.replace(' ', "T");
    let when = if let Ok(t) = DateTime::parse_from_rfc3339(&with_seconds(&normalized)) {
        let utc = t.with_timezone(&Utc);
        if explicit_zone && zone_name != "floating" && !zone_name.eq_ignore_ascii_case("UTC") {
            When::Zoned(utc.with_timezone(&tz).naive_local(), zone_name)
        } else {
            When::Utc(utc)
        }
    } else {
        let local = parse_naive(&normalized).ok_or_else(bad)?;
        if zone_name == "floating" {
            When::Floating(local)
        } else if zone_name.eq_ignore_ascii_case("UTC") || zone_name == "Etc/UTC" {
            When::Utc(local.and_utc())
        } else {
            When::Zoned(local, zone_name)
        }
    };
    if all_day {
        return Ok(When::Date(local_date(&when, tz)));
    }
    Ok(when)
}

fn with_seconds(s: &str) -> String {
    // RFC 3339 needs seconds; accept `HH:MM` followed by Z/offset.
    let Some(t) = s.find('T') else {
        return s.to_string();
    };
    let time = &s[t + 1..];
    let zone_at = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    if time[..zone_at].matches(':').count() == 1 {
        format!("{}T{}:00{}", &s[..t], &time[..zone_at], &time[zone_at..])
    } else {
        s.to_string()
    }
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn local_date(w: &When, tz: Tz) -> NaiveDate {
    match w {
        When::Date(d) => *d,
        When::Utc(t) => t.with_timezone(&tz).date_naive(),
        When::Zoned(t, _) | When::Floating(t) => t.date(),
    }
}

/// Parses a range bound: a date means its midnight in the server's zone (end bounds: the
/// next one).
pub fn parse_bound(
    arg: &'static str,
    value: &str,
    zone: &TimeZone,
    end: bool,
) -> Result<Option<DateTime<Utc>>, ToolError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let tz = zone.tz();
    let w = parse_when(arg, value, "", zone, false)?;
    let w = match (w, end) {
        (When::Date(d), true) => When::Date(d + Duration::days(1)),
        (w, _) => w,
    };
    Ok(match &w {
        When::Date(d) => local_to_utc(d.and_time(NaiveTime::MIN), tz),
        When::Zoned(t, _) => local_to_utc(*t, tz),
        other => other.instant(None, tz),
    })
}

/// Renders a value for output: dates as `YYYY-MM-DD`, zoned times with their offset in
/// their own zone, UTC with `Z`, floating without offset.
pub fn render(w: &When, instant: Option<DateTime<Utc>>) -> String {
    match w {
        When::Date(d) => d.format("%Y-%m-%d").to_string(),
        When::Utc(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        When::Zoned(_, tzid) => match (instant, tzid.parse::<Tz>()) {
            (Some(i), Ok(tz)) => i
                .with_timezone(&tz)
                .fixed_offset()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            _ => match w {
                When::Zoned(t, _) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
                _ => unreachable!(),
            },
        },
        When::Floating(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

/// An instant rendered in a zone of the same kind as `like` (for expanded occurrences).
pub fn render_instant(like: &When, instant: DateTime<Utc>, default: Tz) -> String {
    match like {
        When::Date(_) => instant
            .with_timezone(&default)
            .format("%Y-%m-%d")
            .to_string(),
        When::Utc(_) => instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        When::Zoned(_, tzid) => {
            let tz = tzid.parse::<Tz>().unwrap_or(default);
            instant
                .with_timezone(&tz)
                .fixed_offset()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        When::Floating(_) => instant
            .with_timezone(&default)
            .naive_local()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
    }
}

/// An attendee as iCalendar states it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Attendee {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// PARTSTAT: NEEDS-ACTION, ACCEPTED, DECLINED, TENTATIVE, DELEGATED.
    pub status: String,
    /// ROLE: REQ-PARTICIPANT, OPT-PARTICIPANT, CHAIR, NON-PARTICIPANT.
    pub role: String,
}

/// A reminder (VALARM) relative to the start (or due time for tasks).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Reminder {
    /// Minutes before the start (negative: after).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes_before: Option<i64>,
    /// DISPLAY or EMAIL.
    pub action: String,
    /// The raw TRIGGER value.
    pub trigger: String,
}

/// Common fields of an event or task component.
#[derive(Debug, Clone, Default)]
pub struct Component {
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub location: String,
    pub categories: Vec<String>,
    pub status: String,
    pub priority: Option<i64>,
    pub class: String,
    pub url: String,
    pub color: String,
    pub rrule: String,
    pub attendees: Vec<Attendee>,
    pub organizer: Option<String>,
    pub reminders: Vec<Reminder>,
    pub percent_complete: Option<i64>,
}

/// Reads the plain fields of a component.
pub fn read_component(doc: &Document, span: Span) -> Component {
    let text = |name: &str| doc.get(span, name).map(|l| l.text()).unwrap_or_default();
    let int = |name: &str| {
        doc.get(span, name)
            .and_then(|l| l.raw_value().trim().parse::<i64>().ok())
    };
    let attendees = doc
        .get_all(span, "ATTENDEE")
        .into_iter()
        .map(|l| Attendee {
            email: strip_mailto(l.raw_value()),
            name: l.param("CN"),
            status: l.param("PARTSTAT").unwrap_or_else(|| "NEEDS-ACTION".into()),
            role: l.param("ROLE").unwrap_or_else(|| "REQ-PARTICIPANT".into()),
        })
        .collect();
    let reminders = doc
        .children(span, "VALARM")
        .into_iter()
        .map(|a| {
            let trigger = doc
                .get(a, "TRIGGER")
                .map(|l| l.raw_value().to_string())
                .unwrap_or_default();
            Reminder {
                minutes_before: parse_trigger_minutes(&trigger),
                action: doc
                    .get(a, "ACTION")
                    .map(|l| l.raw_value().to_string())
                    .unwrap_or_default(),
                trigger,
            }
        })
        .collect();
    Component {
        uid: text("UID"),
        summary: text("SUMMARY"),
        description: text("DESCRIPTION"),
        location: text("LOCATION"),
        categories: doc
            .get_all(span, "CATEGORIES")
            .into_iter()
            .flat_map(|l| l.text_list())
            .collect(),
        status: text("STATUS"),
        priority: int("PRIORITY"),
        class: text("CLASS"),
        url: doc
            .get(span, "URL")
            .map(|l| l.raw_value().to_string())
            .unwrap_or_default(),
        color: text("COLOR"),
        rrule: doc
            .get(span, "RRULE")
            .map(|l| l.raw_value().to_string())
            .unwrap_or_default(),
        attendees,
        organizer: doc
            .get(span, "ORGANIZER")
            .map(|l| strip_mailto(l.raw_value())),
        reminders,
        percent_complete: int("PERCENT-COMPLETE"),
    }
}

fn strip_mailto(v: &str) -> String {
    let v = v.trim();
    if v.len() > 7 && v[..7].eq_ignore_ascii_case("mailto:") {
        v[7..].to_string()
    } else {
        v.to_string()
    }
}

/// `-PT15M` → 15, `-P1D` → 1440, `PT0S` → 0; None for absolute triggers.
fn parse_trigger_minutes(t: &str) -> Option<i64> {
    let t = t.trim();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (1, r),
        None => (-1, t.strip_prefix('+').unwrap_or(t)),
    };
    let rest = rest.strip_prefix('P')?;
    let mut minutes = 0i64;
    let mut num = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            d if d.is_ascii_digit() => num.push(d),
            unit => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                minutes += match (unit, in_time) {
                    ('W', _) => n * 7 * 1440,
                    ('D', _) => n * 1440,
                    ('H', true) => n * 60,
                    ('M', true) => n,
                    ('S', true) => n / 60,
                    _ => return None,
                };
            }
        }
    }
    Some(sign * minutes)
}

/// A VALARM block for a reminder `minutes` before the start.
pub fn alarm_lines(minutes: i64, email: bool, summary: &str) -> Vec<String> {
    let trigger = if minutes >= 0 {
        format!("-PT{minutes}M")
    } else {
        format!("PT{}M", -minutes)
    };
    let mut lines = vec![
        "BEGIN:VALARM".to_string(),
        prop("ACTION", &[], if email { "EMAIL" } else { "DISPLAY" }),
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
    if email {
        lines.push(prop("SUMMARY", &[], &escape(summary)));
    }
    lines.push("END:VALARM".to_string());
    lines
}

/// Reminders given as the `reminders` array: numbers (minutes before) or objects with
/// `minutes_before`/`minutes` and an optional `action` ("DISPLAY"/"EMAIL").
pub fn parse_reminders(values: &[serde_json::Value]) -> Result<Vec<(i64, bool)>, ToolError> {
    values
        .iter()
        .map(|v| {
            let bad = || {
                ToolError::invalid(
                    "reminders",
                    "each reminder is a number of minutes before the start, or {\"minutes_before\": 15, \"action\": \"DISPLAY\"|\"EMAIL\"}",
                )
            };
            if let Some(n) = v.as_i64() {
                return Ok((n, false));
            }
            let obj = v.as_object().ok_or_else(bad)?;
            let minutes = ["minutes_before", "minutes", "reminder_minutes"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(|m| m.as_i64()))
                .ok_or_else(bad)?;
            let email = obj
                .get("action")
                .and_then(|a| a.as_str())
                .is_some_and(|a| a.eq_ignore_ascii_case("email"));
            Ok((minutes, email))
        })
        .collect()
}

/// Text property line, or nothing for an empty value.
pub fn text_prop(name: &str, value: &str) -> Vec<String> {
    if value.is_empty() {
        Vec::new()
    } else {
        vec![prop(name, &[], &escape(value))]
    }
}

/// CATEGORIES from a comma-separated argument.
pub fn categories_prop(csv: &str) -> Vec<String> {
    let cats: Vec<String> = split_csv(csv).iter().map(|c| escape(c)).collect();
    if cats.is_empty() {
        Vec::new()
    } else {
        vec![prop("CATEGORIES", &[], &cats.join(","))]
    }
}

pub fn split_csv(csv: &str) -> Vec<String> {
    csv.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// ATTENDEE lines for comma-separated e-mail addresses, keeping the PARTSTAT (and other
/// parameters) of addresses that were already invited.
pub fn attendee_lines(
    csv: &str,
    existing: &[nextcloud::ical::Line],
) -> Result<Vec<String>, ToolError> {
    let mut out = Vec::new();
    for email in split_csv(csv) {
        if !email.contains('@') {
            return Err(ToolError::invalid(
                "attendees",
                format!("'{email}' is not an e-mail address; give addresses separated by commas"),
            ));
        }
        if let Some(old) = existing
            .iter()
            .find(|l| strip_mailto(l.raw_value()).eq_ignore_ascii_case(&email))
        {
            out.push(old.raw().to_string());
            continue;
        }
        out.push(prop(
            "ATTENDEE",
            &[
                ("CUTYPE", "INDIVIDUAL"),
                ("ROLE", "REQ-PARTICIPANT"),
                ("PARTSTAT", "NEEDS-ACTION"),
                ("RSVP", "TRUE"),
            ],
            &format!("mailto:{email}"),
        ));
    }
    Ok(out)
}

/// Checks an enumerated argument and returns it upper-cased.
pub fn one_of(arg: &'static str, value: &str, allowed: &[&str]) -> Result<String, ToolError> {
    let v = value.trim().to_ascii_uppercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(ToolError::invalid(
            arg,
            format!("'{value}' is not one of {}", allowed.join(", ")),
        ))
    }
}

pub fn check_priority(arg: &'static str, p: i64) -> Result<i64, ToolError> {
    if (0..=9).contains(&p) {
        Ok(p)
    } else {
        Err(ToolError::invalid(
            arg,
            "use 0 (undefined) or 1 (highest) to 9 (lowest)",
        ))
    }
}

/// Builds an RRULE value from the reference's arguments: a full rule (`FREQ=WEEKLY;...`),
/// or a frequency word, with an optional end date.
pub fn rrule_value(rule: &str, until: &str) -> Result<String, ToolError> {
    let rule = rule.trim().trim_start_matches("RRULE:");
    let mut value = match rule.to_ascii_uppercase().as_str() {
        "" | "WEEKLY" => "FREQ=WEEKLY".to_string(),
        "DAILY" => "FREQ=DAILY".into(),
        "MONTHLY" => "FREQ=MONTHLY".into(),
        "YEARLY" => "FREQ=YEARLY".into(),
        r if r.starts_with("FREQ=") || r.contains(";FREQ=") => r.to_string(),
        _ => {
            return Err(ToolError::invalid(
                "recurrence_rule",
                "give an RFC 5545 rule like FREQ=WEEKLY;BYDAY=MO,WE or one of DAILY, WEEKLY, MONTHLY, YEARLY",
            ));
        }
    };
    if !nextcloud::calendar::rrule_is_valid(&value) {
        return Err(ToolError::invalid(
            "recurrence_rule",
            format!("'{value}' is not a valid RRULE"),
        ));
    }
    if !until.trim().is_empty() && !value.contains("UNTIL=") && !value.contains("COUNT=") {
        let end = parse_when("recurrence_end_date", until, "UTC", &TimeZone::utc(), false)?;
        let until = match end {
            When::Date(d) => d.format("%Y%m%d").to_string() + "T235959Z",
            When::Utc(t) => t.format("%Y%m%dT%H%M%SZ").to_string(),
            When::Zoned(t, _) | When::Floating(t) => t.format("%Y%m%dT%H%M%SZ").to_string(),
        };
        value.push_str(";UNTIL=");
        value.push_str(&until);
    }
    Ok(value)
}

/// Makes sure every TZID used in the resource has a VTIMEZONE (generated from the tz
/// database, covering the resource's earliest date) so other clients read the same instant.
pub fn ensure_vtimezones(doc: &mut Document, now: DateTime<Utc>) {
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

/// A new, empty VCALENDAR with one component of `kind` holding `lines`.
pub fn new_calendar(kind: &str, lines: Vec<String>) -> Document {
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

/// DTSTAMP/LAST-MODIFIED lines for now, and the SEQUENCE bump.
pub fn touch(doc: &mut Document, span: Span, bump_sequence: bool) -> Span {
    let now = nextcloud::calendar::caldav_time(Utc::now());
    let mut span = doc.set(span, "DTSTAMP", vec![prop("DTSTAMP", &[], &now)]);
    span = doc.set(
        span,
        "LAST-MODIFIED",
        vec![prop("LAST-MODIFIED", &[], &now)],
    );
    if bump_sequence {
        let seq = doc
            .get(span, "SEQUENCE")
            .and_then(|l| l.raw_value().trim().parse::<i64>().ok())
            .unwrap_or(0);
        span = doc.set(
            span,
            "SEQUENCE",
            vec![prop("SEQUENCE", &[], &(seq + 1).to_string())],
        );
    }
    span
}

/// A fresh UID.
pub fn new_uid() -> String {
    nextcloud::calendar::new_uid()
}

/// Object file name for a UID (safe characters only, else a fresh name).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_zones_are_kept() {
        let utc = TimeZone::utc();
        let w = parse_when(
            "start_datetime",
            "2025-03-01T09:30:00+01:00",
            "",
            &utc,
            false,
        )
        .unwrap();
        assert_eq!(w, When::Utc("2025-03-01T08:30:00Z".parse().unwrap()));
        let w = parse_when("s", "2025-03-01T09:30", "America/New_York", &utc, false).unwrap();
        assert_eq!(w.zone().as_deref(), Some("America/New_York"));
        let w = parse_when("s", "2025-03-01 09:30", "floating", &utc, false).unwrap();
        assert!(matches!(w, When::Floating(_)));
        let w = parse_when("s", "2025-03-01", "", &utc, false).unwrap();
        assert!(w.is_date());
        assert!(parse_when("s", "tomorrow", "", &utc, false).is_err());
        assert!(parse_when("s", "2025-03-01T10:00", "Mars/Base", &utc, false).is_err());
    }

    #[test]
    fn local_times_without_a_zone_are_in_the_servers_zone() {
        let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
        let w = parse_when("s", "2025-03-01T09:30", "", &berlin, false).unwrap();
        assert_eq!(w.zone().as_deref(), Some("Europe/Berlin"));
        let w = parse_when("s", "2025-03-01T09:30", "UTC", &berlin, false).unwrap();
        assert_eq!(w, When::Utc("2025-03-01T09:30:00Z".parse().unwrap()));
        // A date bound is midnight in the server's zone.
        let from = parse_bound("start_date", "2025-03-01", &berlin, false).unwrap();
        assert_eq!(from, Some("2025-02-28T23:00:00Z".parse().unwrap()));
        let (name, _) = zone_arg("", &berlin).unwrap();
        assert_eq!(name, "Europe/Berlin");
    }

    #[test]
    fn triggers() {
        assert_eq!(parse_trigger_minutes("-PT15M"), Some(15));
        assert_eq!(parse_trigger_minutes("-P1DT1H"), Some(1500));
        assert_eq!(parse_trigger_minutes("PT5M"), Some(-5));
        assert_eq!(parse_trigger_minutes("20250101T000000Z"), None);
    }
}
