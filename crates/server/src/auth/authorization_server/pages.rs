//! The browser side: `/oauth/authorize` (checks the request, shows the consent page),
//! the consent submit (starts a Nextcloud Login Flow v2, or issues a code at once for a
//! signed-in person whose access is stored), the progress page (polls the flow; once
//! Nextcloud granted access, stores the app password and redirects with a one-time code),
//! and `/oauth/connections` (a person's connected clients, with disconnect).
//!
//! Server-rendered HTML that works without JavaScript; forms are protected by a
//! double-submit cookie (SameSite=Lax) and pages may not be framed.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use axum_extra::extract::{Form, FormRejection};

use super::register::{ClientError, redirect_uri_allowed};
use super::{AuthorizationServer, CODE_TTL, LOGIN_TTL, SESSION_TTL, hash, random_secret};
use crate::auth::provisioning::Grant;
use crate::db::oauth::{AuthCode, AuthorizationStatus, OAuthClient, PendingAuthorization};
use crate::db::{AuditEvent, Origin};

const CSRF_COOKIE: &str = "ncmcp_csrf";
const SESSION_COOKIE: &str = "ncmcp_session";
/// `client_id` of a pending login that only signs the person in (connections page).
const SIGN_IN_ONLY: &str = "";

// ---------------------------------------------------------------------------------------
// HTML: the templates are in `templates/oauth/`; askama escapes every value put into them.

#[derive(Template)]
#[template(path = "oauth/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// One checkbox of the consent page.
struct ScopeChoice {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
struct ConsentPage<'a> {
    name: &'a str,
    return_host: &'a str,
    /// The client's URL, shown for a Client ID Metadata Document.
    identity: Option<&'a str>,
    signed_in: Option<&'a str>,
    error: Option<&'a str>,
    action: &'a str,
    /// The authorization request, carried through the form.
    hidden: Vec<(&'static str, &'a str)>,
    csrf: &'a str,
    scopes: Vec<ScopeChoice>,
}

#[derive(Template)]
#[template(path = "oauth/waiting.html")]
struct WaitingPage<'a> {
    progress: &'a str,
    login_url: &'a str,
    id: &'a str,
    note: Option<&'a str>,
}

/// One row of the connections page.
struct GrantRow {
    id: String,
    name: String,
    scopes: String,
    since: String,
    used: String,
}

#[derive(Template)]
#[template(path = "oauth/connections.html")]
struct ConnectionsPage<'a> {
    /// The signed-in person; `None` shows the sign-in button.
    user: Option<&'a str>,
    grants: Vec<GrantRow>,
    csrf: &'a str,
}

/// An HTML response with the headers every page of ours carries.
fn page_response(status: StatusCode, page: &impl Template) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    resp
}

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page_response(status, &ErrorPage { title, message })
}

fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A human label for a scope, from the app catalogue.
fn scope_label(scope: &str) -> String {
    let Some((family, access)) = scope.split_once('.') else {
        return scope.to_string();
    };
    let title = crate::apps::APPS
        .iter()
        .find(|a| a.scope == family)
        .map(|a| a.title.to_string())
        .unwrap_or_else(|| match family {
            "todo" => "Tasks".into(),
            other => other.replace('_', " "),
        });
    match access {
        "read" => format!("Read your {title}"),
        "write" => format!("Create, change and delete in your {title}"),
        "send" => format!("Send messages from your {title}"),
        other => format!("{title}: {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Cookies and forms

/// A cookie of these pages: only sent back to `/oauth` routes, never readable by scripts,
/// not sent on cross-site subrequests (so the double-submit check holds), and over HTTPS
/// only when the server is reached over HTTPS.
fn page_cookie(
    name: &'static str,
    value: String,
    path: String,
    max_age: i64,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age))
        .secure(secure)
        .build()
}

/// The value of a cookie of this browser.
fn cookie_value(jar: &CookieJar, name: &str) -> Option<String> {
    jar.get(name).map(|c| c.value().to_string())
}

/// This browser's CSRF token, or a fresh one when it has none (or a malformed one).
fn csrf_token(jar: &CookieJar) -> String {
    cookie_value(jar, CSRF_COOKIE)
        .filter(|c| c.len() >= 40)
        .unwrap_or_else(|| random_secret("nsx_"))
}

impl AuthorizationServer {
    fn cookie(&self, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
        page_cookie(
            name,
            value,
            self.path("/oauth"),
            max_age,
            self.secure_cookies,
        )
    }

    /// The person signed in in this browser, if any.
    async fn session_user(&self, jar: &CookieJar) -> Option<String> {
        let value = cookie_value(jar, SESSION_COOKIE)?;
        self.store
            .browser_session_user(&hash(&value), self.now())
            .await
            .ok()
            .flatten()
    }

    /// Signs `user_id` in in this browser: a stored session and its cookie.
    async fn start_session(&self, jar: CookieJar, user_id: &str) -> CookieJar {
        let value = random_secret("nss_");
        let now = self.now();
        match self
            .store
            .put_browser_session(&hash(&value), user_id, now, now + SESSION_TTL)
            .await
        {
            Ok(()) => jar.add(self.cookie(SESSION_COOKIE, value, SESSION_TTL)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot store browser session");
                jar
            }
        }
    }
}

/// The double-submit check: the form's `csrf` field equals this browser's cookie.
fn csrf_ok(jar: &CookieJar, form_csrf: Option<&str>) -> bool {
    match (cookie_value(jar, CSRF_COOKIE), form_csrf) {
        (Some(c), Some(f)) => !c.is_empty() && c.len() == f.len() && hash(&c) == hash(f),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// The authorization request

/// The parameters of an authorization request, as received.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
}

impl AuthorizeParams {
    /// The parameters present, as the consent form's hidden fields.
    fn hidden_fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("scope", &self.scope),
            ("resource", &self.resource),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// The consent form: the authorization request again, the CSRF token, the ticked scopes
/// (a checkbox group repeats `grant_scope`) and the button pressed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ConsentForm {
    csrf: Option<String>,
    action: Option<String>,
    #[serde(default)]
    grant_scope: Vec<String>,
    // Flattened fields keep an empty value as `Some("")` (an empty `state` goes back as sent).
    #[serde(flatten)]
    request: AuthorizeParams,
}

/// The connections page's form: sign in, or disconnect one grant.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ConnectionsForm {
    csrf: Option<String>,
    action: Option<String>,
    grant: Option<String>,
}

/// A request that passed every check.
struct ValidRequest {
    client: OAuthClient,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    scopes: Vec<String>,
}

/// Builds the redirect back to the client with `params` (plus `state` and `iss`).
fn client_redirect(
    server: &AuthorizationServer,
    redirect_uri: &str,
    state: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect URI",
            "The client's redirect URI is not a URL.",
        );
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(state) = state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &server.issuer);
    }
    see_other(url.as_str())
}

fn error_redirect(
    server: &AuthorizationServer,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    client_redirect(
        server,
        redirect_uri,
        state,
        &[("error", error), ("error_description", description)],
    )
}

