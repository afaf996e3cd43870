//! The user's files over WebDAV (`/remote.php/dav/files/{user}`): listing, download, upload with
//! `If-Match`, folders, delete, move/copy, DAV SEARCH and favourites.
//!
//! Every path given to this API goes through [`normalize_path`] first, so a tool cannot climb out
//! of the user's root with `..`, and odd names (spaces, unicode, `#`, `%`, `?`, `&`) are encoded
//! exactly once on the way out and decoded once on the way back.

use bytes::Bytes;
use percent_encoding::percent_decode_str;
use quick_xml::escape::escape as xml_escape;
use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderName, LAST_MODIFIED};

use crate::client::Request;
use crate::dav::{DAV, DavResponse, NC, OC, encode_path, encode_segment, method};
use crate::{Error, NextcloudUser, Result};

/// Normalises a path relative to the user's root: leading/trailing and doubled slashes and `.`
/// segments go, `..` steps up. A `..` that would leave the root is refused (never silently
/// clamped), as are control characters. `arg` names the argument for the error message.
pub fn normalize_path(arg: &str, path: &str) -> Result<String> {
    if path.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_argument(
            arg,
            "contains control characters (such as a newline); use a plain path like `Documents/report.txt`",
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::invalid_argument(
                        arg,
                        format!(
                            "`{path}` would leave your Nextcloud home folder through `..`; give a path inside it, relative to the root (e.g. `Documents/notes.txt`)"
                        ),
                    ));
                }
            }
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

/// The properties every listing and search asks for.
pub(crate) const FILE_PROPS: &str = "<d:getlastmodified/><d:getetag/><d:getcontenttype/><d:resourcetype/>\
<d:getcontentlength/><oc:fileid/><oc:size/><oc:permissions/><oc:favorite/><nc:has-preview/>";

pub(crate) const NAMESPACES: &str =
    r#"xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns""#;

/// One file or folder as a listing or search reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// Nextcloud's file id (`oc:fileid`); stable across renames.
    pub id: Option<u64>,
    pub name: String,
    /// Path relative to the user's root, decoded, without leading slash (`""` is the root).
    pub path: String,
    pub is_dir: bool,
    /// Bytes; for folders the recursive size (`oc:size`).
    pub size: u64,
    /// `getlastmodified` as sent (an HTTP date).
    pub last_modified: Option<String>,
    /// Unquoted ETag.
    pub etag: Option<String>,
    pub content_type: Option<String>,
    /// Nextcloud permission letters (`RGDNVW`, `CK` for folders, `S` shared, `M` mounted).
    pub permissions: Option<String>,
    pub favorite: bool,
    pub has_preview: bool,
}

impl FileInfo {
    pub(crate) fn from_response(r: &DavResponse, user_id: &str) -> Self {
        let path = relative_path(&r.href, user_id);
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let is_dir = r.is_collection();
        let size = r
            .text(OC, "size")
            .or_else(|| r.text(DAV, "getcontentlength"))
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        Self {
            id: r.text(OC, "fileid").and_then(|s| s.trim().parse().ok()),
            name,
            path,
            is_dir,
            size,
            last_modified: r.text(DAV, "getlastmodified").map(str::to_string),
            etag: r.etag().map(|e| normalize_etag(&e)),
            content_type: r
                .text(DAV, "getcontenttype")
                .map(str::to_string)
                .or_else(|| is_dir.then(|| "httpd/unix-directory".to_string())),
            permissions: r.text(OC, "permissions").map(str::to_string),
            favorite: r
                .text(OC, "favorite")
                .is_some_and(|f| f.trim() == "1" || f.trim() == "true"),
            has_preview: r
                .text(NC, "has-preview")
                .is_some_and(|f| f.trim() == "true" || f.trim() == "1"),
        }
    }

    /// `last_modified` as Unix seconds, when parseable.
    pub fn modified_unix(&self) -> Option<i64> {
        let s = self.last_modified.as_deref()?;
        chrono::DateTime::parse_from_rfc2822(s)
            .ok()
            .map(|d| d.timestamp())
    }
}

