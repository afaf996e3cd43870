use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tracing::Instrument;

use crate::capabilities::Capabilities;
use crate::{ClientConfig, Credentials, Error, Result};

/// The shared handle to one Nextcloud instance: a pooled HTTP client plus caches that are
/// per instance (capabilities per login, user ids per login). Cheap to clone.
#[derive(Clone)]
pub struct Nextcloud {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    /// `base_url` without a trailing slash, so that API paths can be appended.
    base: String,
    /// `base`, parsed once; `None` if it has a query or fragment (see [`url_below`]).
    base_parsed: Option<url::Url>,
    capabilities: Mutex<HashMap<String, (Instant, Arc<Capabilities>)>>,
    user_ids: Mutex<HashMap<String, String>>,
}

/// Public facts from `status.php`; needs no credentials.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    pub installed: bool,
    pub maintenance: bool,
    pub version: String,
    pub versionstring: String,
    #[serde(default)]
    pub productname: String,
}

impl Nextcloud {
    pub fn new(config: ClientConfig) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::limited(5));
        if !config.verify_tls {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(path) = &config.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Error::Config(format!("cannot read CA bundle {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::Config(format!("CA bundle {} is not PEM: {e}", path.display()))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let base = config.base_url.as_str().trim_end_matches('/').to_string();
        let base_parsed = url::Url::parse(&base)
            .ok()
            .filter(|u| u.query().is_none() && u.fragment().is_none());
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                base,
                base_parsed,
                capabilities: Mutex::default(),
                user_ids: Mutex::default(),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The pooled HTTP client, for the few requests made without user credentials.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// A view of the instance acting as one user. Cheap: shares the pool and caches.
    pub fn user(&self, credentials: Credentials) -> NextcloudUser {
        NextcloudUser {
            nc: self.clone(),
            credentials: Arc::new(credentials),
        }
    }

    /// `status.php`: whether the instance is installed, in maintenance, and its version.
    pub async fn status(&self) -> Result<ServerStatus> {
        let url = format!("{}/status.php", self.inner.base);
        let resp = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, self.inner.config.request_timeout))?;
        if !resp.status().is_success() {
            return Err(Error::Status {
                status: resp.status().as_u16(),
                operation: "GET status.php".into(),
                message: None,
            });
        }
        resp.json()
            .await
            .map_err(|e| Error::InvalidResponse(format!("status.php: {e}")))
    }
}

/// One person's access to the instance. All app APIs start here.
#[derive(Clone)]
pub struct NextcloudUser {
    pub(crate) nc: Nextcloud,
    credentials: Arc<Credentials>,
}

impl std::fmt::Debug for NextcloudUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextcloudUser")
            .field("base", &self.nc.inner.base)
            .field("login_name", &self.credentials.login_name())
            .finish()
    }
}

/// A request about to be sent, kept as plain data so that it can be re-sent on retry.
pub(crate) struct Request {
    pub method: Method,
    /// Path (and query) below the base URL, already percent-encoded, starting with `/`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// What the request is about, for error messages ("Note 12").
    pub what: String,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>, what: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: HeaderMap::new(),
            body: None,
            what: what.into(),
        }
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::invalid_argument(name.as_str(), "contains invalid characters"))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    pub fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidResponse(format!("cannot encode request: {e}")))?;
        self.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Some(bytes.into());
        Ok(self)
    }

    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        self.body = Some(body.into());
        self
    }

    /// Retrying on 429/423 is safe for these: the server did not act on the first attempt.
    fn is_idempotent(&self) -> bool {
        self.is_safe() || self.method == Method::PUT || self.method == Method::DELETE
    }

    /// Retrying after a broken connection is only safe when the request changes nothing.
    fn is_safe(&self) -> bool {
        matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "OPTIONS" | "PROPFIND" | "REPORT"
        ) || (self.method.as_str() == "SEARCH")
    }

    fn operation(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        format!("{} {}", self.method, path)
    }
}

