//! Finds tools for a task described in plain words, locally: a small in-memory tantivy index
//! with one document per tool (its name, title, description, parameter names, its app's
//! everyday words from [`crate::apps::APP_WORDS`] and everyday words for the words of
//! its name), ranked by BM25 with English stemming. No network, no model.

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
const NAME_BOOST: f32 = 2.0;
const TITLE_BOOST: f32 = 1.5;
const WORDS_BOOST: f32 = 1.3;
const SYNONYMS_BOOST: f32 = 1.5;
const DESCRIPTION_BOOST: f32 = 0.7;
const PARAMS_BOOST: f32 = 0.3;

/// Everyday words for the words of tool names: the verbs ("remove", "erase" or "get rid of"
/// reach `..._delete_...`) and the things (an "appointment" is an `event`, a "column" of a
/// board a `stack`). Indexed with every tool whose name holds the word, so finding rests on
/// names, which are stable, more than on descriptions, which are rewritten.
const NAME_WORD_SYNONYMS: &[(&str, &str)] = &[
    // Verbs.
    (
        "create",
        "add new make start write put set up save plan record",
    ),
    ("add", "new insert put create extra another"),
    ("insert", "add new put record enter entry"),
    (
        "get",
        "read show open view see details look fetch what which list all",
    ),
    (
        "read",
        "show open view see get contents what says text data",
    ),
    (
        "list",
        "show all every my which what overview browse have exist",
    ),
    (
        "search",
        "find look lookup up search query where contains about mentioning who whose",
    ),
    ("find", "search look where locate which"),
    (
        "update",
        "change edit modify rename set fix adjust raise lower reschedule shift postpone move let allow",
    ),
    (
        "manage",
        "create new rename delete remove change color colour",
    ),
    (
        "delete",
        "remove erase drop trash discard cancel rid destroy stop revoke take throw away",
    ),
    ("remove", "delete take off unset drop detach"),
    ("append", "add end bottom another line more"),
    ("write", "overwrite save upload store contents"),
    ("complete", "done finish finished tick check off"),
    ("move", "rename relocate transfer put different another"),
    ("copy", "duplicate clone"),
    ("restore", "back bring undelete recover undo roll mistake"),
    ("archive", "hide finished shelve"),
    ("unarchive", "restore back unhide"),
    ("assign", "give responsible put"),
    ("unassign", "remove take off"),
    ("attach", "link add"),
    ("import", "web website page url internet download save"),
    ("reorder", "move position order"),
    ("tag", "label mark"),
    ("untag", "remove tag"),
    ("provision", "connect login account access"),
    ("check", "status logged connected"),
    ("reindex", "rescan rebuild refresh"),
    (
        "bulk",
        "many all every at once go several batch matching titled move delete events",
    ),
    // Things.
    ("note", "jot memo journal diary idea"),
    ("notes", "jot memo journal diary idea"),
    ("attachment", "image picture photo pasted attached embedded"),
    ("attachments", "attached files"),
    ("content", "text line end entry"),
    ("directory", "folder contents inside browse files"),
    ("name", "called named"),
    (
        "type",
        "kind image images photo photos picture pictures pdf pdfs video videos music document documents every",
    ),
    ("resource", "file folder document"),
    ("favorites", "starred star favourite favourites"),
    ("trash", "deleted bin recycle removed recently mistake"),
    ("versions", "earlier older previous history"),
    ("version", "earlier older previous yesterday"),
    ("tags", "label labels tagged"),
    ("comment", "remark feedback reply"),
    ("comments", "remark feedback said left"),
    ("public", "anyone link url"),
    ("link", "url anyone download"),
    ("event", "appointment occasion happening"),
    ("events", "appointment appointments schedule agenda between"),
    ("upcoming", "next soon coming"),
    ("meeting", "invite invitation attendees call team"),
    ("availability", "free busy slot time suits available both"),
    ("todo", "task to-do reminder remind chore errand"),
    ("todos", "tasks to-do reminders chores errands"),
    ("contact", "person people phone email address someone"),
    ("contacts", "person people phone email everyone"),
    ("addressbook", "address book"),
    ("addressbooks", "address book books"),
    ("board", "kanban project"),
    ("boards", "kanban projects my"),
    ("stack", "column lane"),
    ("stacks", "columns lanes"),
    ("card", "ticket item task bug issue"),
    ("cards", "tickets items tasks"),
    ("label", "tag"),
    ("labels", "tags"),
    ("dependent", "depends blocked blocking dependency"),
    ("archived", "archive hidden finished"),
    ("overview", "status everything whole summary"),
    ("row", "entry record line"),
    ("table", "rows data contents"),
    ("schema", "columns structure fields"),
    ("views", "filter filtered saved"),
    ("view", "filter filtered saved"),
    ("column", "field"),
    ("recipe", "dish meal cook cooking"),
    ("recipes", "dishes meals cook cooking"),
    ("keywords", "tagged tag tags"),
    (
        "items",
        "things products groceries buy eggs articles stories posts latest",
    ),
    ("item", "thing product off"),
    ("checked", "bought ticked got already done"),
    ("clear", "empty clean bought cleanup"),
    ("uncheck", "untick reset reuse again"),
    ("ingredients", "recipe cook need everything for"),
    ("config", "settings folder"),
    ("send", "email reply answer tell write forward"),
    ("messages", "emails inbox new unread received from about"),
    ("message", "email mail"),
    ("mailboxes", "folders folder"),
    ("accounts", "set up configured"),
    (
        "flags",
        "mark read unread star starred flag important junk spam seen",
    ),
    ("source", "headers header raw original suspicious"),
    ("scopes", "permission permissions grant allow"),
    ("starred", "saved favourite favorite bookmarked later"),
    ("unread", "new unseen catch up"),
    ("health", "failing errors broken stopped updating working"),
    ("conversations", "chats rooms channels unread my"),
    ("conversation", "chat room channel group"),
    ("messages", "chat wrote said written history"),
    ("message", "chat post say tell"),
    ("send", "post say tell write reply"),
    ("participants", "who members people in"),
    ("participant", "invite member someone person"),
    ("react", "thumbs up emoji like"),
    ("reaction", "emoji thumbs back"),
    ("reactions", "emoji who reacted"),
];

