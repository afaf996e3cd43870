//! OAuth 2.0 resource server (`login_flow` mode): bearer tokens are JWTs checked against the
//! issuer's JWKS (signature, issuer, expiry, audience = this server's resource URL or its
//! public URL, see [`audiences`]) or, when opaque, RFC 7662 introspection. Results are cached, bounded in size and never past the
//! token's expiry. Tokens are keyed in the cache by their SHA-256, never stored in clear. The
//! caller's user id is the claim `NEXTCLOUD_MCP_OIDC_USER_CLAIM` names (`sub` by default).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Caller, parse_scope_claim};

/// Why a token was refused; safe to log and to return (no token material).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token issuer cannot be reached: {0}")]
    Issuer(String),
}

#[derive(Clone, Debug, Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: Option<String>,
    introspection_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    exp: u64,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Vec<String>>,
    /// The rest, among them the claim that names the user (`sub` by default).
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Introspection {
    active: bool,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// The value of the claim naming the user: a non-empty string, or why the token is refused.
fn user_claim(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<String, TokenError> {
    match claims.get(name).and_then(serde_json::Value::as_str) {
        Some(user) if !user.is_empty() => Ok(user.to_string()),
        _ => Err(TokenError::Invalid(format!(
            "the token has no `{name}` claim naming the Nextcloud user"
        ))),
    }
}

const CACHE_CAP: usize = 10_000;
const CACHE_TTL: Duration = Duration::from_secs(300);
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Validates bearer tokens for one issuer and one audience.
pub struct Verifier {
    discovery_url: url::Url,
    audiences: Vec<String>,
    /// The claim whose value is the caller's user id.
    user_claim: String,
    client: Option<(String, crate::config::Secret)>,
    http: reqwest::Client,
    discovery: tokio::sync::Mutex<Option<(Instant, Discovery)>>,
    jwks: tokio::sync::Mutex<Option<(Instant, JwkSet)>>,
    cache: Mutex<HashMap<[u8; 32], (Instant, Caller)>>,
}

impl Verifier {
    /// `resource` is this server's MCP URL, the audience tokens must carry; `user_claim` the
    /// claim naming the caller; `client` the credentials for introspecting opaque tokens.
    pub fn new(
        discovery_url: url::Url,
        resource: &url::Url,
        user_claim: &str,
        client: Option<(String, crate::config::Secret)>,
        verify_tls: bool,
    ) -> Self {
        let audiences = audiences(resource);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .tls_danger_accept_invalid_certs(!verify_tls)
            .build()
            .expect("HTTP client builds");
        Self {
            discovery_url,
            audiences,
            user_claim: user_claim.to_string(),
            client,
            http,
            discovery: Default::default(),
            jwks: Default::default(),
            cache: Default::default(),
        }
    }

    /// The caller a bearer token stands for.
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((until, caller)) = self.cache.lock().expect("cache").get(&key)
            && *until > Instant::now()
        {
            return Ok(caller.clone());
        }
        let (caller, exp) = if token.split('.').count() == 3 {
            self.verify_jwt(token).await?
        } else {
            self.introspect(token).await?
        };
        let now_unix = chrono::Utc::now().timestamp().max(0) as u64;
        let ttl = Duration::from_secs(exp.saturating_sub(now_unix)).min(CACHE_TTL);
        let mut cache = self.cache.lock().expect("cache");
        if cache.len() >= CACHE_CAP {
            let now = Instant::now();
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now() + ttl, caller.clone()));
        Ok(caller)
    }

    /// The issuer named by the discovery document.
    pub async fn issuer(&self) -> Result<String, TokenError> {
        Ok(self.discovery().await?.issuer)
    }

    async fn discovery(&self) -> Result<Discovery, TokenError> {
        let mut slot = self.discovery.lock().await;
        if let Some((at, d)) = &*slot
            && at.elapsed() < METADATA_TTL
        {
            return Ok(d.clone());
        }
        let d: Discovery = self.get_json(self.discovery_url.as_str()).await?;
        *slot = Some((Instant::now(), d.clone()));
        Ok(d)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, TokenError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| TokenError::Issuer(format!("GET {url}: {}", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(TokenError::Issuer(format!(
                "GET {url}: HTTP {}",
                resp.status()
            )));
        }
        resp.json()
            .await
            .map_err(|e| TokenError::Issuer(format!("GET {url}: {}", e.without_url())))
    }

    async fn jwks(&self, refresh: bool) -> Result<JwkSet, TokenError> {
        let mut slot = self.jwks.lock().await;
        if !refresh
            && let Some((at, set)) = &*slot
            && at.elapsed() < METADATA_TTL
        {
            return Ok(set.clone());
        }
        let uri = self.discovery().await?.jwks_uri.ok_or_else(|| {
            TokenError::Issuer("the OIDC discovery document has no jwks_uri".into())
        })?;
        let set: JwkSet = self.get_json(&uri).await?;
        *slot = Some((Instant::now(), set.clone()));
        Ok(set)
    }

    async fn verify_jwt(&self, token: &str) -> Result<(Caller, u64), TokenError> {
        let header =
            decode_header(token).map_err(|e| TokenError::Invalid(format!("malformed JWT: {e}")))?;
        let kid = header.kid.clone();
        let find = |set: &JwkSet| match &kid {
            Some(kid) => set.find(kid).cloned(),
            None => set.keys.first().cloned(),
        };
        let jwk = match find(&self.jwks(false).await?) {
            Some(jwk) => jwk,
            // The issuer may have rotated its keys since we fetched them.
            None => find(&self.jwks(true).await?).ok_or_else(|| {
                TokenError::Invalid("signed by a key the issuer does not publish".into())
            })?,
        };
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| TokenError::Invalid(format!("unusable issuer key: {e}")))?;
        let issuer = self.discovery().await?.issuer;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;
        caller_from_jwt(token, &key, &validation, &self.user_claim)
    }

    async fn introspect(&self, token: &str) -> Result<(Caller, u64), TokenError> {
        let d = self.discovery().await?;
        let endpoint = d.introspection_endpoint.ok_or_else(|| {
            TokenError::Invalid("not a JWT, and the issuer offers no introspection endpoint".into())
        })?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish();
        let mut req = self
            .http
            .post(&endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if let Some((id, secret)) = &self.client {
            req = req.basic_auth(id, Some(secret.expose()));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| TokenError::Issuer(format!("introspection: {}", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(TokenError::Issuer(format!(
                "introspection: HTTP {}",
                resp.status()
            )));
        }
        let info: Introspection = resp
            .json()
            .await
            .map_err(|e| TokenError::Issuer(format!("introspection: {}", e.without_url())))?;
        if !info.active {
            return Err(TokenError::Invalid("the token is not active".into()));
        }
        if let Some(aud) = &info.aud {
            let ok = match aud {
                serde_json::Value::String(a) => self.audiences.iter().any(|x| x == a),
                serde_json::Value::Array(list) => list.iter().any(|a| {
                    a.as_str()
                        .is_some_and(|a| self.audiences.contains(&a.to_string()))
                }),
                _ => false,
            };
            if !ok {
                return Err(TokenError::Invalid(
                    "the token is for another audience".into(),
                ));
            }
        }
        let user_id = user_claim(&info.other, &self.user_claim)?;
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let exp = info.exp.unwrap_or(now + 60);
        if exp <= now {
            return Err(TokenError::Invalid("the token has expired".into()));
        }
        Ok((
            Caller::Bearer {
                user_id,
                scopes: parse_scope_claim(info.scope.as_deref().unwrap_or("")),
            },
            exp,
        ))
    }
}

/// The audiences a token for this server may name: its MCP URL (`resource`), and the public
/// URL of the server itself, which is that URL without its final `/mcp` (Astrolabe asks
/// Nextcloud's `oidc` app for tokens whose audience is `mcp_server_public_url`, e.g.
/// `https://mcp.example.com` for `https://mcp.example.com/mcp`). Each with and without a
/// trailing slash.
pub fn audiences(resource: &url::Url) -> Vec<String> {
    let r = resource.as_str().trim_end_matches('/');
    let mut list = vec![format!("{r}/"), r.to_string()];
    if let Some(base) = r.strip_suffix("/mcp")
        && resource.query().is_none()
        && url::Url::parse(base).is_ok_and(|b| b.has_host())
    {
        list.push(base.to_string());
        list.push(format!("{base}/"));
    }
    list
}

/// Checks a JWT's signature and claims against a key and rules, and names its caller (the
/// `user_claim` claim, `sub` by default) with the scopes of its `scope` or `scp` claim.
/// Separate from fetching the issuer's keys so that it can be fuzzed and tested without an
/// issuer.
pub fn caller_from_jwt(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
    user_claim: &str,
) -> Result<(Caller, u64), TokenError> {
    let data =
        decode::<Claims>(token, key, validation).map_err(|e| TokenError::Invalid(e.to_string()))?;
    let c = data.claims;
    let scopes = match (c.scope, c.scp) {
        (Some(s), _) => parse_scope_claim(&s),
        (None, Some(list)) => parse_scope_claim(&list.join(" ")),
        (None, None) => Default::default(),
    };
    Ok((
        Caller::Bearer {
            user_id: self::user_claim(&c.other, user_claim)?,
            scopes,
        },
        c.exp,
    ))
}

#[cfg(test)]
mod tests {
    use super::audiences;

    #[test]
    fn the_mcp_url_and_the_servers_public_url_are_audiences() {
        let a = audiences(&"https://mcp.example.com/mcp".parse().unwrap());
        for ok in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com/mcp/",
            "https://mcp.example.com",
            "https://mcp.example.com/",
        ] {
            assert!(a.contains(&ok.to_string()), "{ok} missing from {a:?}");
        }
        assert!(!a.contains(&"https://example.com".to_string()));
        // Under a path prefix, the public URL keeps it.
        let a = audiences(&"https://host/tools/mcp".parse().unwrap());
        assert!(a.contains(&"https://host/tools".to_string()));
        assert!(!a.contains(&"https://host".to_string()));
        // A resource URL not ending in /mcp names only itself.
        let a = audiences(&"https://host/api".parse().unwrap());
        assert_eq!(a, ["https://host/api/", "https://host/api"]);
    }
}
