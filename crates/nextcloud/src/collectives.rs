//! The Collectives app (github.com/nextcloud/collectives): collectives, their pages, tags and
//! trash through its OCS API (`/ocs/v2.php/apps/collectives/api/v1.0`), and page content
//! through WebDAV.
//!
//! A page is a markdown file in the member's Collectives folder: `collectivePath` (the
//! collective's folder in the user's files), `filePath` (the folder inside it) and `fileName`
//! (`Readme.md` for the landing page and for pages that have subpages). Reading and writing
//! that file goes through [`crate::files`], so writes carry `If-Match` and a concurrent edit is
//! an [`Error::Conflict`] rather than lost.
//!
//! Content search answers from an index the app's background job builds: a page created or
//! changed a moment ago may not be found yet. Deleting a collective from the trash keeps its
//! team (circle) unless [`Collectives::delete`] is asked to remove it too.

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::Request;
use crate::files::WriteMode;
use crate::{Error, NextcloudUser, Result};

const API: &str = "/ocs/v2.php/apps/collectives/api/v1.0";

/// Message of Nextcloud's router for an OCS route nobody serves (the app is missing).
const INVALID_QUERY: &str = "Invalid query, please check the syntax.";

/// A collective as its member sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collective {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub emoji: Option<String>,
    /// The team (circle) whose members share the collective.
    #[serde(default)]
    pub circle_id: Option<String>,
    /// Unix seconds when it was put in the trash.
    #[serde(default)]
    pub trash_timestamp: Option<i64>,
    /// The member's level in the team (9 admin, 8 owner, 4 moderator, 1 member).
    #[serde(default)]
    pub level: Option<i64>,
    #[serde(default)]
    pub can_edit: Option<bool>,
}

/// A page of a collective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub id: u64,
    pub title: String,
    #[serde(default)]
    pub emoji: Option<String>,
    /// 0 for the landing page.
    #[serde(default)]
    pub parent_id: u64,
    /// Tag ids.
    #[serde(default)]
    pub tags: Vec<u64>,
    /// Ids of subpages in their chosen order.
    #[serde(default)]
    pub subpage_order: Vec<u64>,
    /// Unix seconds of the last change.
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub last_user_id: Option<String>,
    #[serde(default)]
    pub trash_timestamp: Option<i64>,
    #[serde(default)]
    pub file_name: String,
    #[serde(default)]
    pub file_path: String,
    #[serde(default)]
    pub collective_path: Option<String>,
}

impl Page {
    /// The page's markdown file, relative to the user's files root.
    pub fn dav_path(&self) -> Result<String> {
        let root = self
            .collective_path
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                Error::InvalidResponse(format!(
                    "page {} came without the path of its collective",
                    self.id
                ))
            })?;
        Ok([root, &self.file_path, &self.file_name]
            .iter()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/"))
    }
}

/// A tag of a collective's pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub id: u64,
    #[serde(default)]
    pub collective_id: u64,
    pub name: String,
    /// Six hex digits without `#`.
    #[serde(default)]
    pub color: String,
}

/// A page's markdown with the ETag of the version read.
#[derive(Clone, Debug, PartialEq)]
pub struct PageContent {
    pub page: Page,
    pub markdown: String,
    pub etag: Option<String>,
}

/// Where a moved or copied page goes; unset fields keep the page's parent and title.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    pub parent_id: Option<u64>,
    pub title: Option<String>,
    /// Position among the parent's subpages (0 first).
    pub index: u64,
}

/// The Collectives API of one user; from [`NextcloudUser::collectives`].
pub struct Collectives<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn collectives(&self) -> Collectives<'_> {
        Collectives { user: self }
    }
}

fn collective(id: u64) -> String {
    format!("Collective {id}")
}

fn page(collective_id: u64, id: u64) -> String {
    format!("Page {id} of collective {collective_id}")
}

/// A 404 from Nextcloud's router rather than the app means the app is not there.
fn explain(err: Error) -> Error {
    match err {
        Error::NotFound {
            message: Some(m), ..
        } if m.starts_with(INVALID_QUERY) => Error::AppNotInstalled {
            app: "Collectives".into(),
        },
        other => other,
    }
}

#[derive(Deserialize)]
struct CollectivesData {
    collectives: Vec<Collective>,
}

#[derive(Deserialize)]
struct CollectiveData {
    collective: Collective,
}

#[derive(Deserialize)]
struct PagesData {
    pages: Vec<Page>,
}

#[derive(Deserialize)]
struct PageData {
    page: Page,
}

