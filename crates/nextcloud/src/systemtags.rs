//! Collaborative system tags: the tag list (`/remote.php/dav/systemtags`), a file's tags
//! (`/remote.php/dav/systemtags-relations/files/{fileId}`, `PUT`/`DELETE` per tag id) and the
//! files carrying a tag (`REPORT oc:filter-files` with an `oc:systemtag` rule).

use reqwest::Method;
use serde::Serialize;

use crate::client::Request;
use crate::dav::{OC, encode_path, encode_segment};
use crate::files::{FILE_PROPS, FileInfo, NAMESPACES, normalize_path};
use crate::{Error, NextcloudUser, Result};

const TAG_PROPS: &str =
    "<oc:id/><oc:display-name/><oc:user-visible/><oc:user-assignable/><oc:can-assign/>";

/// One system tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemTag {
    pub id: u64,
    pub name: String,
    pub user_visible: bool,
    pub user_assignable: bool,
    /// Whether the current user may assign it (admins can assign restricted tags).
    pub can_assign: bool,
}

/// The system tags API; get it with [`NextcloudUser::system_tags`].
pub struct SystemTags<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn system_tags(&self) -> SystemTags<'_> {
        SystemTags { user: self }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewTag<'a> {
    name: &'a str,
    user_visible: bool,
    user_assignable: bool,
    can_assign: bool,
}

fn flag(r: &crate::dav::DavResponse, name: &str) -> bool {
    r.text(OC, name)
        .is_some_and(|v| matches!(v.trim(), "true" | "1"))
}

fn parse_tags(responses: &[crate::dav::DavResponse]) -> Vec<SystemTag> {
    responses
        .iter()
        .filter_map(|r| {
            Some(SystemTag {
                id: r.text(OC, "id")?.trim().parse().ok()?,
                name: r.text(OC, "display-name")?.to_string(),
                user_visible: flag(r, "user-visible"),
                user_assignable: flag(r, "user-assignable"),
                can_assign: r
                    .text(OC, "can-assign")
                    .map_or_else(|| flag(r, "user-assignable"), |v| v.trim() == "true"),
            })
        })
        .collect()
}

fn propfind_body() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><d:propfind {NAMESPACES}><d:prop>{TAG_PROPS}</d:prop></d:propfind>"#
    )
}

