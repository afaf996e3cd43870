//! WebDAV under `/remote.php/dav/` (files, principals) and the legacy `/remote.php/webdav/`.
//! Files are the same per-user tree the Notes app writes. Calendars and address books are
//! forwarded to a real CalDAV/CardDAV server when one is configured ([`proxy`]), else served by
//! the built-in one ([`groupware`]).

pub mod comments;
pub mod files;
pub mod files_meta;
pub mod files_query;
pub mod groupware;
pub mod principal;
pub mod proxy;
pub mod schedule;
pub mod systemtags;
pub mod trashbin;
pub mod uploads;
pub mod versions;
pub mod xml;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::auth::{Auth, AuthOutcome, authenticate};
use crate::state::AppState;

/// A Sabre exception answer.
pub fn dav_error(status: StatusCode, exception: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(xml::error_document(exception, message)))
        .unwrap_or_else(|_| status.into_response())
}

fn unauthenticated(message: &str) -> Response {
    let mut resp = dav_error(
        StatusCode::UNAUTHORIZED,
        "Sabre\\DAV\\Exception\\NotAuthenticated",
        message,
    );
    resp.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"Nextcloud\", charset=\"UTF-8\""),
    );
    resp
}

/// Percent-decodes one path segment.
pub fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

const HREF_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'.')
    .remove(b'~')
    .remove(b'(')
    .remove(b')')
    .remove(b'/')
    .remove(b':')
    .remove(b'@');

/// Encodes a path for `<d:href>` like `Sabre\HTTP\encodePath`.
pub fn encode_path(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, HREF_KEEP).to_string()
}

/// Authenticates a DAV request or produces Sabre's 401.
fn dav_auth(state: &AppState, headers: &HeaderMap) -> Result<Auth, Box<Response>> {
    match authenticate(&state.world(), headers) {
        AuthOutcome::Ok(a) => Ok(a),
        AuthOutcome::Anonymous => Err(Box::new(unauthenticated(
            "No public access to this resource., No 'Authorization: Basic' header found. Either the client didn't send one, or the server is misconfigured, No 'Authorization: Bearer' header found. Either the client didn't send one, or the server is mis-configured",
        ))),
        AuthOutcome::Invalid => Err(Box::new(unauthenticated(
            "Username or password was incorrect",
        ))),
    }
}

/// `/remote.php/dav` and everything below it.
pub async fn dav(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = match dav_auth(&state, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let rest = uri
        .path()
        .strip_prefix("/remote.php/dav")
        .unwrap_or("")
        .to_string();
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    match segments.first().map(String::as_str) {
        None if method.as_str() == "SEARCH" => files::search(&state, &auth, &body),
        None => principal::root(&state, &auth, &method, &headers, &body),
        Some("files") => {
            let Some(owner) = segments.get(1) else {
                return principal::collection(&method, "/remote.php/dav/files/");
            };
            if *owner != auth.user_id {
                return dav_error(
                    StatusCode::NOT_FOUND,
                    "Sabre\\DAV\\Exception\\NotFound",
                    &format!("File with name {owner} could not be located"),
                );
            }
            let base = format!("/remote.php/dav/files/{}/", owner);
            files::handle(
                &state,
                &auth,
                files::Request {
                    method: &method,
                    headers: &headers,
                    body: &body,
                    segments: &segments[2..],
                    href_base: &base,
                },
            )
        }
        Some("calendars")
            if method == Method::POST && segments.len() == 3 && segments[2] == "outbox" =>
        {
            schedule::outbox_post(&state, &auth, &segments[1], &headers, &body).await
        }
        Some(kind @ ("calendars" | "addressbooks"))
            if state.inner.dav_upstream.lock().is_ok_and(|u| u.is_some()) =>
        {
            proxy::calendars_and_contacts(&state, &auth, kind, &method, &uri, &headers, body).await
        }
        Some(kind @ ("calendars" | "addressbooks")) => {
            let kind = if kind == "calendars" {
                groupware::Kind::Calendars
            } else {
                groupware::Kind::AddressBooks
            };
            groupware::handle(
                &state,
                &auth,
                kind,
                &method,
                &headers,
                &body,
                &segments[1..],
            )
        }
        Some(
            kind @ ("comments" | "trashbin" | "versions" | "systemtags" | "systemtags-relations"),
        ) => {
            let req = files_meta::MetaRequest {
                method: &method,
                headers: &headers,
                body: &body,
                segments: &segments[1..],
                raw_path: uri.path(),
            };
            match kind {
                "comments" => comments::handle(&state, &auth, req),
                "trashbin" => trashbin::handle(&state, &auth, req),
                "versions" => versions::handle(&state, &auth, req),
                "systemtags" => systemtags::tags(&state, &auth, req),
                _ => systemtags::relations(&state, &auth, req),
            }
        }
        Some("uploads") => uploads::handle(&state, &auth, &method, &headers, &body, &segments[1..]),
        Some("principals") => {
            principal::principals(&state, &auth, &method, &headers, &body, &segments[1..])
        }
        Some(other) => dav_error(
            StatusCode::NOT_FOUND,
            "Sabre\\DAV\\Exception\\NotFound",
            &format!("File with name {other} could not be located"),
        ),
    }
}

/// `/remote.php/webdav/...`: the user's files at the legacy location.
pub async fn webdav(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = match dav_auth(&state, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let rest = uri
        .path()
        .strip_prefix("/remote.php/webdav")
        .unwrap_or("")
        .to_string();
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    files::handle(
        &state,
        &auth,
        files::Request {
            method: &method,
            headers: &headers,
            body: &body,
            segments: &segments,
            href_base: "/remote.php/webdav/",
        },
    )
}
