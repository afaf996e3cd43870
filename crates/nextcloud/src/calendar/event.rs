//! Events (VEVENT): reading one into an [`Event`], and the editing model [`EventEdit`] that
//! creates an event or changes only the properties it names.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::component::{
    self, Attendee, Reminder, attendee_lines, categories_prop, ensure_vtimezones, master,
    new_calendar, new_uid, set_alarms, text, text_prop, touch,
};
use super::expand::Occurrence;
use super::input::{Alarm, CLASSES, EVENT_STATUSES, check_priority, one_of, rrule_value};
use super::when::{
    Tz, When, Zone, caldav_time, parse_duration, parse_when, render, render_instant,
};
use crate::ical::{Document, Span, prop};
use crate::{Error, Result};
use calcard::icalendar::ICalendar;

/// An event (or one occurrence of a recurring event) as people read it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Event {
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
}

impl Event {
    /// The event described by the component at `span`; with `occ`, the times of that
    /// occurrence. Floating times and dates are read in `default`.
    pub fn read(doc: &Document, span: Span, occ: Option<&Occurrence>, default: Tz) -> Event {
        let ical = ICalendar::parse(doc.to_text()).ok();
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
                    // DTEND of an all-day event is exclusive; people mean the last day.
                    Some(When::Date(d)) => (*d - Duration::days(1)).format("%Y-%m-%d").to_string(),
                    Some(ew) => render(ew, ew.instant(ical.as_ref(), default)),
                    None => match duration(doc, span) {
                        Some(len) => render(&sw.shifted(len), s_instant.map(|i| i + len)),
                        None => render(sw, s_instant),
                    },
                };
                (render(sw, s_instant), end)
            }
            (None, _) => (String::new(), String::new()),
        };
        let rrule = doc
            .get(span, "RRULE")
            .map(|l| l.raw_value().to_string())
            .unwrap_or_default();
        let class = text(doc, span, "CLASS");
        Event {
            uid: text(doc, span, "UID"),
            title: text(doc, span, "SUMMARY"),
            start,
            end,
            all_day: start_w.as_ref().is_some_and(When::is_date),
            timezone: match &start_w {
                Some(When::Floating(_)) => Some("floating".into()),
                Some(w) => w.zone(),
                None => None,
            },
            description: text(doc, span, "DESCRIPTION"),
            location: text(doc, span, "LOCATION"),
            categories: component::categories(doc, span),
            status: text(doc, span, "STATUS"),
            priority: component::int(doc, span, "PRIORITY"),
            privacy: if class.is_empty() {
                "PUBLIC".into()
            } else {
                class
            },
            url: doc
                .get(span, "URL")
                .map(|l| l.raw_value().to_string())
                .unwrap_or_default(),
            color: text(doc, span, "COLOR"),
            recurring: !rrule.is_empty() || doc.get(span, "RDATE").is_some(),
            recurrence_rule: rrule,
            recurrence_id: occ
                .and_then(|o| o.recurrence_id)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            attendees: component::attendees(doc, span),
            organizer: doc
                .get(span, "ORGANIZER")
                .map(|l| component::strip_mailto(l.raw_value())),
            reminders: component::reminders(doc, span),
        }
    }

    /// The series (or single event) a resource holds.
    pub fn of(doc: &Document, default: Tz) -> Result<Event> {
        let span = master(doc, "VEVENT")
            .ok_or_else(|| Error::InvalidResponse("no VEVENT in the object".into()))?;
        Ok(Event::read(doc, span, None, default))
    }

    /// Length in minutes of an occurrence starting at `start`, read from its `end`.
    pub fn minutes_from(&self, start: DateTime<Utc>) -> Option<i64> {
        let end = DateTime::parse_from_rfc3339(&self.end)
            .ok()?
            .with_timezone(&Utc);
        Some((end - start).num_minutes())
    }
}

/// The DURATION of a component.
fn duration(doc: &Document, span: Span) -> Option<Duration> {
    parse_duration(doc.get(span, "DURATION")?.raw_value())
}

/// A change to an event, or what a new one holds. `None` leaves a property as it is; an empty
/// text removes it. Times are text as callers write them (see [`parse_when`]); each value is
/// checked when applied, and an error names the field as the argument of the same name.
#[derive(Clone, Debug, Default)]
pub struct EventEdit {
    pub title: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub all_day: Option<bool>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub categories: Option<Vec<String>>,
    /// `Some(false)` removes the recurrence; `Some(true)` repeats (weekly unless a rule says).
    pub recurring: Option<bool>,
    pub recurrence_rule: Option<String>,
    pub recurrence_end_date: Option<String>,
    /// Replaces every reminder.
    pub alarms: Option<Vec<Alarm>>,
    pub status: Option<String>,
    pub priority: Option<i64>,
    pub privacy: Option<String>,
    /// Replaces the attendee list; addresses already invited keep their answers.
    pub attendees: Option<Vec<String>>,
    pub url: Option<String>,
    pub color: Option<String>,
    /// Zone of the local times given; alone, it re-expresses the existing times there.
    pub timezone: Option<String>,
}

