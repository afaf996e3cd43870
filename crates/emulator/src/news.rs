//! The News app (`news` 28, github.com/nextcloud/news): its REST API v1.3 under
//! `/index.php/apps/news/api/v1-3/` for folders, feeds, items, version and status.
//!
//! Behaviour kept from the app: items are ordered by id, newest first, and paged with
//! `offset` (only ids *below* it) and `batchSize` (-1 for all); `type` picks a feed (0), a
//! folder (1), starred items (2) or all (3), and `getRead=false` keeps unread ones (refused
//! with a message for starred); single-item changes answer 404 `{"message"}` for an unknown
//! item while the `/multiple` routes skip unknown ids; deleting a folder deletes its feeds and
//! their items; errors are `{"message": ...}` with the status; a missing app is Nextcloud's
//! 404 page. The app publishes no capability.
//!
//! The emulator cannot fetch feeds from the web: a feed can be subscribed to only at a URL
//! registered with [`register_source`] (others fail as an unreachable feed would), and
//! [`update_feeds`] plays the app's background update, recording update errors of sources
//! marked failing (for feed health).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{AuthOutcome, authenticate};
use crate::params::Params;
use crate::state::{AppState, World};

/// The app version `/version` and `/status` report.
pub const NEWS_VERSION: &str = "28.4.0";

/// Message of the mapper's `DoesNotExistException`, which the app passes on for a 404.
const NOT_FOUND: &str = "Did expect one result but found none when executing: query";

/// Folders, feeds and items of every user (ids are global, like the app's table rows), plus
/// the feed documents the emulator serves in place of the web.
#[derive(Debug, Default)]
pub struct NewsState {
    folders: BTreeMap<u64, FolderRec>,
    feeds: BTreeMap<u64, FeedRec>,
    items: BTreeMap<u64, ItemRec>,
    sources: BTreeMap<String, Source>,
    last_folder: u64,
    last_feed: u64,
    last_item: u64,
    /// Reported by `/status` as `improperlyConfiguredCron`.
    pub cron_misconfigured: bool,
}

#[derive(Debug, Clone)]
struct FolderRec {
    owner: String,
    name: String,
}

#[derive(Debug, Clone)]
struct FeedRec {
    owner: String,
    url: String,
    title: String,
    link: Option<String>,
    folder_id: Option<u64>,
    added: i64,
    update_error_count: u64,
    last_update_error: Option<String>,
}

#[derive(Debug, Clone)]
struct ItemRec {
    feed_id: u64,
    guid: String,
    url: Option<String>,
    title: String,
    author: Option<String>,
    pub_date: i64,
    body: String,
    unread: bool,
    starred: bool,
    last_modified: i64,
}

/// A feed document served at a URL: what subscribing to (and updating) it finds.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub title: String,
    /// The site's address.
    pub link: Option<String>,
    pub items: Vec<SourceItem>,
    /// While set, fetching the feed fails with this message.
    pub failing: Option<String>,
}

/// One entry of a feed document.
#[derive(Debug, Clone, Default)]
pub struct SourceItem {
    /// Unique within the feed; an update adds only entries with new guids.
    pub guid: String,
    pub title: String,
    pub url: Option<String>,
    pub author: Option<String>,
    /// Unix seconds.
    pub pub_date: i64,
    /// HTML.
    pub body: String,
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn error(status: StatusCode, message: &str) -> Response {
    respond(status, json!({ "message": message }))
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, NOT_FOUND)
}

impl NewsState {
    fn folder_json(id: u64, f: &FolderRec) -> Value {
        json!({ "id": id, "name": f.name, "opened": true, "feeds": [] })
    }

    fn feed_json(&self, id: u64, f: &FeedRec) -> Value {
        let unread = self
            .items
            .values()
            .filter(|i| i.feed_id == id && i.unread)
            .count();
        json!({
            "id": id,
            "url": f.url,
            "title": f.title,
            "faviconLink": null,
            "added": f.added,
            "nextUpdateTime": null,
            "folderId": f.folder_id,
            "unreadCount": unread,
            "ordering": 0,
            "link": f.link,
            "pinned": false,
            "updateErrorCount": f.update_error_count,
            "lastUpdateError": f.last_update_error,
            "items": [],
        })
    }

