//! Chunked upload under `/remote.php/dav/uploads/{user}/{upload-id}/`, as Nextcloud's
//! `UploadHome`/`UploadFolder` and `ChunkingV2Plugin` (with the v1 `ChunkingPlugin` assembly)
//! answer it:
//!
//! - `MKCOL {id}` (with `Destination` for v2) → 201; an existing id → 405.
//! - `PUT {id}/{n}` → 201. With `Destination` (v2) the chunk name must be a number from 1 to
//!   10000, else 400; chunks are assembled in numeric order. (The emulator has no quota, so
//!   the 507 for an `OC-Total-Length` above the free space never happens here.)
//! - `GET` of a chunk or `.file` → 405 (intermediate uploads cannot be read).
//! - `MOVE {id}/.file` to the destination → assembles, 201 (new) or 204 (replaced), with the
//!   `OC-ETag`/`ETag`/`OC-FileId` headers; `Overwrite: F` on an existing file and a failed
//!   `If:` condition → 412; a size different from `OC-Total-Length` → 400; a folder as
//!   destination → 400; a missing destination folder → 409. The upload folder goes away.
//! - `DELETE {id}` → 204 (upload aborted).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::dav_error;
use super::files::{self, not_found, precondition_failed};
use crate::auth::Auth;
use crate::fs::FsError;
use crate::state::AppState;

/// The upload folders of every user (keyed by user id, then upload id).
#[derive(Debug, Default)]
pub struct Uploads {
    users: HashMap<String, BTreeMap<String, UploadFolder>>,
}

/// One upload in progress.
#[derive(Debug)]
struct UploadFolder {
    /// The `Destination` given at MKCOL: a v2 upload; `None` is a v1 upload.
    destination: Option<String>,
    chunks: BTreeMap<String, Bytes>,
}

impl Uploads {
    /// Upload folders currently open for a user (tests check that finished ones are gone).
    pub fn open_count(&self, user_id: &str) -> usize {
        self.users.get(user_id).map_or(0, BTreeMap::len)
    }
}

fn bad_request(message: &str) -> Response {
    dav_error(
        StatusCode::BAD_REQUEST,
        "Sabre\\DAV\\Exception\\BadRequest",
        message,
    )
}

