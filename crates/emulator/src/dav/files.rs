//! Files over WebDAV: PROPFIND, GET/HEAD, PUT, MKCOL, DELETE, MOVE on the user's tree, with
//! Nextcloud's properties (`oc:fileid`, `oc:permissions`, ...) and headers (`OC-ETag`,
//! `OC-FileId`).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::principal::{not_allowed, options};
use super::xml::{
    NS_DAV, NS_NC, NS_OC, PropName, PropValue, PropfindRequest, ResponseEntry, multistatus,
    parse_propfind,
};
use super::{dav_error, decode_segment, encode_path, files_query};
use crate::auth::Auth;
use crate::fs::{self, FsError, Node};
use crate::state::{AppState, User};

/// The instance id part of `oc:id` / `OC-FileId`.
pub const INSTANCE_ID: &str = "ocemulator34";

/// A files request, already authenticated and split into decoded path segments.
pub struct Request<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    pub segments: &'a [String],
    /// Href of the user's root, with trailing slash.
    pub href_base: &'a str,
}

/// `oc:id` / `OC-FileId`: zero-padded file id plus instance id.
pub fn oc_id(id: u64) -> String {
    format!("{id:08}{INSTANCE_ID}")
}

pub(crate) fn not_found(path: &str) -> Response {
    dav_error(
        StatusCode::NOT_FOUND,
        "Sabre\\DAV\\Exception\\NotFound",
        &format!("File with name {path} could not be located"),
    )
}

fn href_for(base: &str, path: &str, is_dir: bool) -> String {
    let mut h = format!("{}{}", base, encode_path(path));
    if is_dir && !path.is_empty() {
        h.push('/');
    }
    h
}

fn http_date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Dispatches by method.
pub fn handle(state: &AppState, auth: &Auth, req: Request<'_>) -> Response {
    let joined = req.segments.join("/");
    let Some(path) = fs::normalize(&joined) else {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "Path contains invalid segments",
        );
    };
    match req.method.as_str() {
        "PROPFIND" => propfind(state, auth, &req, &path),
        "GET" | "HEAD" => get(state, auth, &req, &path),
        "PUT" => put(state, auth, &req, &path),
        "MKCOL" => mkcol(state, auth, &path),
        "DELETE" => delete(state, auth, &req, &path),
        "MOVE" => transfer(state, auth, &req, &path, false),
        "COPY" => transfer(state, auth, &req, &path, true),
        "PROPPATCH" => proppatch(state, auth, &req, &path),
        "REPORT" => report(state, auth, &req, &path),
        "OPTIONS" => options(),
        _ => not_allowed(req.method),
    }
}

fn allprops() -> Vec<PropName> {
    vec![
        PropName::new(NS_DAV, "getlastmodified"),
        PropName::new(NS_DAV, "getcontentlength"),
        PropName::new(NS_DAV, "resourcetype"),
        PropName::new(NS_DAV, "getetag"),
        PropName::new(NS_DAV, "getcontenttype"),
        PropName::new(NS_DAV, "quota-used-bytes"),
        PropName::new(NS_DAV, "quota-available-bytes"),
    ]
}