    fn item_json(id: u64, i: &ItemRec) -> Value {
        json!({
            "id": id,
            "guid": i.guid,
            "guidHash": format!("{:x}", md5_like(&i.guid)),
            "url": i.url,
            "title": i.title,
            "author": i.author,
            "pubDate": i.pub_date,
            "updatedDate": null,
            "body": i.body,
            "enclosureMime": null,
            "enclosureLink": null,
            "mediaThumbnail": null,
            "mediaDescription": null,
            "feedId": i.feed_id,
            "unread": i.unread,
            "starred": i.starred,
            "filtered": false,
            "lastModified": i.last_modified.to_string(),
            "rtl": false,
            "fingerprint": null,
            "contentHash": null,
        })
    }

    fn owns_feed(&self, id: u64, uid: &str) -> bool {
        self.feeds.get(&id).is_some_and(|f| f.owner == uid)
    }

    fn owns_item(&self, id: u64, uid: &str) -> bool {
        self.items
            .get(&id)
            .is_some_and(|i| self.owns_feed(i.feed_id, uid))
    }

    /// Adds the source's entries not yet in the feed, as unread items.
    fn take_items(&mut self, feed_id: u64, items: &[SourceItem], now: i64) {
        for s in items {
            let known = self
                .items
                .values()
                .any(|i| i.feed_id == feed_id && i.guid == s.guid);
            if known {
                continue;
            }
            self.last_item += 1;
            self.items.insert(
                self.last_item,
                ItemRec {
                    feed_id,
                    guid: s.guid.clone(),
                    url: s.url.clone(),
                    title: s.title.clone(),
                    author: s.author.clone(),
                    pub_date: s.pub_date,
                    body: s.body.clone(),
                    unread: true,
                    starred: false,
                    last_modified: now,
                },
            );
        }
    }

    fn newest_item(&self, uid: &str) -> Option<u64> {
        self.items
            .iter()
            .rev()
            .find(|(_, i)| self.owns_feed(i.feed_id, uid))
            .map(|(id, _)| *id)
    }

    fn delete_feed(&mut self, id: u64) {
        self.feeds.remove(&id);
        self.items.retain(|_, i| i.feed_id != id);
    }

    fn set(&mut self, id: u64, what: &str, now: i64) {
        if let Some(i) = self.items.get_mut(&id) {
            match what {
                "read" => i.unread = false,
                "unread" => i.unread = true,
                "star" => i.starred = true,
                _ => i.starred = false,
            }
            i.last_modified = now;
        }
    }
}

/// A stable 128-bit hash of a guid, standing in for the app's md5 `guidHash`.
fn md5_like(s: &str) -> u128 {
    // FNV-1a, widened: only needs to be stable and look like a hash.
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in s.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    h
}

fn id_param(s: &str) -> u64 {
    u64::try_from(crate::params::php_intval(s)).unwrap_or(0)
}

fn ids_param(p: &Params, name: &str) -> Vec<u64> {
    match p.raw(name) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_u64().or_else(|| v.as_str().map(id_param)))
            .collect(),
        _ => Vec::new(),
    }
}

fn items(st: &NewsState, uid: &str, p: &Params) -> Response {
    let kind = p.int("type").unwrap_or(3);
    let id = p.int("id").unwrap_or(0).max(0) as u64;
    let get_read = p.bool("getRead").unwrap_or(true);
    let batch = p.int("batchSize").unwrap_or(-1);
    let offset = p.int("offset").unwrap_or(0).max(0) as u64;
    let oldest_first = p.bool("oldestFirst").unwrap_or(false);
    if kind == 2 && !get_read {
        // The app answers 200 with only a message here.
        return respond(
            StatusCode::OK,
            json!({"message": "Setting getRead on an already filtered list is not allowed!"}),
        );
    }
    if !(0..=3).contains(&kind) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected Feed type in call",
        );
    }
    let keep = |item_id: u64, i: &ItemRec| -> bool {
        let Some(feed) = st.feeds.get(&i.feed_id).filter(|f| f.owner == uid) else {
            return false;
        };
        let in_list = match kind {
            0 => i.feed_id == id,
            1 => feed.folder_id == (id != 0).then_some(id),
            2 => i.starred,
            _ => true,
        };
        let in_page = offset == 0
            || if oldest_first {
                item_id > offset
            } else {
                item_id < offset
            };
        in_list && in_page && (get_read || i.unread)
    };
    let mut found: Vec<Value> = Vec::new();
    let iter: Box<dyn Iterator<Item = (&u64, &ItemRec)>> = if oldest_first {
        Box::new(st.items.iter())
    } else {
        Box::new(st.items.iter().rev())
    };
    for (item_id, i) in iter {
        if batch >= 1 && found.len() as i64 >= batch {
            break;
        }
        if keep(*item_id, i) {
            found.push(NewsState::item_json(*item_id, i));
        }
    }
    respond(StatusCode::OK, json!({ "items": found }))
}

