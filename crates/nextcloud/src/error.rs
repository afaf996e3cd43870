use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Nextcloud.
///
/// Messages are written for the person at the other end of an AI assistant: they say what
/// happened, the HTTP status where there is one, Nextcloud's own words, and what to do next.
/// No variant ever carries a credential or an Authorization header.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Nextcloud rejected the credentials (HTTP 401){}. Check the login name and app password; an app password may have been revoked.",
        detail(.message)
    )]
    Unauthorized { message: Option<String> },

    #[error(
        "Nextcloud refused access (HTTP 403){}. The account may lack permission for this item.",
        detail(.message)
    )]
    Forbidden { message: Option<String> },

    #[error("{what} was not found (HTTP 404){}.", detail(.message))]
    NotFound {
        what: String,
        message: Option<String>,
    },

    #[error(
        "{what} was changed by someone else since it was read (HTTP 412 Precondition Failed); nothing was overwritten. Read it again to get the current version and ETag, then retry."
    )]
    Conflict {
        what: String,
        /// The item's ETag now, when Nextcloud reported it.
        current_etag: Option<String>,
    },

    #[error(
        "{what} is locked (HTTP 423){}; try again in a moment.",
        detail(.message)
    )]
    Locked {
        what: String,
        message: Option<String>,
    },

    #[error(
        "Nextcloud is rate limiting requests (HTTP 429){}.",
        retry_hint(.retry_after)
    )]
    RateLimited { retry_after: Option<Duration> },

    #[error(
        "Nextcloud answered HTTP {status} to {operation}{}.{}",
        detail(.message),
        status_hint(*.status)
    )]
    Status {
        status: u16,
        operation: String,
        message: Option<String>,
    },

    #[error(
        "Nextcloud did not answer within {0:?} (timeout). It may be overloaded or unreachable; try again later."
    )]
    Timeout(Duration),

    #[error("Could not connect to Nextcloud: {0}. Check NEXTCLOUD_HOST and that the server is up.")]
    Connect(String),

    #[error("The connection to Nextcloud failed: {0}")]
    Transport(String),

    #[error("Nextcloud sent a response that could not be understood ({0}).")]
    InvalidResponse(String),

    #[error("The {app} app is not installed or not enabled on this Nextcloud.")]
    AppNotInstalled { app: String },

    #[error("Invalid argument `{name}`: {message}")]
    InvalidArgument { name: String, message: String },

    #[error("Invalid client configuration: {0}")]
    Config(String),
}

fn detail(message: &Option<String>) -> String {
    match message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; retry after {} seconds", d.as_secs().max(1)),
        None => "; wait a little before retrying".to_string(),
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        400 => " The request was rejected as invalid; check the arguments.",
        405 => " The operation is not allowed on this item.",
        409 => " The target conflicts with an existing item or a missing parent.",
        413 => " The content is too large for this Nextcloud.",
        500..=599 => " Nextcloud had an internal problem or is in maintenance; try again later.",
        _ => "",
    }
}

impl Error {
    /// The HTTP status Nextcloud answered with, when the failure came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Conflict { .. } => Some(412),
            Error::Locked { .. } => Some(423),
            Error::RateLimited { .. } => Some(429),
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying the same call again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Locked { .. }
                | Error::RateLimited { .. }
                | Error::Timeout(_)
                | Error::Connect(_)
                | Error::Transport(_)
        ) || matches!(self, Error::Status { status, .. } if *status >= 500)
    }

    pub(crate) fn invalid_argument(name: &str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name: name.to_string(),
            message: message.into(),
        }
    }

    /// Turns a transport-level reqwest error into ours, dropping the URL's query (which may
    /// carry tokens) and never the Authorization header (reqwest does not print it).
    pub(crate) fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        if err.is_timeout() {
            return Error::Timeout(timeout);
        }
        let text = error_chain(&err);
        if err.is_connect() {
            Error::Connect(text)
        } else if err.is_decode() {
            Error::InvalidResponse(text)
        } else {
            Error::Transport(text)
        }
    }
}

/// Source chain of an error without the request URL (it may include a query).
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        let mut plain = err.to_string();
        if let Some(url) = err.url() {
            plain = plain.replace(url.as_str(), url.path());
        }
        return plain;
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_message_tells_what_to_do() {
        let e = Error::Conflict {
            what: "Note 7".into(),
            current_etag: Some("abc".into()),
        };
        let text = e.to_string();
        assert!(text.contains("412"));
        assert!(text.contains("Read it again"));
        assert_eq!(e.status(), Some(412));
    }

    #[test]
    fn status_error_names_status_and_operation() {
        let e = Error::Status {
            status: 503,
            operation: "GET notes".into(),
            message: Some("Service Unavailable".into()),
        };
        let text = e.to_string();
        assert!(text.contains("503"), "{text}");
        assert!(text.contains("GET notes"), "{text}");
        assert!(text.contains("try again later"), "{text}");
        assert!(e.is_transient());
    }
}
