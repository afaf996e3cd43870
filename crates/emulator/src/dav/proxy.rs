//! `/remote.php/dav/calendars/{user}/...` and `/remote.php/dav/addressbooks/users/{user}/...`,
//! forwarded to a real CalDAV/CardDAV server (Radicale in the tests) when one is configured.
//!
//! CalDAV has too much behaviour to imitate faithfully (time-range queries over recurring
//! events, text-match collations, preconditions), so the emulator does what it is good at,
//! Nextcloud's authentication and URL layout, and lets a real server answer. The upstream
//! sees the user id as its user and is told the public prefix with `X-Script-Name`, so the
//! hrefs it returns are Nextcloud's.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::dav_error;
use crate::auth::Auth;
use crate::state::AppState;

fn not_found(name: &str) -> Response {
    dav_error(
        StatusCode::NOT_FOUND,
        "Sabre\\DAV\\Exception\\NotFound",
        &format!("File with name {name} could not be located"),
    )
}

/// Forwards one request below the calendar or address book home.
pub async fn calendars_and_contacts(
    state: &AppState,
    auth: &Auth,
    kind: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let upstream = state.inner.dav_upstream.lock().ok().and_then(|u| u.clone());
    let Some(upstream) = upstream else {
        return not_found(kind);
    };
    let prefix = if kind == "calendars" {
        "/remote.php/dav/calendars".to_string()
    } else {
        "/remote.php/dav/addressbooks/users".to_string()
    };
    let rest = uri.path().strip_prefix(&prefix).unwrap_or("");
    let owner = rest.trim_start_matches('/').split('/').next().unwrap_or("");
    if owner.is_empty() {
        return not_found(kind);
    }
    if super::decode_segment(owner) != auth.user_id {
        return not_found(owner);
    }
    let url = format!("{upstream}{rest}");
    let Ok(m) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    let mut req = upstream_client()
        .request(m, &url)
        .header("X-Script-Name", prefix)
        .header("Authorization", upstream_authorization(&auth.user_id))
        .body(body.to_vec());
    for name in [
        "depth",
        "if-match",
        "if-none-match",
        "content-type",
        "destination",
        "overwrite",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            req = req.header(name, v);
        }
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return dav_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sabre\\DAV\\Exception\\ServiceUnavailable",
                &format!("calendar backend unreachable: {e}"),
            );
        }
    };
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::builder().status(status);
    for name in ["content-type", "etag", "last-modified", "location"] {
        if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
            out = out.header(name, v);
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    out.body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// One connection pool for every request forwarded to the CalDAV/CardDAV server, instead of a
/// client (and its TLS set-up) per request.
pub(super) fn upstream_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

/// The upstream server trusts the emulator: requests go as the Nextcloud user, any password.
pub(super) fn upstream_authorization(user: &str) -> String {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:x"));
    format!("Basic {credentials}")
}