fn prop_value(
    user: &User,
    auth: &Auth,
    path: &str,
    node: &Node,
    name: &PropName,
) -> Option<PropValue> {
    let file_name = fs::name_of(path);
    match (name.ns.as_str(), name.name.as_str()) {
        (NS_DAV, "getetag") => Some(PropValue::Text(format!("\"{}\"", node.etag))),
        (NS_DAV, "getlastmodified") => Some(PropValue::Text(http_date(node.mtime))),
        (NS_DAV, "getcontentlength") if !node.is_dir => {
            Some(PropValue::Text(user.files.content_len(node).to_string()))
        }
        (NS_DAV, "getcontenttype") if !node.is_dir => {
            Some(PropValue::Text(fs::mime_for(file_name, false).to_string()))
        }
        (NS_DAV, "resourcetype") => Some(if node.is_dir {
            PropValue::Xml("<d:collection/>".into())
        } else {
            PropValue::Empty
        }),
        (NS_DAV, "quota-used-bytes") if node.is_dir => {
            Some(PropValue::Text(user.files.size(path).to_string()))
        }
        (NS_DAV, "quota-available-bytes") if node.is_dir => Some(PropValue::Text("-3".into())),
        (NS_DAV, "current-user-principal") => Some(PropValue::Xml(format!(
            "<d:href>/remote.php/dav/principals/users/{}/</d:href>",
            encode_path(&auth.user_id)
        ))),
        (NS_DAV, "displayname") if !path.is_empty() => Some(PropValue::Text(file_name.to_string())),
        (NS_OC, "fileid") => Some(PropValue::Text(node.id.to_string())),
        (NS_OC, "id") => Some(PropValue::Text(oc_id(node.id))),
        (NS_OC, "size") => Some(PropValue::Text(user.files.size(path).to_string())),
        (NS_OC, "permissions") => Some(PropValue::Text(
            if node.is_dir { "RGDNVCK" } else { "RGDNVW" }.into(),
        )),
        (NS_OC, "favorite") => Some(PropValue::Text(
            if user.favorites.contains(&node.id) {
                "1"
            } else {
                "0"
            }
            .into(),
        )),
        (NS_OC, "owner-id") => Some(PropValue::Text(user.id.clone())),
        (NS_OC, "owner-display-name") => Some(PropValue::Text(user.display_name.clone())),
        (NS_OC, "share-types") => Some(PropValue::Empty),
        (NS_OC, "comments-unread") => Some(PropValue::Text("0".into())),
        (NS_NC, "has-preview") => Some(PropValue::Text(
            if !node.is_dir && fs::mime_for(file_name, false).starts_with("image/") {
                "true"
            } else {
                "false"
            }
            .into(),
        )),
        (NS_NC, "mount-type") => Some(PropValue::Text(String::new())),
        (NS_NC, "is-encrypted") => Some(PropValue::Text("0".into())),
        (NS_NC, "creation_time") => Some(PropValue::Text("0".into())),
        (NS_NC, "upload_time") => Some(PropValue::Text(node.mtime.to_string())),
        _ => None,
    }
}

fn propfind(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str) -> Response {
    let Some(pf) = parse_propfind(req.body) else {
        return dav_error(
            StatusCode::BAD_REQUEST,
            "Sabre\\Xml\\ParseException",
            "The request body had an invalid XML body.",
        );
    };
    let depth = req
        .headers
        .get("depth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("infinity")
        .trim()
        .to_ascii_lowercase();
    let world = state.world();
    let Some(user) = world.users.get(&auth.user_id) else {
        return not_found(path);
    };
    let Some(node) = user.files.get(path) else {
        return not_found(path);
    };
    let mut targets = vec![(path.to_string(), node.clone())];
    if node.is_dir && depth != "0" {
        for (p, n) in user.files.children(path) {
            targets.push((p.to_string(), n.clone()));
        }
    }
    let wanted = match &pf {
        PropfindRequest::Props(p) => p.clone(),
        _ => allprops(),
    };
    let entries: Vec<ResponseEntry> = targets
        .iter()
        .map(|(p, n)| {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for name in &wanted {
                match prop_value(user, auth, p, n, name) {
                    Some(v) => found.push((name.clone(), v)),
                    None => {
                        if matches!(pf, PropfindRequest::Props(_)) {
                            missing.push(name.clone());
                        }
                    }
                }
            }
            ResponseEntry {
                href: href_for(req.href_base, p, n.is_dir),
                found,
                missing,
            }
        })
        .collect();
    drop(world);
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .header("DAV", "1, 3, extended-mkcol")
        .body(Body::from(multistatus(&entries)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

pub(crate) fn etag_headers(resp: &mut Response, node: &Node) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", node.etag)) {
        h.insert(http::header::ETAG, v.clone());
        h.insert("OC-ETag", v);
    }
    if let Ok(v) = HeaderValue::from_str(&oc_id(node.id)) {
        h.insert("OC-FileId", v);
    }
}

fn get(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str) -> Response {
    let world = state.world();
    let Some(user) = world.users.get(&auth.user_id) else {
        return not_found(path);
    };
    let Some(node) = user.files.get(path).cloned() else {
        return not_found(path);
    };
    let synthetic = user.files.synthetic_len(node.id);
    drop(world);
    if node.is_dir {
        return dav_error(
            StatusCode::NOT_IMPLEMENTED,
            "Sabre\\DAV\\Exception\\NotImplemented",
            "GET is only implemented on File objects",
        );
    }
    let name = fs::name_of(path);
    let len = synthetic.unwrap_or(node.content.len() as u64);
    let body = if req.method == Method::HEAD {
        Body::empty()
    } else if let Some(len) = synthetic {
        synthetic_body(len)
    } else {
        Body::from(node.content.clone())
    };
    let mut resp = Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, fs::mime_for(name, false))
        .header(http::header::CONTENT_LENGTH, len)
        .header(http::header::LAST_MODIFIED, http_date(node.mtime))
        .header(
            http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename*=UTF-8''{}; filename=\"{}\"",
                encode_path(name),
                name.replace('"', "")
            ),
        )
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    etag_headers(&mut resp, &node);
    resp
}

