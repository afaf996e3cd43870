//! CalDAV scheduling free-busy (`POST /remote.php/dav/calendars/{user}/outbox/`), answered
//! as Sabre's `Schedule\Plugin::outboxRequest` does in Nextcloud: each `ATTENDEE` address is
//! looked up among the users' e-mail addresses and their busy time is read from their
//! calendars: with a time-range query on the CalDAV server the emulator forwards to, or from
//! the built-in one's store.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::dav_error;
use crate::auth::Auth;
use crate::state::AppState;
use quick_xml::escape::escape as xml_escape;

const CALDAV: &[u8] = b"urn:ietf:params:xml:ns:caldav";

/// One unfolded iCalendar content line: name, parameters, value.
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        if !line.is_empty() {
            out.push(line.to_string());
        }
    }
    out
}

fn parse_line(line: &str) -> Prop {
    // The value starts after the first ':' outside a quoted parameter value.
    let mut in_quotes = false;
    let mut split = line.len();
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                split = i;
                break;
            }
            _ => {}
        }
    }
    let head = &line[..split];
    let value = line.get(split + 1..).unwrap_or("").to_string();
    let mut parts = head.split(';');
    let name = parts.next().unwrap_or("").to_ascii_uppercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_ascii_uppercase(), v.trim_matches('"').to_string()))
        .collect();
    Prop {
        name,
        params,
        value,
    }
}

/// The components of one kind (e.g. VEVENT) as their property lists (sub-components left out).
fn components(text: &str, kind: &str) -> Vec<Vec<Prop>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<Prop>> = None;
    let mut nested = 0usize;
    for line in unfold(text) {
        let p = parse_line(&line);
        match (p.name.as_str(), current.is_some()) {
            ("BEGIN", false) if p.value.eq_ignore_ascii_case(kind) => current = Some(Vec::new()),
            ("BEGIN", true) => nested += 1,
            ("END", true) if nested > 0 => nested -= 1,
            ("END", true) => {
                if let Some(c) = current.take() {
                    out.push(c);
                }
            }
            (_, true) if nested == 0 => {
                if let Some(c) = current.as_mut() {
                    c.push(p);
                }
            }
            _ => {}
        }
    }
    out
}

fn get<'a>(props: &'a [Prop], name: &str) -> Option<&'a Prop> {
    props.iter().find(|p| p.name == name)
}