/// ETags travel quoted and sometimes weak or with a proxy's compression suffix; callers get the
/// bare value back, which is what they pass to `If-Match` later.
pub fn normalize_etag(raw: &str) -> String {
    let mut e = raw.trim();
    e = e.strip_prefix("W/").unwrap_or(e);
    let e = e.trim_matches('"');
    for suffix in ["-gzip", "-br", "-deflate", "-zstd"] {
        if let Some(stripped) = e.strip_suffix(suffix) {
            return stripped.to_string();
        }
    }
    e.to_string()
}

/// The decoded path of an href below `/remote.php/dav/files/{user}/`, relative to the root.
fn relative_path(href: &str, user_id: &str) -> String {
    let decoded = percent_decode_str(href).decode_utf8_lossy().into_owned();
    let marker = format!("/remote.php/dav/files/{user_id}");
    let rest = match decoded.find(&marker) {
        Some(i) => &decoded[i + marker.len()..],
        None => decoded.as_str(),
    };
    rest.trim_matches('/').to_string()
}

/// What an upload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// True when the file did not exist before (201), false when it was replaced (204).
    pub created: bool,
    pub etag: Option<String>,
    pub file_id: Option<String>,
}

/// Whether an upload may replace an existing file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Only create; an existing file makes the upload fail with [`Error::Conflict`].
    CreateOnly,
    /// Replace whatever is there, or create.
    Overwrite,
    /// Replace only if the file still has this ETag (`*`: only if it exists).
    IfMatch(String),
}

/// A download in progress: headers known, body streamed chunk by chunk.
pub struct FileStream {
    resp: reqwest::Response,
    pub content_type: String,
    pub etag: Option<String>,
    pub size: Option<u64>,
    pub last_modified: Option<String>,
}

impl FileStream {
    /// The next piece of the body; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        self.resp
            .chunk()
            .await
            .map_err(|e| Error::Transport(format!("downloading a file: {e}")))
    }

    /// The whole body as text, decoded with the charset the response declares (UTF-8 if none).
    pub async fn into_text(self) -> Result<String> {
        self.resp
            .text()
            .await
            .map_err(|e| Error::Transport(format!("downloading a file: {e}")))
    }

    /// Reads up to `cap` bytes; `Ok(None)` when the body is longer (the rest is not read).
    pub async fn read_capped(mut self, cap: u64) -> Result<Option<Bytes>> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk().await? {
            if (out.len() + c.len()) as u64 > cap {
                return Ok(None);
            }
            out.extend_from_slice(&c);
        }
        Ok(Some(out.into()))
    }
}

/// What a move or copy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transferred {
    /// 201 when the destination was new, 204 when it replaced something.
    pub status: u16,
}

/// Filters for [`Files::search`]; all given ones must match.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// Folder to search below, relative to the root (`""` = everywhere).
    pub scope: String,
    /// Name pattern: `*` and `?` are wildcards; without any, the name must contain it.
    pub name: Option<String>,
    /// MIME type, or a family like `image/*` / `image/`.
    pub mime_type: Option<String>,
    pub only_favorites: bool,
    pub limit: Option<u32>,
}

impl SearchQuery {
    fn conditions(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(name) = self.name.as_deref().filter(|n| !n.is_empty()) {
            out.push(like("d:displayname", &name_to_like(name)));
        }
        if let Some(mime) = self.mime_type.as_deref().filter(|m| !m.is_empty()) {
            let mime = mime.trim();
            if let Some(family) = mime.strip_suffix("/*").or_else(|| mime.strip_suffix('/')) {
                out.push(like(
                    "d:getcontenttype",
                    &format!("{}/%", escape_like(family)),
                ));
            } else if mime.contains('%') {
                out.push(like("d:getcontenttype", mime));
            } else {
                out.push(format!(
                    "<d:eq><d:prop><d:getcontenttype/></d:prop><d:literal>{}</d:literal></d:eq>",
                    xml_escape(mime)
                ));
            }
        }
        if self.only_favorites {
            out.push(
                "<d:eq><d:prop><oc:favorite/></d:prop><d:literal>1</d:literal></d:eq>".to_string(),
            );
        }
        out
    }
}