/// Phrases whose words mislead one by one, and the word they stand for: "to-do" is one word
/// to people and two stop words to the tokenizer, and a "to-do list" is no listing.
const PHRASES: &[(&str, &str)] = &[
    ("to-do list", "todo"),
    ("todo list", "todo"),
    ("task list", "tasks"),
    ("to-do", "todo"),
    ("shopping lists", "shopping every"),
    ("shopping list", "shopping"),
    ("groceries list", "groceries"),
    ("grocery list", "groceries"),
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
    synonyms: Field,
    description: Field,
    params: Field,
}

impl Fields {
    fn boosted(&self) -> [(Field, f32); 6] {
        [
            (self.name, NAME_BOOST),
            (self.title, TITLE_BOOST),
            (self.words, WORDS_BOOST),
            (self.synonyms, SYNONYMS_BOOST),
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
            synonyms: schema.add_text_field("synonyms", text.clone()),
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
            // The app part of the name (`calendar` in `nc_calendar_create_todo`) is the app's
            // words' job; the synonyms are those of what the tool does, and to what.
            let synonyms: Vec<&str> = name_words
                .split(' ')
                .skip(1)
                .filter_map(|w| NAME_WORD_SYNONYMS.iter().find(|(v, _)| *v == w))
                .map(|(_, synonyms)| *synonyms)
                .collect();
            writer.add_document(doc!(
                tool_name => name,
                fields.name => name_words.as_str(),
                fields.title => tool.title.as_deref().unwrap_or_default(),
                fields.words => format!("{app_title} {}", app_words.join(" ")),
                fields.synonyms => synonyms.join(" "),
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
        let mut task = task.to_lowercase();
        for (phrase, word) in PHRASES {
            task = task.replace(phrase, word);
        }
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
