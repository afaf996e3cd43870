//! Semantic search: the documents the keyword index ([`crate::search::SearchIndex`]) syncs,
//! reported here as a [`ChangeListener`], cut into overlapping chunks ([`chunk`]), each
//! chunk embedded ([`embed`]) and held with its BM25 terms ([`keyword`]) in the user's store, kept in step
//! with the user's documents incrementally (only new or changed documents are embedded). A
//! query ranks chunks by keywords and by cosine similarity to the query's vector, and fuses
//! the two rankings ([`fusion`]: RRF or DBSF), per chunk or per document. Without an
//! embedder, or when it fails, the answer comes from the keyword ranking alone and says so.
//!
//! The store is in memory, searched by brute force (a dot product per chunk). When the
//! keyword index keeps a user's folder on disk (`--search-index-dir`, it says which through
//! [`ChangeListener::opened`]), the vectors are kept there too ([`vectors`]): after a restart
//! the keyword index reports every document it holds again, and a document whose version,
//! content, chunks and embedding model match what was stored takes its vectors back instead
//! of being embedded again; only what changed meanwhile is embedded. The file is written
//! after each change only while this process holds the folder's lock. In memory (no folder)
//! the store starts empty after a restart and everything is embedded again.

#[cfg(feature = "embedded-model")]
pub mod bert;
pub mod chunk;
pub mod embed;
pub mod fusion;
pub mod keyword;
mod vectors;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nextcloud::NextcloudUser;

use super::{ChangeListener, Doc, DocId, Kind, SearchIndex, UserFolder};

pub use chunk::Span;
pub use embed::{EmbedError, Embedder, EmbeddingSettings};
use keyword::{Stats, Terms};

/// A document of any app as the semantic index takes it.
#[derive(Clone, Debug)]
pub struct SourceDoc {
    /// Kind of document (`notes`, `files`, ...: [`Kind::name`]): what `doc_types` filters on.
    pub doc_type: &'static str,
    pub id: String,
    pub title: String,
    pub text: String,
    pub url: Option<String>,
    /// Where it lives, for `path_prefixes` (a file's folder, a note's category, ...).
    pub path: Option<String>,
    /// Unix time of the last change.
    pub modified: Option<i64>,
    /// Changes whenever the content does (an ETag): an unchanged version is not re-embedded.
    pub version: String,
}