/// Streams `len` bytes of generated content block by block: memory stays flat however large.
fn synthetic_body(len: u64) -> Body {
    let block = fs::synthetic_block();
    let stream = futures::stream::unfold(0u64, move |sent| {
        let block = block.clone();
        async move {
            if sent >= len {
                return None;
            }
            let n = (len - sent).min(block.len() as u64) as usize;
            Some((Ok::<_, std::io::Error>(block.slice(..n)), sent + n as u64))
        }
    });
    Body::from_stream(stream)
}

pub(crate) fn precondition_failed(msg: &str) -> Response {
    dav_error(
        StatusCode::PRECONDITION_FAILED,
        "Sabre\\DAV\\Exception\\PreconditionFailed",
        msg,
    )
}

/// Checks `If-Match` / `If-None-Match` against the current node (Sabre's `checkPreconditions`).
fn check_preconditions(headers: &HeaderMap, node: Option<&Node>) -> Result<(), Box<Response>> {
    if let Some(if_match) = headers
        .get(http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let Some(node) = node else {
            return Err(Box::new(precondition_failed(
                "An If-Match header was specified and the resource did not exist",
            )));
        };
        let current = format!("\"{}\"", node.etag);
        let ok = if_match
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == current);
        if !ok {
            return Err(Box::new(precondition_failed(
                "An If-Match header was specified, but none of the specified ETags matched.",
            )));
        }
    }
    if let Some(inm) = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && let Some(node) = node
    {
        let current = format!("\"{}\"", node.etag);
        if inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == current)
        {
            return Err(Box::new(precondition_failed(
                "An If-None-Match header was specified, but the ETag matched (or * was specified).",
            )));
        }
    }
    Ok(())
}

