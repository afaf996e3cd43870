//! One keyword index per user across apps (notes, files, calendar events and tasks, contacts,
//! Deck cards), kept fresh incrementally from each app's change markers.
//!
//! # Public API (what tools and other engines plug into)
//! - [`SearchIndex`]: the registry of per-user indexes, one per server ([`crate::mcp::ServerState`]).
//!   [`SearchIndex::search`] brings the caller's index up to date when due and answers a
//!   [`Query`] with verified [`Hit`]s; [`SearchIndex::fetch`] reads one document by its
//!   [`DocId`]; [`SearchIndex::status`] reports per app what is indexed and pending.
//! - [`Doc`]: what a source hands to the index (also what a [`ChangeListener`] receives, so an
//!   embedding engine can follow the same sync instead of listing everything again).
//! - [`Kind`]: the kinds of documents; a [`DocId`] is `<kind>:<object id>` (`notes:12`).
//! - [`sources::Source`]: one app's listing with change markers. Adding an app is one file in
//!   `sources/` implementing it plus one line in [`sources::all`] and a [`Kind`] variant.
//!
//! # How it stays fresh
//! Each source keeps, per user, the marker of every document it indexed (an ETag, a
//! `lastModified`) and a cursor (the files root's ETag, each calendar's and address book's
//! ctag, the Notes listing's server time). A sync asks each source what changed against them:
//! unchanged collections cost one request, and only changed documents are downloaded. A
//! query syncs first when the last sync is older than the configured interval (0: every query);
//! a write through the server makes its user's index due at once.
//! Hits are then checked against Nextcloud (one cheap request each, in parallel, bounded)
//! so a document deleted or unshared since the last sync is never returned; such a document
//! is dropped from the index at once.
//!
//! # Language
//! Text is lower-cased and folded to ASCII (`Kraków` → `krakow`) and indexed once per
//! configured language, each copy stemmed by that language's Snowball stemmer, plus once
//! unstemmed. A query is analysed the same way and matches any copy, so no language detection
//! is needed: with `en,de` both `houses` and `Häuser` find their singulars. The unstemmed copy
//! serves prefix matching of the last word and typo tolerance (edit distance 1 for words of
//! five letters or more). Title matches are boosted.

mod disk;
mod index;
pub mod semantic;
pub mod sources;
mod sync;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nextcloud::NextcloudUser;

pub use index::{Language, language_code, language_of};
use sync::UserIndex;

/// Kinds of documents, one per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Notes,
    Files,
    Calendar,
    Tasks,
    Contacts,
    Deck,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Notes,
        Kind::Files,
        Kind::Calendar,
        Kind::Tasks,
        Kind::Contacts,
        Kind::Deck,
    ];

    /// The name used in ids, filters and answers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Notes => "notes",
            Kind::Files => "files",
            Kind::Calendar => "calendar",
            Kind::Tasks => "tasks",
            Kind::Contacts => "contacts",
            Kind::Deck => "deck",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The scope a caller needs to see documents of this kind.
    pub fn read_scope(self) -> &'static str {
        match self {
            Kind::Notes => "notes.read",
            Kind::Files => "files.read",
            Kind::Calendar => "calendar.read",
            Kind::Tasks => "todo.read",
            Kind::Contacts => "contacts.read",
            Kind::Deck => "deck.read",
        }
    }

    /// The app that must be installed for this kind to be indexed.
    pub fn app(self) -> &'static crate::apps::App {
        match self {
            Kind::Notes => &crate::apps::NOTES,
            Kind::Files => &crate::apps::FILES,
            Kind::Calendar | Kind::Tasks => &crate::apps::CALENDAR,
            Kind::Contacts => &crate::apps::CONTACTS,
            Kind::Deck => &crate::apps::DECK,
        }
    }
}

