//! Pieces every tool shares: the error type tools return, the result envelope, and the checks
//! of arguments that many tools take alike.

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
        Self::new(true, body)
    }

    /// An answer made now that says whether the tool did what was asked (the provisioning
    /// tools answer `success: false` with a status when the person declined).
    pub fn new(success: bool, body: T) -> Self {
        Self {
            success,
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

/// A text argument that must say something: trimmed, or an error naming the argument and what
/// was `expected` (e.g. "expected a non-empty title").
pub fn non_empty<'a>(
    name: &'static str,
    value: &'a str,
    expected: &str,
) -> Result<&'a str, ToolError> {
    match value.trim() {
        "" => Err(ToolError::invalid(name, expected)),
        text => Ok(text),
    }
}

/// An optional text argument, with blank text taken as not given (models often send `""` for
/// "no filter").
pub fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A number argument within `range` (both ends included).
pub fn in_range<T>(
    name: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ToolError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ToolError::invalid(
            name,
            format!(
                "expected a number from {} to {}, got {value}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// A number argument of at least `min`.
pub fn at_least<T>(name: &'static str, value: T, min: T) -> Result<T, ToolError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value >= min {
        Ok(value)
    } else {
        Err(ToolError::invalid(
            name,
            format!("expected {min} or more, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ToolError) -> String {
        e.to_string()
    }

    #[test]
    fn non_empty_trims_and_names_the_argument() {
        assert_eq!(non_empty("title", "  Plan \n", "x").unwrap(), "Plan");
        let e = message(non_empty("title", " \t", "expected a non-empty title").unwrap_err());
        assert_eq!(e, "Invalid argument `title`: expected a non-empty title");
    }

    #[test]
    fn blank_optional_text_is_not_given() {
        assert_eq!(given(Some("  ".into())), None);
        assert_eq!(given(None), None);
        assert_eq!(given(Some(" a ".into())).as_deref(), Some(" a "));
    }

    #[test]
    fn ranges_include_both_ends() {
        assert_eq!(in_range("limit", 1, 1..=200).unwrap(), 1);
        assert_eq!(in_range("limit", 200u32, 1..=200).unwrap(), 200);
        let e = message(in_range("limit", 0i64, 1..=200).unwrap_err());
        assert_eq!(
            e,
            "Invalid argument `limit`: expected a number from 1 to 200, got 0"
        );
        assert!(in_range("limit", 201, 1..=200).is_err());
    }

    #[test]
    fn lower_bounds() {
        assert_eq!(at_least("offset", 0, 0).unwrap(), 0);
        let e = message(at_least("offset", -1, 0).unwrap_err());
        assert_eq!(e, "Invalid argument `offset`: expected 0 or more, got -1");
    }

    #[test]
    fn the_envelope_flattens_the_body_beside_success_and_timestamp() {
        #[derive(serde::Serialize)]
        struct Body {
            id: u64,
        }
        let value = serde_json::to_value(Envelope::ok(Body { id: 7 })).unwrap();
        assert_eq!(value["success"], true);
        assert_eq!(value["id"], 7);
        assert!(
            value["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        let value = serde_json::to_value(Envelope::new(false, Body { id: 7 })).unwrap();
        assert_eq!(value["success"], false);
    }
}