fn put(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str) -> Response {
    if path.is_empty() {
        return dav_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Sabre\\DAV\\Exception\\MethodNotAllowed",
            "PUT is not allowed on non-files.",
        );
    }
    let now = state.now();
    let mtime = req
        .headers
        .get("x-oc-mtime")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let id = state.next_id();
    let mut guard = state.world();
    let world = &mut *guard;
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found(path);
    };
    let existing = user.files.get(path).cloned();
    if existing.as_ref().is_some_and(|n| n.is_dir) {
        return dav_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Sabre\\DAV\\Exception\\MethodNotAllowed",
            "PUT is not allowed on non-files.",
        );
    }
    if let Err(r) = check_preconditions(req.headers, existing.as_ref()) {
        return *r;
    }
    // files_versions: the content being replaced is kept as a version.
    if let Some(old) = &existing
        && state.app_installed("files_versions")
    {
        world.files_meta.record_version(old, &auth.user_id);
    }
    let created = match user
        .files
        .put(path, req.body.clone(), id, mtime.unwrap_or(now), now)
    {
        Ok(c) => c,
        Err(FsError::ParentMissing) | Err(FsError::NotDirectory) => {
            return dav_error(
                StatusCode::CONFLICT,
                "Sabre\\DAV\\Exception\\Conflict",
                "Files can only be created as children of collections",
            );
        }
        Err(_) => {
            return dav_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Sabre\\DAV\\Exception\\MethodNotAllowed",
                "PUT is not allowed on non-files.",
            );
        }
    };
    let Some(node) = user.files.get(path).cloned() else {
        return not_found(path);
    };
    drop(guard);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    let mut resp = status.into_response();
    etag_headers(&mut resp, &node);
    if mtime.is_some() {
        resp.headers_mut()
            .insert("X-OC-MTime", HeaderValue::from_static("accepted"));
    }
    resp
}

fn mkcol(state: &AppState, auth: &Auth, path: &str) -> Response {
    let id = state.next_id();
    let now = state.now();
    let mut world = state.world();
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found(path);
    };
    match user.files.mkdir(path, id, now) {
        Ok(()) => {
            let mut resp = StatusCode::CREATED.into_response();
            if let Some(node) = user.files.get(path) {
                etag_headers(&mut resp, node);
            }
            resp
        }
        Err(FsError::AlreadyExists) => dav_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Sabre\\DAV\\Exception\\MethodNotAllowed",
            "The resource you tried to create already exists",
        ),
        Err(_) => dav_error(
            StatusCode::CONFLICT,
            "Sabre\\DAV\\Exception\\Conflict",
            "Parent node does not exist",
        ),
    }
}

fn delete(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str) -> Response {
    let now = state.now();
    let mut world = state.world();
    let world = &mut *world;
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found(path);
    };
    if path.is_empty() {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "Permission denied to delete home folder",
        );
    }
    let existing = user.files.get(path).cloned();
    if existing.is_none() {
        return not_found(path);
    }
    if let Err(r) = check_preconditions(req.headers, existing.as_ref()) {
        return *r;
    }
    if let Some(n) = existing {
        user.favorites.remove(&n.id);
        user.note_meta.remove(&n.id);
    }
    // files_trashbin: a deleted file or folder goes to the trash, not away.
    if state.app_installed("files_trashbin") {
        super::trashbin::trash(user, &mut world.files_meta, path, now);
    } else {
        let _ = user.files.delete(path, now);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The relative path a `Destination` (or `If` tagged-list URI) names, or Sabre's error answer.
pub(crate) fn path_from_uri(req: &Request<'_>, uri: &str) -> Result<String, Box<Response>> {
    // Absolute URLs and absolute paths are both accepted; only the path part counts.
    let path = match uri.find("://") {
        Some(i) => uri[i + 3..].find('/').map_or("/", |j| &uri[i + 3 + j..]),
        None => uri,
    };
    let Some(rel) = path.strip_prefix(req.href_base.trim_end_matches('/')) else {
        return Err(Box::new(dav_error(
            StatusCode::BAD_GATEWAY,
            "Sabre\\DAV\\Exception\\BadGateway",
            "The destination node is not on the same server",
        )));
    };
    if !rel.is_empty() && !rel.starts_with('/') {
        return Err(Box::new(dav_error(
            StatusCode::BAD_GATEWAY,
            "Sabre\\DAV\\Exception\\BadGateway",
            "The destination node is not on the same server",
        )));
    }
    let decoded: Vec<String> = rel.split('/').map(decode_segment).collect();
    fs::normalize(&decoded.join("/")).ok_or_else(|| {
        Box::new(dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "Path contains invalid segments",
        ))
    })
}

