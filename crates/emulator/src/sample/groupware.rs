//! Sample calendars (recurring events with an exception and a moved instance, all-day
//! events, a meeting with attendees), tasks and contacts, dated around today.

use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarComponentType};
use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::{SeedError, Seeder};
use crate::dav::encode_path;

const ZONE: &str = "Europe/Berlin";

/// A VTIMEZONE for `ZONE` covering the years around the sample dates, from the tz database.
fn vtimezone(s: &Seeder) -> String {
    let mut cal = ICalendar {
        components: vec![ICalendarComponent::new(ICalendarComponentType::VCalendar)],
    };
    let at = s.now.timestamp();
    let year = 366 * 86_400;
    if cal
        .add_timezone(ZONE, at - 3 * year, at + 3 * year)
        .is_none()
    {
        return String::new();
    }
    let text = cal.to_string();
    match (text.find("BEGIN:VTIMEZONE"), text.find("END:VTIMEZONE")) {
        (Some(start), Some(end)) => format!("{}\r\n", &text[start..end + "END:VTIMEZONE".len()]),
        _ => String::new(),
    }
}

fn ics(lines: &[String]) -> String {
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Nextcloud emulator//Sample data//EN\r\nCALSCALE:GREGORIAN\r\n",
    );
    for l in lines {
        out.push_str(l);
        if !l.ends_with("\r\n") {
            out.push_str("\r\n");
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

fn day(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn local(d: NaiveDate, hhmm: &str) -> String {
    format!("{}T{hhmm}00", day(d))
}

fn zoned(prop: &str, d: NaiveDate, hhmm: &str) -> String {
    format!("{prop};TZID={ZONE}:{}", local(d, hhmm))
}

fn first_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, 1)
}

async fn put(s: &Seeder, path: &str, content_type: &str, text: String) -> Result<(), SeedError> {
    s.send("PUT", path, Some(content_type), text)
        .await
        .map(drop)
}

pub(super) async fn seed(s: &Seeder) -> Result<(), SeedError> {
    let user = encode_path(&s.user);
    let today = s.now.date_naive();
    let stamp = s.now.format("%Y%m%dT%H%M%SZ").to_string();
    let tz = vtimezone(s);
    let personal = format!("/remote.php/dav/calendars/{user}/personal/");
    let event = |uid: &str, body: &[String]| {
        let mut lines = vec![tz.clone()];
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!("UID:{uid}"));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.extend(body.iter().cloned());
        lines.push("END:VEVENT".into());
        ics(&lines)
    };

    // Stand-up on Mondays, Wednesdays and Fridays since four weeks ago; next week's Wednesday
    // is cancelled and its Friday moved to 10:30.
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let first = monday - Duration::weeks(4);
    let next_monday = monday + Duration::weeks(1);
    let cancelled = next_monday + Duration::days(2);
    let moved = next_monday + Duration::days(4);
    let mut standup = vec![tz.clone()];
    for (i, part) in [
        vec![
            zoned("DTSTART", first, "0930"),
            zoned("DTEND", first, "0945"),
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR".into(),
            zoned("EXDATE", cancelled, "0930"),
            "SUMMARY:Team stand-up".into(),
            "LOCATION:Talk room \"Daily\"".into(),
            "CATEGORIES:Work".into(),
        ],
        vec![
            zoned("RECURRENCE-ID", moved, "0930"),
            zoned("DTSTART", moved, "1030"),
            zoned("DTEND", moved, "1045"),
            "SUMMARY:Team stand-up (moved for the all-hands)".into(),
            "CATEGORIES:Work".into(),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        standup.push("BEGIN:VEVENT".into());
        standup.push("UID:sample-standup".into());
        standup.push(format!("DTSTAMP:{stamp}"));
        standup.extend(part);
        if i == 0 {
            standup
                .push("DESCRIPTION:What did you do\\, what will you do\\, what blocks you?".into());
        }
        standup.push("END:VEVENT".into());
    }
    put(
        s,
        &format!("{personal}sample-standup.ics"),
        "text/calendar; charset=utf-8",
        ics(&standup),
    )
    .await?;

    // Book club on the first Thursday of every month, 19:00–21:00.
    let start_month = today - Duration::days(75);
    let club =
        first_weekday(start_month.year(), start_month.month(), Weekday::Thu).unwrap_or(start_month);
    let book_club = event(
        "sample-book-club",
        &[
            zoned("DTSTART", club, "1900"),
            zoned("DTEND", club, "2100"),
            "RRULE:FREQ=MONTHLY;BYDAY=1TH".into(),
            "SUMMARY:Book club".into(),
            "LOCATION:Stadtbibliothek".into(),
            "DESCRIPTION:This month: Piranesi.".into(),
        ],
    );
    put(
        s,
        &format!("{personal}sample-book-club.ics"),
        "text/calendar; charset=utf-8",
        book_club,
    )
    .await?;

    let tomorrow = today + Duration::days(1);
    let lunch = event(
        "sample-lunch",
        &[
            zoned("DTSTART", tomorrow, "1230"),
            zoned("DTEND", tomorrow, "1330"),
            "SUMMARY:Lunch with Anna".into(),
            "LOCATION:Café Central".into(),
        ],
    );
    put(
        s,
        &format!("{personal}sample-lunch.ics"),
        "text/calendar; charset=utf-8",
        lunch,
    )
    .await?;

    let review_day = today + Duration::days(3);
    let review = event(
        "sample-apollo-review",
        &[
            zoned("DTSTART", review_day, "1400"),
            zoned("DTEND", review_day, "1500"),
            "SUMMARY:Project Apollo review".into(),
            "DESCRIPTION:Go/no-go for the beta. Slides in Documents/Project plan.md.".into(),
            "LOCATION:Room 4.2".into(),
            "STATUS:CONFIRMED".into(),
            "ATTENDEE;CN=Anna Schmidt;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:anna.schmidt@example.com".into(),
            "ATTENDEE;CN=Ben Okafor;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT:mailto:ben.okafor@example.com".into(),
            "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Project Apollo review\r\nTRIGGER:-PT15M\r\nEND:VALARM".into(),
        ],
    );
    put(
        s,
        &format!("{personal}sample-apollo-review.ics"),
        "text/calendar; charset=utf-8",
        review,
    )
    .await?;

    let offsite = today + Duration::days(8);
    let offsite_ics = event(
        "sample-offsite",
        &[
            format!("DTSTART;VALUE=DATE:{}", day(offsite)),
            format!("DTEND;VALUE=DATE:{}", day(offsite + Duration::days(2))),
            "SUMMARY:Company offsite".into(),
            "LOCATION:Lake Constance".into(),
            "TRANSP:TRANSPARENT".into(),
        ],
    );
    put(
        s,
        &format!("{personal}sample-offsite.ics"),
        "text/calendar; charset=utf-8",
        offsite_ics,
    )
    .await?;

    let dentist_day = today - Duration::days(5);
    let dentist = event(
        "sample-dentist",
        &[
            format!("DTSTART:{}T080000Z", day(dentist_day)),
            format!("DTEND:{}T090000Z", day(dentist_day)),
            "SUMMARY:Dentist".into(),
            "CLASS:PRIVATE".into(),
        ],
    );
    put(
        s,
        &format!("{personal}sample-dentist.ics"),
        "text/calendar; charset=utf-8",
        dentist,
    )
    .await?;

    let birthday = today + Duration::days(10);
    let born = birthday.with_year(birthday.year() - 34).unwrap_or(birthday);
    let birthday_ics = event(
        "sample-birthday-anna",
        &[
            format!("DTSTART;VALUE=DATE:{}", day(born)),
            format!("DTEND;VALUE=DATE:{}", day(born + Duration::days(1))),
            "RRULE:FREQ=YEARLY".into(),
            "SUMMARY:Anna's birthday".into(),
            "TRANSP:TRANSPARENT".into(),
        ],
    );
    put(
        s,
        &format!("{personal}sample-birthday-anna.ics"),
        "text/calendar; charset=utf-8",
        birthday_ics,
    )
    .await?;

    // A task list, as the Tasks app creates it.
    let tasks = format!("/remote.php/dav/calendars/{user}/tasks/");
    s.send(
        "MKCALENDAR",
        &tasks,
        Some("application/xml; charset=utf-8"),
        r##"<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="http://apple.com/ns/ical/">
<d:set><d:prop><d:displayname>Tasks</d:displayname><a:calendar-color>#4caf50</a:calendar-color><c:supported-calendar-component-set><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set>
</c:mkcalendar>"##,
    )
    .await?;
    let at = |d: NaiveDate, hhmm: &str| format!("{}T{hhmm}00Z", day(d));
    let todos: [(&str, Vec<String>); 4] = [
        (
            "sample-task-slides",
            vec![
                "SUMMARY:Prepare slides for the Apollo review".into(),
                format!("DUE:{}", at(review_day - Duration::days(1), "1600")),
                "PRIORITY:1".into(),
                "STATUS:NEEDS-ACTION".into(),
                "DESCRIPTION:Roadmap\\, pilot feedback\\, open risks.".into(),
                "CATEGORIES:Work".into(),
            ],
        ),
        (
            "sample-task-flights",
            vec![
                "SUMMARY:Book travel for the offsite".into(),
                format!("DUE:{}", at(tomorrow, "1200")),
                "PRIORITY:5".into(),
                "STATUS:IN-PROCESS".into(),
                "PERCENT-COMPLETE:50".into(),
            ],
        ),
        (
            "sample-task-passport",
            vec![
                "SUMMARY:Renew passport".into(),
                "PRIORITY:9".into(),
                "STATUS:NEEDS-ACTION".into(),
                "CATEGORIES:Personal".into(),
            ],
        ),
        (
            "sample-task-notes",
            vec![
                "SUMMARY:Send the meeting notes".into(),
                format!("DUE:{}", at(today - Duration::days(2), "1700")),
                format!("COMPLETED:{}", at(today - Duration::days(1), "0915")),
                "STATUS:COMPLETED".into(),
                "PERCENT-COMPLETE:100".into(),
            ],
        ),
    ];
    for (uid, body) in todos {
        let mut lines = vec![
            "BEGIN:VTODO".to_string(),
            format!("UID:{uid}"),
            format!("DTSTAMP:{stamp}"),
            format!("CREATED:{stamp}"),
        ];
        lines.extend(body);
        lines.push("END:VTODO".into());
        put(
            s,
            &format!("{tasks}{uid}.ics"),
            "text/calendar; charset=utf-8",
            ics(&lines),
        )
        .await?;
    }

    let book = format!("/remote.php/dav/addressbooks/users/{user}/contacts/");
    let cards = [
        (
            "sample-anna",
            "FN:Anna Schmidt\r\nN:Schmidt;Anna;;;\r\nORG:Acme GmbH;Product\r\nTITLE:Product manager\r\nEMAIL;TYPE=WORK:anna.schmidt@example.com\r\nTEL;TYPE=CELL:+49 170 1234567\r\nADR;TYPE=WORK:;;Hauptstraße 5;Köln;;50667;Germany\r\nBDAY:1991-04-12\r\nCATEGORIES:Work,Apollo\r\nNOTE:Owns the Apollo roadmap.",
        ),
        (
            "sample-ben",
            "FN:Ben Okafor\r\nN:Okafor;Ben;;;\r\nORG:Acme GmbH;Engineering\r\nEMAIL;TYPE=WORK:ben.okafor@example.com\r\nEMAIL;TYPE=HOME:ben@okafor.example\r\nTEL;TYPE=WORK:+49 221 555 0102\r\nCATEGORIES:Work\r\nNOTE:Writes the migration guide.",
        ),
        (
            "sample-chiara",
            "FN:Chiara Rossi\r\nN:Rossi;Chiara;;;\r\nNICKNAME:Kiki\r\nEMAIL;TYPE=HOME:chiara.rossi@example.org\r\nTEL;TYPE=HOME:+39 06 1234 5678\r\nADR;TYPE=HOME:;;Via Roma 12;Roma;;00184;Italy\r\nURL:https://chiara.example.org\r\nCATEGORIES:Friends",
        ),
        (
            "sample-dmitri",
            "FN:Dmitri Ivanov\r\nN:Ivanov;Dmitri;;;\r\nORG:Pilot Customer Ltd.\r\nEMAIL;TYPE=WORK:d.ivanov@pilot.example\r\nTEL;TYPE=WORK:+44 20 7946 0958\r\nCATEGORIES:Customers,Apollo\r\nNOTE:Beta pilot contact; prefers calls in the morning.",
        ),
    ];
    for (uid, body) in cards {
        let vcard = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Nextcloud emulator//Sample data//EN\r\nUID:{uid}\r\n{body}\r\nREV:{stamp}\r\nEND:VCARD\r\n"
        );
        put(
            s,
            &format!("{book}{uid}.vcf"),
            "text/vcard; charset=utf-8",
            vcard,
        )
        .await?;
    }
    Ok(())
}