impl AuthorizationServer {
    /// Checks an authorization request. Problems with the client or its redirect URI are
    /// shown to the person (never redirected: the URI is not trusted); the others are sent
    /// back to the client as OAuth errors.
    async fn validate(&self, p: &AuthorizeParams) -> Result<ValidRequest, Response> {
        let Some(client_id) = p.client_id.as_deref().filter(|c| !c.is_empty()) else {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The application did not say who it is (client_id is missing).",
            ));
        };
        let client = match self.resolve_client(client_id).await {
            Ok(c) => c,
            Err(ClientError::Store(e)) => {
                tracing::error!(error = %e, "authorization server store failure");
                return Err(error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The server's store is unavailable; try again shortly.",
                ));
            }
            Err(e) => {
                return Err(error_page(
                    StatusCode::BAD_REQUEST,
                    "Unknown application",
                    &e.to_string(),
                ));
            }
        };
        let Some(redirect_uri) = p.redirect_uri.clone() else {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The application did not say where to return (redirect_uri is missing).",
            ));
        };
        if !redirect_uri_allowed(&client.redirect_uris, &redirect_uri) {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "Invalid redirect URI",
                &format!(
                    "The redirect URI `{redirect_uri}` is not registered for this application."
                ),
            ));
        }
        let state = p.state.clone();
        let fail = |error: &str, description: &str| {
            Err(error_redirect(
                self,
                &redirect_uri,
                state.as_deref(),
                error,
                description,
            ))
        };
        if p.response_type.as_deref() != Some("code") {
            return fail("unsupported_response_type", "response_type must be `code`");
        }
        let Some(challenge) = p.code_challenge.clone() else {
            return fail(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            );
        };
        if p.code_challenge_method.as_deref() != Some("S256") {
            return fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            );
        }
        if challenge.len() != 43
            || !challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return fail(
                "invalid_request",
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            );
        }
        let resource = match p.resource.as_deref() {
            Some(r) if self.is_our_resource(r) => self.resource.clone(),
            Some(r) => {
                return fail(
                    "invalid_target",
                    &format!("resource `{r}` is not this server; use {}", self.resource),
                );
            }
            None => self.resource.clone(),
        };
        let all = crate::apps::all_scopes();
        let scopes: Vec<String> = match p.scope.as_deref().map(str::trim) {
            None | Some("") => all,
            Some(list) => {
                let set: BTreeSet<String> = list
                    .split_whitespace()
                    .filter_map(crate::apps::normalize_scope)
                    .collect();
                set.into_iter().collect()
            }
        };
        if scopes.is_empty() {
            return fail(
                "invalid_scope",
                "none of the requested scopes exists on this server; see scopes_supported",
            );
        }
        Ok(ValidRequest {
            client,
            redirect_uri,
            state,
            code_challenge: challenge,
            resource,
            scopes,
        })
    }

    /// The consent page (`checked`: the scopes to show ticked; all when `None`).
    #[allow(clippy::too_many_arguments)]
    fn consent_page(
        &self,
        status: StatusCode,
        p: &AuthorizeParams,
        v: &ValidRequest,
        csrf: &str,
        signed_in: Option<&str>,
        error: Option<&str>,
        checked: Option<&BTreeSet<String>>,
    ) -> Response {
        let name = v
            .client
            .client_name
            .as_deref()
            .unwrap_or("An unnamed application");
        let return_host = url::Url::parse(&v.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let action = self.path("/oauth/authorize");
        let page = ConsentPage {
            name,
            return_host: &return_host,
            identity: v
                .client
                .metadata_document
                .then_some(v.client.client_id.as_str()),
            signed_in,
            error,
            action: &action,
            hidden: p.hidden_fields(),
            csrf,
            scopes: v
                .scopes
                .iter()
                .map(|scope| ScopeChoice {
                    value: scope.clone(),
                    label: scope_label(scope),
                    checked: checked.is_none_or(|c| c.contains(scope)),
                })
                .collect(),
        };
        page_response(status, &page)
    }

    /// Issues a one-time code for `grant` (its hash and expiry are filled in here) and
    /// redirects the browser to the client with it.
    async fn issue_code(&self, grant: AuthCode, state: Option<&str>) -> Response {
        let code = random_secret("ncc_");
        let redirect_uri = grant.redirect_uri.clone();
        let redirect_uri = redirect_uri.as_str();
        let row = AuthCode {
            code_hash: hash(&code),
            expires_at: self.now() + CODE_TTL,
            ..grant
        };
        if let Err(e) = self.store.put_code(&row).await {
            tracing::error!(error = %e, "cannot store authorization code");
            return error_redirect(
                self,
                redirect_uri,
                state,
                "temporarily_unavailable",
                "the server's store is unavailable",
            );
        }
        client_redirect(self, redirect_uri, state, &[("code", &code)])
    }

    /// The stored app password of `user_id`, when Nextcloud still accepts it for that user.
    async fn working_access(&self, user_id: &str) -> bool {
        let Ok(Some(stored)) = self.store.app_password(user_id).await else {
            return false;
        };
        match self
            .nextcloud
            .user(stored.credentials())
            .current_user()
            .await
        {
            Ok(me) => me.id == user_id,
            Err(e) => {
                tracing::info!(error = %e, "stored app password no longer works");
                false
            }
        }
    }

    /// Starts a Login Flow for a request and returns the progress page's redirect.
    async fn start_login(
        &self,
        jar: &CookieJar,
        request: PendingAuthorization,
    ) -> Result<Response, Response> {
        let flow = self.nextcloud.start_login_flow().await.map_err(|e| {
            tracing::warn!(error = %e, "cannot start a Nextcloud Login Flow");
            error_page(
                StatusCode::BAD_GATEWAY,
                "Nextcloud unavailable",
                &format!("Nextcloud could not start a login: {e}"),
            )
        })?;
        let login_url = match &self.public_url {
            Some(public) => nextcloud::login_flow::rebase(&flow.login_url, public.as_str()),
            None => flow.login_url.clone(),
        };
        let Some(browser) = cookie_value(jar, CSRF_COOKIE) else {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "Cookies needed",
                "This page needs cookies to keep your sign-in safe; allow them and start again.",
            ));
        };
        let id = random_secret("nch_");
        let now = self.now();
        let row = PendingAuthorization {
            id_hash: hash(&id),
            browser_hash: hash(&browser),
            poll_token: Some(flow.poll_token.clone()),
            poll_endpoint: Some(flow.poll_endpoint.clone()),
            login_url: Some(login_url),
            status: AuthorizationStatus::Login,
            created_at: now,
            expires_at: now + LOGIN_TTL,
            ..request
        };
        self.store.put_authorization(&row).await.map_err(|e| {
            tracing::error!(error = %e, "cannot store authorization request");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The server's store is unavailable; try again shortly.",
            )
        })?;
        Ok(see_other(&format!(
            "{}?id={id}",
            self.path("/oauth/authorize/progress")
        )))
    }
}

