//! One user's index and its synchronisation with Nextcloud.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use nextcloud::NextcloudUser;

use super::disk::{self, SavedSource, SavedState};
use super::index::Store;
use super::sources::{self, Cursor, Delta, Source};
use super::{
    ChangeListener, DocId, Fetched, Hit, Kind, KindStatus, Progress, Query, SearchError,
    SearchSettings, language_code, lock,
};

/// Hits checked against Nextcloud at once.
const CHECKS_IN_FLIGHT: usize = 16;
/// A background sync loop stops after this long without a query.
const IDLE_STOP: Duration = Duration::from_secs(3600);

/// What a source remembers between syncs.
#[derive(Default)]
struct SourceState {
    /// Object id → change marker of every indexed document.
    known: HashMap<String, String>,
    cursor: Cursor,
    /// Unix seconds of its last completed sync.
    synced_at: Option<i64>,
}

pub(super) struct UserIndex {
    login: String,
    store: Arc<Store>,
    /// The user's folder (index and sync state); `None`: in memory.
    dir: Option<PathBuf>,
    /// The folder's lock, held while this index may write there (see [`disk::lock`]).
    _folder_lock: Option<Arc<disk::FolderLock>>,
    /// Language codes the index is built with (recorded in the saved state).
    languages: Vec<String>,
    /// Loaded from disk and not yet reported to the listeners (who start empty).
    replay: AtomicBool,
    /// Purged: its folder is gone and must not be written again.
    purged: AtomicBool,
    interval: Duration,
    /// Held for the whole of a sync, so two never write at once.
    sync: tokio::sync::Mutex<HashMap<Kind, SourceState>>,
    status: Mutex<HashMap<Kind, KindStatus>>,
    /// When each kind was last synced.
    last_sync: Mutex<HashMap<Kind, Instant>>,
    last_used: Mutex<Instant>,
    /// Set once a first sync has completed.
    complete: AtomicBool,
    background: AtomicBool,
    /// Documents found gone while checking hits: forgotten by the next sync.
    evicted: Mutex<HashSet<DocId>>,
    listeners: Vec<Arc<dyn ChangeListener>>,
    /// Fingerprint of the credentials Nextcloud last accepted for this login (see
    /// [`fingerprint`]). Only they may be answered from the index without asking Nextcloud:
    /// in `multi_user_basic` any password arrives with the login, and a wrong or revoked one
    /// must get Nextcloud's 401, not this user's documents or an empty answer.
    accepted: Mutex<Option<[u8; 32]>>,
}

/// A salted hash of `user`'s login and secret, compared in memory only (the salt is new in
/// each process, so it is never a stored password hash).
fn fingerprint(user: &NextcloudUser) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    static SALT: std::sync::LazyLock<[u8; 32]> = std::sync::LazyLock::new(|| {
        use rand::RngCore;
        let mut salt = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        salt
    });
    let credentials = user.credentials();
    let mut hash = Sha256::new();
    hash.update(*SALT);
    hash.update(credentials.login_name().as_bytes());
    hash.update([0]);
    hash.update(credentials.secret().as_bytes());
    hash.finalize().into()
}