fn like(prop: &str, pattern: &str) -> String {
    format!(
        "<d:like><d:prop><{prop}/></d:prop><d:literal>{}</d:literal></d:like>",
        xml_escape(pattern)
    )
}

/// `%` and `_` are SQL LIKE wildcards in Nextcloud's search; a literal one is escaped.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Turns a user pattern (`*.pdf`, `report?`, `budget`) into a LIKE pattern.
fn name_to_like(pattern: &str) -> String {
    if !pattern.contains(['*', '?']) {
        return format!("%{}%", escape_like(pattern));
    }
    let mut out = String::new();
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            c => out.push_str(&escape_like(&c.to_string())),
        }
    }
    out
}

/// The files API for one user; get it with [`NextcloudUser::files`].
pub struct Files<'a> {
    pub(crate) user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn files(&self) -> Files<'_> {
        Files { user: self }
    }
}

pub(crate) fn header_str(resp: &reqwest::Response, name: HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(crate) fn what(path: &str) -> String {
    if path.is_empty() {
        "Your home folder".to_string()
    } else {
        format!("`{path}`")
    }
}

impl Files<'_> {
    /// The encoded URL path of a normalised relative path.
    async fn url(&self, path: &str) -> Result<String> {
        self.user.files_path(path).await
    }

    /// The full URL (for `Destination`), encoded once.
    pub(crate) async fn absolute_url(&self, path: &str) -> Result<String> {
        Ok(format!(
            "{}{}",
            self.user.client().base_url(),
            self.url(path).await?
        ))
    }

    async fn propfind(&self, path: &str, depth: &str) -> Result<Vec<FileInfo>> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propfind {NAMESPACES}><d:prop>{FILE_PROPS}</d:prop></d:propfind>"#
        );
        let user_id = self.user.user_id().await?;
        let responses = self
            .user
            .dav_multistatus(
                "PROPFIND",
                &self.url(path).await?,
                Some(depth),
                &body,
                &what(path),
            )
            .await?;
        Ok(responses
            .iter()
            .map(|r| FileInfo::from_response(r, &user_id))
            .collect())
    }

    /// Properties of one file or folder.
    pub async fn stat(&self, path: &str) -> Result<FileInfo> {
        let path = normalize_path("path", path)?;
        self.propfind(&path, "0")
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::InvalidResponse(format!("no properties for {}", what(&path))))
    }

    /// The direct children of a folder (not the folder itself), folders first, then by name.
    pub async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let path = normalize_path("path", path)?;
        let mut entries = self.propfind(&path, "1").await?;
        if entries.len() == 1 && !entries[0].is_dir && entries[0].path == path {
            return Err(Error::invalid_argument(
                "path",
                format!("`{path}` is a file, not a folder; read it instead"),
            ));
        }
        entries.retain(|e| e.path != path);
        entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
        Ok(entries)
    }

    /// Starts a download; the body is read on demand (for caps and large files).
    pub async fn open(&self, path: &str) -> Result<FileStream> {
        let path = normalize_path("path", path)?;
        let req = Request::new(Method::GET, self.url(&path).await?, what(&path));
        let resp = self.user.send(req).await?;
        Ok(FileStream {
            content_type: header_str(&resp, CONTENT_TYPE)
                .unwrap_or_else(|| "application/octet-stream".into()),
            etag: header_str(&resp, ETAG).map(|e| normalize_etag(&e)),
            size: header_str(&resp, CONTENT_LENGTH).and_then(|s| s.parse().ok()),
            last_modified: header_str(&resp, LAST_MODIFIED),
            resp,
        })
    }

    /// Downloads a whole file.
    pub async fn download(&self, path: &str) -> Result<(Bytes, FileStreamInfo)> {
        let stream = self.open(path).await?;
        let info = FileStreamInfo {
            content_type: stream.content_type.clone(),
            etag: stream.etag.clone(),
            last_modified: stream.last_modified.clone(),
        };
        let bytes = stream
            .resp
            .bytes()
            .await
            .map_err(|e| Error::Transport(format!("downloading a file: {e}")))?;
        Ok((bytes, info))
    }

    /// Uploads a file. With [`WriteMode::IfMatch`], a file changed since that ETag is left
    /// alone and [`Error::Conflict`] is returned (HTTP 412).
    pub async fn upload(
        &self,
        path: &str,
        content: Bytes,
        content_type: Option<&str>,
        mode: WriteMode,
    ) -> Result<Uploaded> {
        let path = normalize_path("path", path)?;
        if path.is_empty() {
            return Err(Error::invalid_argument(
                "path",
                "needs a file name; the home folder itself cannot be written",
            ));
        }
        let mut req = Request::new(Method::PUT, self.url(&path).await?, what(&path));
        req.body = Some(content);
        req = req.header(
            CONTENT_TYPE,
            content_type.unwrap_or("application/octet-stream"),
        )?;
        req = match &mode {
            WriteMode::CreateOnly => req.header(http::header::IF_NONE_MATCH, "*")?,
            WriteMode::Overwrite => req,
            WriteMode::IfMatch(etag) if etag.trim() == "*" => {
                req.header(http::header::IF_MATCH, "*")?
            }
            WriteMode::IfMatch(etag) => req.header(
                http::header::IF_MATCH,
                &format!("\"{}\"", normalize_etag(etag)),
            )?,
        };
        let resp = self.user.send(req).await?;
        Ok(Uploaded {
            created: resp.status().as_u16() == 201,
            etag: header_str(&resp, HeaderName::from_static("oc-etag"))
                .or_else(|| header_str(&resp, ETAG))
                .map(|e| normalize_etag(&e)),
            file_id: header_str(&resp, HeaderName::from_static("oc-fileid")),
        })
    }

    /// Creates one folder (its parent must exist). Returns false if a folder was already there.
    pub async fn mkcol(&self, path: &str) -> Result<bool> {
        let path = normalize_path("path", path)?;
        if path.is_empty() {
            return Ok(false);
        }
        let req = Request::new(method("MKCOL"), self.url(&path).await?, what(&path));
        match self.user.send(req).await {
            Ok(_) => Ok(true),
            Err(Error::Status { status: 405, .. }) => match self.stat(&path).await {
                Ok(info) if info.is_dir => Ok(false),
                Ok(_) => Err(Error::invalid_argument(
                    "path",
                    format!("a file named `{path}` already exists"),
                )),
                Err(e) => Err(e),
            },
            Err(Error::Status { status: 409, .. }) => Err(Error::invalid_argument(
                "path",
                format!(
                    "the parent folder of `{path}` does not exist; create it first (one level at a time)"
                ),
            )),
            Err(e) => Err(e),
        }
    }

    /// Deletes a file or a folder with all it contains (to the trash bin when enabled).
    pub async fn delete(&self, path: &str) -> Result<()> {
        let path = normalize_path("path", path)?;
        if path.is_empty() {
            return Err(Error::invalid_argument(
                "path",
                "refusing to delete your whole home folder",
            ));
        }
        let req = Request::new(Method::DELETE, self.url(&path).await?, what(&path));
        self.user.send(req).await?;
        Ok(())
    }

    /// Moves (renames) a file or folder.
    pub async fn move_to(
        &self,
        from: &str,
        to: &str,
        overwrite: bool,
        if_destination_match: Option<&str>,
    ) -> Result<Transferred> {
        self.transfer("MOVE", from, to, overwrite, if_destination_match)
            .await
    }

    /// Copies a file or folder.
    pub async fn copy_to(
        &self,
        from: &str,
        to: &str,
        overwrite: bool,
        if_destination_match: Option<&str>,
    ) -> Result<Transferred> {
        self.transfer("COPY", from, to, overwrite, if_destination_match)
            .await
    }

    async fn transfer(
        &self,
        verb: &'static str,
        from: &str,
        to: &str,
        overwrite: bool,
        if_destination_match: Option<&str>,
    ) -> Result<Transferred> {
        let from = normalize_path("source_path", from)?;
        let to = normalize_path("destination_path", to)?;
        if from.is_empty() {
            return Err(Error::invalid_argument(
                "source_path",
                "cannot move or copy the home folder itself",
            ));
        }
        if to.is_empty() {
            return Err(Error::invalid_argument(
                "destination_path",
                "needs a name; the home folder itself cannot be replaced",
            ));
        }
        if from == to {
            return Err(Error::invalid_argument(
                "destination_path",
                "is the same as source_path",
            ));
        }
        if to.starts_with(&format!("{from}/")) {
            return Err(Error::invalid_argument(
                "destination_path",
                "is inside source_path; a folder cannot be put inside itself",
            ));
        }
        let mut req = Request::new(method(verb), self.url(&from).await?, what(&from))
            .header(
                HeaderName::from_static("destination"),
                &self.absolute_url(&to).await?,
            )?
            .header(
                HeaderName::from_static("overwrite"),
                if overwrite { "T" } else { "F" },
            )?;
        if let Some(etag) = if_destination_match {
            let etag = normalize_etag(etag);
            if etag.is_empty() || etag == "*" {
                return Err(Error::invalid_argument(
                    "if_destination_match",
                    "expected the destination's ETag from a listing or read (a wildcard cannot be expressed)",
                ));
            }
            if !overwrite {
                return Err(Error::invalid_argument(
                    "if_destination_match",
                    "only makes sense with overwrite=true (it says which version of the destination may be replaced)",
                ));
            }
            // RFC 4918 tagged list: the condition applies to the destination, not the source.
            req = req.header(
                HeaderName::from_static("if"),
                &format!("<{}> ([\"{etag}\"])", self.absolute_url(&to).await?),
            )?;
        }
        let resp = match self.user.send(req).await {
            Ok(r) => r,
            Err(Error::Conflict { .. }) if if_destination_match.is_none() => {
                return Err(Error::invalid_argument(
                    "destination_path",
                    format!("`{to}` already exists; pass overwrite=true to replace it"),
                ));
            }
            Err(Error::Conflict { current_etag, .. }) => {
                return Err(Error::Conflict {
                    what: format!("The destination `{to}`"),
                    current_etag,
                });
            }
            Err(Error::NotFound { message, .. }) if if_destination_match.is_some() => {
                return Err(Error::NotFound {
                    what: format!("`{from}` or the destination `{to}`"),
                    message,
                });
            }
            Err(Error::Status { status: 409, .. }) => {
                return Err(Error::invalid_argument(
                    "destination_path",
                    format!("the parent folder of `{to}` does not exist"),
                ));
            }
            Err(e) => return Err(e),
        };
        Ok(Transferred {
            status: resp.status().as_u16(),
        })
    }

    /// Marks or unmarks a file or folder as favourite (PROPPATCH `oc:favorite`).
    pub async fn set_favorite(&self, path: &str, favorite: bool) -> Result<()> {
        let path = normalize_path("path", path)?;
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propertyupdate {NAMESPACES}><d:set><d:prop><oc:favorite>{}</oc:favorite></d:prop></d:set></d:propertyupdate>"#,
            u8::from(favorite)
        );
        let responses = self
            .user
            .dav_multistatus(
                "PROPPATCH",
                &self.url(&path).await?,
                None,
                &body,
                &what(&path),
            )
            .await?;
        // A refused property comes back in a non-2xx propstat, which the parser drops.
        if responses
            .first()
            .is_some_and(|r| r.prop(OC, "favorite").is_none())
        {
            return Err(Error::Status {
                status: 403,
                operation: format!("PROPPATCH {}", what(&path)),
                message: Some("the favourite flag could not be changed".into()),
            });
        }
        Ok(())
    }

    /// Favourites below `scope` (REPORT `oc:filter-files`).
    pub async fn favorites(&self, scope: &str) -> Result<Vec<FileInfo>> {
        let scope = normalize_path("scope", scope)?;
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><oc:filter-files {NAMESPACES}><d:prop>{FILE_PROPS}</d:prop><oc:filter-rules><oc:favorite>1</oc:favorite></oc:filter-rules></oc:filter-files>"#
        );
        let user_id = self.user.user_id().await?;
        let responses = self
            .user
            .dav_multistatus(
                "REPORT",
                &self.url(&scope).await?,
                None,
                &body,
                &what(&scope),
            )
            .await?;
        Ok(responses
            .iter()
            .map(|r| FileInfo::from_response(r, &user_id))
            .collect())
    }

    /// DAV SEARCH (`basicsearch`) below a folder: name, MIME type, favourites.
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<FileInfo>> {
        let scope = normalize_path("scope", &query.scope)?;
        let user_id = self.user.user_id().await?;
        let conditions = query.conditions();
        let filter = match conditions.len() {
            0 => "<d:like><d:prop><d:displayname/></d:prop><d:literal>%</d:literal></d:like>"
                .to_string(),
            1 => conditions[0].clone(),
            _ => format!("<d:and>{}</d:and>", conditions.concat()),
        };
        let mut href = format!("/files/{}", encode_segment(&user_id));
        if !scope.is_empty() {
            href.push('/');
            href.push_str(&encode_path(&scope));
        }
        let limit = query
            .limit
            .map(|n| format!("<d:limit><d:nresults>{n}</d:nresults></d:limit>"))
            .unwrap_or_default();
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><d:searchrequest {NAMESPACES}><d:basicsearch><d:select><d:prop>{FILE_PROPS}</d:prop></d:select><d:from><d:scope><d:href>{}</d:href><d:depth>infinity</d:depth></d:scope></d:from><d:where>{filter}</d:where><d:orderby><d:order><d:prop><d:getlastmodified/></d:prop><d:descending/></d:order></d:orderby>{limit}</d:basicsearch></d:searchrequest>"#,
            xml_escape(&href)
        );
        let responses = self
            .user
            .dav_multistatus("SEARCH", "/remote.php/dav/", None, &body, "The file search")
            .await?;
        let mut out: Vec<FileInfo> = responses
            .iter()
            .map(|r| FileInfo::from_response(r, &user_id))
            .filter(|f| f.path != scope)
            .collect();
        if let Some(n) = query.limit {
            out.truncate(n as usize);
        }
        Ok(out)
    }
}

