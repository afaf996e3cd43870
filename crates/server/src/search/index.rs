//! The tantivy side: schema, analysers, writing documents and building queries.

use std::collections::HashSet;
use std::ops::Bound;

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use tantivy::tokenizer::Language;

use super::{Doc, DocId, Kind, Query as SearchQuery, SearchError};

/// How much more a title match counts than a match in the text.
const TITLE_BOOST: f32 = 3.0;
/// Words this long or longer also match with one typo.
const FUZZY_MIN_CHARS: usize = 5;

/// The ISO 639-1 code of a stemming language, for settings.
pub fn language_code(l: Language) -> &'static str {
    match l {
        Language::Arabic => "ar",
        Language::Danish => "da",
        Language::Dutch => "nl",
        Language::English => "en",
        Language::Finnish => "fi",
        Language::French => "fr",
        Language::German => "de",
        Language::Greek => "el",
        Language::Hungarian => "hu",
        Language::Italian => "it",
        Language::Norwegian => "no",
        Language::Portuguese => "pt",
        Language::Romanian => "ro",
        Language::Russian => "ru",
        Language::Spanish => "es",
        Language::Swedish => "sv",
        Language::Tamil => "ta",
        Language::Turkish => "tr",
    }
}

/// The stemming language of an ISO 639-1 code.
pub fn language_of(code: &str) -> Option<Language> {
    const ALL: [Language; 18] = [
        Language::Arabic,
        Language::Danish,
        Language::Dutch,
        Language::English,
        Language::Finnish,
        Language::French,
        Language::German,
        Language::Greek,
        Language::Hungarian,
        Language::Italian,
        Language::Norwegian,
        Language::Portuguese,
        Language::Romanian,
        Language::Russian,
        Language::Spanish,
        Language::Swedish,
        Language::Tamil,
        Language::Turkish,
    ];
    let code = code.trim().to_ascii_lowercase();
    ALL.into_iter().find(|l| language_code(*l) == code)
}

fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn stemming_analyzer(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
        .build()
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A pair of text fields (title, text) analysed one way.
#[derive(Clone)]
struct Analysed {
    tokenizer: String,
    title: Field,
    text: Field,
}

#[derive(Clone)]
pub(super) struct Fields {
    key: Field,
    kind: Field,
    title: Field,
    url: Field,
    modified: Field,
    path: Field,
    /// The path and each of its ancestor folders, for prefix filters.
    dirs: Field,
    /// Unstemmed copy (exact, prefix and fuzzy matching).
    plain: Analysed,
    /// One stemmed copy per language; the first one's text is stored (snippets, fetch).
    stemmed: Vec<Analysed>,
}

/// A user's tantivy index.
pub(super) struct Store {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    languages: Vec<Language>,
}

impl Store {
    /// A new, empty index in memory (unit tests).
    #[cfg(test)]
    pub fn create(languages: &[Language]) -> Result<Self, SearchError> {
        Self::open(languages, None)
    }

    /// The index in `dir` (memory-mapped; created when empty), or a new one in memory when
    /// `dir` is `None`. Fails when `dir` holds an index of another schema.
    pub fn open(
        languages: &[Language],
        dir: Option<&std::path::Path>,
    ) -> Result<Self, SearchError> {
        let languages = if languages.is_empty() {
            vec![Language::English]
        } else {
            languages.to_vec()
        };
        let mut schema = Schema::builder();
        let text_options = |tokenizer: &str, stored: bool| {
            let options = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            if stored {
                options.set_stored()
            } else {
                options
            }
        };
        let key = schema.add_text_field("key", STRING | STORED);
        let kind = schema.add_text_field("kind", STRING | STORED);
        let title = schema.add_text_field("title_stored", STORED);
        let url = schema.add_text_field("url", STORED);
        let modified = schema.add_i64_field("modified", INDEXED | STORED | FAST);
        let path = schema.add_text_field("path", STORED);
        let dirs = schema.add_text_field("dirs", STRING);
        let plain = Analysed {
            tokenizer: "plain".into(),
            title: schema.add_text_field("title_plain", text_options("plain", false)),
            text: schema.add_text_field("text_plain", text_options("plain", false)),
        };
        let stemmed = languages
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let tokenizer = format!("stem_{}", language_code(*l));
                Analysed {
                    title: schema.add_text_field(
                        &format!("title_{tokenizer}"),
                        text_options(&tokenizer, false),
                    ),
                    text: schema.add_text_field(
                        &format!("text_{tokenizer}"),
                        text_options(&tokenizer, i == 0),
                    ),
                    tokenizer,
                }
            })
            .collect();
        let schema = schema.build();
        let index = match dir {
            Some(dir) => Index::open_or_create(
                MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?,
                schema,
            )?,
            None => Index::create_in_ram(schema),
        };
        index.tokenizers().register("plain", plain_analyzer());
        for l in &languages {
            index.tokenizers().register(
                &format!("stem_{}", language_code(*l)),
                stemming_analyzer(*l),
            );
        }
        // Reloaded after each commit of ours; no file watcher thread per user.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields: Fields {
                key,
                kind,
                title,
                url,
                modified,
                path,
                dirs,
                plain,
                stemmed,
            },
            languages,
        })
    }

    pub fn writer(&self) -> Result<IndexWriter, SearchError> {
        Ok(self.index.writer_with_num_threads(1, 20_000_000)?)
    }

    pub fn reload(&self) -> Result<(), SearchError> {
        Ok(self.reader.reload()?)
    }

    pub fn delete(&self, writer: &IndexWriter, id: &DocId) {
        writer.delete_term(Term::from_field_text(self.fields.key, &id.to_string()));
    }

    pub fn add(&self, writer: &IndexWriter, kind: Kind, doc: &Doc) -> Result<(), SearchError> {
        let f = &self.fields;
        let key = DocId::new(kind, doc.id.clone()).to_string();
        writer.delete_term(Term::from_field_text(f.key, &key));
        let mut d = TantivyDocument::default();
        d.add_text(f.key, &key);
        d.add_text(f.kind, kind.name());
        d.add_text(f.title, &doc.title);
        d.add_text(f.url, &doc.url);
        d.add_i64(f.modified, doc.modified);
        d.add_text(f.path, &doc.path);
        for dir in ancestors(&doc.path) {
            d.add_text(f.dirs, dir);
        }
        for a in std::iter::once(&f.plain).chain(&f.stemmed) {
            d.add_text(a.title, &doc.title);
            d.add_text(a.text, &doc.text);
        }
        writer.add_document(d)?;
        Ok(())
    }

    /// Every document held (to report them again to listeners after a restart).
    pub fn all(&self) -> Result<Vec<StoredDoc>, SearchError> {
        let searcher = self.reader.searcher();
        let addresses = searcher.search(&AllQuery, &DocSetCollector)?;
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            out.extend(self.stored(&doc));
        }
        Ok(out)
    }

    /// The stored form of one document.
    pub fn get(&self, id: &DocId) -> Result<Option<StoredDoc>, SearchError> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.key, &id.to_string()),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, address)) = top.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*address)?;
        Ok(self.stored(&doc))
    }

    fn stored(&self, doc: &TantivyDocument) -> Option<StoredDoc> {
        let f = &self.fields;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let id = DocId::parse(&text(f.key))?;
        Some(StoredDoc {
            id,
            title: text(f.title),
            text: text(f.stemmed[0].text),
            url: text(f.url),
            path: text(f.path),
            modified: doc
                .get_first(f.modified)
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
        })
    }

    /// Best matches first, at most `limit`, among `allowed` kinds.
    pub fn search(
        &self,
        query: &SearchQuery,
        allowed: &[Kind],
        limit: usize,
    ) -> Result<Vec<Found>, SearchError> {
        let words = tokens(&mut plain_analyzer(), &query.text);
        if words.is_empty() || allowed.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let filters = self.filters(query, allowed);
        let run = |occur: Occur| -> Result<_, SearchError> {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let word_clauses: Vec<Box<dyn Query>> = words
                .iter()
                .enumerate()
                .map(|(i, w)| self.word_query(w, i + 1 == words.len()))
                .collect();
            if occur == Occur::Must {
                clauses.extend(word_clauses.into_iter().map(|q| (Occur::Must, q)));
            } else {
                clauses.push((
                    Occur::Must,
                    Box::new(BooleanQuery::new(
                        word_clauses
                            .into_iter()
                            .map(|q| (Occur::Should, q))
                            .collect(),
                    )),
                ));
            }
            clauses.extend(filters.iter().map(|q| (Occur::Must, q.box_clone())));
            let q = BooleanQuery::new(clauses);
            let top = searcher.search(&q, &TopDocs::with_limit(limit).order_by_score())?;
            Ok((q, top))
        };
        let (mut q, mut top) = run(Occur::Must)?;
        if top.is_empty() && words.len() > 1 {
            // No document has every word: fall back to those with any of them.
            (q, top) = run(Occur::Should)?;
        }
        let mut snippets = SnippetGenerator::create(&searcher, &q, self.fields.stemmed[0].text)?;
        snippets.set_max_num_chars(240);
        let mut found = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(stored) = self.stored(&doc) else {
                continue;
            };
            let snippet = snippets.snippet(&stored.text);
            let snippet = if snippet.highlighted().is_empty() {
                stored.text.chars().take(240).collect::<String>()
            } else {
                bolded(snippet.fragment(), snippet.highlighted())
            };
            found.push(Found {
                doc: stored,
                snippet: snippet.split_whitespace().collect::<Vec<_>>().join(" "),
                score,
            });
        }
        Ok(found)
    }

    /// A word matches exactly (unstemmed or stemmed in any language), with one typo when it is
    /// long enough, and as a prefix when it is the last word typed; titles count more.
    fn word_query(&self, word: &str, last: bool) -> Box<dyn Query> {
        let f = &self.fields;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut push = |field: Field, term: &str, boost: f32, how: u8| {
            let t = Term::from_field_text(field, term);
            let q: Box<dyn Query> = match how {
                0 => Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)),
                1 => Box::new(FuzzyTermQuery::new(t, 1, true)),
                _ => Box::new(FuzzyTermQuery::new_prefix(t, 0, true)),
            };
            should.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
        };
        let chars = word.chars().count();
        for (field, boost) in [(f.plain.title, TITLE_BOOST), (f.plain.text, 1.0)] {
            push(field, word, boost, 0);
            if chars >= FUZZY_MIN_CHARS {
                push(field, word, boost * 0.3, 1);
            }
            if last {
                push(field, word, boost * 0.5, 2);
            }
        }
        let mut seen = HashSet::new();
        for (a, l) in f.stemmed.iter().zip(&self.languages) {
            let mut analyzer = stemming_analyzer(*l);
            for stem in tokens(&mut analyzer, word) {
                if seen.insert((a.tokenizer.clone(), stem.clone())) {
                    push(a.title, &stem, TITLE_BOOST, 0);
                    push(a.text, &stem, 1.0, 0);
                }
            }
        }
        Box::new(BooleanQuery::new(should))
    }

    fn filters(&self, query: &SearchQuery, allowed: &[Kind]) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let kinds: Vec<Kind> = allowed
            .iter()
            .copied()
            .filter(|k| query.kinds.is_empty() || query.kinds.contains(k))
            .collect();
        out.push(Box::new(BooleanQuery::new(
            kinds
                .iter()
                .map(|k| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(f.kind, k.name()),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect(),
        )));
        if query.modified_after.is_some() || query.modified_before.is_some() {
            out.push(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(
                    f.modified,
                    query.modified_after.unwrap_or(i64::MIN),
                )),
                Bound::Included(Term::from_field_i64(
                    f.modified,
                    query.modified_before.unwrap_or(i64::MAX),
                )),
            )));
        }
        if let Some(prefix) = &query.path_prefix {
            let prefix = prefix.trim_matches('/');
            if !prefix.is_empty() {
                out.push(Box::new(TermQuery::new(
                    Term::from_field_text(f.dirs, prefix),
                    IndexRecordOption::Basic,
                )));
            }
        }
        out
    }
}

