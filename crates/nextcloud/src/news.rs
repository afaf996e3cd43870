//! The News app (github.com/nextcloud/news): folders, feeds and items over its REST API v1.3
//! (`/index.php/apps/news/api/v1-3`).
//!
//! What this module absorbs:
//!
//! - the app publishes no capability; when it is missing, Nextcloud's router answers the
//!   app's URLs with a 404 page that carries no JSON message, which becomes
//!   [`Error::AppNotInstalled`] (the app's own "not found" answers carry `{"message": ...}`).
//!   [`crate::capabilities`] asks [`News::version`] that way to record whether it is there;
//! - there is no route for one item: [`News::item`] asks `/items` for the one item below
//!   `id + 1` (items are paged by id, newest first, `offset` excluded) and checks the id;
//! - `/items` filters by one thing at a time (a feed, a folder, starred, or all, optionally
//!   unread only); [`News::items`] takes the query as the app understands it.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::client::Request;
use crate::{Error, NextcloudUser, Result};

const API: &str = "/index.php/apps/news/api/v1-3";

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A folder of feeds (one level; feeds outside any folder have no folder id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
}

/// A subscribed feed, with the state of its updates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feed {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// `None` for feeds outside any folder.
    #[serde(default)]
    pub folder_id: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub unread_count: u64,
    /// The site the feed belongs to.
    #[serde(default)]
    pub link: Option<String>,
    /// Unix seconds when it was subscribed.
    #[serde(default)]
    pub added: Option<i64>,
    #[serde(default)]
    pub next_update_time: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pinned: bool,
    /// Failed updates in a row (0 when the last update worked).
    #[serde(default, deserialize_with = "null_as_default")]
    pub update_error_count: u64,
    /// Empty or `None` when the last update worked.
    #[serde(default)]
    pub last_update_error: Option<String>,
}

/// `GET /feeds`: the feeds plus counters over all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feeds {
    pub feeds: Vec<Feed>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub starred_count: u64,
    /// Absent when there are no items at all.
    #[serde(default)]
    pub newest_item_id: Option<u64>,
}

/// An article. `body` is HTML as the feed sent it (sanitised by the app).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: u64,
    pub feed_id: u64,
    #[serde(default)]
    pub guid: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub pub_date: Option<i64>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub enclosure_link: Option<String>,
    #[serde(default)]
    pub enclosure_mime: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub unread: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub starred: bool,
}

/// Which items `/items` returns (the app's `type` and `id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    Feed(u64),
    Folder(u64),
    Starred,
    All,
}

/// One request to `/items`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemQuery {
    pub selection: Selection,
    /// Only unread items (not allowed with [`Selection::Starred`], as in the app).
    pub unread_only: bool,
    /// At most this many items, newest (highest id) first.
    pub batch_size: u32,
    /// Only items with an id below this one; 0 starts at the newest.
    pub before_id: u64,
}

/// What to do to items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Read,
    Unread,
    Star,
    Unstar,
}

impl Mark {
    fn route(self) -> &'static str {
        match self {
            Mark::Read => "read",
            Mark::Unread => "unread",
            Mark::Star => "star",
            Mark::Unstar => "unstar",
        }
    }
}

/// `GET /status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    #[serde(default)]
    pub warnings: Warnings,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warnings {
    /// Feeds are not updated reliably: Nextcloud's background jobs do not run from cron.
    #[serde(default, deserialize_with = "null_as_default")]
    pub improperly_configured_cron: bool,
    /// The database cannot store 4-byte characters (e.g. emoji) in items.
    #[serde(default, deserialize_with = "null_as_default")]
    pub incorrect_db_charset: bool,
}

/// The News API of one user; from [`NextcloudUser::news`].
pub struct News<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn news(&self) -> News<'_> {
        News { user: self }
    }
}

fn folder(id: u64) -> String {
    format!("News folder {id}")
}

fn feed(id: u64) -> String {
    format!("News feed {id}")
}

fn item(id: u64) -> String {
    format!("News item {id}")
}

/// Start of the message the app passes on from its database layer for an unknown id.
const NO_ROW: &str = "Did expect one result but found none";

/// A 404 without the app's JSON message comes from Nextcloud's router: the app is missing.
/// The app's own 404 for an unknown id quotes a database query; it is said plainly instead.
fn explain(err: Error) -> Error {
    match err {
        Error::NotFound { message: None, .. } => Error::AppNotInstalled { app: "News".into() },
        Error::NotFound {
            what,
            message: Some(m),
        } if m.starts_with(NO_ROW) => Error::NotFound {
            what,
            message: Some("you have no such one".into()),
        },
        other => other,
    }
}

#[derive(Deserialize)]
struct FoldersBody {
    #[serde(default)]
    folders: Vec<Folder>,
}

#[derive(Deserialize)]
struct ItemsBody {
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct VersionBody {
    #[serde(default, deserialize_with = "null_as_default")]
    version: String,
}

fn first<T>(mut list: Vec<T>, what: &str) -> Result<T> {
    if list.is_empty() {
        return Err(Error::InvalidResponse(format!(
            "{what}: the answer was empty"
        )));
    }
    Ok(list.swap_remove(0))
}

impl News<'_> {
    fn request(&self, method: Method, path: &str, what: String) -> Result<Request> {
        Request::new(method, format!("{API}{path}"), what)
            .header(http::header::ACCEPT, "application/json")
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.user.send_json(request).await.map_err(explain)
    }

