//! PROPFIND on homes, calendars, address books and objects; PROPPATCH on collections.

use axum::http::StatusCode;
use axum::response::Response;

use super::store::{Collection, Kind, Object};
use super::xml::{self, Entry, NS_APPLE, NS_CALDAV, NS_CARDDAV, NS_CS, Value};
use super::{Ctx, Target, bad_request, multistatus_response};
use crate::dav::dav_error;
use crate::dav::xml::{NS_DAV, PropName, PropfindRequest, parse_propfind};

fn dav(name: &str) -> PropName {
    PropName::new(NS_DAV, name)
}

/// What a PROPFIND without a prop list gets, per kind of node.
fn all_props(node: &Node<'_>) -> Vec<PropName> {
    let mut out = vec![dav("resourcetype")];
    match node {
        Node::Collection(..) => {
            out.extend([
                dav("displayname"),
                PropName::new(NS_CS, "getctag"),
                dav("sync-token"),
            ]);
        }
        Node::Object(..) => out.extend([
            dav("getetag"),
            dav("getcontenttype"),
            dav("getcontentlength"),
            dav("getlastmodified"),
        ]),
        _ => {}
    }
    out
}

/// A node being described.
pub(crate) enum Node<'a> {
    Root,
    Home,
    Special(&'a str),
    Collection(&'a Collection),
    Object(&'a Object),
}

fn http_date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// The content type Nextcloud gives a calendar object or card.
pub(crate) fn content_type(kind: Kind, object: &Object) -> String {
    match kind {
        Kind::Calendars => format!(
            "text/calendar; charset=utf-8; component={}",
            object.component.to_ascii_lowercase()
        ),
        Kind::AddressBooks => "text/vcard; charset=utf-8".to_string(),
    }
}

/// One property of a node, or `None` (404).
pub(crate) fn value(ctx: &Ctx<'_>, node: &Node<'_>, name: &PropName) -> Option<Value> {
    let href = |h: String| Value::Xml(format!("<d:href>{}</d:href>", xml::escape(&h)));
    match (name.ns.as_str(), name.name.as_str()) {
        (NS_DAV, "current-user-principal") => return Some(href(ctx.principal_href())),
        (NS_DAV, "owner") if !matches!(node, Node::Root) => {
            return Some(href(ctx.principal_href()));
        }
        _ => {}
    }
    match node {
        Node::Root | Node::Home => match (name.ns.as_str(), name.name.as_str()) {
            (NS_DAV, "resourcetype") => Some(Value::Xml("<d:collection/>".into())),
            _ => None,
        },
        Node::Special(which) => match (name.ns.as_str(), name.name.as_str()) {
            (NS_DAV, "resourcetype") => Some(Value::Xml(match *which {
                "inbox" => "<d:collection/><cal:schedule-inbox/>".into(),
                "outbox" => "<d:collection/><cal:schedule-outbox/>".into(),
                _ => "<d:collection/><x1:trash-bin xmlns:x1=\"http://nextcloud.com/ns\"/>".into(),
            })),
            _ => None,
        },
        Node::Collection(c) => match (name.ns.as_str(), name.name.as_str()) {
            (NS_DAV, "resourcetype") => Some(Value::Xml(match ctx.kind {
                Kind::Calendars => "<d:collection/><cal:calendar/>".into(),
                Kind::AddressBooks => "<d:collection/><card:addressbook/>".into(),
            })),
            (NS_DAV, "displayname") => Some(Value::Text(c.display_name.clone())),
            (NS_CS, "getctag") | (NS_DAV, "sync-token") => Some(Value::Text(c.sync_uri())),
            (NS_APPLE, "calendar-color") if ctx.kind == Kind::Calendars => {
                c.color.clone().map(Value::Text)
            }
            (NS_APPLE, "calendar-order") if ctx.kind == Kind::Calendars => {
                c.order.clone().map(Value::Text)
            }
            (NS_CALDAV, "calendar-description") if ctx.kind == Kind::Calendars => {
                c.description.clone().map(Value::Text)
            }
            (NS_CARDDAV, "addressbook-description") if ctx.kind == Kind::AddressBooks => {
                c.description.clone().map(Value::Text)
            }
            (NS_CALDAV, "supported-calendar-component-set") if ctx.kind == Kind::Calendars => {
                Some(Value::Xml(
                    c.components
                        .iter()
                        .map(|n| format!("<cal:comp name=\"{}\"/>", xml::escape(n)))
                        .collect(),
                ))
            }
            _ => None,
        },
        Node::Object(o) => match (name.ns.as_str(), name.name.as_str()) {
            (NS_DAV, "resourcetype") => Some(Value::Empty),
            (NS_DAV, "getetag") => Some(Value::Text(o.etag.clone())),
            (NS_DAV, "getcontenttype") => Some(Value::Text(content_type(ctx.kind, o))),
            (NS_DAV, "getcontentlength") => Some(Value::Text(o.data.len().to_string())),
            (NS_DAV, "getlastmodified") => Some(Value::Text(http_date(o.last_modified))),
            (NS_CALDAV, "calendar-data") if ctx.kind == Kind::Calendars => {
                Some(Value::Text(o.data.clone()))
            }
            (NS_CARDDAV, "address-data") if ctx.kind == Kind::AddressBooks => {
                Some(Value::Text(o.data.clone()))
            }
            _ => None,
        },
    }
}

/// A `<d:response>` with each wanted property under 200 or 404.
pub(crate) fn entry(
    ctx: &Ctx<'_>,
    href: String,
    node: &Node<'_>,
    wanted: Option<&[PropName]>,
) -> Entry {
    let all;
    let wanted = match wanted {
        Some(w) => w,
        None => {
            all = all_props(node);
            &all
        }
    };
    let mut e = Entry::new(href);
    for name in wanted {
        match value(ctx, node, name) {
            Some(v) => e.push(200, name.clone(), v),
            None => e.push(404, name.clone(), Value::Empty),
        }
    }
    e
}

pub(crate) fn propfind(ctx: &Ctx<'_>, target: &Target) -> Response {
    let Some(req) = parse_propfind(ctx.body) else {
        return bad_request("The request body had an invalid XML body.");
    };
    let wanted = match &req {
        PropfindRequest::Props(p) => Some(p.as_slice()),
        _ => None,
    };
    let depth = ctx.depth(1);
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let collections = home.collections(ctx.kind);
    let mut entries = Vec::new();
    match target {
        Target::Root(href) => entries.push(entry(ctx, href.clone(), &Node::Root, wanted)),
        Target::Home => {
            entries.push(entry(ctx, ctx.home_href(), &Node::Home, wanted));
            if depth > 0 {
                for (name, c) in collections {
                    let node = Node::Collection(c);
                    entries.push(entry(ctx, ctx.collection_href(name), &node, wanted));
                }
                if ctx.kind == Kind::Calendars {
                    for special in super::SPECIAL {
                        let node = Node::Special(special);
                        entries.push(entry(ctx, ctx.collection_href(special), &node, wanted));
                    }
                }
            }
        }
        Target::Special(name) => {
            let node = Node::Special(name);
            entries.push(entry(ctx, ctx.collection_href(name), &node, wanted));
        }
        Target::Collection(name) => {
            let Some(c) = collections.get(name) else {
                return ctx.no_collection(name);
            };
            let node = Node::Collection(c);
            entries.push(entry(ctx, ctx.collection_href(name), &node, wanted));
            if depth > 0 {
                for (oname, o) in &c.objects {
                    let href = ctx.object_href(name, oname);
                    entries.push(entry(ctx, href, &Node::Object(o), wanted));
                }
            }
        }
        Target::Object(coll, name) => {
            let Some(c) = collections.get(coll) else {
                return ctx.no_collection(coll);
            };
            let Some(o) = c.objects.get(name) else {
                return ctx.no_object();
            };
            entries.push(entry(
                ctx,
                ctx.object_href(coll, name),
                &Node::Object(o),
                wanted,
            ));
        }
    }
    multistatus_response(xml::multistatus(&entries, &[]))
}

/// Applies one settable property; false when it cannot be set.
pub(crate) fn set_prop(kind: Kind, c: &mut Collection, el: &xml::Element, remove: bool) -> bool {
    let text = (!remove).then(|| el.text.trim().to_string());
    match (el.ns.as_str(), el.name.as_str(), kind) {
        (NS_DAV, "displayname", _) => c.display_name = text.unwrap_or_default(),
        (NS_APPLE, "calendar-color", Kind::Calendars) => c.color = text,
        (NS_APPLE, "calendar-order", Kind::Calendars) => c.order = text,
        (NS_CALDAV, "calendar-description", Kind::Calendars)
        | (NS_CARDDAV, "addressbook-description", Kind::AddressBooks) => {
            c.description = text.filter(|t| !t.is_empty())
        }
        _ => return false,
    }
    true
}

/// PROPPATCH: all or nothing, like Sabre (what could not be set is 403, the rest 424).
pub(crate) fn proppatch(ctx: &Ctx<'_>, name: &str) -> Response {
    let Some(root) = xml::parse(ctx.body).filter(|r| r.is(NS_DAV, "propertyupdate")) else {
        return bad_request("The request body had an invalid XML body.");
    };
    let mut changes = Vec::new();
    for action in &root.children {
        let remove = action.is(NS_DAV, "remove");
        if !remove && !action.is(NS_DAV, "set") {
            continue;
        }
        for prop in action.children_named(NS_DAV, "prop") {
            changes.extend(prop.children.iter().map(|p| (p.clone(), remove)));
        }
    }
    let mut world = ctx.state.world();
    let home = world.groupware.home(&ctx.user);
    let Some(c) = home.collections_mut(ctx.kind).get_mut(name) else {
        return ctx.no_collection(name);
    };
    let mut trial = c.clone();
    let failed: Vec<bool> = changes
        .iter()
        .map(|(el, remove)| !set_prop(ctx.kind, &mut trial, el, *remove))
        .collect();
    let any_failed = failed.iter().any(|f| *f);
    let mut e = Entry::new(ctx.collection_href(name));
    for ((el, _), failed) in changes.iter().zip(&failed) {
        let status = match (any_failed, failed) {
            (false, _) => 200,
            (true, true) => 403,
            (true, false) => 424,
        };
        e.push(status, el.prop_name(), Value::Empty);
    }
    if !any_failed && !changes.is_empty() {
        trial.sync_token += 1;
        *c = trial;
    }
    if changes.is_empty() {
        return dav_error(
            StatusCode::BAD_REQUEST,
            "Sabre\\DAV\\Exception\\BadRequest",
            "The propertyupdate element must contain a set or remove element",
        );
    }
    multistatus_response(xml::multistatus(&[e], &[]))
}
