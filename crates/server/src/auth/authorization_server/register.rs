//! Clients: RFC 7591 dynamic registration (persisted, so registrations survive restarts and
//! are shared by replicas, and never expire), and Client ID Metadata Documents, where the
//! client id is an https URL this server fetches and validates.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{AuthorizationServer, REGISTRATIONS_PER_HOUR, hash, random_secret};
use crate::db::oauth::OAuthClient;

/// Metadata documents are re-fetched after this long.
const METADATA_CACHE_SECS: i64 = 24 * 3600;
/// Largest metadata document accepted.
const METADATA_MAX_BYTES: usize = 16 * 1024;

/// Why a client or its redirect URI is refused; safe to show.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unknown client_id `{0}`: register the client first")]
    Unknown(String),
    #[error("{0}")]
    Metadata(String),
    #[error("the store is unavailable: {0}")]
    Store(String),
}

/// A JSON OAuth error response.
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Checks one redirect URI: https, or http to a loopback host; no fragment.
pub fn check_redirect_uri(raw: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(raw).map_err(|e| format!("redirect URI `{raw}` is not a URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI `{raw}` must not contain a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("redirect URI `{raw}` must not contain credentials"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback_host(&url) => Ok(url),
        "http" => Err(format!(
            "redirect URI `{raw}` uses http on a non-loopback host: use https, or http://127.0.0.1 / http://localhost"
        )),
        _ => Err(format!(
            "redirect URI `{raw}` must use https (or http on a loopback host)"
        )),
    }
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// Whether `given` is one of the client's registered redirect URIs: an exact string match,
/// except that a loopback IP literal may use any port (RFC 8252 §7.3, OAuth 2.1), since
/// native apps listen on whatever port is free.
pub fn redirect_uri_allowed(registered: &[String], given: &str) -> bool {
    if registered.iter().any(|r| r == given) {
        return true;
    }
    let Ok(g) = url::Url::parse(given) else {
        return false;
    };
    let ip_loopback = |u: &url::Url| {
        u.scheme() == "http"
            && (matches!(u.host(), Some(url::Host::Ipv4(a)) if a.is_loopback())
                || matches!(u.host(), Some(url::Host::Ipv6(a)) if a.is_loopback()))
    };
    if !ip_loopback(&g) {
        return false;
    }
    registered.iter().any(|r| {
        url::Url::parse(r).is_ok_and(|r| {
            ip_loopback(&r)
                && r.scheme() == g.scheme()
                && r.host() == g.host()
                && r.path() == g.path()
                && r.query() == g.query()
        })
    })
}

#[derive(Deserialize)]
struct Registration {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    client_uri: Option<String>,
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
    scope: Option<String>,
}

/// The connecting address (set by `axum::serve` with connect info), for the per-IP limit.
fn client_ip(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
}

/// `POST /oauth/register` (RFC 7591).
pub async fn register(
    State(server): State<Arc<AuthorizationServer>>,
    request: Request,
) -> Response {
    let bucket = format!("oauth_register:{}", client_ip(&request));
    match server
        .store
        .check_rate(&bucket, REGISTRATIONS_PER_HOUR, Duration::from_secs(3600))
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(retry)) => {
            crate::metrics::rate_limited("client_registration");
            let mut resp = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "too many client registrations from this address; try again later",
            );
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                retry.to_string().parse().expect("digits"),
            );
            return resp;
        }
        Err(e) => return store_unavailable(&e),
    }
    if let Err(e) = server.store.record_attempt(&bucket, true).await {
        return store_unavailable(&e);
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), 64 * 1024).await else {
        return oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_client_metadata",
            "the registration request is larger than 64 KiB",
        );
    };
    let reg: Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                &format!("the body must be a JSON client metadata object: {e}"),
            );
        }
    };
    if reg.redirect_uris.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uris must list at least one redirect URI",
        );
    }
    for uri in &reg.redirect_uris {
        if let Err(e) = check_redirect_uri(uri) {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", &e);
        }
    }
    let method = reg
        .token_endpoint_auth_method
        .unwrap_or_else(|| "client_secret_basic".into());
    if !["none", "client_secret_basic", "client_secret_post"].contains(&method.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            &format!(
                "token_endpoint_auth_method `{method}` is not supported; use none, client_secret_basic or client_secret_post"
            ),
        );
    }
    let grant_types = reg
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(bad) = grant_types
        .iter()
        .find(|g| !["authorization_code", "refresh_token"].contains(&g.as_str()))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            &format!(
                "grant type `{bad}` is not supported; use authorization_code and refresh_token"
            ),
        );
    }
    let response_types = reg.response_types.unwrap_or_else(|| vec!["code".into()]);
    if response_types.iter().any(|r| r != "code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "only the `code` response type is supported",
        );
    }
    let client_name = reg
        .client_name
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty());
    let secret = (method != "none").then(|| random_secret("ncs_"));
    let client = OAuthClient {
        client_id: uuid::Uuid::new_v4().to_string(),
        client_name: client_name.clone(),
        client_uri: reg.client_uri.clone(),
        redirect_uris: reg.redirect_uris.clone(),
        auth_method: method.clone(),
        secret_hash: secret.as_deref().map(hash),
        metadata_document: false,
        updated_at: server.now(),
    };
    if let Err(e) = server.store.put_oauth_client(&client, server.now()).await {
        return store_unavailable(&e);
    }
    let mut body = json!({
        "client_id": client.client_id,
        "client_id_issued_at": server.now(),
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": method,
        "grant_types": grant_types,
        "response_types": response_types,
    });
    if let Some(name) = client_name {
        body["client_name"] = json!(name);
    }
    if let Some(uri) = reg.client_uri {
        body["client_uri"] = json!(uri);
    }
    if let Some(scope) = reg.scope {
        body["scope"] = json!(scope);
    }
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
        // Registrations do not expire: clients are not forced to re-register hourly.
        body["client_secret_expires_at"] = json!(0);
    }
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

