//! GET, PUT and DELETE of calendar objects and cards, with Sabre's precondition checks and
//! the validation its CalDAV/CardDAV plugins and Nextcloud's backends apply on upload.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::content::{self, Component};
use super::store::{Kind, Object};
use super::{Ctx, bad_request};
use crate::dav::dav_error;

fn precondition_failed(message: &str, header: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\">\n  <s:exception>Sabre\\DAV\\Exception\\PreconditionFailed</s:exception>\n  <s:message>{}</s:message>\n  <s:header>{header}</s:header>\n</d:error>\n",
        quick_xml::escape::escape(message)
    );
    Response::builder()
        .status(StatusCode::PRECONDITION_FAILED)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::PRECONDITION_FAILED.into_response())
}

/// Sabre's `Server::checkPreconditions` for a write to a node with `current` ETag.
fn check(headers: &HeaderMap, current: Option<&str>) -> Result<(), Box<Response>> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(if_match) = header(http::header::IF_MATCH) {
        let Some(current) = current else {
            return Err(Box::new(precondition_failed(
                "An If-Match header was specified and the resource did not exist",
                "If-Match",
            )));
        };
        if !if_match
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == current)
        {
            return Err(Box::new(precondition_failed(
                "An If-Match header was specified, but none of the specified ETags matched.",
                "If-Match",
            )));
        }
    }
    if let (Some(inm), Some(current)) = (header(http::header::IF_NONE_MATCH), current)
        && inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == current)
    {
        return Err(Box::new(precondition_failed(
            "An If-None-Match header was specified, but the ETag matched (or * was specified).",
            "If-None-Match",
        )));
    }
    Ok(())
}

fn unsupported(message: &str) -> Response {
    dav_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Sabre\\DAV\\Exception\\UnsupportedMediaType",
        message,
    )
}

/// The UID and main component type of an upload, or Sabre's refusal.
fn validate(
    kind: Kind,
    text: &str,
    supported: &[String],
) -> Result<(String, String), Box<Response>> {
    match kind {
        Kind::Calendars => {
            let root = content::parse(text).map_err(|e| {
                Box::new(unsupported(&format!(
                    "This resource only supports valid iCalendar 2.0 data. Parse error: {}",
                    e.0
                )))
            })?;
            if root.name != "VCALENDAR" {
                return Err(Box::new(unsupported(
                    "This collection can only support iCalendar objects.",
                )));
            }
            validate_calendar(&root, supported)
        }
        Kind::AddressBooks => {
            let root = content::parse(text).map_err(|e| {
                Box::new(unsupported(&format!(
                    "This resource only supports valid vCard data. Parse error: {}",
                    e.0
                )))
            })?;
            if root.name != "VCARD" {
                return Err(Box::new(unsupported(
                    "This collection can only support vcard objects.",
                )));
            }
            let uid = root.prop("UID").map(|p| p.value()).unwrap_or_default();
            if uid.is_empty() {
                return Err(Box::new(unsupported(
                    "Validation error in vCard: The UID property must appear in the VCARD component exactly 1 time",
                )));
            }
            Ok((uid, "VCARD".into()))
        }
    }
}

fn validate_calendar(
    root: &Component,
    supported: &[String],
) -> Result<(String, String), Box<Response>> {
    let objects: Vec<&Component> = root
        .children
        .iter()
        .filter(|c| matches!(c.name.as_str(), "VEVENT" | "VTODO" | "VJOURNAL"))
        .collect();
    let Some(first) = objects.first() else {
        return Err(Box::new(invalid_component(supported)));
    };
    let kind = first.name.clone();
    if !supported.iter().any(|s| s.eq_ignore_ascii_case(&kind)) {
        return Err(Box::new(invalid_component(supported)));
    }
    let validation =
        |m: &str| Box::new(unsupported(&format!("Validation error in iCalendar: {m}")));
    if root.prop("METHOD").is_some() {
        return Err(validation(
            "A calendar object on a CalDAV server MUST NOT have a METHOD property",
        ));
    }
    if objects.iter().any(|c| c.name != kind) {
        return Err(validation(
            "A calendar object on a CalDAV server may not have components of different types",
        ));
    }
    let uid = first.prop("UID").map(|p| p.value()).unwrap_or_default();
    if uid.is_empty() {
        return Err(validation(&format!(
            "UID MUST appear exactly once in a {kind} component"
        )));
    }
    if objects
        .iter()
        .any(|c| c.prop("UID").map(|p| p.value()).as_deref() != Some(uid.as_str()))
    {
        return Err(validation(
            "Every component in a calendar object resource must have the same UID",
        ));
    }
    Ok((uid, kind))
}