/// One `(...)` list of an `If:` header: `Not`, a state token, an entity tag.
struct IfToken {
    negate: bool,
    token: String,
    etag: String,
}

/// Parses an RFC 4918 `If:` header into (uri or request-uri, token lists), as Sabre's
/// `getIfConditions` does: an untagged list joins the previous condition.
fn if_conditions(header: &str) -> Vec<(Option<String>, Vec<IfToken>)> {
    let mut out: Vec<(Option<String>, Vec<IfToken>)> = Vec::new();
    let mut rest = header.trim();
    let mut pending_uri: Option<String> = None;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('<') {
            let Some(end) = r.find('>') else { break };
            pending_uri = Some(r[..end].to_string());
            rest = r[end + 1..].trim_start();
        } else if let Some(r) = rest.strip_prefix('(') {
            let Some(end) = r.find(')') else { break };
            let mut inner = r[..end].trim();
            rest = r[end + 1..].trim_start();
            let negate = inner.starts_with("Not ");
            if negate {
                inner = inner[4..].trim_start();
            }
            let mut token = String::new();
            if let Some(t) = inner.strip_prefix('<') {
                let e = t.find('>').unwrap_or(t.len());
                token = t[..e].to_string();
                inner = t.get(e + 1..).unwrap_or("").trim_start();
            }
            let mut etag = String::new();
            if let Some(t) = inner.strip_prefix('[') {
                let e = t.find(']').unwrap_or(t.len());
                etag = t[..e].to_string();
            }
            let tok = IfToken {
                negate,
                token,
                etag,
            };
            match (pending_uri.take(), out.last_mut()) {
                (None, Some(last)) => last.1.push(tok),
                (uri, _) => out.push((uri, vec![tok])),
            }
        } else {
            break;
        }
    }
    out
}

/// Checks the `If:` header; the emulator has no locks, so a state token never validates.
pub(crate) fn check_if_header(
    req: &Request<'_>,
    user: &User,
    request_path: &str,
) -> Result<(), Box<Response>> {
    let Some(header) = req.headers.get("if").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    for (uri, tokens) in if_conditions(header) {
        let path = match &uri {
            Some(u) => path_from_uri(req, u)?,
            None => request_path.to_string(),
        };
        let mut satisfied = false;
        for t in &tokens {
            let token_valid = t.token.is_empty();
            let etag_valid = if t.etag.is_empty() {
                true
            } else if token_valid {
                let Some(node) = user.files.get(&path) else {
                    return Err(Box::new(not_found(&path)));
                };
                !node.is_dir && format!("\"{}\"", node.etag) == t.etag
            } else {
                false
            };
            if (token_valid && etag_valid) ^ t.negate {
                satisfied = true;
                break;
            }
        }
        if !satisfied {
            return Err(Box::new(precondition_failed(&format!(
                "Failed to find a valid token/etag combination for {}",
                uri.unwrap_or_else(|| request_path.to_string())
            ))));
        }
    }
    Ok(())
}

