//! REPORTs on a calendar or address book: `calendar-query`, `calendar-multiget`,
//! `addressbook-query` and `addressbook-multiget`.

use axum::http::StatusCode;
use axum::response::Response;
use calcard::icalendar::ICalendar;

use super::content;
use super::filter::{CardFilter, CompFilter};
use super::propfind::{Node, entry};
use super::store::Kind;
use super::xml::{self, Element, NS_CALDAV, NS_CARDDAV};
use super::{Ctx, bad_request, multistatus_response};
use crate::dav::dav_error;
use crate::dav::xml::{NS_DAV, PropName};

fn not_supported() -> Response {
    dav_error(
        StatusCode::FORBIDDEN,
        "Sabre\\DAV\\Exception\\ReportNotSupported",
        "",
    )
}

fn requested_props(root: &Element) -> Option<Vec<PropName>> {
    root.child(NS_DAV, "prop")
        .map(|p| p.children.iter().map(Element::prop_name).collect())
}

/// `object` is set when the REPORT was sent to one object rather than its collection.
pub(crate) fn report(ctx: &Ctx<'_>, coll: &str, object: Option<&str>) -> Response {
    let Some(root) = xml::parse(ctx.body) else {
        return bad_request("The request body had an invalid XML body.");
    };
    let kind = match (ctx.kind, root.ns.as_str(), root.name.as_str()) {
        (Kind::Calendars, NS_CALDAV, "calendar-query") => Report::CalendarQuery,
        (Kind::Calendars, NS_CALDAV, "calendar-multiget") => Report::Multiget,
        (Kind::AddressBooks, NS_CARDDAV, "addressbook-query") => Report::CardQuery,
        (Kind::AddressBooks, NS_CARDDAV, "addressbook-multiget") => Report::Multiget,
        _ => return not_supported(),
    };
    let props = requested_props(&root);
    let expands = props.is_some()
        && root
            .child(NS_DAV, "prop")
            .and_then(|p| p.child(NS_CALDAV, "calendar-data"))
            .is_some_and(|d| d.child(NS_CALDAV, "expand").is_some());
    if expands {
        return dav_error(
            StatusCode::NOT_IMPLEMENTED,
            "Sabre\\DAV\\Exception\\NotImplemented",
            "The emulator's built-in CalDAV server does not expand recurrences in calendar-data",
        );
    }
    let depth = ctx.depth(0);
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let Some(c) = home.collections(ctx.kind).get(coll) else {
        return ctx.no_collection(coll);
    };
    if let Some(name) = object
        && !c.objects.contains_key(name)
    {
        return ctx.no_object();
    }
    let candidates: Vec<(&String, &super::Object)> = match object {
        Some(name) => c.objects.get_key_value(name).into_iter().collect(),
        None => c.objects.iter().collect(),
    };
    let mut entries = Vec::new();
    let mut missing = Vec::new();
    match kind {
        Report::CalendarQuery => {
            if object.is_none() && depth == 0 {
                return bad_request(
                    "A calendar-query REPORT on a calendar with a Depth: 0 is undefined. Set Depth to 1",
                );
            }
            let filter = match CompFilter::read_query_filter(root.child(NS_CALDAV, "filter")) {
                Ok(f) => f,
                Err(m) => return bad_request(&m),
            };
            for (name, o) in candidates {
                let (Ok(tree), Ok(ical)) =
                    (content::parse(&o.data), ICalendar::parse(o.data.as_str()))
                else {
                    continue;
                };
                if filter.matches(&tree, &ical) {
                    let href = ctx.object_href(coll, name);
                    entries.push(entry(ctx, href, &Node::Object(o), props.as_deref()));
                }
            }
        }
        Report::CardQuery => {
            if object.is_none() && depth == 0 {
                return dav_error(
                    StatusCode::FORBIDDEN,
                    "Sabre\\DAV\\Exception\\ReportNotSupported",
                    "The addressbook-query report is not supported on this url with Depth: 0",
                );
            }
            let filter = match CardFilter::read(root.child(NS_CARDDAV, "filter")) {
                Ok(f) => f,
                Err(m) => return bad_request(&m),
            };
            let limit = root
                .child(NS_CARDDAV, "limit")
                .and_then(|l| l.child(NS_CARDDAV, "nresults"))
                .and_then(|n| n.text.trim().parse::<usize>().ok());
            for (name, o) in candidates {
                let Ok(tree) = content::parse(&o.data) else {
                    continue;
                };
                if limit.is_some_and(|l| entries.len() >= l) {
                    break;
                }
                if filter.matches(&tree) {
                    let href = ctx.object_href(coll, name);
                    entries.push(entry(ctx, href, &Node::Object(o), props.as_deref()));
                }
            }
        }
        Report::Multiget => {
            let base = ctx.collection_href(coll);
            for href in root.children_named(NS_DAV, "href") {
                let href = href.text.trim();
                // Hrefs may be full URLs; the object is the last segment below this collection.
                let path = href
                    .find("://")
                    .and_then(|i| href[i + 3..].find('/').map(|j| &href[i + 3 + j..]))
                    .unwrap_or(href);
                let found = path
                    .strip_prefix(&base)
                    .map(crate::dav::decode_segment)
                    .and_then(|n| c.objects.get_key_value(&n));
                match found {
                    Some((name, o)) => {
                        let href = ctx.object_href(coll, name);
                        entries.push(entry(ctx, href, &Node::Object(o), props.as_deref()));
                    }
                    None => missing.push((href.to_string(), 404)),
                }
            }
        }
    }
    multistatus_response(xml::multistatus(&entries, &missing))
}

enum Report {
    CalendarQuery,
    CardQuery,
    Multiget,
}