impl UserIndex {
    /// Opens the user's index: from `dir` (resuming from its saved sync state, or rebuilt
    /// when that state is missing, unreadable or of another version) or in memory.
    pub fn new(
        login: &str,
        dir: Option<PathBuf>,
        folder_lock: Option<Arc<disk::FolderLock>>,
        settings: &SearchSettings,
        listeners: Vec<Arc<dyn ChangeListener>>,
    ) -> Result<Self, SearchError> {
        let languages: Vec<String> = settings
            .languages
            .iter()
            .map(|l| language_code(*l).to_string())
            .collect();
        let (store, saved) = match &dir {
            None => (Store::open(&settings.languages, None)?, None),
            Some(dir) => open_on_disk(dir, settings, &languages)?,
        };
        let mut states = HashMap::new();
        let mut status = HashMap::new();
        let mut last_sync = HashMap::new();
        let resumed = saved.is_some();
        let now = chrono::Utc::now().timestamp();
        for (name, saved) in saved.map(|s| s.sources).unwrap_or_default() {
            let Some(kind) = Kind::parse(&name) else {
                continue;
            };
            status.insert(
                kind,
                KindStatus {
                    indexed: saved.known.len(),
                    synced_at: saved.synced_at,
                    ..Default::default()
                },
            );
            // A restart within the interval does not make the index due at once.
            if let Some(at) = saved.synced_at {
                let age = Duration::from_secs(now.saturating_sub(at).max(0) as u64);
                if let Some(instant) = Instant::now().checked_sub(age) {
                    last_sync.insert(kind, instant);
                }
            }
            states.insert(
                kind,
                SourceState {
                    known: saved.known,
                    cursor: saved.cursor,
                    synced_at: saved.synced_at,
                },
            );
        }
        Ok(Self {
            login: login.to_string(),
            store: Arc::new(store),
            dir,
            _folder_lock: folder_lock,
            languages,
            replay: AtomicBool::new(resumed && !listeners.is_empty()),
            purged: AtomicBool::new(false),
            interval: settings.sync_interval,
            sync: tokio::sync::Mutex::new(states),
            status: Mutex::new(status),
            last_sync: Mutex::new(last_sync),
            last_used: Mutex::new(Instant::now()),
            complete: AtomicBool::new(resumed),
            background: AtomicBool::new(false),
            evicted: Default::default(),
            listeners,
            accepted: Mutex::new(None),
        })
    }

    /// Marks the index purged (its folder is deleted by the caller): nothing is saved any
    /// more. Returns its folder.
    pub fn purge(&self) -> Option<PathBuf> {
        self.purged.store(true, Ordering::SeqCst);
        self.dir.clone()
    }

    /// Reports every stored document to the listeners once after the index was loaded from
    /// disk: they keep nothing across restarts, and the sync only reports changes.
    async fn replay_stored(&self, states: &HashMap<Kind, SourceState>) -> Result<(), SearchError> {
        if !self.replay.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let store = self.store.clone();
        let docs = blocking(move || store.all()).await?;
        for stored in docs {
            let marker = states
                .get(&stored.id.kind)
                .and_then(|s| s.known.get(&stored.id.id))
                .cloned()
                .unwrap_or_default();
            let kind = stored.id.kind;
            let doc = super::Doc {
                id: stored.id.id,
                title: stored.title,
                text: stored.text,
                url: stored.url,
                modified: stored.modified,
                path: stored.path,
                marker,
            };
            for l in &self.listeners {
                l.upserted(&self.login, kind, &doc);
            }
        }
        Ok(())
    }

