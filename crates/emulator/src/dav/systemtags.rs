//! Collaborative system tags as `apps/dav/lib/SystemTag` serves them:
//! `/remote.php/dav/systemtags/` (list with `PROPFIND`, create with a JSON `POST`) and
//! `/remote.php/dav/systemtags-relations/files/{fileId}/{tagId}` (`PROPFIND` the file's tags,
//! `PUT` assigns: 201, or 409 when already assigned; `DELETE` unassigns: 204, or 404).
//! `REPORT oc:filter-files` with `<oc:systemtag>` rules is answered in [`super::files`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::files_meta::{
    MetaRequest, Tag, bad_request, conflict, created_at, forbidden, multistatus_response,
    not_found, precondition_failed, unsupported_media_type,
};
use super::files_query::XmlNode;
use super::principal::not_allowed;
use super::xml::{
    NS_DAV, NS_NC, NS_OC, PropName, PropValue, PropfindRequest, ResponseEntry, multistatus,
    parse_propfind,
};
use crate::auth::Auth;
use crate::state::AppState;

const TAG_PROPS: &[(&str, &str)] = &[
    (NS_OC, "id"),
    (NS_OC, "display-name"),
    (NS_OC, "user-visible"),
    (NS_OC, "user-assignable"),
    (NS_OC, "can-assign"),
];

fn wanted(req: &MetaRequest<'_>) -> Vec<PropName> {
    match parse_propfind(req.body) {
        Some(PropfindRequest::Props(p)) => p,
        _ => TAG_PROPS
            .iter()
            .map(|(ns, n)| PropName::new(ns, n))
            .collect(),
    }
}

fn bool_text(b: bool) -> PropValue {
    PropValue::Text(if b { "true" } else { "false" }.into())
}

fn tag_entry(href: String, tag: &Tag, wanted: &[PropName]) -> ResponseEntry {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in wanted {
        let value = match (name.ns.as_str(), name.name.as_str()) {
            (NS_OC, "id") => Some(PropValue::Text(tag.id.to_string())),
            (NS_OC, "display-name") => Some(PropValue::Text(tag.name.clone())),
            (NS_OC, "user-visible") => Some(bool_text(tag.user_visible)),
            (NS_OC, "user-assignable") => Some(bool_text(tag.user_assignable)),
            (NS_OC, "can-assign") => Some(bool_text(tag.user_assignable)),
            (NS_NC, "color") => Some(PropValue::Empty),
            (NS_DAV, "resourcetype") => Some(PropValue::Empty),
            _ => None,
        };
        match value {
            Some(v) => found.push((name.clone(), v)),
            None => missing.push(name.clone()),
        }
    }
    ResponseEntry {
        href,
        found,
        missing,
    }
}

fn collection(href: String) -> ResponseEntry {
    ResponseEntry {
        href,
        found: vec![(
            PropName::new(NS_DAV, "resourcetype"),
            PropValue::Xml("<d:collection/>".into()),
        )],
        missing: Vec::new(),
    }
}

