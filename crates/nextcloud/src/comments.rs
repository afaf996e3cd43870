//! Comments on files (`/remote.php/dav/comments/files/{fileId}`): the comments app's DAV
//! endpoint. Listing is a `REPORT oc:filter-comments` (newest first, paged with limit/offset);
//! posting is a JSON `POST` whose answer names the new comment in `Content-Location`.

use reqwest::Method;
use serde::Serialize;

use crate::client::Request;
use crate::dav::OC;
use crate::{Error, NextcloudUser, Result};

/// Nextcloud's limit on a comment's length, in characters after trimming.
pub const MAX_MESSAGE_LENGTH: usize = 1000;

/// One comment as Nextcloud reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub message: String,
    pub actor_type: String,
    pub actor_id: String,
    pub actor_display_name: Option<String>,
    /// When it was posted, as sent (an HTTP date).
    pub creation_datetime: Option<String>,
    /// `comment` for ordinary comments (`system` for events, ...).
    pub verb: String,
    pub is_unread: bool,
}

/// The comments API; get it with [`NextcloudUser::comments`].
pub struct Comments<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn comments(&self) -> Comments<'_> {
        Comments { user: self }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewComment<'a> {
    actor_type: &'static str,
    verb: &'static str,
    message: &'a str,
}

fn what(file_id: u64) -> String {
    format!("File {file_id} (for comments)")
}

impl Comments<'_> {
    /// A page of a file's comments, newest first. `limit` 0 means all.
    pub async fn list(&self, file_id: u64, limit: u32, offset: u32) -> Result<Vec<Comment>> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><oc:filter-comments xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><oc:limit>{limit}</oc:limit><oc:offset>{offset}</oc:offset></oc:filter-comments>"#
        );
        let responses = self
            .user
            .dav_multistatus(
                "REPORT",
                &format!("/remote.php/dav/comments/files/{file_id}"),
                None,
                &body,
                &what(file_id),
            )
            .await?;
        Ok(responses
            .iter()
            .filter_map(|r| {
                let id = r.text(OC, "id")?.trim().parse().ok()?;
                let text = |name: &str| r.text(OC, name).map(str::to_string);
                Some(Comment {
                    id,
                    message: r
                        .prop(OC, "message")
                        .map(|p| p.text.clone())
                        .unwrap_or_default(),
                    actor_type: text("actorType").unwrap_or_default(),
                    actor_id: text("actorId").unwrap_or_default(),
                    actor_display_name: text("actorDisplayName"),
                    creation_datetime: text("creationDateTime"),
                    verb: text("verb").unwrap_or_default(),
                    is_unread: r.text(OC, "isUnread").is_some_and(|u| u.trim() == "true"),
                })
            })
            .collect())
    }

    /// Posts a comment as the current user; returns its id when Nextcloud names it.
    pub async fn create(&self, file_id: u64, message: &str) -> Result<Option<u64>> {
        let path = format!("/remote.php/dav/comments/files/{file_id}");
        let req = Request::new(Method::POST, path, what(file_id)).json(&NewComment {
            actor_type: "users",
            verb: "comment",
            message,
        })?;
        let resp = match self.user.send(req).await {
            Ok(r) => r,
            Err(Error::Status {
                status: 400,
                message: Some(m),
                ..
            }) => return Err(Error::invalid_argument("message", m)),
            Err(e) => return Err(e),
        };
        Ok(resp
            .headers()
            .get(reqwest::header::CONTENT_LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .and_then(|id| id.parse().ok()))
    }
}
