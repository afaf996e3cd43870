//! What the management search API needs from a search index, as a trait, and its two
//! implementations, chosen at start-up: the per-user keyword (BM25) index
//! ([`crate::search::SearchIndex`], [`KeywordIndex`]) and, when an embedding model is
//! configured, that index plus the semantic engine ([`crate::search::semantic`],
//! [`SemanticBackend`]) for `semantic` and `hybrid` queries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use nextcloud::NextcloudUser;
use serde::{Deserialize, Serialize};

use crate::NextcloudMcp;
use crate::search::Kind;
use crate::search::semantic::SemanticIndex;

/// A query type Astrolabe may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchType {
    Semantic,
    Bm25,
    Hybrid,
}

impl SearchType {
    pub const ALL: [SearchType; 3] = [Self::Semantic, Self::Bm25, Self::Hybrid];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Semantic => "semantic",
            Self::Bm25 => "bm25",
            Self::Hybrid => "hybrid",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One search, as the handlers validated it.
#[derive(Clone, Debug)]
pub struct Query {
    pub text: String,
    pub search_type: SearchType,
    pub limit: usize,
    pub offset: usize,
    /// `None`: every type the index holds.
    pub doc_types: Option<Vec<String>>,
    pub score_threshold: f32,
}

/// One result: a passage (chunk) of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub doc_type: String,
    /// The document's id as Nextcloud names it (a number for notes, files and cards).
    pub id: serde_json::Value,
    pub title: String,
    pub excerpt: String,
    pub score: f32,
    /// Navigation data (`path`, `board_id`, `card_id`, `category`, ...).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub chunk_index: u32,
    pub total_chunks: u32,
    /// Character offsets of the passage in the document's text.
    pub chunk_start_offset: Option<usize>,
    pub chunk_end_offset: Option<usize>,
    /// The passage's embedding, when the index has one.
    pub vector: Option<Vec<f32>>,
}

/// The results of one search.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// The requested page.
    pub hits: Vec<Hit>,
    /// How many passages matched in all.
    pub total: usize,
    /// The query's embedding, when the search made one.
    pub query_vector: Option<Vec<f32>>,
}

/// A passage with the text around it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkContext {
    pub chunk_text: String,
    pub before_context: String,
    pub after_context: String,
    pub has_more_before: bool,
    pub has_more_after: bool,
    pub chunk_index: u32,
    pub total_chunks: u32,
}

/// A document changed in Nextcloud (from a webhook).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub user_id: String,
    pub doc_type: String,
    pub doc_id: String,
    pub deleted: bool,
}

/// Indexing figures over every user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    pub indexed_documents: u64,
    /// Changes announced by webhooks that the index has not taken in yet.
    pub pending_documents: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Nextcloud(#[from] nextcloud::Error),
    #[error("the search index failed: {0}")]
    Index(String),
    /// The embedding model could not embed the query (or the documents).
    #[error("semantic search is unavailable: {0}")]
    Embedding(String),
}

/// A per-user search index, as the management API uses it.
pub trait SearchBackend: Send + Sync {
    /// The query types it can serve; empty when it has no index at all.
    fn search_types(&self) -> Vec<SearchType>;
    /// Whether it holds documents of this type (`note`, `file`, `deck_card`, `calendar_event`).
    fn holds(&self, doc_type: &str) -> bool;
    fn status(&self) -> BoxFuture<'_, SyncStatus>;
    /// Searches what `user` can read.
    fn search<'a>(
        &'a self,
        user: &'a NextcloudUser,
        user_id: &'a str,
        query: &'a Query,
    ) -> BoxFuture<'a, Result<Found, BackendError>>;
    /// The passage `start..end` (character offsets) of a document with `context` characters
    /// either side; `None` when the index does not hold that document or the range is
    /// outside it.
    #[allow(clippy::too_many_arguments)]
    fn chunk_context<'a>(
        &'a self,
        user: &'a NextcloudUser,
        doc_type: &'a str,
        doc_id: &'a str,
        start: usize,
        end: usize,
        context: usize,
    ) -> BoxFuture<'a, Result<Option<ChunkContext>, BackendError>>;
    /// Deletes every user's indexed documents of these types; how many each type had.
    fn purge<'a>(&'a self, doc_types: &'a [String]) -> BoxFuture<'a, BTreeMap<String, u64>>;
    /// Records a change announced by Nextcloud as pending (only for types it
    /// [`holds`](Self::holds)); quick, the webhook's answer waits for it.
    fn announce(&self, change: &Change);
    /// Brings the change into `user`'s index now (run in the background after
    /// [`announce`](Self::announce)): re-reads the document and re-indexes it, or deletes it.
    /// Without `user` (no stored credentials), or when the user has no index yet, the change
    /// stays pending for that user's next search.
    fn apply(&self, user: Option<NextcloudUser>, change: Change) -> BoxFuture<'_, ()>;
}

