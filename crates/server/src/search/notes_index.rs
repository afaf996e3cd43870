//! A per-user tantivy index of notes, synchronised incrementally.
//!
//! Each search first asks the Notes API for changes with `pruneBefore` set to the server time
//! of the previous sync: unchanged notes come back as a bare `{id}`, so only new or edited
//! notes are downloaded. Ids missing from the listing were deleted. A pruned id we have never
//! seen (a note restored from the trash, say) is fetched on its own. See ARCHITECTURE.md.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use nextcloud::NextcloudUser;
use nextcloud::notes::{ListQuery, ListedNote};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, QueryParser};
use tantivy::schema::{Field, INDEXED, STORED, Schema, TEXT, Value};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

/// One index per login name, created on the first search.
#[derive(Default)]
pub struct NotesIndex {
    users: Mutex<HashMap<String, Arc<tokio::sync::Mutex<UserIndex>>>>,
}

/// A search result.
#[derive(Clone, Debug)]
pub struct NoteHit {
    pub id: u64,
    pub title: String,
    pub category: String,
    pub score: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Nextcloud(#[from] nextcloud::Error),
    #[error("the local search index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("updating the local search index was interrupted: {0}")]
    Interrupted(String),
}

struct Fields {
    id: Field,
    title: Field,
    category: Field,
    content: Field,
}

struct Meta {
    title: String,
    category: String,
}

/// What changed in a user's notebook since the last sync.
struct Changes {
    /// New or edited notes, in full.
    changed: Vec<ListedNote>,
    removed: Vec<u64>,
    /// The listing's server time: the next sync's `pruneBefore`.
    server_time: Option<i64>,
}

struct UserIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    notes: HashMap<u64, Meta>,
    /// Server time of the last successful sync; `None` forces a full one.
    synced_at: Option<i64>,
}

impl UserIndex {
    fn new() -> Result<Self, IndexError> {
        let mut schema = Schema::builder();
        let fields = Fields {
            id: schema.add_u64_field("id", INDEXED | STORED),
            title: schema.add_text_field("title", TEXT),
            category: schema.add_text_field("category", TEXT),
            content: schema.add_text_field("content", TEXT),
        };
        let index = Index::create_in_ram(schema.build());
        let reader = index.reader()?;
        Ok(Self {
            index,
            reader,
            fields,
            notes: HashMap::new(),
            synced_at: None,
        })
    }

    /// Asks the Notes API what changed since the last sync (see the module docs).
    async fn changes(&self, user: &NextcloudUser) -> Result<Option<Changes>, IndexError> {
        let query = ListQuery {
            prune_before: self.synced_at,
            ..Default::default()
        };
        let Some(list) = user.notes().list(&query).await? else {
            return Ok(None);
        };
        let mut seen = HashSet::with_capacity(list.notes.len());
        let mut changed: Vec<ListedNote> = Vec::new();
        for note in list.notes {
            seen.insert(note.id);
            if !note.is_pruned() {
                changed.push(note);
            } else if !self.notes.contains_key(&note.id) {
                let full = user.notes().get(note.id).await?;
                changed.push(ListedNote {
                    id: full.id,
                    title: Some(full.title),
                    category: Some(full.category),
                    content: Some(full.content),
                    ..Default::default()
                });
            }
        }
        let removed: Vec<u64> = self
            .notes
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        Ok(Some(Changes {
            changed,
            removed,
            server_time: list.server_time,
        }))
    }

    /// Writes the changes into the index (blocking: tantivy work, run on the blocking pool).
    /// On failure the index starts over, so no search sees a half-updated one.
    fn apply(&mut self, changes: Changes) -> Result<(), IndexError> {
        if let Err(e) = self.write(&changes.changed, &changes.removed) {
            *self = Self::new()?;
            return Err(e);
        }
        for id in &changes.removed {
            self.notes.remove(id);
        }
        for note in changes.changed {
            let meta = Meta {
                title: note.title.unwrap_or_default(),
                category: note.category.unwrap_or_default(),
            };
            self.notes.insert(note.id, meta);
        }
        self.synced_at = changes.server_time;
        Ok(())
    }

    fn write(&self, changed: &[ListedNote], removed: &[u64]) -> Result<(), IndexError> {
        let fields = &self.fields;
        let mut writer = self.index.writer_with_num_threads(1, 15_000_000)?;
        for id in removed {
            writer.delete_term(Term::from_field_u64(fields.id, *id));
        }
        for note in changed {
            writer.delete_term(Term::from_field_u64(fields.id, note.id));
            writer.add_document(doc!(
                fields.id => note.id,
                fields.title => note.title.clone().unwrap_or_default(),
                fields.category => note.category.clone().unwrap_or_default(),
                fields.content => note.content.clone().unwrap_or_default(),
            ))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn search(&self, text: &str, limit: usize) -> Result<Vec<NoteHit>, IndexError> {
        let f = &self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.content, f.category]);
        parser.set_field_boost(f.title, 2.0);
        parser.set_conjunction_by_default();
        let searcher = self.reader.searcher();
        let (all_terms, _) = parser.parse_query_lenient(text);
        let mut top = searcher.search(&all_terms, &TopDocs::with_limit(limit).order_by_score())?;
        if top.is_empty() {
            // No note has every word: fall back to notes with any of them, best first.
            let mut any = QueryParser::for_index(&self.index, vec![f.title, f.content, f.category]);
            any.set_field_boost(f.title, 2.0);
            let (any_term, _) = any.parse_query_lenient(text);
            let any_term = BooleanQuery::union(vec![any_term]);
            top = searcher.search(&any_term, &TopDocs::with_limit(limit).order_by_score())?;
        }
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(id) = doc.get_first(f.id).and_then(|v| v.as_u64()) else {
                continue;
            };
            if let Some(meta) = self.notes.get(&id) {
                hits.push(NoteHit {
                    id,
                    title: meta.title.clone(),
                    category: meta.category.clone(),
                    score,
                });
            }
        }
        Ok(hits)
    }
}

impl NotesIndex {
    /// Brings the user's index up to date, then searches it.
    pub async fn search(
        &self,
        user: &NextcloudUser,
        text: &str,
        limit: usize,
    ) -> Result<Vec<NoteHit>, IndexError> {
        let entry = {
            let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
            match users.get(user.credentials().login_name()) {
                Some(entry) => entry.clone(),
                None => {
                    let entry = Arc::new(tokio::sync::Mutex::new(UserIndex::new()?));
                    users.insert(user.credentials().login_name().to_string(), entry.clone());
                    entry
                }
            }
        };
        let mut index = entry.clone().lock_owned().await;
        match index.changes(user).await? {
            Some(changes) if !changes.changed.is_empty() || !changes.removed.is_empty() => {
                // Indexing a notebook is CPU work that also waits for tantivy's own thread: it
                // runs on the blocking pool so it never holds up an async worker (stdio has
                // one). The lock goes with it, so a search cancelled meanwhile cannot let the
                // next one start writing beside it.
                let written = tokio::task::spawn_blocking(move || {
                    index.apply(changes)?;
                    Ok::<_, IndexError>(index)
                })
                .await;
                index = match written {
                    Ok(result) => result?,
                    Err(lost) => {
                        // The write panicked halfway (its guard is gone with it): start over.
                        *entry.lock().await = UserIndex::new()?;
                        return Err(IndexError::Interrupted(lost.to_string()));
                    }
                };
            }
            Some(changes) => index.synced_at = changes.server_time,
            None => {}
        }
        index.search(text, limit)
    }
}