type DocKey = (&'static str, String);

struct HeldChunk {
    span: Span,
    terms: Terms,
    /// `None` until embedded (no embedder, or it failed: retried at the next sync).
    vector: Option<Vec<f32>>,
}

struct Held {
    doc: SourceDoc,
    /// Of title and text ([`vectors::digest`]): with the version, what vectors are reused for.
    digest: [u8; 16],
    chunks: Vec<HeldChunk>,
}

/// One user's documents, chunks and vectors.
#[derive(Default)]
struct UserStore {
    docs: HashMap<DocKey, Held>,
    stats: Stats,
    /// Documents whose chunks still lack vectors.
    pending: HashSet<DocKey>,
    /// The model ([`Embedder::id`]) the held vectors come from.
    model: Option<String>,
    /// Vectors read from disk that no document has taken back yet (the keyword index reports
    /// its documents after a restart); written back with the held ones until then.
    stored: HashMap<DocKey, vectors::StoredDoc>,
    /// Where the vectors are kept; `None`: in memory only.
    disk: Option<VectorFile>,
    /// The vectors differ from what the file holds.
    dirty: bool,
}

/// The user's folder as the keyword index last opened it.
struct VectorFile {
    folder: UserFolder,
    /// Which opening (a purge opens the folder anew, emptied): read again when it changes.
    opening: u64,
    /// Whether the file was read for this opening.
    read: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fusion {
    #[default]
    Rrf,
    Dbsf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Granularity {
    #[default]
    Chunk,
    Document,
}

/// A query and its filters.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub text: String,
    pub limit: usize,
    /// Only these kinds of document (empty: all).
    pub doc_types: Vec<String>,
    /// Least cosine similarity for a chunk to count as a semantic match.
    pub score_threshold: Option<f32>,
    /// Least fused relevance (0..1) of a result.
    pub min_relevance: Option<f32>,
    pub fusion: Fusion,
    pub granularity: Granularity,
    pub modified_after: Option<i64>,
    pub modified_before: Option<i64>,
    /// Only documents whose path starts with one of these (empty: all).
    pub path_prefixes: Vec<String>,
    /// Characters of text around each hit to return (`None`: no context).
    pub context_chars: Option<usize>,
    /// Rank by vectors alone (pure semantic search, as the management API's `semantic`
    /// type asks), not fused with keywords.
    pub vector_only: bool,
}

/// One result: a chunk, or a document with its best chunk.
#[derive(Clone, Debug)]
pub struct Hit {
    pub doc_type: &'static str,
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    pub path: Option<String>,
    pub modified: Option<i64>,
    pub span: Span,
    pub excerpt: String,
    /// Fused relevance, 0..1 (1: top of every ranking).
    pub score: f32,
    /// Cosine similarity of the chunk to the query, when vectors were used.
    pub similarity: Option<f32>,
    pub context_before: Option<String>,
    pub context_after: Option<String>,
    /// The chunk's place in its document (0-based) and the document's number of chunks.
    pub chunk_index: usize,
    pub total_chunks: usize,
    /// `span` in characters (what the management API's offsets count).
    pub char_start: usize,
    pub char_end: usize,
    /// The chunk's embedding, when it has one (for the management API's plot).
    pub vector: Option<Vec<f32>>,
}

/// How a search was answered.
#[derive(Clone, Debug)]
pub struct Answer {
    pub hits: Vec<Hit>,
    /// `hybrid` (keywords and vectors) or `keyword`.
    pub method: &'static str,
    /// The embedding model used, if any.
    pub model: Option<String>,
    /// Why vectors were not used, when they were not.
    pub notice: Option<String>,
    pub indexed_documents: usize,
    /// The query's embedding, when vectors were used.
    pub query_vector: Option<Vec<f32>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error(transparent)]
    Nextcloud(#[from] nextcloud::Error),
    #[error("{0}")]
    Index(String),
}

/// Nextcloud's errors stay themselves (the tool reports their status); the index's become text.
impl From<super::SearchError> for SemanticError {
    fn from(e: super::SearchError) -> Self {
        match e {
            super::SearchError::Nextcloud(e) => SemanticError::Nextcloud(e),
            other => SemanticError::Index(other.to_string()),
        }
    }
}

/// A change the keyword sync reported, applied at the user's next semantic search.
enum Change {
    Upsert(SourceDoc),
    Remove(DocKey),
}

/// The semantic indexes of every user (by login name) and the shared embedder.
#[derive(Default)]
pub struct SemanticIndex {
    embedder: std::sync::RwLock<Option<Embedder>>,
    users: Mutex<HashMap<String, Arc<tokio::sync::Mutex<UserStore>>>>,
    /// What the keyword sync reported per user since their last semantic search.
    inbox: Mutex<HashMap<String, Vec<Change>>>,
    /// Each user's folder with the number of its opening, as the keyword index reported it.
    folders: Mutex<HashMap<String, (UserFolder, u64)>>,
    openings: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ChangeListener for SemanticIndex {
    fn upserted(&self, login: &str, kind: Kind, doc: &Doc) {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let source = SourceDoc {
            doc_type: kind.name(),
            id: doc.id.clone(),
            title: doc.title.clone(),
            text: doc.text.clone(),
            url: non_empty(&doc.url),
            path: non_empty(&doc.path),
            modified: (doc.modified > 0).then_some(doc.modified),
            version: doc.marker.clone(),
        };
        lock(&self.inbox)
            .entry(login.to_string())
            .or_default()
            .push(Change::Upsert(source));
    }

    fn removed(&self, login: &str, id: &DocId) {
        lock(&self.inbox)
            .entry(login.to_string())
            .or_default()
            .push(Change::Remove((id.kind.name(), id.id.clone())));
    }

    fn opened(&self, login: &str, folder: Option<&UserFolder>) {
        let mut folders = lock(&self.folders);
        match folder {
            Some(folder) => {
                let opening = self.openings.fetch_add(1, Ordering::SeqCst) + 1;
                folders.insert(login.to_string(), (folder.clone(), opening));
            }
            None => {
                folders.remove(login);
            }
        }
    }
}

impl SemanticIndex {
    pub fn new(embedder: Option<Embedder>) -> Self {
        let index = Self::default();
        index.set_embedder(embedder);
        index
    }

    pub fn set_embedder(&self, embedder: Option<Embedder>) {
        *self.embedder.write().unwrap_or_else(|p| p.into_inner()) = embedder;
    }

    pub fn embedder(&self) -> Option<Embedder> {
        self.embedder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn store(&self, login: &str) -> Arc<tokio::sync::Mutex<UserStore>> {
        lock(&self.users)
            .entry(login.to_string())
            .or_default()
            .clone()
    }

    /// Has the keyword index sync the caller's documents of `kinds` (it reports every change
    /// here), takes those changes in, embeds what is new, then searches. Only documents of
    /// `kinds` (those the caller may read) are returned.
    pub async fn search(
        &self,
        user: &NextcloudUser,
        keyword_index: &SearchIndex,
        kinds: &[Kind],
        query: &Query,
    ) -> Result<Answer, SemanticError> {
        let sync = super::Query {
            text: query.text.clone(),
            kinds: kinds.to_vec(),
            limit: 1,
            ..Default::default()
        };
        keyword_index.search(user, &sync, kinds, None).await?;
        let login = user.credentials().login_name();
        let store = self.store(login);
        let mut store = store.lock().await;
        let embedder = self.embedder();
        self.prepare(login, &mut store, embedder.as_ref()).await;
        self.apply_inbox(login, &mut store);
        let mut notice = match &embedder {
            Some(e) => store.embed_pending(e).await,
            None => None,
        };
        let mut query = query.clone();
        query.doc_types = kinds.iter().map(|k| k.name().to_string()).collect();
        let query = &query;
        let query_vector = match &embedder {
            None => {
                notice.get_or_insert_with(|| {
                    "no embedding model is configured (EMBEDDING_MODEL_PATH or \
                     EMBEDDING_ENDPOINT): results come from keywords only"
                        .into()
                });
                None
            }
            Some(e) if notice.is_none() => match e.embed(vec![query.text.clone()]).await {
                Ok(mut v) => v.pop(),
                Err(err) => {
                    notice = Some(format!("{err}; results come from keywords only"));
                    None
                }
            },
            Some(_) => None,
        };
        // Vectors of another dimension than the query's come from another model that went by
        // the same name: embedded again, never compared.
        if let (Some(qv), Some(e)) = (&query_vector, &embedder)
            && store.forget_other_dimensions(qv.len())
            && let Some(why) = store.embed_pending(e).await
        {
            notice = Some(why);
        }
        store.persist().await;
        let hits = store.rank(query, query_vector.as_deref());
        let indexed_documents = store.docs.len();
        drop(store);
        // Checked like keyword hits: a document deleted or unshared since the last sync is
        // never shown (and is evicted, which reaches this store at the next search).
        let docs: Vec<(DocId, String)> = hits
            .iter()
            .filter_map(|h| {
                let kind = Kind::parse(h.doc_type)?;
                let path = h.path.clone().unwrap_or_default();
                Some((DocId::new(kind, h.id.clone()), path))
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let there = keyword_index.verify(user, docs).await?;
        let hits: Vec<Hit> = hits
            .into_iter()
            .filter(|h| {
                Kind::parse(h.doc_type)
                    .is_some_and(|k| there.contains(&DocId::new(k, h.id.clone())))
            })
            .collect();
        Ok(Answer {
            hits,
            method: if query_vector.is_some() {
                "hybrid"
            } else {
                "keyword"
            },
            model: embedder.as_ref().map(Embedder::name),
            notice,
            indexed_documents,
            query_vector,
        })
    }

    /// Applies to `store` the changes the keyword sync reported for `login` since last time.
    fn apply_inbox(&self, login: &str, store: &mut UserStore) {
        let changes = lock(&self.inbox).remove(login).unwrap_or_default();
        for change in changes {
            match change {
                Change::Upsert(doc) => store.upsert(doc),
                Change::Remove(key) => store.remove(&key),
            }
        }
    }

    /// Takes in what the keyword sync reported for `login` and embeds it now, instead of at
    /// that user's next search (a webhook just changed a document). Returns why vectors are
    /// missing, if the embedder failed.
    pub async fn take_in(&self, login: &str) -> Option<String> {
        let store = self.store(login);
        let mut store = store.lock().await;
        let embedder = self.embedder();
        self.prepare(login, &mut store, embedder.as_ref()).await;
        self.apply_inbox(login, &mut store);
        let why = store.embed_pending(embedder.as_ref()?).await;
        store.persist().await;
        why
    }

    /// Before a user's changes are taken in: drops vectors of another model than the
    /// embedder's, follows the keyword index to the user's folder and, once per opening of
    /// it, reads the vectors kept there (those documents are then not embedded again).
    async fn prepare(&self, login: &str, store: &mut UserStore, embedder: Option<&Embedder>) {
        let Some(embedder) = embedder else {
            return;
        };
        store.use_model(embedder.id());
        let folder = lock(&self.folders).get(login).cloned();
        match folder {
            None => store.disk = None,
            Some((folder, opening)) => {
                if store.disk.as_ref().is_none_or(|d| d.opening != opening) {
                    store.disk = Some(VectorFile {
                        folder,
                        opening,
                        read: false,
                    });
                }
            }
        }
        store.read_vectors().await;
    }

    /// The character spans of a held document's chunks, in order; `None` when `login` holds
    /// no such document (`kind`: [`Kind::name`]).
    pub async fn chunk_spans(
        &self,
        login: &str,
        kind: Kind,
        id: &str,
    ) -> Option<Vec<(usize, usize)>> {
        let store = self.store(login);
        let store = store.lock().await;
        let held = store.docs.get(&(kind.name(), id.to_string()))?;
        Some(
            held.chunks
                .iter()
                .map(|c| char_span(&held.doc.text, c.span))
                .collect(),
        )
    }

    /// Forgets every user's documents of `kinds` (and what waits in their inboxes); they
    /// come back through the keyword index's next sync.
    pub async fn clear(&self, kinds: &[Kind]) {
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        let stores: Vec<_> = lock(&self.users).values().cloned().collect();
        for store in stores {
            let mut store = store.lock().await;
            let keys: Vec<DocKey> = store
                .docs
                .keys()
                .filter(|k| names.contains(&k.0))
                .cloned()
                .collect();
            keys.iter().for_each(|k| store.remove(k));
            let before = store.stored.len();
            store.stored.retain(|k, _| !names.contains(&k.0));
            store.dirty |= store.stored.len() != before;
        }
        for changes in lock(&self.inbox).values_mut() {
            changes.retain(|c| match c {
                Change::Upsert(d) => !names.contains(&d.doc_type),
                Change::Remove(k) => !names.contains(&k.0),
            });
        }
    }

    /// Indexes `docs` for `login` directly (benchmarks and tests of the ranking): replaces
    /// what was held under the same keys.
    pub async fn index_documents(&self, login: &str, docs: Vec<SourceDoc>) -> Option<String> {
        let store = self.store(login);
        let mut store = store.lock().await;
        store
            .apply(docs, Vec::new(), self.embedder().as_ref())
            .await
    }

    /// Searches what is held for `login` without syncing (benchmarks and tests).
    pub async fn search_held(&self, login: &str, query: &Query) -> Result<Vec<Hit>, EmbedError> {
        let store = self.store(login);
        let store = store.lock().await;
        let vector = match self.embedder() {
            Some(e) => e.embed(vec![query.text.clone()]).await?.pop(),
            None => None,
        };
        Ok(store.rank(query, vector.as_deref()))
    }
}

impl UserStore {
    /// Replaces changed documents, drops removed ones, embeds what lacks vectors. Returns why
    /// some chunks have no vectors, if the embedder failed.
    async fn apply(
        &mut self,
        changed: Vec<SourceDoc>,
        removed: Vec<DocKey>,
        embedder: Option<&Embedder>,
    ) -> Option<String> {
        for key in removed {
            self.remove(&key);
        }
        for doc in changed {
            self.upsert(doc);
        }
        self.embed_pending(embedder?).await
    }

    /// Holds `doc` in place of any earlier version: chunks and terms now, vectors at the next
    /// [`Self::embed_pending`] (so a sync that cannot wait for the embedder can call this).
    /// The same version with the same content and chunks keeps the vectors it had, held or
    /// read from disk: it is not embedded again.
    fn upsert(&mut self, doc: SourceDoc) {
        let key = (doc.doc_type, doc.id.clone());
        let digest = vectors::digest(&doc.title, &doc.text);
        let stored = self.stored.remove(&key);
        let same = |version: &str, d: &[u8; 16]| version == doc.version && *d == digest;
        let mut kept: Option<Vec<(Span, Vec<f32>)>> = self
            .docs
            .get(&key)
            .filter(|h| same(&h.doc.version, &h.digest))
            .and_then(|h| {
                h.chunks
                    .iter()
                    .map(|c| Some((c.span, c.vector.clone()?)))
                    .collect()
            });
        if kept.is_none() {
            kept = stored
                .filter(|s| same(&s.version, &s.digest))
                .map(|s| s.chunks);
        }
        self.remove(&key);
        let mut chunks: Vec<HeldChunk> = chunk::chunks(&doc.text)
            .into_iter()
            .map(|span| HeldChunk {
                terms: Terms::of(&format!(
                    "{}\n{}",
                    doc.title,
                    &doc.text[span.start..span.end]
                )),
                span,
                vector: None,
            })
            .collect();
        if chunks.is_empty() {
            // A document with no text is still found by its title.
            chunks.push(HeldChunk {
                span: Span { start: 0, end: 0 },
                terms: Terms::of(&doc.title),
                vector: None,
            });
        }
        chunks.iter().for_each(|c| self.stats.add(&c.terms));
        let reused = kept.is_some_and(|kept| {
            let fits = kept.len() == chunks.len()
                && kept
                    .iter()
                    .zip(&chunks)
                    .all(|((span, _), c)| *span == c.span);
            if fits {
                for (c, (_, v)) in chunks.iter_mut().zip(kept) {
                    c.vector = Some(v);
                }
            }
            fits
        });
        if !reused {
            self.pending.insert(key.clone());
        }
        self.docs.insert(
            key,
            Held {
                doc,
                digest,
                chunks,
            },
        );
    }

    /// Drops every vector unless it comes from `model` (the embedder changed): each document
    /// is embedded again by the new model.
    fn use_model(&mut self, model: String) {
        if self.model.as_ref() == Some(&model) {
            return;
        }
        if self.model.is_some() {
            self.forget_vectors(|_| true);
        }
        self.stored.clear();
        if let Some(disk) = &mut self.disk {
            disk.read = false;
        }
        self.model = Some(model);
    }

    /// Drops the held vectors that `unfit` says of, making their documents pending; true
    /// when any was dropped.
    fn forget_vectors(&mut self, unfit: impl Fn(&[f32]) -> bool) -> bool {
        let mut any = false;
        for (key, held) in &mut self.docs {
            if held
                .chunks
                .iter()
                .any(|c| c.vector.as_deref().is_some_and(&unfit))
            {
                held.chunks.iter_mut().for_each(|c| c.vector = None);
                self.pending.insert(key.clone());
                any = true;
            }
        }
        self.dirty |= any;
        any
    }

    /// Drops vectors whose dimension is not `dims` (see the caller).
    fn forget_other_dimensions(&mut self, dims: usize) -> bool {
        self.stored
            .retain(|_, s| s.chunks.iter().all(|(_, v)| v.len() == dims));
        self.forget_vectors(|v| v.len() != dims)
    }

    /// Reads the vectors kept in the user's folder, once per opening of it. A missing,
    /// unreadable or mismatching file is not an error: those documents are embedded again
    /// (and the file written anew).
    async fn read_vectors(&mut self) {
        let (Some(disk), Some(model)) = (&mut self.disk, &self.model) else {
            return;
        };
        if disk.read {
            return;
        }
        disk.read = true;
        let Some(hold) = disk.folder.hold() else {
            return;
        };
        let path = disk.folder.path().join(super::disk::VECTORS_FILE);
        let model = model.clone();
        let read = tokio::task::spawn_blocking(move || {
            let _hold = hold;
            match std::fs::read(&path) {
                Ok(bytes) => vectors::decode(&bytes, &model),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(String::new()),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match read {
            Ok((dims, docs)) => {
                // A document held already (the folder was emptied by a purge) keeps its own.
                self.stored = docs
                    .into_iter()
                    .filter_map(|(kind, id, doc)| Some(((Kind::parse(&kind)?.name(), id), doc)))
                    .filter(|(key, _)| !self.docs.contains_key(key))
                    .collect();
                tracing::debug!(
                    documents = self.stored.len(),
                    dims,
                    "semantic search vectors read from disk"
                );
                // Documents held before (a purge emptied the folder) are written back too.
                self.dirty = !self.docs.is_empty();
            }
            Err(why) => {
                if !why.is_empty() {
                    tracing::info!(reason = %why, "semantic search vectors on disk not usable: documents are embedded again");
                }
                self.stored.clear();
                self.dirty = true;
            }
        }
    }

    /// Writes the vectors to the user's folder when they changed, atomically, while the
    /// folder is held (a failure is logged: the vectors stay in memory, and the file is
    /// written at the next change).
    async fn persist(&mut self) {
        if !self.dirty {
            return;
        }
        let (Some(disk), Some(model)) = (&self.disk, &self.model) else {
            return;
        };
        let Some(hold) = disk.folder.hold() else {
            return;
        };
        let dims = self
            .docs
            .values()
            .flat_map(|h| h.chunks.iter().filter_map(|c| c.vector.as_ref()))
            .chain(
                self.stored
                    .values()
                    .flat_map(|s| s.chunks.iter().map(|c| &c.1)),
            )
            .map(Vec::len)
            .next();
        let Some(dims) = dims else {
            // Nothing embedded: no file (an old one would only be read to be ignored).
            let path = disk.folder.path().join(super::disk::VECTORS_FILE);
            let _ = tokio::task::spawn_blocking(move || {
                let _hold = hold;
                std::fs::remove_file(path)
            })
            .await;
            self.dirty = false;
            return;
        };
        let mut file = vectors::Writer::new(model, dims);
        for ((kind, id), held) in &self.docs {
            if held.chunks.iter().all(|c| c.vector.is_some()) {
                file.doc(
                    kind,
                    id,
                    &held.doc.version,
                    &held.digest,
                    held.chunks
                        .iter()
                        .map(|c| (c.span, c.vector.as_deref().unwrap_or_default())),
                );
            }
        }
        for ((kind, id), doc) in &self.stored {
            file.doc(
                kind,
                id,
                &doc.version,
                &doc.digest,
                doc.chunks.iter().map(|(s, v)| (*s, v.as_slice())),
            );
        }
        let bytes = file.finish();
        let dir = disk.folder.path().to_path_buf();
        let written = tokio::task::spawn_blocking(move || {
            let _hold = hold;
            super::disk::write_atomically(&dir, super::disk::VECTORS_FILE, &bytes)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        match written {
            Ok(()) => self.dirty = false,
            Err(e) => {
                tracing::warn!(error = %e, "saving semantic search vectors failed; kept in memory")
            }
        }
    }

    /// Embeds the chunks of documents that lack vectors; returns why not, if it failed.
    async fn embed_pending(&mut self, embedder: &Embedder) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let keys: Vec<DocKey> = self.pending.iter().cloned().collect();
        let mut texts = Vec::new();
        for key in &keys {
            let held = &self.docs[key];
            for c in &held.chunks {
                texts.push(passage(&held.doc, c.span));
            }
        }
        match embedder.embed(texts).await {
            Ok(vectors) => {
                let mut vectors = vectors.into_iter();
                for key in keys {
                    if let Some(held) = self.docs.get_mut(&key) {
                        for c in &mut held.chunks {
                            c.vector = vectors.next();
                        }
                    }
                    self.pending.remove(&key);
                }
                self.dirty = true;
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "embedding documents failed; retried at the next search");
                Some(format!("{e}; results come from keywords only"))
            }
        }
    }

    fn remove(&mut self, key: &DocKey) {
        if let Some(held) = self.docs.remove(key) {
            held.chunks.iter().for_each(|c| self.stats.remove(&c.terms));
            self.dirty |= held.chunks.iter().any(|c| c.vector.is_some());
        }
        self.dirty |= self.stored.remove(key).is_some();
        self.pending.remove(key);
    }

    fn rank<'a>(&'a self, q: &Query, vector: Option<&[f32]>) -> Vec<Hit> {
        let words: Vec<String> = keyword::words(&q.text).collect();
        // (doc, chunk index) → scores, for the documents the filters let through.
        let mut by_keyword: Vec<(ChunkKey<'a>, f32)> = Vec::new();
        let mut by_vector: Vec<(ChunkKey<'a>, f32)> = Vec::new();
        let mut similarity: HashMap<ChunkKey<'a>, f32> = HashMap::new();
        for (key, held) in &self.docs {
            if !passes(q, &held.doc) {
                continue;
            }
            for (i, c) in held.chunks.iter().enumerate() {
                let k = self.stats.score(&words, &c.terms);
                if k > 0.0 && !q.vector_only {
                    by_keyword.push(((key, i), k));
                }
                if let (Some(qv), Some(cv)) = (vector, &c.vector) {
                    let s = embed::dot(qv, cv);
                    similarity.insert((key, i), s);
                    if q.score_threshold.is_none_or(|t| s >= t) {
                        by_vector.push(((key, i), s));
                    }
                }
            }
        }
        let lists = match q.granularity {
            Granularity::Chunk => vec![by_keyword, by_vector],
            Granularity::Document => {
                // A document ranks by its best chunk in each list.
                vec![best_per_document(by_keyword), best_per_document(by_vector)]
            }
        };
        let used = lists.iter().filter(|l| !l.is_empty()).count().max(1) as f32;
        // Document granularity fuses by document; the chunk shown is the one that ranked
        // best by vector, else by keyword.
        let mut shown: HashMap<&DocKey, usize> = HashMap::new();
        if q.granularity == Granularity::Document {
            for list in lists.iter().rev() {
                for ((doc, i), _) in list {
                    shown.entry(doc).or_insert(*i);
                }
            }
        }
        let granularity = q.granularity;
        let to_key = move |k: ChunkKey<'a>| match granularity {
            Granularity::Chunk => k,
            Granularity::Document => (k.0, 0),
        };
        let fused = match q.fusion {
            Fusion::Rrf => {
                let ranked: Vec<Vec<ChunkKey<'a>>> = lists
                    .into_iter()
                    .map(|mut l| {
                        l.sort_by(|a, b| b.1.total_cmp(&a.1));
                        l.into_iter().map(|(k, _)| to_key(k)).collect()
                    })
                    .collect();
                let top = used / (fusion::RRF_K + 1.0);
                fusion::rrf(&ranked)
                    .into_iter()
                    .map(|(k, s)| (k, s / top))
                    .collect::<Vec<_>>()
            }
            Fusion::Dbsf => {
                let scored: Vec<Vec<(ChunkKey<'a>, f32)>> = lists
                    .into_iter()
                    .map(|l| l.into_iter().map(|(k, s)| (to_key(k), s)).collect())
                    .collect();
                fusion::dbsf(&scored)
                    .into_iter()
                    .map(|(k, s)| (k, s / used))
                    .collect()
            }
        };
        fused
            .into_iter()
            .filter(|(_, s)| q.min_relevance.is_none_or(|m| *s >= m))
            .take(q.limit)
            .map(|((key, i), score)| {
                let i = shown.get(key).copied().unwrap_or(i);
                let held = &self.docs[key];
                self.hit(
                    q,
                    held,
                    i,
                    score.min(1.0),
                    similarity.get(&(key, i)).copied(),
                )
            })
            .collect()
    }

    fn hit(&self, q: &Query, held: &Held, i: usize, score: f32, similarity: Option<f32>) -> Hit {
        let doc = &held.doc;
        let span = held.chunks[i].span;
        let (char_start, char_end) = char_span(&doc.text, span);
        let (context_before, context_after) = match q.context_chars {
            Some(n) => (
                Some(tail_chars(&doc.text[..span.start], n).to_string()),
                Some(head_chars(&doc.text[span.end..], n).to_string()),
            ),
            None => (None, None),
        };
        Hit {
            doc_type: doc.doc_type,
            id: doc.id.clone(),
            title: doc.title.clone(),
            url: doc.url.clone(),
            path: doc.path.clone(),
            modified: doc.modified,
            span,
            excerpt: doc.text[span.start..span.end].to_string(),
            score,
            similarity,
            context_before,
            context_after,
            chunk_index: i,
            total_chunks: held.chunks.len(),
            char_start,
            char_end,
            vector: held.chunks[i].vector.clone(),
        }
    }
}

/// A byte span of `text` in characters.
fn char_span(text: &str, span: Span) -> (usize, usize) {
    let start = text[..span.start].chars().count();
    (start, start + text[span.start..span.end].chars().count())
}

/// A chunk: its document and its index there.
type ChunkKey<'a> = (&'a DocKey, usize);

/// Each document once, with its best-scoring chunk.
fn best_per_document(list: Vec<(ChunkKey<'_>, f32)>) -> Vec<(ChunkKey<'_>, f32)> {
    let mut top: HashMap<&DocKey, (ChunkKey<'_>, f32)> = HashMap::new();
    for (k, s) in list {
        let e = top.entry(k.0).or_insert((k, s));
        if s > e.1 {
            *e = (k, s);
        }
    }
    top.into_values().collect()
}

/// What is embedded for a chunk: the document's title, then the chunk.
fn passage(doc: &SourceDoc, span: Span) -> String {
    let text = &doc.text[span.start..span.end];
    if doc.title.is_empty() || text.starts_with(&doc.title) {
        text.to_string()
    } else if text.is_empty() {
        doc.title.clone()
    } else {
        format!("{}\n{}", doc.title, text)
    }
}

fn passes(q: &Query, doc: &SourceDoc) -> bool {
    (q.doc_types.is_empty() || q.doc_types.iter().any(|t| t == doc.doc_type))
        && q.modified_after
            .is_none_or(|t| doc.modified.is_some_and(|m| m >= t))
        && q.modified_before
            .is_none_or(|t| doc.modified.is_some_and(|m| m <= t))
        && (q.path_prefixes.is_empty()
            || doc.path.as_deref().is_some_and(|p| {
                let p = p.trim_start_matches('/');
                q.path_prefixes
                    .iter()
                    .any(|pre| p.starts_with(pre.trim_start_matches('/')))
            }))
}

fn head_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

fn tail_chars(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    if count <= n {
        return s;
    }
    s.char_indices().nth(count - n).map_or(s, |(i, _)| &s[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, text: &str, modified: i64, path: &str) -> SourceDoc {
        SourceDoc {
            doc_type: "notes",
            id: id.into(),
            title: title.into(),
            text: text.into(),
            url: None,
            path: Some(path.into()),
            modified: Some(modified),
            version: "1".into(),
        }
    }

    async fn store(docs: Vec<SourceDoc>) -> UserStore {
        let mut s = UserStore::default();
        assert!(s.apply(docs, vec![], None).await.is_none());
        s
    }

    fn q(text: &str) -> Query {
        Query {
            text: text.into(),
            limit: 10,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn keyword_ranking_filters_and_context() {
        let long = format!(
            "{} The secret word is zebra. {}",
            "a".repeat(900),
            "b ".repeat(500)
        );
        let s = store(vec![
            doc(
                "1",
                "Zebra facts",
                "Zebras have stripes.",
                100,
                "Notes/Animals/Zebra facts",
            ),
            doc(
                "2",
                "Shopping",
                "Milk, bread and a zebra-striped towel.",
                200,
                "Notes/Home/Shopping",
            ),
            doc("3", "Long", &long, 300, "Notes/Misc/Long"),
        ])
        .await;
        let hits = s.rank(&q("zebra"), None);
        assert_eq!(hits.len(), 3);
        assert!(hits.iter().all(|h| h.similarity.is_none()));
        // Filters.
        let mut only_home = q("zebra");
        only_home.path_prefixes = vec!["/Notes/Home".into()];
        assert_eq!(
            s.rank(&only_home, None)
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>(),
            ["2"]
        );
        let mut recent = q("zebra");
        recent.modified_after = Some(150);
        recent.modified_before = Some(250);
        assert_eq!(s.rank(&recent, None)[0].id, "2");
        let mut other_type = q("zebra");
        other_type.doc_types = vec!["file".into()];
        assert!(s.rank(&other_type, None).is_empty());
        // Context around the chunk that matched in the long document.
        let mut ctx = q("secret zebra");
        ctx.context_chars = Some(20);
        ctx.limit = 1;
        let hit = &s.rank(&ctx, None)[0];
        assert_eq!(hit.id, "3");
        assert!(hit.excerpt.contains("secret word is zebra"));
        assert!(hit.context_before.as_ref().unwrap().chars().count() <= 20);
        assert_eq!(&long[hit.span.start..hit.span.end], hit.excerpt);
        assert!(hit.score > 0.99, "top of the only ranking: {}", hit.score);
    }

    #[tokio::test]
    async fn vectors_fuse_with_keywords_per_chunk_or_document() {
        let mut s = store(vec![
            doc("1", "Cats", "All about felines.", 1, "a"),
            doc("2", "Dogs", "All about canines. Cats are not here.", 1, "b"),
        ])
        .await;
        // Hand-made unit vectors: the query is close to note 1's chunk.
        for (key, held) in s.docs.iter_mut() {
            let v = if key.1 == "1" {
                vec![1.0, 0.0]
            } else {
                vec![0.0, 1.0]
            };
            held.chunks
                .iter_mut()
                .for_each(|c| c.vector = Some(v.clone()));
        }
        let query_vec = [0.9f32, 0.435_889_9];
        let mut query = q("cats");
        for fusion in [Fusion::Rrf, Fusion::Dbsf] {
            for granularity in [Granularity::Chunk, Granularity::Document] {
                query.fusion = fusion;
                query.granularity = granularity;
                let hits = s.rank(&query, Some(&query_vec));
                assert_eq!(hits.len(), 2, "{fusion:?} {granularity:?}");
                assert!(hits[0].similarity.is_some());
                assert!(hits.iter().all(|h| (0.0..=1.0).contains(&h.score)));
            }
        }
        // A similarity threshold above note 2's leaves only keyword evidence for it.
        query.fusion = Fusion::Rrf;
        query.score_threshold = Some(0.8);
        let hits = s.rank(&query, Some(&query_vec));
        assert_eq!(hits[0].id, "1");
        query.min_relevance = Some(0.9);
        assert!(s.rank(&query, Some(&query_vec)).len() < 2);
    }

    #[tokio::test]
    async fn changed_and_removed_documents_replace_their_chunks() {
        let mut s = store(vec![doc("1", "Old", "apple", 1, "a")]).await;
        s.apply(vec![doc("1", "New", "banana", 2, "a")], vec![], None)
            .await;
        assert!(s.rank(&q("apple"), None).is_empty());
        assert_eq!(s.rank(&q("banana"), None).len(), 1);
        s.apply(vec![], vec![("notes", "1".into())], None).await;
        assert!(s.docs.is_empty() && s.rank(&q("banana"), None).is_empty());
    }

    #[tokio::test]
    async fn vectors_on_disk_come_back_for_the_same_content_only() {
        let root = std::env::temp_dir().join(format!("ncmcp-semantic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("user");
        let lock = Arc::new(crate::search::disk::lock(&dir).unwrap());
        crate::search::disk::prepare(&dir).unwrap();
        let folder = UserFolder {
            path: dir.clone(),
            lock: Arc::downgrade(&lock),
        };
        let on_disk = |read| {
            Some(VectorFile {
                folder: folder.clone(),
                opening: 1,
                read,
            })
        };
        let mut s = UserStore {
            model: Some("m".into()),
            disk: on_disk(true),
            ..Default::default()
        };
        s.upsert(doc("1", "Cats", "All about felines.", 1, "a"));
        s.upsert(doc("2", "Dogs", "All about canines.", 1, "b"));
        s.upsert(doc("3", "Empty", "", 1, "c"));
        for held in s.docs.values_mut() {
            held.chunks
                .iter_mut()
                .for_each(|c| c.vector = Some(vec![0.6, 0.8]));
        }
        s.pending.clear();
        s.dirty = true;
        s.persist().await;
        assert!(!s.dirty);
        assert!(dir.join(crate::search::disk::VECTORS_FILE).is_file());

        // A restart: read back, and taken back by unchanged documents only.
        let mut t = UserStore {
            model: Some("m".into()),
            disk: on_disk(false),
            ..Default::default()
        };
        t.read_vectors().await;
        assert_eq!(t.stored.len(), 3);
        t.upsert(doc("1", "Cats", "All about felines.", 1, "a"));
        t.upsert(doc("3", "Empty", "", 1, "c"));
        assert!(t.pending.is_empty(), "unchanged: not embedded again");
        let one = &t.docs[&("notes", "1".to_string())];
        assert_eq!(one.chunks[0].vector.as_deref(), Some(&[0.6, 0.8][..]));
        // Same version, other text (or the reverse): embedded again.
        t.upsert(doc("2", "Dogs", "All about wolves.", 1, "b"));
        assert!(t.pending.contains(&("notes", "2".to_string())));
        let mut other_version = doc("1", "Cats", "All about felines.", 1, "a");
        other_version.version = "2".into();
        t.upsert(other_version);
        assert!(t.pending.contains(&("notes", "1".to_string())));
        assert!(t.stored.is_empty());

        // Another model reads nothing and writes the file anew.
        let mut u = UserStore {
            model: Some("other".into()),
            disk: on_disk(false),
            ..Default::default()
        };
        u.read_vectors().await;
        assert!(u.stored.is_empty() && u.dirty);
        // A vector of another dimension than the query's is dropped, its document pending.
        let mut v = UserStore {
            model: Some("m".into()),
            disk: on_disk(false),
            ..Default::default()
        };
        v.read_vectors().await;
        v.upsert(doc("1", "Cats", "All about felines.", 1, "a"));
        assert!(v.pending.is_empty());
        assert!(v.forget_other_dimensions(3));
        assert!(v.pending.contains(&("notes", "1".to_string())) && v.stored.is_empty());

        // Without the folder's lock (the keyword index closed it), nothing is written.
        drop(lock);
        std::fs::remove_file(dir.join(crate::search::disk::VECTORS_FILE)).unwrap();
        v.dirty = true;
        v.persist().await;
        assert!(!dir.join(crate::search::disk::VECTORS_FILE).exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn context_is_cut_on_characters() {
        assert_eq!(tail_chars("héllo wörld", 5), "wörld");
        assert_eq!(head_chars("héllo wörld", 5), "héllo");
        assert_eq!(tail_chars("ab", 5), "ab");
    }
}
