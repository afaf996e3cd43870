//! An edit rewrites only the properties it names: every other line of an iCalendar or vCard
//! object (unknown and X- properties, their parameters, their folding, nested alarms) comes
//! back byte for byte and in the same order, whatever those lines hold.

use nextcloud::calendar::{Event, EventEdit, TodoEdit, Tz};
use nextcloud::contacts::{Contact, ContactEdit};
use nextcloud::ical::{Document, prop};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A property no edit knows: an X- name (in a vCard, maybe grouped), parameters and a value
/// of any printable text, folded as a server would send it.
fn unknown_line(grouped: bool) -> impl Strategy<Value = String> {
    (
        "X-[A-Z]{1,10}",
        prop::option::weighted(if grouped { 0.3 } else { 0.01 }, "item[0-9]"),
        prop::collection::vec(("X-[A-Z]{1,6}", "[a-zA-Z0-9 :;,/=.-]{0,12}"), 0..3),
        "[^\\p{C}]{0,120}",
    )
        .prop_map(move |(name, group, params, value)| {
            let name = match group.filter(|_| grouped) {
                Some(g) => format!("{g}.{name}"),
                None => name,
            };
            let params: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            prop(&name, &params, &value)
        })
}

/// Whether `part` appears in `whole` in the same order (not necessarily adjacent).
fn is_subsequence(part: &[String], whole: &[String]) -> bool {
    let mut it = whole.iter();
    part.iter().all(|p| it.any(|w| w == p))
}

fn raw_lines(doc: &Document) -> Vec<String> {
    doc.lines().iter().map(|l| l.raw().to_string()).collect()
}

/// The lines of `before` whose property is not one of `touched`.
fn untouched(before: &Document, touched: &[&str]) -> Vec<String> {
    before
        .lines()
        .iter()
        .filter(|l| !touched.contains(&l.name().as_str()))
        .map(|l| l.raw().to_string())
        .collect()
}

fn event_text(extra: &[String], in_alarm: &[String]) -> String {
    let mut t = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other//App//EN\r\nBEGIN:VEVENT\r\nUID:kept-1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20250301T100000\r\nDTEND;TZID=Europe/Berlin:20250301T110000\r\nSUMMARY:Old title\r\nATTENDEE;CN=\"Bob, B.\";PARTSTAT=ACCEPTED;X-NUM-GUESTS=0:mailto:bob@example.org\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n",
    );
    for l in extra {
        t.push_str(l);
        t.push_str("\r\n");
    }
    t.push_str("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n");
    for l in in_alarm {
        t.push_str(l);
        t.push_str("\r\n");
    }
    t.push_str("END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    t
}

