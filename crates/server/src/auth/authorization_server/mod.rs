//! The built-in OAuth 2.1 authorization server of `login_flow` mode (used when no external
//! issuer is configured): MCP clients register (RFC 7591, or a Client ID Metadata Document),
//! send the person to `/oauth/authorize`, where they choose scopes and log in to their own
//! Nextcloud through Login Flow v2; the app password Nextcloud issues is stored encrypted
//! and the client receives short-lived opaque access tokens and rotating refresh tokens.
//!
//! Access tokens are opaque random strings looked up by SHA-256 in the store rather than
//! self-contained JWTs: revocation (a disconnected client, a detected refresh-token replay)
//! takes effect on the next request, replicas need no shared signing key, and the store holds
//! nothing a thief could present. The cost is one indexed lookup per request.

// Handlers return complete error responses from helper functions; boxing them buys nothing.
#![allow(clippy::result_large_err)]

mod metadata;
mod pages;
mod register;
mod test_hooks;
mod token;

pub use register::{ClientError, client_from_metadata_document};

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Caller;
use super::oauth::TokenError;
use super::provisioning::Provisioning;
use crate::db::Store;

/// Authorization codes are single use and live this long.
pub const CODE_TTL: i64 = 60;
/// Access tokens are short-lived; clients refresh them.
pub const ACCESS_TTL: i64 = 30 * 60;
/// A refresh token expires unless it is used (and so rotated) within this time.
pub const REFRESH_TTL: i64 = 30 * 24 * 3600;
/// How long a person has to log in to Nextcloud (Nextcloud's own Login Flow lifetime).
pub const LOGIN_TTL: i64 = 20 * 60;
/// A browser session after a completed login: re-authorising then needs consent only.
pub const SESSION_TTL: i64 = 7 * 24 * 3600;
/// Dynamic registrations allowed per client IP address and hour.
pub const REGISTRATIONS_PER_HOUR: i64 = 20;

