//! iCalendar objects from a CalDAV server: the lossless line model, what the tools read from
//! it (dates, zones, parameters) and the recurrence expansion.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use nextcloud::calendar::{Event, ICalendar, Todo, Tz, When, occurrences};
use nextcloud::ical::Document;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = Document::parse(text);
    let ical = ICalendar::parse(doc.to_text()).ok();
    for kind in ["VEVENT", "VTODO"] {
        for span in doc.components(kind) {
            for i in doc.props(span) {
                let line = &doc.lines()[i];
                let _ = (line.name(), line.params(), line.text(), line.text_list());
                if let Some(when) = When::from_line(line) {
                    let _ = (when.zone(), when.is_date(), when.to_prop("DTSTART"));
                    let _ = when.instant(ical.as_ref(), Tz::UTC);
                }
            }
        }
        let from = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
        for occ in occurrences(&doc, kind, from, to, Tz::UTC) {
            let _ = Event::read(&doc, occ.span, Some(&occ), Tz::UTC);
        }
    }
    let _ = (Event::of(&doc, Tz::UTC), Todo::of(&doc, Tz::UTC));
});