/// The backend this server's configuration calls for: semantic (with `semantic` and
/// `hybrid` queries) when an embedding model is configured, else keyword only.
pub fn for_server(server: &NextcloudMcp) -> Arc<dyn SearchBackend> {
    if server.state().semantic.embedder().is_some() {
        tracing::info!("management API: semantic, hybrid and keyword search");
        Arc::new(SemanticBackend::new(server.clone()))
    } else {
        Arc::new(KeywordIndex::new(server.clone()))
    }
}

/// The keyword index of [`crate::search::SearchIndex`] (BM25 over each user's notes, files,
/// calendar, tasks, contacts and Deck cards, synchronised with Nextcloud before a search when
/// due). A webhook about a document is recorded as pending until that user's next search of
/// its kind has synchronised it.
pub struct KeywordIndex {
    server: NextcloudMcp,
    pending: Mutex<BTreeSet<Change>>,
}

/// The document types Astrolabe names, and the index's kinds.
const DOC_TYPES: [(&str, Kind); 6] = [
    ("note", Kind::Notes),
    ("file", Kind::Files),
    ("deck_card", Kind::Deck),
    ("calendar_event", Kind::Calendar),
    ("task", Kind::Tasks),
    ("contact", Kind::Contacts),
];

/// The index's kind for a document type.
pub fn kind_of(doc_type: &str) -> Option<Kind> {
    DOC_TYPES
        .iter()
        .find(|(name, _)| *name == doc_type)
        .map(|(_, k)| *k)
}

fn doc_type_of(kind: Kind) -> &'static str {
    DOC_TYPES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("unknown", |(name, _)| name)
}

/// The most matches one search counts.
const MAX_MATCHES: usize = 1000;

