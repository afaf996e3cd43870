//! Login Flow v2 (`/index.php/login/v2`): a client obtains an app password by sending the
//! person to a browser login and polling until they have granted access; and the app
//! password is revoked (`DELETE /ocs/v2.php/core/apppassword`) when it is no longer needed.

use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::{Error, Nextcloud, NextcloudUser, Result};

/// A started flow: the page the person must open, and how to poll for its outcome.
#[derive(Clone)]
pub struct LoginFlowStart {
    /// The browser login page, as Nextcloud addressed it.
    pub login_url: String,
    /// Where to poll, rebased onto this client's base URL (Nextcloud names it by the host it
    /// was reached through, which a proxy may rewrite).
    pub poll_endpoint: String,
    /// The poll token: whoever holds it receives the app password, so it is a secret.
    pub poll_token: String,
}

impl std::fmt::Debug for LoginFlowStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginFlowStart")
            .field("login_url", &self.login_url)
            .field("poll_endpoint", &self.poll_endpoint)
            .field("poll_token", &"<redacted>")
            .finish()
    }
}

/// What a granted flow yields.
#[derive(Clone)]
pub struct LoginFlowCredentials {
    pub server: String,
    pub login_name: String,
    pub app_password: String,
}

impl std::fmt::Debug for LoginFlowCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginFlowCredentials")
            .field("server", &self.server)
            .field("login_name", &self.login_name)
            .field("app_password", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct StartBody {
    poll: PollInfo,
    login: String,
}

#[derive(Deserialize)]
struct PollInfo {
    token: String,
    endpoint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PollBody {
    server: String,
    login_name: String,
    app_password: String,
}

/// Replaces the server root of a Login Flow URL (`{root}[/index.php]/login/v2/...`) by
/// `base`, keeping `/index.php` and everything after it. URLs of another shape are returned
/// unchanged.
pub fn rebase(url: &str, base: &str) -> String {
    let Some(at) = url.find("/login/v2") else {
        return url.to_string();
    };
    let root = &url[..at];
    let root = root.strip_suffix("/index.php").unwrap_or(root);
    format!("{}{}", base.trim_end_matches('/'), &url[root.len()..])
}

impl Nextcloud {
    /// `POST /index.php/login/v2`: starts a flow. Needs no credentials.
    pub async fn start_login_flow(&self) -> Result<LoginFlowStart> {
        let operation = "POST /index.php/login/v2";
        let url = format!("{}/index.php/login/v2", self.base_url());
        let resp = self
            .http()
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, self.config().request_timeout))?;
        if !resp.status().is_success() {
            return Err(status_error(resp.status(), operation));
        }
        let body: StartBody = crate::client::decode_json(resp, operation).await?;
        Ok(LoginFlowStart {
            login_url: body.login,
            poll_endpoint: rebase(&body.poll.endpoint, self.base_url()),
            poll_token: body.poll.token,
        })
    }

    /// Polls a flow once: `Ok(None)` while the person has not granted access (HTTP 404, which
    /// is also Nextcloud's answer once the flow has expired or was already collected).
    pub async fn poll_login_flow(
        &self,
        endpoint: &str,
        poll_token: &str,
    ) -> Result<Option<LoginFlowCredentials>> {
        let operation = "POST /index.php/login/v2/poll";
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", poll_token)
            .finish();
        let resp = self
            .http()
            .request(Method::POST, endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, self.config().request_timeout))?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let body: PollBody = crate::client::decode_json(resp, operation).await?;
                Ok(Some(LoginFlowCredentials {
                    server: body.server,
                    login_name: body.login_name,
                    app_password: body.app_password,
                }))
            }
            s => Err(status_error(s, operation)),
        }
    }
}

fn status_error(status: StatusCode, operation: &str) -> Error {
    Error::Status {
        status: status.as_u16(),
        operation: operation.to_string(),
        message: status.canonical_reason().map(str::to_string),
    }
}

impl NextcloudUser {
    /// `DELETE /ocs/v2.php/core/apppassword`: revokes the app password these credentials
    /// are, so it stops working everywhere. Fails with 403 when they are not an app password.
    pub async fn revoke_app_password(&self) -> Result<()> {
        let req = crate::ocs::request(
            Method::DELETE,
            "/ocs/v2.php/core/apppassword",
            "The app password",
        )?;
        crate::ocs::send::<serde_json::Value>(self, req).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::rebase;

    #[test]
    fn rebases_login_flow_urls() {
        assert_eq!(
            rebase(
                "http://nc:80/index.php/login/v2/flow/abc",
                "https://cloud.example.com/"
            ),
            "https://cloud.example.com/index.php/login/v2/flow/abc"
        );
        assert_eq!(
            rebase(
                "https://x/nextcloud/login/v2/poll",
                "http://internal:8080/nextcloud"
            ),
            "http://internal:8080/nextcloud/login/v2/poll"
        );
        assert_eq!(rebase("https://x/other", "https://y"), "https://x/other");
    }
}
