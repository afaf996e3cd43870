//! What callers hand to the editing models besides times: enumerations, priorities,
//! recurrence rules, reminders, comma-separated lists. Each check names the argument it
//! reads, so an error tells the caller which value to fix.

use calcard::icalendar::ICalendar;
use serde::Deserialize;

use super::when::{Tz, When, Zone, parse_when};
use crate::{Error, Result};

/// The words of a comma-separated list, trimmed, without empty ones.
pub fn split_csv(csv: &str) -> Vec<String> {
    csv.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks an enumerated value and returns it upper-cased.
pub fn one_of(arg: &str, value: &str, allowed: &[&str]) -> Result<String> {
    let v = value.trim().to_ascii_uppercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(Error::invalid_argument(
            arg,
            format!("'{value}' is not one of {}", allowed.join(", ")),
        ))
    }
}

/// An iCalendar PRIORITY: 0 (undefined) or 1 (highest) to 9 (lowest).
pub fn check_priority(arg: &str, p: i64) -> Result<i64> {
    if (0..=9).contains(&p) {
        Ok(p)
    } else {
        Err(Error::invalid_argument(
            arg,
            "use 0 (undefined) or 1 (highest) to 9 (lowest)",
        ))
    }
}

/// Event statuses (RFC 5545 §3.8.1.11).
pub const EVENT_STATUSES: &[&str] = &["CONFIRMED", "TENTATIVE", "CANCELLED"];
/// Task statuses.
pub const TODO_STATUSES: &[&str] = &["NEEDS-ACTION", "IN-PROCESS", "COMPLETED", "CANCELLED"];
/// CLASS values.
pub const CLASSES: &[&str] = &["PUBLIC", "PRIVATE", "CONFIDENTIAL"];

/// Whether an RRULE value is well-formed and produces occurrences (calcard expands it).
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

/// An RRULE value from a full rule (`FREQ=WEEKLY;...`) or a frequency word (DAILY, WEEKLY,
/// MONTHLY, YEARLY; empty means weekly), ending on `until` (a date or date-time) when the
/// rule has neither COUNT nor UNTIL.
pub fn rrule_value(rule: &str, until: &str) -> Result<String> {
    let rule = rule.trim().trim_start_matches("RRULE:");
    let mut value = match rule.to_ascii_uppercase().as_str() {
        "" | "WEEKLY" => "FREQ=WEEKLY".to_string(),
        "DAILY" => "FREQ=DAILY".into(),
        "MONTHLY" => "FREQ=MONTHLY".into(),
        "YEARLY" => "FREQ=YEARLY".into(),
        r if r.starts_with("FREQ=") || r.contains(";FREQ=") => r.to_string(),
        _ => {
            return Err(Error::invalid_argument(
                "recurrence_rule",
                "give an RFC 5545 rule like FREQ=WEEKLY;BYDAY=MO,WE or one of DAILY, WEEKLY, MONTHLY, YEARLY",
            ));
        }
    };
    if !rrule_is_valid(&value) {
        return Err(Error::invalid_argument(
            "recurrence_rule",
            format!("'{value}' is not a valid RRULE"),
        ));
    }
    if !until.trim().is_empty() && !value.contains("UNTIL=") && !value.contains("COUNT=") {
        let utc = Zone {
            name: "UTC".into(),
            tz: Tz::UTC,
        };
        let end = parse_when("recurrence_end_date", until, &utc, true, false)?;
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

/// A reminder to write: minutes before the start (or due time; negative: after), as a
/// notification or an e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alarm {
    pub minutes_before: i64,
    pub email: bool,
}

/// How a reminder may be written in JSON: a number of minutes, or an object.
#[derive(Deserialize)]
#[serde(untagged)]
enum AlarmJson {
    Minutes(i64),
    Object {
        #[serde(alias = "minutes", alias = "reminder_minutes")]
        minutes_before: i64,
        #[serde(default)]
        action: Option<String>,
    },
}

impl Alarm {
    /// Reminders from JSON: numbers (minutes before) or objects with `minutes_before` (or
    /// `minutes`) and an optional `action` ("DISPLAY"/"EMAIL").
    pub fn from_json(values: &[serde_json::Value]) -> Result<Vec<Alarm>> {
        values
            .iter()
            .map(|v| match AlarmJson::deserialize(v) {
                Ok(AlarmJson::Minutes(minutes_before)) => Ok(Alarm {
                    minutes_before,
                    email: false,
                }),
                Ok(AlarmJson::Object {
                    minutes_before,
                    action,
                }) => Ok(Alarm {
                    minutes_before,
                    email: action.is_some_and(|a| a.eq_ignore_ascii_case("email")),
                }),
                Err(_) => Err(Error::invalid_argument(
                    "reminders",
                    "each reminder is a number of minutes before the start, or {\"minutes_before\": 15, \"action\": \"DISPLAY\"|\"EMAIL\"}",
                )),
            })
            .collect()
    }

    /// The reminders an edit asks for: the `reminders` list when given, else one reminder
    /// `minutes` before (none for 0 or less); `None` when neither is given (keep them).
    pub fn choose(
        list: Option<&[serde_json::Value]>,
        minutes: Option<i64>,
        email: Option<bool>,
    ) -> Result<Option<Vec<Alarm>>> {
        if let Some(list) = list {
            return Alarm::from_json(list).map(Some);
        }
        Ok(minutes.map(|m| {
            if m > 0 {
                vec![Alarm {
                    minutes_before: m,
                    email: email.unwrap_or(false),
                }]
            } else {
                Vec::new()
            }
        }))
    }
}

/// E-mail addresses from a comma-separated list; each must look like one.
pub fn emails(arg: &str, csv: &str) -> Result<Vec<String>> {
    let list = split_csv(csv);
    if let Some(bad) = list.iter().find(|e| !e.contains('@')) {
        return Err(Error::invalid_argument(
            arg,
            format!("'{bad}' is not an e-mail address; give addresses separated by commas"),
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reminders_as_numbers_or_objects() {
        let got = Alarm::from_json(&[json!(10), json!({"minutes": 5, "action": "email"})]).unwrap();
        assert_eq!(
            got,
            [
                Alarm {
                    minutes_before: 10,
                    email: false
                },
                Alarm {
                    minutes_before: 5,
                    email: true
                }
            ]
        );
        assert!(Alarm::from_json(&[json!("soon")]).is_err());
    }

    #[test]
    fn rrule_words_and_until() {
        assert_eq!(rrule_value("daily", "").unwrap(), "FREQ=DAILY");
        assert_eq!(
            rrule_value("", "2025-06-30").unwrap(),
            "FREQ=WEEKLY;UNTIL=20250630T235959Z"
        );
        assert!(rrule_value("sometimes", "").is_err());
    }
}
