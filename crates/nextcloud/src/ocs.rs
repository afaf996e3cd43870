//! The OCS API envelope (`/ocs/v2.php/...`) and the endpoints about the current user.

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::Request;
use crate::{Error, NextcloudUser, Result};

#[derive(Deserialize)]
struct Envelope<T> {
    ocs: Body<T>,
}

#[derive(Deserialize)]
struct Body<T> {
    meta: Meta,
    data: T,
}

#[derive(Deserialize)]
struct Meta {
    statuscode: i64,
    #[serde(default)]
    message: Option<String>,
}

/// The account behind the credentials, from `cloud/user`.
#[derive(Clone, Debug, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    /// Nextcloud sends the name twice, as `displayname` and (older clients) `display-name`.
    #[serde(default, rename = "displayname")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The groups the account belongs to (`admin` makes it an administrator).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Builds an OCS request: the `OCS-APIRequest` header Nextcloud requires against CSRF, and
/// JSON instead of the XML default.
pub(crate) fn request(method: Method, path: &str, what: &str) -> Result<Request> {
    let separator = if path.contains('?') { '&' } else { '?' };
    Request::new(method, format!("{path}{separator}format=json"), what)
        .header(http::HeaderName::from_static("ocs-apirequest"), "true")?
        .header(http::header::ACCEPT, "application/json")
}

/// Sends an OCS request and unwraps the envelope, mapping OCS status codes to errors
/// (v1 answers 100 for success, v2 answers 200; 997 is "unauthorised", 998 "not found").
pub(crate) async fn send<T: DeserializeOwned>(user: &NextcloudUser, request: Request) -> Result<T> {
    let what = request.what.clone();
    let envelope: Envelope<T> = user.send_json(request).await?;
    unwrap(envelope, what)
}

/// Parses an OCS JSON answer and unwraps its envelope, as [`send`] does after the HTTP
/// exchange: the data on success, a typed error for an OCS failure status or a malformed body.
/// Public so that it can be fuzzed and tested without a server.
pub fn parse_response<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    let envelope: Envelope<T> = serde_json::from_slice(body)
        .map_err(|e| Error::InvalidResponse(format!("OCS {what}: {e}")))?;
    unwrap(envelope, what.to_string())
}

/// Maps OCS status codes to errors (v1 answers 100 for success, v2 mirrors the controller's
/// 2xx, e.g. 201 for a creation; 997 is "unauthorised", 998 "not found").
fn unwrap<T>(envelope: Envelope<T>, what: String) -> Result<T> {
    let meta = envelope.ocs.meta;
    match meta.statuscode {
        100 | 200..=299 => Ok(envelope.ocs.data),
        997 | 401 => Err(Error::Unauthorized {
            message: meta.message,
        }),
        403 => Err(Error::Forbidden {
            message: meta.message,
        }),
        998 | 404 => Err(Error::NotFound {
            what,
            message: meta.message,
        }),
        code => Err(Error::Status {
            status: u16::try_from(code)
                .ok()
                .filter(|s| (100..600).contains(s))
                .unwrap_or(500),
            operation: format!("OCS {what}"),
            message: meta.message,
        }),
    }
}

impl NextcloudUser {
    /// Who these credentials belong to; also the cheapest way to check that they work.
    pub async fn current_user(&self) -> Result<CurrentUser> {
        let req = request(Method::GET, "/ocs/v2.php/cloud/user", "The current user")?;
        send(self, req).await
    }
}
