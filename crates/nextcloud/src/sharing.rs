//! File sharing over OCS (`/ocs/v2.php/apps/files_sharing/api/v1/shares`): user, group and
//! public-link shares of the caller's files.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::files::normalize_path;
use crate::ocs::{request, send};
use crate::{Error, NextcloudUser, Result};

const BASE: &str = "/ocs/v2.php/apps/files_sharing/api/v1/shares";

/// `IShare::TYPE_*` values.
pub mod share_type {
    pub const USER: i64 = 0;
    pub const GROUP: i64 = 1;
    pub const PUBLIC_LINK: i64 = 3;
    pub const EMAIL: i64 = 4;
    pub const FEDERATED: i64 = 6;
    pub const CIRCLE: i64 = 7;
    pub const ROOM: i64 = 10;
}

/// Permission bits (`Constants::PERMISSION_*`).
pub mod permission {
    pub const READ: i64 = 1;
    pub const UPDATE: i64 = 2;
    pub const CREATE: i64 = 4;
    pub const DELETE: i64 = 8;
    pub const SHARE: i64 = 16;
    pub const ALL: i64 = 31;
}

/// One share as the Sharing API reports it (the fields a client needs).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Share {
    #[serde(deserialize_with = "string_or_number")]
    pub id: u64,
    pub share_type: i64,
    #[serde(default)]
    pub uid_owner: String,
    #[serde(default)]
    pub displayname_owner: Option<String>,
    pub permissions: i64,
    #[serde(default)]
    pub stime: i64,
    /// `YYYY-MM-DD 00:00:00`, or none.
    #[serde(default)]
    pub expiration: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    /// Path of the shared item as the requesting user sees it (leading `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// `file` or `folder`.
    #[serde(default)]
    pub item_type: String,
    #[serde(default)]
    pub mimetype: Option<String>,
    #[serde(default)]
    pub file_source: Option<u64>,
    #[serde(default)]
    pub file_target: Option<String>,
    #[serde(default)]
    pub share_with: Option<String>,
    #[serde(default)]
    pub share_with_displayname: Option<String>,
    /// Public link URL (link shares only).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        N(u64),
        S(String),
    }
    match Id::deserialize(d)? {
        Id::N(n) => Ok(n),
        Id::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// A share to create.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewShare {
    /// Relative to the user's root; normalised and sent with a leading `/`.
    pub path: String,
    pub share_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_with: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<i64>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Fields of a share to change; `None` keeps them.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Which shares to list.
#[derive(Clone, Debug, Default)]
pub struct ShareFilter {
    /// Only shares of this item (relative path).
    pub path: Option<String>,
    /// Shares other people made with the caller, instead of the caller's own.
    pub shared_with_me: bool,
}

/// The Sharing API for one user; get it with [`NextcloudUser::sharing`].
pub struct Sharing<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn sharing(&self) -> Sharing<'_> {
        Sharing { user: self }
    }
}

fn share_what(id: u64) -> String {
    format!("Share {id}")
}

impl Sharing<'_> {
    pub async fn list(&self, filter: &ShareFilter) -> Result<Vec<Share>> {
        let query = {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(path) = &filter.path {
                let path = normalize_path("path", path)?;
                query.append_pair("path", &format!("/{path}"));
            }
            if filter.shared_with_me {
                query.append_pair("shared_with_me", "true");
            }
            query.finish()
        };
        let url = if query.is_empty() {
            BASE.to_string()
        } else {
            format!("{BASE}?{query}")
        };
        let what = match &filter.path {
            Some(p) => format!("`{}`", p.trim_matches('/')),
            None => "The share list".to_string(),
        };
        send(self.user, request(Method::GET, &url, &what)?).await
    }

    pub async fn get(&self, id: u64) -> Result<Share> {
        let req = request(Method::GET, &format!("{BASE}/{id}"), &share_what(id))?;
        let shares: Vec<Share> = send(self.user, req).await?;
        shares.into_iter().next().ok_or_else(|| Error::NotFound {
            what: share_what(id),
            message: None,
        })
    }

    pub async fn create(&self, share: &NewShare) -> Result<Share> {
        let path = normalize_path("path", &share.path)?;
        if path.is_empty() {
            return Err(Error::invalid_argument(
                "path",
                "the home folder itself cannot be shared; give a file or folder inside it",
            ));
        }
        let body = NewShare {
            path: format!("/{path}"),
            ..share.clone()
        };
        let req = request(Method::POST, BASE, &format!("`{path}`"))?.json(&body)?;
        send(self.user, req).await
    }

    pub async fn update(&self, id: u64, changes: &ShareUpdate) -> Result<Share> {
        let req = request(Method::PUT, &format!("{BASE}/{id}"), &share_what(id))?.json(changes)?;
        send(self.user, req).await
    }

    pub async fn delete(&self, id: u64) -> Result<()> {
        let req = request(Method::DELETE, &format!("{BASE}/{id}"), &share_what(id))?;
        let _: serde_json::Value = send(self.user, req).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_ids_come_as_strings() {
        let s: Share = serde_json::from_str(
            r#"{"id":"12","share_type":3,"uid_owner":"alice","permissions":1,"item_type":"file","token":"abc","url":"https://x/s/abc","expiration":null}"#,
        )
        .unwrap();
        assert_eq!(s.id, 12);
        assert_eq!(s.url.as_deref(), Some("https://x/s/abc"));
    }
}