fn handle(
    world: &mut World,
    uid: &str,
    method: &Method,
    seg: &[&str],
    p: &Params,
    now: i64,
) -> Response {
    let st = &mut world.news;
    let ok = || respond(StatusCode::OK, json!([]));
    match (method, seg) {
        (&Method::GET, ["version"]) => respond(StatusCode::OK, json!({"version": NEWS_VERSION})),
        (&Method::GET, ["status"]) => respond(
            StatusCode::OK,
            json!({
                "version": NEWS_VERSION,
                "warnings": {
                    "improperlyConfiguredCron": st.cron_misconfigured,
                    "incorrectDbCharset": false,
                }
            }),
        ),
        (&Method::GET, ["folders"]) => {
            let folders: Vec<Value> = st
                .folders
                .iter()
                .filter(|(_, f)| f.owner == uid)
                .map(|(id, f)| NewsState::folder_json(*id, f))
                .collect();
            respond(StatusCode::OK, json!({ "folders": folders }))
        }
        (&Method::POST, ["folders"]) => {
            let name = p.string("name").unwrap_or_default();
            if name.trim().is_empty() {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Folder name can not be empty",
                );
            }
            st.last_folder += 1;
            let id = st.last_folder;
            let rec = FolderRec {
                owner: uid.to_string(),
                name,
            };
            let v = NewsState::folder_json(id, &rec);
            st.folders.insert(id, rec);
            respond(StatusCode::OK, json!({ "folders": [v] }))
        }
        (&Method::PUT, ["folders", id]) => {
            let id = id_param(id);
            let name = p.string("name").unwrap_or_default();
            match st.folders.get_mut(&id).filter(|f| f.owner == uid) {
                None => not_found(),
                Some(_) if name.trim().is_empty() => error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Folder name can not be empty",
                ),
                Some(f) => {
                    f.name = name;
                    ok()
                }
            }
        }
        (&Method::DELETE, ["folders", id]) => {
            let id = id_param(id);
            if st.folders.get(&id).is_none_or(|f| f.owner != uid) {
                return not_found();
            }
            st.folders.remove(&id);
            let feeds: Vec<u64> = st
                .feeds
                .iter()
                .filter(|(_, f)| f.folder_id == Some(id))
                .map(|(id, _)| *id)
                .collect();
            for feed in feeds {
                st.delete_feed(feed);
            }
            ok()
        }
        (&Method::GET, ["feeds"]) => {
            let feeds: Vec<Value> = st
                .feeds
                .iter()
                .filter(|(_, f)| f.owner == uid)
                .map(|(id, f)| st.feed_json(*id, f))
                .collect();
            let starred = st
                .items
                .values()
                .filter(|i| i.starred && st.owns_feed(i.feed_id, uid))
                .count();
            let mut v = json!({ "feeds": feeds, "starredCount": starred });
            if let Some(newest) = st.newest_item(uid) {
                v["newestItemId"] = json!(newest);
            }
            respond(StatusCode::OK, v)
        }
        (&Method::POST, ["feeds"]) => {
            let url = p.string("url").unwrap_or_default();
            let folder_id = p.int("folderId").filter(|f| *f > 0).map(|f| f as u64);
            if st.feeds.values().any(|f| f.owner == uid && f.url == url) {
                return error(StatusCode::CONFLICT, "Feed with this URL exists");
            }
            let source = match st.sources.get(&url) {
                Some(s) if s.failing.is_none() => s.clone(),
                Some(s) => {
                    let m = s.failing.clone().unwrap_or_default();
                    return error(StatusCode::NOT_FOUND, &m);
                }
                None => {
                    return error(
                        StatusCode::NOT_FOUND,
                        &format!("Could not fetch feed from {url}: no feed found there"),
                    );
                }
            };
            st.last_feed += 1;
            let id = st.last_feed;
            let rec = FeedRec {
                owner: uid.to_string(),
                url,
                title: source.title.clone(),
                link: source.link.clone(),
                folder_id,
                added: now,
                update_error_count: 0,
                last_update_error: None,
            };
            st.feeds.insert(id, rec);
            st.take_items(id, &source.items, now);
            let mut v = json!({ "feeds": [st.feed_json(id, &st.feeds[&id])] });
            if let Some(newest) = st.newest_item(uid) {
                v["newestItemId"] = json!(newest);
            }
            respond(StatusCode::OK, v)
        }
        (&Method::DELETE, ["feeds", id]) => {
            let id = id_param(id);
            if !st.owns_feed(id, uid) {
                return not_found();
            }
            st.delete_feed(id);
            ok()
        }
        (&Method::GET, ["items"]) => items(st, uid, p),
        (
            &Method::POST,
            [
                "items",
                what @ ("read" | "unread" | "star" | "unstar"),
                "multiple",
            ],
        ) => {
            let name = if p.raw("itemIds").is_some() {
                "itemIds"
            } else {
                "items"
            };
            for id in ids_param(p, name) {
                if st.owns_item(id, uid) {
                    st.set(id, what, now);
                }
            }
            ok()
        }
        (&Method::POST, ["items", id, what @ ("read" | "unread" | "star" | "unstar")]) => {
            let id = id_param(id);
            if !st.owns_item(id, uid) {
                return not_found();
            }
            st.set(id, what, now);
            ok()
        }
        _ => crate::not_found_page(),
    }
}

