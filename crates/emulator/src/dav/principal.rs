//! The DAV root and principals: enough for clients to discover `current-user-principal`.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::xml::{
    NS_DAV, PropName, PropValue, PropfindRequest, ResponseEntry, multistatus, parse_propfind,
};
use super::{dav_error, encode_path};
use crate::auth::Auth;
use crate::state::AppState;

fn principal_href(user_id: &str) -> String {
    format!("/remote.php/dav/principals/users/{}/", encode_path(user_id))
}

fn multistatus_response(entries: &[ResponseEntry]) -> Response {
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .header(
            "DAV",
            "1, 3, extended-mkcol, access-control, calendarserver-principal-property-search",
        )
        .body(Body::from(multistatus(entries)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Properties any collection answers (the ACL plugin adds `current-user-principal` everywhere).
fn common_prop(auth: &Auth, name: &PropName) -> Option<PropValue> {
    if name.ns != NS_DAV {
        return None;
    }
    match name.name.as_str() {
        "current-user-principal" => Some(PropValue::Xml(format!(
            "<d:href>{}</d:href>",
            principal_href(&auth.user_id)
        ))),
        "resourcetype" => Some(PropValue::Xml("<d:collection/>".into())),
        _ => None,
    }
}

fn entry(
    auth: &Auth,
    href: &str,
    req: &PropfindRequest,
    extra: &dyn Fn(&PropName) -> Option<PropValue>,
) -> ResponseEntry {
    let wanted = match req {
        PropfindRequest::Props(p) => p.clone(),
        _ => vec![PropName::new(NS_DAV, "resourcetype")],
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in wanted {
        match extra(&name).or_else(|| common_prop(auth, &name)) {
            Some(v) => found.push((name, v)),
            None => missing.push(name),
        }
    }
    ResponseEntry {
        href: href.to_string(),
        found,
        missing,
    }
}

/// PROPFIND/OPTIONS on `/remote.php/dav/`.
pub fn root(
    _state: &AppState,
    auth: &Auth,
    method: &Method,
    _headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    match method.as_str() {
        "PROPFIND" => {
            let Some(req) = parse_propfind(body) else {
                return dav_error(
                    StatusCode::BAD_REQUEST,
                    "Sabre\\DAV\\Exception\\BadRequest",
                    "The request body had an invalid XML body.",
                );
            };
            multistatus_response(&[entry(auth, "/remote.php/dav/", &req, &|_| None)])
        }
        "OPTIONS" => options(),
        _ => not_allowed(method),
    }
}

/// A bare collection such as `/remote.php/dav/files/`.
pub fn collection(method: &Method, href: &str) -> Response {
    match method.as_str() {
        "PROPFIND" => multistatus_response(&[ResponseEntry {
            href: href.to_string(),
            found: vec![(
                PropName::new(NS_DAV, "resourcetype"),
                PropValue::Xml("<d:collection/>".into()),
            )],
            missing: vec![],
        }]),
        "OPTIONS" => options(),
        _ => not_allowed(method),
    }
}

/// `/remote.php/dav/principals/...`.
pub fn principals(
    state: &AppState,
    auth: &Auth,
    method: &Method,
    _headers: &HeaderMap,
    body: &Bytes,
    segments: &[String],
) -> Response {
    let user = match segments {
        [kind, user] if kind == "users" => user.clone(),
        [] => return collection(method, "/remote.php/dav/principals/"),
        [kind] if kind == "users" => {
            return collection(method, "/remote.php/dav/principals/users/");
        }
        _ => {
            return dav_error(
                StatusCode::NOT_FOUND,
                "Sabre\\DAV\\Exception\\NotFound",
                "Principal not found",
            );
        }
    };
    let display = {
        let world = state.world();
        match world.users.get(&user) {
            Some(u) => (u.display_name.clone(), u.email.clone()),
            None => {
                return dav_error(
                    StatusCode::NOT_FOUND,
                    "Sabre\\DAV\\Exception\\NotFound",
                    &format!("Principal with name {user} not found"),
                );
            }
        }
    };
    if method.as_str() != "PROPFIND" {
        return not_allowed(method);
    }
    let Some(req) = parse_propfind(body) else {
        return dav_error(
            StatusCode::BAD_REQUEST,
            "Sabre\\DAV\\Exception\\BadRequest",
            "The request body had an invalid XML body.",
        );
    };
    let href = principal_href(&user);
    let user_id = user.clone();
    let extra = move |name: &PropName| -> Option<PropValue> {
        if name.ns == NS_DAV {
            match name.name.as_str() {
                "displayname" => return Some(PropValue::Text(display.0.clone())),
                "principal-URL" => {
                    return Some(PropValue::Xml(format!(
                        "<d:href>{}</d:href>",
                        principal_href(&user_id)
                    )));
                }
                "resourcetype" => return Some(PropValue::Xml("<d:principal/>".into())),
                _ => {}
            }
        }
        if name.ns == "urn:ietf:params:xml:ns:caldav" && name.name == "calendar-home-set" {
            return Some(PropValue::Xml(format!(
                "<d:href>/remote.php/dav/calendars/{}/</d:href>",
                encode_path(&user_id)
            )));
        }
        if name.ns == "urn:ietf:params:xml:ns:caldav" {
            match name.name.as_str() {
                "schedule-outbox-URL" | "schedule-inbox-URL" => {
                    let which = if name.name == "schedule-outbox-URL" {
                        "outbox"
                    } else {
                        "inbox"
                    };
                    return Some(PropValue::Xml(format!(
                        "<d:href>/remote.php/dav/calendars/{}/{which}/</d:href>",
                        encode_path(&user_id)
                    )));
                }
                "calendar-user-address-set" => {
                    let mut hrefs = String::new();
                    if let Some(email) = &display.1 {
                        hrefs.push_str(&format!(
                            "<d:href>mailto:{}</d:href>",
                            quick_xml::escape::escape(email)
                        ));
                    }
                    hrefs.push_str(&format!("<d:href>{}</d:href>", principal_href(&user_id)));
                    return Some(PropValue::Xml(hrefs));
                }
                _ => {}
            }
        }
        if name.ns == "urn:ietf:params:xml:ns:carddav" && name.name == "addressbook-home-set" {
            return Some(PropValue::Xml(format!(
                "<d:href>/remote.php/dav/addressbooks/users/{}/</d:href>",
                encode_path(&user_id)
            )));
        }
        if name.ns == "http://sabredav.org/ns" && name.name == "email-address" {
            return display.1.clone().map(PropValue::Text);
        }
        None
    };
    let _ = auth;
    multistatus_response(&[entry(auth, &href, &req, &extra)])
}

/// `OPTIONS`: advertise DAV compliance.
pub fn options() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("DAV", "1, 3, extended-mkcol, access-control, calendarserver-principal-property-search, nc-calendar-search, nc-enable-birthday-calendar")
        .header("MS-Author-Via", "DAV")
        .header(http::header::ALLOW, "OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, PROPPATCH, COPY, MOVE, REPORT")
        .header(http::header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::OK.into_response())
}

/// Sabre's 405/501 for methods a node does not support.
pub fn not_allowed(method: &Method) -> Response {
    dav_error(
        StatusCode::NOT_IMPLEMENTED,
        "Sabre\\DAV\\Exception\\NotImplemented",
        &format!(
            "There was no plugin in the system that was willing to handle this {} method.",
            method.as_str()
        ),
    )
}