/// A document's id across apps: `<kind>:<object id>`, e.g. `notes:12`, `files:345`,
/// `deck:1/2/3` (board/stack/card), `calendar:<CalDAV href>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocId {
    pub kind: Kind,
    pub id: String,
}

impl DocId {
    pub fn new(kind: Kind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// Reads `<kind>:<id>`; `None` when the kind is unknown or the id empty.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, id) = s.split_once(':')?;
        let kind = Kind::parse(kind.trim())?;
        (!id.is_empty()).then(|| Self::new(kind, id))
    }
}

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.id)
    }
}

/// One document as a source produces it.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    /// Object id within its kind (see [`DocId`]).
    pub id: String,
    pub title: String,
    /// The searchable text, at most [`MAX_TEXT`] bytes.
    pub text: String,
    /// Where a person opens it in Nextcloud's web interface.
    pub url: String,
    /// Unix seconds; 0 when unknown.
    pub modified: i64,
    /// Folder path of a file, category of a note, calendar / address book / board name.
    pub path: String,
    /// The change marker (ETag, `lastModified`) the source compares on the next sync.
    pub marker: String,
}

/// Bytes of text kept per document (files are cut there).
pub const MAX_TEXT: usize = 200 * 1024;

/// What to look for.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub text: String,
    /// Only these kinds; empty: all the caller may read.
    pub kinds: Vec<Kind>,
    /// Unix seconds, inclusive.
    pub modified_after: Option<i64>,
    pub modified_before: Option<i64>,
    /// Only documents whose path is this folder or below (whole path segments).
    pub path_prefix: Option<String>,
    pub limit: usize,
}

/// A search result, checked against Nextcloud just before it is returned.
#[derive(Clone, Debug)]
pub struct Hit {
    pub id: DocId,
    pub title: String,
    /// A short passage with the matched words in `**bold**`.
    pub snippet: String,
    pub url: String,
    pub modified: i64,
    pub path: String,
    pub score: f32,
}

/// A document read back by id ([`SearchIndex::fetch`]).
#[derive(Clone, Debug)]
pub struct Fetched {
    pub id: DocId,
    pub title: String,
    pub text: String,
    pub url: String,
    pub modified: i64,
    pub path: String,
}

/// Per-kind sync state, for `nc_get_vector_sync_status`.
#[derive(Clone, Debug, Default)]
pub struct KindStatus {
    pub indexed: usize,
    /// Documents known to have changed and not yet written.
    pub pending: usize,
    /// Unix seconds of the last completed sync.
    pub synced_at: Option<i64>,
    pub syncing: bool,
    /// The last sync's failure, if it failed.
    pub error: Option<String>,
}

/// Notified of every document the keyword sync writes or removes (e.g. to embed it).
pub trait ChangeListener: Send + Sync {
    fn upserted(&self, login: &str, kind: Kind, doc: &Doc);
    fn removed(&self, login: &str, id: &DocId);
    /// A user's index was opened, before any of its documents is reported: `folder` is where
    /// it lives on disk (`None`: in memory), for a listener that keeps files of its own there
    /// (semantic search's vectors). Called again when the index is opened anew (after a purge).
    fn opened(&self, login: &str, folder: Option<&UserFolder>) {
        let _ = (login, folder);
    }
}

/// A user's index folder as listeners learn it. Files may be written there only while
/// [`UserFolder::hold`] succeeds: the folder's lock (see `disk`) is held by this process as
/// long as its index is open, so no other server process writes it at the same time.
#[derive(Clone, Debug)]
pub struct UserFolder {
    path: PathBuf,
    lock: std::sync::Weak<disk::FolderLock>,
}

/// Keeps a user's folder locked while a listener writes in it (see [`UserFolder::hold`]).
pub struct FolderHold {
    _lock: Arc<disk::FolderLock>,
}

impl UserFolder {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Keeps the folder's lock while the hold lives; `None` once the index that took it is
    /// gone (the server stopped): then the folder may belong to another process.
    pub fn hold(&self) -> Option<FolderHold> {
        self.lock.upgrade().map(|lock| FolderHold { _lock: lock })
    }
}

