//! One user's index and its synchronisation with Nextcloud.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use nextcloud::NextcloudUser;

use super::index::Store;
use super::sources::{self, Cursor, Delta, Source};
use super::{
    ChangeListener, DocId, Fetched, Hit, Kind, KindStatus, Progress, Query, SearchError,
    SearchSettings, lock,
};

/// Hits checked against Nextcloud at once.
const CHECKS_IN_FLIGHT: usize = 8;
/// A background sync loop stops after this long without a query.
const IDLE_STOP: Duration = Duration::from_secs(3600);

/// What a source remembers between syncs.
#[derive(Default)]
struct SourceState {
    /// Object id → change marker of every indexed document.
    known: HashMap<String, String>,
    cursor: Cursor,
}

pub(super) struct UserIndex {
    login: String,
    store: Arc<Store>,
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
}

impl UserIndex {
    pub fn new(
        login: &str,
        settings: &SearchSettings,
        listeners: Vec<Arc<dyn ChangeListener>>,
    ) -> Result<Self, SearchError> {
        Ok(Self {
            login: login.to_string(),
            store: Arc::new(Store::create(&settings.languages)?),
            interval: settings.sync_interval,
            sync: Default::default(),
            status: Default::default(),
            last_sync: Default::default(),
            last_used: Mutex::new(Instant::now()),
            complete: AtomicBool::new(false),
            background: AtomicBool::new(false),
            evicted: Default::default(),
            listeners,
        })
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
    /// synced without error. A failing source keeps its previous documents and reports its
    /// error in the status; the others go on.
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
        for id in evicted {
            if let Some(state) = states.get_mut(&id.kind) {
                state.known.remove(&id.id);
            }
        }
        for (done, source) in sources.iter().enumerate() {
            let kind = source.kind();
            if let Some(p) = &progress {
                p(done as u32, total, format!("Indexing {}", kind.name()));
            }
            self.set_status(kind, |s| s.syncing = true);
            let state = states.entry(kind).or_default();
            let changes = source.changes(user, &state.known, &mut state.cursor).await;
            let result = match changes {
                Ok(delta) => {
                    self.set_status(kind, |s| {
                        s.pending = delta.upserts.len() + delta.removed.len()
                    });
                    let written = self.write(kind, state, delta).await;
                    if written.is_err() {
                        // What failed to be written must be listed again in full next time.
                        state.cursor.clear();
                    }
                    written
                }
                Err(e) => Err(SearchError::Nextcloud(e)),
            };
            let indexed = state.known.len();
            self.set_status(kind, |s| {
                s.syncing = false;
                s.indexed = indexed;
                match &result {
                    Ok(()) => {
                        s.pending = 0;
                        s.error = None;
                        s.synced_at = Some(chrono::Utc::now().timestamp());
                    }
                    Err(e) => s.error = Some(e.to_string()),
                }
            });
            match result {
                Ok(()) => synced.push(kind),
                Err(e) => {
                    tracing::warn!(kind = kind.name(), error = %e, "search index sync failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(p) = &progress {
            p(total, total, "Index up to date".into());
        }
        let now = Instant::now();
        lock(&self.last_sync).extend(kinds.iter().map(|k| (*k, now)));
        self.complete.store(true, Ordering::SeqCst);
        match first_error {
            // Authentication and similar failures concern every source: say so.
            Some(SearchError::Nextcloud(e @ nextcloud::Error::Unauthorized { .. })) => {
                Err(SearchError::Nextcloud(e))
            }
            _ => Ok(synced),
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
        let state = states.entry(kind).or_default();
        if let Err(e) = self.write(kind, state, delta).await {
            // What failed to be written must be listed again in full next time.
            state.cursor.clear();
            return Err(e);
        }
        let indexed = state.known.len();
        self.set_status(kind, |s| s.indexed = indexed);
        Ok(())
    }

    pub fn status(&self) -> Vec<(Kind, KindStatus)> {
        let status = lock(&self.status);
        let mut out: Vec<_> = status.iter().map(|(k, s)| (*k, s.clone())).collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }

    /// Searches, then keeps only hits Nextcloud still has (asking a few more to fill gaps).
    pub async fn search(
        &self,
        user: &NextcloudUser,
        query: &Query,
        allowed: &[Kind],
        fresh: &[Kind],
    ) -> Result<Vec<Hit>, SearchError> {
        let limit = query.limit.max(1);
        let (store, q, kinds) = (self.store.clone(), query.clone(), allowed.to_vec());
        let found = blocking(move || store.search(&q, &kinds, limit + 5)).await?;
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
        for (f, exists) in checks {
            match exists {
                Ok(Some(_)) => hits.push(Hit {
                    id: f.doc.id,
                    title: f.doc.title,
                    snippet: f.snippet,
                    url: f.doc.url,
                    modified: f.doc.modified,
                    path: f.doc.path,
                    score: f.score,
                }),
                Ok(None) => gone.push(f.doc.id),
                // Unverifiable (Nextcloud failing): not shown, not forgotten.
                Err(e) => tracing::debug!(id = %f.doc.id, error = %e, "search hit not checked"),
            }
        }
        hits.truncate(limit);
        self.evict(gone).await?;
        Ok(hits)
    }

    /// Drops documents found gone from the index now and from the sync state next time.
    async fn evict(&self, gone: Vec<DocId>) -> Result<(), SearchError> {
        if gone.is_empty() {
            return Ok(());
        }
        // The store has one writer at a time: wait for a sync or webhook refresh writing.
        let _writing = self.sync.lock().await;
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

/// Runs tantivy work on the blocking pool, so it never holds up an async worker.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SearchError::Interrupted(e.to_string()))?
}
