//! Who is calling, in the multi-user modes. The HTTP layer authenticates each request (Basic
//! app password in `multi_user_basic`, an OAuth bearer token in `login_flow`) and attaches a
//! [`Caller`]; the MCP handler turns it into the caller's Nextcloud access and effective scopes.

pub mod authorization_server;
pub mod oauth;
pub mod provisioning;

use std::collections::BTreeSet;

use crate::config::AuthSettings;
use crate::db::Store;

/// An authenticated HTTP caller, attached to the request's extensions.
#[derive(Clone, Debug)]
pub enum Caller {
    /// `multi_user_basic`: the request's own `Basic user:app-password`.
    Basic {
        user_id: String,
        credentials: nextcloud::Credentials,
    },
    /// `login_flow`: a validated bearer token; its scopes bound everything the caller does.
    Bearer {
        user_id: String,
        scopes: BTreeSet<String>,
    },
}

impl Caller {
    pub fn user_id(&self) -> &str {
        match self {
            Self::Basic { user_id, .. } | Self::Bearer { user_id, .. } => user_id,
        }
    }

    /// Scopes the token grants; `None` = not limited by a token (Basic).
    pub fn token_scopes(&self) -> Option<&BTreeSet<String>> {
        match self {
            Self::Basic { .. } => None,
            Self::Bearer { scopes, .. } => Some(scopes),
        }
    }
}

/// State of the multi-user modes, shared by the MCP handler and the HTTP layer.
pub struct MultiUser {
    pub settings: AuthSettings,
    pub store: Store,
    /// Stores, replaces and removes app passwords (every path that provisions uses it).
    pub provisioning: provisioning::Provisioning,
    /// Bearer-token verifier (`login_flow` with an external issuer).
    pub verifier: Option<oauth::Verifier>,
    /// The built-in authorization server (`login_flow` without an external issuer).
    pub authorization_server: Option<std::sync::Arc<authorization_server::AuthorizationServer>>,
}

/// Why [`MultiUser::authenticate`] refused a request.
#[derive(Debug, thiserror::Error)]
pub enum Unauthenticated {
    /// No credentials of the kind the mode needs (Basic, or a bearer token).
    #[error("no credentials of the kind this deployment mode needs")]
    Missing,
    /// A bearer token that did not validate.
    #[error(transparent)]
    Invalid(#[from] oauth::TokenError),
}

impl MultiUser {
    /// The caller an `Authorization` header value stands for, as `/mcp` and the management
    /// API both check it: `Basic user:app-password` in `multi_user_basic` (checked by
    /// Nextcloud when used), a bearer token in `login_flow` (the built-in authorization
    /// server's, or one the external issuer signed for this server's audience).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Caller, Unauthenticated> {
        if self.settings.mode == crate::cli::DeploymentMode::MultiUserBasic {
            let (user, password) = authorization
                .and_then(crate::api::parse_basic)
                .ok_or(Unauthenticated::Missing)?;
            return Ok(Caller::Basic {
                user_id: user.clone(),
                credentials: nextcloud::Credentials::new(user, password),
            });
        }
        let token = authorization
            .and_then(bearer_token)
            .ok_or(Unauthenticated::Missing)?;
        Ok(match (&self.authorization_server, &self.verifier) {
            (Some(own), _) => own.verify_access_token(token).await?,
            (None, Some(verifier)) => verifier.verify(token).await?,
            (None, None) => return Err(Unauthenticated::Missing),
        })
    }
}

/// Effective scopes: the token's ∩ the stored restriction (`None` = no stored restriction).
/// `None` overall means unrestricted.
pub fn effective_scopes(
    token: Option<&BTreeSet<String>>,
    stored: Option<&[String]>,
) -> Option<BTreeSet<String>> {
    match (token, stored) {
        (None, None) => None,
        (Some(t), None) => Some(t.clone()),
        (None, Some(s)) => Some(s.iter().cloned().collect()),
        (Some(t), Some(s)) => Some(s.iter().filter(|x| t.contains(*x)).cloned().collect()),
    }
}

/// Parses a space-separated scope claim, normalising colon aliases and dropping unknown ones.
pub fn parse_scope_claim(claim: &str) -> BTreeSet<String> {
    claim
        .split_whitespace()
        .filter_map(crate::apps::normalize_scope)
        .collect()
}

/// The token of an `Authorization: Bearer <token>` header value; the scheme name is
/// case-insensitive (RFC 9110 §11.1). `None` for another scheme or an empty token.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_found_whatever_the_scheme_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bEaReR  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn effective_scopes_intersect() {
        let token: BTreeSet<String> = ["notes.read", "notes.write"].map(String::from).into();
        let stored = vec!["notes.read".to_string(), "files.read".to_string()];
        let e = effective_scopes(Some(&token), Some(&stored)).unwrap();
        assert_eq!(e.into_iter().collect::<Vec<_>>(), ["notes.read"]);
        assert_eq!(effective_scopes(Some(&token), None), Some(token.clone()));
        assert_eq!(effective_scopes(None, None), None);
        assert_eq!(
            parse_scope_claim("openid notes:read files.write bogus.read"),
            ["files.write", "notes.read"].map(String::from).into()
        );
    }
}