/// Called with (done, total, message) while a sync runs.
pub type Progress = Arc<dyn Fn(u32, u32, String) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Nextcloud(#[from] nextcloud::Error),
    #[error("the local search index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("updating the local search index was interrupted: {0}")]
    Interrupted(String),
    #[error(
        "the search index directory is not usable (check NEXTCLOUD_MCP_SEARCH_INDEX_DIR and its permissions): {0}"
    )]
    Disk(String),
    #[error(
        "the search index folder {0} is in use by another nextcloud-mcp server process; each running server needs a search index directory of its own (NEXTCLOUD_MCP_SEARCH_INDEX_DIR or --search-index-dir)"
    )]
    InUse(String),
}

/// Settings of the index (`--search-*`).
#[derive(Clone, Debug)]
pub struct SearchSettings {
    /// A query re-syncs when the last sync is older than this; zero: before every query.
    /// When non-zero, a background task also re-syncs each active user at this interval.
    /// Writes through the server make the writer's index due at once
    /// ([`SearchIndex::mark_changed`]). The library default is zero (nothing is ever stale,
    /// for embedding and tests); the server binary's `--search-sync-interval` defaults to 30 s.
    pub sync_interval: Duration,
    /// Stemming languages; the first one's analysis also drives highlighting.
    pub languages: Vec<Language>,
    /// Folder of the per-user indexes and their sync state (`--search-index-dir`), so a
    /// restart resumes incrementally. `None` keeps them in memory: the library default, for
    /// embedding and tests; the server binary always sets a folder.
    pub dir: Option<PathBuf>,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            sync_interval: Duration::ZERO,
            languages: vec![Language::English],
            dir: None,
        }
    }
}

/// Every user's index, created on first use.
#[derive(Default)]
pub struct SearchIndex {
    settings: SearchSettings,
    users: Mutex<HashMap<String, Arc<UserIndex>>>,
    listeners: Mutex<Vec<Arc<dyn ChangeListener>>>,
    /// The lock of every user folder this index opened, by folder: taken at the first open
    /// and kept until this index is dropped (also across a purge, which empties the folder
    /// but keeps using it). Each open user index holds it too.
    locks: Mutex<HashMap<PathBuf, Arc<disk::FolderLock>>>,
}

impl SearchIndex {
    pub fn new(settings: SearchSettings) -> Self {
        Self {
            settings,
            ..Default::default()
        }
    }

    pub fn settings(&self) -> &SearchSettings {
        &self.settings
    }

    /// Registers a listener for what later syncs write.
    pub fn add_listener(&self, listener: Arc<dyn ChangeListener>) {
        lock(&self.listeners).push(listener);
    }

    fn user_index(&self, user: &NextcloudUser) -> Result<Arc<UserIndex>, SearchError> {
        let login = user.credentials().login_name().to_string();
        let mut users = lock(&self.users);
        if let Some(found) = users.get(&login) {
            return Ok(found.clone());
        }
        let listeners = lock(&self.listeners).clone();
        let dir = self
            .settings
            .dir
            .as_ref()
            .map(|root| disk::user_dir(root, user.client().base_url(), &login));
        let folder_lock = match &dir {
            Some(dir) => Some(self.lock_folder(dir)?),
            None => None,
        };
        let folder = dir
            .as_ref()
            .zip(folder_lock.as_ref())
            .map(|(d, l)| UserFolder {
                path: d.clone(),
                lock: Arc::downgrade(l),
            });
        let created = Arc::new(UserIndex::new(
            &login,
            dir,
            folder_lock,
            &self.settings,
            listeners.clone(),
        )?);
        for l in &listeners {
            l.opened(&login, folder.as_ref());
        }
        users.insert(login, created.clone());
        Ok(created)
    }

