//! The browser side: `/oauth/authorize` (checks the request, shows the consent page),
//! the consent submit (starts a Nextcloud Login Flow v2, or issues a code at once for a
//! signed-in person whose access is stored), the progress page (polls the flow; once
//! Nextcloud granted access, stores the app password and redirects with a one-time code),
//! and `/oauth/connections` (a person's connected clients, with disconnect).
//!
//! Server-rendered HTML that works without JavaScript; forms are protected by a
//! double-submit cookie (SameSite=Lax) and pages may not be framed.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

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
// HTML

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;background:#f5f5f5;color:#1a1a1a}\
main{max-width:36rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0}fieldset{border:1px solid #ccc;border-radius:6px;margin:1rem 0}\
legend{font-weight:600;padding:0 .3rem}ul{list-style:none;padding:0;margin:0}li{margin:.3rem 0}\
label{cursor:pointer}input[type=checkbox]{width:1.1rem;height:1.1rem;vertical-align:middle;margin-right:.4rem}\
button,.button{font:inherit;padding:.55rem 1.2rem;border-radius:6px;border:2px solid #0060a0;background:#0060a0;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}\
button.secondary{background:#fff;color:#0060a0}button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #e07000;outline-offset:2px}\
.error{color:#a00000;font-weight:600}.muted{color:#555}.actions{display:flex;gap:1rem;margin-top:1rem;flex-wrap:wrap}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd;vertical-align:top}";

fn html_page(title: &str, body: &str, refresh: Option<u32>) -> String {
    let refresh = refresh
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{refresh}\
<title>{} – Nextcloud MCP</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>\n",
        esc(title)
    )
}

/// An HTML response with the headers every page of ours carries.
fn page_response(status: StatusCode, html: String) -> Response {
    let mut resp = (status, axum::response::Html(html)).into_response();
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
    page_response(
        status,
        html_page(
            title,
            &format!(
                "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>",
                esc(title),
                esc(message)
            ),
            None,
        ),
    )
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

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl AuthorizationServer {
    fn set_cookie(&self, resp: &mut Response, name: &str, value: &str, max_age: i64) {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let path = self.path("/oauth");
        let v = format!(
            "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }

    /// The person signed in in this browser, if any.
    async fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        let value = cookie(headers, SESSION_COOKIE)?;
        self.store
            .browser_session_user(&hash(&value), self.now())
            .await
            .ok()
            .flatten()
    }

    async fn start_session(&self, resp: &mut Response, user_id: &str) {
        let value = random_secret("nss_");
        let now = self.now();
        match self
            .store
            .put_browser_session(&hash(&value), user_id, now, now + SESSION_TTL)
            .await
        {
            Ok(()) => self.set_cookie(resp, SESSION_COOKIE, &value, SESSION_TTL),
            Err(e) => tracing::warn!(error = %e, "cannot store browser session"),
        }
    }
}

/// Form pairs in order (checkbox groups repeat a name).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The double-submit check: the form's `csrf` field equals this browser's cookie.
fn csrf_ok(headers: &HeaderMap, pairs: &[(String, String)]) -> bool {
    match (cookie(headers, CSRF_COOKIE), first(pairs, "csrf")) {
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
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |n: &str| first(pairs, n).map(str::to_string);
        Self {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            state: get("state"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            scope: get("scope"),
            resource: get("resource"),
        }
    }

    fn hidden_fields(&self) -> String {
        let mut out = String::new();
        for (name, value) in [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("scope", &self.scope),
            ("resource", &self.resource),
        ] {
            if let Some(v) = value {
                let _ = write!(
                    out,
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    esc(v)
                );
            }
        }
        out
    }
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

    fn consent_page(
        &self,
        p: &AuthorizeParams,
        v: &ValidRequest,
        csrf: &str,
        signed_in: Option<&str>,
        error: Option<&str>,
        checked: Option<&BTreeSet<String>>,
    ) -> String {
        let name = v
            .client
            .client_name
            .clone()
            .unwrap_or_else(|| "An unnamed application".into());
        let return_host = url::Url::parse(&v.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let mut body = format!(
            "<h1>Connect {name} to your Nextcloud</h1>\
<p><strong>{name}</strong> wants to use your Nextcloud through this MCP server. \
It will return to <strong>{host}</strong> when you are done.</p>",
            name = esc(&name),
            host = esc(&return_host),
        );
        if v.client.metadata_document {
            let _ = write!(
                body,
                "<p class=\"muted\">Application identity: {}</p>",
                esc(&v.client.client_id)
            );
        }
        if let Some(user) = signed_in {
            let _ = write!(
                body,
                "<p>You are signed in as <strong>{}</strong>.</p>",
                esc(user)
            );
        }
        if let Some(e) = error {
            let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
        }
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{}\">{}\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<fieldset><legend>Allow it to</legend><ul>",
            esc(&self.path("/oauth/authorize")),
            p.hidden_fields(),
            esc(csrf)
        );
        for (i, scope) in v.scopes.iter().enumerate() {
            let on = checked.is_none_or(|c| c.contains(scope));
            let _ = write!(
                body,
                "<li><input type=\"checkbox\" name=\"grant_scope\" id=\"scope-{i}\" value=\"{s}\"{c}>\
<label for=\"scope-{i}\">{label} <span class=\"muted\">({s})</span></label></li>",
                s = esc(scope),
                c = if on { " checked" } else { "" },
                label = esc(&scope_label(scope)),
            );
        }
        body.push_str("</ul></fieldset><p class=\"muted\">Untick what it should not do. ");
        body.push_str(if signed_in.is_some() {
            "Your Nextcloud access is already set up in this browser.</p>"
        } else {
            "Next, you log in to your Nextcloud in a new tab to grant access.</p>"
        });
        body.push_str(
            "<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"allow\">Allow</button>\
<button type=\"submit\" name=\"action\" value=\"deny\" class=\"secondary\">Deny</button></div></form>",
        );
        html_page("Connect an application", &body, None)
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
        headers: &HeaderMap,
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
        let Some(browser) = cookie(headers, CSRF_COOKIE) else {
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
    headers: HeaderMap,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let valid = match server.validate(&params).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let signed_in = server.session_user(&headers).await;
    let csrf = cookie(&headers, CSRF_COOKIE)
        .filter(|c| c.len() >= 40)
        .unwrap_or_else(|| random_secret("nsx_"));
    let html = server.consent_page(&params, &valid, &csrf, signed_in.as_deref(), None, None);
    let mut resp = page_response(StatusCode::OK, html);
    server.set_cookie(&mut resp, CSRF_COOKIE, &csrf, LOGIN_TTL * 2);
    resp
}

/// `POST /oauth/authorize`: the consent form.
pub async fn consent(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    if !csrf_ok(&headers, &pairs) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from the consent page in this browser. Start again from the application.",
        );
    }
    let params = AuthorizeParams::from_pairs(&pairs);
    let v = match server.validate(&params).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if first(&pairs, "action") != Some("allow") {
        return error_redirect(
            &server,
            &v.redirect_uri,
            v.state.as_deref(),
            "access_denied",
            "the person denied access",
        );
    }
    let chosen: BTreeSet<String> = pairs
        .iter()
        .filter(|(k, _)| k == "grant_scope")
        .map(|(_, s)| s.clone())
        .filter(|s| v.scopes.contains(s))
        .collect();
    let signed_in = server.session_user(&headers).await;
    if chosen.is_empty() {
        let csrf = first(&pairs, "csrf").unwrap_or_default().to_string();
        let html = server.consent_page(
            &params,
            &v,
            &csrf,
            signed_in.as_deref(),
            Some("Choose at least one permission, or deny access."),
            Some(&chosen),
        );
        return page_response(StatusCode::BAD_REQUEST, html);
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
        .start_login(&headers, request)
        .await
        .unwrap_or_else(|r| r)
}

#[derive(serde::Deserialize)]
pub struct ProgressParams {
    id: Option<String>,
}

fn waiting_page(progress: &str, login_url: &str, id: &str, note: Option<&str>) -> Response {
    let note = note
        .map(|n| format!("<p class=\"muted\">{}</p>", esc(n)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in to your Nextcloud</h1>\
<p>To grant access, log in to your Nextcloud and confirm. The login opens in a new tab; \
come back to this tab afterwards.</p>\
<p><a class=\"button\" href=\"{login}\" target=\"_blank\" rel=\"noopener noreferrer\">Log in to Nextcloud</a></p>\
<p role=\"status\" aria-live=\"polite\">Waiting for Nextcloud to confirm… This page checks again every few seconds.</p>{note}\
<p><a href=\"{progress}?id={id}\">Check now</a></p>",
        progress = esc(progress),
        login = esc(login_url),
        id = esc(id),
    );
    page_response(
        StatusCode::OK,
        html_page("Waiting for Nextcloud", &body, Some(3)),
    )
}

/// `GET /oauth/authorize/progress?id=…`: polls the Login Flow once; when Nextcloud granted
/// access, stores the app password and sends the browser back to the client with a code.
pub async fn progress(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
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
        cookie(&headers, CSRF_COOKIE).is_some_and(|c| hash(&c) == request.browser_hash);
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
    let mut resp = if sign_in_only {
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
    server.start_session(&mut resp, &user_id).await;
    resp
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
    headers: HeaderMap,
) -> Response {
    let csrf = cookie(&headers, CSRF_COOKIE)
        .filter(|c| c.len() >= 40)
        .unwrap_or_else(|| random_secret("nsx_"));
    let body = match server.session_user(&headers).await {
        None => format!(
            "<h1>Connected applications</h1><p>Sign in with your Nextcloud account to see the \
applications connected to it through this server.</p>\
<form method=\"post\" action=\"connections\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<button type=\"submit\" name=\"action\" value=\"sign_in\">Sign in with Nextcloud</button></form>",
            esc(&csrf)
        ),
        Some(user) => {
            let grants = match server.store.grants_of_user(&user).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(error = %e, "cannot list grants");
                    return error_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Temporarily unavailable",
                        "The server's store is unavailable; try again shortly.",
                    );
                }
            };
            let mut body = format!(
                "<h1>Connected applications</h1><p>Signed in as <strong>{}</strong>.</p>",
                esc(&user)
            );
            if grants.is_empty() {
                body.push_str("<p>No application is connected.</p>");
            } else {
                body.push_str(
                    "<table><caption class=\"muted\">Disconnecting the last application also revokes this server's access to your Nextcloud.</caption>\
<thead><tr><th scope=\"col\">Application</th><th scope=\"col\">Permissions</th><th scope=\"col\">Connected</th><th scope=\"col\"><span class=\"muted\">Action</span></th></tr></thead><tbody>",
                );
                for g in &grants {
                    let name = g.client_name.clone().unwrap_or_else(|| g.client_id.clone());
                    let _ = write!(
                        body,
                        "<tr><td>{name}</td><td>{scopes}</td><td>{since}<br><span class=\"muted\">last used {used}</span></td>\
<td><form method=\"post\" action=\"connections\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"grant\" value=\"{id}\">\
<button type=\"submit\" name=\"action\" value=\"disconnect\" class=\"secondary\" aria-label=\"Disconnect {name}\">Disconnect</button></form></td></tr>",
                        name = esc(&name),
                        scopes = esc(&g.scopes.join(", ")),
                        since = esc(&date(g.created_at)),
                        used = esc(&date(g.last_used_at)),
                        csrf = esc(&csrf),
                        id = esc(&g.id),
                    );
                }
                body.push_str("</tbody></table>");
            }
            body
        }
    };
    let mut resp = page_response(
        StatusCode::OK,
        html_page("Connected applications", &body, None),
    );
    server.set_cookie(&mut resp, CSRF_COOKIE, &csrf, LOGIN_TTL * 2);
    resp
}

/// `POST /oauth/connections`: sign in (a Login Flow without a client) or disconnect one.
pub async fn disconnect(
    State(server): State<Arc<AuthorizationServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    if !csrf_ok(&headers, &pairs) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from the connections page in this browser.",
        );
    }
    match first(&pairs, "action") {
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
                .start_login(&headers, request)
                .await
                .unwrap_or_else(|r| r)
        }
        Some("disconnect") => {
            let Some(user) = server.session_user(&headers).await else {
                return see_other(&server.path("/oauth/connections"));
            };
            let Some(grant_id) = first(&pairs, "grant") else {
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
    fn labels_and_escaping() {
        assert_eq!(scope_label("notes.read"), "Read your Notes");
        assert_eq!(
            scope_label("todo.write"),
            "Create, change and delete in your Tasks"
        );
        assert_eq!(
            esc("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; ncmcp_csrf=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, CSRF_COOKIE).as_deref(), Some("xyz"));
    }
}