impl SystemTags<'_> {
    /// Every tag the user can see, by name.
    pub async fn list(&self) -> Result<Vec<SystemTag>> {
        let responses = self
            .user
            .dav_multistatus(
                "PROPFIND",
                "/remote.php/dav/systemtags/",
                Some("1"),
                &propfind_body(),
                "The system tags",
            )
            .await?;
        let mut tags = parse_tags(&responses);
        tags.sort_by_key(|t| t.name.to_lowercase());
        Ok(tags)
    }

    /// The tag with this name (exact match, else the only case-insensitive match).
    pub async fn find(&self, name: &str) -> Result<Option<SystemTag>> {
        Ok(pick_by_name(self.list().await?, name))
    }

    /// Creates a visible, assignable tag and returns it.
    pub async fn create(&self, name: &str) -> Result<SystemTag> {
        let req = Request::new(
            Method::POST,
            "/remote.php/dav/systemtags/",
            format!("The tag `{name}`"),
        )
        .json(&NewTag {
            name,
            user_visible: true,
            user_assignable: true,
            can_assign: true,
        })?;
        let resp = self.user.send(req).await?;
        let id = resp
            .headers()
            .get(reqwest::header::CONTENT_LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .and_then(|id| id.parse().ok());
        match id {
            Some(id) => Ok(SystemTag {
                id,
                name: name.to_string(),
                user_visible: true,
                user_assignable: true,
                can_assign: true,
            }),
            None => self.find(name).await?.ok_or_else(|| {
                Error::InvalidResponse(format!("the new tag `{name}` is not in the tag list"))
            }),
        }
    }

    /// The tag with this name, created when there is none yet.
    pub async fn find_or_create(&self, name: &str) -> Result<SystemTag> {
        if let Some(tag) = self.find(name).await? {
            return Ok(tag);
        }
        match self.create(name).await {
            Ok(tag) => Ok(tag),
            // Someone else created it meanwhile.
            Err(Error::Status { status: 409, .. }) => self.find(name).await?.ok_or_else(|| {
                Error::InvalidResponse(format!("tag `{name}` exists but is not visible"))
            }),
            Err(e) => Err(e),
        }
    }

    /// Deletes a tag everywhere (Nextcloud lets only administrators do this).
    pub async fn delete(&self, tag_id: u64) -> Result<()> {
        let req = Request::new(
            Method::DELETE,
            format!("/remote.php/dav/systemtags/{tag_id}"),
            format!("Tag {tag_id}"),
        );
        self.user.send(req).await?;
        Ok(())
    }

    /// The tags on a file or folder.
    pub async fn of_file(&self, file_id: u64) -> Result<Vec<SystemTag>> {
        let responses = self
            .user
            .dav_multistatus(
                "PROPFIND",
                &format!("/remote.php/dav/systemtags-relations/files/{file_id}"),
                Some("1"),
                &propfind_body(),
                &format!("File {file_id} (for tags)"),
            )
            .await?;
        let mut tags = parse_tags(&responses);
        tags.sort_by_key(|t| t.name.to_lowercase());
        Ok(tags)
    }

    /// Puts a tag on a file; `false` when it was already there.
    pub async fn assign(&self, file_id: u64, tag_id: u64) -> Result<bool> {
        let req = Request::new(
            Method::PUT,
            format!("/remote.php/dav/systemtags-relations/files/{file_id}/{tag_id}"),
            format!("Tag {tag_id} on file {file_id}"),
        );
        match self.user.send(req).await {
            Ok(_) => Ok(true),
            // Sabre refuses a PUT on an existing relation with 409.
            Err(Error::Status { status: 409, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes a tag off a file; `false` when it was not there.
    pub async fn unassign(&self, file_id: u64, tag_id: u64) -> Result<bool> {
        let req = Request::new(
            Method::DELETE,
            format!("/remote.php/dav/systemtags-relations/files/{file_id}/{tag_id}"),
            format!("Tag {tag_id} on file {file_id}"),
        );
        match self.user.send(req).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Files and folders below `scope` carrying every one of these tags.
    pub async fn files(&self, tag_ids: &[u64], scope: &str) -> Result<Vec<FileInfo>> {
        let scope = normalize_path("scope", scope)?;
        let user_id = self.user.user_id().await?;
        let rules: String = tag_ids
            .iter()
            .map(|id| format!("<oc:systemtag>{id}</oc:systemtag>"))
            .collect();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><oc:filter-files {NAMESPACES}><d:prop>{FILE_PROPS}</d:prop><oc:filter-rules>{rules}</oc:filter-rules></oc:filter-files>"#
        );
        let mut path = format!("/remote.php/dav/files/{}/", encode_segment(&user_id));
        if !scope.is_empty() {
            path.push_str(&encode_path(&scope));
            path.push('/');
        }
        let responses = self
            .user
            .dav_multistatus("REPORT", &path, None, &body, "The tagged files")
            .await?;
        Ok(responses
            .iter()
            .map(|r| FileInfo::from_response(r, &user_id))
            .filter(|f| f.path != scope)
            .collect())
    }
}

/// Exact name first; otherwise a single case-insensitive match.
pub fn pick_by_name(tags: Vec<SystemTag>, name: &str) -> Option<SystemTag> {
    let name = name.trim();
    if let Some(t) = tags.iter().find(|t| t.name == name) {
        return Some(t.clone());
    }
    let mut folded = tags
        .into_iter()
        .filter(|t| t.name.to_lowercase() == name.to_lowercase());
    match (folded.next(), folded.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(id: u64, name: &str) -> SystemTag {
        SystemTag {
            id,
            name: name.into(),
            user_visible: true,
            user_assignable: true,
            can_assign: true,
        }
    }

    #[test]
    fn names_match_exactly_then_case_insensitively() {
        let tags = vec![tag(1, "Secret"), tag(2, "secret"), tag(3, "Draft")];
        assert_eq!(pick_by_name(tags.clone(), "secret").unwrap().id, 2);
        assert_eq!(pick_by_name(tags.clone(), "draft").unwrap().id, 3);
        assert_eq!(pick_by_name(tags.clone(), "SECRET"), None, "ambiguous");
        assert_eq!(pick_by_name(tags, "nope"), None);
    }
}
