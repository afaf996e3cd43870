use std::fmt;

/// A login name and an app password (or password) for HTTP Basic authentication.
///
/// `Debug` never prints the secret, so credentials can sit inside structs that are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    login_name: String,
    secret: String,
}

impl Credentials {
    pub fn new(login_name: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            login_name: login_name.into(),
            secret: secret.into(),
        }
    }

    /// The name typed at the Nextcloud login; it may differ from the user id.
    pub fn login_name(&self) -> &str {
        &self.login_name
    }

    /// The password; only for building the Authorization header or re-authenticating.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login_name", &self.login_name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let creds = Credentials::new("alice", "super-secret-app-password");
        let shown = format!("{creds:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("super-secret"));
    }
}