/// `GET /oauth/authorize`: checks the request and shows the consent page.
pub async fn authorize(
    State(server): State<Arc<AuthorizationServer>>,
    jar: CookieJar,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let valid = match server.validate(&params).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let signed_in = server.session_user(&jar).await;
    let csrf = csrf_token(&jar);
    let page = server.consent_page(
        StatusCode::OK,
        &params,
        &valid,
        &csrf,
        signed_in.as_deref(),
        None,
        None,
    );
    let jar = jar.add(server.cookie(CSRF_COOKIE, csrf, LOGIN_TTL * 2));
    (jar, page).into_response()
}

/// `POST /oauth/authorize`: the consent form.
pub async fn consent(
    State(server): State<Arc<AuthorizationServer>>,
    jar: CookieJar,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    // A body that is not a form has no CSRF token either: refused below.
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !csrf_ok(&jar, form.csrf.as_deref()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from the consent page in this browser. Start again from the application.",
        );
    }
    let params = &form.request;
    let v = match server.validate(params).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if form.action.as_deref() != Some("allow") {
        return error_redirect(
            &server,
            &v.redirect_uri,
            v.state.as_deref(),
            "access_denied",
            "the person denied access",
        );
    }
    let chosen: BTreeSet<String> = form
        .grant_scope
        .iter()
        .filter(|s| v.scopes.contains(s))
        .cloned()
        .collect();
    let signed_in = server.session_user(&jar).await;
    if chosen.is_empty() {
        return server.consent_page(
            StatusCode::BAD_REQUEST,
            params,
            &v,
            form.csrf.as_deref().unwrap_or_default(),
            signed_in.as_deref(),
            Some("Choose at least one permission, or deny access."),
            Some(&chosen),
        );
    }
    let granted: Vec<String> = chosen.into_iter().collect();
    if let Some(user) = signed_in
        && server.working_access(&user).await
    {
        let grant = AuthCode {
            code_hash: String::new(),
            client_id: v.client.client_id.clone(),
            redirect_uri: v.redirect_uri.clone(),
            code_challenge: v.code_challenge.clone(),
            resource: v.resource.clone(),
            scopes: granted,
            user_id: user,
            expires_at: 0,
        };
        return server.issue_code(grant, v.state.as_deref()).await;
    }
    let request = PendingAuthorization {
        id_hash: String::new(),
        browser_hash: String::new(),
        client_id: v.client.client_id.clone(),
        redirect_uri: v.redirect_uri.clone(),
        state: v.state.clone(),
        code_challenge: v.code_challenge.clone(),
        resource: v.resource.clone(),
        requested_scopes: v.scopes.clone(),
        granted_scopes: granted,
        poll_token: None,
        poll_endpoint: None,
        login_url: None,
        status: AuthorizationStatus::Login,
        created_at: 0,
        expires_at: 0,
    };
    server
        .start_login(&jar, request)
        .await
        .unwrap_or_else(|r| r)
}

