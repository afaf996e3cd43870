//! Expanding a resource's events or tasks into occurrences (RRULE, RDATE, EXDATE, overridden
//! instances), done by calcard.

use chrono::{DateTime, TimeZone, Utc};

use calcard::icalendar::{ICalendar, ICalendarComponentType};

use super::when::{Tz, When};
use crate::ical::{Document, Span};

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
}
