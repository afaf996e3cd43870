//! RFC 8414 authorization-server metadata.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AuthorizationServer;

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server_metadata(
    State(server): State<Arc<AuthorizationServer>>,
) -> Response {
    axum::Json(server.metadata()).into_response()
}

/// `GET /.well-known/oauth-authorization-server/{issuer path}`: where RFC 8414 clients look
/// when the issuer has a path, i.e. when this server runs under a sub-path behind a proxy
/// (`https://host/tools/mcp` → issuer `https://host/tools`). Only this issuer's own path
/// answers.
pub async fn authorization_server_metadata_for_path(
    State(server): State<Arc<AuthorizationServer>>,
    Path(path): Path<String>,
) -> Response {
    if super::well_known_suffix_names(&path, &server.issuer_path()) {
        axum::Json(server.metadata()).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

impl AuthorizationServer {
    /// The metadata document: only what this server really does (code flow with PKCE S256,
    /// refresh tokens, public and secret-based clients, metadata-document client ids).
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("/oauth/authorize"),
            "token_endpoint": self.endpoint("/oauth/token"),
            "registration_endpoint": self.endpoint("/oauth/register"),
            "revocation_endpoint": self.endpoint("/oauth/revoke"),
            "scopes_supported": crate::apps::all_scopes(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
        })
    }
}
