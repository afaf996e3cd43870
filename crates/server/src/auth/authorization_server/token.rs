//! `/oauth/token` (authorization_code with PKCE, rotating refresh tokens with replay
//! detection) and `/oauth/revoke` (RFC 7009).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::{Form, FormRejection};
use serde_json::json;

use super::register::{ClientError, oauth_error};
use super::{ACCESS_TTL, AuthorizationServer, REFRESH_TTL, hash, pkce_matches, random_secret};
use crate::db::oauth::{CodeRedemption, OAuthClient, RefreshOutcome};

/// The form of a token or revocation request (RFC 6749 §4.1.3 and §6, RFC 7009 §2.1).
/// A parameter sent twice is refused (§3.2), one sent without a value counts as omitted
/// (§3.1), and unknown ones are ignored.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// The token to revoke.
    token: Option<String>,
}

/// The request's form, or the OAuth error that answers a malformed one.
fn form_or_error(form: Result<Form<TokenForm>, FormRejection>) -> Result<TokenForm, Response> {
    form.map(|Form(f)| f).map_err(|e| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "the body must be a form (application/x-www-form-urlencoded) naming each parameter once: {}",
                e.body_text()
            ),
        )
    })
}

fn invalid_client(description: &str, basic: bool) -> Response {
    let mut resp = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    if basic {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"nextcloud-mcp\"".parse().expect("ascii"),
        );
    }
    resp
}

impl AuthorizationServer {
    /// Authenticates the client of a token or revocation request: a public client names
    /// itself; a confidential one proves its secret (Basic header or form).
    async fn authenticate_client(
        &self,
        headers: &HeaderMap,
        form: &TokenForm,
    ) -> Result<OAuthClient, Response> {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::api::parse_basic)
            .map(|(id, secret)| {
                let dec = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (dec(&id), dec(&secret))
            });
        let used_basic = basic.is_some();
        let (client_id, secret) = match basic {
            Some((id, secret)) => (id, Some(secret)),
            None => match &form.client_id {
                Some(id) => (id.clone(), form.client_secret.clone()),
                None => {
                    return Err(invalid_client(
                        "client authentication is missing: send client_id (and the client secret, if one was issued)",
                        false,
                    ));
                }
            },
        };
        let client = match self.resolve_client(&client_id).await {
            Ok(c) => c,
            Err(ClientError::Store(e)) => {
                tracing::error!(error = %e, "authorization server store failure");
                return Err(oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the server's store is unavailable",
                ));
            }
            Err(e) => return Err(invalid_client(&e.to_string(), used_basic)),
        };
        match (&client.secret_hash, secret) {
            (None, _) => Ok(client),
            (Some(expected), Some(given)) if constant_eq(expected, &hash(&given)) => Ok(client),
            (Some(_), _) => Err(invalid_client(
                "the client secret is missing or wrong",
                used_basic,
            )),
        }
    }

    /// Issues an access token and a refresh token for a grant.
    async fn issue_tokens(
        &self,
        grant_id: &str,
        scopes: &[String],
    ) -> Result<Response, crate::db::StoreError> {
        let now = self.now();
        let access = random_secret("nca_");
        let refresh = random_secret("ncr_");
        self.store
            .put_token(
                &hash(&access),
                grant_id,
                "access",
                scopes,
                now,
                now + ACCESS_TTL,
            )
            .await?;
        self.store
            .put_token(
                &hash(&refresh),
                grant_id,
                "refresh",
                scopes,
                now,
                now + REFRESH_TTL,
            )
            .await?;
        Ok((
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            axum::Json(json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": ACCESS_TTL,
                "refresh_token": refresh,
                "scope": scopes.join(" "),
            })),
        )
            .into_response())
    }

    /// After a grant ended at its person's request: when it was their last connected client,
    /// the app password is forgotten here (and revoked in Nextcloud if this server obtained it).
    pub(super) async fn after_disconnect(&self, user_id: &str) {
        match self.store.grants_of_user(user_id).await {
            Ok(left) if left.is_empty() => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list remaining grants");
                return;
            }
        }
        // Revoked in Nextcloud when this server obtained it; one handed over through the
        // REST API is only forgotten.
        if let Err(e) = self
            .provisioning
            .remove(user_id, false, "last OAuth client disconnected")
            .await
        {
            tracing::warn!(error = %e, "cannot delete the app password");
        }
        if let Err(e) = self.store.delete_browser_sessions(user_id).await {
            tracing::warn!(error = %e, "cannot end browser sessions");
        }
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn store_failure(e: &crate::db::StoreError) -> Response {
    tracing::error!(error = %e, "authorization server store failure");
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the server's store is unavailable; try again shortly",
    )
}

/// `POST /oauth/token`.
pub async fn token(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let form = match form_or_error(form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let client = match server.authenticate_client(&headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(resource) = form.resource.as_ref()
        && !server.is_our_resource(resource)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            &format!(
                "resource `{resource}` is not this server; use {}",
                server.resource
            ),
        );
    }
    match form.grant_type.as_deref() {
        Some("authorization_code") => authorization_code(&server, &client, &form).await,
        Some("refresh_token") => refresh_token(&server, &client, &form).await,
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!(
                "grant_type `{other}` is not supported; use authorization_code or refresh_token"
            ),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is missing",
        ),
    }
}

