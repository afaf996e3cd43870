//! Calendar tools end to end against a real CalDAV server (Radicale behind the emulator, or
//! the configured Nextcloud), checking what landed in the backend through the client.

mod common;
mod dav_backend;

use std::time::Instant;

use chrono::{DateTime, Utc};
use common::{Client, Transport, call_err, call_ok, connect, unique_category};
use dav_backend::DavBackend;
use nextcloud::NextcloudUser;
use nextcloud::calendar::{CalendarProps, Precondition};
use nextcloud::ical::Document;
use serde_json::{Value, json};

async fn setup() -> (DavBackend, Client) {
    let backend = DavBackend::start().await;
    let client = connect(&backend.nc, Transport::HttpSession, &Default::default()).await;
    (backend, client)
}

/// A fresh calendar (events and tasks) with a unique name.
async fn new_calendar(client: &Client, test: &str) -> String {
    let name = unique_category(test).replace('.', "-");
    call_ok(
        client,
        "nc_calendar_manage_calendar",
        json!({"action": "create", "calendar_name": name, "display_name": format!("Test {test}")}),
    )
    .await;
    name
}

async fn drop_calendar(client: &Client, name: &str) {
    call_ok(
        client,
        "nc_calendar_manage_calendar",
        json!({"action": "delete", "calendar_name": name}),
    )
    .await;
}

async fn raw(user: &NextcloudUser, cal: &str, uid: &str, kind: &str) -> (String, String) {
    let cal = user.calendars().find(cal).await.expect("calendar");
    let obj = user
        .calendars()
        .find_by_uid(&cal, kind, uid)
        .await
        .expect("query")
        .expect("object exists");
    (obj.data, obj.href)
}

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

