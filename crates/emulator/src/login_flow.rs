//! Login Flow v2 (`/index.php/login/v2`), after `ClientFlowLoginV2Controller` and
//! `LoginFlowV2Service`: start, poll (404 until granted, then the credentials once), and a
//! minimal browser page whose form grants the flow when the credentials are right.

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::auth::check_credentials;
use crate::params::Params;
use crate::state::{AppPassword, AppState, LoginFlow, random_token};

/// Flows older than this are gone (`LoginFlowV2Mapper::lifetime`).
pub const FLOW_LIFETIME_SECS: i64 = 20 * 60;

/// `http://host[:port]` as the client reached us (`getServerPath`).
pub fn server_url(state: &AppState, headers: &HeaderMap) -> String {
    match headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
    {
        Some(host) => format!("http://{host}"),
        None => state
            .inner
            .base_url
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default(),
    }
}

/// `POST /index.php/login/v2`.
pub async fn init(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let poll_token = random_token(128);
    let login_token = random_token(128);
    let client_name = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let now = state.now();
    {
        let mut world = state.world();
        world
            .login_flows
            .retain(|_, f| f.created >= now - FLOW_LIFETIME_SECS);
        world.login_flows.insert(
            poll_token.clone(),
            LoginFlow {
                login_token: login_token.clone(),
                created: now,
                client_name,
                credentials: None,
            },
        );
    }
    let base = server_url(&state, &headers);
    Json(json!({
        "poll": {"token": poll_token, "endpoint": format!("{base}/index.php/login/v2/poll")},
        "login": format!("{base}/index.php/login/v2/flow/{login_token}"),
    }))
    .into_response()
}

/// `POST /index.php/login/v2/poll` with `token`.
pub async fn poll(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &body);
    let not_found = || (StatusCode::NOT_FOUND, Json(json!([]))).into_response();
    let Some(token) = params.string("token") else {
        return not_found();
    };
    let now = state.now();
    let mut world = state.world();
    let Some(flow) = world.login_flows.get(&token) else {
        return not_found();
    };
    if flow.created < now - FLOW_LIFETIME_SECS {
        world.login_flows.remove(&token);
        return not_found();
    }
    let Some((server, login, password)) = flow.credentials.clone() else {
        return not_found();
    };
    world.login_flows.remove(&token);
    Json(json!({"server": server, "loginName": login, "appPassword": password})).into_response()
}

/// Grants a flow for a user: issues an app password and stores the credentials for the poll.
pub fn grant(state: &AppState, poll_token: &str, user_id: &str, server: &str) -> bool {
    let now = state.now();
    let mut world = state.world();
    let Some(login_name) = world.users.get(user_id).map(|u| u.login_name.clone()) else {
        return false;
    };
    let Some(flow) = world.login_flows.get(poll_token) else {
        return false;
    };
    if flow.created < now - FLOW_LIFETIME_SECS || flow.credentials.is_some() {
        return false;
    }
    let app_password = random_token(72);
    world.app_passwords.insert(
        app_password.clone(),
        AppPassword {
            user_id: user_id.to_string(),
            login_name: login_name.clone(),
        },
    );
    if let Some(flow) = world.login_flows.get_mut(poll_token) {
        flow.credentials = Some((server.to_string(), login_name, app_password));
    }
    true
}

/// A guest page with a heading and a message (`lines` are separated by `<br>`).
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    lines: &'a [&'a str],
}

/// The login page of a flow.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    token: &'a str,
    client: &'a str,
    error: Option<&'a str>,
}

/// Renders `page` as an HTML response.
fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn message(status: StatusCode, title: &str, lines: &[&str]) -> Response {
    html(status, &MessagePage { title, lines })
}

fn forbidden_token() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Access forbidden",
        &["Your login token is invalid or has expired"],
    )
}

fn find_by_login_token(state: &AppState, login_token: &str) -> Option<(String, LoginFlow)> {
    let now = state.now();
    let world = state.world();
    world
        .login_flows
        .iter()
        .find(|(_, f)| f.login_token == login_token)
        .filter(|(_, f)| f.created >= now - FLOW_LIFETIME_SECS && f.credentials.is_none())
        .map(|(k, f)| (k.clone(), f.clone()))
}

fn login_form(token: &str, client: &str, error: Option<&str>) -> Response {
    html(
        StatusCode::OK,
        &LoginPage {
            token,
            client,
            error,
        },
    )
}

/// `GET /index.php/login/v2/flow/{token}`: the login page.
pub async fn landing(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match find_by_login_token(&state, &token) {
        Some((_, flow)) => login_form(&token, &flow.client_name, None),
        None => forbidden_token(),
    }
}

/// `POST /index.php/login/v2/flow/{token}`: the form submit; grants on good credentials.
pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((poll_token, flow)) = find_by_login_token(&state, &token) else {
        return forbidden_token();
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let user = params.string("user").unwrap_or_default();
    let password = params.string("password").unwrap_or_default();
    let auth = check_credentials(&state.world(), &user, &password);
    let Some(auth) = auth else {
        return login_form(&token, &flow.client_name, Some("Wrong login or password."));
    };
    let server = server_url(&state, &headers);
    if grant(&state, &poll_token, &auth.user_id, &server) {
        message(
            StatusCode::OK,
            "Account connected",
            &[
                "Your client should now be connected!",
                "You can close this window.",
            ],
        )
    } else {
        message(
            StatusCode::FORBIDDEN,
            "Access forbidden",
            &["Could not complete login"],
        )
    }
}