/// MOVE and COPY with Sabre's `Destination`/`Overwrite` rules.
fn transfer(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str, copy: bool) -> Response {
    let Some(dest) = req.headers.get("destination").and_then(|v| v.to_str().ok()) else {
        return dav_error(
            StatusCode::BAD_REQUEST,
            "Sabre\\DAV\\Exception\\BadRequest",
            "The destination header was not supplied",
        );
    };
    let target = match path_from_uri(req, dest) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let overwrite = match req.headers.get("overwrite").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("t") => true,
        Some(v) if v.eq_ignore_ascii_case("f") => false,
        Some(_) => {
            return dav_error(
                StatusCode::BAD_REQUEST,
                "Sabre\\DAV\\Exception\\BadRequest",
                "The HTTP Overwrite header should be either T or F",
            );
        }
    };
    let now = state.now();
    let mut world = state.world();
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found(path);
    };
    let Some(source) = user.files.get(path).cloned() else {
        return not_found(path);
    };
    if path.is_empty() {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "Permission denied to rename or copy the home folder",
        );
    }
    if let Err(r) = check_preconditions(req.headers, Some(&source)) {
        return *r;
    }
    if let Err(r) = check_if_header(req, user, path) {
        return *r;
    }
    let Some(parent) = fs::parent_of(&target) else {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "The home folder cannot be replaced",
        );
    };
    match user.files.get(parent) {
        None => {
            return dav_error(
                StatusCode::CONFLICT,
                "Sabre\\DAV\\Exception\\Conflict",
                "The destination node is not found",
            );
        }
        Some(n) if !n.is_dir => {
            return dav_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Sabre\\DAV\\Exception\\UnsupportedMediaType",
                "The destination node is not a collection",
            );
        }
        Some(_) => {}
    }
    if target == path {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\Forbidden",
            "Source and destination uri are identical.",
        );
    }
    if target.starts_with(&format!("{path}/")) {
        return dav_error(
            StatusCode::CONFLICT,
            "Sabre\\DAV\\Exception\\Conflict",
            "The destination may not be part of the same subtree as the source path.",
        );
    }
    let existed = user.files.get(&target).cloned();
    if let Some(old) = &existed {
        if !overwrite {
            return precondition_failed(
                "The destination node already exists, and the overwrite header is set to false",
            );
        }
        let _ = user.files.delete(&target, now);
        user.favorites.remove(&old.id);
    }
    let result = if copy {
        let mut next = || state.next_id();
        user.files.copy(path, &target, &mut next, now)
    } else {
        user.files.rename(path, &target, now)
    };
    match result {
        Ok(()) => {
            let mut resp = if existed.is_some() {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::CREATED
            }
            .into_response();
            if let Some(node) = user.files.get(&target) {
                etag_headers(&mut resp, node);
            }
            resp
        }
        Err(_) => dav_error(
            StatusCode::CONFLICT,
            "Sabre\\DAV\\Exception\\Conflict",
            "The destination node is not found",
        ),
    }
}

/// A qualified tag for a property in an answer (`oc:favorite`, or an inline namespace).
fn tag_of(name: &PropName) -> (String, String) {
    match name.ns.as_str() {
        NS_DAV => (format!("d:{}", name.name), String::new()),
        NS_OC => (format!("oc:{}", name.name), String::new()),
        NS_NC => (format!("nc:{}", name.name), String::new()),
        ns => (
            format!("x1:{}", name.name),
            format!(" xmlns:x1=\"{}\"", quick_xml::escape::escape(ns)),
        ),
    }
}

fn multistatus_response(body: String) -> Response {
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn bad_xml() -> Response {
    dav_error(
        StatusCode::BAD_REQUEST,
        "Sabre\\Xml\\ParseException",
        "The request body had an invalid XML body.",
    )
}

/// PROPPATCH: `oc:favorite` is the live property Nextcloud lets clients set here. Sabre is
/// atomic: if one property is refused (403), the others answer 424 and nothing changes.
fn proppatch(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str) -> Response {
    let Some(tree) = files_query::parse_tree(req.body) else {
        return bad_xml();
    };
    let mut changes: Vec<(PropName, Option<String>)> = Vec::new();
    for op in &tree.children {
        let remove = op.is(NS_DAV, "remove");
        if !remove && !op.is(NS_DAV, "set") {
            continue;
        }
        if let Some(prop) = op.child(NS_DAV, "prop") {
            for p in &prop.children {
                changes.push((
                    PropName::new(&p.ns, &p.name),
                    (!remove).then(|| p.text.clone()),
                ));
            }
        }
    }
    let mut world = state.world();
    let Some(user) = world.users.get_mut(&auth.user_id) else {
        return not_found(path);
    };
    let Some(node) = user.files.get(path).cloned() else {
        return not_found(path);
    };
    let supported = |n: &PropName| n.ns == NS_OC && n.name == "favorite";
    let all_ok = changes.iter().all(|(n, _)| supported(n));
    if all_ok {
        for (_, value) in &changes {
            if value.as_deref().is_some_and(files_query::truthy) {
                user.favorites.insert(node.id);
            } else {
                user.favorites.remove(&node.id);
            }
        }
    }
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\"><d:response><d:href>",
    );
    out.push_str(&quick_xml::escape::escape(href_for(
        req.href_base,
        path,
        node.is_dir,
    )));
    out.push_str("</d:href>");
    for (name, _) in &changes {
        let status = match (all_ok, supported(name)) {
            (true, _) => "HTTP/1.1 200 OK",
            (false, false) => "HTTP/1.1 403 Forbidden",
            (false, true) => "HTTP/1.1 424 Failed Dependency",
        };
        let (tag, xmlns) = tag_of(name);
        out.push_str(&format!(
            "<d:propstat><d:prop><{tag}{xmlns}/></d:prop><d:status>{status}</d:status></d:propstat>"
        ));
    }
    out.push_str("</d:response></d:multistatus>\n");
    multistatus_response(out)
}