fn store_unavailable(e: &crate::db::StoreError) -> Response {
    tracing::error!(error = %e, "authorization server store failure");
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the server's store is unavailable; try again shortly",
    )
}

#[derive(Deserialize)]
struct MetadataDocument {
    client_id: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    client_uri: Option<String>,
    token_endpoint_auth_method: Option<String>,
    client_secret: Option<String>,
}

impl AuthorizationServer {
    /// Whether a client id is a Client ID Metadata Document URL.
    fn is_metadata_url(&self, client_id: &str) -> bool {
        client_id.starts_with("https://")
            || (client_id.starts_with("http://") && self.hooks.private_metadata_hosts_allowed())
    }

    /// The client `client_id` names: registered, or described by a metadata document.
    pub async fn resolve_client(&self, client_id: &str) -> Result<OAuthClient, ClientError> {
        let cached = self
            .store
            .oauth_client(client_id)
            .await
            .map_err(|e| ClientError::Store(e.to_string()))?;
        if !self.is_metadata_url(client_id) {
            return cached.ok_or_else(|| ClientError::Unknown(client_id.to_string()));
        }
        if let Some(c) = cached
            && c.metadata_document
            && c.updated_at > self.now() - METADATA_CACHE_SECS
        {
            return Ok(c);
        }
        let client = self.fetch_metadata_document(client_id).await?;
        self.store
            .put_oauth_client(&client, self.now())
            .await
            .map_err(|e| ClientError::Store(e.to_string()))?;
        Ok(client)
    }