fn invalid_component(supported: &[String]) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:cal=\"urn:ietf:params:xml:ns:caldav\">\n  <s:exception>Sabre\\CalDAV\\Exception\\InvalidComponentType</s:exception>\n  <s:message>iCalendar objects must at least have a component of type {}</s:message>\n  <cal:supported-calendar-component/>\n</d:error>\n",
        supported.join(", ")
    );
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::FORBIDDEN.into_response())
}

pub(crate) fn get(ctx: &Ctx<'_>, coll: &str, name: &str) -> Response {
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let Some(c) = home.collections(ctx.kind).get(coll) else {
        return ctx.no_collection(coll);
    };
    let Some(o) = c.objects.get(name) else {
        return ctx.no_object();
    };
    if let Some(inm) = ctx
        .headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == o.etag)
    {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(http::header::ETAG, &o.etag)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::NOT_MODIFIED.into_response());
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(
            http::header::CONTENT_TYPE,
            super::propfind::content_type(ctx.kind, o),
        )
        .header(http::header::ETAG, &o.etag)
        .header(
            http::header::LAST_MODIFIED,
            chrono::DateTime::from_timestamp(o.last_modified, 0)
                .unwrap_or_default()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        )
        .body(Body::from(o.data.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

pub(crate) fn put(ctx: &Ctx<'_>, coll: &str, name: &str) -> Response {
    let Ok(text) = std::str::from_utf8(ctx.body) else {
        return unsupported("The data must be UTF-8");
    };
    let now = ctx.state.now();
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let Some(c) = home.collections_mut(ctx.kind).get_mut(coll) else {
        return ctx.no_collection(coll);
    };
    let current = c.objects.get(name).map(|o| o.etag.as_str());
    if let Err(r) = check(ctx.headers, current) {
        return *r;
    }
    let supported = if c.components.is_empty() {
        vec!["VEVENT".into(), "VTODO".into(), "VJOURNAL".into()]
    } else {
        c.components.clone()
    };
    let (uid, component) = match validate(ctx.kind, text, &supported) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if c.by_uid(&uid, name).is_some() {
        return bad_request(match ctx.kind {
            Kind::Calendars => {
                "Calendar object with uid already exists in this calendar collection."
            }
            Kind::AddressBooks => {
                "VCard object with uid already exists in this addressbook collection."
            }
        });
    }
    let object = Object::new(text.to_string(), uid, component, now);
    let etag = object.etag.clone();
    let existed = c.objects.insert(name.to_string(), object).is_some();
    c.sync_token += 1;
    Response::builder()
        .status(if existed {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::CREATED
        })
        .header(http::header::ETAG, etag)
        .header(http::header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

pub(crate) fn delete(ctx: &Ctx<'_>, coll: &str, name: &str) -> Response {
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let Some(c) = home.collections_mut(ctx.kind).get_mut(coll) else {
        return ctx.no_collection(coll);
    };
    let Some(o) = c.objects.get(name) else {
        return ctx.no_object();
    };
    if let Err(r) = check(ctx.headers, Some(&o.etag)) {
        return *r;
    }
    c.objects.remove(name);
    c.sync_token += 1;
    StatusCode::NO_CONTENT.into_response()
}
