//! Sample data for the demo and for tests that want a lived-in account: notes, recipes,
//! calendars with recurring events and tasks, contacts, a Deck board, a table, shopping lists,
//! mail, News feeds, a Collectives handbook and files with a public share.
//!
//! Notes, recipes and Talk conversations are written into the state directly (their modification times lie in the
//! past). Everything else goes in through the emulator's own HTTP routes, as the user, the
//! way a client would create it, so the sample data is only ever what the API can produce.

mod apps;
mod collectives;
mod groupware;
mod mail;
mod news;
mod notes;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tower::ServiceExt;

pub use mail::sample_pdf;
pub use notes::sample_png;

use crate::state::AppState;

/// Seeds what is written into the state directly: every user's notes and recipes.
pub fn seed(state: &AppState) {
    let ids: Vec<String> = state.world().users.keys().cloned().collect();
    for uid in &ids {
        crate::cookbook::seed(state, uid);
        crate::talk::seed(state, uid);
    }
    news::register(state);
    notes::seed(state);
}

/// A sample request that the emulator refused: a bug in the sample data or the emulator.
#[derive(Debug)]
pub struct SeedError(pub String);

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seeding sample data: {}", self.0)
    }
}

impl std::error::Error for SeedError {}

/// Seeds through the routes, as `login` with `password`: calendars, tasks, contacts, Deck,
/// Tables, files and shares.
pub async fn seed_through_api(
    router: &Router,
    state: &AppState,
    user_id: &str,
    login: &str,
    password: &str,
) -> Result<(), SeedError> {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    let seeder = Seeder {
        router: router.clone(),
        authorization: format!("Basic {credentials}"),
        user: user_id.to_string(),
        now: DateTime::from_timestamp(state.now(), 0).unwrap_or_default(),
    };
    groupware::seed(&seeder).await?;
    apps::seed(&seeder).await?;
    if state.app_installed("collectives") {
        collectives::seed(&seeder).await?;
        // The app's background job has indexed the handbook since.
        crate::collectives::run_index(state);
    }
    mail::seed(&seeder, state).await?;
    if state.app_installed("news") {
        news::seed(&seeder, state).await?;
    }
    Ok(())
}

/// Sends requests to the emulator's router as one user.
pub(crate) struct Seeder {
    router: Router,
    authorization: String,
    pub user: String,
    pub now: DateTime<Utc>,
}

impl Seeder {
    /// Sends one request; any status from 400 up is an error naming the request.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Result<Bytes, SeedError> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost")
            .header(http::header::AUTHORIZATION, &self.authorization)
            .header("OCS-APIRequest", "true");
        if let Some(ct) = content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        let req = req
            .body(body.into())
            .map_err(|e| SeedError(format!("{method} {path}: {e}")))?;
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| SeedError(format!("{method} {path}: {e}")))?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .map_err(|e| SeedError(format!("{method} {path}: {e}")))?;
        if status.as_u16() >= 400 {
            return Err(SeedError(format!(
                "{method} {path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        Ok(bytes)
    }

    /// A JSON request; OCS answers are unwrapped to their `data`.
    pub async fn json(&self, method: &str, path: &str, body: Value) -> Result<Value, SeedError> {
        let bytes = self
            .send(method, path, Some("application/json"), body.to_string())
            .await?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| SeedError(format!("{method} {path}: not JSON: {e}")))?;
        Ok(match value.pointer("/ocs/data") {
            Some(data) => data.clone(),
            None => value,
        })
    }
}

/// The numeric `id` of a JSON answer (OCS sharing sends it as a string).
pub(crate) fn id_of(v: &Value, what: &str) -> Result<u64, SeedError> {
    v["id"]
        .as_u64()
        .or_else(|| v["id"].as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| SeedError(format!("{what}: no id in {v}")))
}