/// The authorization server; shared by the HTTP routes and the bearer-token check.
pub struct AuthorizationServer {
    /// `https://host[/prefix]`, without a trailing slash.
    issuer: String,
    /// This server's MCP URL: the only `resource` tokens are issued for.
    resource: String,
    store: Store,
    nextcloud: nextcloud::Nextcloud,
    /// Stores the app passwords its logins obtain (and revokes them when clients disconnect).
    provisioning: Provisioning,
    /// Nextcloud as browsers reach it (login links), when it differs from NEXTCLOUD_HOST.
    public_url: Option<url::Url>,
    secure_cookies: bool,
    /// Test-only switches; empty unless the `test-hooks` cargo feature is on.
    hooks: test_hooks::TestHooks,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A route's path below the issuer's path prefix: a reverse proxy serving this server under
/// `/nc` gets links, redirects and cookies under `/nc/oauth/...`.
pub fn path_below(issuer: &str, route: &str) -> String {
    let prefix = url::Url::parse(issuer)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    format!("{prefix}{route}")
}

/// Whether the path after a `/.well-known/<name>/` segment (RFC 8414 §3, RFC 9728 §3.1) names
/// `path`, ignoring trailing slashes: `tools/mcp` names `/tools/mcp`.
pub fn well_known_suffix_names(suffix: &str, path: &str) -> bool {
    format!("/{}", suffix.trim_end_matches('/')) == path.trim_end_matches('/')
}

/// The issuer for a resource URL: its origin plus any path prefix before `/mcp`.
pub fn issuer_for(resource: &url::Url) -> String {
    let origin = resource.origin().ascii_serialization();
    let path = resource.path().trim_end_matches('/');
    let prefix = path.strip_suffix("/mcp").unwrap_or("");
    format!("{origin}{prefix}")
}

impl AuthorizationServer {
    pub fn new(
        resource: &url::Url,
        store: Store,
        nextcloud: nextcloud::Nextcloud,
        public_url: Option<url::Url>,
    ) -> Self {
        Self {
            issuer: issuer_for(resource),
            resource: resource.as_str().to_string(),
            provisioning: Provisioning::new(store.clone(), nextcloud.clone()),
            store,
            nextcloud,
            public_url,
            secure_cookies: resource.scheme() == "https",
            hooks: Default::default(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer's path (`/tools` for `https://host/tools`), empty at the origin's root.
    fn issuer_path(&self) -> String {
        path_below(&self.issuer, "")
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// A route's path as browsers see it (see [`path_below`]).
    fn path(&self, route: &str) -> String {
        path_below(&self.issuer, route)
    }

    /// Now, in Unix seconds, as this server sees it.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.hooks.clock_offset()
    }

    /// Whether `resource` names this server (RFC 8707), ignoring a trailing slash.
    fn is_our_resource(&self, resource: &str) -> bool {
        resource.trim_end_matches('/') == self.resource.trim_end_matches('/')
    }

    /// The caller an access token stands for.
    pub async fn verify_access_token(&self, token: &str) -> Result<Caller, TokenError> {
        let info = self
            .store
            .access_token(&hash(token), self.now())
            .await
            .map_err(|e| TokenError::Issuer(e.to_string()))?
            .ok_or_else(|| TokenError::Invalid("unknown, revoked or expired token".into()))?;
        if !self.is_our_resource(&info.resource) {
            return Err(TokenError::Invalid(
                "the token is for another resource".into(),
            ));
        }
        Ok(Caller::Bearer {
            user_id: info.user_id,
            scopes: info.scopes.into_iter().collect(),
        })
    }

    /// The routes: metadata, registration, authorization, token, revocation, connections.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(metadata::authorization_server_metadata),
            )
            .route(
                "/.well-known/oauth-authorization-server/{*issuer_path}",
                get(metadata::authorization_server_metadata_for_path),
            )
            .route("/oauth/register", post(register::register))
            .route("/oauth/token", post(token::token))
            .route("/oauth/revoke", post(token::revoke))
            .route(
                "/oauth/authorize",
                get(pages::authorize).post(pages::consent),
            )
            .route("/oauth/authorize/progress", get(pages::progress))
            .route(
                "/oauth/connections",
                get(pages::connections).post(pages::disconnect),
            )
            .with_state(self)
    }
}

/// A fresh secret: 256 random bits, URL-safe, with a prefix naming its kind (so secret
/// scanners and people can tell an access token from a refresh token).
pub(crate) fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256, hex: how codes, tokens and handles are keyed in the store.
pub(crate) fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// PKCE S256: `BASE64URL(SHA256(verifier)) == challenge`, compared without an early exit.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    valid_verifier
        && computed.len() == challenge.len()
        && computed
            .bytes()
            .zip(challenge.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_example_from_rfc_7636() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches("short", challenge));
    }

    #[test]
    fn well_known_suffixes() {
        assert!(well_known_suffix_names("tools/mcp", "/tools/mcp"));
        assert!(well_known_suffix_names("tools/", "/tools"));
        assert!(!well_known_suffix_names("tools/mcp/x", "/tools/mcp"));
        assert!(!well_known_suffix_names("other", ""));
    }

    #[test]
    fn issuer_drops_the_mcp_path() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            issuer_for(&u("https://mcp.example.com/mcp")),
            "https://mcp.example.com"
        );
        assert_eq!(
            issuer_for(&u("https://example.com/nc/mcp")),
            "https://example.com/nc"
        );
        assert_eq!(
            issuer_for(&u("http://127.0.0.1:8000/mcp")),
            "http://127.0.0.1:8000"
        );
    }

    #[test]
    fn browser_paths_keep_the_prefix() {
        let issuer = |r: &str| issuer_for(&url::Url::parse(r).unwrap());
        assert_eq!(
            path_below(&issuer("https://example.com/nc/mcp"), "/oauth/connections"),
            "/nc/oauth/connections"
        );
        assert_eq!(
            path_below(&issuer("https://mcp.example.com/mcp"), "/oauth"),
            "/oauth"
        );
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = random_secret("nca_");
        assert!(a.starts_with("nca_") && a.len() == 47);
        assert_ne!(a, random_secret("nca_"));
        assert_eq!(hash(&a).len(), 64);
        assert!(!hash(&a).contains(&a[4..]));
    }
}
