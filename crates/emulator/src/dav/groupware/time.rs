//! CalDAV time ranges (RFC 4791 §9.9) over calendar objects, with recurrence (RRULE, RDATE,
//! EXDATE, overridden instances) and zones expanded by `calcard`; and the busy time the
//! schedule outbox reports, derived from the same instances.

use calcard::common::timezone::Tz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarStatus,
    ICalendarTransparency, ICalendarValue,
};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// How many occurrences of one series are looked at, as the client does.
const EXPANSION_LIMIT: usize = 50_000;

/// A `time-range` element: either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

fn parse_utc(v: &str) -> Option<DateTime<Utc>> {
    let t = NaiveDateTime::parse_from_str(v.strip_suffix('Z')?, "%Y%m%dT%H%M%S").ok()?;
    Some(Utc.from_utc_datetime(&t))
}

impl Range {
    /// From the `start`/`end` attributes, with Sabre's complaints.
    pub fn parse(start: Option<&str>, end: Option<&str>) -> Result<Range, String> {
        let read = |v: Option<&str>, what: &str| -> Result<Option<DateTime<Utc>>, String> {
            v.map(|v| {
                parse_utc(v).ok_or_else(|| format!("The {what} attribute must be a UTC date-time"))
            })
            .transpose()
        };
        let range = Range {
            start: read(start, "start")?,
            end: read(end, "end")?,
        };
        if range.start.is_none() && range.end.is_none() {
            return Err("The time-range element must have a start or an end attribute".to_string());
        }
        if let (Some(s), Some(e)) = (range.start, range.end)
            && e <= s
        {
            return Err("The end-date must be larger than the start-date".into());
        }
        Ok(range)
    }

    /// RFC 4791's overlap test: a period overlaps when it starts before the end and ends
    /// after the start; an instant, when it lies in `[start, end)`.
    pub fn hits(&self, s: DateTime<Utc>, e: DateTime<Utc>) -> bool {
        let before_end = self.end.is_none_or(|end| s < end);
        if e > s {
            before_end && self.start.is_none_or(|start| e > start)
        } else {
            before_end && self.start.is_none_or(|start| s >= start)
        }
    }
}