impl KeywordIndex {
    pub fn new(server: NextcloudMcp) -> Self {
        Self {
            server,
            pending: Mutex::new(BTreeSet::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeSet<Change>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn index(&self) -> &crate::search::SearchIndex {
        &self.server.state().search
    }

    /// A search synchronised these kinds of `user_id`'s documents: what webhooks announced
    /// for them is in.
    fn synced(&self, user_id: &str, kinds: &[Kind]) {
        self.pending().retain(|c| {
            !(c.user_id == user_id && kind_of(&c.doc_type).is_some_and(|k| kinds.contains(&k)))
        });
    }

    /// [`SearchBackend::apply`]; `true` when the change is in the index.
    async fn apply_change(&self, user: Option<NextcloudUser>, change: &Change) -> bool {
        let (Some(user), Some(kind)) = (user, kind_of(&change.doc_type)) else {
            return false;
        };
        // Notes and files are named by their object id, as the index names them; a Deck or
        // calendar event names its object otherwise, so their whole kind is synced.
        let id = matches!(kind, Kind::Notes | Kind::Files).then_some(change.doc_id.as_str());
        match self
            .index()
            .refresh_document(&user, kind, id, change.deleted)
            .await
        {
            Ok(true) => {
                self.pending().remove(change);
                tracing::info!(user_id = %change.user_id, doc_type = %change.doc_type, doc_id = %change.doc_id, deleted = change.deleted, "webhook change indexed");
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(user_id = %change.user_id, doc_type = %change.doc_type, error = %e, "webhook change not indexed; synced at the next search");
                false
            }
        }
    }
}

/// Metadata Astrolabe reads to link a result (`path`, `url`, `modified`, a card's
/// `board_id`/`card_id`).
fn metadata_of(
    kind: Kind,
    id: &str,
    path: &str,
    url: &str,
    modified: i64,
) -> serde_json::Map<String, serde_json::Value> {
    let mut metadata = serde_json::Map::new();
    if !path.is_empty() {
        metadata.insert("path".into(), path.into());
    }
    metadata.insert("url".into(), url.into());
    metadata.insert("modified".into(), modified.into());
    if kind == Kind::Deck {
        let parts: Vec<&str> = id.split('/').collect();
        if let [board, _, card] = parts.as_slice() {
            metadata.insert("board_id".into(), id_value(board));
            metadata.insert("card_id".into(), id_value(card));
        }
    }
    metadata
}

fn index_failure(e: crate::search::SearchError) -> BackendError {
    match e {
        crate::search::SearchError::Nextcloud(e) => BackendError::Nextcloud(e),
        other => BackendError::Index(other.to_string()),
    }
}

/// A numeric id as a JSON number (notes, files), anything else as a string.
fn id_value(id: &str) -> serde_json::Value {
    match id.parse::<u64>() {
        Ok(n) if !id.starts_with('0') => n.into(),
        _ => id.into(),
    }
}

/// Characters of a document an excerpt shows.
const EXCERPT_CHARS: usize = 300;

/// The passage of `text` to show for `terms`: about [`EXCERPT_CHARS`] characters around the
/// first term found (case-insensitively), else the beginning. Returns (excerpt, start, end)
/// in characters.
pub fn excerpt(text: &str, terms: &[String]) -> (String, usize, usize) {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().flat_map(|c| c.to_lowercase()).collect();
    // Lower-casing can change the length (rare); positions are only used when it did not.
    let first = if lower.len() == chars.len() {
        terms
            .iter()
            .filter(|t| !t.is_empty())
            .filter_map(|t| {
                let t: Vec<char> = t.chars().collect();
                lower.windows(t.len()).position(|w| w == t.as_slice())
            })
            .min()
    } else {
        None
    };
    let start = first.map_or(0, |at| at.saturating_sub(EXCERPT_CHARS / 3));
    let end = (start + EXCERPT_CHARS).min(chars.len());
    let start = end.saturating_sub(EXCERPT_CHARS).min(start);
    (chars[start..end].iter().collect(), start, end)
}

/// The query's words, lower-cased, for finding the excerpt.
fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `start..end` of `text` with `context` characters either side; `None` when the range is
/// not inside the text.
pub fn context_of(text: &str, start: usize, end: usize, context: usize) -> Option<ChunkContext> {
    let chars: Vec<char> = text.chars().collect();
    if start > end || end > chars.len() {
        return None;
    }
    let before = start.saturating_sub(context);
    let after = (end + context).min(chars.len());
    Some(ChunkContext {
        chunk_text: chars[start..end].iter().collect(),
        before_context: chars[before..start].iter().collect(),
        after_context: chars[end..after].iter().collect(),
        has_more_before: before > 0,
        has_more_after: after < chars.len(),
        chunk_index: 0,
        total_chunks: 1,
    })
}

impl SearchBackend for KeywordIndex {
    fn search_types(&self) -> Vec<SearchType> {
        vec![SearchType::Bm25]
    }

    fn holds(&self, doc_type: &str) -> bool {
        kind_of(doc_type).is_some()
    }

    fn status(&self) -> BoxFuture<'_, SyncStatus> {
        async move {
            let (indexed, pending) = self.index().totals();
            SyncStatus {
                indexed_documents: indexed as u64,
                pending_documents: (pending + self.pending().len()) as u64,
            }
        }
        .boxed()
    }

    fn search<'a>(
        &'a self,
        user: &'a NextcloudUser,
        user_id: &'a str,
        query: &'a Query,
    ) -> BoxFuture<'a, Result<Found, BackendError>> {
        async move {
            let kinds: Vec<Kind> = match &query.doc_types {
                Some(types) => types.iter().filter_map(|t| kind_of(t)).collect(),
                None => Kind::ALL.to_vec(),
            };
            if kinds.is_empty() {
                return Ok(Found::default());
            }
            let q = crate::search::Query {
                text: query.text.clone(),
                kinds: kinds.clone(),
                limit: (query.offset + query.limit).min(MAX_MATCHES),
                ..Default::default()
            };
            let matches = self
                .index()
                .search(user, &q, &kinds, None)
                .await
                .map_err(index_failure)?;
            self.synced(user_id, &kinds);
            let matches: Vec<_> = matches
                .into_iter()
                .filter(|m| m.score >= query.score_threshold)
                .collect();
            let total = matches.len();
            let terms = terms(&query.text);
            let mut hits = Vec::new();
            for m in matches.into_iter().skip(query.offset).take(query.limit) {
                let text = self
                    .index()
                    .stored(user, &m.id)
                    .map_err(index_failure)?
                    .map(|f| f.text)
                    .unwrap_or_default();
                let (excerpt, start, end) = excerpt(&text, &terms);
                let metadata = metadata_of(m.id.kind, &m.id.id, &m.path, &m.url, m.modified);
                hits.push(Hit {
                    doc_type: doc_type_of(m.id.kind).to_string(),
                    id: id_value(&m.id.id),
                    title: m.title,
                    excerpt,
                    score: m.score,
                    metadata,
                    chunk_index: 0,
                    total_chunks: 1,
                    chunk_start_offset: Some(start),
                    chunk_end_offset: Some(end),
                    vector: None,
                });
            }
            Ok(Found {
                hits,
                total,
                query_vector: None,
            })
        }
        .boxed()
    }