/// Builds the entries for a set of nodes with the requested properties.
fn entries_for(
    user: &User,
    auth: &Auth,
    href_base: &str,
    nodes: &[(String, Node)],
    wanted: &[PropName],
) -> Vec<ResponseEntry> {
    nodes
        .iter()
        .map(|(p, n)| {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for name in wanted {
                match prop_value(user, auth, p, n, name) {
                    Some(v) => found.push((name.clone(), v)),
                    None => missing.push(name.clone()),
                }
            }
            ResponseEntry {
                href: href_for(href_base, p, n.is_dir),
                found,
                missing,
            }
        })
        .collect()
}

/// REPORT on a files path: `oc:filter-files` (favourites) as `FilesReportPlugin` answers it.
fn report(state: &AppState, auth: &Auth, req: &Request<'_>, path: &str) -> Response {
    let Some(tree) = files_query::parse_tree(req.body) else {
        return bad_xml();
    };
    if !tree.is(NS_OC, "filter-files") {
        return dav_error(
            StatusCode::FORBIDDEN,
            "Sabre\\DAV\\Exception\\ReportNotSupported",
            "The {DAV:}report you requested is not supported",
        );
    }
    let wanted = tree
        .child(NS_DAV, "prop")
        .map(|p| p.prop_names())
        .unwrap_or_else(allprops);
    let rules = tree.child(NS_OC, "filter-rules");
    let favorites_only = rules
        .and_then(|r| r.child(NS_OC, "favorite"))
        .is_some_and(|f| files_query::truthy(&f.text));
    let world = state.world();
    let tag_ids = match super::systemtags::filter_rule_tags(&world.files_meta, rules) {
        Ok(ids) => ids,
        Err(r) => return *r,
    };
    let Some(user) = world.users.get(&auth.user_id) else {
        return not_found(path);
    };
    if !user.files.is_dir(path) {
        return not_found(path);
    }
    let nodes: Vec<(String, Node)> = if favorites_only || !tag_ids.is_empty() {
        user.files
            .walk(path)
            .into_iter()
            .filter(|(_, n)| !favorites_only || user.favorites.contains(&n.id))
            .filter(|(_, n)| world.files_meta.has_tags(n.id, &tag_ids))
            .map(|(p, n)| (p.to_string(), n.clone()))
            .collect()
    } else {
        // No rule at all: Nextcloud answers with nothing rather than every file.
        Vec::new()
    };
    let entries = entries_for(user, auth, req.href_base, &nodes, &wanted);
    multistatus_response(multistatus(&entries))
}