    /// Removes the saved state before the index changes (see [`disk`]).
    async fn invalidate_saved(&self) -> Result<(), SearchError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        blocking(move || disk::invalidate(&dir).map_err(|e| disk_error(&dir, e))).await
    }

    /// Saves the sync state beside the index (atomically), after a sync changed it.
    async fn save(&self, states: &HashMap<Kind, SourceState>) -> Result<(), SearchError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        if self.purged.load(Ordering::SeqCst) {
            return Ok(());
        }
        let state = SavedState {
            version: disk::STATE_VERSION,
            languages: self.languages.clone(),
            sources: states
                .iter()
                .map(|(k, s)| {
                    (
                        k.name().to_string(),
                        SavedSource {
                            known: s.known.clone(),
                            cursor: s.cursor.clone(),
                            synced_at: s.synced_at,
                        },
                    )
                })
                .collect(),
        };
        blocking(move || {
            disk::restrict_files(&dir.join(disk::INDEX_DIR));
            disk::save(&dir, &state).map_err(|e| disk_error(&dir, e))
        })
        .await
    }

    /// Lets only credentials Nextcloud accepts read this index: ones it accepted before
    /// pass at once, others cost one `cloud/user` request (a wrong password gets its 401).
    pub async fn authenticate(&self, user: &NextcloudUser) -> Result<(), SearchError> {
        let presented = fingerprint(user);
        if *lock(&self.accepted) == Some(presented) {
            return Ok(());
        }
        user.current_user().await?;
        *lock(&self.accepted) = Some(presented);
        Ok(())
    }

    /// Those of `kinds` whose last sync is older than the interval.
    fn due(&self, kinds: &[Kind]) -> Vec<Kind> {
        let last = lock(&self.last_sync);
        kinds
            .iter()
            .copied()
            .filter(|k| last.get(k).is_none_or(|at| at.elapsed() >= self.interval))
            .collect()
    }

    /// Syncs those of `kinds` that are due, and returns them: their documents were just
    /// listed, so their hits need no further check. While the first sync runs elsewhere,
    /// answers from what is indexed so far instead of waiting.
    pub async fn sync_if_due(
        self: &Arc<Self>,
        user: &NextcloudUser,
        kinds: &[Kind],
        progress: Option<Progress>,
    ) -> Result<Vec<Kind>, SearchError> {
        *lock(&self.last_used) = Instant::now();
        if self.replay.load(Ordering::SeqCst) {
            let states = self.sync.lock().await;
            self.replay_stored(&states).await?;
        }
        self.authenticate(user).await?;
        if !self.interval.is_zero() && !self.background.swap(true, Ordering::SeqCst) {
            self.clone().background_loop(user.clone());
        }
        if self.due(kinds).is_empty() {
            return Ok(Vec::new());
        }
        let guard = match self.sync.try_lock() {
            Ok(guard) => guard,
            Err(_) if !self.complete.load(Ordering::SeqCst) => return Ok(Vec::new()),
            Err(_) => self.sync.lock().await,
        };
        let due = self.due(kinds);
        if due.is_empty() {
            return Ok(due);
        }
        self.run_sync(guard, user, &due, progress).await
    }

    /// Starts a sync of every kind in the background unless one runs or none is due.
    pub fn spawn_sync(self: &Arc<Self>, user: NextcloudUser) {
        if self.due(&Kind::ALL).is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Ok(guard) = this.sync.try_lock() {
                let _ = this.run_sync(guard, &user, &Kind::ALL, None).await;
            }
        });
    }

    fn background_loop(self: Arc<Self>, user: NextcloudUser) {
        let weak = Arc::downgrade(&self);
        let interval = self.interval;
        drop(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(this) = weak.upgrade() else { return };
                if lock(&this.last_used).elapsed() > IDLE_STOP {
                    this.background.store(false, Ordering::SeqCst);
                    return;
                }
                if let Ok(guard) = this.sync.try_lock() {
                    let _ = this.run_sync(guard, &user, &Kind::ALL, None).await;
                }
            }
        });
    }

    /// One pass over the sources of `kinds` whose app the user has; returns the kinds
    /// synced without error. The sources ask Nextcloud what changed concurrently (an
    /// unchanged app costs one request, so an up-to-date index costs one round trip); their
    /// changes are written one after the other as they come in. A failing source keeps its
    /// previous documents and reports its error in the status; the others go on.
    async fn run_sync(
        &self,
        mut states: tokio::sync::MutexGuard<'_, HashMap<Kind, SourceState>>,
        user: &NextcloudUser,
        kinds: &[Kind],
        progress: Option<Progress>,
    ) -> Result<Vec<Kind>, SearchError> {
        let caps = user.capabilities().await.ok();
        let sources: Vec<Box<dyn Source>> = sources::all()
            .into_iter()
            .filter(|s| kinds.contains(&s.kind()))
            .filter(|s| {
                let app = s.kind().app();
                match (app.capability, &caps) {
                    (Some(key), Some(caps)) => caps.has(key),
                    _ => true,
                }
            })
            .collect();
        let total = sources.len() as u32;
        let mut first_error = None;
        let mut synced = Vec::with_capacity(sources.len());
        let evicted: Vec<DocId> = lock(&self.evicted).drain().collect();
        // Whether the saved state no longer matches (and must be written at the end).
        let mut dirty = !evicted.is_empty();
        for id in evicted {
            if let Some(state) = states.get_mut(&id.kind) {
                state.known.remove(&id.id);
            }
        }
        // Listing runs concurrently and changes nothing (cursors are worked on in copies), so
        // a cancelled sync leaves the state as it was; writing then goes one source at a time.
        // Progress: one step per source listed, one per source written.
        let steps = 2 * total;
        let step = std::sync::atomic::AtomicU32::new(0);
        if let Some(p) = &progress {
            let names: Vec<&str> = sources.iter().map(|s| s.kind().name()).collect();
            p(0, steps, format!("Listing changes in {}", names.join(", ")));
        }
        for s in &sources {
            self.set_status(s.kind(), |st| st.syncing = true);
        }
        let nothing = HashMap::new();
        let listed: Vec<(Cursor, nextcloud::Result<Delta>)> = {
            let (states, step, progress, nothing) = (&*states, &step, &progress, &nothing);
            futures::future::join_all(sources.iter().map(|source| async move {
                let kind = source.kind();
                let state = states.get(&kind);
                let mut cursor = state.map(|s| s.cursor.clone()).unwrap_or_default();
                let known = state.map_or(nothing, |s| &s.known);
                let changes = source.changes(user, known, &mut cursor).await;
                if let Some(p) = progress {
                    let n = step.fetch_add(1, Ordering::SeqCst) + 1;
                    p(n, steps, format!("Listed changes in {}", kind.name()));
                }
                (cursor, changes)
            }))
            .await
        };
        let mut invalidated = false;
        let mut done = total;
        for (source, (cursor, changes)) in sources.iter().zip(listed) {
            let kind = source.kind();
            let state = states.entry(kind).or_default();
            let result = match changes {
                Ok(delta) => {
                    let count = delta.upserts.len() + delta.removed.len();
                    self.set_status(kind, |s| s.pending = count);
                    dirty |= count > 0 || state.cursor != cursor;
                    state.cursor = cursor;
                    let written = if count > 0 && !invalidated {
                        invalidated = true;
                        self.invalidate_saved().await
                    } else {
                        Ok(())
                    };
                    let written = match written {
                        Ok(()) => self.write(kind, state, delta).await,
                        Err(e) => Err(e),
                    };
                    if written.is_err() {
                        // What failed to be written must be listed again in full next time.
                        state.cursor.clear();
                    }
                    written
                }
                Err(e) => Err(SearchError::Nextcloud(e)),
            };
            let indexed = state.known.len();
            let now = chrono::Utc::now().timestamp();
            if result.is_ok() {
                state.synced_at = Some(now);
            }
            self.set_status(kind, |s| {
                s.syncing = false;
                s.indexed = indexed;
                match &result {
                    Ok(()) => {
                        s.pending = 0;
                        s.error = None;
                        s.synced_at = Some(now);
                    }
                    Err(e) => s.error = Some(e.to_string()),
                }
            });
            done += 1;
            if let Some(p) = &progress {
                p(done, steps, format!("Indexed {}", kind.name()));
            }
            match result {
                Ok(()) => synced.push(kind),
                Err(e) => {
                    tracing::warn!(kind = kind.name(), error = %e, "search index sync failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        // The index stays usable when saving fails; without a saved state it is rebuilt after
        // a restart.
        if dirty && let Err(e) = self.save(&states).await {
            tracing::warn!(error = %e, "saving the search index's sync state failed");
        }
        if let Some(p) = &progress {
            p(steps, steps, "Index up to date".into());
        }
        match first_error {
            // Authentication and similar failures concern every source: say so. These
            // credentials are no longer trusted, and the sync did not count.
            Some(SearchError::Nextcloud(e @ nextcloud::Error::Unauthorized { .. })) => {
                *lock(&self.accepted) = None;
                Err(SearchError::Nextcloud(e))
            }
            _ => {
                let now = Instant::now();
                lock(&self.last_sync).extend(kinds.iter().map(|k| (*k, now)));
                self.complete.store(true, Ordering::SeqCst);
                if !synced.is_empty() {
                    *lock(&self.accepted) = Some(fingerprint(user));
                }
                Ok(synced)
            }
        }
    }

    fn set_status(&self, kind: Kind, f: impl FnOnce(&mut KindStatus)) {
        f(lock(&self.status).entry(kind).or_default());
    }

    /// Writes one source's changes (tantivy work on the blocking pool).
    async fn write(
        &self,
        kind: Kind,
        state: &mut SourceState,
        delta: Delta,
    ) -> Result<(), SearchError> {
        if delta.upserts.is_empty() && delta.removed.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        let delta = blocking(move || -> Result<Delta, SearchError> {
            let mut writer = store.writer()?;
            for id in &delta.removed {
                store.delete(&writer, &DocId::new(kind, id.clone()));
            }
            for doc in &delta.upserts {
                store.add(&writer, kind, doc)?;
            }
            writer.commit()?;
            store.reload()?;
            Ok(delta)
        })
        .await?;
        for id in &delta.removed {
            state.known.remove(id);
            let id = DocId::new(kind, id.clone());
            for l in &self.listeners {
                l.removed(&self.login, &id);
            }
        }
        for doc in &delta.upserts {
            state.known.insert(doc.id.clone(), doc.marker.clone());
            for l in &self.listeners {
                l.upserted(&self.login, kind, doc);
            }
        }
        Ok(())
    }

    /// Whether a first sync has completed (there is something to update in place).
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::SeqCst)
    }

    /// Makes `kind` due, so the next query syncs it whatever the interval.
    pub fn mark_due(&self, kind: Kind) {
        lock(&self.last_sync).remove(&kind);
    }

    /// Applies a change Nextcloud announced now (webhooks): deletes the document `id`, or
    /// reads it again and re-indexes it. Without an `id` the index can address (`None`), or
    /// when the source cannot read one document, syncs the whole kind instead (which still
    /// downloads only what changed). Listeners hear of it as of any sync.
    pub async fn refresh(
        &self,
        user: &NextcloudUser,
        kind: Kind,
        id: Option<&str>,
        deleted: bool,
    ) -> Result<(), SearchError> {
        let source = sources::of(kind);
        let delta = match id {
            None => None,
            Some(id) if deleted => Some(Delta {
                removed: vec![id.to_string()],
                ..Default::default()
            }),
            Some(id) => match source.document(user, id) {
                Some(read) => Some(match read.await? {
                    Some(doc) => Delta {
                        upserts: vec![doc],
                        ..Default::default()
                    },
                    None => Delta {
                        removed: vec![id.to_string()],
                        ..Default::default()
                    },
                }),
                None => None,
            },
        };
        let mut states = self.sync.lock().await;
        let Some(delta) = delta else {
            self.run_sync(states, user, &[kind], None).await?;
            return Ok(());
        };
        self.invalidate_saved().await?;
        let state = states.entry(kind).or_default();
        if let Err(e) = self.write(kind, state, delta).await {
            // What failed to be written must be listed again in full next time.
            state.cursor.clear();
            return Err(e);
        }
        let indexed = state.known.len();
        self.set_status(kind, |s| s.indexed = indexed);
        self.save(&states).await
    }

    pub fn status(&self) -> Vec<(Kind, KindStatus)> {
        let status = lock(&self.status);
        let mut out: Vec<_> = status.iter().map(|(k, s)| (*k, s.clone())).collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }

    /// Searches, then keeps only hits Nextcloud still has (asking a few more to fill gaps).
    /// A hit found changed since it was indexed has its kind synced and the search run
    /// again, so an answer never shows an outdated version.
    pub async fn search(
        &self,
        user: &NextcloudUser,
        query: &Query,
        allowed: &[Kind],
        fresh: &[Kind],
    ) -> Result<Vec<Hit>, SearchError> {
        let (hits, stale) = self.search_once(user, query, allowed, fresh).await?;
        if stale.is_empty() {
            return Ok(hits);
        }
        let guard = self.sync.lock().await;
        let synced = self.run_sync(guard, user, &stale, None).await?;
        let fresh: Vec<Kind> = fresh.iter().chain(&synced).copied().collect();
        // A kind whose sync failed keeps its checks (and may show the older version).
        Ok(self.search_once(user, query, allowed, &fresh).await?.0)
    }

    /// One search with its checks; also returns the kinds with a hit that changed since it
    /// was indexed.
    async fn search_once(
        &self,
        user: &NextcloudUser,
        query: &Query,
        allowed: &[Kind],
        fresh: &[Kind],
    ) -> Result<(Vec<Hit>, Vec<Kind>), SearchError> {
        let limit = query.limit.max(1);
        let (store, q, kinds) = (self.store.clone(), query.clone(), allowed.to_vec());
        let found = blocking(move || store.search(&q, &kinds, limit + 5)).await?;
        // The markers the hits were indexed with (unknown while a sync runs: then only
        // existence is checked).
        let indexed: HashMap<DocId, String> = match self.sync.try_lock() {
            Ok(states) => found
                .iter()
                .filter_map(|f| {
                    let marker = states.get(&f.doc.id.kind)?.known.get(&f.doc.id.id)?;
                    Some((f.doc.id.clone(), marker.clone()))
                })
                .collect(),
            Err(_) => HashMap::new(),
        };
        let checks = futures::stream::iter(found.into_iter().map(|f| async move {
            if fresh.contains(&f.doc.id.kind) {
                // Listed by the sync this very call ran: known to exist.
                return (f, Ok(Some(String::new())));
            }
            let source = sources::of(f.doc.id.kind);
            let exists = source.marker(user, &f.doc.id.id, &f.doc.path).await;
            (f, exists)
        }))
        .buffered(CHECKS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
        let mut hits = Vec::with_capacity(limit);
        let mut gone = Vec::new();
        let mut stale = Vec::new();
        for (f, exists) in checks {
            let current = match exists {
                Ok(Some(marker)) => marker,
                Ok(None) => {
                    gone.push(f.doc.id);
                    continue;
                }
                // Credentials revoked since the last sync: Nextcloud's answer, not an empty one.
                Err(e @ nextcloud::Error::Unauthorized { .. }) => {
                    *lock(&self.accepted) = None;
                    return Err(SearchError::Nextcloud(e));
                }
                // Unverifiable (Nextcloud failing): not shown, not forgotten.
                Err(e) => {
                    tracing::debug!(id = %f.doc.id, error = %e, "search hit not checked");
                    continue;
                }
            };
            // (A fresh kind's hits carry no marker: just listed.)
            if let Some(then) = indexed.get(&f.doc.id)
                && !current.is_empty()
                && &current != then
                && !stale.contains(&f.doc.id.kind)
            {
                stale.push(f.doc.id.kind);
            }
            hits.push(Hit {
                id: f.doc.id,
                title: f.doc.title,
                snippet: f.snippet,
                url: f.doc.url,
                modified: f.doc.modified,
                path: f.doc.path,
                score: f.score,
            });
        }
        hits.truncate(limit);
        self.evict(gone).await?;
        Ok((hits, stale))
    }

    /// Which of `docs` (id, stored path) Nextcloud still shows the user, one cheap request
    /// each, bounded in parallel; those found gone are evicted as a keyword hit would be.
    /// Unverifiable documents (Nextcloud failing) are left out, not forgotten.
    pub async fn verify(
        &self,
        user: &NextcloudUser,
        docs: Vec<(DocId, String)>,
    ) -> Result<std::collections::HashSet<DocId>, SearchError> {
        let checks = futures::stream::iter(docs.into_iter().map(|(id, path)| async move {
            let exists = sources::of(id.kind).marker(user, &id.id, &path).await;
            (id, exists)
        }))
        .buffered(CHECKS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
        let mut there = std::collections::HashSet::new();
        let mut gone = Vec::new();
        for (id, exists) in checks {
            match exists {
                Ok(Some(_)) => {
                    there.insert(id);
                }
                Ok(None) => gone.push(id),
                Err(e @ nextcloud::Error::Unauthorized { .. }) => {
                    *lock(&self.accepted) = None;
                    return Err(SearchError::Nextcloud(e));
                }
                Err(e) => tracing::debug!(id = %id, error = %e, "result not checked"),
            }
        }
        self.evict(gone).await?;
        Ok(there)
    }

    /// Drops documents found gone from the index now and from the sync state next time.
    async fn evict(&self, gone: Vec<DocId>) -> Result<(), SearchError> {
        if gone.is_empty() {
            return Ok(());
        }
        // The store has one writer at a time: wait for a sync or webhook refresh writing.
        let _writing = self.sync.lock().await;
        self.invalidate_saved().await?;
        let store = self.store.clone();
        let gone = blocking(move || -> Result<Vec<DocId>, SearchError> {
            let mut writer = store.writer()?;
            for id in &gone {
                store.delete(&writer, id);
            }
            writer.commit()?;
            store.reload()?;
            Ok(gone)
        })
        .await?;
        for id in &gone {
            for l in &self.listeners {
                l.removed(&self.login, id);
            }
        }
        lock(&self.evicted).extend(gone);
        Ok(())
    }

    /// A document as the index holds it, without asking Nextcloud.
    pub fn stored(&self, id: &DocId) -> Result<Option<Fetched>, SearchError> {
        Ok(self.store.get(id)?.map(fetched))
    }

    /// `fresh`: the document's kind was synced by this very call.
    pub async fn fetch(
        self: &Arc<Self>,
        user: &NextcloudUser,
        id: &DocId,
        fresh: bool,
    ) -> Result<Option<Fetched>, SearchError> {
        let Some(stored) = self.store.get(id)? else {
            return Ok(None);
        };
        if fresh {
            return Ok(Some(fetched(stored)));
        }
        let source = sources::of(id.kind);
        let Some(marker) = source.marker(user, &id.id, &stored.path).await? else {
            self.evict(vec![id.clone()]).await?;
            return Ok(None);
        };
        let indexed = self
            .sync
            .lock()
            .await
            .get(&id.kind)
            .and_then(|s| s.known.get(&id.id).cloned());
        let stored = if indexed.as_deref() == Some(marker.as_str()) {
            stored
        } else {
            // Changed since it was indexed: sync, then read it again.
            let guard = self.sync.lock().await;
            self.run_sync(guard, user, &[id.kind], None).await?;
            match self.store.get(id)? {
                Some(doc) => doc,
                None => return Ok(None),
            }
        };
        Ok(Some(fetched(stored)))
    }
}

fn fetched(stored: super::index::StoredDoc) -> Fetched {
    Fetched {
        id: stored.id,
        title: stored.title,
        text: stored.text,
        url: stored.url,
        modified: stored.modified,
        path: stored.path,
    }
}

/// Opens the index in the user's folder with its saved state; starts afresh (logged, not an
/// error) when the state is missing, unreadable or of another version, or the index does not
/// open.
fn open_on_disk(
    dir: &std::path::Path,
    settings: &SearchSettings,
    languages: &[String],
) -> Result<(Store, Option<SavedState>), SearchError> {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    disk::prepare(dir).map_err(|e| disk_error(dir, e))?;
    let index_dir = dir.join(disk::INDEX_DIR);
    let had_index = std::fs::read_dir(&index_dir).is_ok_and(|mut d| d.next().is_some());
    match disk::load(dir, languages) {
        Ok(saved) => match Store::open(&settings.languages, Some(&index_dir)) {
            Ok(store) => return Ok((store, Some(saved))),
            Err(e) => {
                tracing::info!(folder, error = %e, "search index unreadable: rebuilding it from Nextcloud")
            }
        },
        Err(why) if had_index => {
            tracing::info!(folder, reason = %why, "search index not resumable: rebuilding it from Nextcloud")
        }
        Err(_) => {}
    }
    if had_index {
        // The keyword index only: semantic search's vectors beside it stay valid.
        disk::wipe_index(dir).map_err(|e| disk_error(dir, e))?;
        disk::prepare(dir).map_err(|e| disk_error(dir, e))?;
    }
    let store = Store::open(&settings.languages, Some(&index_dir))?;
    disk::restrict_files(&index_dir);
    Ok((store, None))
}

fn disk_error(dir: &std::path::Path, e: std::io::Error) -> SearchError {
    SearchError::Disk(format!("{}: {e}", dir.display()))
}

/// Runs tantivy work on the blocking pool, so it never holds up an async worker.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SearchError::Interrupted(e.to_string()))?
}