/// Headers of a finished download.
#[derive(Clone, Debug)]
pub struct FileStreamInfo {
    pub content_type: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_cannot_escape() {
        assert_eq!(normalize_path("p", "/a//./b/").unwrap(), "a/b");
        assert_eq!(normalize_path("p", "a/../b").unwrap(), "b");
        assert_eq!(normalize_path("p", "").unwrap(), "");
        assert_eq!(normalize_path("p", "a b/#%?&ü").unwrap(), "a b/#%?&ü");
        let err = normalize_path("path", "a/../../etc")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`path`") && err.contains(".."), "{err}");
        assert!(normalize_path("p", "..").is_err());
        assert!(normalize_path("p", "a\nb").is_err());
    }

    #[test]
    fn hrefs_become_relative_paths() {
        assert_eq!(
            relative_path("/nc/remote.php/dav/files/alice/a%20b/%23x%3F.md", "alice"),
            "a b/#x?.md"
        );
        assert_eq!(relative_path("/remote.php/dav/files/alice/", "alice"), "");
    }

    #[test]
    fn etags_are_normalised() {
        assert_eq!(normalize_etag("W/\"abc-gzip\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
    }

    #[test]
    fn search_conditions_escape_and_translate() {
        let q = SearchQuery {
            name: Some("*.pdf".into()),
            mime_type: Some("image/*".into()),
            only_favorites: true,
            ..Default::default()
        };
        let c = q.conditions().concat();
        assert!(c.contains("<d:literal>%.pdf</d:literal>"), "{c}");
        assert!(c.contains("<d:literal>image/%</d:literal>"), "{c}");
        assert!(c.contains("oc:favorite"), "{c}");
        assert_eq!(name_to_like("a&b_c"), "%a&b\\_c%");
    }
}
