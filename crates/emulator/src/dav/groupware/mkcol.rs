//! Creating calendars (MKCALENDAR, or extended MKCOL with a calendar resource type) and
//! address books (extended MKCOL, RFC 5689), and deleting either.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::store::{Collection, Kind};
use super::xml::{self, NS_CALDAV, NS_CARDDAV};
use super::{Ctx, bad_request};
use crate::dav::dav_error;
use crate::dav::xml::NS_DAV;

/// Sabre's answer when the name is taken.
pub(crate) fn exists() -> Response {
    dav_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Sabre\\DAV\\Exception\\MethodNotAllowed",
        "The resource you tried to create already exists",
    )
}

fn created() -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(http::header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::CREATED.into_response())
}

/// MKCALENDAR or MKCOL at `{home}/{name}/`.
pub(crate) fn create(ctx: &Ctx<'_>, name: &str) -> Response {
    let mkcalendar = ctx.method.as_str() == "MKCALENDAR";
    let root = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match xml::parse(ctx.body) {
            Some(r) => Some(r),
            None => return bad_request("The request body had an invalid XML body."),
        }
    };
    let props: Vec<xml::Element> = root
        .iter()
        .flat_map(|r| r.children_named(NS_DAV, "set"))
        .flat_map(|s| s.children_named(NS_DAV, "prop"))
        .flat_map(|p| p.children.iter().cloned())
        .collect();
    let resourcetype = props.iter().find(|p| p.is(NS_DAV, "resourcetype"));
    let wants = |ns: &str, n: &str| resourcetype.is_some_and(|r| r.child(ns, n).is_some());
    let fits = match ctx.kind {
        Kind::Calendars => mkcalendar || wants(NS_CALDAV, "calendar"),
        Kind::AddressBooks => !mkcalendar && wants(NS_CARDDAV, "addressbook"),
    };
    if !fits {
        return match (ctx.kind, mkcalendar, resourcetype) {
            (_, false, None) => dav_error(
                StatusCode::FORBIDDEN,
                "Sabre\\DAV\\Exception\\Forbidden",
                "Permission denied to create collection",
            ),
            _ => dav_error(
                StatusCode::FORBIDDEN,
                "Sabre\\DAV\\Exception\\InvalidResourceType",
                "Unknown resourceType for this collection",
            ),
        };
    }
    if ctx.kind == Kind::Calendars && name == "contact_birthdays" {
        return dav_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Sabre\\DAV\\Exception\\MethodNotAllowed",
            "The resource you tried to create has a reserved name",
        );
    }
    let mut collection = Collection::new(name, &[]);
    if ctx.kind == Kind::Calendars {
        collection.components = props
            .iter()
            .find(|p| p.is(NS_CALDAV, "supported-calendar-component-set"))
            .map(|set| {
                set.children_named(NS_CALDAV, "comp")
                    .filter_map(|c| c.attr("name").map(str::to_ascii_uppercase))
                    .collect()
            })
            .unwrap_or_else(|| vec!["VEVENT".into(), "VTODO".into()]);
    }
    for p in &props {
        // The resource type and component set are not properties one sets afterwards.
        if !p.is(NS_DAV, "resourcetype") && !p.is(NS_CALDAV, "supported-calendar-component-set") {
            super::propfind::set_prop(ctx.kind, &mut collection, p, false);
        }
    }
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let collections = home.collections_mut(ctx.kind);
    if collections.contains_key(name) {
        return exists();
    }
    collections.insert(name.to_string(), collection);
    created()
}

/// DELETE of a calendar or address book with everything in it.
pub(crate) fn delete(ctx: &Ctx<'_>, name: &str) -> Response {
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    if home.collections_mut(ctx.kind).remove(name).is_none() {
        return ctx.no_collection(name);
    }
    StatusCode::NO_CONTENT.into_response()
}