fn method_not_allowed(message: &str) -> Response {
    dav_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Sabre\\DAV\\Exception\\MethodNotAllowed",
        message,
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `segments` are the decoded path segments after `uploads`: `{user}/{id}/{chunk}`.
pub fn handle(
    state: &AppState,
    auth: &Auth,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
    segments: &[String],
) -> Response {
    let Some(owner) = segments.first() else {
        return super::principal::collection(method, "/remote.php/dav/uploads/");
    };
    if *owner != auth.user_id {
        return not_found(owner);
    }
    let (id, chunk) = (segments.get(1), segments.get(2));
    if segments.len() > 3 {
        return not_found(&segments[3..].join("/"));
    }
    match (method.as_str(), id, chunk) {
        ("MKCOL", Some(id), None) => mkcol(state, auth, headers, id),
        ("PUT", Some(id), Some(chunk)) => put_chunk(state, auth, headers, body, id, chunk),
        ("GET" | "HEAD", Some(_), Some(_)) => {
            method_not_allowed("Reading intermediate uploads is not allowed")
        }
        ("MOVE", Some(id), Some(chunk)) if chunk == ".file" => {
            assemble(state, auth, method, headers, id)
        }
        ("DELETE", Some(id), None) => {
            let mut world = state.world();
            let removed = world
                .uploads
                .users
                .get_mut(&auth.user_id)
                .and_then(|u| u.remove(id.as_str()));
            match removed {
                Some(_) => StatusCode::NO_CONTENT.into_response(),
                None => not_found(id),
            }
        }
        ("DELETE", Some(id), Some(chunk)) => {
            let mut world = state.world();
            let removed = world
                .uploads
                .users
                .get_mut(&auth.user_id)
                .and_then(|u| u.get_mut(id.as_str()))
                .and_then(|f| f.chunks.remove(chunk.as_str()));
            match removed {
                Some(_) => StatusCode::NO_CONTENT.into_response(),
                None => not_found(chunk),
            }
        }
        ("OPTIONS", ..) => super::principal::options(),
        ("PROPFIND", ..) => {
            // Listing upload folders is possible in Nextcloud but nothing here needs it.
            method_not_allowed("Listing uploads is not supported by the emulator")
        }
        _ => super::principal::not_allowed(method),
    }
}

fn mkcol(state: &AppState, auth: &Auth, headers: &HeaderMap, id: &str) -> Response {
    let mut world = state.world();
    let folders = world.uploads.users.entry(auth.user_id.clone()).or_default();
    if folders.contains_key(id) {
        return method_not_allowed("The resource you tried to create already exists");
    }
    folders.insert(
        id.to_string(),
        UploadFolder {
            destination: header(headers, "destination").map(str::to_string),
            chunks: BTreeMap::new(),
        },
    );
    StatusCode::CREATED.into_response()
}

fn put_chunk(
    state: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
    body: &Bytes,
    id: &str,
    chunk: &str,
) -> Response {
    let v2 = header(headers, "destination").is_some();
    if v2 && !chunk.parse::<u32>().is_ok_and(|n| (1..=10000).contains(&n)) {
        return bad_request("Invalid chunk name, must be numeric between 1 and 10000");
    }
    let mut world = state.world();
    let Some(folder) = world
        .uploads
        .users
        .get_mut(&auth.user_id)
        .and_then(|u| u.get_mut(id))
    else {
        return not_found(id);
    };
    folder.chunks.insert(chunk.to_string(), body.clone());
    StatusCode::CREATED.into_response()
}

fn assemble(
    state: &AppState,
    auth: &Auth,
    method: &Method,
    headers: &HeaderMap,
    id: &str,
) -> Response {
    let Some(destination) = header(headers, "destination") else {
        return bad_request("The destination header was not supplied");
    };
    let href_base = format!("/remote.php/dav/files/{}/", auth.user_id);
    let empty = Bytes::new();
    let files_req = files::Request {
        method,
        headers,
        body: &empty,
        segments: &[],
        href_base: &href_base,
    };
    let target = match files::path_from_uri(&files_req, destination) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let overwrite = match header(headers, "overwrite") {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("t") => true,
        Some(v) if v.eq_ignore_ascii_case("f") => false,
        Some(_) => return bad_request("The HTTP Overwrite header should be either T or F"),
    };
    let mtime = header(headers, "x-oc-mtime");
    let mtime = match mtime.map(str::parse::<i64>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            return bad_request("X-OC-MTime header must be an integer (unix timestamp).");
        }
    };
    let now = state.now();
    let new_id = state.next_id();
    let mut guard = state.world();
    let world = &mut *guard;
    let Some(folder) = world
        .uploads
        .users
        .get(&auth.user_id)
        .and_then(|u| u.get(id))
    else {
        return not_found(id);
    };
    // v2 assembles by chunk number, v1 by name; zero-padded names sort the same either way.
    let mut parts: Vec<(&String, &Bytes)> = folder.chunks.iter().collect();
    if folder.destination.is_some() {
        parts.sort_by_key(|(name, _)| name.parse::<u32>().unwrap_or(u32::MAX));
    }
    let size: u64 = parts.iter().map(|(_, b)| b.len() as u64).sum();
    if let Some(expected) = header(headers, "oc-total-length").and_then(|v| v.parse::<u64>().ok())
        && expected != size
    {
        return bad_request(&format!(
            "Chunks on server do not sum up to {expected} but to {size} bytes"
        ));
    }
    let mut content = Vec::with_capacity(size as usize);
    for (_, b) in &parts {
        content.extend_from_slice(b);
    }
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found(id);
    };
    let existing = user.files.get(&target).cloned();
    if existing.as_ref().is_some_and(|n| n.is_dir) || target.is_empty() {
        return bad_request(&format!(
            "The given destination {destination} is a directory."
        ));
    }
    if let Err(r) = files::check_if_header(&files_req, user, &target) {
        return *r;
    }
    if existing.is_some() && !overwrite {
        return precondition_failed(
            "The destination node already exists, and the overwrite header is set to false",
        );
    }
    // files_versions: the content being replaced is kept as a version, as for a plain PUT.
    if let Some(old) = &existing
        && state.app_installed("files_versions")
    {
        world.files_meta.record_version(old, &auth.user_id);
    }
    match user
        .files
        .put(&target, content.into(), new_id, mtime.unwrap_or(now), now)
    {
        Ok(_) => {}
        Err(FsError::ParentMissing) | Err(FsError::NotDirectory) => {
            return dav_error(
                StatusCode::CONFLICT,
                "Sabre\\DAV\\Exception\\Conflict",
                "The destination node is not found",
            );
        }
        Err(_) => return bad_request("The destination cannot be written"),
    }
    let Some(node) = user.files.get(&target).cloned() else {
        return not_found(&target);
    };
    if let Some(u) = world.uploads.users.get_mut(&auth.user_id) {
        u.remove(id);
    }
    drop(guard);
    let mut resp = if existing.is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    }
    .into_response();
    files::etag_headers(&mut resp, &node);
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    if mtime.is_some() {
        h.insert("X-OC-MTime", HeaderValue::from_static("accepted"));
    }
    resp
}