/// What an event edit may change, field by field (`None`: left alone).
fn event_edit() -> impl Strategy<Value = (EventEdit, Vec<&'static str>)> {
    (
        prop::option::of("[^\\p{C}]{0,40}"),
        prop::option::of("[^\\p{C}]{0,200}"),
        prop::option::of("[^\\p{C}]{0,40}"),
        prop::option::of(prop::collection::vec("[a-zA-Z ,;]{1,10}", 0..3)),
        prop::option::of(prop::sample::select(vec![
            "CONFIRMED",
            "TENTATIVE",
            "CANCELLED",
        ])),
        prop::option::of(0i64..=9),
        prop::option::of(prop::sample::select(vec![
            "2025-03-02T09:00",
            "2025-03-02",
            "2025-03-02T09:00:00Z",
        ])),
    )
        .prop_map(
            |(title, description, location, categories, status, priority, start)| {
                let mut touched = vec!["DTSTAMP", "LAST-MODIFIED", "SEQUENCE"];
                for (given, names) in [
                    (title.is_some(), &["SUMMARY"][..]),
                    (description.is_some(), &["DESCRIPTION"][..]),
                    (location.is_some(), &["LOCATION"][..]),
                    (categories.is_some(), &["CATEGORIES"][..]),
                    (status.is_some(), &["STATUS"][..]),
                    (priority.is_some(), &["PRIORITY"][..]),
                    (start.is_some(), &["DTSTART", "DTEND", "DURATION"][..]),
                ] {
                    if given {
                        touched.extend_from_slice(names);
                    }
                }
                let edit = EventEdit {
                    title,
                    description,
                    location,
                    categories,
                    status: status.map(str::to_string),
                    priority,
                    start: start.map(str::to_string),
                    ..Default::default()
                };
                (edit, touched)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn event_edits_keep_every_other_line(
        extra in prop::collection::vec(unknown_line(false), 0..6),
        in_alarm in prop::collection::vec(unknown_line(false), 0..2),
        (edit, touched) in event_edit(),
    ) {
        let before = Document::parse(&event_text(&extra, &in_alarm));
        let mut after = before.clone();
        edit.update(&mut after, "Europe/Berlin").expect("a valid edit applies");
        let kept = untouched(&before, &touched);
        prop_assert!(
            is_subsequence(&kept, &raw_lines(&after)),
            "lost or reordered a line:\n{}", after.to_text()
        );
        // And it did what it said.
        let event = Event::of(&Document::parse(&after.to_text()), Tz::UTC).expect("still an event");
        if let Some(t) = &edit.title {
            prop_assert_eq!(&event.title, t);
        }
        if let Some(d) = &edit.description {
            prop_assert_eq!(&event.description, d);
        }
    }

    #[test]
    fn task_edits_keep_every_other_line(
        extra in prop::collection::vec(unknown_line(false), 0..6),
        summary in prop::option::of("[^\\p{C}]{1,40}"),
        percent in prop::option::of(0i64..=100),
        due in prop::option::of(prop::sample::select(vec!["", "2025-04-01", "2025-04-01T12:00"])),
        complete in any::<bool>(),
    ) {
        let mut text = String::from(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other//App//EN\r\nBEGIN:VTODO\r\nUID:task-1\r\nSUMMARY:Old\r\nDUE;VALUE=DATE:20250301\r\n",
        );
        for l in &extra {
            text.push_str(l);
            text.push_str("\r\n");
        }
        text.push_str("END:VTODO\r\nEND:VCALENDAR\r\n");
        let before = Document::parse(&text);
        let mut touched = vec!["DTSTAMP", "LAST-MODIFIED", "SEQUENCE"];
        let mut edit = if complete {
            touched.extend(["STATUS", "PERCENT-COMPLETE", "COMPLETED"]);
            TodoEdit::complete(None)
        } else {
            TodoEdit::default()
        };
        if summary.is_some() {
            touched.push("SUMMARY");
        }
        if percent.is_some() {
            touched.push("PERCENT-COMPLETE");
        }
        if due.is_some() {
            touched.push("DUE");
        }
        edit.summary = summary;
        edit.percent_complete = percent;
        edit.due = due.map(str::to_string);
        let mut after = before.clone();
        edit.update(&mut after, "UTC").expect("a valid edit applies");
        let kept = untouched(&before, &touched);
        prop_assert!(
            is_subsequence(&kept, &raw_lines(&after)),
            "lost or reordered a line:\n{}", after.to_text()
        );
    }

    #[test]
    fn contact_edits_keep_every_other_line(
        extra in prop::collection::vec(unknown_line(true), 0..6),
        full_name in prop::option::of("[^\\p{C}]{1,40}"),
        note in prop::option::of("[^\\p{C}]{0,200}"),
        emails in prop::option::of(prop::collection::vec("[a-z]{1,8}@[a-z]{1,8}\\.org", 0..3)),
        org in prop::option::of("[^\\p{C};]{0,30}"),
        nicknames in prop::option::of(prop::collection::vec("[a-zA-Z]{1,8}", 0..3)),
    ) {
        let mut text = String::from(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1\r\nFN:Old Name\r\nN:Name;Old;;;\r\nitem1.EMAIL;TYPE=INTERNET:old@example.org\r\nitem1.X-ABLABEL:Private\r\nTEL;TYPE=CELL:+1 555 0100\r\n",
        );
        for l in &extra {
            text.push_str(l);
            text.push_str("\r\n");
        }
        text.push_str("END:VCARD\r\n");
        let before = Document::parse(&text);
        let mut data = Map::new();
        let mut touched = vec!["REV"];
        for (key, name, value) in [
            ("fn", "FN", full_name.clone().map(Value::from)),
            ("note", "NOTE", note.map(Value::from)),
            ("email", "EMAIL", emails.map(|e| json!(e))),
            ("org", "ORG", org.map(Value::from)),
            ("nickname", "NICKNAME", nicknames.map(|n| json!(n))),
        ] {
            if let Some(v) = value {
                data.insert(key.into(), v);
                touched.push(name);
            }
        }
        data.insert("x-not-a-field".into(), json!(1));
        let edit = ContactEdit::from_json(&data).expect("valid contact data");
        prop_assert_eq!(&edit.ignored, &vec!["x-not-a-field".to_string()]);
        let mut after = before.clone();
        edit.apply(&mut after).expect("a card");
        let kept = untouched(&before, &touched);
        prop_assert!(
            is_subsequence(&kept, &raw_lines(&after)),
            "lost or reordered a line:\n{}", after.to_text()
        );
        let contact = Contact::parse(&after.to_text(), false).expect("still a card");
        if let Some(f) = &full_name {
            prop_assert_eq!(&contact.fn_, f);
        }
    }
}
