//! Pieces every tool shares: the error type tools return, timestamps, and deep links.

use rmcp::model::{ContentBlock, IntoContents};

/// A failed tool call, shown to the model and the person as the tool's result (`isError`).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Nextcloud(#[from] nextcloud::Error),
    #[error("Invalid argument `{name}`: {message}")]
    InvalidArgument { name: &'static str, message: String },
    #[error(
        "The {app} app is not installed or not enabled on this Nextcloud, so `{tool}` cannot run."
    )]
    AppMissing { app: &'static str, tool: String },
    /// The caller has no usable Nextcloud access (multi-user modes); says what to do.
    #[error("{0}")]
    Access(String),
}

impl ToolError {
    pub fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        ToolError::InvalidArgument {
            name,
            message: message.into(),
        }
    }
}

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

/// Now, as RFC 3339 UTC, for the `timestamp` field the reference's outputs carry.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