/// One occurrence of a component.
#[derive(Clone, Copy, Debug)]
pub struct Instance {
    /// Index into `ICalendar::components`.
    pub comp: usize,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

fn has(comp: &ICalendarComponent, prop: &ICalendarProperty) -> bool {
    comp.entries.iter().any(|e| &e.name == prop)
}

/// A DATE-TIME start with neither end nor duration is an instant (RFC 5545 §3.6.1).
fn is_instant(comp: &ICalendarComponent) -> bool {
    let timed_start = comp.entries.iter().any(|e| {
        e.name == ICalendarProperty::Dtstart
            && matches!(e.values.first(), Some(ICalendarValue::PartialDateTime(d)) if d.has_time())
    });
    timed_start
        && !has(comp, &ICalendarProperty::Dtend)
        && !has(comp, &ICalendarProperty::Duration)
        && !has(comp, &ICalendarProperty::Due)
}

/// Every occurrence of the components of `kind`, floating times read as UTC (Nextcloud's
/// default when a calendar has no `calendar-timezone`).
pub fn instances(ical: &ICalendar, kind: &ICalendarComponentType) -> Vec<Instance> {
    let expanded = ical.expand_dates(Tz::UTC, EXPANSION_LIMIT);
    let mut out = Vec::new();
    for ev in expanded.events {
        let idx = ev.comp_id as usize;
        let Some(comp) = ical.components.get(idx) else {
            continue;
        };
        if &comp.component_type != kind {
            continue;
        }
        let (s, e) = ev.timestamps();
        let (Some(start), Some(mut end)) = (
            Utc.timestamp_opt(s, 0).single(),
            Utc.timestamp_opt(e, 0).single(),
        ) else {
            continue;
        };
        if is_instant(comp) {
            end = start;
        }
        out.push(Instance {
            comp: idx,
            start,
            end,
        });
    }
    out
}

/// The component type named in a `comp-filter`, if it has time.
pub fn timed_kind(name: &str) -> Option<ICalendarComponentType> {
    match name.to_ascii_uppercase().as_str() {
        "VEVENT" => Some(ICalendarComponentType::VEvent),
        "VTODO" => Some(ICalendarComponentType::VTodo),
        "VJOURNAL" => Some(ICalendarComponentType::VJournal),
        "VFREEBUSY" => Some(ICalendarComponentType::VFreebusy),
        _ => None,
    }
}

/// Whether any component of `kind` in the object overlaps `range`. A task without any date
/// overlaps every range (RFC 4791 §9.9).
pub fn overlaps(ical: &ICalendar, kind: &ICalendarComponentType, range: &Range) -> bool {
    if *kind == ICalendarComponentType::VTodo {
        let undated = ical.components.iter().any(|c| {
            c.component_type == *kind
                && [
                    ICalendarProperty::Dtstart,
                    ICalendarProperty::Due,
                    ICalendarProperty::Completed,
                    ICalendarProperty::Created,
                ]
                .iter()
                .all(|p| !has(c, p))
        });
        if undated {
            return true;
        }
    }
    instances(ical, kind)
        .iter()
        .any(|i| range.hits(i.start, i.end))
}

/// A busy period: start, end and `FBTYPE`.
pub type Busy = (DateTime<Utc>, DateTime<Utc>, &'static str);

/// Busy periods of one object within `[from, to)`, like Sabre's `FreeBusyGenerator`:
/// transparent and cancelled events are free, tentative ones BUSY-TENTATIVE.
pub fn busy(ical: &ICalendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Busy> {
    let range = Range {
        start: Some(from),
        end: Some(to),
    };
    instances(ical, &ICalendarComponentType::VEvent)
        .into_iter()
        .filter(|i| i.end > i.start && range.hits(i.start, i.end))
        .filter_map(|i| {
            let comp = &ical.components[i.comp];
            if comp.transparency() == Some(&ICalendarTransparency::Transparent)
                || comp.status() == Some(&ICalendarStatus::Cancelled)
            {
                return None;
            }
            let kind = if comp.status() == Some(&ICalendarStatus::Tentative) {
                "BUSY-TENTATIVE"
            } else {
                "BUSY"
            };
            Some((i.start.max(from), i.end.min(to), kind))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(body: &str) -> ICalendar {
        ICalendar::parse(format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{body}END:VCALENDAR\r\n"
        ))
        .unwrap()
    }

    fn range(s: &str, e: &str) -> Range {
        Range::parse(Some(s), Some(e)).unwrap()
    }

    #[test]
    fn recurring_events_match_by_instance_with_exdates_and_zones() {
        let ical = cal(
            "BEGIN:VEVENT\r\nUID:w\r\nDTSTART;TZID=Europe/Berlin:20250106T100000\r\nDTEND;TZID=Europe/Berlin:20250106T110000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\nEXDATE;TZID=Europe/Berlin:20250113T100000\r\nEND:VEVENT\r\n",
        );
        let ev = ICalendarComponentType::VEvent;
        // The 13th is excluded; the 20th (09:00 UTC) is there, years later too.
        assert!(!overlaps(
            &ical,
            &ev,
            &range("20250113T000000Z", "20250114T000000Z")
        ));
        assert!(overlaps(
            &ical,
            &ev,
            &range("20250120T085959Z", "20250120T090001Z")
        ));
        assert!(!overlaps(
            &ical,
            &ev,
            &range("20250120T100000Z", "20250120T110000Z")
        ));
        assert!(overlaps(
            &ical,
            &ev,
            &range("20270104T000000Z", "20270105T000000Z")
        ));
        assert!(!overlaps(
            &ical,
            &ev,
            &range("20241201T000000Z", "20250101T000000Z")
        ));
    }

    #[test]
    fn instants_and_all_day_events() {
        let ical = cal("BEGIN:VEVENT\r\nUID:i\r\nDTSTART:20250301T120000Z\r\nEND:VEVENT\r\n");
        let ev = ICalendarComponentType::VEvent;
        assert!(overlaps(
            &ical,
            &ev,
            &range("20250301T120000Z", "20250301T120001Z")
        ));
        assert!(!overlaps(
            &ical,
            &ev,
            &range("20250301T120001Z", "20250302T000000Z")
        ));
        let day = cal("BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20250301\r\nEND:VEVENT\r\n");
        assert!(overlaps(
            &day,
            &ev,
            &range("20250301T230000Z", "20250302T010000Z")
        ));
        assert!(!overlaps(
            &day,
            &ev,
            &range("20250302T000000Z", "20250303T000000Z")
        ));
    }

    #[test]
    fn tasks_without_dates_match_every_range() {
        let todo = ICalendarComponentType::VTodo;
        let undated = cal("BEGIN:VTODO\r\nUID:t\r\nSUMMARY:x\r\nEND:VTODO\r\n");
        assert!(overlaps(
            &undated,
            &todo,
            &range("20250101T000000Z", "20250102T000000Z")
        ));
        let due = cal("BEGIN:VTODO\r\nUID:t\r\nDUE:20250105T100000Z\r\nEND:VTODO\r\n");
        assert!(overlaps(
            &due,
            &todo,
            &range("20250105T000000Z", "20250106T000000Z")
        ));
        assert!(!overlaps(
            &due,
            &todo,
            &range("20250107T000000Z", "20250108T000000Z")
        ));
    }

    #[test]
    fn busy_time_skips_free_events() {
        let ical = cal(
            "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20300107T100000Z\r\nDTEND:20300107T110000Z\r\nRRULE:FREQ=DAILY;COUNT=2\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\n",
        );
        let from = parse_utc("20300107T103000Z").unwrap();
        let to = parse_utc("20300109T000000Z").unwrap();
        let periods = busy(&ical, from, to);
        assert_eq!(periods.len(), 2);
        assert_eq!(
            periods[0],
            (
                from,
                parse_utc("20300107T110000Z").unwrap(),
                "BUSY-TENTATIVE"
            )
        );
        let free = cal(
            "BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20300107T100000Z\r\nDTEND:20300107T110000Z\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n",
        );
        assert!(busy(&free, from, to).is_empty());
    }
}
