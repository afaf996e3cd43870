//! Tasks (VTODO): reading one into a [`Todo`], and the editing model [`TodoEdit`].

use calcard::icalendar::ICalendar;
use chrono::Utc;
use serde::Serialize;

use super::component::{
    self, Reminder, categories_prop, ensure_vtimezones, master, new_calendar, new_uid, set_alarms,
    text, text_prop, touch,
};
use super::input::{Alarm, TODO_STATUSES, check_priority, one_of};
use super::when::{Tz, When, Zone, caldav_time, parse_when, render};
use crate::ical::{Document, Span, prop};
use crate::{Error, Result};

/// A task as people read it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Todo {
    pub uid: String,
    pub summary: String,
    pub description: String,
    /// NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED.
    pub status: String,
    /// 0 (undefined), 1 (highest) to 9 (lowest).
    pub priority: i64,
    pub percent_complete: i64,
    /// Due date or date-time (in its own zone), or "".
    pub due: String,
    pub dtstart: String,
    /// When it was completed (UTC), or "".
    pub completed: String,
    pub categories: Vec<String>,
    pub reminders: Vec<Reminder>,
}

impl Todo {
    /// The task described by the component at `span`; floating times in `default`.
    pub fn read(doc: &Document, span: Span, default: Tz) -> Todo {
        let ical = ICalendar::parse(doc.to_text()).ok();
        let when = |name: &str| {
            doc.get(span, name)
                .and_then(When::from_line)
                .map(|w| render(&w, w.instant(ical.as_ref(), default)))
                .unwrap_or_default()
        };
        let status = text(doc, span, "STATUS");
        Todo {
            uid: text(doc, span, "UID"),
            summary: text(doc, span, "SUMMARY"),
            description: text(doc, span, "DESCRIPTION"),
            status: if status.is_empty() {
                "NEEDS-ACTION".into()
            } else {
                status
            },
            priority: component::int(doc, span, "PRIORITY").unwrap_or(0),
            percent_complete: component::int(doc, span, "PERCENT-COMPLETE").unwrap_or(0),
            due: when("DUE"),
            dtstart: when("DTSTART"),
            completed: when("COMPLETED"),
            categories: component::categories(doc, span),
            reminders: component::reminders(doc, span),
        }
    }

    /// The task a resource holds, if it holds one.
    pub fn of(doc: &Document, default: Tz) -> Option<Todo> {
        master(doc, "VTODO").map(|span| Todo::read(doc, span, default))
    }
}

/// A change to a task, or what a new one holds. `None` leaves a property as it is; an empty
/// due, start or completion time removes it. Errors name the field as the argument of the
/// same name.
#[derive(Clone, Debug, Default)]
pub struct TodoEdit {
    pub summary: Option<String>,
    pub description: Option<String>,
    /// Setting COMPLETED also sets PERCENT-COMPLETE to 100 and the completion time (now
    /// unless `completed` says); another status removes the completion time.
    pub status: Option<String>,
    pub priority: Option<i64>,
    pub percent_complete: Option<i64>,
    pub due: Option<String>,
    pub dtstart: Option<String>,
    pub completed: Option<String>,
    pub categories: Option<Vec<String>>,
    /// Replaces every reminder (counted back from the due time).
    pub alarms: Option<Vec<Alarm>>,
}

impl TodoEdit {
    /// Marks a task done at `at` (a date-time; now when `None`).
    pub fn complete(at: Option<String>) -> TodoEdit {
        TodoEdit {
            status: Some("COMPLETED".into()),
            completed: Some(at.unwrap_or_else(|| Utc::now().to_rfc3339())),
            ..Default::default()
        }
    }

