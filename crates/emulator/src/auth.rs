//! HTTP Basic authentication with a login name plus either the account password or an app
//! password, as Nextcloud's `Session::logClientIn` accepts it.

use base64::Engine;
use http::HeaderMap;

use crate::state::World;

/// Who a request authenticated as.
#[derive(Clone, Debug)]
pub struct Auth {
    pub user_id: String,
    pub login_name: String,
    /// The app password used, if the client logged in with one (not the account password).
    pub app_password: Option<String>,
}

/// Result of looking at the `Authorization` header.
#[derive(Clone, Debug)]
pub enum AuthOutcome {
    /// No (Basic) credentials sent.
    Anonymous,
    /// Credentials sent but wrong: Nextcloud answers these before routing.
    Invalid,
    Ok(Auth),
}

/// Splits a Basic `Authorization` header into login and password.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_string(), password.to_string()))
}

/// Checks login + password against the accounts and issued app passwords.
pub fn check_credentials(world: &World, login: &str, password: &str) -> Option<Auth> {
    if let Some(token) = world.app_passwords.get(password)
        && (token.login_name == login || token.user_id == login)
    {
        return Some(Auth {
            user_id: token.user_id.clone(),
            login_name: token.login_name.clone(),
            app_password: Some(password.to_string()),
        });
    }
    let user = world.user_by_login(login)?;
    (user.password == password).then(|| Auth {
        user_id: user.id.clone(),
        login_name: user.login_name.clone(),
        app_password: None,
    })
}

/// Authenticates a request from its headers.
pub fn authenticate(world: &World, headers: &HeaderMap) -> AuthOutcome {
    let Some((login, password)) = basic_credentials(headers) else {
        return AuthOutcome::Anonymous;
    };
    if login.is_empty() || password.is_empty() {
        return AuthOutcome::Anonymous;
    }
    match check_credentials(world, &login, &password) {
        Some(auth) => AuthOutcome::Ok(auth),
        None => AuthOutcome::Invalid,
    }
}