/// A document as stored in the index.
#[derive(Clone, Debug)]
pub(super) struct StoredDoc {
    pub id: DocId,
    pub title: String,
    pub text: String,
    pub url: String,
    pub path: String,
    pub modified: i64,
}

pub(super) struct Found {
    pub doc: StoredDoc,
    pub snippet: String,
    pub score: f32,
}

/// `a/b/c.txt` → `a`, `a/b`, `a/b/c.txt`.
fn ancestors(path: &str) -> Vec<&str> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
    out.push(path);
    out
}

fn bolded(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(fragment.len() + 8 * highlighted.len());
    let mut at = 0;
    for r in highlighted {
        if r.start < at || r.end > fragment.len() {
            continue;
        }
        out.push_str(&fragment[at..r.start]);
        out.push_str("**");
        out.push_str(&fragment[r.clone()]);
        out.push_str("**");
        at = r.end;
    }
    out.push_str(&fragment[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, text: &str, path: &str, modified: i64) -> Doc {
        Doc {
            id: id.into(),
            title: title.into(),
            text: text.into(),
            path: path.into(),
            modified,
            ..Default::default()
        }
    }

    fn ids(store: &Store, q: &str) -> Vec<String> {
        let query = SearchQuery {
            text: q.into(),
            ..Default::default()
        };
        store
            .search(&query, &Kind::ALL, 10)
            .unwrap()
            .into_iter()
            .map(|f| f.doc.id.id)
            .collect()
    }

    #[test]
    fn stems_folds_prefixes_typos_and_ranks_titles_first() {
        let store = Store::create(&[Language::English, Language::German]).unwrap();
        let mut w = store.writer().unwrap();
        store
            .add(
                &w,
                Kind::Notes,
                &doc("1", "Trip", "We visited Kraków and its houses", "", 10),
            )
            .unwrap();
        store
            .add(
                &w,
                Kind::Notes,
                &doc("2", "Budget", "the trip budget, trip trip trip", "", 20),
            )
            .unwrap();
        store
            .add(
                &w,
                Kind::Files,
                &doc("3", "Häuser", "Bilder der Häuser", "Docs/Old", 30),
            )
            .unwrap();
        w.commit().unwrap();
        store.reload().unwrap();
        assert_eq!(ids(&store, "krakow"), ["1"]);
        assert_eq!(ids(&store, "house"), ["1"]);
        assert_eq!(ids(&store, "haus"), ["3"]);
        assert_eq!(ids(&store, "budg"), ["2"]);
        assert_eq!(ids(&store, "visitde"), ["1"]);
        assert_eq!(ids(&store, "trip")[0], "1", "title first");
        let q = SearchQuery {
            text: "häuser".into(),
            path_prefix: Some("/Docs/".into()),
            modified_after: Some(25),
            ..Default::default()
        };
        assert_eq!(store.search(&q, &Kind::ALL, 5).unwrap().len(), 1);
        let q = SearchQuery {
            path_prefix: Some("Doc".into()),
            ..q
        };
        assert!(store.search(&q, &Kind::ALL, 5).unwrap().is_empty());
        assert!(
            store
                .search(
                    &SearchQuery {
                        text: "krakow".into(),
                        ..Default::default()
                    },
                    &[Kind::Files],
                    5
                )
                .unwrap()
                .is_empty()
        );
        let found = store
            .search(
                &SearchQuery {
                    text: "houses".into(),
                    ..Default::default()
                },
                &Kind::ALL,
                5,
            )
            .unwrap();
        assert!(
            found[0].snippet.contains("**houses**"),
            "{}",
            found[0].snippet
        );
        assert_eq!(ancestors("/a/b/c.txt"), ["a", "a/b", "a/b/c.txt"]);
    }
}