#[derive(Deserialize)]
struct TagsData {
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct TagData {
    tag: Tag,
}

impl Collectives<'_> {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        what: String,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let mut r: Request = crate::ocs::request(method, &format!("{API}{path}"), &what)?;
        if let Some(body) = body {
            r = r.json(&body)?;
        }
        crate::ocs::send(self.user, r).await.map_err(explain)
    }

    /// The collectives the user is a member of (not those in the trash).
    pub async fn list(&self) -> Result<Vec<Collective>> {
        let d: CollectivesData = self
            .call(Method::GET, "/collectives", "The collectives".into(), None)
            .await?;
        Ok(d.collectives)
    }

    /// Creates a collective with a team of the same name and a landing page. A team of that
    /// name existing already (one kept from a deleted collective, too) makes it fail.
    pub async fn create(&self, name: &str, emoji: Option<&str>) -> Result<Collective> {
        let d: CollectiveData = self
            .call(
                Method::POST,
                "/collectives",
                format!("A new collective `{name}`"),
                Some(json!({ "name": name, "emoji": emoji })),
            )
            .await?;
        Ok(d.collective)
    }

    /// Sets the emoji, or removes it with `None`.
    pub async fn set_emoji(&self, id: u64, emoji: Option<&str>) -> Result<Collective> {
        let d: CollectiveData = self
            .call(
                Method::PUT,
                &format!("/collectives/{id}"),
                collective(id),
                Some(json!({ "emoji": emoji.unwrap_or("") })),
            )
            .await?;
        Ok(d.collective)
    }

    /// Moves a collective to the trash (admins of its team only).
    pub async fn trash(&self, id: u64) -> Result<Collective> {
        let d: CollectiveData = self
            .call(
                Method::DELETE,
                &format!("/collectives/{id}"),
                collective(id),
                None,
            )
            .await?;
        Ok(d.collective)
    }

    pub async fn trashed(&self) -> Result<Vec<Collective>> {
        let d: CollectivesData = self
            .call(
                Method::GET,
                "/collectives/trash",
                "The trashed collectives".into(),
                None,
            )
            .await?;
        Ok(d.collectives)
    }

    pub async fn restore(&self, id: u64) -> Result<Collective> {
        let d: CollectiveData = self
            .call(
                Method::PATCH,
                &format!("/collectives/trash/{id}"),
                format!("{} in the trash", collective(id)),
                None,
            )
            .await?;
        Ok(d.collective)
    }

    /// Deletes a collective from the trash for good, with its pages; its team goes too only
    /// with `with_team`.
    pub async fn delete(&self, id: u64, with_team: bool) -> Result<Collective> {
        let query = if with_team { "?circle=1" } else { "" };
        let d: CollectiveData = self
            .call(
                Method::DELETE,
                &format!("/collectives/trash/{id}{query}"),
                format!("{} in the trash", collective(id)),
                None,
            )
            .await?;
        Ok(d.collective)
    }

    /// Every page of a collective, flat; `parent_id` gives the tree.
    pub async fn pages(&self, collective_id: u64) -> Result<Vec<Page>> {
        let d: PagesData = self
            .call(
                Method::GET,
                &format!("/collectives/{collective_id}/pages"),
                collective(collective_id),
                None,
            )
            .await?;
        Ok(d.pages)
    }

    pub async fn page(&self, collective_id: u64, id: u64) -> Result<Page> {
        let d: PageData = self
            .call(
                Method::GET,
                &format!("/collectives/{collective_id}/pages/{id}"),
                page(collective_id, id),
                None,
            )
            .await?;
        Ok(d.page)
    }

    /// A page with its markdown and the ETag of its file.
    pub async fn content(&self, collective_id: u64, id: u64) -> Result<PageContent> {
        let page = self.page(collective_id, id).await?;
        let (bytes, info) = self.user.files().download(&page.dav_path()?).await?;
        Ok(PageContent {
            markdown: String::from_utf8_lossy(&bytes).into_owned(),
            etag: info.etag,
            page,
        })
    }

    /// Replaces a page's markdown if its file still has `etag` ([`Error::Conflict`] if someone
    /// changed it since). Returns the new ETag.
    pub async fn write(
        &self,
        collective_id: u64,
        id: u64,
        markdown: &str,
        etag: &str,
    ) -> Result<Option<String>> {
        let path = self.page(collective_id, id).await?.dav_path()?;
        let uploaded = self
            .user
            .files()
            .upload(
                &path,
                Bytes::from(markdown.to_string()),
                Some("text/markdown"),
                WriteMode::IfMatch(etag.to_string()),
            )
            .await
            .map_err(|e| match e {
                Error::Conflict { current_etag, .. } => Error::Conflict {
                    what: page(collective_id, id),
                    current_etag,
                },
                other => other,
            })?;
        Ok(uploaded.etag)
    }

    /// Creates an empty page below `parent_id` (the landing page's id for the top level). A
    /// title taken among its siblings gets a number added.
    pub async fn create_page(
        &self,
        collective_id: u64,
        parent_id: u64,
        title: &str,
    ) -> Result<Page> {
        let d: PageData = self
            .call(
                Method::POST,
                &format!("/collectives/{collective_id}/pages/{parent_id}"),
                page(collective_id, parent_id),
                Some(json!({ "title": title })),
            )
            .await?;
        Ok(d.page)
    }

    /// Moves (or with `copy`, copies) a page with its subpages within the collective; returns
    /// the page at its new place (the copy, when copying).
    pub async fn move_page(
        &self,
        collective_id: u64,
        id: u64,
        to: &Placement,
        copy: bool,
    ) -> Result<Page> {
        let d: PageData = self
            .call(
                Method::PUT,
                &format!("/collectives/{collective_id}/pages/{id}"),
                page(collective_id, id),
                Some(json!({
                    "parentId": to.parent_id,
                    "title": to.title,
                    "index": to.index,
                    "copy": copy,
                })),
            )
            .await?;
        Ok(d.page)
    }

    /// Moves a page (with its subpages) to the collective's trash.
    pub async fn trash_page(&self, collective_id: u64, id: u64) -> Result<Page> {
        let d: PageData = self
            .call(
                Method::DELETE,
                &format!("/collectives/{collective_id}/pages/{id}"),
                page(collective_id, id),
                None,
            )
            .await?;
        Ok(d.page)
    }

    pub async fn trashed_pages(&self, collective_id: u64) -> Result<Vec<Page>> {
        let d: PagesData = self
            .call(
                Method::GET,
                &format!("/collectives/{collective_id}/pages/trash"),
                collective(collective_id),
                None,
            )
            .await?;
        Ok(d.pages)
    }

    pub async fn restore_page(&self, collective_id: u64, id: u64) -> Result<Page> {
        let d: PageData = self
            .call(
                Method::PATCH,
                &format!("/collectives/{collective_id}/pages/trash/{id}"),
                format!("{} in the trash", page(collective_id, id)),
                None,
            )
            .await?;
        Ok(d.page)
    }

    /// Sets a page's emoji, or removes it with `None`.
    pub async fn set_page_emoji(
        &self,
        collective_id: u64,
        id: u64,
        emoji: Option<&str>,
    ) -> Result<Page> {
        let d: PageData = self
            .call(
                Method::PUT,
                &format!("/collectives/{collective_id}/pages/{id}/emoji"),
                page(collective_id, id),
                Some(json!({ "emoji": emoji })),
            )
            .await?;
        Ok(d.page)
    }

    /// Pages whose title or content match, from the app's search index (built by a
    /// background job, so the newest changes may be missing).
    pub async fn search(&self, collective_id: u64, query: &str) -> Result<Vec<Page>> {
        let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        let d: PagesData = self
            .call(
                Method::GET,
                &format!("/collectives/{collective_id}/search?searchString={q}"),
                collective(collective_id),
                None,
            )
            .await?;
        Ok(d.pages)
    }

    pub async fn tags(&self, collective_id: u64) -> Result<Vec<Tag>> {
        let d: TagsData = self
            .call(
                Method::GET,
                &format!("/collectives/{collective_id}/tags"),
                collective(collective_id),
                None,
            )
            .await?;
        Ok(d.tags)
    }

    /// Creates a tag; `color` is six hex digits without `#`. Names are unique per collective.
    pub async fn create_tag(&self, collective_id: u64, name: &str, color: &str) -> Result<Tag> {
        let d: TagData = self
            .call(
                Method::POST,
                &format!("/collectives/{collective_id}/tags"),
                collective(collective_id),
                Some(json!({ "name": name, "color": color })),
            )
            .await?;
        Ok(d.tag)
    }

    /// Puts a tag on a page (`on`) or takes it off.
    pub async fn tag_page(
        &self,
        collective_id: u64,
        id: u64,
        tag_id: u64,
        on: bool,
    ) -> Result<Page> {
        let method = if on { Method::PUT } else { Method::DELETE };
        let d: PageData = self
            .call(
                method,
                &format!("/collectives/{collective_id}/pages/{id}/tags/{tag_id}"),
                format!("{} or tag {tag_id}", page(collective_id, id)),
                None,
            )
            .await?;
        Ok(d.page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parses_the_apps_shape_and_finds_its_file() {
        let v = json!({
            "id": 12, "slug": "setup", "lastUserId": "alice", "emoji": null,
            "subpageOrder": [], "isFullWidth": false, "tags": [3], "trashTimestamp": null,
            "title": "Setup", "timestamp": 1700000000, "size": 10, "fileName": "Readme.md",
            "filePath": "Guides/Setup", "filePathString": "Guides",
            "collectivePath": "Collectives/Team", "collectiveNameWithEmoji": "Team",
            "parentId": 4, "shareToken": null, "linkedPageIds": []
        });
        let page: Page = serde_json::from_value(v).unwrap();
        assert_eq!(page.tags, vec![3]);
        assert_eq!(
            page.dav_path().unwrap(),
            "Collectives/Team/Guides/Setup/Readme.md"
        );
        let landing = Page {
            file_path: String::new(),
            ..page.clone()
        };
        assert_eq!(landing.dav_path().unwrap(), "Collectives/Team/Readme.md");
        let nowhere = Page {
            collective_path: None,
            ..page
        };
        assert!(nowhere.dav_path().is_err());
    }

    #[test]
    fn router_404_means_app_missing() {
        let e = explain(Error::NotFound {
            what: "x".into(),
            message: Some(format!("{INVALID_QUERY} API specifications are here")),
        });
        assert!(matches!(e, Error::AppNotInstalled { .. }));
    }
}