    /// The lock of a user's folder: the one this index already holds, or taken now. Another
    /// process holding it is an error for this user's requests (not waited for, and tried
    /// again at their next request): sharing a folder would corrupt it.
    fn lock_folder(&self, dir: &std::path::Path) -> Result<Arc<disk::FolderLock>, SearchError> {
        let mut locks = lock(&self.locks);
        if let Some(held) = locks.get(dir) {
            return Ok(held.clone());
        }
        let taken = match disk::lock(dir) {
            Ok(taken) => Arc::new(taken),
            Err(disk::LockError::Busy) => {
                tracing::warn!(
                    folder = %dir.display(),
                    "a user's search index folder is locked by another process: is a second server using the same NEXTCLOUD_MCP_SEARCH_INDEX_DIR?"
                );
                return Err(SearchError::InUse(dir.display().to_string()));
            }
            Err(disk::LockError::Io(e)) => {
                return Err(SearchError::Disk(format!("{}: {e}", dir.display())));
            }
        };
        locks.insert(dir.to_path_buf(), taken.clone());
        Ok(taken)
    }

    /// Syncs the caller's index when due (reporting progress), searches it and checks each
    /// hit still exists. `allowed`: the kinds the caller may read.
    pub async fn search(
        &self,
        user: &NextcloudUser,
        query: &Query,
        allowed: &[Kind],
        progress: Option<Progress>,
    ) -> Result<Vec<Hit>, SearchError> {
        let index = self.user_index(user)?;
        let kinds: Vec<Kind> = allowed
            .iter()
            .copied()
            .filter(|k| query.kinds.is_empty() || query.kinds.contains(k))
            .collect();
        let fresh = index.sync_if_due(user, &kinds, progress).await?;
        index.search(user, query, &kinds, &fresh).await
    }

    /// Reads one document by id (synced first when it changed since it was indexed).
    /// `None`: not found, or no longer visible to the caller.
    pub async fn fetch(
        &self,
        user: &NextcloudUser,
        id: &DocId,
    ) -> Result<Option<Fetched>, SearchError> {
        let index = self.user_index(user)?;
        let fresh = index.sync_if_due(user, &[id.kind], None).await?;
        index.fetch(user, id, fresh.contains(&id.kind)).await
    }

    /// Something of `user`'s changed through this server (a tool that writes succeeded): every
    /// kind becomes due, so the user's next search sees the change whatever the sync
    /// interval. All kinds, not the tool's app's, since writes reach across apps (a note is
    /// also a file, a share changes what the files listing shows). Costs the next search one
    /// change check per app; changes made elsewhere wait for the interval or a webhook.
    pub fn mark_changed(&self, user: &NextcloudUser) {
        let login = user.credentials().login_name();
        if let Some(index) = lock(&self.users).get(login).cloned() {
            for kind in Kind::ALL {
                index.mark_due(kind);
            }
        }
    }

    /// Per kind, what the caller's index holds; starts a sync in the background when due.
    pub async fn status(
        &self,
        user: &NextcloudUser,
    ) -> Result<Vec<(Kind, KindStatus)>, SearchError> {
        let index = self.user_index(user)?;
        index.authenticate(user).await?;
        let status = index.status();
        index.spawn_sync(user.clone());
        Ok(status)
    }
}

/// For the management API (`crate::astrolabe`): reads without syncing, totals and purges.
impl SearchIndex {
    /// A document as the caller's index holds it, without asking Nextcloud (for passages of
    /// hits a search just returned); `None` when it is not indexed.
    pub fn stored(&self, user: &NextcloudUser, id: &DocId) -> Result<Option<Fetched>, SearchError> {
        self.user_index(user)?.stored(id)
    }

    /// Over every user's index: (documents indexed, documents known to have changed and not
    /// yet written), without starting a sync.
    pub fn totals(&self) -> (usize, usize) {
        let users: Vec<_> = lock(&self.users).values().cloned().collect();
        users
            .iter()
            .flat_map(|u| u.status())
            .fold((0, 0), |(i, p), (_, s)| (i + s.indexed, p + s.pending))
    }