    async fn fetch_metadata_document(&self, client_id: &str) -> Result<OAuthClient, ClientError> {
        let bad = |why: String| ClientError::Metadata(format!("client_id `{client_id}`: {why}"));
        let url = url::Url::parse(client_id).map_err(|e| bad(format!("not a URL ({e})")))?;
        if url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.path() == "/"
            || url.path().split('/').any(|s| s == "." || s == "..")
        {
            return Err(bad(
                "a metadata-document client id must be an https URL with a path, without credentials, dot segments or fragment".into(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| bad("the URL has no host".into()))?
            .trim_matches(['[', ']'])
            .to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| bad(format!("cannot resolve its host ({e})")))?
            .collect();
        let allow_private = self.hooks.private_metadata_hosts_allowed();
        if addrs.is_empty() || (!allow_private && addrs.iter().any(|a| !is_public(a.ip()))) {
            return Err(bad(
                "its host does not resolve to public addresses only".into()
            ));
        }
        // Pin the checked addresses, so a second DNS answer cannot point elsewhere.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| bad(format!("cannot fetch it ({e})")))?;
        let resp = http
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| bad(format!("cannot fetch it ({})", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(bad(format!("fetching it gave HTTP {}", resp.status())));
        }
        if resp
            .content_length()
            .is_some_and(|n| n as usize > METADATA_MAX_BYTES)
        {
            return Err(bad("the document is larger than 16 KiB".into()));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| bad(format!("cannot read it ({})", e.without_url())))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > METADATA_MAX_BYTES {
                return Err(bad("the document is larger than 16 KiB".into()));
            }
        }
        client_from_metadata_document(client_id, &body, self.now())
    }
}

/// Validates a Client ID Metadata Document fetched from `client_id` and turns it into the
/// public client it describes. Separate from fetching so that it can be fuzzed and tested
/// without a network.
pub fn client_from_metadata_document(
    client_id: &str,
    body: &[u8],
    now: i64,
) -> Result<OAuthClient, ClientError> {
    let bad = |why: String| ClientError::Metadata(format!("client_id `{client_id}`: {why}"));
    let doc: MetadataDocument = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the document is not client metadata JSON ({e})")))?;
    if doc.client_id != client_id {
        return Err(bad(format!(
            "the document's client_id `{}` differs from its URL",
            doc.client_id
        )));
    }
    if doc.client_secret.is_some()
        || doc
            .token_endpoint_auth_method
            .as_deref()
            .is_some_and(|m| m != "none")
    {
        return Err(bad(
            "a metadata-document client must be public (token_endpoint_auth_method `none`)".into(),
        ));
    }
    if doc.redirect_uris.is_empty() {
        return Err(bad("the document lists no redirect_uris".into()));
    }
    for uri in &doc.redirect_uris {
        check_redirect_uri(uri).map_err(bad)?;
    }
    Ok(OAuthClient {
        client_id: client_id.to_string(),
        client_name: doc
            .client_name
            .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect()),
        client_uri: doc.client_uri,
        redirect_uris: doc.redirect_uris,
        auth_method: "none".into(),
        secret_hash: None,
        metadata_document: true,
        updated_at: now,
    })
}

/// Whether an address is on the public internet (not loopback, private, link-local, ...).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        assert!(check_redirect_uri("https://claude.ai/api/mcp/auth_callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:33418/callback").is_ok());
        assert!(check_redirect_uri("http://localhost:6274/oauth/callback").is_ok());
        assert!(check_redirect_uri("http://[::1]:8080/cb").is_ok());
        assert!(check_redirect_uri("http://evil.example.com/cb").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("https://a.example/cb#frag").is_err());
        let registered = vec!["http://127.0.0.1:33418/callback".to_string()];
        assert!(redirect_uri_allowed(
            &registered,
            "http://127.0.0.1:33418/callback"
        ));
        assert!(redirect_uri_allowed(
            &registered,
            "http://127.0.0.1:5000/callback"
        ));
        assert!(!redirect_uri_allowed(
            &registered,
            "http://127.0.0.1:5000/other"
        ));
        let registered = vec!["https://app.example/cb".to_string()];
        assert!(!redirect_uri_allowed(
            &registered,
            "https://app.example/cb/"
        ));
        assert!(!redirect_uri_allowed(
            &registered,
            "https://app.example:444/cb"
        ));
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "100.64.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("93.184.216.34".parse().unwrap()));
    }
}