    fn chunk_context<'a>(
        &'a self,
        user: &'a NextcloudUser,
        doc_type: &'a str,
        doc_id: &'a str,
        start: usize,
        end: usize,
        context: usize,
    ) -> BoxFuture<'a, Result<Option<ChunkContext>, BackendError>> {
        async move {
            let Some(kind) = kind_of(doc_type) else {
                return Ok(None);
            };
            let id = crate::search::DocId::new(kind, doc_id);
            let fetched = self.index().fetch(user, &id).await.map_err(index_failure)?;
            Ok(fetched.and_then(|f| context_of(&f.text, start, end, context)))
        }
        .boxed()
    }

    fn purge<'a>(&'a self, doc_types: &'a [String]) -> BoxFuture<'a, BTreeMap<String, u64>> {
        async move {
            let kinds: Vec<Kind> = doc_types.iter().filter_map(|t| kind_of(t)).collect();
            let counts = if kinds.is_empty() {
                Default::default()
            } else {
                self.index().clear(&kinds)
            };
            let mut purged = BTreeMap::new();
            for doc_type in doc_types {
                let count = kind_of(doc_type).and_then(|k| counts.get(&k)).copied();
                self.pending().retain(|c| &c.doc_type != doc_type);
                purged.insert(doc_type.clone(), count.unwrap_or(0) as u64);
            }
            purged
        }
        .boxed()
    }

    fn announce(&self, change: &Change) {
        if self.holds(&change.doc_type) {
            self.pending().insert(change.clone());
        }
    }

    fn apply(&self, user: Option<NextcloudUser>, change: Change) -> BoxFuture<'_, ()> {
        async move {
            self.apply_change(user, &change).await;
        }
        .boxed()
    }
}