    /// Applies a change Nextcloud announced for one of `user`'s documents of `kind` (`id`:
    /// its object id, when the event names it as the index does) to that user's index now
    /// (see `UserIndex::refresh`). `Ok(false)`: the user has no complete index yet, so
    /// nothing was done (its first sync reads everything). On failure the kind is marked due.
    pub async fn refresh_document(
        &self,
        user: &NextcloudUser,
        kind: Kind,
        id: Option<&str>,
        deleted: bool,
    ) -> Result<bool, SearchError> {
        let login = user.credentials().login_name();
        let Some(index) = lock(&self.users).get(login).cloned() else {
            return Ok(false);
        };
        if !index.is_complete() {
            index.mark_due(kind);
            return Ok(false);
        }
        if let Err(e) = index.refresh(user, kind, id, deleted).await {
            index.mark_due(kind);
            return Err(e);
        }
        Ok(true)
    }

    /// Which of `docs` (id, stored path) Nextcloud still shows `user`: engines that answer
    /// from this index's documents (semantic search) check their results with it, so a
    /// deleted or unshared document is never shown even when no sync has run since.
    pub async fn verify(
        &self,
        user: &NextcloudUser,
        docs: Vec<(DocId, String)>,
    ) -> Result<std::collections::HashSet<DocId>, SearchError> {
        if docs.is_empty() {
            return Ok(Default::default());
        }
        self.user_index(user)?.verify(user, docs).await
    }

    /// Drops every user's index, in memory and on disk (with what listeners keep in the
    /// folders: semantic search's vectors), including users not seen since the start (each
    /// is read from Nextcloud again at its user's next search), and says how many documents
    /// of each of `kinds` they held. A folder another process holds is left alone.
    pub fn clear(&self, kinds: &[Kind]) -> HashMap<Kind, usize> {
        let users: Vec<_> = lock(&self.users).drain().map(|(_, u)| u).collect();
        let mut counts: HashMap<Kind, usize> = kinds.iter().map(|k| (*k, 0)).collect();
        let mut loaded = std::collections::HashSet::new();
        for user in &users {
            for (kind, status) in user.status() {
                if let Some(c) = counts.get_mut(&kind) {
                    *c += status.indexed;
                }
            }
            if let Some(dir) = user.purge() {
                loaded.insert(dir);
            }
        }
        let Some(root) = &self.settings.dir else {
            return counts;
        };
        let Ok(entries) = std::fs::read_dir(root) else {
            return counts;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            // Only folders this index made (named by a hash), whatever else the folder holds.
            if !entry.file_type().is_ok_and(|t| t.is_dir())
                || !disk::is_user_dir_name(&entry.file_name())
            {
                continue;
            }
            // A folder another process uses is not ours to delete (nor to count).
            let _taken = if lock(&self.locks).contains_key(&dir) {
                None
            } else {
                match disk::lock(&dir) {
                    Ok(taken) => Some(taken),
                    Err(e) => {
                        tracing::warn!(folder = %dir.display(), error = %e, "not purging a search index folder another process uses");
                        continue;
                    }
                }
            };
            if !loaded.contains(&dir) {
                // Not opened by this process: its saved state says what it held.
                if let Ok(bytes) = std::fs::read(dir.join(disk::STATE_FILE))
                    && let Ok(saved) = serde_json::from_slice::<disk::SavedState>(&bytes)
                {
                    for (name, source) in saved.sources {
                        if let Some(c) = Kind::parse(&name).and_then(|k| counts.get_mut(&k)) {
                            *c += source.known.len();
                        }
                    }
                }
            }
            if let Err(e) = disk::wipe(&dir) {
                tracing::warn!(error = %e, "deleting a purged search index failed");
            }
        }
        counts
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
