//! The built-in CalDAV/CardDAV server over HTTP, as a client sees it, and the sample data.

use nextcloud_emulator::{Emulator, RunningEmulator};
use reqwest::{Method, StatusCode};

async fn start() -> RunningEmulator {
    Emulator::builder()
        .user("alice", "secret")
        .user("bob", "bobpw")
        .start()
        .await
        .expect("start")
}

fn m(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

async fn send(
    emu: &RunningEmulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new()
        .request(m(method), format!("{}{path}", emu.base_url()))
        .basic_auth("alice", Some("secret"))
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

const CAL: &str = "/remote.php/dav/calendars/alice/";
const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20250106T100000\r\nDTEND;TZID=Europe/Berlin:20250106T110000\r\nRRULE:FREQ=WEEKLY\r\nEXDATE;TZID=Europe/Berlin:20250113T100000\r\nSUMMARY:Weekly & more\r\nX-CUSTOM;X-P=\"a;b\":kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn query(start: &str, end: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{start}" end="{end}"/></c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"#
    )
}

#[tokio::test]
async fn discovery_and_the_default_collections() {
    let emu = start().await;
    let (status, _, body) = send(
        &emu,
        "PROPFIND",
        "/remote.php/dav/principals/users/alice/",
        &[("Depth", "0")],
        r#"<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><c:calendar-home-set/><card:addressbook-home-set/><c:schedule-outbox-URL/></d:prop></d:propfind>"#,
    )
    .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body.contains("<d:href>/remote.php/dav/calendars/alice/</d:href>"),
        "{body}"
    );
    assert!(
        body.contains("<d:href>/remote.php/dav/addressbooks/users/alice/</d:href>"),
        "{body}"
    );
    assert!(
        body.contains("<d:href>/remote.php/dav/calendars/alice/outbox/</d:href>"),
        "{body}"
    );

    let (status, _, body) = send(
        &emu,
        "PROPFIND",
        CAL,
        &[("Depth", "1")],
        r#"<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/><cs:getctag/></d:prop></d:propfind>"#,
    )
    .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(body.contains("<d:href>/remote.php/dav/calendars/alice/personal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><cal:calendar/></d:resourcetype><d:displayname>Personal</d:displayname><cal:supported-calendar-component-set><cal:comp name=\"VEVENT\"/></cal:supported-calendar-component-set><cs:getctag>http://sabre.io/ns/sync/1</cs:getctag>"), "{body}");
    assert!(body.contains("<cal:schedule-outbox/>"), "{body}");

    // Someone else's home is not there for alice.
    let (status, _, _) = send(&emu, "PROPFIND", "/remote.php/dav/calendars/bob/", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    emu.shutdown().await;
}