impl NextcloudUser {
    pub fn client(&self) -> &Nextcloud {
        &self.nc
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Sends a request with this user's credentials, retrying transient failures as the
    /// [`crate::RetryPolicy`] allows, and turns any non-2xx (other than 304) into an [`Error`].
    pub(crate) async fn send(&self, request: Request) -> Result<reqwest::Response> {
        let inner = &self.nc.inner;
        let policy = &inner.config.retry;
        let mut attempt: u32 = 0;
        loop {
            let app = api_of(&request.path);
            // One span per attempt, for tracing systems (nothing listens unless the
            // application installs one). No path: it can name a person's files.
            let span = tracing::info_span!(
                target: "nextcloud::span",
                "nextcloud request",
                otel.name = format_args!("{} {app}", request.method),
                otel.kind = "client",
                http.request.method = %request.method,
                nextcloud.app = app,
                http.response.status_code = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            );
            let mut headers = request.headers.clone();
            if let Some(observer) = &inner.config.observer {
                span.in_scope(|| observer.inject_headers(&mut headers));
            }
            let builder = match inner
                .base_parsed
                .as_ref()
                .and_then(|base| url_below(base, &request.path))
            {
                Some(parsed) => inner.http.request(request.method.clone(), parsed),
                None => inner.http.request(
                    request.method.clone(),
                    format!("{}{}", inner.base, request.path),
                ),
            };
            let mut builder = builder
                .header(
                    reqwest::header::AUTHORIZATION,
                    self.credentials.authorization().clone(),
                )
                .headers(headers);
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let sent = Instant::now();
            let outcome = builder.send().instrument(span.clone()).await;
            let status = outcome.as_ref().ok().map(|r| r.status().as_u16());
            match status {
                Some(code) => {
                    span.record("http.response.status_code", code);
                    if code >= 400 {
                        span.record("otel.status_code", "ERROR");
                    }
                }
                None => {
                    span.record("otel.status_code", "ERROR");
                }
            }
            if let Some(observer) = &inner.config.observer {
                observer.finished(app, status, sent.elapsed());
            }
            let can_retry = attempt < policy.max_retries;
            match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() || status == StatusCode::NOT_MODIFIED {
                        return Ok(resp);
                    }
                    let transient =
                        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::LOCKED;
                    if transient && can_retry && request.is_idempotent() {
                        let wait = retry_after(resp.headers())
                            .unwrap_or_else(|| backoff(policy.initial_backoff, attempt));
                        if wait <= policy.max_wait {
                            tracing::debug!(
                                status = status.as_u16(),
                                wait_ms = wait.as_millis() as u64,
                                operation = %request.operation(),
                                "retrying after a transient answer"
                            );
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                    }
                    return Err(error_from_response(resp, &request).await);
                }
                Err(err) => {
                    let retryable = (err.is_connect() && request.is_idempotent())
                        || (is_connection_reset(&err) && request.is_safe());
                    if retryable && can_retry {
                        let wait = backoff(policy.initial_backoff, attempt);
                        tracing::debug!(
                            wait_ms = wait.as_millis() as u64,
                            operation = %request.operation(),
                            "retrying after a connection failure"
                        );
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::from_reqwest(err, inner.config.request_timeout));
                }
            }
        }
    }

    /// Sends a request and decodes a JSON body.
    pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<T> {
        let operation = request.operation();
        let resp = self.send(request).await?;
        decode_json(resp, &operation).await
    }

    /// Server capabilities as this user sees them, cached for `capabilities_ttl`.
    pub async fn capabilities(&self) -> Result<Arc<Capabilities>> {
        let key = self.credentials.login_name().to_string();
        let ttl = self.nc.inner.config.capabilities_ttl;
        if let Some((at, caps)) = lock(&self.nc.inner.capabilities).get(&key)
            && at.elapsed() < ttl
        {
            return Ok(caps.clone());
        }
        let caps = Arc::new(crate::capabilities::fetch(self).await?);
        lock(&self.nc.inner.capabilities).insert(key, (Instant::now(), caps.clone()));
        Ok(caps)
    }

    /// The Nextcloud user id, found by DAV principal discovery (the login name can be an
    /// e-mail address or LDAP name that differs from the id used in DAV paths). Cached.
    pub async fn user_id(&self) -> Result<String> {
        let key = self.credentials.login_name().to_string();
        if let Some(id) = lock(&self.nc.inner.user_ids).get(&key) {
            return Ok(id.clone());
        }
        let id = crate::dav::current_user_principal(self).await?;
        lock(&self.nc.inner.user_ids).insert(key, id.clone());
        Ok(id)
    }
}

