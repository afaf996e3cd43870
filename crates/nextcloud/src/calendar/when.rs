//! Date and time values as iCalendar writes them ([`When`]), the zone a caller means
//! ([`Zone`]), and reading the date/time text callers give (`2025-03-01`, `2025-03-01T09:30`,
//! `...Z`, `...+01:00`) without losing which kind of time it was.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

pub use calcard::common::timezone::Tz;
use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarValue};

use crate::ical::Line;
use crate::{Error, Result};

/// CalDAV time-range format (UTC).
pub fn caldav_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

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

/// A zone as a caller names it: an IANA name, "UTC", or "floating" (local time without a
/// zone, read in the default zone where an instant is needed).
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// The name as it will be reported (`Europe/Berlin`, `UTC`, `floating`).
    pub name: String,
    /// The zone used to turn local times into instants.
    pub tz: Tz,
}

impl Zone {
    /// `arg` when given, else `default` (a checked IANA name). `arg_name` names the argument
    /// in the error for an unknown zone.
    pub fn resolve(arg_name: &str, arg: &str, default: &str) -> Result<Zone> {
        let name = if arg.trim().is_empty() {
            default.trim().to_string()
        } else {
            arg.trim().to_string()
        };
        if name.eq_ignore_ascii_case("floating") {
            return Ok(Zone {
                name: "floating".into(),
                tz: default.parse().unwrap_or(Tz::UTC),
            });
        }
        let tz = name.parse::<Tz>().map_err(|_| {
            Error::invalid_argument(
                arg_name,
                format!("'{name}' is not an IANA time zone name (like Europe/Berlin, America/New_York or UTC)"),
            )
        })?;
        Ok(Zone { name, tz })
    }

    fn is_floating(&self) -> bool {
        self.name == "floating"
    }

    fn is_utc(&self) -> bool {
        self.name.eq_ignore_ascii_case("UTC") || self.name == "Etc/UTC"
    }
}

/// Reads a date or date-time argument.
///
/// - `2025-03-01` → an all-day date;
/// - `2025-03-01T09:30:00Z` or with `+01:00` → that instant; kept in UTC unless `zone` was
///   given explicitly (`explicit`), in which case it is written as local time there (TZID);
/// - `2025-03-01T09:30` → local time in `zone`; written as UTC when that zone is UTC,
///   floating only when the zone is "floating".
///
/// With `all_day`, the result is the date the time falls on.
pub fn parse_when(
    arg: &str,
    value: &str,
    zone: &Zone,
    explicit: bool,
    all_day: bool,
) -> Result<When> {
    let v = value.trim();
    let bad = || {
        Error::invalid_argument(
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
    let normalized = v.replace(' ', "T");
    let when = if let Ok(t) = DateTime::parse_from_rfc3339(&with_seconds(&normalized)) {
        let utc = t.with_timezone(&Utc);
        if explicit && !zone.is_floating() && !zone.name.eq_ignore_ascii_case("UTC") {
            When::Zoned(utc.with_timezone(&zone.tz).naive_local(), zone.name.clone())
        } else {
            When::Utc(utc)
        }
    } else {
        let local = parse_naive(&normalized).ok_or_else(bad)?;
        if zone.is_floating() {
            When::Floating(local)
        } else if zone.is_utc() {
            When::Utc(local.and_utc())
        } else {
            When::Zoned(local, zone.name.clone())
        }
    };
    if all_day {
        return Ok(When::Date(local_date(&when, zone.tz)));
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

/// Reads a range bound: a date means its midnight in `zone` (an end bound: the next one).
/// Empty text is no bound.
pub fn parse_bound(
    arg: &str,
    value: &str,
    zone: &Zone,
    end: bool,
) -> Result<Option<DateTime<Utc>>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let w = parse_when(arg, value, zone, false, false)?;
    let w = match (w, end) {
        (When::Date(d), true) => When::Date(d + Duration::days(1)),
        (w, _) => w,
    };
    Ok(match &w {
        When::Date(d) => local_to_utc(d.and_time(NaiveTime::MIN), zone.tz),
        When::Zoned(t, _) => local_to_utc(*t, zone.tz),
        other => other.instant(None, zone.tz),
    })
}

/// A value for people and programs: dates as `YYYY-MM-DD`, zoned times with their offset in
/// their own zone, UTC with `Z`, floating without offset.
pub fn render(w: &When, instant: Option<DateTime<Utc>>) -> String {
    match w {
        When::Date(d) => d.format("%Y-%m-%d").to_string(),
        When::Utc(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        When::Zoned(t, tzid) => match (instant, tzid.parse::<Tz>()) {
            (Some(i), Ok(tz)) => i
                .with_timezone(&tz)
                .fixed_offset()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            _ => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        },
        When::Floating(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

/// An instant rendered like `like` (for expanded occurrences of a series).
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

/// An iCalendar DURATION value (`-PT15M`, `P1DT2H`), read by calcard.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let text = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDURATION:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        value.trim()
    );
    let cal = ICalendar::parse(text).ok()?;
    cal.components
        .iter()
        .flat_map(|c| c.entries.iter())
        .find_map(|e| match e.values.first()? {
            ICalendarValue::Duration(d) => d.to_time_delta(),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        Zone::resolve("timezone", name, "UTC").unwrap()
    }

    #[test]
    fn offsets_and_zones_are_kept() {
        let utc = zone("");
        let w = parse_when(
            "start_datetime",
            "2025-03-01T09:30:00+01:00",
            &utc,
            false,
            false,
        )
        .unwrap();
        assert_eq!(w, When::Utc("2025-03-01T08:30:00Z".parse().unwrap()));
        let w = parse_when(
            "s",
            "2025-03-01T09:30",
            &zone("America/New_York"),
            true,
            false,
        )
        .unwrap();
        assert_eq!(w.zone().as_deref(), Some("America/New_York"));
        let w = parse_when("s", "2025-03-01 09:30", &zone("floating"), true, false).unwrap();
        assert!(matches!(w, When::Floating(_)));
        let w = parse_when("s", "2025-03-01", &utc, false, false).unwrap();
        assert!(w.is_date());
        assert!(parse_when("s", "tomorrow", &utc, false, false).is_err());
        assert!(Zone::resolve("timezone", "Mars/Base", "UTC").is_err());
    }

    #[test]
    fn durations_come_from_calcard() {
        assert_eq!(parse_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(parse_duration("P1DT1H"), Some(Duration::minutes(1500)));
        assert_eq!(parse_duration("PT5M"), Some(Duration::minutes(5)));
        assert_eq!(parse_duration("20250101T000000Z"), None);
    }

    #[test]
    fn vtimezone_is_generated() {
        let at = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
        let tz = vtimezone("America/New_York", at).unwrap();
        assert!(tz.contains("TZID:America/New_York"), "{tz}");
        assert!(tz.contains("TZOFFSETTO:-0400"), "{tz}");
    }
}
