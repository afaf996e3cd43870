//! A built-in CalDAV/CardDAV server below `/remote.php/dav/calendars/{user}/` and
//! `/remote.php/dav/addressbooks/users/{user}/`, used when no upstream DAV server is
//! configured (the demo, and tests that ask for it), answering as Nextcloud's Sabre setup does.
//!
//! Laid out by operation: `propfind.rs` (PROPFIND, PROPPATCH), `mkcol.rs` (MKCALENDAR,
//! extended MKCOL, DELETE of a collection), `object.rs` (GET, PUT, DELETE of `.ics`/`.vcf`
//! with ETag preconditions), `report.rs` (calendar-query, calendar-multiget,
//! addressbook-query, addressbook-multiget) with `filter.rs` and `time.rs` behind it.
//! Objects are kept as uploaded (`store.rs`), so what a client reads back is what it wrote.

pub mod content;
pub mod filter;
mod mkcol;
mod object;
mod propfind;
mod report;
pub mod store;
pub mod time;
pub mod xml;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

pub use store::{Collection, Groupware, Kind, Object};

use super::{dav_error, encode_path};
use crate::auth::Auth;
use crate::state::AppState;

/// Names below the calendar home that are not calendars.
const SPECIAL: &[&str] = &["inbox", "outbox", "trashbin"];

/// Where in a home a request points.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// `/remote.php/dav/calendars/` or `/remote.php/dav/addressbooks/[users/]`.
    Root(String),
    Home,
    /// The scheduling inbox or outbox, or the calendar trash bin.
    Special(String),
    Collection(String),
    Object(String, String),
}

/// One request to the built-in server.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub kind: Kind,
    pub user: String,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

impl Ctx<'_> {
    pub fn home_href(&self) -> String {
        match self.kind {
            Kind::Calendars => format!("/remote.php/dav/calendars/{}/", encode_path(&self.user)),
            Kind::AddressBooks => format!(
                "/remote.php/dav/addressbooks/users/{}/",
                encode_path(&self.user)
            ),
        }
    }

    pub fn collection_href(&self, name: &str) -> String {
        format!("{}{}/", self.home_href(), encode_path(name))
    }

    pub fn object_href(&self, collection: &str, name: &str) -> String {
        format!("{}{}", self.collection_href(collection), encode_path(name))
    }

    pub fn principal_href(&self) -> String {
        format!(
            "/remote.php/dav/principals/users/{}/",
            encode_path(&self.user)
        )
    }

    /// The `Depth` header: 0 or 1 (Nextcloud turns `infinity` into 1).
    pub fn depth(&self, default: u8) -> u8 {
        match self
            .headers
            .get("depth")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
        {
            Some("0") => 0,
            Some("1") | Some("infinity") => 1,
            _ => default,
        }
    }

    /// The collection not found under this home, as Sabre names it.
    pub fn no_collection(&self, name: &str) -> Response {
        let message = match self.kind {
            Kind::Calendars => format!("Node with name '{name}' could not be found"),
            Kind::AddressBooks => format!("Addressbook with name '{name}' could not be found"),
        };
        dav_error(
            StatusCode::NOT_FOUND,
            "Sabre\\DAV\\Exception\\NotFound",
            &message,
        )
    }

    pub fn no_object(&self) -> Response {
        let message = match self.kind {
            Kind::Calendars => "Calendar object not found",
            Kind::AddressBooks => "Card not found",
        };
        dav_error(
            StatusCode::NOT_FOUND,
            "Sabre\\DAV\\Exception\\NotFound",
            message,
        )
    }
}

pub(crate) fn bad_request(message: &str) -> Response {
    dav_error(
        StatusCode::BAD_REQUEST,
        "Sabre\\DAV\\Exception\\BadRequest",
        message,
    )
}