/// `base` followed by `path` (and its query), as `Url::parse` of the two strings joined would
/// give it, without parsing scheme, host and port again: that parse was a few percent of a
/// tool call's CPU. `None` for a path this shortcut does not cover (not starting with `/`, or
/// with a `#`); the caller then parses the joined string as before.
fn url_below(base: &url::Url, path: &str) -> Option<url::Url> {
    if !path.starts_with('/') || path.contains('#') {
        return None;
    }
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    url.set_query(query);
    Some(url)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned cache is still a valid cache: every writer inserts whole entries.
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

pub(crate) async fn decode_json<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    operation: &str,
) -> Result<T> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| Error::Transport(format!("reading the answer to {operation}: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidResponse(format!("{operation}: unexpected JSON: {e}")))
}

fn backoff(initial: Duration, attempt: u32) -> Duration {
    let base = initial.saturating_mul(1u32 << attempt.min(10));
    let jitter = rand::random_range(0.0..0.25);
    base.mul_f64(1.0 + jitter)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or_default())
}

fn is_connection_reset(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        let text = s.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("connection reset")
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// Builds the error for a non-success answer, with Nextcloud's own message when it gave one.
async fn error_from_response(resp: reqwest::Response, request: &Request) -> Error {
    let status = resp.status();
    let headers = resp.headers().clone();
    // Error bodies are small; cap what we read so a misbehaving proxy cannot flood us.
    let body = read_capped(resp, 64 * 1024).await;
    let message = extract_message(&body);
    let what = request.what.clone();
    match status.as_u16() {
        401 => Error::Unauthorized { message },
        403 => Error::Forbidden { message },
        404 => Error::NotFound { what, message },
        412 => Error::Conflict {
            what,
            current_etag: etag_from(&headers, &body),
        },
        423 => Error::Locked { what, message },
        429 => Error::RateLimited {
            retry_after: retry_after(&headers),
        },
        code => Error::Status {
            status: code,
            operation: request.operation(),
            message: message.or_else(|| status.canonical_reason().map(str::to_string)),
        },
    }
}

async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= cap {
            break;
        }
    }
    out
}

fn etag_from(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(v) = headers
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.trim_matches('"').to_string());
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("etag")?.as_str().map(str::to_string)
}

/// Nextcloud's human message from an OCS envelope, an app's JSON error, or a DAV error body.
fn extract_message(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let found = if text.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        // OCS controllers that return a DataResponse with an error status leave the meta
        // message empty and put theirs in `data.message` (Tables does).
        let pick = |p: &str| {
            v.pointer(p)
                .and_then(|m| m.as_str())
                .filter(|m| !m.trim().is_empty())
        };
        pick("/ocs/meta/message")
            .or_else(|| pick("/ocs/data/message"))
            .or_else(|| pick("/message"))
            // Mail's `fail` envelope: {"status": "fail", "data": {"message": ...}}.
            .or_else(|| pick("/data/message"))
            .or_else(|| pick("/msg"))
            .or_else(|| pick("/error"))
            .map(str::to_string)
    } else if text.starts_with('"') {
        // Cookbook answers some errors with a bare JSON string.
        serde_json::from_str::<String>(text).ok()
    } else if text.starts_with('<') {
        xml_element_text(text, "message")
    } else {
        None
    }?;
    let found = found.trim();
    if found.is_empty() {
        return None;
    }
    Some(found.chars().take(300).collect())
}

