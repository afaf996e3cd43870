//! `GET /status.php`: what clients probe before anything else.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::VERSION;

/// The status document of an installed, healthy Nextcloud 34.
pub async fn status() -> impl IntoResponse {
    let (major, minor, micro, build) = VERSION;
    Json(json!({
        "installed": true,
        "maintenance": false,
        "needsDbUpgrade": false,
        "version": format!("{major}.{minor}.{micro}.{build}"),
        "versionstring": format!("{major}.{minor}.{micro}"),
        "edition": "",
        "productname": "Nextcloud",
        "extendedSupport": false,
    }))
}
