//! `/remote.php/dav/comments/files/{fileId}`: the comments app's DAV endpoint as
//! `apps/dav/lib/Comments` answers it. `REPORT oc:filter-comments` pages through a file's
//! comments (newest first), `POST` with a JSON body adds one and answers `201` with a
//! `Content-Location` naming the new comment.

use axum::response::Response;

use super::files_meta::{
    Comment, MetaRequest, bad_request, bad_xml, created_at, forbidden, http_date,
    multistatus_response, not_found, unsupported_media_type,
};
use super::files_query::parse_tree;
use super::principal::not_allowed;
use super::xml::{NS_DAV, NS_OC, PropName, PropValue, ResponseEntry, multistatus};
use crate::auth::Auth;
use crate::state::{AppState, World};

/// Nextcloud's `IComment::MAX_MESSAGE_LENGTH`.
pub const MAX_MESSAGE_LENGTH: usize = 1000;

/// Whether the user can see the file with this id (the entity collection's access check).
fn can_access(world: &World, user_id: &str, file_id: &str) -> bool {
    let Ok(id) = file_id.parse::<u64>() else {
        return false;
    };
    world
        .users
        .get(user_id)
        .is_some_and(|u| u.files.path_of_id(id).is_some())
}

pub fn handle(state: &AppState, auth: &Auth, req: MetaRequest<'_>) -> Response {
    let Some(object_type) = req.segments.first() else {
        return not_allowed(req.method);
    };
    if object_type != "files" {
        return not_found(&format!("Entity type {object_type} could not be located"));
    }
    let Some(file_id) = req.segments.get(1) else {
        return not_allowed(req.method);
    };
    {
        let world = state.world();
        if !can_access(&world, &auth.user_id, file_id) {
            return not_found("Entity does not exist or user has no access");
        }
    }
    if req.segments.len() > 2 {
        return not_allowed(req.method);
    }
    match req.method.as_str() {
        "REPORT" => report(state, auth, &req, file_id),
        "POST" => post(state, auth, &req, file_id),
        "PROPFIND" => {
            let href = format!("/remote.php/dav/comments/files/{file_id}/");
            multistatus_response(multistatus(&[ResponseEntry {
                href,
                found: vec![(
                    PropName::new(NS_DAV, "resourcetype"),
                    PropValue::Xml("<d:collection/>".into()),
                )],
                missing: Vec::new(),
            }]))
        }
        _ => not_allowed(req.method),
    }
}

fn report(state: &AppState, auth: &Auth, req: &MetaRequest<'_>, file_id: &str) -> Response {
    let Some(tree) = parse_tree(req.body) else {
        return bad_xml();
    };
    if !tree.is(NS_OC, "filter-comments") {
        return forbidden("The {DAV:}report you requested is not supported");
    }
    let number = |name: &str| {
        tree.child(NS_OC, name)
            .and_then(|n| n.text.trim().parse::<usize>().ok())
            .unwrap_or(0)
    };
    let (limit, offset) = (number("limit"), number("offset"));
    let world = state.world();
    let mut comments: Vec<&Comment> = world
        .files_meta
        .comments
        .iter()
        .filter(|c| c.object_type == "files" && c.object_id == file_id)
        .collect();
    comments.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    let page = comments
        .into_iter()
        .skip(offset)
        .take(if limit == 0 { usize::MAX } else { limit });
    let entries: Vec<ResponseEntry> = page
        .map(|c| {
            let display = world
                .users
                .get(&c.actor_id)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| c.actor_id.clone());
            let text =
                |name: &str, value: String| (PropName::new(NS_OC, name), PropValue::Text(value));
            ResponseEntry {
                href: format!("/remote.php/dav/comments/files/{file_id}/{}", c.id),
                found: vec![
                    text("id", c.id.to_string()),
                    text("parentId", "0".into()),
                    text("topmostParentId", "0".into()),
                    text("childrenCount", "0".into()),
                    text("verb", c.verb.clone()),
                    text("actorType", c.actor_type.clone()),
                    text("actorId", c.actor_id.clone()),
                    text("creationDateTime", http_date(c.created)),
                    text("objectType", c.object_type.clone()),
                    text("objectId", c.object_id.clone()),
                    (PropName::new(NS_OC, "reactions"), PropValue::Empty),
                    text("message", c.message.clone()),
                    text("actorDisplayName", display),
                    (PropName::new(NS_OC, "mentions"), PropValue::Empty),
                    text(
                        "isUnread",
                        if c.actor_id == auth.user_id {
                            "false"
                        } else {
                            "true"
                        }
                        .into(),
                    ),
                ],
                missing: Vec::new(),
            }
        })
        .collect();
    multistatus_response(multistatus(&entries))
}

fn post(state: &AppState, auth: &Auth, req: &MetaRequest<'_>, file_id: &str) -> Response {
    if req.content_type().split(';').next().map(str::trim) != Some("application/json") {
        return unsupported_media_type();
    }
    let Ok(data) = serde_json::from_slice::<serde_json::Value>(req.body) else {
        return bad_request("Invalid input values");
    };
    let actor_type = data["actorType"].as_str().unwrap_or_default();
    if actor_type != "users" {
        return bad_request(&format!("Invalid actor \"{actor_type}\""));
    }
    let (Some(verb), Some(message)) = (data["verb"].as_str(), data["message"].as_str()) else {
        return bad_request("Invalid input values");
    };
    let message = message.trim();
    if message.chars().count() > MAX_MESSAGE_LENGTH {
        return bad_request(&format!(
            "Message exceeds allowed character limit of {MAX_MESSAGE_LENGTH}"
        ));
    }
    if verb.is_empty() {
        return bad_request("Invalid input values");
    }
    let now = state.now();
    let mut world = state.world();
    let meta = &mut world.files_meta;
    meta.next_comment_id += 1;
    let id = meta.next_comment_id;
    meta.comments.push(Comment {
        id,
        object_type: "files".into(),
        object_id: file_id.to_string(),
        actor_type: "users".into(),
        actor_id: auth.user_id.clone(),
        verb: verb.to_string(),
        message: message.to_string(),
        created: now,
    });
    created_at(&format!("{}/{id}", req.raw_path.trim_end_matches('/')))
}