/// Text of the first element with this local name (namespace prefixes ignored), unescaped.
pub(crate) fn xml_element_text(xml: &str, local_name: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut text: Option<String> = None;
    loop {
        let event = reader.read_event().ok()?;
        match (&event, text.as_mut()) {
            (Event::Start(e), None) if e.local_name().as_ref() == local_name.as_bytes() => {
                text = Some(String::new());
            }
            (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_), Some(t)) => {
                t.push_str(&crate::dav::multistatus::event_text(&event).ok()?);
            }
            (Event::End(_), Some(_)) | (Event::Eof, _) => return text,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_below_the_base_are_what_parsing_the_joined_string_gives() {
        let bases = [
            "https://cloud.example.com",
            "https://cloud.example.com/",
            "http://127.0.0.1:8080/nextcloud",
            "https://user@xn--bcher-kva.example:8443/sub/dir/",
        ];
        let paths = [
            "/index.php/apps/notes/api/v1/notes/12",
            "/ocs/v2.php/cloud/capabilities?format=json",
            "/remote.php/dav/files/alice/My%20Documents/a%2Fb%23c.md",
            "/remote.php/dav/files/alice/raw space/ü.md",
            "/a/./b/../c\\d",
            "/q?x=1&y=a b?c&z='%zz",
            "/empty?",
            "/",
        ];
        for base in bases {
            let trimmed = base.trim_end_matches('/');
            let parsed = url::Url::parse(trimmed).unwrap();
            for path in paths {
                let expected = url::Url::parse(&format!("{trimmed}{path}")).unwrap();
                assert_eq!(
                    url_below(&parsed, path).as_ref(),
                    Some(&expected),
                    "{base} + {path}"
                );
            }
            assert_eq!(url_below(&parsed, "/a#b"), None);
            assert_eq!(url_below(&parsed, "relative"), None);
        }
    }

    #[test]
    fn messages_are_extracted_from_every_body_kind() {
        let ocs = br#"{"ocs":{"meta":{"status":"failure","statuscode":404,"message":"User does not exist"},"data":[]}}"#;
        assert_eq!(extract_message(ocs).as_deref(), Some("User does not exist"));
        let app = br#"{"message":"Note not found"}"#;
        assert_eq!(extract_message(app).as_deref(), Some("Note not found"));
        let dav = br#"<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>Sabre\DAV\Exception\NotFound</s:exception><s:message>File with name x &amp; y could not be located</s:message></d:error>"#;
        assert_eq!(
            extract_message(dav).as_deref(),
            Some("File with name x & y could not be located")
        );
        assert_eq!(extract_message(b"<html>proxy error</html>"), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_grows() {
        let a = backoff(Duration::from_millis(100), 0);
        let b = backoff(Duration::from_millis(100), 2);
        assert!(a >= Duration::from_millis(100) && a < Duration::from_millis(126));
        assert!(b >= Duration::from_millis(400));
    }
}

/// The API a request path belongs to, as a short fixed name (for [`crate::RequestObserver`]):
/// the app of `/index.php/apps/<app>/…` and `/ocs/v2.php/apps/<app>/…`, the collection of
/// `/remote.php/dav/<collection>/…`, `cloud` for OCS core, `other` for anything else.
pub(crate) fn api_of(path: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "notes",
        "news",
        "mail",
        "collectives",
        "spreed",
        "deck",
        "tables",
        "cookbook",
        "files_sharing",
        "shopping_list",
        "files",
        "calendars",
        "addressbooks",
        "comments",
        "trashbin",
        "versions",
        "systemtags",
        "systemtags-relations",
        "uploads",
        "principals",
        "dav",
        "provisioning_api",
    ];
    let path = path.split('?').next().unwrap_or_default();
    let name = if let Some(rest) = path
        .strip_prefix("/index.php/apps/")
        .or_else(|| path.strip_prefix("/ocs/v2.php/apps/"))
        .or_else(|| path.strip_prefix("/ocs/v1.php/apps/"))
        .or_else(|| path.strip_prefix("/apps/"))
    {
        rest.split('/').next().unwrap_or_default()
    } else if let Some(rest) = path.strip_prefix("/remote.php/dav/") {
        rest.split('/').next().unwrap_or_default()
    } else if path.starts_with("/ocs/v2.php/cloud/") || path.starts_with("/ocs/v1.php/cloud/") {
        return "cloud";
    } else if path.starts_with("/remote.php/webdav") {
        return "files";
    } else {
        return "other";
    };
    KNOWN
        .iter()
        .find(|k| **k == name)
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod api_names {
    use super::api_of;

    #[test]
    fn requests_are_named_by_their_api() {
        assert_eq!(api_of("/index.php/apps/notes/api/v1/notes/3"), "notes");
        assert_eq!(
            api_of("/ocs/v2.php/apps/files_sharing/api/v1/shares?x=1"),
            "files_sharing"
        );
        assert_eq!(api_of("/remote.php/dav/files/alice/a.txt"), "files");
        assert_eq!(
            api_of("/remote.php/dav/calendars/alice/personal/"),
            "calendars"
        );
        assert_eq!(api_of("/ocs/v2.php/cloud/capabilities"), "cloud");
        assert_eq!(api_of("/index.php/apps/mail/api/accounts"), "mail");
        assert_eq!(api_of("/ocs/v2.php/apps/spreed/api/v4/room"), "spreed");
        assert_eq!(
            api_of("/ocs/v2.php/apps/collectives/api/v1.0/collectives"),
            "collectives"
        );
        assert_eq!(api_of("/index.php/apps/secret-name-of-a-user/x"), "other");
        assert_eq!(api_of("/status.php"), "other");
    }
}