#[derive(serde::Deserialize)]
pub struct ProgressParams {
    id: Option<String>,
}

fn waiting_page(progress: &str, login_url: &str, id: &str, note: Option<&str>) -> Response {
    page_response(
        StatusCode::OK,
        &WaitingPage {
            progress,
            login_url,
            id,
            note,
        },
    )
}

/// `GET /oauth/authorize/progress?id=…`: polls the Login Flow once; when Nextcloud granted
/// access, stores the app password and sends the browser back to the client with a code.
pub async fn progress(
    State(server): State<Arc<AuthorizationServer>>,
    jar: CookieJar,
    Query(params): Query<ProgressParams>,
) -> Response {
    let Some(id) = params.id.filter(|i| i.starts_with("nch_")) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown request",
            "This link does not belong to a sign-in in progress.",
        );
    };
    let id_hash = hash(&id);
    let request = match server.store.authorization(&id_hash).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "Unknown request",
                "This sign-in is unknown or finished long ago. Start again from the application.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read authorization request");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The server's store is unavailable; try again shortly.",
            );
        }
    };
    let same_browser =
        cookie_value(&jar, CSRF_COOKIE).is_some_and(|c| hash(&c) == request.browser_hash);
    if !same_browser {
        return error_page(
            StatusCode::FORBIDDEN,
            "Wrong browser",
            "Open this page in the browser where you started connecting the application.",
        );
    }
    if request.status == AuthorizationStatus::Done {
        return error_page(
            StatusCode::GONE,
            "Already finished",
            "This sign-in has already finished. You can close this tab.",
        );
    }
    let sign_in_only = request.client_id == SIGN_IN_ONLY;
    let fail = |description: &str| {
        if sign_in_only {
            error_page(StatusCode::BAD_REQUEST, "Sign-in failed", description)
        } else {
            error_redirect(
                &server,
                &request.redirect_uri,
                request.state.as_deref(),
                "access_denied",
                description,
            )
        }
    };
    if request.expires_at <= server.now() {
        let _ = server.store.finish_authorization(&id_hash).await;
        return fail("the Nextcloud login was not completed within 20 minutes");
    }
    let (Some(endpoint), Some(poll_token), Some(login_url)) = (
        request.poll_endpoint.as_deref(),
        request.poll_token.as_deref(),
        request.login_url.as_deref(),
    ) else {
        return fail("the sign-in is incomplete");
    };
    let creds = match server.nextcloud.poll_login_flow(endpoint, poll_token).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return waiting_page(
                &server.path("/oauth/authorize/progress"),
                login_url,
                &id,
                None,
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "polling the Login Flow failed");
            return waiting_page(
                &server.path("/oauth/authorize/progress"),
                login_url,
                &id,
                Some("Nextcloud did not answer the last check; trying again."),
            );
        }
    };
    if !server
        .store
        .finish_authorization(&id_hash)
        .await
        .unwrap_or(false)
    {
        return error_page(
            StatusCode::GONE,
            "Already finished",
            "This sign-in has already finished. You can close this tab.",
        );
    }
    // Who logged in is what Nextcloud says for these credentials, not what the flow claims.
    let credentials = nextcloud::Credentials::new(&creds.login_name, &creds.app_password);
    let user = server.nextcloud.user(credentials);
    let user_id = match user.current_user().await {
        Ok(me) => me.id,
        Err(e) => {
            tracing::warn!(error = %e, "the app password from the Login Flow does not work");
            return fail("Nextcloud did not accept the access it had just granted");
        }
    };
    // The person is who logged in, so the grant is theirs by construction; the service still
    // keeps the user id bound to that account and revokes the password it replaces (for every
    // client) when this server had obtained it.
    let detail = format!(
        "Login Flow via the authorization server for client {}",
        if sign_in_only {
            "(sign-in)"
        } else {
            &request.client_id
        }
    );
    let grant = Grant {
        user_id: &user_id,
        login_name: &creds.login_name,
        password: &creds.app_password,
        scopes: None,
        origin: Origin::AuthorizationServer,
        account: Some(&user_id),
        required_account: Some(&user_id),
        flow: None,
        event: AuditEvent::Provisioned,
        detail: &detail,
    };
    if let Err(e) = server.provisioning.provision(grant).await {
        tracing::error!(error = %e, "cannot store the app password");
        return fail("the server could not store your Nextcloud access");
    }
    let resp = if sign_in_only {
        see_other(&server.path("/oauth/connections"))
    } else {
        let grant = AuthCode {
            code_hash: String::new(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            resource: request.resource.clone(),
            scopes: request.granted_scopes.clone(),
            user_id: user_id.clone(),
            expires_at: 0,
        };
        server.issue_code(grant, request.state.as_deref()).await
    };
    let jar = server.start_session(jar, &user_id).await;
    (jar, resp).into_response()
}