/// `/remote.php/dav/systemtags/...`
pub fn tags(state: &AppState, auth: &Auth, req: MetaRequest<'_>) -> Response {
    match (req.method.as_str(), req.segments.first()) {
        ("PROPFIND", None) => {
            let wanted = wanted(&req);
            let world = state.world();
            let mut out = vec![collection("/remote.php/dav/systemtags/".into())];
            if req.depth() != "0" {
                out.extend(
                    world
                        .files_meta
                        .tags
                        .iter()
                        .filter(|t| t.user_visible)
                        .map(|t| {
                            tag_entry(format!("/remote.php/dav/systemtags/{}", t.id), t, &wanted)
                        }),
                );
            }
            multistatus_response(multistatus(&out))
        }
        ("POST", None) => create(state, &req),
        ("PROPFIND", Some(id)) => {
            let world = state.world();
            match id
                .parse::<u64>()
                .ok()
                .and_then(|id| world.files_meta.tag(id))
                .filter(|t| t.user_visible)
            {
                Some(t) => multistatus_response(multistatus(&[tag_entry(
                    format!("/remote.php/dav/systemtags/{}", t.id),
                    t,
                    &wanted(&req),
                )])),
                None => not_found(&format!("Tag with id {id} not found")),
            }
        }
        ("DELETE", Some(id)) => {
            let mut world = state.world();
            // Nextcloud's SystemTagNode::delete: administrators only, checked first.
            if !world.users.get(&auth.user_id).is_some_and(|u| u.is_admin()) {
                return forbidden(&format!("No permission to delete tag {id}"));
            }
            let meta = &mut world.files_meta;
            let Some(id) = id.parse::<u64>().ok().filter(|id| meta.tag(*id).is_some()) else {
                return not_found(&format!("Tag with id {id} not found"));
            };
            meta.tags.retain(|t| t.id != id);
            meta.tag_relations.retain(|(_, t)| *t != id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_allowed(req.method),
    }
}

fn create(state: &AppState, req: &MetaRequest<'_>) -> Response {
    if req.content_type().split(';').next().map(str::trim) != Some("application/json") {
        return unsupported_media_type();
    }
    let Ok(data) = serde_json::from_slice::<serde_json::Value>(req.body) else {
        return bad_request("Invalid JSON body");
    };
    let Some(name) = data["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return bad_request("Missing \"name\" attribute");
    };
    let flag = |key: &str| data[key].as_bool().unwrap_or(true);
    let mut world = state.world();
    let meta = &mut world.files_meta;
    if meta.tags.iter().any(|t| t.name == name) {
        return conflict("Tag already exists");
    }
    meta.next_tag_id += 1;
    let id = meta.next_tag_id;
    meta.tags.push(Tag {
        id,
        name: name.to_string(),
        user_visible: flag("userVisible"),
        user_assignable: flag("userAssignable"),
    });
    created_at(&format!("{}/{id}", req.raw_path.trim_end_matches('/')))
}

/// `/remote.php/dav/systemtags-relations/files/{fileId}[/{tagId}]`
pub fn relations(state: &AppState, auth: &Auth, req: MetaRequest<'_>) -> Response {
    match req.segments.first().map(String::as_str) {
        Some("files") => {}
        Some(other) => return not_found(&format!("Object type {other} could not be located")),
        None => return not_allowed(req.method),
    }
    let Some(file_id) = req.segments.get(1) else {
        return not_allowed(req.method);
    };
    let mut world = state.world();
    let world = &mut *world;
    let file = file_id.parse::<u64>().ok().filter(|id| {
        world
            .users
            .get(&auth.user_id)
            .is_some_and(|u| u.files.path_of_id(*id).is_some())
    });
    let Some(file) = file else {
        return not_found("Entity does not exist or is not available");
    };
    let meta = &mut world.files_meta;
    let base = format!("/remote.php/dav/systemtags-relations/files/{file}");
    match (req.method.as_str(), req.segments.get(2)) {
        ("PROPFIND", None) => {
            let wanted = wanted(&req);
            let mut out = vec![collection(format!("{base}/"))];
            if req.depth() != "0" {
                out.extend(
                    meta.tags
                        .iter()
                        .filter(|t| t.user_visible && meta.tag_relations.contains(&(file, t.id)))
                        .map(|t| tag_entry(format!("{base}/{}", t.id), t, &wanted)),
                );
            }
            multistatus_response(multistatus(&out))
        }
        ("PUT", Some(tag)) => {
            let Some(t) = tag
                .parse::<u64>()
                .ok()
                .and_then(|id| meta.tag(id))
                .filter(|t| t.user_visible)
                .cloned()
            else {
                return precondition_failed(&format!(
                    "Tag with id {tag} does not exist, cannot assign"
                ));
            };
            if meta.tag_relations.contains(&(file, t.id)) {
                return conflict("PUT is not allowed on non-files.");
            }
            if !t.user_assignable {
                return forbidden(&format!("No permission to assign tag {}", t.id));
            }
            meta.tag_relations.insert((file, t.id));
            StatusCode::CREATED.into_response()
        }
        ("DELETE", Some(tag)) => {
            let id = tag.parse::<u64>().ok();
            match id.filter(|id| meta.tag_relations.contains(&(file, *id))) {
                Some(id) => {
                    if meta.tag(id).is_some_and(|t| !t.user_assignable) {
                        return forbidden(&format!("No permission to unassign tag {id}"));
                    }
                    meta.tag_relations.remove(&(file, id));
                    StatusCode::NO_CONTENT.into_response()
                }
                None => not_found(&format!("Tag with id {tag} not present for object {file}")),
            }
        }
        ("PROPFIND", Some(tag)) => {
            let t = tag
                .parse::<u64>()
                .ok()
                .filter(|id| meta.tag_relations.contains(&(file, *id)))
                .and_then(|id| meta.tag(id));
            match t {
                Some(t) => multistatus_response(multistatus(&[tag_entry(
                    format!("{base}/{}", t.id),
                    t,
                    &wanted(&req),
                )])),
                None => not_found(&format!("Tag with id {tag} not present for object {file}")),
            }
        }
        _ => not_allowed(req.method),
    }
}

/// The tag ids of `<oc:systemtag>` rules in a `filter-files` REPORT. `Err` (Sabre's 412
/// "Cannot filter by non-existing tag") when one does not exist or is not visible.
pub fn filter_rule_tags(
    meta: &super::files_meta::FilesMeta,
    rules: Option<&XmlNode>,
) -> Result<Vec<u64>, Box<Response>> {
    let mut ids = Vec::new();
    for rule in rules.map(|r| r.children.as_slice()).unwrap_or_default() {
        if !rule.is(NS_OC, "systemtag") {
            continue;
        }
        let id = rule.text.trim().parse::<u64>().ok();
        match id.and_then(|id| meta.tag(id)).filter(|t| t.user_visible) {
            Some(t) => ids.push(t.id),
            None => {
                return Err(Box::new(precondition_failed(
                    "Cannot filter by non-existing tag",
                )));
            }
        }
    }
    Ok(ids)
}