async fn authorization_code(
    server: &AuthorizationServer,
    client: &OAuthClient,
    form: &TokenForm,
) -> Response {
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        form.code.as_ref(),
        form.redirect_uri.as_ref(),
        form.code_verifier.as_ref(),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        );
    };
    let now = server.now();
    let code = match server.store.redeem_code(&hash(code), now).await {
        Ok(CodeRedemption::Redeemed(c)) => c,
        Ok(CodeRedemption::Reused(grant)) => {
            // A replayed code: whatever it produced is revoked (RFC 6749 §4.1.2).
            if let Some(grant) = grant
                && let Err(e) = server.store.revoke_grant(&grant, now).await
            {
                return store_failure(&e);
            }
            return invalid_grant("the authorization code was already used");
        }
        Ok(CodeRedemption::Unknown) => {
            return invalid_grant("the authorization code is unknown or expired");
        }
        Err(e) => return store_failure(&e),
    };
    if code.client_id != client.client_id {
        return invalid_grant("the authorization code was issued to another client");
    }
    if code.redirect_uri != *redirect_uri {
        return invalid_grant("redirect_uri differs from the one of the authorization request");
    }
    if !pkce_matches(verifier, &code.code_challenge) {
        return invalid_grant("code_verifier does not match the code_challenge (PKCE S256)");
    }
    if let Some(resource) = form.resource.as_ref()
        && resource.trim_end_matches('/') != code.resource.trim_end_matches('/')
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource differs from the one of the authorization request",
        );
    }
    let grant = match server
        .store
        .create_grant(
            &code.user_id,
            &client.client_id,
            &code.scopes,
            &code.resource,
            now,
        )
        .await
    {
        Ok(g) => g,
        Err(e) => return store_failure(&e),
    };
    if let Err(e) = server.store.set_code_grant(&code.code_hash, &grant).await {
        return store_failure(&e);
    }
    server
        .issue_tokens(&grant, &code.scopes)
        .await
        .unwrap_or_else(|e| store_failure(&e))
}

async fn refresh_token(
    server: &AuthorizationServer,
    client: &OAuthClient,
    form: &TokenForm,
) -> Response {
    let Some(refresh) = form.refresh_token.as_ref() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
    let narrow_to: Option<Vec<String>> = form.scope.as_ref().map(|asked| {
        asked
            .split_whitespace()
            .map(|s| crate::apps::normalize_scope(s).unwrap_or_else(|| s.to_string()))
            .collect()
    });
    let now = server.now();
    let outcome = server
        .store
        .use_refresh_token(&hash(refresh), now, narrow_to.as_deref())
        .await;
    let (grant, scopes) = match outcome {
        Ok(RefreshOutcome::Rotated { grant, scopes }) => (grant, scopes),
        Ok(RefreshOutcome::Reused(grant_id)) => {
            // Someone holds an old refresh token: end the whole family, thief and owner alike.
            if let Err(e) = server.store.revoke_grant(&grant_id, now).await {
                return store_failure(&e);
            }
            tracing::warn!("refresh token replayed; its grant was revoked");
            return invalid_grant(
                "the refresh token was already used; every token of this grant is revoked",
            );
        }
        Ok(RefreshOutcome::ScopeNotGranted(extra)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                &format!("scope `{extra}` was not granted; a refresh can only narrow the scopes"),
            );
        }
        Ok(RefreshOutcome::Invalid) => {
            return invalid_grant("the refresh token is unknown, revoked or expired");
        }
        Err(e) => return store_failure(&e),
    };
    if grant.client_id != client.client_id {
        if let Err(e) = server.store.revoke_grant(&grant.id, now).await {
            return store_failure(&e);
        }
        return invalid_grant("the refresh token was issued to another client");
    }
    server
        .issue_tokens(&grant.id, &scopes)
        .await
        .unwrap_or_else(|e| store_failure(&e))
}

/// `POST /oauth/revoke` (RFC 7009). Revoking a refresh token ends its grant; revoking an
/// access token ends that token. Unknown tokens and tokens of other clients are answered 200
/// without effect, so the endpoint reveals nothing about tokens it did not issue to the caller.
pub async fn revoke(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let form = match form_or_error(form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let client = match server.authenticate_client(&headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = form.token.as_ref() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    let token_hash = hash(token);
    let grant = match server.store.grant_of_token(&token_hash).await {
        Ok(g) => g,
        Err(e) => return store_failure(&e),
    };
    if let Some(grant) = grant
        && grant.client_id == client.client_id
    {
        let result = if token.starts_with("ncr_") {
            server
                .store
                .revoke_grant(&grant.id, server.now())
                .await
                .map(|_| ())
        } else {
            server.store.delete_token(&token_hash).await
        };
        if let Err(e) = result {
            return store_failure(&e);
        }
        if token.starts_with("ncr_") {
            server.after_disconnect(&grant.user_id).await;
        }
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}
