//! `/remote.php/dav/trashbin/{user}/`: the trash bin as `files_trashbin`'s Sabre plugin serves
//! it. `trash/` lists deleted items (named `{name}.d{deletionTime}`, with
//! `nc:trashbin-filename`, `-original-location`, `-deletion-time`); `MOVE` of an item to
//! `restore/{name}` puts it back where it was (or, when that folder is gone, into the root;
//! a name clash adds ` (restored)`), `DELETE` removes it for good.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::encode_path;
use super::files_meta::{
    MetaRequest, TrashEntry, forbidden, http_date, multistatus_response, not_found,
};
use super::principal::not_allowed;
use super::xml::{
    NS_DAV, NS_NC, NS_OC, PropName, PropValue, PropfindRequest, ResponseEntry, multistatus,
    parse_propfind,
};
use crate::auth::Auth;
use crate::fs::{self, Node};
use crate::state::{AppState, User};

/// Moves a deleted node (and what is below it) into the user's trash bin.
pub fn trash(user: &mut User, meta: &mut super::files_meta::FilesMeta, path: &str, now: i64) {
    let Ok(nodes) = user.files.take(path, now) else {
        return;
    };
    let entries = meta.trash.entry(user.id.clone()).or_default();
    let mut deleted = now;
    // Two deletions of the same name in one second would collide; Nextcloud's trash cannot hold
    // both under one name either, so the later one moves a second on.
    while entries
        .iter()
        .any(|e| e.name == fs::name_of(path) && e.deleted == deleted)
    {
        deleted += 1;
    }
    entries.push(TrashEntry {
        name: fs::name_of(path).to_string(),
        location: fs::parent_of(path).unwrap_or_default().to_string(),
        deleted,
        nodes,
    });
}

fn wanted(req: &MetaRequest<'_>) -> Vec<PropName> {
    match parse_propfind(req.body) {
        Some(PropfindRequest::Props(p)) => p,
        _ => [
            (NS_DAV, "resourcetype"),
            (NS_DAV, "getcontentlength"),
            (NS_DAV, "getlastmodified"),
            (NS_DAV, "getetag"),
            (NS_DAV, "getcontenttype"),
            (NS_NC, "trashbin-filename"),
            (NS_NC, "trashbin-original-location"),
            (NS_NC, "trashbin-deletion-time"),
        ]
        .into_iter()
        .map(|(ns, n)| PropName::new(ns, n))
        .collect(),
    }
}

fn entry_size(e: &TrashEntry) -> u64 {
    e.nodes
        .iter()
        .filter(|(_, n)| !n.is_dir)
        .map(|(_, n)| n.content.len() as u64)
        .sum()
}

fn prop(user: &User, e: &TrashEntry, node: &Node, name: &PropName) -> Option<PropValue> {
    let original = if e.location.is_empty() {
        e.name.clone()
    } else {
        format!("{}/{}", e.location, e.name)
    };
    let text = |s: String| Some(PropValue::Text(s));
    match (name.ns.as_str(), name.name.as_str()) {
        (NS_DAV, "resourcetype") => Some(if node.is_dir {
            PropValue::Xml("<d:collection/>".into())
        } else {
            PropValue::Empty
        }),
        (NS_DAV, "getcontentlength") if !node.is_dir => text(node.content.len().to_string()),
        (NS_DAV, "getcontenttype") => text(fs::mime_for(&e.name, node.is_dir).to_string()),
        (NS_DAV, "getlastmodified") => text(http_date(node.mtime)),
        (NS_DAV, "getetag") => text(format!("\"{}\"", node.etag)),
        (NS_OC, "fileid") => text(node.id.to_string()),
        (NS_OC, "size") => text(entry_size(e).to_string()),
        (NS_NC, "trashbin-filename") | (NS_NC, "trashbin-title") => text(e.name.clone()),
        (NS_NC, "trashbin-original-location") => text(original),
        (NS_NC, "trashbin-deletion-time") => text(e.deleted.to_string()),
        (NS_NC, "trashbin-deleted-by-id") => text(user.id.clone()),
        (NS_NC, "trashbin-deleted-by-display-name") => text(user.display_name.clone()),
        (NS_NC, "has-preview") => text("false".into()),
        _ => None,
    }
}

fn entry_response(user: &User, base: &str, e: &TrashEntry, wanted: &[PropName]) -> ResponseEntry {
    let node = e.root().cloned().unwrap_or_else(|| Node {
        id: 0,
        is_dir: false,
        content: Default::default(),
        mtime: e.deleted,
        etag: String::new(),
    });
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in wanted {
        match prop(user, e, &node, name) {
            Some(v) => found.push((name.clone(), v)),
            None => missing.push(name.clone()),
        }
    }
    let mut href = format!("{base}{}", encode_path(&e.dav_name()));
    if node.is_dir {
        href.push('/');
    }
    ResponseEntry {
        href,
        found,
        missing,
    }
}

