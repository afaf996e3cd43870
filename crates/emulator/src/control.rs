//! Test-only control endpoints under `/__emulator/` (never part of real Nextcloud): fault plans,
//! login-flow grants, a user's app passwords and the Collectives search job, for
//! out-of-process use of the binary.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::faults::Faults;
use crate::state::AppState;

/// `PUT /__emulator/faults` with a JSON [`Faults`].
pub async fn put_faults(State(state): State<AppState>, Json(faults): Json<Faults>) -> Response {
    state.world().faults.set(faults);
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /__emulator/faults`.
pub async fn delete_faults(State(state): State<AppState>) -> Response {
    state.world().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// Body of a grant request.
#[derive(Deserialize)]
pub struct GrantBody {
    pub user: String,
}

/// `POST /__emulator/login-flow/{poll_token}/grant` with `{"user": "alice"}`.
pub async fn grant_login_flow(
    State(state): State<AppState>,
    Path(poll_token): Path<String>,
    headers: HeaderMap,
    Json(body): Json<GrantBody>,
) -> Response {
    let server = crate::login_flow::server_url(&state, &headers);
    if crate::login_flow::grant(&state, &poll_token, &body.user, &server) {
        (StatusCode::OK, Json(json!({"granted": true}))).into_response()
    } else {
        (StatusCode::NOT_FOUND, Json(json!({"granted": false}))).into_response()
    }
}

/// The app passwords that authenticate as `user_id`, sorted.
pub fn app_passwords_of(state: &AppState, user_id: &str) -> Vec<String> {
    let mut tokens: Vec<String> = state
        .world()
        .app_passwords
        .iter()
        .filter(|(_, p)| p.user_id == user_id)
        .map(|(token, _)| token.clone())
        .collect();
    tokens.sort();
    tokens
}

/// `GET /__emulator/users/{user_id}/app-passwords`: `{"app_passwords": [...]}`.
pub async fn list_app_passwords(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Response {
    Json(json!({"app_passwords": app_passwords_of(&state, &user_id)})).into_response()
}

/// `PUT /__emulator/talk/features` with a JSON array of Talk's capability features, or `null`
/// for the defaults.
pub async fn put_talk_features(
    State(state): State<AppState>,
    Json(features): Json<Option<Vec<String>>>,
) -> Response {
    crate::talk::set_features(&state, features);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__emulator/collectives/index`: runs the Collectives app's page indexing job, so
/// pages created since the last run can be found by content search.
pub async fn run_collectives_index(State(state): State<AppState>) -> Response {
    crate::collectives::run_index(&state);
    StatusCode::NO_CONTENT.into_response()
}
