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
    /// A tool of several requests failed part way; says what was already done.
    #[error("{0}")]
    PartlyDone(String),
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

/// Arguments of a tool that takes none.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
pub struct NoArgs {}

/// A tool's structured result: the fields every answer of the reference carries (`success`,
/// `timestamp`), set here once, with the tool's own fields flattened in beside them.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Envelope<T> {
    pub success: bool,
    // When the answer was made, RFC 3339 UTC. (A plain comment: a doc comment would be
    // repeated in every tool's output schema.)
    pub timestamp: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Envelope<T> {
    /// A successful answer made now.
    pub fn ok(body: T) -> Self {
        Self {
            success: true,
            timestamp: now(),
            body,
        }
    }
}

/// Wraps `body` as a successful answer. (Tools spell their return type out as
/// `Result<Json<Envelope<T>>, ToolError>`: rmcp derives the output schema from that spelling,
/// so a type alias would silently drop it.)
pub fn answer<T>(body: T) -> Result<rmcp::Json<Envelope<T>>, ToolError> {
    Ok(rmcp::Json(Envelope::ok(body)))
}
