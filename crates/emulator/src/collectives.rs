//! The Collectives app (github.com/nextcloud/collectives): collectives, their pages, tags and
//! trash through the OCS API under `/ocs/v2.php/apps/collectives/api/v1.0/`.
//!
//! Pages are the collective's markdown files, kept in the owner's file tree under
//! `Collectives/<name>/`, so WebDAV reads and writes them with ETags like any file. The app
//! maps them as it does: `Readme.md` in the collective's folder is the landing page (parent
//! 0), `X.md` is a page without subpages, and a page with subpages is a folder `X/` holding
//! its `Readme.md` (a leaf becomes such a folder when it gets its first subpage). The page id
//! is the file id.
//!
//! Quirks kept from a real Nextcloud 34: errors are OCS exceptions (HTTP status = OCS status,
//! the message in the meta, empty data); content search answers from an index that a
//! background job builds, so new or changed pages are found only after the job ran
//! ([`run_index`], `POST /__emulator/collectives/index`); a collective is only deleted from
//! its trash, and its team (circle) stays unless the request sets `circle`, so a new
//! collective of the same name is then refused. Members other than the creator, templates,
//! shares, attachments and sessions are not emulated.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::fs::{FsError, Node, name_of, parent_of};
use crate::ocs::{AppCall, OcsResult, OcsVersion, app_call, render, router_not_found};
use crate::params::Params;
use crate::state::{AppState, World};

/// Where collectives are mounted in their members' files (the app's default `user_folder`).
const USER_FOLDER: &str = "Collectives";
const INDEX: &str = "Readme.md";

/// Collectives, teams, tags, page metadata, trashed pages and the search index.
#[derive(Debug, Default)]
pub struct CollectivesState {
    collectives: BTreeMap<u64, CollectiveRec>,
    /// Teams (circles) by circle id: their name.
    teams: BTreeMap<String, String>,
    tags: BTreeMap<u64, TagRec>,
    /// Per page (file id): what the app keeps beside the file.
    meta: HashMap<u64, PageMeta>,
    trash: BTreeMap<u64, TrashedPage>,
    /// Per collective: (page id, lower-cased title and content) as the last index run saw them.
    index: BTreeMap<u64, Vec<(u64, String)>>,
    last_collective: u64,
    last_tag: u64,
}

#[derive(Debug, Clone)]
struct CollectiveRec {
    name: String,
    emoji: Option<String>,
    circle_id: String,
    owner: String,
    trashed: Option<i64>,
}

impl CollectiveRec {
    fn folder(&self) -> String {
        format!("{USER_FOLDER}/{}", self.name)
    }
}

#[derive(Debug, Clone)]
struct TagRec {
    collective_id: u64,
    name: String,
    color: String,
}

#[derive(Debug, Clone, Default)]
struct PageMeta {
    emoji: Option<String>,
    tags: Vec<u64>,
    subpage_order: Vec<u64>,
    last_user: Option<String>,
}

#[derive(Debug)]
struct TrashedPage {
    collective_id: u64,
    /// Where the page's file (or folder) was, relative to the owner's root.
    path: String,
    nodes: Vec<(String, Node)>,
    parent_id: u64,
    when: i64,
}

/// A page as found in the file tree.
#[derive(Debug, Clone)]
struct PageFile {
    id: u64,
    /// Folder of the file, relative to the collective's folder (`""` at the top).
    dir: String,
    file_name: String,
    parent_id: u64,
    mtime: i64,
    size: usize,
    title: String,
}

impl PageFile {
    fn is_index(&self) -> bool {
        self.file_name == INDEX
    }