pub fn handle(state: &AppState, auth: &Auth, req: MetaRequest<'_>) -> Response {
    let Some(owner) = req.segments.first() else {
        return not_allowed(req.method);
    };
    if *owner != auth.user_id {
        return not_found(&format!("Principal with name {owner} not found"));
    }
    let base = format!("/remote.php/dav/trashbin/{}/trash/", encode_path(owner));
    match (req.segments.get(1).map(String::as_str), req.segments.get(2)) {
        (Some("trash"), None) => match req.method.as_str() {
            "PROPFIND" => list(state, auth, &req, &base),
            "DELETE" => {
                state.world().files_meta.trash.remove(&auth.user_id);
                StatusCode::NO_CONTENT.into_response()
            }
            _ => not_allowed(req.method),
        },
        (Some("trash"), Some(name)) => match req.method.as_str() {
            "PROPFIND" => {
                let world = state.world();
                let Some(user) = world.users.get(&auth.user_id) else {
                    return not_found("");
                };
                let entries = world.files_meta.trash.get(&auth.user_id);
                match entries.and_then(|es| es.iter().find(|e| &e.dav_name() == name)) {
                    Some(e) => multistatus_response(multistatus(&[entry_response(
                        user,
                        &base,
                        e,
                        &wanted(&req),
                    )])),
                    None => not_found(""),
                }
            }
            "GET" => {
                let world = state.world();
                let entry = world
                    .files_meta
                    .trash
                    .get(&auth.user_id)
                    .and_then(|es| es.iter().find(|e| &e.dav_name() == name));
                match entry.and_then(|e| e.root().map(|n| (e, n))) {
                    Some((_, n)) if n.is_dir => not_allowed(req.method),
                    Some((e, n)) => Response::builder()
                        .status(StatusCode::OK)
                        .header(http::header::CONTENT_TYPE, fs::mime_for(&e.name, false))
                        .header(http::header::CONTENT_LENGTH, n.content.len())
                        .body(Body::from(n.content.clone()))
                        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
                    None => not_found(""),
                }
            }
            "MOVE" => restore(state, auth, &req, name),
            "DELETE" => {
                let mut world = state.world();
                let meta = &mut world.files_meta;
                let Some(entries) = meta.trash.get_mut(&auth.user_id) else {
                    return not_found("");
                };
                let Some(i) = entries.iter().position(|e| &e.dav_name() == name) else {
                    return not_found("");
                };
                let entry = entries.remove(i);
                for (_, n) in &entry.nodes {
                    meta.versions.remove(&n.id);
                }
                StatusCode::NO_CONTENT.into_response()
            }
            _ => not_allowed(req.method),
        },
        (Some("restore"), _) => match req.method.as_str() {
            "PROPFIND" => multistatus_response(multistatus(&[ResponseEntry {
                href: format!("/remote.php/dav/trashbin/{}/restore/", encode_path(owner)),
                found: vec![(
                    PropName::new(NS_DAV, "resourcetype"),
                    PropValue::Xml("<d:collection/>".into()),
                )],
                missing: Vec::new(),
            }])),
            _ => not_allowed(req.method),
        },
        (Some(other), _) => not_found(&format!("File with name {other} could not be located")),
        (None, _) => not_allowed(req.method),
    }
}

fn list(state: &AppState, auth: &Auth, req: &MetaRequest<'_>, base: &str) -> Response {
    let wanted = wanted(req);
    let world = state.world();
    let Some(user) = world.users.get(&auth.user_id) else {
        return not_found("");
    };
    let mut out = vec![ResponseEntry {
        href: base.to_string(),
        found: vec![(
            PropName::new(NS_DAV, "resourcetype"),
            PropValue::Xml("<d:collection/>".into()),
        )],
        missing: Vec::new(),
    }];
    if req.depth() != "0"
        && let Some(entries) = world.files_meta.trash.get(&auth.user_id)
    {
        out.extend(
            entries
                .iter()
                .map(|e| entry_response(user, base, e, &wanted)),
        );
    }
    multistatus_response(multistatus(&out))
}

/// `MOVE trash/{name}` → `restore/{name}`.
fn restore(state: &AppState, auth: &Auth, req: &MetaRequest<'_>, name: &str) -> Response {
    let Some(dest) = req.destination() else {
        return super::files_meta::bad_request("The destination header was not supplied");
    };
    let to_restore =
        dest.len() == 4 && dest[0] == "trashbin" && dest[1] == auth.user_id && dest[2] == "restore";
    if !to_restore {
        return forbidden("Permission denied to rename this file");
    }
    let now = state.now();
    let mut world = state.world();
    let world = &mut *world;
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found("");
    };
    let Some(entries) = world.files_meta.trash.get_mut(&auth.user_id) else {
        return not_found("");
    };
    let Some(i) = entries.iter().position(|e| e.dav_name() == name) else {
        return not_found("");
    };
    let entry = entries.remove(i);
    let folder = if user.files.is_dir(&entry.location) {
        entry.location.clone()
    } else {
        String::new()
    };
    let join = |n: &str| {
        if folder.is_empty() {
            n.to_string()
        } else {
            format!("{folder}/{n}")
        }
    };
    let mut target = join(&entry.name);
    let mut attempt = 0;
    while user.files.exists(&target) {
        attempt += 1;
        let suffix = if attempt == 1 {
            " (restored)".to_string()
        } else {
            format!(" (restored {attempt})")
        };
        let (stem, ext) = match entry.name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() && !entry.root().is_some_and(|n| n.is_dir) => {
                (s.to_string(), format!(".{e}"))
            }
            _ => (entry.name.clone(), String::new()),
        };
        target = join(&format!("{stem}{suffix}{ext}"));
    }
    match user.files.graft(&target, entry.nodes, now) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(_) => super::files_meta::conflict("The destination node is not found"),
    }
}
