//! What Nextcloud keeps *about* files besides their content: comments (`comments` app), the
//! trash bin (`files_trashbin`), old versions (`files_versions`) and collaborative system tags
//! (`systemtags`). One store in the [`crate::state::World`]; the DAV endpoints live in
//! [`super::comments`], [`super::trashbin`], [`super::versions`] and [`super::systemtags`].

use std::collections::{BTreeSet, HashMap};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::dav_error;
use crate::fs::Node;

/// One comment on a file (`oc_comments` row).
#[derive(Clone, Debug)]
pub struct Comment {
    pub id: u64,
    pub object_type: String,
    pub object_id: String,
    pub actor_type: String,
    pub actor_id: String,
    pub verb: String,
    pub message: String,
    /// Unix seconds.
    pub created: i64,
}

/// A system tag (`oc_systemtag` row).
#[derive(Clone, Debug)]
pub struct Tag {
    pub id: u64,
    pub name: String,
    pub user_visible: bool,
    pub user_assignable: bool,
}

/// A deleted file or folder waiting in a user's trash bin.
#[derive(Clone, Debug)]
pub struct TrashEntry {
    /// Original name.
    pub name: String,
    /// Folder it was deleted from, relative to the user's root (`""` for the root).
    pub location: String,
    /// Unix seconds; the DAV name is `{name}.d{deleted}`.
    pub deleted: i64,
    /// The node (relative path `""`) and everything that was below it.
    pub nodes: Vec<(String, Node)>,
}

impl TrashEntry {
    /// The name the trash bin shows it under, as `files_trashbin` stores it.
    pub fn dav_name(&self) -> String {
        format!("{}.d{}", self.name, self.deleted)
    }

    pub fn root(&self) -> Option<&Node> {
        self.nodes.first().map(|(_, n)| n)
    }
}

/// One earlier content of a file.
#[derive(Clone, Debug)]
pub struct Version {
    /// The file's mtime when this content was current; also the version's DAV name.
    pub mtime: i64,
    pub content: Bytes,
    pub etag: String,
    pub author: String,
    pub label: String,
}

/// Comments, tags, trash and versions of every user.
#[derive(Debug, Default)]
pub struct FilesMeta {
    pub comments: Vec<Comment>,
    pub next_comment_id: u64,
    pub tags: Vec<Tag>,
    pub next_tag_id: u64,
    /// (file id, tag id) pairs.
    pub tag_relations: BTreeSet<(u64, u64)>,
    /// Per user id, oldest first.
    pub trash: HashMap<String, Vec<TrashEntry>>,
    /// Per file id, oldest first (the current content is not in here).
    pub versions: HashMap<u64, Vec<Version>>,
}

impl FilesMeta {
    /// Records the content an overwrite replaces, as `files_versions` does on write. Empty files
    /// make no version; a version with the same mtime is replaced.
    pub fn record_version(&mut self, old: &Node, author: &str) {
        if old.is_dir || old.content.is_empty() {
            return;
        }
        let list = self.versions.entry(old.id).or_default();
        list.retain(|v| v.mtime != old.mtime);
        list.push(Version {
            mtime: old.mtime,
            content: old.content.clone(),
            etag: old.etag.clone(),
            author: author.to_string(),
            label: String::new(),
        });
        list.sort_by_key(|v| v.mtime);
    }

    pub fn tag(&self, id: u64) -> Option<&Tag> {
        self.tags.iter().find(|t| t.id == id)
    }

    /// Whether the file carries every one of these tags.
    pub fn has_tags(&self, file_id: u64, tag_ids: &[u64]) -> bool {
        tag_ids
            .iter()
            .all(|t| self.tag_relations.contains(&(file_id, *t)))
    }
}

/// A request below one of the meta endpoints, authenticated, its path split and decoded.
pub struct MetaRequest<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    /// Segments after the endpoint's own (`comments`, `trashbin`, ...).
    pub segments: &'a [String],
    /// The request path as sent (percent-encoded), for `Content-Location`.
    pub raw_path: &'a str,
}

impl MetaRequest<'_> {
    pub fn depth(&self) -> String {
        self.headers
            .get("depth")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("infinity")
            .trim()
            .to_ascii_lowercase()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The path part of the `Destination` header, percent-decoded, split into segments after
    /// `/remote.php/dav/`.
    pub fn destination(&self) -> Option<Vec<String>> {
        let dest = self.headers.get("destination")?.to_str().ok()?;
        let path = match dest.find("://") {
            Some(i) => dest[i + 3..].find('/').map_or("/", |j| &dest[i + 3 + j..]),
            None => dest,
        };
        let rest = path.strip_prefix("/remote.php/dav")?;
        Some(
            rest.split('/')
                .filter(|s| !s.is_empty())
                .map(super::decode_segment)
                .collect(),
        )
    }
}

pub fn not_found(message: &str) -> Response {
    dav_error(
        StatusCode::NOT_FOUND,
        "Sabre\\DAV\\Exception\\NotFound",
        message,
    )
}

pub fn bad_request(message: &str) -> Response {
    dav_error(
        StatusCode::BAD_REQUEST,
        "Sabre\\DAV\\Exception\\BadRequest",
        message,
    )
}

pub fn conflict(message: &str) -> Response {
    dav_error(
        StatusCode::CONFLICT,
        "Sabre\\DAV\\Exception\\Conflict",
        message,
    )
}

pub fn forbidden(message: &str) -> Response {
    dav_error(
        StatusCode::FORBIDDEN,
        "Sabre\\DAV\\Exception\\Forbidden",
        message,
    )
}

pub fn precondition_failed(message: &str) -> Response {
    dav_error(
        StatusCode::PRECONDITION_FAILED,
        "Sabre\\DAV\\Exception\\PreconditionFailed",
        message,
    )
}

pub fn unsupported_media_type() -> Response {
    dav_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Sabre\\DAV\\Exception\\UnsupportedMediaType",
        "",
    )
}

pub fn method_not_allowed() -> Response {
    dav_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Sabre\\DAV\\Exception\\MethodNotAllowed",
        "",
    )
}

pub fn bad_xml() -> Response {
    dav_error(
        StatusCode::BAD_REQUEST,
        "Sabre\\Xml\\ParseException",
        "The request body had an invalid XML body.",
    )
}

/// A 207 answer with a rendered multistatus body.
pub fn multistatus_response(body: String) -> Response {
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `201 Created` with a `Content-Location`, as the comments and system tags POSTs answer.
pub fn created_at(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(http::header::CONTENT_LOCATION, location)
        .header(http::header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::CREATED.into_response())
}

/// RFC 1123 date in GMT, as Sabre writes `getlastmodified`.
pub fn http_date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