impl EventEdit {
    /// A new event resource holding this edit; `default_zone` is the zone of local times
    /// when the edit names none. Returns the new UID with it.
    pub fn create(&self, default_zone: &str) -> Result<(String, Document)> {
        if self.start.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(Error::invalid_argument(
                "start_datetime",
                "give the start date or date-time",
            ));
        }
        let status = one_of(
            "status",
            self.status.as_deref().unwrap_or("CONFIRMED"),
            EVENT_STATUSES,
        )?;
        let uid = new_uid();
        let stamp = caldav_time(Utc::now());
        let mut doc = new_calendar(
            "VEVENT",
            vec![
                prop("UID", &[], &uid),
                prop("DTSTAMP", &[], &stamp),
                prop("CREATED", &[], &stamp),
                prop("LAST-MODIFIED", &[], &stamp),
                prop("SEQUENCE", &[], "0"),
                prop("STATUS", &[], &status),
            ],
        );
        let span = master(&doc, "VEVENT").expect("just built");
        self.apply(&mut doc, span, default_zone)?;
        ensure_vtimezones(&mut doc, Utc::now());
        Ok((uid, doc))
    }

    /// Changes the resource's event (its series) and marks it changed (DTSTAMP,
    /// LAST-MODIFIED, SEQUENCE), adding VTIMEZONEs for new zones. Every other line stays.
    pub fn update(&self, doc: &mut Document, default_zone: &str) -> Result<()> {
        let span = master(doc, "VEVENT")
            .ok_or_else(|| Error::InvalidResponse("no VEVENT in the object".into()))?;
        let span = self.apply(doc, span, default_zone)?;
        touch(doc, span);
        ensure_vtimezones(doc, Utc::now());
        Ok(())
    }

    /// Whether the edit changes anything.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.start.is_none()
            && self.end.is_none()
            && self.all_day.is_none()
            && self.description.is_none()
            && self.location.is_none()
            && self.categories.is_none()
            && self.recurring.is_none()
            && self.recurrence_rule.is_none()
            && self.recurrence_end_date.is_none()
            && self.alarms.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.privacy.is_none()
            && self.attendees.is_none()
            && self.url.is_none()
            && self.color.is_none()
            && self.timezone.is_none()
    }

    /// Applies the edit to the component at `span`, touching only the properties it names;
    /// returns the component's new span.
    fn apply(&self, doc: &mut Document, span: Span, default_zone: &str) -> Result<Span> {
        let mut span = span;
        let tz_arg = self.timezone.clone().unwrap_or_default();
        let explicit = !tz_arg.trim().is_empty();
        let zone = Zone::resolve("timezone", &tz_arg, default_zone)?;
        let default = Zone::resolve("timezone", "", default_zone)?.tz;
        let ical = ICalendar::parse(doc.to_text()).ok();
        let old_start = doc.get(span, "DTSTART").and_then(When::from_line);
        let old_end = doc.get(span, "DTEND").and_then(When::from_line);
        let was_all_day = old_start.as_ref().is_some_and(When::is_date);
        let all_day = self.all_day.unwrap_or(was_all_day);
        let old_len = match (&old_start, &old_end) {
            (Some(s), Some(en)) => match (
                s.instant(ical.as_ref(), default),
                en.instant(ical.as_ref(), default),
            ) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            },
            (Some(_), None) => duration(doc, span),
            _ => None,
        };

        let mut start = match &self.start {
            Some(s) => Some(parse_when("start_datetime", s, &zone, explicit, all_day)?),
            None => old_start.clone(),
        };
        let mut end = match &self.end {
            Some(s) if !s.trim().is_empty() => {
                Some(parse_when("end_datetime", s, &zone, explicit, all_day)?)
            }
            _ => None,
        };
        // Re-express existing times in a new zone, or convert to/from all-day.
        if self.start.is_none() && (self.timezone.is_some() || self.all_day.is_some()) {
            if let Some(s) = &old_start {
                let instant = s.instant(ical.as_ref(), default);
                start = Some(reexpress(s, instant, &zone, explicit, all_day)?);
            }
            if self.end.is_none()
                && let Some(en) = &old_end
            {
                let instant = en.instant(ical.as_ref(), default);
                end = Some(reexpress(en, instant, &zone, explicit, all_day)?);
            }
        }
        let start_changed = start != old_start;
        if let Some(s) = &start {
            if end.is_none() && (start_changed || self.end.is_some()) {
                end = Some(if s.is_date() {
                    match (&old_end, old_len) {
                        (Some(When::Date(_)), Some(len))
                            if !was_all_day || self.all_day.is_none() =>
                        {
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
                return Err(Error::invalid_argument(
                    "end_datetime",
                    "the end is before the start",
                ));
            }
            if start_changed || self.all_day.is_some() || self.timezone.is_some() {
                span = doc.set(span, "DTSTART", vec![s.to_prop("DTSTART")]);
            }
        }
        if let Some(en) = &end
            && (Some(en) != old_end.as_ref())
        {
            span = doc.set(span, "DURATION", vec![]);
            span = doc.set(span, "DTEND", vec![en.to_prop("DTEND")]);
        }
        if let Some(t) = &self.title {
            span = doc.set(span, "SUMMARY", text_prop("SUMMARY", t));
        }
        if let Some(v) = &self.description {
            span = doc.set(span, "DESCRIPTION", text_prop("DESCRIPTION", v));
        }
        if let Some(v) = &self.location {
            span = doc.set(span, "LOCATION", text_prop("LOCATION", v));
        }
        if let Some(v) = &self.categories {
            span = doc.set(span, "CATEGORIES", categories_prop(v));
        }
        if let Some(v) = &self.status {
            let v = one_of("status", v, EVENT_STATUSES)?;
            span = doc.set(span, "STATUS", vec![prop("STATUS", &[], &v)]);
        }
        if let Some(p) = self.priority {
            let p = check_priority("priority", p)?;
            span = doc.set(
                span,
                "PRIORITY",
                vec![prop("PRIORITY", &[], &p.to_string())],
            );
        }
        if let Some(v) = &self.privacy {
            let v = one_of("privacy", v, CLASSES)?;
            span = doc.set(span, "CLASS", vec![prop("CLASS", &[], &v)]);
        }
        if let Some(v) = &self.url {
            let lines = if v.is_empty() {
                vec![]
            } else {
                vec![prop("URL", &[("VALUE", "URI")], v)]
            };
            span = doc.set(span, "URL", lines);
        }
        if let Some(v) = &self.color {
            span = doc.set(span, "COLOR", text_prop("COLOR", v));
        }
        if let Some(list) = &self.attendees {
            let existing: Vec<_> = doc.get_all(span, "ATTENDEE").into_iter().cloned().collect();
            span = doc.set(span, "ATTENDEE", attendee_lines(list, &existing));
        }
        span = self.apply_recurrence(doc, span)?;
        if let Some(alarms) = &self.alarms {
            span = set_alarms(doc, span, alarms);
        }
        Ok(span)
    }

    fn apply_recurrence(&self, doc: &mut Document, span: Span) -> Result<Span> {
        let until = self.recurrence_end_date.as_deref().unwrap_or("");
        Ok(match (self.recurring, &self.recurrence_rule) {
            (Some(false), _) => doc.set(span, "RRULE", vec![]),
            (Some(true), rule) | (None, rule @ Some(_)) => {
                let rule = rule.clone().unwrap_or_default();
                if self.recurring == Some(true) || !rule.trim().is_empty() {
                    let value = rrule_value(&rule, until)?;
                    doc.set(span, "RRULE", vec![prop("RRULE", &[], &value)])
                } else {
                    span
                }
            }
            (None, None) => match doc.get(span, "RRULE") {
                // A new end for the existing rule.
                Some(old) if !until.is_empty() => {
                    let base: Vec<&str> = old
                        .raw_value()
                        .split(';')
                        .filter(|p| !p.starts_with("UNTIL=") && !p.starts_with("COUNT="))
                        .collect();
                    let value = rrule_value(&base.join(";"), until)?;
                    doc.set(span, "RRULE", vec![prop("RRULE", &[], &value)])
                }
                _ => span,
            },
        })
    }
}

/// An existing time written again in another zone, or as a date (all-day) or back as a time
/// (09:00 on that day).
fn reexpress(
    w: &When,
    instant: Option<DateTime<Utc>>,
    zone: &Zone,
    explicit: bool,
    all_day: bool,
) -> Result<When> {
    let Some(instant) = instant else {
        return Ok(w.clone());
    };
    if all_day {
        return Ok(match w {
            When::Date(d) => When::Date(*d),
            _ => When::Date(instant.with_timezone(&zone.tz).date_naive()),
        });
    }
    if let When::Date(d) = w {
        let t = d.and_hms_opt(9, 0, 0).unwrap_or_default();
        return parse_when(
            "timezone",
            &t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            zone,
            true,
            false,
        );
    }
    parse_when("timezone", &instant.to_rfc3339(), zone, explicit, false)
}