/// `SEARCH /remote.php/dav/` with a `basicsearch` over the caller's files.
pub fn search(state: &AppState, auth: &Auth, body: &Bytes) -> Response {
    let bad = |m: &str| {
        dav_error(
            StatusCode::BAD_REQUEST,
            "Sabre\\DAV\\Exception\\BadRequest",
            m,
        )
    };
    let Some(tree) = files_query::parse_tree(body) else {
        return bad_xml();
    };
    let Some(basic) = tree.find(NS_DAV, "basicsearch") else {
        return bad("No basicsearch element found in the request");
    };
    let wanted = basic
        .child(NS_DAV, "select")
        .and_then(|s| s.child(NS_DAV, "prop"))
        .map(|p| p.prop_names())
        .unwrap_or_else(allprops);
    let Some(scope) = basic
        .child(NS_DAV, "from")
        .and_then(|f| f.child(NS_DAV, "scope"))
    else {
        return bad("No scope given");
    };
    let href = scope
        .child(NS_DAV, "href")
        .map(|h| h.text.trim().to_string())
        .unwrap_or_default();
    let depth_one = scope
        .child(NS_DAV, "depth")
        .is_some_and(|d| d.text.trim() == "1");
    let href = match href.find("://") {
        Some(i) => href[i + 3..]
            .find('/')
            .map_or("/".to_string(), |j| href[i + 3 + j..].to_string()),
        None => href,
    };
    let href = href
        .strip_prefix("/remote.php/dav")
        .map(str::to_string)
        .unwrap_or(href);
    let decoded: Vec<String> = href
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    if decoded.first().map(String::as_str) != Some("files") || decoded.get(1) != Some(&auth.user_id)
    {
        return bad("Invalid search scope");
    }
    let Some(scope_path) = fs::normalize(&decoded[2..].join("/")) else {
        return bad("Invalid search scope");
    };
    let where_op = basic
        .child(NS_DAV, "where")
        .and_then(|w| w.children.first());
    let limit = basic
        .child(NS_DAV, "limit")
        .and_then(|l| l.child(NS_DAV, "nresults"))
        .and_then(|n| n.text.trim().parse::<usize>().ok());
    let world = state.world();
    let Some(user) = world.users.get(&auth.user_id) else {
        return bad("Invalid search scope");
    };
    if !user.files.is_dir(&scope_path) {
        return not_found(&scope_path);
    }
    let mut hits: Vec<(String, Node)> = Vec::new();
    for (p, n) in user.files.walk(&scope_path) {
        if depth_one && fs::parent_of(p) != Some(scope_path.as_str()) {
            continue;
        }
        let name = fs::name_of(p);
        let candidate = files_query::Candidate {
            name,
            mime: fs::mime_for(name, n.is_dir),
            size: user.files.size(p),
            mtime: n.mtime,
            favorite: user.favorites.contains(&n.id),
            is_dir: n.is_dir,
            id: n.id,
        };
        let ok = match where_op {
            None => true,
            Some(op) => match files_query::matches(op, &candidate) {
                Ok(b) => b,
                Err(files_query::QueryError::BadRequest(m)) => return bad(&m),
            },
        };
        if ok {
            hits.push((p.to_string(), n.clone()));
        }
    }
    if let Some(order) = basic
        .child(NS_DAV, "orderby")
        .and_then(|o| o.child(NS_DAV, "order"))
    {
        let descending = order.child(NS_DAV, "descending").is_some();
        let key = order
            .child(NS_DAV, "prop")
            .and_then(|p| p.children.first())
            .map(|c| c.name.clone())
            .unwrap_or_default();
        hits.sort_by(|(pa, a), (pb, b)| {
            let ord = match key.as_str() {
                "getlastmodified" => a.mtime.cmp(&b.mtime),
                "size" | "getcontentlength" => user.files.size(pa).cmp(&user.files.size(pb)),
                _ => fs::name_of(pa).cmp(fs::name_of(pb)),
            };
            if descending { ord.reverse() } else { ord }
        });
    }
    if let Some(n) = limit {
        hits.truncate(n);
    }
    let base = format!("/remote.php/dav/files/{}/", encode_path(&auth.user_id));
    let entries = entries_for(user, auth, &base, &hits, &wanted);
    multistatus_response(multistatus(&entries))
}