    /// The path of what moves with the page: its folder for a page with subpages.
    fn own_path(&self, folder: &str) -> String {
        if self.is_index() {
            join(folder, &self.dir)
        } else {
            join(folder, &join(&self.dir, &self.file_name))
        }
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// How a request failed: an OCS exception (status, message) or no such route.
enum Fail {
    Ocs(u16, String),
    NoRoute,
}

fn not_found(what: &str) -> Fail {
    Fail::Ocs(404, what.to_string())
}

fn bad(message: impl Into<String>) -> Fail {
    Fail::Ocs(400, message.into())
}

type R = Result<Value, Fail>;

fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The pages of a collective, read from the owner's files.
fn pages_of(world: &World, c: &CollectiveRec) -> Vec<PageFile> {
    let Some(user) = world.users.get(&c.owner) else {
        return Vec::new();
    };
    let folder = c.folder();
    let index_id = |dir: &str| {
        user.files
            .get(&join(&folder, &join(dir, INDEX)))
            .map_or(0, |n| n.id)
    };
    let mut pages = Vec::new();
    for (path, node) in user.files.walk(&folder) {
        if node.is_dir || !path.ends_with(".md") {
            continue;
        }
        let rel = &path[folder.len() + 1..];
        let dir = parent_of(rel).unwrap_or("").to_string();
        let file_name = name_of(rel).to_string();
        let (parent_id, title) = if file_name == INDEX {
            if dir.is_empty() {
                (0, "Landing page".to_string())
            } else {
                (
                    index_id(parent_of(&dir).unwrap_or("")),
                    name_of(&dir).to_string(),
                )
            }
        } else {
            (
                index_id(&dir),
                file_name.trim_end_matches(".md").to_string(),
            )
        };
        pages.push(PageFile {
            id: node.id,
            dir,
            file_name,
            parent_id,
            mtime: node.mtime,
            size: node.content.len(),
            title,
        });
    }
    pages
}

impl CollectivesState {
    fn collective_json(&self, id: u64, c: &CollectiveRec) -> Value {
        json!({
            "id": id,
            "slug": slug(&c.name),
            "circleId": c.circle_id,
            "emoji": c.emoji,
            "trashTimestamp": c.trashed,
            "pageMode": 0,
            "name": c.name,
            "level": 9,
            "editPermissionLevel": 1,
            "sharePermissionLevel": 1,
            "canEdit": true,
            "canShare": true,
            "shareToken": null,
            "isPageShare": false,
            "sharePageId": 0,
            "shareEditable": false,
            "userPageOrder": 0,
            "userShowMembers": true,
            "userShowRecentPages": true,
            "userFavoritePages": [],
            "userNotify": 0,
            "canLeave": false,
        })
    }

    fn page_json(&self, c: &CollectiveRec, p: &PageFile, trashed: Option<i64>) -> Value {
        let meta = self.meta.get(&p.id).cloned().unwrap_or_default();
        let name_with_emoji = match &c.emoji {
            Some(e) => format!("{e} {}", c.name),
            None => c.name.clone(),
        };
        let path_string = parent_of(&p.dir)
            .filter(|d| !d.is_empty())
            .map(|d| d.replace('/', " - "))
            .unwrap_or_default();
        json!({
            "id": p.id,
            "slug": slug(&p.title),
            "lastUserId": meta.last_user,
            "lastUserDisplayName": meta.last_user,
            "emoji": meta.emoji,
            "subpageOrder": meta.subpage_order,
            "isFullWidth": false,
            "tags": meta.tags,
            "trashTimestamp": trashed,
            "title": p.title,
            "timestamp": p.mtime,
            "size": p.size,
            "fileName": p.file_name,
            "filePath": p.dir,
            "filePathString": path_string,
            "collectivePath": c.folder(),
            "collectiveNameWithEmoji": name_with_emoji,
            "parentId": p.parent_id,
            "shareToken": null,
            "linkedPageIds": [],
        })
    }

    /// A collective of `uid` that is not in the trash.
    fn active(&self, id: u64, uid: &str) -> Result<&CollectiveRec, Fail> {
        self.collectives
            .get(&id)
            .filter(|c| c.owner == uid && c.trashed.is_none())
            .ok_or_else(|| not_found(&format!("Collective not found: {id}")))
    }

    fn trashed(&self, id: u64, uid: &str) -> Result<&CollectiveRec, Fail> {
        self.collectives
            .get(&id)
            .filter(|c| c.owner == uid && c.trashed.is_some())
            .ok_or_else(|| not_found(&format!("Collective not found in trash: {id}")))
    }
}

fn page_in(world: &World, c: &CollectiveRec, id: u64) -> Result<PageFile, Fail> {
    pages_of(world, c)
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(&format!("Page not found: {id}")))
}

/// A free name in `dir` for `base` (`base.md`, else `base (2).md`, ...), as the app picks one.
fn free_name(world: &World, owner: &str, dir: &str, base: &str, folder: bool) -> String {
    let files = &world.users[owner].files;
    let taken =
        |n: &str| files.exists(&join(dir, &format!("{n}.md"))) || files.exists(&join(dir, n));
    let mut name = base.to_string();
    let mut i = 2;
    while taken(&name) {
        name = format!("{base} ({i})");
        i += 1;
    }
    if folder { name } else { format!("{name}.md") }
}

fn fs_fail(e: FsError) -> Fail {
    match e {
        FsError::NotFound | FsError::ParentMissing => not_found("Page not found"),
        _ => bad("A page of that name exists already"),
    }
}

/// The folder (relative to the owner's root) that receives subpages of `parent`, turning a
/// page without subpages into a folder with its `Readme.md` first.
fn subpage_folder(
    state: &AppState,
    world: &mut World,
    c: &CollectiveRec,
    parent: &PageFile,
    now: i64,
) -> Result<String, Fail> {
    let folder = c.folder();
    if parent.is_index() {
        return Ok(join(&folder, &parent.dir));
    }
    let dir = join(&folder, &join(&parent.dir, &parent.title));
    let file = join(&folder, &join(&parent.dir, &parent.file_name));
    let files = &mut world
        .users
        .get_mut(&c.owner)
        .ok_or_else(|| not_found("User not found"))?
        .files;
    files.mkdir(&dir, state.next_id(), now).map_err(fs_fail)?;
    files
        .rename(&file, &format!("{dir}/{INDEX}"), now)
        .map_err(fs_fail)?;
    Ok(dir)
}

fn title_arg(p: &Params, name: &str) -> Result<Option<String>, Fail> {
    match p.string(name) {
        None => Ok(None),
        Some(t) => {
            let t = t.trim().replace('/', "-");
            if t.is_empty() {
                Err(bad("Page title must not be empty"))
            } else {
                Ok(Some(t))
            }
        }
    }
}

/// Rebuilds every collective's search index from the pages as they are now: the background
/// job of the real app.
pub fn run_index(state: &AppState) {
    let mut world = state.world();
    let world = &mut *world;
    let mut index = BTreeMap::new();
    for (id, c) in &world.collectives.collectives {
        let Some(user) = world.users.get(&c.owner) else {
            continue;
        };
        let entries = pages_of(world, c)
            .into_iter()
            .map(|p| {
                let path = join(&c.folder(), &join(&p.dir, &p.file_name));
                let content = user
                    .files
                    .get(&path)
                    .map(|n| String::from_utf8_lossy(&n.content).into_owned())
                    .unwrap_or_default();
                (p.id, format!("{}\n{content}", p.title).to_lowercase())
            })
            .collect();
        index.insert(*id, entries);
    }
    world.collectives.index = index;
}

/// Whether a team (circle) of this name exists.
pub fn team_exists(state: &AppState, name: &str) -> bool {
    state.world().collectives.teams.values().any(|n| n == name)
}

#[allow(clippy::too_many_lines)]
fn handle(
    state: &AppState,
    world: &mut World,
    uid: &str,
    method: &Method,
    seg: &[&str],
    p: &Params,
    now: i64,
) -> R {
    let int = |s: &str| u64::try_from(crate::params::php_intval(s)).unwrap_or(0);
    match (method, seg) {
        (&Method::GET, ["collectives"]) => {
            let st = &world.collectives;
            let list: Vec<Value> = st
                .collectives
                .iter()
                .filter(|(_, c)| c.owner == uid && c.trashed.is_none())
                .map(|(id, c)| st.collective_json(*id, c))
                .collect();
            Ok(json!({ "collectives": list }))
        }
        (&Method::POST, ["collectives"]) => {
            let name = p.string("name").unwrap_or_default().trim().to_string();
            if name.is_empty() || name.contains('/') {
                return Err(bad("Invalid collective name"));
            }
            let emoji = p.string("emoji").filter(|e| !e.is_empty());
            let st = &mut world.collectives;
            if st.teams.values().any(|n| *n == name) {
                return Err(bad(format!("A team named {name} exists already")));
            }
            let user = world
                .users
                .get_mut(uid)
                .ok_or_else(|| not_found("User not found"))?;
            let folder = format!("{USER_FOLDER}/{name}");
            if user.files.exists(&folder) {
                return Err(bad(format!("A collective named {name} exists already")));
            }
            user.files
                .mkdir_p(&folder, &mut || state.next_id(), now)
                .map_err(|_| bad("Could not create the collective's folder"))?;
            let welcome = format!("# Welcome to {name}\n\nThis is the landing page.\n");
            user.files
                .put(
                    &format!("{folder}/{INDEX}"),
                    Bytes::from(welcome),
                    state.next_id(),
                    now,
                    now,
                )
                .map_err(fs_fail)?;
            let circle_id = crate::state::random_token(31);
            st.teams.insert(circle_id.clone(), name.clone());
            st.last_collective += 1;
            let id = st.last_collective;
            let rec = CollectiveRec {
                name,
                emoji,
                circle_id,
                owner: uid.to_string(),
                trashed: None,
            };
            let v = st.collective_json(id, &rec);
            st.collectives.insert(id, rec);
            Ok(json!({ "collective": v, "info": null }))
        }
        (&Method::PUT, ["collectives", id]) => {
            let id = int(id);
            world.collectives.active(id, uid)?;
            let emoji = p.string("emoji");
            let st = &mut world.collectives;
            let c = st.collectives.get_mut(&id).ok_or_else(|| not_found("x"))?;
            match emoji.as_deref() {
                Some("") => c.emoji = None,
                Some(e) => c.emoji = Some(e.to_string()),
                None => {}
            }
            let c = c.clone();
            Ok(json!({ "collective": st.collective_json(id, &c) }))
        }
        (&Method::DELETE, ["collectives", id]) => {
            let id = int(id);
            world.collectives.active(id, uid)?;
            let st = &mut world.collectives;
            let c = st.collectives.get_mut(&id).ok_or_else(|| not_found("x"))?;
            c.trashed = Some(now);
            let c = c.clone();
            Ok(json!({ "collective": st.collective_json(id, &c) }))
        }
        (&Method::GET, ["collectives", "trash"]) => {
            let st = &world.collectives;
            let list: Vec<Value> = st
                .collectives
                .iter()
                .filter(|(_, c)| c.owner == uid && c.trashed.is_some())
                .map(|(id, c)| st.collective_json(*id, c))
                .collect();
            Ok(json!({ "collectives": list }))
        }
        (&Method::PATCH, ["collectives", "trash", id]) => {
            let id = int(id);
            world.collectives.trashed(id, uid)?;
            let st = &mut world.collectives;
            let c = st.collectives.get_mut(&id).ok_or_else(|| not_found("x"))?;
            c.trashed = None;
            let c = c.clone();
            Ok(json!({ "collective": st.collective_json(id, &c) }))
        }
        (&Method::DELETE, ["collectives", "trash", id]) => {
            let id = int(id);
            let c = world.collectives.trashed(id, uid)?.clone();
            let with_team = p.bool("circle").unwrap_or(false);
            let pages: Vec<u64> = pages_of(world, &c).iter().map(|p| p.id).collect();
            if let Some(user) = world.users.get_mut(&c.owner) {
                let _ = user.files.delete(&c.folder(), now);
            }
            let st = &mut world.collectives;
            let v = st.collective_json(id, &c);
            st.collectives.remove(&id);
            st.tags.retain(|_, t| t.collective_id != id);
            st.trash.retain(|_, t| t.collective_id != id);
            st.index.remove(&id);
            for page in pages {
                st.meta.remove(&page);
            }
            if with_team {
                st.teams.remove(&c.circle_id);
            }
            Ok(json!({ "collective": v }))
        }
        (&Method::GET, ["collectives", cid, "pages"]) => {
            let c = world.collectives.active(int(cid), uid)?.clone();
            let st = &world.collectives;
            let pages: Vec<Value> = pages_of(world, &c)
                .iter()
                .map(|pf| st.page_json(&c, pf, None))
                .collect();
            Ok(json!({ "pages": pages }))
        }
        (&Method::GET, ["collectives", cid, "pages", "trash"]) => {
            let cid = int(cid);
            let c = world.collectives.active(cid, uid)?.clone();
            let st = &world.collectives;
            let pages: Vec<Value> = st
                .trash
                .iter()
                .filter(|(_, t)| t.collective_id == cid)
                .map(|(id, t)| st.page_json(&c, &trashed_page_file(&c, *id, t), Some(t.when)))
                .collect();
            Ok(json!({ "pages": pages }))
        }
        (&Method::PATCH, ["collectives", cid, "pages", "trash", id]) => {
            let (cid, id) = (int(cid), int(id));
            let c = world.collectives.active(cid, uid)?.clone();
            let t = world
                .collectives
                .trash
                .remove(&id)
                .filter(|t| t.collective_id == cid);
            let Some(t) = t else {
                return Err(not_found(&format!("Page not found in trash: {id}")));
            };
            let files = &mut world
                .users
                .get_mut(&c.owner)
                .ok_or_else(|| not_found("User not found"))?
                .files;
            let path = t.path.clone();
            if let Err(e) = files.graft(&path, t.nodes.clone(), now) {
                world.collectives.trash.insert(id, t);
                return Err(match e {
                    FsError::ParentMissing => bad("The page's parent is gone; restore it first"),
                    other => fs_fail(other),
                });
            }
            let page = page_in(world, &c, id)?;
            Ok(json!({ "page": world.collectives.page_json(&c, &page, None) }))
        }
        (&Method::GET, ["collectives", cid, "search"]) => {
            let cid = int(cid);
            let c = world.collectives.active(cid, uid)?.clone();
            let query = p.string("searchString").unwrap_or_default().to_lowercase();
            let terms: Vec<&str> = query.split_whitespace().collect();
            let pages = pages_of(world, &c);
            let st = &world.collectives;
            let hits: Vec<Value> = st
                .index
                .get(&cid)
                .into_iter()
                .flatten()
                .filter(|(_, text)| !terms.is_empty() && terms.iter().all(|t| text.contains(t)))
                .filter_map(|(id, _)| pages.iter().find(|pf| pf.id == *id))
                .map(|pf| st.page_json(&c, pf, None))
                .collect();
            Ok(json!({ "pages": hits }))
        }
        (&Method::GET, ["collectives", cid, "pages", id]) => {
            let c = world.collectives.active(int(cid), uid)?.clone();
            let page = page_in(world, &c, int(id))?;
            Ok(json!({ "page": world.collectives.page_json(&c, &page, None) }))
        }
        (&Method::POST, ["collectives", cid, "pages", parent]) => {
            let c = world.collectives.active(int(cid), uid)?.clone();
            let title = title_arg(p, "title")?.ok_or_else(|| bad("Missing title"))?;
            let parent = page_in(world, &c, int(parent))?;
            let dir = subpage_folder(state, world, &c, &parent, now)?;
            let name = free_name(world, &c.owner, &dir, &title, false);
            let id = state.next_id();
            let files = &mut world
                .users
                .get_mut(&c.owner)
                .ok_or_else(|| not_found("User not found"))?
                .files;
            files
                .put(&join(&dir, &name), Bytes::new(), id, now, now)
                .map_err(fs_fail)?;
            world.collectives.meta.insert(
                id,
                PageMeta {
                    last_user: Some(uid.to_string()),
                    ..Default::default()
                },
            );
            let page = page_in(world, &c, id)?;
            Ok(json!({ "page": world.collectives.page_json(&c, &page, None) }))
        }
        (&Method::PUT, ["collectives", cid, "pages", id]) => {
            let c = world.collectives.active(int(cid), uid)?.clone();
            let page = page_in(world, &c, int(id))?;
            if page.parent_id == 0 {
                return Err(Fail::Ocs(403, "The landing page cannot be moved".into()));
            }
            let copy = p.bool("copy").unwrap_or(false);
            let title = title_arg(p, "title")?.unwrap_or_else(|| page.title.clone());
            let parent_id = match p.int("parentId") {
                Some(n) if n > 0 => u64::try_from(n).unwrap_or(0),
                _ => page.parent_id,
            };
            let parent = page_in(world, &c, parent_id)?;
            let folder = c.folder();
            let from = page.own_path(&folder);
            let parent_file = join(&folder, &join(&parent.dir, &parent.file_name));
            if parent.id == page.id || parent_file.starts_with(&format!("{from}/")) {
                return Err(bad("A page cannot be moved below itself"));
            }
            let dir = subpage_folder(state, world, &c, &parent, now)?;
            // The page's own path may have moved if its parent just became a folder.
            let page = page_in(world, &c, page.id)?;
            let from = page.own_path(&folder);
            let unchanged = parent_of(&from) == Some(dir.as_str()) && title == page.title;
            let to = if unchanged {
                from.clone()
            } else {
                join(
                    &dir,
                    &free_name(world, &c.owner, &dir, &title, page.is_index()),
                )
            };
            let files = &mut world
                .users
                .get_mut(&c.owner)
                .ok_or_else(|| not_found("User not found"))?
                .files;
            let result_id = if copy {
                files
                    .copy(&from, &to, &mut || state.next_id(), now)
                    .map_err(fs_fail)?;
                let file = if page.is_index() {
                    format!("{to}/{INDEX}")
                } else {
                    to.clone()
                };
                files.get(&file).map_or(0, |n| n.id)
            } else {
                if !unchanged {
                    files.rename(&from, &to, now).map_err(fs_fail)?;
                }
                page.id
            };
            let st = &mut world.collectives;
            if copy {
                let mut meta = st.meta.get(&page.id).cloned().unwrap_or_default();
                meta.subpage_order.clear();
                meta.last_user = Some(uid.to_string());
                st.meta.insert(result_id, meta);
            }
            for m in st.meta.values_mut() {
                m.subpage_order.retain(|x| *x != result_id);
            }
            let order = &mut st.meta.entry(parent_id).or_default().subpage_order;
            let at = usize::try_from(p.int("index").unwrap_or(0).max(0))
                .unwrap_or(0)
                .min(order.len());
            order.insert(at, result_id);
            let moved = page_in(world, &c, result_id)?;
            Ok(json!({ "page": world.collectives.page_json(&c, &moved, None) }))
        }
        (&Method::DELETE, ["collectives", cid, "pages", id]) => {
            let cid = int(cid);
            let c = world.collectives.active(cid, uid)?.clone();
            let page = page_in(world, &c, int(id))?;
            if page.parent_id == 0 {
                return Err(Fail::Ocs(403, "The landing page cannot be trashed".into()));
            }
            let path = page.own_path(&c.folder());
            let files = &mut world
                .users
                .get_mut(&c.owner)
                .ok_or_else(|| not_found("User not found"))?
                .files;
            let nodes = files.take(&path, now).map_err(fs_fail)?;
            let v = world.collectives.page_json(&c, &page, Some(now));
            world.collectives.trash.insert(
                page.id,
                TrashedPage {
                    collective_id: cid,
                    path,
                    nodes,
                    parent_id: page.parent_id,
                    when: now,
                },
            );
            Ok(json!({ "page": v }))
        }
        (&Method::PUT, ["collectives", cid, "pages", id, "emoji"]) => {
            let c = world.collectives.active(int(cid), uid)?.clone();
            let page = page_in(world, &c, int(id))?;
            let emoji = p.string("emoji").filter(|e| !e.is_empty());
            world.collectives.meta.entry(page.id).or_default().emoji = emoji;
            Ok(json!({ "page": world.collectives.page_json(&c, &page, None) }))
        }
        (&Method::PUT | &Method::DELETE, ["collectives", cid, "pages", id, "tags", tag]) => {
            let cid = int(cid);
            let c = world.collectives.active(cid, uid)?.clone();
            let page = page_in(world, &c, int(id))?;
            let tag = int(tag);
            if world
                .collectives
                .tags
                .get(&tag)
                .is_none_or(|t| t.collective_id != cid)
            {
                return Err(not_found(&format!("Tag not found: {tag}")));
            }
            let tags = &mut world.collectives.meta.entry(page.id).or_default().tags;
            tags.retain(|t| *t != tag);
            if *method == Method::PUT {
                tags.push(tag);
            }
            Ok(json!({ "page": world.collectives.page_json(&c, &page, None) }))
        }
        (&Method::GET, ["collectives", cid, "tags"]) => {
            let cid = int(cid);
            world.collectives.active(cid, uid)?;
            let tags: Vec<Value> = world
                .collectives
                .tags
                .iter()
                .filter(|(_, t)| t.collective_id == cid)
                .map(|(id, t)| tag_json(*id, t))
                .collect();
            Ok(json!({ "tags": tags }))
        }
        (&Method::POST, ["collectives", cid, "tags"]) => {
            let cid = int(cid);
            world.collectives.active(cid, uid)?;
            let name = p.string("name").unwrap_or_default();
            let color = p.string("color").unwrap_or_default();
            let valid = color.is_empty()
                || (color.len() == 6 && color.chars().all(|c| c.is_ascii_hexdigit()));
            if !valid {
                return Err(bad(format!("Collective color is not valid: {color}")));
            }
            let st = &mut world.collectives;
            if st
                .tags
                .values()
                .any(|t| t.collective_id == cid && t.name == name)
            {
                return Err(bad(format!("Tag already exists for collective: {name}")));
            }
            st.last_tag += 1;
            let rec = TagRec {
                collective_id: cid,
                name,
                color,
            };
            let v = tag_json(st.last_tag, &rec);
            st.tags.insert(st.last_tag, rec);
            Ok(json!({ "tag": v, "info": "" }))
        }
        _ => Err(Fail::NoRoute),
    }
}

fn tag_json(id: u64, t: &TagRec) -> Value {
    json!({ "id": id, "collectiveId": t.collective_id, "name": t.name, "color": t.color })
}

/// A trashed page as it was filed: its file or its folder's `Readme.md`.
fn trashed_page_file(c: &CollectiveRec, id: u64, t: &TrashedPage) -> PageFile {
    let folder = c.folder();
    let rel = t
        .path
        .strip_prefix(&format!("{folder}/"))
        .unwrap_or(&t.path);
    let top = t.nodes.iter().find(|(p, _)| p.is_empty()).map(|(_, n)| n);
    let is_folder = top.is_some_and(|n| n.is_dir);
    let (dir, file_name, title) = if is_folder {
        (rel.to_string(), INDEX.to_string(), name_of(rel).to_string())
    } else {
        (
            parent_of(rel).unwrap_or("").to_string(),
            name_of(rel).to_string(),
            name_of(rel).trim_end_matches(".md").to_string(),
        )
    };
    let file = if is_folder {
        t.nodes.iter().find(|(p, _)| p == INDEX).map(|(_, n)| n)
    } else {
        top
    };
    PageFile {
        id,
        dir,
        file_name,
        parent_id: t.parent_id,
        mtime: file.map_or(0, |n| n.mtime),
        size: file.map_or(0, |n| n.content.len()),
        title,
    }
}

/// Whether the path is one of the app's routes (for 405 versus the router's 998).
fn known_path(seg: &[&str]) -> bool {
    matches!(
        seg,
        ["collectives"]
            | ["collectives", _]
            | ["collectives", "trash", _]
            | ["collectives", _, "pages"]
            | ["collectives", _, "pages", _]
            | ["collectives", _, "pages", "trash", _]
            | ["collectives", _, "pages", _, "emoji"]
            | ["collectives", _, "pages", _, "tags", _]
            | ["collectives", _, "tags"]
            | ["collectives", _, "search"]
    )
}

/// `/ocs/v2.php/apps/collectives/api/v1.0/{*rest}`.
pub async fn api(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let now = state.now();
    let AppCall {
        format,
        user,
        params,
        mut world,
    } = match app_call(&state, "collectives", query.as_deref(), &headers, &body) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    match handle(&state, &mut world, &user, &method, &seg, &params, now) {
        Ok(v) => render(OcsVersion::V2, format, OcsResult::ok(v)),
        Err(Fail::NoRoute) if known_path(&seg) => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        Err(Fail::NoRoute) => router_not_found(query.as_deref()),
        Err(Fail::Ocs(status, message)) => {
            render(OcsVersion::V2, format, OcsResult::error(status, message))
        }
    }
}