#[tokio::test]
async fn objects_keep_their_bytes_and_etags_guard_writes() {
    let emu = start().await;
    let href = format!("{CAL}personal/weekly.ics");
    let (status, headers, _) = send(&emu, "PUT", &href, &[("If-None-Match", "*")], WEEKLY).await;
    assert_eq!(status, StatusCode::CREATED);
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

    let (status, headers, body) = send(&emu, "GET", &href, &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, WEEKLY);
    assert_eq!(headers["etag"].to_str().unwrap(), etag);

    let (status, _, _) = send(&emu, "PUT", &href, &[("If-None-Match", "*")], WEEKLY).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, body) = send(&emu, "PUT", &href, &[("If-Match", "\"stale\"")], WEEKLY).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert!(body.contains("<s:header>If-Match</s:header>"), "{body}");
    let (status, _, _) = send(&emu, "DELETE", &href, &[("If-Match", "\"stale\"")], "").await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);

    // The same UID under another name, a task in an events-only calendar, and no calendar.
    let (status, _, body) =
        send(&emu, "PUT", &format!("{CAL}personal/copy.ics"), &[], WEEKLY).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t1\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let (status, _, body) = send(&emu, "PUT", &format!("{CAL}personal/t1.ics"), &[], todo).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("supported-calendar-component"), "{body}");
    let (status, _, _) = send(&emu, "PUT", &format!("{CAL}personal/bad.ics"), &[], "hello").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, headers, _) = send(
        &emu,
        "PUT",
        &href,
        &[("If-Match", &etag)],
        &WEEKLY.replace("more", "less"),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let new_etag = headers["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let (status, _, _) = send(&emu, "DELETE", &href, &[("If-Match", &new_etag)], "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(&emu, "GET", &href, &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    emu.shutdown().await;
}

#[tokio::test]
async fn calendar_query_expands_recurrence_and_multiget_reads_by_href() {
    let emu = start().await;
    let href = format!("{CAL}personal/weekly.ics");
    send(&emu, "PUT", &href, &[], WEEKLY).await;
    let report = |s: &'static str, e: &'static str| {
        let emu = &emu;
        async move {
            let (status, _, body) = send(
                emu,
                "REPORT",
                &format!("{CAL}personal/"),
                &[("Depth", "1")],
                &query(s, e),
            )
            .await;
            assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
            body
        }
    };
    // A year later the series still runs; the excluded week and the week before it started do not.
    let body = report("20260105T000000Z", "20260106T000000Z").await;
    assert!(
        body.contains("<d:href>/remote.php/dav/calendars/alice/personal/weekly.ics</d:href>"),
        "{body}"
    );
    assert!(body.contains("<d:getetag>&quot;"), "{body}");
    assert!(body.contains("SUMMARY:Weekly &amp; more&#13;\n"), "{body}");
    assert!(
        !report("20250113T000000Z", "20250114T000000Z")
            .await
            .contains("weekly.ics")
    );
    assert!(
        !report("20241230T000000Z", "20250105T000000Z")
            .await
            .contains("weekly.ics")
    );

    let (status, _, body) = send(
        &emu,
        "REPORT",
        &format!("{CAL}personal/"),
        &[("Depth", "0")],
        &query("20260105T000000Z", "20260106T000000Z"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let multiget = format!(
        r#"<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><d:href>{href}</d:href><d:href>{CAL}personal/missing.ics</d:href></c:calendar-multiget>"#
    );
    let (status, _, body) = send(
        &emu,
        "REPORT",
        &format!("{CAL}personal/"),
        &[("Depth", "1")],
        &multiget,
    )
    .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(body.contains("<d:href>/remote.php/dav/calendars/alice/personal/missing.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>"), "{body}");
    assert!(
        body.contains("weekly.ics</d:href><d:propstat><d:prop><d:getetag>"),
        "{body}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn calendars_and_address_books_are_created_changed_and_deleted() {
    let emu = start().await;
    let mk = r#"<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Chores</d:displayname><c:supported-calendar-component-set><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"#;
    let (status, _, _) = send(&emu, "MKCALENDAR", &format!("{CAL}chores/"), &[], mk).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = send(&emu, "MKCALENDAR", &format!("{CAL}chores/"), &[], mk).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let patch = r#"<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>House chores</d:displayname><a:calendar-color>#ff0000</a:calendar-color></d:prop></d:set></d:propertyupdate>"#;
    let (status, _, body) = send(&emu, "PROPPATCH", &format!("{CAL}chores/"), &[], patch).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(body.contains("HTTP/1.1 200 OK"), "{body}");
    let (_, _, body) = send(&emu, "PROPFIND", &format!("{CAL}chores/"), &[("Depth", "0")], r#"<d:propfind xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:displayname/><a:calendar-color/><cs:getctag/></d:prop></d:propfind>"#).await;
    assert!(body.contains("<d:displayname>House chores</d:displayname><x1:calendar-color xmlns:x1=\"http://apple.com/ns/ical/\">#ff0000</x1:calendar-color><cs:getctag>http://sabre.io/ns/sync/2</cs:getctag>"), "{body}");
    let (status, _, _) = send(&emu, "DELETE", &format!("{CAL}chores/"), &[], "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let book = "/remote.php/dav/addressbooks/users/alice/friends/";
    let mkcol = r#"<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>Friends</d:displayname></d:prop></d:set></d:mkcol>"#;
    let (status, _, _) = send(&emu, "MKCOL", book, &[], mkcol).await;
    assert_eq!(status, StatusCode::CREATED);
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Jane Doe\r\nEMAIL:jane@example.com\r\nEND:VCARD\r\n";
    let (status, _, _) = send(
        &emu,
        "PUT",
        &format!("{book}c1.vcf"),
        &[("If-None-Match", "*")],
        card,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let search = r#"<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop><card:filter test="anyof"><card:prop-filter name="FN"><card:text-match collation="i;unicode-casemap" match-type="contains">JANE</card:text-match></card:prop-filter></card:filter></card:addressbook-query>"#;
    let (status, _, body) = send(&emu, "REPORT", book, &[("Depth", "1")], search).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body.contains("<card:address-data>BEGIN:VCARD&#13;\n"),
        "{body}"
    );
    let (_, _, body) = send(
        &emu,
        "REPORT",
        book,
        &[("Depth", "1")],
        &search.replace("JANE", "nobody"),
    )
    .await;
    assert!(!body.contains("c1.vcf"), "{body}");
    emu.shutdown().await;
}

#[tokio::test]
async fn sample_data_fills_every_app() {
    let emu = Emulator::builder()
        .user("alice", "secret")
        .sample_data()
        .start()
        .await
        .expect("start with sample data");
    let (_, _, body) = send(&emu, "PROPFIND", CAL, &[("Depth", "1")], "").await;
    assert!(
        body.contains("/remote.php/dav/calendars/alice/tasks/"),
        "{body}"
    );
    let (_, _, body) = send(
        &emu,
        "PROPFIND",
        &format!("{CAL}personal/"),
        &[("Depth", "1")],
        "",
    )
    .await;
    assert!(body.matches(".ics</d:href>").count() >= 6, "{body}");
    let (_, _, body) = send(
        &emu,
        "PROPFIND",
        "/remote.php/dav/addressbooks/users/alice/contacts/",
        &[("Depth", "1")],
        "",
    )
    .await;
    assert_eq!(body.matches(".vcf</d:href>").count(), 4, "{body}");
    let (_, _, body) = send(&emu, "GET", "/index.php/apps/deck/api/v1.0/boards", &[], "").await;
    assert!(body.contains("Project Apollo"), "{body}");
    let (_, _, body) = send(&emu, "GET", "/index.php/apps/tables/api/1/tables", &[], "").await;
    assert!(body.contains("Pilot customers"), "{body}");
    let (status, _, _) = send(
        &emu,
        "GET",
        "/remote.php/dav/files/alice/Documents/Budget.csv",
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    emu.shutdown().await;
}