    /// A new task resource holding this edit (status NEEDS-ACTION unless it says); returns
    /// the new UID with it.
    pub fn create(&self, default_zone: &str) -> Result<(String, Document)> {
        if self.summary.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(Error::invalid_argument(
                "summary",
                "give the task a summary",
            ));
        }
        let uid = new_uid();
        let stamp = caldav_time(Utc::now());
        let mut doc = new_calendar(
            "VTODO",
            vec![
                prop("UID", &[], &uid),
                prop("DTSTAMP", &[], &stamp),
                prop("CREATED", &[], &stamp),
            ],
        );
        let edit = TodoEdit {
            // An undefined priority is no PRIORITY line at all.
            priority: self
                .priority
                .map(|p| check_priority("priority", p))
                .transpose()?
                .filter(|p| *p > 0),
            status: Some(self.status.clone().unwrap_or_else(|| "NEEDS-ACTION".into())),
            ..self.clone()
        };
        let span = master(&doc, "VTODO").expect("just built");
        edit.apply(&mut doc, span, default_zone)?;
        ensure_vtimezones(&mut doc, Utc::now());
        Ok((uid, doc))
    }

    /// Changes the resource's task and marks it changed (DTSTAMP, LAST-MODIFIED, SEQUENCE).
    /// Every other line stays.
    pub fn update(&self, doc: &mut Document, default_zone: &str) -> Result<()> {
        let span = master(doc, "VTODO")
            .ok_or_else(|| Error::InvalidResponse("no VTODO in the object".into()))?;
        let span = self.apply(doc, span, default_zone)?;
        touch(doc, span);
        ensure_vtimezones(doc, Utc::now());
        Ok(())
    }

    fn apply(&self, doc: &mut Document, span: Span, default_zone: &str) -> Result<Span> {
        let zone = Zone::resolve("timezone", "", default_zone)?;
        let mut span = span;
        if let Some(v) = &self.summary {
            span = doc.set(span, "SUMMARY", text_prop("SUMMARY", v));
        }
        if let Some(v) = &self.description {
            span = doc.set(span, "DESCRIPTION", text_prop("DESCRIPTION", v));
        }
        if let Some(p) = self.priority {
            check_priority("priority", p)?;
            span = doc.set(
                span,
                "PRIORITY",
                vec![prop("PRIORITY", &[], &p.to_string())],
            );
        }
        if let Some(p) = self.percent_complete {
            if !(0..=100).contains(&p) {
                return Err(Error::invalid_argument("percent_complete", "use 0 to 100"));
            }
            span = doc.set(
                span,
                "PERCENT-COMPLETE",
                vec![prop("PERCENT-COMPLETE", &[], &p.to_string())],
            );
        }
        if let Some(v) = &self.due {
            span = set_when(doc, span, "DUE", "due", v, &zone)?;
        }
        if let Some(v) = &self.dtstart {
            span = set_when(doc, span, "DTSTART", "dtstart", v, &zone)?;
        }
        if let Some(v) = &self.completed {
            span = set_completed(doc, span, v, &zone)?;
        }
        if let Some(v) = &self.status {
            let status = one_of("status", v, TODO_STATUSES)?;
            span = doc.set(span, "STATUS", vec![prop("STATUS", &[], &status)]);
            if status == "COMPLETED" {
                span = doc.set(
                    span,
                    "PERCENT-COMPLETE",
                    vec![prop("PERCENT-COMPLETE", &[], "100")],
                );
                if doc.get(span, "COMPLETED").is_none() {
                    span = set_completed(doc, span, &Utc::now().to_rfc3339(), &zone)?;
                }
            } else {
                span = doc.set(span, "COMPLETED", vec![]);
            }
        }
        if let Some(v) = &self.categories {
            span = doc.set(span, "CATEGORIES", categories_prop(v));
        }
        if let Some(alarms) = &self.alarms {
            span = set_alarms(doc, span, alarms);
        }
        Ok(span)
    }
}

/// A DUE or DTSTART line from text ("" removes it).
fn set_when(
    doc: &mut Document,
    span: Span,
    name: &str,
    arg: &str,
    value: &str,
    zone: &Zone,
) -> Result<Span> {
    if value.trim().is_empty() {
        return Ok(doc.set(span, name, vec![]));
    }
    let w = parse_when(arg, value, zone, false, false)?;
    Ok(doc.set(span, name, vec![w.to_prop(name)]))
}

/// The COMPLETED line, always in UTC (RFC 5545 §3.8.2.1); "" removes it.
fn set_completed(doc: &mut Document, span: Span, value: &str, zone: &Zone) -> Result<Span> {
    if value.trim().is_empty() {
        return Ok(doc.set(span, "COMPLETED", vec![]));
    }
    let w = parse_when("completed", value, zone, false, false)?;
    let instant = w
        .instant(None, zone.tz)
        .ok_or_else(|| Error::invalid_argument("completed", "not a valid time"))?;
    Ok(doc.set(
        span,
        "COMPLETED",
        vec![prop("COMPLETED", &[], &caldav_time(instant))],
    ))
}
