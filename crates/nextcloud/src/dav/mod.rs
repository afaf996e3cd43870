//! WebDAV basics shared by the file-based apps: principal discovery, path encoding and
//! plain downloads below `/remote.php/dav/files/{user}`.

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use reqwest::Method;

use crate::client::{Request, xml_element_text};

pub use multistatus::{
    CALDAV, CARDDAV, DAV, Element, NC, OC, Prop, PropName, Response as DavResponse,
    parse_multistatus,
};

pub(crate) mod multistatus;
use crate::{Error, NextcloudUser, Result};

/// Everything but RFC 3986 unreserved characters is encoded in a path segment, so names with
/// spaces, `#`, `%`, `?` or `&` reach Nextcloud unchanged.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Percent-encodes a `/`-separated relative path, segment by segment; empty segments vanish.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// A downloaded file.
#[derive(Clone, Debug)]
pub struct Download {
    pub content: Bytes,
    pub content_type: String,
    pub etag: Option<String>,
}

const PRINCIPAL_QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#;

/// Asks the DAV server who we are; the principal URL ends in the user id.
pub(crate) async fn current_user_principal(user: &NextcloudUser) -> Result<String> {
    let req = Request::new(method("PROPFIND"), "/remote.php/dav/", "The DAV principal")
        .header(http::HeaderName::from_static("depth"), "0")?
        .body("application/xml; charset=utf-8", PRINCIPAL_QUERY);
    let resp = user.send(req).await?;
    let body = resp
        .text()
        .await
        .map_err(|e| Error::Transport(format!("reading the DAV principal: {e}")))?;
    let href = principal_href(&body).ok_or_else(|| {
        Error::InvalidResponse("no current-user-principal in the PROPFIND answer".into())
    })?;
    user_id_from_principal(&href)
        .ok_or_else(|| Error::InvalidResponse(format!("unexpected principal URL {href}")))
}

fn principal_href(body: &str) -> Option<String> {
    // The principal's href is the only one inside <d:current-user-principal>.
    let start = body.find("current-user-principal")?;
    xml_element_text(&body[start.saturating_sub(3)..], "href")
}

fn user_id_from_principal(href: &str) -> Option<String> {
    let tail = href.split("/principals/users/").nth(1)?;
    let id = tail.trim_end_matches('/');
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some(percent_decode_str(id).decode_utf8().ok()?.into_owned())
}

/// A DAV method other than the ones `http::Method` names.
pub(crate) fn method(name: &'static str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("DAV method names are valid tokens")
}

impl NextcloudUser {
    /// Sends a PROPFIND/REPORT/SEARCH-style request with an XML body and parses the 207
    /// multistatus answer. `path` is an already-encoded URL path below the base URL.
    pub async fn dav_multistatus(
        &self,
        method: &'static str,
        path: &str,
        depth: Option<&str>,
        body: &str,
        what: &str,
    ) -> Result<Vec<DavResponse>> {
        let mut req = Request::new(crate::dav::method(method), path, what)
            .body("application/xml; charset=utf-8", body.to_string());
        if let Some(depth) = depth {
            req = req.header(http::HeaderName::from_static("depth"), depth)?;
        }
        let resp = self.send(req).await?;
        let text = resp
            .text()
            .await
            .map_err(|e| Error::Transport(format!("reading the {method} answer: {e}")))?;
        parse_multistatus(&text)
    }

    /// URL path of a file below the user's DAV root. `path` is relative and unencoded.
    pub async fn files_path(&self, path: &str) -> Result<String> {
        let user_id = self.user_id().await?;
        Ok(format!(
            "/remote.php/dav/files/{}/{}",
            encode_segment(&user_id),
            encode_path(path)
        ))
    }

    /// Downloads a whole (small) file. `path` is relative to the user's root, unencoded.
    pub async fn download(&self, path: &str, what: &str) -> Result<Download> {
        let req = Request::new(Method::GET, self.files_path(path).await?, what);
        let resp = self.send(req).await?;
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_string());
        let content = resp
            .bytes()
            .await
            .map_err(|e| Error::Transport(format!("downloading {what}: {e}")))?;
        Ok(Download {
            content,
            content_type,
            etag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_names_are_encoded_once() {
        assert_eq!(
            encode_path("/Notes/a b#c%d?e&f/ü.md"),
            "Notes/a%20b%23c%25d%3Fe%26f/%C3%BC.md"
        );
    }

    #[test]
    fn principal_parsing() {
        let body = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><d:response><d:href>/remote.php/dav/</d:href><d:propstat><d:prop><d:current-user-principal><d:href>/nc/remote.php/dav/principals/users/jane%40example.com/</d:href></d:current-user-principal></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        let href = principal_href(body).unwrap();
        assert_eq!(
            user_id_from_principal(&href).as_deref(),
            Some("jane@example.com")
        );
        assert_eq!(user_id_from_principal("/remote.php/dav/principals/"), None);
    }
}