// ---------------------------------------------------------------------------------------
// Connected clients

fn date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `GET /oauth/connections`: the signed-in person's connected clients.
pub async fn connections(
    State(server): State<Arc<AuthorizationServer>>,
    jar: CookieJar,
) -> Response {
    let csrf = csrf_token(&jar);
    let user = server.session_user(&jar).await;
    let grants = match &user {
        None => Vec::new(),
        Some(user) => match server.store.grants_of_user(user).await {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(error = %e, "cannot list grants");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The server's store is unavailable; try again shortly.",
                );
            }
        },
    };
    let page = ConnectionsPage {
        user: user.as_deref(),
        grants: grants
            .into_iter()
            .map(|g| GrantRow {
                name: g.client_name.unwrap_or(g.client_id),
                scopes: g.scopes.join(", "),
                since: date(g.created_at),
                used: date(g.last_used_at),
                id: g.id,
            })
            .collect(),
        csrf: &csrf,
    };
    let resp = page_response(StatusCode::OK, &page);
    let jar = jar.add(server.cookie(CSRF_COOKIE, csrf, LOGIN_TTL * 2));
    (jar, resp).into_response()
}

/// `POST /oauth/connections`: sign in (a Login Flow without a client) or disconnect one.
pub async fn disconnect(
    State(server): State<Arc<AuthorizationServer>>,
    jar: CookieJar,
    form: Result<Form<ConnectionsForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !csrf_ok(&jar, form.csrf.as_deref()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from the connections page in this browser.",
        );
    }
    match form.action.as_deref() {
        Some("sign_in") => {
            let request = PendingAuthorization {
                id_hash: String::new(),
                browser_hash: String::new(),
                client_id: SIGN_IN_ONLY.into(),
                redirect_uri: server.path("/oauth/connections"),
                state: None,
                code_challenge: String::new(),
                resource: server.resource.clone(),
                requested_scopes: Vec::new(),
                granted_scopes: Vec::new(),
                poll_token: None,
                poll_endpoint: None,
                login_url: None,
                status: AuthorizationStatus::Login,
                created_at: 0,
                expires_at: 0,
            };
            server
                .start_login(&jar, request)
                .await
                .unwrap_or_else(|r| r)
        }
        Some("disconnect") => {
            let Some(user) = server.session_user(&jar).await else {
                return see_other(&server.path("/oauth/connections"));
            };
            let Some(grant_id) = form.grant.as_deref() else {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "Invalid request",
                    "No application was chosen.",
                );
            };
            let owned = server
                .store
                .grants_of_user(&user)
                .await
                .map(|gs| gs.iter().any(|g| g.id == grant_id))
                .unwrap_or(false);
            if !owned {
                return error_page(
                    StatusCode::NOT_FOUND,
                    "Unknown application",
                    "That application is not connected to your account.",
                );
            }
            if let Err(e) = server.store.revoke_grant(grant_id, server.now()).await {
                tracing::error!(error = %e, "cannot revoke grant");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The server's store is unavailable; try again shortly.",
                );
            }
            server
                .store
                .audit(
                    AuditEvent::Revoked,
                    &user,
                    Some("OAuth client disconnected from the connections page"),
                )
                .await;
            server.after_disconnect(&user).await;
            see_other(&server.path("/oauth/connections"))
        }
        _ => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "Unknown action.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_labels() {
        assert_eq!(scope_label("notes.read"), "Read your Notes");
        assert_eq!(
            scope_label("todo.write"),
            "Create, change and delete in your Tasks"
        );
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = ErrorPage {
            title: "<b>",
            message: "<a href=\"x\">'&",
        }
        .render()
        .unwrap();
        assert!(html.contains("<h1>&#60;b&#62;</h1>"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<a href"), "{html}");
        assert!(html.contains("&#34;x&#34;&#62;&#39;&#38;"), "{html}");
    }

    #[test]
    fn cookies_carry_their_security_attributes() {
        let c = page_cookie(
            CSRF_COOKIE,
            "nsx_abc".into(),
            "/nc/oauth".into(),
            2400,
            true,
        );
        let set = c.encoded().to_string();
        for part in [
            "ncmcp_csrf=nsx_abc",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/nc/oauth",
            "Max-Age=2400",
        ] {
            assert!(set.split("; ").any(|p| p == part), "{part} in {set}");
        }
        let plain = page_cookie(SESSION_COOKIE, "v".into(), "/oauth".into(), 60, false);
        assert!(!plain.encoded().to_string().contains("Secure"));
    }

    async fn consent_form(body: &str) -> ConsentForm {
        use axum::extract::FromRequest;
        let req = axum::http::Request::post("/oauth/authorize")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let Form(form) = Form::<ConsentForm>::from_request(req, &()).await.unwrap();
        form
    }

    #[tokio::test]
    async fn consent_form_keeps_repeated_scopes_and_empty_values() {
        let form = consent_form(
            "csrf=x&client_id=c&state=&grant_scope=notes.read&grant_scope=files.read&action=allow",
        )
        .await;
        assert_eq!(form.grant_scope, ["notes.read", "files.read"]);
        assert_eq!(form.request.state.as_deref(), Some(""));
        assert_eq!(form.request.client_id.as_deref(), Some("c"));
        assert_eq!(form.request.scope, None);
        assert_eq!(form.action.as_deref(), Some("allow"));
        let one = consent_form("grant_scope=notes.read").await;
        assert_eq!(one.grant_scope, ["notes.read"]);
    }

    #[test]
    fn csrf_needs_the_cookie_and_the_same_field() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::COOKIE, "a=1; ncmcp_csrf=xyz; b=2".parse().unwrap());
        let jar = CookieJar::from_headers(&h);
        assert!(csrf_ok(&jar, Some("xyz")));
        assert!(!csrf_ok(&jar, Some("xyy")));
        assert!(!csrf_ok(&jar, None));
        assert!(!csrf_ok(&CookieJar::new(), Some("xyz")));
    }
}