pub(crate) fn multistatus_response(body: String) -> Response {
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .header("Vary", "Brief,Prefer")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn options() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(
            "DAV",
            "1, 3, extended-mkcol, access-control, calendarserver-principal-property-search, calendar-access, calendar-proxy, calendar-auto-schedule, calendar-availability, nc-calendar-trashbin, nc-calendar-webcal-cache, calendarserver-subscribed, oc-resource-sharing, oc-calendar-publishing, calendarserver-sharing, addressbook, nc-paginate, nextcloud-checksum-update, nc-calendar-search, nc-enable-birthday-calendar",
        )
        .header("MS-Author-Via", "DAV")
        .header(
            http::header::ALLOW,
            "OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, PROPPATCH, COPY, MOVE, REPORT",
        )
        .header(http::header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::OK.into_response())
}

/// One request below `/remote.php/dav/calendars` or `/remote.php/dav/addressbooks`;
/// `segments` are the decoded path segments after that.
pub fn handle(
    state: &AppState,
    auth: &Auth,
    kind: Kind,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
    segments: &[String],
) -> Response {
    let rest: &[String] = match kind {
        Kind::Calendars => segments,
        Kind::AddressBooks => match segments {
            [] => &[],
            [users, rest @ ..] if users == "users" => rest,
            [other, ..] => {
                return dav_error(
                    StatusCode::NOT_FOUND,
                    "Sabre\\DAV\\Exception\\NotFound",
                    &format!("Node with name '{other}' could not be found"),
                );
            }
        },
    };
    let (user, target) = match rest {
        [] => {
            let href = match (kind, segments.is_empty()) {
                (Kind::Calendars, _) => "/remote.php/dav/calendars/",
                (Kind::AddressBooks, true) => "/remote.php/dav/addressbooks/",
                (Kind::AddressBooks, false) => "/remote.php/dav/addressbooks/users/",
            };
            (auth.user_id.clone(), Target::Root(href.to_string()))
        }
        [user] => (user.clone(), Target::Home),
        [user, name] if kind == Kind::Calendars && SPECIAL.contains(&name.as_str()) => {
            (user.clone(), Target::Special(name.clone()))
        }
        [user, name] => (user.clone(), Target::Collection(name.clone())),
        [user, coll, name] => (user.clone(), Target::Object(coll.clone(), name.clone())),
        [user, ..] => (user.clone(), Target::Home),
    };
    if user != auth.user_id || rest.len() > 3 {
        let name = if user != auth.user_id {
            &user
        } else {
            &rest[rest.len() - 1]
        };
        return dav_error(
            StatusCode::NOT_FOUND,
            "Sabre\\DAV\\Exception\\NotFound",
            &format!("Node with name '{name}' could not be found"),
        );
    }
    let ctx = Ctx {
        state,
        kind,
        user,
        method,
        headers,
        body,
    };
    match (method.as_str(), &target) {
        ("OPTIONS", _) => options(),
        ("PROPFIND", _) => propfind::propfind(&ctx, &target),
        ("PROPPATCH", Target::Collection(name)) => propfind::proppatch(&ctx, name),
        ("MKCALENDAR" | "MKCOL", Target::Collection(name)) => mkcol::create(&ctx, name),
        ("MKCALENDAR" | "MKCOL", Target::Special(_)) => mkcol::exists(),
        ("DELETE", Target::Collection(name)) => mkcol::delete(&ctx, name),
        ("REPORT", Target::Collection(name)) => report::report(&ctx, name, None),
        ("REPORT", Target::Object(coll, name)) => report::report(&ctx, coll, Some(name)),
        ("GET" | "HEAD", Target::Object(coll, name)) => object::get(&ctx, coll, name),
        ("PUT", Target::Object(coll, name)) => object::put(&ctx, coll, name),
        ("DELETE", Target::Object(coll, name)) => object::delete(&ctx, coll, name),
        _ => super::principal::not_allowed(method),
    }
}

/// Busy periods of `user` within `[from, to)` across their calendars, for the schedule outbox.
pub fn busy_of(
    state: &AppState,
    user: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<time::Busy> {
    let texts: Vec<String> = {
        let mut world = state.world();
        let home = world.groupware.home(user);
        home.calendars
            .values()
            .flat_map(|c| c.objects.values())
            .filter(|o| o.component == "VEVENT")
            .map(|o| o.data.clone())
            .collect()
    };
    texts
        .iter()
        .filter_map(|t| calcard::icalendar::ICalendar::parse(t).ok())
        .flat_map(|ical| time::busy(&ical, from, to))
        .collect()
}
