//! `/remote.php/dav/versions/{user}/versions/{fileId}`: a file's versions as `files_versions`
//! serves them. Each version is named by the file's mtime when it was current; the current
//! content is listed too (Nextcloud ≥ 26 keeps it in the versions table). `MOVE` of a version
//! to `/versions/{user}/restore/target` rolls the file back: the current content becomes a
//! version and the restored one takes its place (with its old mtime).

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::encode_path;
use super::files_meta::{
    MetaRequest, Version, bad_request, forbidden, http_date, multistatus_response, not_found,
};
use super::principal::not_allowed;
use super::xml::{
    NS_DAV, NS_NC, PropName, PropValue, PropfindRequest, ResponseEntry, multistatus, parse_propfind,
};
use crate::auth::Auth;
use crate::fs;
use crate::state::{AppState, World};

/// The file's path and every version (current one included), newest first.
fn versions_of(world: &World, user_id: &str, file_id: u64) -> Option<(String, Vec<Version>)> {
    let user = world.users.get(user_id)?;
    let path = user.files.path_of_id(file_id)?.to_string();
    let node = user.files.get(&path)?;
    if node.is_dir {
        return None;
    }
    let mut list: Vec<Version> = world
        .files_meta
        .versions
        .get(&file_id)
        .map(|v| {
            v.iter()
                .filter(|v| v.mtime != node.mtime)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    list.push(Version {
        mtime: node.mtime,
        content: node.content.clone(),
        etag: node.etag.clone(),
        author: user.id.clone(),
        label: String::new(),
    });
    list.sort_by_key(|v| std::cmp::Reverse(v.mtime));
    Some((path, list))
}

fn prop(name: &str, v: &Version, file_id: u64, name_of_file: &str) -> Option<PropValue> {
    let text = |s: String| Some(PropValue::Text(s));
    match name {
        "{DAV:}resourcetype" => Some(PropValue::Empty),
        "{DAV:}getlastmodified" => text(http_date(v.mtime)),
        "{DAV:}getcontentlength" => text(v.content.len().to_string()),
        "{DAV:}getcontenttype" => text(fs::mime_for(name_of_file, false).to_string()),
        "{DAV:}getetag" => text(format!("\"{}\"", v.etag)),
        "{http://owncloud.org/ns}fileid" => text(file_id.to_string()),
        "{http://nextcloud.org/ns}version-label" => text(v.label.clone()),
        "{http://nextcloud.org/ns}version-author" => text(v.author.clone()),
        "{http://nextcloud.org/ns}has-preview" => text("false".into()),
        _ => None,
    }
}

pub fn handle(state: &AppState, auth: &Auth, req: MetaRequest<'_>) -> Response {
    let Some(owner) = req.segments.first() else {
        return not_allowed(req.method);
    };
    if *owner != auth.user_id {
        return not_found(&format!("Principal with name {owner} not found"));
    }
    match req.segments.get(1).map(String::as_str) {
        Some("versions") => {}
        Some("restore") => {
            return match req.method.as_str() {
                "PROPFIND" => multistatus_response(multistatus(&[ResponseEntry {
                    href: format!("/remote.php/dav/versions/{}/restore/", encode_path(owner)),
                    found: vec![(
                        PropName::new(NS_DAV, "resourcetype"),
                        PropValue::Xml("<d:collection/>".into()),
                    )],
                    missing: Vec::new(),
                }])),
                _ => not_allowed(req.method),
            };
        }
        Some(other) => return not_found(&format!("File with name {other} could not be located")),
        None => return not_allowed(req.method),
    }
    let Some(file_id) = req.segments.get(2) else {
        return not_allowed(req.method);
    };
    let Ok(file_id) = file_id.parse::<u64>() else {
        return not_found(&format!("File {file_id} not found"));
    };
    let version = req.segments.get(3).cloned();
    match (req.method.as_str(), version) {
        ("PROPFIND", version) => propfind(state, auth, &req, file_id, version.as_deref()),
        ("GET", Some(version)) => {
            let world = state.world();
            let Some((path, list)) = versions_of(&world, &auth.user_id, file_id) else {
                return not_found(&format!("File {file_id} not found"));
            };
            match list.iter().find(|v| v.mtime.to_string() == version) {
                Some(v) => Response::builder()
                    .status(StatusCode::OK)
                    .header(
                        http::header::CONTENT_TYPE,
                        fs::mime_for(fs::name_of(&path), false),
                    )
                    .header(http::header::CONTENT_LENGTH, v.content.len())
                    .body(Body::from(v.content.clone()))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
                None => not_found(&format!("Version {version} not found")),
            }
        }
        ("MOVE", Some(version)) => restore(state, auth, &req, file_id, &version),
        _ => not_allowed(req.method),
    }
}

fn propfind(
    state: &AppState,
    auth: &Auth,
    req: &MetaRequest<'_>,
    file_id: u64,
    version: Option<&str>,
) -> Response {
    let wanted: Vec<PropName> = match parse_propfind(req.body) {
        Some(PropfindRequest::Props(p)) => p,
        _ => [
            (NS_DAV, "getlastmodified"),
            (NS_DAV, "getcontentlength"),
            (NS_DAV, "getcontenttype"),
            (NS_DAV, "getetag"),
            (NS_DAV, "resourcetype"),
            (NS_NC, "version-label"),
            (NS_NC, "version-author"),
        ]
        .into_iter()
        .map(|(ns, n)| PropName::new(ns, n))
        .collect(),
    };
    let world = state.world();
    let Some((path, list)) = versions_of(&world, &auth.user_id, file_id) else {
        return not_found(&format!("File {file_id} not found"));
    };
    let base = format!(
        "/remote.php/dav/versions/{}/versions/{file_id}",
        encode_path(&auth.user_id)
    );
    let entry = |v: &Version| {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for name in &wanted {
            let clark = format!("{{{}}}{}", name.ns, name.name);
            match prop(&clark, v, file_id, fs::name_of(&path)) {
                Some(value) => found.push((name.clone(), value)),
                None => missing.push(name.clone()),
            }
        }
        ResponseEntry {
            href: format!("{base}/{}", v.mtime),
            found,
            missing,
        }
    };
    let entries = match version {
        Some(id) => match list.iter().find(|v| v.mtime.to_string() == id) {
            Some(v) => vec![entry(v)],
            None => return not_found(&format!("Version {id} not found")),
        },
        None => {
            let mut out = vec![ResponseEntry {
                href: format!("{base}/"),
                found: vec![(
                    PropName::new(NS_DAV, "resourcetype"),
                    PropValue::Xml("<d:collection/>".into()),
                )],
                missing: Vec::new(),
            }];
            if req.depth() != "0" {
                out.extend(list.iter().map(entry));
            }
            out
        }
    };
    multistatus_response(multistatus(&entries))
}

fn restore(
    state: &AppState,
    auth: &Auth,
    req: &MetaRequest<'_>,
    file_id: u64,
    version: &str,
) -> Response {
    let Some(dest) = req.destination() else {
        return bad_request("The destination header was not supplied");
    };
    let to_restore =
        dest.len() == 4 && dest[0] == "versions" && dest[1] == auth.user_id && dest[2] == "restore";
    if !to_restore {
        return forbidden("Permission denied to rename this file");
    }
    let now = state.now();
    let mut world = state.world();
    let Some((path, list)) = versions_of(&world, &auth.user_id, file_id) else {
        return not_found(&format!("File {file_id} not found"));
    };
    let Some(target) = list
        .iter()
        .find(|v| v.mtime.to_string() == version)
        .cloned()
    else {
        return not_found(&format!("Version {version} not found"));
    };
    let world = &mut *world;
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found("");
    };
    let Some(current) = user.files.get(&path).cloned() else {
        return not_found("");
    };
    if current.mtime != target.mtime {
        world.files_meta.record_version(&current, &auth.user_id);
        if let Some(list) = world.files_meta.versions.get_mut(&file_id) {
            list.retain(|v| v.mtime != target.mtime);
        }
        let _ = user
            .files
            .put(&path, target.content, file_id, target.mtime, now);
    }
    StatusCode::CREATED.into_response()
}