/// The keyword index plus the semantic engine ([`SemanticIndex`], which follows the keyword
/// index's syncs): `bm25` queries go to the keyword index, `semantic` (vectors alone) and
/// `hybrid` (vectors fused with keywords, RRF) to the semantic engine, whose chunks,
/// vectors and query vector the answers carry. Chosen at start-up when an embedding model is
/// configured.
pub struct SemanticBackend {
    keyword: KeywordIndex,
    semantic: Arc<SemanticIndex>,
}

impl SemanticBackend {
    pub fn new(server: NextcloudMcp) -> Self {
        let semantic = server.state().semantic.clone();
        Self {
            keyword: KeywordIndex::new(server),
            semantic,
        }
    }

    async fn search_by_meaning(
        &self,
        user: &NextcloudUser,
        user_id: &str,
        query: &Query,
    ) -> Result<Found, BackendError> {
        let kinds: Vec<Kind> = match &query.doc_types {
            Some(types) => types.iter().filter_map(|t| kind_of(t)).collect(),
            None => Kind::ALL.to_vec(),
        };
        if kinds.is_empty() {
            return Ok(Found::default());
        }
        let semantic = query.search_type == SearchType::Semantic;
        let threshold = (query.score_threshold > 0.0).then_some(query.score_threshold);
        let q = crate::search::semantic::Query {
            text: query.text.clone(),
            limit: (query.offset + query.limit).min(MAX_MATCHES),
            // `semantic`: the least cosine similarity (0 by default, as a vector store's
            // threshold: unrelated passages are left out); `hybrid`: the least fused score.
            score_threshold: semantic.then_some(query.score_threshold),
            min_relevance: threshold.filter(|_| !semantic),
            vector_only: semantic,
            ..Default::default()
        };
        let answer = self
            .semantic
            .search(user, self.keyword.index(), &kinds, &q)
            .await
            .map_err(|e| match e {
                crate::search::semantic::SemanticError::Nextcloud(e) => BackendError::Nextcloud(e),
                crate::search::semantic::SemanticError::Index(e) => BackendError::Index(e),
            })?;
        // The semantic search synchronised the keyword index first.
        self.keyword.synced(user_id, &kinds);
        let Some(query_vector) = answer.query_vector else {
            return Err(BackendError::Embedding(answer.notice.unwrap_or_else(
                || "the embedding model gave no vector for the query".into(),
            )));
        };
        let total = answer.hits.len();
        let hits = answer
            .hits
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|h| {
                let kind = Kind::parse(h.doc_type).unwrap_or(Kind::Notes);
                Hit {
                    doc_type: doc_type_of(kind).to_string(),
                    id: id_value(&h.id),
                    metadata: metadata_of(
                        kind,
                        &h.id,
                        h.path.as_deref().unwrap_or_default(),
                        h.url.as_deref().unwrap_or_default(),
                        h.modified.unwrap_or_default(),
                    ),
                    title: h.title,
                    excerpt: h.excerpt,
                    // Semantic: the cosine similarity; hybrid: the fused score (0..1).
                    score: if semantic {
                        h.similarity.unwrap_or(h.score)
                    } else {
                        h.score
                    },
                    chunk_index: h.chunk_index as u32,
                    total_chunks: h.total_chunks as u32,
                    chunk_start_offset: Some(h.char_start),
                    chunk_end_offset: Some(h.char_end),
                    vector: h.vector,
                }
            })
            .collect();
        Ok(Found {
            hits,
            total,
            query_vector: Some(query_vector),
        })
    }
}

impl SearchBackend for SemanticBackend {
    fn search_types(&self) -> Vec<SearchType> {
        SearchType::ALL.to_vec()
    }

    fn holds(&self, doc_type: &str) -> bool {
        self.keyword.holds(doc_type)
    }