#[tokio::test]
async fn zoned_and_utc_events_round_trip_to_the_same_instant() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "zones").await;
    let direct = b.nc.direct();
    let cases = [
        (
            "2025-07-01T10:00",
            "Europe/Berlin",
            "2025-07-01T08:00:00Z",
            "DTSTART;TZID=Europe/Berlin:20250701T100000",
        ),
        (
            "2025-01-15T09:30",
            "America/New_York",
            "2025-01-15T14:30:00Z",
            "DTSTART;TZID=America/New_York:20250115T093000",
        ),
        (
            "2025-03-03T12:00:00Z",
            "",
            "2025-03-03T12:00:00Z",
            "DTSTART:20250303T120000Z",
        ),
        (
            "2025-03-03T12:00:00+02:00",
            "",
            "2025-03-03T10:00:00Z",
            "DTSTART:20250303T100000Z",
        ),
    ];
    for (start, tz, utc, line) in cases {
        let out = call_ok(
            &client,
            "nc_calendar_create_event",
            json!({"calendar_name": cal, "title": format!("tz {tz}"), "start_datetime": start, "timezone": tz}),
        )
        .await;
        let ev = &out["event"];
        assert_eq!(instant(ev["start"].as_str().unwrap()), instant(utc), "{ev}");
        let expected_zone = if tz.is_empty() { "UTC" } else { tz };
        assert_eq!(ev["timezone"], expected_zone);
        // One hour by default.
        assert_eq!(
            instant(ev["end"].as_str().unwrap()) - instant(utc),
            chrono::Duration::hours(1)
        );
        let uid = ev["uid"].as_str().unwrap();
        // In the backend: TZID kept, with a VTIMEZONE for it; UTC stays UTC.
        let (data, _) = raw(&direct, &cal, uid, "VEVENT").await;
        assert!(data.contains(line), "{line} missing in\n{data}");
        if !tz.is_empty() {
            assert!(
                data.contains(&format!("TZID:{tz}")),
                "no VTIMEZONE for {tz}:\n{data}"
            );
            // The VTIMEZONE's observances start before the event, so any client resolves it.
            let first = data
                .split("BEGIN:VTIMEZONE")
                .nth(1)
                .and_then(|z| z.split("DTSTART:").nth(1))
                .map(|d| d[..8].to_string())
                .unwrap_or_default();
            assert!(
                first.as_str() <= &line[line.len() - 15..line.len() - 7],
                "VTIMEZONE starts {first}:\n{data}"
            );
        }
        // And read back through the tool, the same instant.
        let got = call_ok(
            &client,
            "nc_calendar_get_event",
            json!({"calendar_name": cal, "event_uid": uid}),
        )
        .await;
        assert_eq!(
            instant(got["event"]["start"].as_str().unwrap()),
            instant(utc)
        );
    }
    let bad = call_err(
        &client,
        "nc_calendar_create_event",
        json!({"calendar_name": cal, "title": "x", "start_datetime": "2025-01-01T10:00", "timezone": "Mars/Olympus"}),
    )
    .await;
    assert!(bad.contains("timezone"), "{bad}");
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn the_default_zone_comes_from_the_configuration() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "defzone").await;
    // The real binary, configured with a zone; tools get local times without one.
    let configured = common::connect_stdio(&b.nc, &["--timezone", "America/New_York"]).await;
    let out = call_ok(
        &configured,
        "nc_calendar_create_event",
        json!({"calendar_name": cal, "title": "Local", "start_datetime": "2025-07-04T09:00"}),
    )
    .await;
    let ev = &out["event"];
    assert_eq!(ev["timezone"], "America/New_York", "{ev}");
    assert_eq!(ev["start"], "2025-07-04T09:00:00-04:00", "{ev}");
    let (data, _) = raw(&b.nc.direct(), &cal, ev["uid"].as_str().unwrap(), "VEVENT").await;
    assert!(
        data.contains("DTSTART;TZID=America/New_York:20250704T090000"),
        "{data}"
    );
    assert!(
        data.contains("TZID:America/New_York"),
        "no VTIMEZONE:\n{data}"
    );
    // Business hours are 09:00-17:00 in the configured zone (next Monday, in the future).
    let today = Utc::now().date_naive();
    let days = (7 - chrono::Datelike::weekday(&today).num_days_from_monday()) as i64;
    let monday = (today + chrono::Duration::days(days)).to_string();
    let slots = call_ok(
        &configured,
        "nc_calendar_find_availability",
        json!({"duration_minutes": 30, "date_range_start": monday, "date_range_end": monday}),
    )
    .await;
    assert_eq!(slots["timezone"], "America/New_York", "{slots}");
    for slot in slots["available_slots"].as_array().unwrap() {
        let start = slot["start"].as_str().unwrap();
        assert!(
            start.ends_with("-05:00") || start.ends_with("-04:00"),
            "{slots}"
        );
    }
    if b.nc.emulator().is_some() {
        // An empty calendar: the day is free from 09:00 New York time.
        let first = slots["available_slots"][0]["start"]
            .as_str()
            .unwrap_or_default();
        assert!(
            first.starts_with(&format!("{monday}T09:00:00-0")),
            "{slots}"
        );
    }
    // A per-call zone still wins.
    let out = call_ok(
        &configured,
        "nc_calendar_create_event",
        json!({"calendar_name": cal, "title": "Berlin", "start_datetime": "2025-07-04T09:00", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(out["event"]["start"], "2025-07-04T09:00:00+02:00");
    // The unconfigured server (no zone set) reads the same local time as UTC.
    let out = call_ok(
        &client,
        "nc_calendar_create_event",
        json!({"calendar_name": cal, "title": "UTC", "start_datetime": "2025-07-04T09:00"}),
    )
    .await;
    assert_eq!(out["event"]["timezone"], "UTC", "{out}");
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn recurrence_across_dst_keeps_local_time_with_exdate_and_override() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "dst").await;
    // Weekly 10:00 Berlin from 2025-03-20, 5 times: crosses the 2025-03-30 DST change.
    let out = call_ok(
        &client,
        "nc_calendar_create_event",
        json!({"calendar_name": cal, "title": "Weekly", "start_datetime": "2025-03-20T10:00",
               "end_datetime": "2025-03-20T11:00", "timezone": "Europe/Berlin",
               "recurrence_rule": "FREQ=WEEKLY;COUNT=5"}),
    )
    .await;
    let uid = out["event"]["uid"].as_str().unwrap().to_string();
    // Another client excludes 03-27 and moves 04-10 to 15:00 (overridden instance).
    let direct = b.nc.direct();
    let calendar = direct.calendars().find(&cal).await.unwrap();
    let obj = direct
        .calendars()
        .find_by_uid(&calendar, "VEVENT", &uid)
        .await
        .unwrap()
        .unwrap();
    let mut text = obj.data.replace(
        "RRULE:FREQ=WEEKLY;COUNT=5\r\n",
        "RRULE:FREQ=WEEKLY;COUNT=5\r\nEXDATE;TZID=Europe/Berlin:20250327T100000\r\n",
    );
    let over = format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20250410T100000\r\nDTSTART;TZID=Europe/Berlin:20250410T150000\r\nDTEND;TZID=Europe/Berlin:20250410T160000\r\nSUMMARY:Weekly (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    text = text
        .trim_end()
        .strip_suffix("END:VCALENDAR")
        .expect("a calendar")
        .to_string()
        + &over;
    direct
        .calendars()
        .put(
            &obj.href,
            &text,
            Precondition::IfMatch(obj.etag.clone().unwrap()),
        )
        .await
        .expect("put override");

    let list = call_ok(
        &client,
        "nc_calendar_list_events",
        json!({"calendar_name": cal, "start_date": "2025-03-19", "end_date": "2025-04-30"}),
    )
    .await;
    let starts: Vec<(&str, &str)> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["start"].as_str().unwrap(), e["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        starts,
        vec![
            ("2025-03-20T10:00:00+01:00", "Weekly"),
            ("2025-04-03T10:00:00+02:00", "Weekly"),
            ("2025-04-10T15:00:00+02:00", "Weekly (moved)"),
            ("2025-04-17T10:00:00+02:00", "Weekly"),
        ],
        "{:?}",
        raw(&direct, &cal, &uid, "VEVENT").await
    );
    // A window around only the moved instance finds just it (server-side time range).
    let list = call_ok(
        &client,
        "nc_calendar_list_events",
        json!({"calendar_name": cal, "start_date": "2025-04-10T14:30:00+02:00", "end_date": "2025-04-10T17:00:00+02:00"}),
    )
    .await;
    assert_eq!(list["total_count"], 1, "{list}");
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn all_day_events_are_dates() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "allday").await;
    let out = call_ok(
        &client,
        "nc_calendar_create_event",
        json!({"calendar_name": cal, "title": "Holiday", "start_datetime": "2025-08-15", "all_day": true,
               "categories": "Vacation, Family", "reminder_minutes": 0}),
    )
    .await;
    let ev = &out["event"];
    assert_eq!(ev["all_day"], true);
    assert_eq!(ev["start"], "2025-08-15");
    assert_eq!(ev["end"], "2025-08-15");
    assert!(ev.get("timezone").is_none(), "{ev}");
    let (data, _) = raw(&b.nc.direct(), &cal, ev["uid"].as_str().unwrap(), "VEVENT").await;
    assert!(data.contains("DTSTART;VALUE=DATE:20250815"), "{data}");
    assert!(data.contains("DTEND;VALUE=DATE:20250816"), "{data}");
    assert!(data.contains("CATEGORIES:Vacation,Family"), "{data}");
    assert!(!data.contains("VALARM"), "{data}");
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn update_rewrites_only_what_changed_and_detects_stale_etags() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "update").await;
    let direct = b.nc.direct();
    let calendar = direct.calendars().find(&cal).await.unwrap();
    let uid = format!("{}-ext", unique_category("uid"));
    let original = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other Client//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250601T090000Z\r\nDTEND:20250601T100000Z\r\nSUMMARY:Old title\r\nX-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-TITLE=\"Office: 3rd floor\":geo:52.5,13.4\r\nATTENDEE;CN=\"Doe, Jane\";PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:jane@example.com\r\nX-CUSTOM-THING;x-param=Keep:value with \\, escapes\r\nDESCRIPTION:A long description that another client folded over two lines so\r\n  that it stays under the limit\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=END:PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let href = format!("{}{uid}.ics", calendar.href);
    direct
        .calendars()
        .put(&href, &original, Precondition::Create)
        .await
        .expect("seed");

    // What the server stored (a server may normalise on the way in) is the baseline.
    let (stored, _) = raw(&direct, &cal, &uid, "VEVENT").await;
    assert!(stored.contains("X-CUSTOM-THING"), "{stored}");
    let got = call_ok(
        &client,
        "nc_calendar_get_event",
        json!({"calendar_name": cal, "event_uid": uid}),
    )
    .await;
    let ev = &got["event"];
    assert_eq!(ev["attendees"][0]["status"], "ACCEPTED");
    assert_eq!(ev["attendees"][0]["name"], "Doe, Jane");
    let etag = ev["etag"].as_str().unwrap().to_string();

    let out = call_ok(
        &client,
        "nc_calendar_update_event",
        json!({"calendar_name": cal, "event_uid": uid, "title": "New title", "etag": etag}),
    )
    .await;
    assert_eq!(out["event"]["title"], "New title");
    let (data, _) = raw(&direct, &cal, &uid, "VEVENT").await;
    let before = Document::parse(&stored);
    let after = Document::parse(&data);
    for line in before.lines() {
        let name = line.name();
        if ["SUMMARY", "DTSTAMP"].contains(&name.as_str()) {
            continue;
        }
        assert!(
            after.lines().iter().any(|l| l.raw() == line.raw()),
            "line changed or lost: {:?}\n{data}",
            line.raw()
        );
    }
    assert!(data.contains("SUMMARY:New title"));

    // The old ETag is stale now: a second update with it is refused, not applied.
    let err = call_err(
        &client,
        "nc_calendar_update_event",
        json!({"calendar_name": cal, "event_uid": uid, "title": "Lost update", "etag": etag}),
    )
    .await;
    assert!(err.contains("412"), "{err}");
    let (data, _) = raw(&direct, &cal, &uid, "VEVENT").await;
    assert!(data.contains("SUMMARY:New title"), "{data}");

    // Moving the start keeps the duration; the zone argument makes it zoned.
    let out = call_ok(
        &client,
        "nc_calendar_update_event",
        json!({"calendar_name": cal, "event_uid": uid, "start_datetime": "2025-06-02T14:00", "timezone": "America/New_York"}),
    )
    .await;
    assert_eq!(out["event"]["start"], "2025-06-02T14:00:00-04:00");
    assert_eq!(out["event"]["end"], "2025-06-02T15:00:00-04:00");

    call_ok(
        &client,
        "nc_calendar_delete_event",
        json!({"calendar_name": cal, "event_uid": uid}),
    )
    .await;
    let err = call_err(
        &client,
        "nc_calendar_get_event",
        json!({"calendar_name": cal, "event_uid": uid}),
    )
    .await;
    assert!(err.contains("404") || err.contains("not found"), "{err}");
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn tasks_only_in_task_calendars_and_completion_sets_all_fields() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "todo").await;
    let direct = b.nc.direct();
    let events_only = unique_category("evonly").replace('.', "-");
    direct
        .calendars()
        .create(&events_only, &CalendarProps::default(), &["VEVENT"])
        .await
        .expect("events-only calendar");
    let err = call_err(
        &client,
        "nc_calendar_create_todo",
        json!({"calendar_name": events_only, "summary": "nope"}),
    )
    .await;
    assert!(err.contains("VTODO"), "{err}");

    let out = call_ok(
        &client,
        "nc_calendar_create_todo",
        json!({"calendar_name": cal, "summary": "Write report", "priority": 2, "due": "2025-09-01", "categories": "work"}),
    )
    .await;
    let uid = out["uid"].as_str().unwrap().to_string();
    assert_eq!(out["todo"]["status"], "NEEDS-ACTION");
    assert_eq!(out["todo"]["due"], "2025-09-01");
    let done = call_ok(
        &client,
        "nc_calendar_complete_todo",
        json!({"calendar_name": cal, "todo_uid": uid}),
    )
    .await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["percent_complete"], 100);
    let (data, _) = raw(&direct, &cal, &uid, "VTODO").await;
    assert!(data.contains("STATUS:COMPLETED"), "{data}");
    assert!(data.contains("PERCENT-COMPLETE:100"), "{data}");
    assert!(
        data.lines()
            .any(|l| l.starts_with("COMPLETED:") && l.ends_with('Z')),
        "{data}"
    );
    assert!(data.contains("DUE;VALUE=DATE:20250901"), "{data}");

    let list = call_ok(
        &client,
        "nc_calendar_list_todos",
        json!({"calendar_name": cal, "status": "COMPLETED"}),
    )
    .await;
    assert_eq!(list["total_count"], 1);
    let found = call_ok(
        &client,
        "nc_calendar_search_todos",
        json!({"summary_contains": "write REPORT"}),
    )
    .await;
    assert!(
        found["todos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["uid"] == uid.as_str())
    );
    let upd = call_ok(&client, "nc_calendar_update_todo", json!({"calendar_name": cal, "todo_uid": uid, "status": "NEEDS-ACTION", "percent_complete": 10})).await;
    assert_eq!(upd["completed"], "");
    call_ok(
        &client,
        "nc_calendar_delete_todo",
        json!({"calendar_name": cal, "todo_uid": uid}),
    )
    .await;
    let list = call_ok(
        &client,
        "nc_calendar_list_todos",
        json!({"calendar_name": cal}),
    )
    .await;
    assert_eq!(list["total_count"], 0);

    call_ok(
        &client,
        "nc_calendar_manage_calendar",
        json!({"action": "delete", "calendar_name": events_only}),
    )
    .await;
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn bulk_dry_run_changes_nothing_and_availability_skips_busy_time() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "bulk").await;
    let tag = unique_category("tag");
    // Next Monday 10:00-11:00 UTC is busy.
    let today = Utc::now().date_naive();
    let days = (7 - chrono::Datelike::weekday(&today).num_days_from_monday()) as i64;
    let monday = today + chrono::Duration::days(days);
    for i in 0..2 {
        call_ok(
            &client,
            "nc_calendar_create_event",
            json!({"calendar_name": cal, "title": format!("Bulk {i}"), "categories": tag,
                   "start_datetime": format!("{monday}T{}:00:00Z", 10 + i), "end_datetime": format!("{monday}T{}:00:00Z", 11 + i)}),
        )
        .await;
    }
    let dry = call_ok(
        &client,
        "nc_calendar_bulk_operations",
        json!({"operation": "update", "categories": tag, "calendar_name": cal, "new_location": "Room 1",
               "start_date": monday.to_string(), "end_date": monday.to_string(), "dry_run": true}),
    )
    .await;
    assert_eq!(dry["matched"], 2, "{dry}");
    assert_eq!(dry["changed"], 0);
    let list = call_ok(&client, "nc_calendar_list_events", json!({"calendar_name": cal, "start_date": monday.to_string(), "end_date": monday.to_string()})).await;
    assert!(
        list["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["location"] == "")
    );

    let slots = call_ok(
        &client,
        "nc_calendar_find_availability",
        json!({"duration_minutes": 60, "date_range_start": monday.to_string(), "date_range_end": monday.to_string(), "timezone": "UTC"}),
    )
    .await;
    let slots: Vec<(String, String)> = slots["available_slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_string(),
                s["end"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Other calendars of a real account may hold events too; ours must never overlap a slot.
    let busy = (
        instant(&format!("{monday}T10:00:00Z")),
        instant(&format!("{monday}T12:00:00Z")),
    );
    for (s, e) in &slots {
        assert!(
            instant(e) <= busy.0 || instant(s) >= busy.1,
            "slot {s}..{e} overlaps busy time"
        );
    }
    if b.nc.emulator().is_some() {
        assert_eq!(
            slots,
            vec![
                (format!("{monday}T09:00:00Z"), format!("{monday}T10:00:00Z")),
                (format!("{monday}T12:00:00Z"), format!("{monday}T17:00:00Z")),
            ]
        );
    }

    let done = call_ok(
        &client,
        "nc_calendar_bulk_operations",
        json!({"operation": "update", "categories": tag, "calendar_name": cal, "new_location": "Room 1",
               "start_date": monday.to_string(), "end_date": monday.to_string()}),
    )
    .await;
    assert_eq!(done["changed"], 2, "{done}");
    let list = call_ok(&client, "nc_calendar_list_events", json!({"calendar_name": cal, "start_date": monday.to_string(), "end_date": monday.to_string()})).await;
    assert!(
        list["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["location"] == "Room 1"),
        "{list}"
    );
    drop_calendar(&client, &cal).await;
}

#[tokio::test]
async fn listing_a_week_of_a_2000_event_calendar() {
    let (b, client) = setup().await;
    let cal = new_calendar(&client, "perf").await;
    let direct = b.nc.direct();
    let calendar = direct.calendars().find(&cal).await.unwrap();
    // 2000 one-hour events, one every 4 hours from 160 days ago (about 333 days).
    let started = Instant::now();
    let day0 = Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap() - chrono::Duration::days(160);
    let objects: Vec<(String, String)> = (0..2000)
        .map(|i| {
            let start = day0 + chrono::Duration::hours(4 * i);
            let text = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:perf-{i}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Event {i}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                start.format("%Y%m%dT%H%M%SZ"),
                (start + chrono::Duration::hours(1)).format("%Y%m%dT%H%M%SZ")
            );
            (format!("perf-{i}.ics"), text)
        })
        .collect();
    b.seed_calendar(&calendar.href, &objects).await;
    eprintln!("seeded 2000 events in {:?}", started.elapsed());

    let from = Utc::now().date_naive();
    let to = from + chrono::Duration::days(6);
    let mut timings = Vec::new();
    let mut last: Value = Value::Null;
    for _ in 0..3 {
        let t = Instant::now();
        last = call_ok(
            &client,
            "nc_calendar_list_events",
            json!({"calendar_name": cal, "start_date": from.to_string(), "end_date": to.to_string(), "limit": 1000}),
        )
        .await;
        timings.push(t.elapsed());
    }
    // 7 days x 6 events a day.
    assert_eq!(last["total_count"], 42, "{}", last["total_count"]);
    eprintln!("listing one week of a 2000-event calendar took {timings:?}");
    // The same time-range REPORT without MCP, to tell the CalDAV server's share from ours.
    let range = (
        from.and_hms_opt(0, 0, 0).unwrap().and_utc(),
        (to + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc(),
    );
    let mut direct_timings = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let objects = direct
            .calendars()
            .query(&calendar, "VEVENT", Some(range))
            .await
            .unwrap();
        direct_timings.push(t.elapsed());
        assert_eq!(objects.len(), 42);
    }
    eprintln!("the same REPORT sent by the client library took {direct_timings:?}");
    // Radicale deletes a 2,000-item collection file by file (beyond the client's 5 s on a
    // busy machine); its whole store goes with the test's temporary folder anyway.
    if b.nc.emulator().is_none() {
        drop_calendar(&client, &cal).await;
    }
}

/// Creates a calendar of `user` holding one event per `(uid, start, end, extra lines)`.
async fn calendar_with_events(
    user: &NextcloudUser,
    test: &str,
    events: &[(&str, String, String, &str)],
) -> nextcloud::calendar::Calendar {
    let name = unique_category(test).replace('.', "-");
    let cal = user
        .calendars()
        .create(
            &name,
            &CalendarProps {
                display_name: Some(format!("Test {test}")),
                ..Default::default()
            },
            &["VEVENT"],
        )
        .await
        .expect("calendar created");
    for (uid, start, end, extra) in events {
        let ics = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Busy {uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        user.calendars()
            .put(
                &format!("{}{uid}.ics", cal.href),
                &ics,
                Precondition::Create,
            )
            .await
            .expect("event stored");
    }
    cal
}

fn slot_pairs(out: &Value) -> Vec<(String, String)> {
    out["available_slots"]
        .as_array()
        .expect("available_slots")
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_string(),
                s["end"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn availability_avoids_the_attendees_busy_time_from_free_busy() {
    let (b, client) = setup().await;
    let Some(bob) = b.second_user() else {
        eprintln!(
            "skipped: set NEXTCLOUD_SECOND_USERNAME and NEXTCLOUD_SECOND_PASSWORD for a second account"
        );
        return;
    };
    let bob_email = bob
        .current_user()
        .await
        .expect("second user")
        .email
        .expect("the second user has an e-mail address");
    let day = Utc::now().date_naive() + chrono::Duration::days(1);
    let d = day.format("%Y%m%d");
    let cal = calendar_with_events(
        &bob,
        "freebusy",
        &[
            (
                &unique_category("busy"),
                format!("{d}T100000Z"),
                format!("{d}T120000Z"),
                "",
            ),
            // Transparent and cancelled events leave the time free.
            (
                &unique_category("transparent"),
                format!("{d}T130000Z"),
                format!("{d}T140000Z"),
                "TRANSP:TRANSPARENT\r\n",
            ),
            (
                &unique_category("cancelled"),
                format!("{d}T150000Z"),
                format!("{d}T160000Z"),
                "STATUS:CANCELLED\r\n",
            ),
        ],
    )
    .await;
    let args = |attendees: &str| {
        json!({"duration_minutes": 30, "attendees": attendees, "date_range_start": day.to_string(),
               "date_range_end": day.to_string(), "timezone": "UTC", "exclude_weekends": false})
    };

    let out = call_ok(&client, "nc_calendar_find_availability", args(&bob_email)).await;
    assert_eq!(out["attendees_checked"], json!([bob_email]), "{out}");
    assert_eq!(out["attendees_unavailable"], json!([]), "{out}");
    let slots = slot_pairs(&out);
    let busy = (
        instant(&format!("{day}T10:00:00Z")),
        instant(&format!("{day}T12:00:00Z")),
    );
    assert!(!slots.is_empty(), "{out}");
    for (s, e) in &slots {
        assert!(
            instant(e) <= busy.0 || instant(s) >= busy.1,
            "slot {s}..{e} overlaps the attendee's busy time: {out}"
        );
    }
    if b.nc.emulator().is_some() {
        assert_eq!(
            slots,
            vec![
                (format!("{day}T09:00:00Z"), format!("{day}T10:00:00Z")),
                (format!("{day}T12:00:00Z"), format!("{day}T17:00:00Z")),
            ]
        );
        // Without the attendee, the caller's own (empty) day is all free.
        let own = call_ok(&client, "nc_calendar_find_availability", args("")).await;
        assert_eq!(
            slot_pairs(&own),
            vec![(format!("{day}T09:00:00Z"), format!("{day}T17:00:00Z"))]
        );
        assert_eq!(own["attendees_checked"], json!([]));
    }

    // An address no user has is reported, not silently ignored.
    let unknown = format!("{}@example.invalid", unique_category("nobody"));
    let out = call_ok(
        &client,
        "nc_calendar_find_availability",
        args(&format!("{bob_email}, {unknown}")),
    )
    .await;
    assert_eq!(out["attendees_checked"], json!([bob_email]), "{out}");
    let missing = out["attendees_unavailable"].as_array().expect("list");
    assert_eq!(missing.len(), 1, "{out}");
    assert_eq!(missing[0]["email"], unknown);
    assert!(
        missing[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no Nextcloud user"),
        "{out}"
    );

    let err = call_err(
        &client,
        "nc_calendar_find_availability",
        args("not-an-address"),
    )
    .await;
    assert!(err.contains("attendees"), "{err}");
    bob.calendars().delete(&cal).await.expect("cleanup");
}

#[tokio::test]
async fn the_schedule_outbox_answers_free_busy_requests_like_sabre() {
    let b = DavBackend::start().await;
    let Some(bob) = b.second_user() else {
        eprintln!(
            "skipped: set NEXTCLOUD_SECOND_USERNAME and NEXTCLOUD_SECOND_PASSWORD for a second account"
        );
        return;
    };
    let alice = b.nc.direct();
    let alice_email = alice
        .current_user()
        .await
        .expect("user")
        .email
        .expect("the test user has an e-mail address");
    let bob_email = bob
        .current_user()
        .await
        .expect("bob")
        .email
        .expect("bob's e-mail");
    let day = Utc::now().date_naive() + chrono::Duration::days(2);
    let d = day.format("%Y%m%d");
    let cal = calendar_with_events(
        &bob,
        "outbox",
        &[(
            &unique_category("busy"),
            format!("{d}T100000Z"),
            format!("{d}T120000Z"),
            "",
        )],
    )
    .await;
    let outbox = alice
        .schedule_outbox()
        .await
        .expect("principal")
        .expect("an outbox is advertised");
    assert!(outbox.ends_with("/outbox/"), "{outbox}");
    let start = instant(&format!("{day}T00:00:00Z"));
    let end = instant(&format!("{day}T23:59:00Z"));
    let post = |organizer: &str| {
        let body = nextcloud::freebusy::request_body(
            organizer,
            &[bob_email.clone(), "nobody@example.invalid".to_string()],
            start,
            end,
        );
        reqwest::Client::new()
            .post(format!("{}{outbox}", b.nc.base_url))
            .basic_auth(&b.nc.username, Some(&b.nc.password))
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(body)
            .send()
    };
    let resp = post(&alice_email).await.expect("POST");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = resp.text().await.unwrap();
    assert!(xml.contains("schedule-response"), "{xml}");
    let answers = nextcloud::freebusy::parse_schedule_response(&xml).expect("parses");
    assert_eq!(answers.len(), 2, "{xml}");
    let bob_answer = answers
        .iter()
        .find(|a| a.email.eq_ignore_ascii_case(&bob_email))
        .expect("bob answered");
    assert_eq!(bob_answer.request_status, "2.0;Success");
    let busy: Vec<_> = bob_answer.busy.iter().map(|p| (p.start, p.end)).collect();
    assert!(
        busy.contains(&(
            instant(&format!("{day}T10:00:00Z")),
            instant(&format!("{day}T12:00:00Z"))
        )),
        "{xml}"
    );
    let nobody = answers
        .iter()
        .find(|a| a.email == "nobody@example.invalid")
        .expect("unknown answered");
    assert!(nobody.request_status.starts_with("3.7"), "{xml}");

    // Only the caller's own address may be the organizer.
    let resp = post("mallory@example.com").await.expect("POST");
    assert_eq!(resp.status().as_u16(), 403);
    let text = resp.text().await.unwrap();
    assert!(text.contains("Sabre\\DAV\\Exception\\Forbidden"), "{text}");
    bob.calendars().delete(&cal).await.expect("cleanup");
}

#[tokio::test]
async fn calendars_are_listed_and_managed_and_meetings_show_as_upcoming() {
    let (b, client) = setup().await;
    let direct = b.nc.direct();
    let name = unique_category("manage").replace('.', "-");
    let made = call_ok(
        &client,
        "nc_calendar_manage_calendar",
        json!({"action": "create", "calendar_name": name, "display_name": "Team",
               "description": "Shared plans", "color": "#FF5733"}),
    )
    .await;
    assert_eq!(made["calendar"]["name"], name.as_str(), "{made}");
    let cal = direct
        .calendars()
        .find(&name)
        .await
        .expect("in the backend");
    assert_eq!(cal.display_name, "Team");
    assert_eq!(cal.description.as_deref(), Some("Shared plans"));
    assert!(
        cal.color
            .as_deref()
            .is_some_and(|c| c.to_uppercase().starts_with("#FF5733")),
        "{:?}",
        cal.color
    );
    assert!(cal.supports("VEVENT") && cal.supports("VTODO"));

    let listed = call_ok(&client, "nc_calendar_list_calendars", json!({})).await;
    let entry = listed["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not listed: {listed}"))
        .clone();
    assert_eq!(entry["display_name"], "Team");
    assert_eq!(entry["supports_events"], true);
    assert_eq!(entry["supports_todos"], true);
    assert_eq!(
        listed["total_count"].as_u64().unwrap() as usize,
        listed["calendars"].as_array().unwrap().len()
    );

    call_ok(
        &client,
        "nc_calendar_manage_calendar",
        json!({"action": "update", "calendar_name": name, "display_name": "Team (renamed)", "color": "#00AA00"}),
    )
    .await;
    let cal = direct.calendars().find(&name).await.unwrap();
    assert_eq!(cal.display_name, "Team (renamed)");
    assert!(
        cal.color
            .as_deref()
            .is_some_and(|c| c.to_uppercase().starts_with("#00AA00")),
        "{:?}",
        cal.color
    );
    let all = call_ok(
        &client,
        "nc_calendar_manage_calendar",
        json!({"action": "list"}),
    )
    .await;
    assert!(
        all["calendars"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["display_name"] == "Team (renamed)"),
        "{all}"
    );

    // A meeting the day after tomorrow at 10:00 Berlin time, 45 minutes, with invitees.
    let day = Utc::now().date_naive() + chrono::Duration::days(2);
    let meeting = call_ok(
        &client,
        "nc_calendar_create_meeting",
        json!({"title": "Planning", "date": day.to_string(), "time": "10:00", "duration_minutes": 45,
               "calendar_name": name, "attendees": "bob@example.com, carol@example.com",
               "location": "Room 4", "description": "Quarterly", "reminder_minutes": 10,
               "timezone": "Europe/Berlin"}),
    )
    .await;
    let ev = &meeting["event"];
    assert!(
        ev["start"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{day}T10:00:00+0")),
        "{ev}"
    );
    assert!(
        ev["end"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{day}T10:45:00+0")),
        "{ev}"
    );
    assert_eq!(ev["timezone"], "Europe/Berlin");
    let emails: Vec<&str> = ev["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["bob@example.com", "carol@example.com"], "{ev}");
    let uid = ev["uid"].as_str().unwrap().to_string();
    let (data, _) = raw(&direct, &name, &uid, "VEVENT").await;
    let stamp = day.format("%Y%m%d");
    assert!(
        data.contains(&format!("DTSTART;TZID=Europe/Berlin:{stamp}T100000")),
        "{data}"
    );
    let unfolded = data.replace("\r\n ", "");
    assert!(unfolded.contains("mailto:bob@example.com"), "{data}");
    assert!(unfolded.contains("mailto:carol@example.com"), "{data}");
    assert!(data.contains("LOCATION:Room 4"), "{data}");
    assert!(data.contains("TRIGGER:-PT10M"), "{data}");

    // Upcoming: the meeting within 3 days; a later event only with a longer horizon.
    let later = Utc::now().date_naive() + chrono::Duration::days(10);
    call_ok(
        &client,
        "nc_calendar_create_event",
        json!({"calendar_name": name, "title": "Later", "start_datetime": format!("{later}T12:00:00Z")}),
    )
    .await;
    let soon = call_ok(
        &client,
        "nc_calendar_get_upcoming_events",
        json!({"calendar_name": name, "days_ahead": 3}),
    )
    .await;
    let titles = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&soon), ["Planning"], "{soon}");
    let two_weeks = call_ok(
        &client,
        "nc_calendar_get_upcoming_events",
        json!({"calendar_name": name, "days_ahead": 14}),
    )
    .await;
    assert_eq!(titles(&two_weeks), ["Planning", "Later"], "{two_weeks}");
    let first = call_ok(
        &client,
        "nc_calendar_get_upcoming_events",
        json!({"calendar_name": name, "days_ahead": 14, "limit": 1}),
    )
    .await;
    assert_eq!(titles(&first), ["Planning"]);
    assert_eq!(first["total_count"], 2);

    for (tool, args, arg) in [
        (
            "nc_calendar_create_meeting",
            json!({"title": "x", "date": day.to_string(), "time": "25:00", "calendar_name": name}),
            "`time`",
        ),
        (
            "nc_calendar_create_meeting",
            json!({"title": "x", "date": "tomorrow", "time": "10:00", "calendar_name": name}),
            "`date`",
        ),
        (
            "nc_calendar_get_upcoming_events",
            json!({"calendar_name": name, "days_ahead": 0}),
            "`days_ahead`",
        ),
        (
            "nc_calendar_manage_calendar",
            json!({"action": "rename", "calendar_name": name}),
            "`action`",
        ),
        (
            "nc_calendar_manage_calendar",
            json!({"action": "update", "calendar_name": name, "color": "green"}),
            "`color`",
        ),
    ] {
        let err = call_err(&client, tool, args).await;
        assert!(err.contains(arg), "{tool}: {arg} not in {err}");
    }

    drop_calendar(&client, &name).await;
    assert!(direct.calendars().find(&name).await.is_err(), "not deleted");
}

/// The 25 calendar, task and contacts tools with the reference server's parameters
/// (`name:type`, `!` = required), from its tools/list.
const REFERENCE: &[(&str, &[&str])] = &[
    ("nc_calendar_list_calendars", &[]),
    (
        "nc_calendar_create_event",
        &[
            "calendar_name:string!",
            "title:string!",
            "start_datetime:string!",
            "end_datetime:string",
            "all_day:boolean",
            "description:string",
            "location:string",
            "categories:string",
            "recurring:boolean|null",
            "recurrence_rule:string",
            "recurrence_end_date:string",
            "reminder_minutes:integer",
            "reminder_email:boolean",
            "status:string",
            "priority:integer",
            "privacy:string",
            "attendees:string",
            "url:string",
            "color:string",
            "timezone:string",
            "reminders:array<any>|null",
        ],
    ),
    (
        "nc_calendar_list_events",
        &[
            "calendar_name:string",
            "start_date:string",
            "end_date:string",
            "limit:integer",
            "min_attendees:integer|null",
            "min_duration_minutes:integer|null",
            "categories:string|null",
            "status:string|null",
            "title_contains:string|null",
            "location_contains:string|null",
            "search_all_calendars:boolean",
        ],
    ),
    (
        "nc_calendar_get_event",
        &["calendar_name:string!", "event_uid:string!"],
    ),
    (
        "nc_calendar_update_event",
        &[
            "calendar_name:string!",
            "event_uid:string!",
            "title:string|null",
            "start_datetime:string|null",
            "end_datetime:string|null",
            "all_day:boolean|null",
            "description:string|null",
            "location:string|null",
            "categories:string|null",
            "recurring:boolean|null",
            "recurrence_rule:string|null",
            "recurrence_end_date:string|null",
            "reminder_minutes:integer|null",
            "reminder_email:boolean|null",
            "status:string|null",
            "priority:integer|null",
            "privacy:string|null",
            "attendees:string|null",
            "url:string|null",
            "color:string|null",
            "timezone:string|null",
            "reminders:array<any>|null",
            "etag:string",
        ],
    ),
    (
        "nc_calendar_delete_event",
        &["calendar_name:string!", "event_uid:string!"],
    ),
    (
        "nc_calendar_create_meeting",
        &[
            "title:string!",
            "date:string!",
            "time:string!",
            "duration_minutes:integer",
            "calendar_name:string",
            "attendees:string",
            "location:string",
            "description:string",
            "reminder_minutes:integer",
            "timezone:string",
        ],
    ),
    (
        "nc_calendar_get_upcoming_events",
        &[
            "calendar_name:string",
            "days_ahead:integer",
            "limit:integer",
        ],
    ),
    (
        "nc_calendar_find_availability",
        &[
            "duration_minutes:integer!",
            "attendees:string",
            "date_range_start:string",
            "date_range_end:string",
            "business_hours_only:boolean",
            "exclude_weekends:boolean",
            "preferred_times:string",
            "include_all_day:boolean",
            "timezone:string",
        ],
    ),
    (
        "nc_calendar_bulk_operations",
        &[
            "operation:string!",
            "title_contains:string|null",
            "categories:string|null",
            "calendar_name:string|null",
            "start_date:string",
            "end_date:string",
            "status:string|null",
            "location_contains:string|null",
            "new_title:string|null",
            "new_description:string|null",
            "new_location:string|null",
            "new_categories:string|null",
            "new_priority:integer|null",
            "new_reminder_minutes:integer|null",
            "target_calendar:string|null",
            "apply_to_series:boolean",
        ],
    ),
    (
        "nc_calendar_manage_calendar",
        &[
            "action:string!",
            "calendar_name:string",
            "display_name:string",
            "description:string",
            "color:string",
        ],
    ),
    (
        "nc_calendar_list_todos",
        &[
            "calendar_name:string!",
            "status:string|null",
            "min_priority:integer|null",
            "categories:string|null",
            "summary_contains:string|null",
        ],
    ),
    (
        "nc_calendar_create_todo",
        &[
            "calendar_name:string!",
            "summary:string!",
            "description:string",
            "status:string",
            "priority:integer",
            "due:string",
            "dtstart:string",
            "categories:string",
            "reminders:array<any>|null",
        ],
    ),
    (
        "nc_calendar_update_todo",
        &[
            "calendar_name:string!",
            "todo_uid:string!",
            "summary:string|null",
            "description:string|null",
            "status:string|null",
            "priority:integer|null",
            "percent_complete:integer|null",
            "due:string|null",
            "dtstart:string|null",
            "completed:string|null",
            "categories:string|null",
            "reminders:array<any>|null",
            "etag:string",
        ],
    ),
    (
        "nc_calendar_complete_todo",
        &[
            "calendar_name:string!",
            "todo_uid:string!",
            "completed:string|null",
            "etag:string",
        ],
    ),
    (
        "nc_calendar_delete_todo",
        &["calendar_name:string!", "todo_uid:string!"],
    ),
    (
        "nc_calendar_search_todos",
        &[
            "status:string|null",
            "min_priority:integer|null",
            "categories:string|null",
            "summary_contains:string|null",
        ],
    ),
    ("nc_contacts_list_addressbooks", &[]),
    (
        "nc_contacts_list_contacts",
        &[
            "addressbook:string!",
            "include_photos:boolean",
            "limit:integer|null",
            "offset:integer",
        ],
    ),
    (
        "nc_contacts_search_contacts",
        &[
            "query:string!",
            "addressbook:string|null",
            "include_photos:boolean",
        ],
    ),
    (
        "nc_contacts_create_addressbook",
        &["name:string!", "display_name:string!"],
    ),
    ("nc_contacts_delete_addressbook", &["name:string!"]),
    (
        "nc_contacts_create_contact",
        &["addressbook:string!", "uid:string!", "contact_data:object!"],
    ),
    (
        "nc_contacts_delete_contact",
        &["addressbook:string!", "uid:string!"],
    ),
    (
        "nc_contacts_update_contact",
        &[
            "addressbook:string!",
            "uid:string!",
            "contact_data:object!",
            "etag:string",
        ],
    ),
];

/// JSON Schema types a property accepts (`type` or `anyOf`/`oneOf` branches).
fn schema_types(p: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match &p["type"] {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => out.extend(a.iter().filter_map(|t| t.as_str().map(str::to_string))),
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = p[key].as_array() {
            for b in branches {
                out.extend(schema_types(b));
            }
        }
    }
    out
}

#[tokio::test]
async fn tools_keep_the_reference_names_parameters_and_types() {
    let nc = common::TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let mut problems = Vec::new();
    for (name, params) in REFERENCE {
        let Some(tool) = tools.iter().find(|t| t.name == *name) else {
            problems.push(format!("{name}: not registered"));
            continue;
        };
        if tool.title.is_none() {
            problems.push(format!("{name}: no title"));
        }
        match tool.annotations.as_ref() {
            Some(a)
                if a.read_only_hint.is_some()
                    && a.destructive_hint.is_some()
                    && a.idempotent_hint.is_some()
                    && a.open_world_hint.is_some() => {}
            _ => problems.push(format!("{name}: annotations incomplete")),
        }
        let schema = Value::Object((*tool.input_schema).clone());
        let ours = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut theirs = Vec::new();
        for p in *params {
            let (pname, rest) = p.split_once(':').unwrap();
            let reference_required = rest.ends_with('!');
            let ty = rest.trim_end_matches('!');
            theirs.push(pname);
            let Some(prop) = ours.get(pname) else {
                problems.push(format!("{name}: parameter {pname} missing"));
                continue;
            };
            let types = schema_types(prop);
            let base = ty.split('|').next().unwrap().split('<').next().unwrap();
            if !types.iter().any(|t| t == base) {
                problems.push(format!("{name}.{pname}: type {types:?}, reference {ty}"));
            }
            if ty.ends_with("|null") && !types.iter().any(|t| t == "null") {
                problems.push(format!("{name}.{pname}: does not accept null ({ty})"));
            }
            if required.contains(&pname) && !reference_required {
                problems.push(format!("{name}.{pname}: required here, optional there"));
            }
        }
        for r in &required {
            if !theirs.contains(r) {
                problems.push(format!("{name}: extra required parameter {r}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