/// `/index.php/apps/news/api/v1-3/{*rest}`.
pub async fn api(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("news") {
        return crate::not_found_page();
    }
    let now = state.now();
    let mut world = state.world();
    let user = match authenticate(&world, &headers) {
        AuthOutcome::Ok(a) => a.user_id,
        AuthOutcome::Anonymous => return crate::not_logged_in_json(),
        AuthOutcome::Invalid => return crate::login_failed_json(),
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    handle(&mut world, &user, &method, &seg, &params, now)
}

/// Serves `source` as the feed document at `url` (replacing any before).
pub fn register_source(state: &AppState, url: &str, source: Source) {
    state.world().news.sources.insert(url.to_string(), source);
}

/// Runs the app's background update once: every subscribed feed is fetched again from its
/// source; new entries become unread items, and a failing source counts an update error.
pub fn update_feeds(state: &AppState) {
    let now = state.now();
    let mut world = state.world();
    let st = &mut world.news;
    let feeds: Vec<(u64, String)> = st
        .feeds
        .iter()
        .map(|(id, f)| (*id, f.url.clone()))
        .collect();
    for (id, url) in feeds {
        let source = st.sources.get(&url).cloned();
        let failure = match &source {
            None => Some(format!(
                "Could not fetch feed from {url}: no feed found there"
            )),
            Some(s) => s.failing.clone(),
        };
        if let Some(f) = st.feeds.get_mut(&id) {
            match &failure {
                Some(m) => {
                    f.update_error_count += 1;
                    f.last_update_error = Some(m.clone());
                }
                None => {
                    f.update_error_count = 0;
                    f.last_update_error = None;
                }
            }
        }
        if let (None, Some(s)) = (failure, source) {
            st.take_items(id, &s.items, now);
        }
    }
}

/// Whether `user_id` has an item `id` and it is (unread, starred).
pub fn item_flags(state: &AppState, user_id: &str, id: u64) -> Option<(bool, bool)> {
    let world = state.world();
    let st = &world.news;
    st.owns_item(id, user_id)
        .then(|| (st.items[&id].unread, st.items[&id].starred))
}

/// Records one failed update of `user_id`'s feed at `url`, as the background update would.
pub fn record_update_error(state: &AppState, user_id: &str, url: &str, message: &str) {
    let mut world = state.world();
    let feed = world
        .news
        .feeds
        .values_mut()
        .find(|f| f.owner == user_id && f.url == url);
    if let Some(f) = feed {
        f.update_error_count += 1;
        f.last_update_error = Some(message.to_string());
    }
}