fn param<'a>(p: &'a Prop, name: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A DATE-TIME or DATE value as an instant; `TZID` is honoured, floating and dates are UTC.
fn instant(p: &Prop) -> Option<(DateTime<Utc>, bool)> {
    let v = p.value.trim();
    if v.len() == 8 {
        let d = NaiveDate::parse_from_str(v, "%Y%m%d").ok()?;
        return Some((d.and_hms_opt(0, 0, 0)?.and_utc(), true));
    }
    let local = NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y%m%dT%H%M%S").ok()?;
    if v.ends_with('Z') {
        return Some((local.and_utc(), false));
    }
    if let Some(tz) = param(p, "TZID").and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
        let t = tz.from_local_datetime(&local).earliest()?;
        return Some((t.with_timezone(&Utc), false));
    }
    Some((local.and_utc(), false))
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// An RFC 5545 DURATION.
fn duration(v: &str) -> Option<Duration> {
    let (sign, rest) = match v.as_bytes().first()? {
        b'-' => (-1, &v[1..]),
        b'+' => (1, &v[1..]),
        _ => (1, v),
    };
    let rest = rest.strip_prefix('P')?;
    let (mut total, mut num, mut in_time) = (Duration::zero(), String::new(), false);
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += match (c, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    Some(total * sign)
}

/// Busy periods `(start, end, FBTYPE)` of the events in one calendar object, like Sabre's
/// `FreeBusyGenerator`: transparent and cancelled events are free, tentative ones
/// BUSY-TENTATIVE.
fn event_busy(ics: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>, &'static str)> {
    let mut out = Vec::new();
    for ev in components(ics, "VEVENT") {
        if get(&ev, "TRANSP").is_some_and(|p| p.value.eq_ignore_ascii_case("TRANSPARENT")) {
            continue;
        }
        let status = get(&ev, "STATUS").map(|p| p.value.to_ascii_uppercase());
        if status.as_deref() == Some("CANCELLED") {
            continue;
        }
        let kind = if status.as_deref() == Some("TENTATIVE") {
            "BUSY-TENTATIVE"
        } else {
            "BUSY"
        };
        let Some((start, is_date)) = get(&ev, "DTSTART").and_then(instant) else {
            continue;
        };
        let end = get(&ev, "DTEND")
            .and_then(instant)
            .map(|(e, _)| e)
            .or_else(|| {
                get(&ev, "DURATION")
                    .and_then(|d| duration(d.value.trim()))
                    .map(|d| start + d)
            })
            .unwrap_or_else(|| {
                if is_date {
                    start + Duration::days(1)
                } else {
                    start
                }
            });
        if end > start {
            out.push((start, end, kind));
        }
    }
    out
}

/// Sorts and merges overlapping periods of the same type.
fn merge(
    mut periods: Vec<(DateTime<Utc>, DateTime<Utc>, &'static str)>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, &'static str)> {
    periods.sort();
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>, &'static str)> = Vec::new();
    for p in periods {
        if let Some(last) = out.iter_mut().rev().find(|l| l.2 == p.2)
            && p.0 <= last.1
        {
            last.1 = last.1.max(p.1);
            continue;
        }
        out.push(p);
    }
    out.sort();
    out
}

/// The character data of a text, CDATA or entity-reference event, unescaped.
fn event_text(event: &Event<'_>) -> String {
    match event {
        Event::Text(t) => t.decode().map(|c| c.into_owned()).unwrap_or_default(),
        Event::CData(t) => String::from_utf8_lossy(t).into_owned(),
        Event::GeneralRef(r) => match r.resolve_char_ref() {
            Ok(Some(c)) => c.to_string(),
            _ => r
                .decode()
                .ok()
                .and_then(|n| quick_xml::escape::resolve_predefined_entity(&n))
                .unwrap_or_default()
                .to_string(),
        },
        _ => String::new(),
    }
}

/// Elements of a multistatus answer: per `<d:response>`, its href, whether its resourcetype
/// names a calendar, and its calendar-data.
fn responses(xml: &str) -> Vec<(String, bool, String)> {
    let mut reader = NsReader::from_str(xml);
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut cur: Option<(String, bool, String)> = None;
    while let Ok((ns, ev)) = reader.read_resolved_event() {
        let caldav = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == CALDAV);
        let is_start = matches!(ev, Event::Start(_));
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if local == "response" && !caldav {
                    cur = Some((String::new(), false, String::new()));
                }
                if caldav
                    && local == "calendar"
                    && stack.last().is_some_and(|l| l == "resourcetype")
                    && let Some(c) = cur.as_mut()
                {
                    c.1 = true;
                }
                if is_start {
                    stack.push(local);
                }
            }
            Event::End(_) => {
                if stack.pop().as_deref() == Some("response")
                    && let Some(c) = cur.take()
                {
                    out.push(c);
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                let text = event_text(&ev);
                if let Some(c) = cur.as_mut() {
                    match stack.last().map(String::as_str) {
                        Some("href")
                            if stack.len() >= 2 && stack[stack.len() - 2] == "response" =>
                        {
                            c.0.push_str(text.trim())
                        }
                        Some("calendar-data") => c.2.push_str(&text),
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// Busy periods of `user` in `[start, end)`, read from the CalDAV server as that user.
async fn busy_of(
    upstream: &str,
    user: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>, &'static str)>, String> {
    let client = super::proxy::upstream_client();
    let auth = super::proxy::upstream_authorization(user);
    let home = format!("/{}/", super::encode_path(user));
    let method = |m: &str| reqwest::Method::from_bytes(m.as_bytes()).map_err(|e| e.to_string());
    let list = client
        .request(method("PROPFIND")?, format!("{upstream}{home}"))
        .header("Authorization", &auth)
        .header("Depth", "1")
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>"#)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if list.status().as_u16() == 404 {
        return Ok(Vec::new());
    }
    let list = list.text().await.map_err(|e| e.to_string())?;
    let (s, e) = (utc(start), utc(end));
    let mut busy = Vec::new();
    for (href, is_calendar, _) in responses(&list) {
        if !is_calendar {
            continue;
        }
        let path = href
            .find("://")
            .and_then(|i| {
                href[i + 3..]
                    .find('/')
                    .map(|j| href[i + 3 + j..].to_string())
            })
            .unwrap_or(href);
        // Recurring events come back expanded into their instances inside the range.
        let query = |expand: bool| {
            let data = if expand {
                format!(r#"<c:calendar-data><c:expand start="{s}" end="{e}"/></c:calendar-data>"#)
            } else {
                "<c:calendar-data/>".to_string()
            };
            format!(
                r#"<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>{data}</d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{s}" end="{e}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
            )
        };
        let mut answer = None;
        for expand in [true, false] {
            let resp = client
                .request(method("REPORT")?, format!("{upstream}{path}"))
                .header("Authorization", &auth)
                .header("Depth", "1")
                .header("Content-Type", "application/xml; charset=utf-8")
                .body(query(expand))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if resp.status().as_u16() == 207 {
                answer = Some(resp.text().await.map_err(|e| e.to_string())?);
                break;
            }
        }
        let Some(answer) = answer else { continue };
        for (_, _, data) in responses(&answer) {
            busy.extend(
                event_busy(&data)
                    .into_iter()
                    .filter(|(bs, be, _)| *bs < end && *be > start)
                    .map(|(bs, be, k)| (bs.max(start), be.min(end), k)),
            );
        }
    }
    Ok(merge(busy))
}

fn bad_request(message: &str) -> Response {
    dav_error(
        StatusCode::BAD_REQUEST,
        "Sabre\\DAV\\Exception\\BadRequest",
        message,
    )
}

fn mailto(v: &str) -> String {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("mailto:") {
        v[7..].to_string()
    } else {
        v.to_string()
    }
}

/// `POST` on the caller's outbox with a `VFREEBUSY` request.
pub async fn outbox_post(
    state: &AppState,
    auth: &Auth,
    owner: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if owner != auth.user_id {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAVACL\\Exception\\NeedPrivileges",
            &format!(
                "User did not have the required privileges ({{urn:ietf:params:xml:ns:caldav}}schedule-send) for path \"calendars/{owner}/outbox\""
            ),
        );
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("text/calendar") {
        return super::principal::not_allowed(&http::Method::POST);
    }
    let text = String::from_utf8_lossy(body);
    if !text.trim_start().starts_with("BEGIN:VCALENDAR") {
        return bad_request("The request body must be a valid iCalendar object");
    }
    let method_ok = unfold(&text)
        .iter()
        .map(|l| parse_line(l))
        .any(|p| p.name == "METHOD" && p.value.eq_ignore_ascii_case("REQUEST"));
    let Some(fb) = components(&text, "VFREEBUSY").into_iter().next() else {
        return dav_error(
            StatusCode::NOT_IMPLEMENTED,
            "Sabre\\DAV\\Exception\\NotImplemented",
            "We only support VFREEBUSY (GET requests) on this endpoint",
        );
    };
    if !method_ok {
        return bad_request("The iTIP object must have a METHOD:REQUEST property");
    }
    let Some(organizer_value) = get(&fb, "ORGANIZER").map(|p| p.value.trim().to_string()) else {
        return bad_request("The ORGANIZER property must be specified for free-busy requests");
    };
    let (own_email, upstream) = {
        let world = state.world();
        let email = world.users.get(&auth.user_id).and_then(|u| u.email.clone());
        let upstream = state.inner.dav_upstream.lock().ok().and_then(|u| u.clone());
        (email, upstream)
    };
    // Sabre compares the value with each `calendar-user-address-set` href, exactly.
    let principal = format!(
        "/remote.php/dav/principals/users/{}/",
        super::encode_path(&auth.user_id)
    );
    let matches = own_email.is_some_and(|e| organizer_value == format!("mailto:{e}"))
        || organizer_value == principal;
    let organizer = mailto(&organizer_value);
    if !matches {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "The organizer in the request did not match any of the addresses for the owner of this inbox",
        );
    }
    let attendees: Vec<String> = fb
        .iter()
        .filter(|p| p.name == "ATTENDEE")
        .map(|p| mailto(&p.value))
        .collect();
    if attendees.is_empty() {
        return bad_request("You must at least specify 1 attendee");
    }
    let (Some((start, _)), Some((end, _))) = (
        get(&fb, "DTSTART").and_then(instant),
        get(&fb, "DTEND").and_then(instant),
    ) else {
        return bad_request("DTSTART and DTEND must both be specified");
    };
    let mut answers = String::new();
    for email in &attendees {
        let user = {
            let world = state.world();
            world
                .users
                .values()
                .find(|u| {
                    u.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .map(|u| u.id.clone())
        };
        answers.push_str(&format!(
            "  <cal:response>\n    <cal:recipient>\n      <d:href>mailto:{}</d:href>\n    </cal:recipient>\n",
            xml_escape(email)
        ));
        let Some(user) = user else {
            answers.push_str(
                "    <cal:request-status>3.7;Could not find principal</cal:request-status>\n  </cal:response>\n",
            );
            continue;
        };
        let busy = match &upstream {
            Some(u) => match busy_of(u, &user, start, end).await {
                Ok(b) => b,
                Err(e) => {
                    return dav_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Sabre\\DAV\\Exception\\ServiceUnavailable",
                        &format!("calendar backend unreachable: {e}"),
                    );
                }
            },
            None => merge(super::groupware::busy_of(state, &user, start, end)),
        };
        let mut ics = format!(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Sabre//Sabre VObject 4.5.6//EN\nCALSCALE:GREGORIAN\nMETHOD:REPLY\nBEGIN:VFREEBUSY\nDTSTART:{}\nDTEND:{}\nDTSTAMP:{}\n",
            utc(start),
            utc(end),
            utc(Utc::now())
        );
        for (s, e, kind) in busy {
            ics.push_str(&format!("FREEBUSY;FBTYPE={kind}:{}/{}\n", utc(s), utc(e)));
        }
        ics.push_str(&format!(
            "ORGANIZER:mailto:{organizer}\nATTENDEE:mailto:{email}\nEND:VFREEBUSY\nEND:VCALENDAR\n"
        ));
        answers.push_str(&format!(
            "    <cal:request-status>2.0;Success</cal:request-status>\n    <cal:calendar-data>{}</cal:calendar-data>\n  </cal:response>\n",
            xml_escape(&ics)
        ));
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<cal:schedule-response xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:cal=\"urn:ietf:params:xml:ns:caldav\" xmlns:cs=\"http://calendarserver.org/ns/\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\">\n{answers}</cal:schedule-response>\n"
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/xml")
        .body(Body::from(xml))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_skips_transparent_and_cancelled_and_honours_zones() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20300107T100000\r\nDTEND;TZID=Europe/Berlin:20300107T110000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20300107T120000Z\r\nDURATION:PT30M\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:c\r\nDTSTART:20300107T130000Z\r\nDTEND:20300107T140000Z\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTART:20300107T150000Z\r\nDTEND:20300107T160000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let busy: Vec<String> = event_busy(ics)
            .into_iter()
            .map(|(s, e, k)| format!("{}/{}/{k}", utc(s), utc(e)))
            .collect();
        assert_eq!(
            busy,
            [
                "20300107T090000Z/20300107T100000Z/BUSY",
                "20300107T120000Z/20300107T123000Z/BUSY-TENTATIVE",
            ]
        );
    }

    #[test]
    fn overlapping_periods_merge() {
        let t = |h: u32| {
            NaiveDate::from_ymd_opt(2030, 1, 7)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .map(|d| d.and_utc())
                .unwrap_or_default()
        };
        let merged = merge(vec![
            (t(10), t(12), "BUSY"),
            (t(11), t(13), "BUSY"),
            (t(14), t(15), "BUSY"),
        ]);
        assert_eq!(merged, vec![(t(10), t(13), "BUSY"), (t(14), t(15), "BUSY")]);
    }
}