    async fn no_data(&self, request: Request) -> Result<()> {
        self.user.send(request).await.map_err(explain).map(drop)
    }

    pub async fn folders(&self) -> Result<Vec<Folder>> {
        let r = self.request(Method::GET, "/folders", "The News folders".into())?;
        Ok(self.json::<FoldersBody>(r).await?.folders)
    }

    pub async fn create_folder(&self, name: &str) -> Result<Folder> {
        let r = self
            .request(Method::POST, "/folders", "A new News folder".into())?
            .json(&json!({ "name": name }))?;
        first(self.json::<FoldersBody>(r).await?.folders, "POST /folders")
    }

    pub async fn rename_folder(&self, id: u64, name: &str) -> Result<()> {
        let r = self
            .request(Method::PUT, &format!("/folders/{id}"), folder(id))?
            .json(&json!({ "name": name }))?;
        self.no_data(r).await
    }

    /// Deletes a folder and every feed in it (with their items).
    pub async fn delete_folder(&self, id: u64) -> Result<()> {
        let r = self.request(Method::DELETE, &format!("/folders/{id}"), folder(id))?;
        self.no_data(r).await
    }

    pub async fn feeds(&self) -> Result<Feeds> {
        let r = self.request(Method::GET, "/feeds", "The News feeds".into())?;
        self.json(r).await
    }

    /// Subscribes to a feed; the app fetches it at once (404 when it cannot be read, 409 when
    /// already subscribed).
    pub async fn create_feed(&self, url: &str, folder_id: Option<u64>) -> Result<Feed> {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            feeds: Vec<Feed>,
        }
        let r = self
            .request(Method::POST, "/feeds", format!("The feed at {url}"))?
            .json(&json!({ "url": url, "folderId": folder_id }))?;
        let body: Body = self.json(r).await?;
        first(body.feeds, "POST /feeds")
    }

    /// Unsubscribes: the feed and its items are deleted.
    pub async fn delete_feed(&self, id: u64) -> Result<()> {
        let r = self.request(Method::DELETE, &format!("/feeds/{id}"), feed(id))?;
        self.no_data(r).await
    }

    /// One batch of items, newest first.
    pub async fn items(&self, q: &ItemQuery) -> Result<Vec<Item>> {
        let (kind, id) = match q.selection {
            Selection::Feed(id) => (0, id),
            Selection::Folder(id) => (1, id),
            Selection::Starred => (2, 0),
            Selection::All => (3, 0),
        };
        let path = format!(
            "/items?type={kind}&id={id}&getRead={}&batchSize={}&offset={}",
            !q.unread_only,
            q.batch_size.max(1),
            q.before_id
        );
        let r = self.request(Method::GET, &path, "News items".into())?;
        Ok(self.json::<ItemsBody>(r).await?.items)
    }

    /// One item by id: the first item below `id + 1`, if it is this one.
    pub async fn item(&self, id: u64) -> Result<Item> {
        let found = self
            .items(&ItemQuery {
                selection: Selection::All,
                unread_only: false,
                batch_size: 1,
                before_id: id.saturating_add(1),
            })
            .await?;
        found
            .into_iter()
            .find(|i| i.id == id)
            .ok_or_else(|| Error::NotFound {
                what: item(id),
                message: Some("there is no item with this id in your feeds".into()),
            })
    }

    /// Marks one item read, unread, starred or unstarred (404 for an unknown item).
    pub async fn mark(&self, id: u64, mark: Mark) -> Result<()> {
        let r = self.request(
            Method::POST,
            &format!("/items/{id}/{}", mark.route()),
            item(id),
        )?;
        self.no_data(r).await
    }

    /// The installed app version; answers only when the app is enabled.
    pub async fn version(&self) -> Result<String> {
        let r = self.request(Method::GET, "/version", "The News version".into())?;
        Ok(self.json::<VersionBody>(r).await?.version)
    }

    pub async fn status(&self) -> Result<Status> {
        let r = self.request(Method::GET, "/status", "The News status".into())?;
        self.json(r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_read_with_nulls_and_missing_fields() {
        let v = json!({
            "feeds": [{"id": 3, "url": "https://e.org/rss", "title": null, "folderId": null,
                        "unreadCount": 2, "updateErrorCount": 4, "lastUpdateError": "timeout",
                        "items": [], "faviconLink": null}],
            "starredCount": 1
        });
        let f: Feeds = serde_json::from_value(v).unwrap();
        assert_eq!(f.feeds[0].title, "");
        assert_eq!(f.feeds[0].folder_id, None);
        assert_eq!(f.feeds[0].update_error_count, 4);
        assert_eq!(f.newest_item_id, None);
    }

    #[test]
    fn a_404_without_the_apps_message_means_the_app_is_missing() {
        let e = explain(Error::NotFound {
            what: "x".into(),
            message: None,
        });
        assert!(matches!(e, Error::AppNotInstalled { .. }));
        let e = explain(Error::NotFound {
            what: "x".into(),
            message: Some("Did expect one result but found none when executing: query".into()),
        });
        assert!(e.to_string().contains("you have no such one"), "{e}");
        assert!(!e.to_string().contains("query"), "{e}");
    }
}
