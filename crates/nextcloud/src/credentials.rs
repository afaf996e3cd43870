use std::fmt;

use reqwest::header::HeaderValue;

/// A login name and an app password (or password) for HTTP Basic authentication.
///
/// `Debug` never prints the secret, so credentials can sit inside structs that are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    login_name: String,
    secret: String,
    /// The `Authorization` header, encoded once: every request sends it, and encoding it per
    /// request (as `RequestBuilder::basic_auth` does) was a measurable part of a call's CPU.
    authorization: HeaderValue,
}

impl Credentials {
    pub fn new(login_name: impl Into<String>, secret: impl Into<String>) -> Self {
        let login_name = login_name.into();
        let secret = secret.into();
        Self {
            authorization: basic_authorization(&login_name, &secret),
            login_name,
            secret,
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

    /// The `Authorization: Basic …` header for these credentials, marked sensitive.
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }
}

/// What `reqwest::RequestBuilder::basic_auth` sends: `Basic base64(login:secret)`.
fn basic_authorization(login_name: &str, secret: &str) -> HeaderValue {
    use base64::Engine;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{login_name}:{secret}"));
    let mut header = HeaderValue::try_from(format!("Basic {encoded}"))
        .expect("base64 and \"Basic \" are valid header characters");
    header.set_sensitive(true);
    header
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

    #[test]
    fn authorization_is_what_basic_auth_sends() {
        let creds = Credentials::new("alice@example.com", "pä:ss word");
        let header = creds.authorization();
        assert!(header.is_sensitive());
        let built = reqwest::Client::new()
            .get("http://localhost/")
            .basic_auth("alice@example.com", Some("pä:ss word"))
            .build()
            .unwrap();
        assert_eq!(
            Some(header),
            built.headers().get(reqwest::header::AUTHORIZATION)
        );
    }
}
