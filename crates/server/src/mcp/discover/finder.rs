//! Finds tools for a task described in plain words, locally: a small in-memory tantivy index
//! with one document per tool (its name, title, description, parameter names, its app's
//! everyday words from [`crate::apps::APP_WORDS`] and everyday synonyms of the verbs in its
//! name), ranked by BM25 with English stemming. No network, no model.

use std::collections::BTreeSet;

use rmcp::model::Tool;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

use crate::apps;
use crate::tools::spec;

/// The analyzer of every field and of the task: words, lower case, no English stop words,
/// stemmed ("meetings" finds "meeting").
const ANALYZER: &str = "tool_words";

/// How much a match in each field counts.
const NAME_BOOST: f32 = 3.0;
const TITLE_BOOST: f32 = 2.0;
const WORDS_BOOST: f32 = 1.0;
const VERBS_BOOST: f32 = 1.5;
const DESCRIPTION_BOOST: f32 = 1.0;
const PARAMS_BOOST: f32 = 0.5;

/// Everyday ways to ask for what a verb in a tool's name does. Indexed with every tool whose
/// name holds the verb, so "remove", "erase" or "get rid of" reach `..._delete_...`.
const VERB_SYNONYMS: &[(&str, &str)] = &[
    ("create", "add new make start write put set up save plan"),
    ("add", "new insert put create extra another"),
    ("insert", "add new put record enter entry"),
    (
        "get",
        "read show open view see details look fetch what which",
    ),
    ("read", "show open view see get contents what says text"),
    (
        "list",
        "show all every my which what overview browse have exist",
    ),
    (
        "search",
        "find look lookup search query where contains about mentioning",
    ),
    ("find", "search look where locate which"),
    (
        "update",
        "change edit modify rename set fix adjust raise lower",
    ),
    ("manage", "create rename delete change color"),
    (
        "delete",
        "remove erase drop trash discard cancel rid destroy",
    ),
    ("remove", "delete take off unset drop detach"),
    ("append", "add end bottom another line more"),
    ("complete", "done finish finished tick check off"),
    ("move", "rename relocate transfer put different another"),
    ("copy", "duplicate clone"),
    ("restore", "back undelete recover undo roll"),
    ("archive", "hide finished shelve"),
    ("unarchive", "restore back unhide"),
    ("assign", "give responsible put"),
    ("unassign", "remove take off"),
    ("attach", "link add"),
    ("import", "web website page url download save"),
    ("reorder", "move position order"),
    ("tag", "label mark"),
    ("untag", "remove tag"),
    ("share", "give access send others"),
    ("upcoming", "next soon coming"),
    ("availability", "free busy slot time suits available"),
    ("bulk", "many all every at once"),
    ("provision", "connect login access"),
    ("check", "status logged"),
    ("overview", "status everything whole"),
    ("meeting", "invite invitation attendees call"),
    ("reindex", "rescan rebuild refresh"),
    ("config", "settings folder"),
    ("comment", "note remark reply"),
    ("todo", "task to-do"),
    ("todos", "tasks to-do"),
];

/// A tool a task matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub name: String,
    /// BM25 relevance; comparable only within one search.
    pub score: f32,
}

#[derive(Debug, thiserror::Error)]
#[error("building the tool index: {0}")]
pub struct FinderError(#[from] tantivy::TantivyError);

#[derive(Clone, Copy)]
struct Fields {
    name: Field,
    title: Field,
    words: Field,
    verbs: Field,
    description: Field,
    params: Field,
}

impl Fields {
    fn boosted(&self) -> [(Field, f32); 6] {
        [
            (self.name, NAME_BOOST),
            (self.title, TITLE_BOOST),
            (self.words, WORDS_BOOST),
            (self.verbs, VERBS_BOOST),
            (self.description, DESCRIPTION_BOOST),
            (self.params, PARAMS_BOOST),
        ]
    }
}

/// The index over one server's tools, built once at start-up.
pub struct ToolFinder {
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    tool_name: Field,
}

impl ToolFinder {
    /// Indexes these tools.
    pub fn new(tools: &[Tool]) -> Result<Self, FinderError> {
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut schema = Schema::builder();
        let tool_name = schema.add_text_field("tool", STORED);
        let fields = Fields {
            name: schema.add_text_field("name", text.clone()),
            title: schema.add_text_field("title", text.clone()),
            words: schema.add_text_field("words", text.clone()),
            verbs: schema.add_text_field("verbs", text.clone()),
            description: schema.add_text_field("description", text.clone()),
            params: schema.add_text_field("params", text),
        };
        let index = Index::create_in_ram(schema.build());
        let analyzer = analyzer();
        index.tokenizers().register(ANALYZER, analyzer.clone());
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for tool in tools {
            let name = tool.name.as_ref();
            let name_words = name_words(name);
            let (app_title, app_words) = match spec::of(name) {
                Some(s) => (s.app.title, apps::app_words(s.app.id)),
                None => ("", &[][..]),
            };
            let verbs: Vec<&str> = name_words
                .split(' ')
                .filter_map(|w| VERB_SYNONYMS.iter().find(|(v, _)| *v == w))
                .map(|(_, synonyms)| *synonyms)
                .collect();
            writer.add_document(doc!(
                tool_name => name,
                fields.name => name_words.as_str(),
                fields.title => tool.title.as_deref().unwrap_or_default(),
                fields.words => format!("{app_title} {}", app_words.join(" ")),
                fields.verbs => verbs.join(" "),
                fields.description => tool.description.as_deref().unwrap_or_default(),
                fields.params => param_words(tool),
            ))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(Self {
            reader,
            fields,
            analyzer,
            tool_name,
        })
    }

    /// Every tool matching the task, best first.
    pub fn find(&self, task: &str) -> Vec<Found> {
        let terms = self.terms(task);
        if terms.is_empty() {
            return Vec::new();
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &terms {
            for (field, boost) in self.fields.boosted() {
                let query = TermQuery::new(
                    Term::from_field_text(field, word),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), boost)),
                ));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let limit = (searcher.num_docs() as usize).max(1);
        let Ok(hits) = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score()) else {
            return Vec::new();
        };
        hits.into_iter()
            .filter_map(|(score, address)| {
                let doc: TantivyDocument = searcher.doc(address).ok()?;
                let name = doc.get_first(self.tool_name)?.as_str()?.to_string();
                Some(Found { name, score })
            })
            .collect()
    }

    /// The task's distinct words as the index holds them.
    fn terms(&self, task: &str) -> BTreeSet<String> {
        // "to-do" is one word to people, two to the tokenizer (and both are stop words).
        let task = task.to_lowercase().replace("to-do", "todo");
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(&task);
        let mut terms = BTreeSet::new();
        while stream.advance() {
            terms.insert(stream.token().text.clone());
        }
        terms
    }
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English stop words"))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// `nc_calendar_create_todo` → `calendar create todo`.
fn name_words(name: &str) -> String {
    name.split('_')
        .filter(|w| *w != "nc")
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names of a tool's parameters as words (`calendar_name` → `calendar name`).
fn param_words(tool: &Tool) -> String {
    tool.input_schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|props| {
            props
                .keys()
                .map(|k| k.replace('_', " "))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