    fn status(&self) -> BoxFuture<'_, SyncStatus> {
        self.keyword.status()
    }

    fn search<'a>(
        &'a self,
        user: &'a NextcloudUser,
        user_id: &'a str,
        query: &'a Query,
    ) -> BoxFuture<'a, Result<Found, BackendError>> {
        match query.search_type {
            SearchType::Bm25 => self.keyword.search(user, user_id, query),
            SearchType::Semantic | SearchType::Hybrid => {
                self.search_by_meaning(user, user_id, query).boxed()
            }
        }
    }

    fn chunk_context<'a>(
        &'a self,
        user: &'a NextcloudUser,
        doc_type: &'a str,
        doc_id: &'a str,
        start: usize,
        end: usize,
        context: usize,
    ) -> BoxFuture<'a, Result<Option<ChunkContext>, BackendError>> {
        async move {
            // The text comes fresh from the keyword index; the chunking from the semantic one.
            let Some(mut found) = self
                .keyword
                .chunk_context(user, doc_type, doc_id, start, end, context)
                .await?
            else {
                return Ok(None);
            };
            let login = user.credentials().login_name();
            if let Some(kind) = kind_of(doc_type)
                && let Some(spans) = self.semantic.chunk_spans(login, kind, doc_id).await
                && !spans.is_empty()
            {
                let index = spans
                    .iter()
                    .position(|s| *s == (start, end))
                    .or_else(|| spans.iter().position(|(a, b)| *a <= start && start < *b))
                    .unwrap_or(0);
                found.chunk_index = index as u32;
                found.total_chunks = spans.len() as u32;
            }
            Ok(Some(found))
        }
        .boxed()
    }

    fn purge<'a>(&'a self, doc_types: &'a [String]) -> BoxFuture<'a, BTreeMap<String, u64>> {
        async move {
            let kinds: Vec<Kind> = doc_types.iter().filter_map(|t| kind_of(t)).collect();
            self.semantic.clear(&kinds).await;
            self.keyword.purge(doc_types).await
        }
        .boxed()
    }

    fn announce(&self, change: &Change) {
        self.keyword.announce(change);
    }

    fn apply(&self, user: Option<NextcloudUser>, change: Change) -> BoxFuture<'_, ()> {
        async move {
            let login = user
                .as_ref()
                .map(|u| u.credentials().login_name().to_string());
            if self.keyword.apply_change(user, &change).await
                && let Some(login) = login
                && let Some(why) = self.semantic.take_in(&login).await
            {
                tracing::warn!(user_id = %change.user_id, reason = %why, "webhook change not embedded yet; retried at the next search");
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_surround_the_first_term() {
        let text = format!("{}needle here{}", "a".repeat(500), "b".repeat(500));
        let (ex, start, end) = excerpt(&text, &["needle".into()]);
        assert!(ex.contains("needle here"));
        assert_eq!(end - start, EXCERPT_CHARS);
        assert_eq!(start, 500 - EXCERPT_CHARS / 3);
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[start..end].iter().collect::<String>(), ex);
        // No term found: the beginning.
        let (ex, start, end) = excerpt("short text", &["zzz".into()]);
        assert_eq!((ex.as_str(), start, end), ("short text", 0, 10));
        // Case-insensitive, in characters not bytes.
        let (_, start, _) = excerpt("ééé Straße", &["straße".into()]);
        assert_eq!(start, 0);
    }

    #[test]
    fn context_is_cut_in_characters() {
        let c = context_of("0123456789", 4, 6, 2).expect("in range");
        assert_eq!(c.chunk_text, "45");
        assert_eq!(c.before_context, "23");
        assert_eq!(c.after_context, "67");
        assert!(c.has_more_before && c.has_more_after);
        let c = context_of("éàü", 0, 3, 10).expect("in range");
        assert_eq!(c.chunk_text, "éàü");
        assert!(!c.has_more_before && !c.has_more_after);
        assert_eq!(context_of("abc", 2, 4, 1), None);
        assert_eq!(context_of("abc", 2, 1, 1), None);
    }

    #[test]
    fn search_types_parse_their_names() {
        for t in SearchType::ALL {
            assert_eq!(SearchType::parse(t.as_str()), Some(t));
        }
        assert_eq!(SearchType::parse("BM25"), None);
    }
}
