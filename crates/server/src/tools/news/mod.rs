//! News app tools: `nc_news_*`. Items are paged the way the app pages them: by id, newest
//! first, `offset` being the `oldest_id` of the previous page. Article bodies are HTML and
//! are answered as readable text (`html2text`), cut at a bound with a note saying so.

pub(super) mod read;
pub(super) mod write;

use std::collections::HashMap;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;
use crate::tools::common::ToolError;
use nextcloud::NextcloudUser;
use nextcloud::news::{Feed, Folder, Item, ItemQuery, Selection};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::news_read_router() + NextcloudMcp::news_write_router()
}

/// Characters of article text in a listing.
pub const EXCERPT_CHARS: usize = 300;
/// Characters of article text in `nc_news_get_item`.
pub const FULL_TEXT_CHARS: usize = 20_000;
/// Requests one listing may send when the app cannot filter by everything asked.
const MAX_BATCHES: usize = 20;

#[derive(Debug, Serialize, JsonSchema)]
pub struct FolderOut {
    pub id: u64,
    pub name: String,
}

impl From<Folder> for FolderOut {
    fn from(f: Folder) -> Self {
        Self {
            id: f.id,
            name: f.name,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FeedOut {
    pub id: u64,
    pub title: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<u64>,
    pub unread_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub update_error_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl From<Feed> for FeedOut {
    fn from(f: Feed) -> Self {
        Self {
            id: f.id,
            title: f.title,
            url: f.url,
            folder_id: f.folder_id,
            unread_count: f.unread_count,
            update_error_count: f.update_error_count,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ItemOut {
    pub id: u64,
    pub feed_id: u64,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub unread: bool,
    pub starred: bool,
    pub text: String,
    // Set when `text` was cut. (Plain comments on output types: they are not in the schema.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ItemOut {
    /// The item with its body as text of at most `max_chars` characters.
    pub fn new(i: Item, max_chars: usize) -> Self {
        let (text, note) = readable(i.body.as_deref().unwrap_or_default(), max_chars);
        Self {
            id: i.id,
            feed_id: i.feed_id,
            title: i.title.unwrap_or_default(),
            url: i.url.filter(|u| !u.is_empty()),
            author: i.author.filter(|a| !a.is_empty()),
            published: i
                .pub_date
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            unread: i.unread,
            starred: i.starred,
            text,
            note,
        }
    }
}

/// HTML as readable, Markdown-like text (`## heading`, `**bold**`, `* item`, links as numbered
/// references), at most `max_chars` characters; when cut, a note says how much there was.
pub fn readable(html: &str, max_chars: usize) -> (String, Option<String>) {
    let text = html2text::config::plain()
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), 200)
        .unwrap_or_else(|_| html.to_string())
        .replace('\u{a0}', " ");
    let text = text.trim();
    let total = text.chars().count();
    if total <= max_chars {
        return (text.to_string(), None);
    }
    let cut: String = text.chars().take(max_chars).collect();
    let note = format!(
        "Text cut at {max_chars} of {total} characters; nc_news_get_item or the item's url has it all."
    );
    (cut, Some(note))
}

// A listing's page: `has_more` says whether `oldest_id` as `offset` gives more.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ItemsOut {
    pub results: Vec<ItemOut>,
    pub total_count: usize,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_id: Option<u64>,
}

/// What a listing keeps.
#[derive(Debug, Default, Clone, Copy)]
pub struct Filter {
    pub feed_id: Option<u64>,
    pub folder_id: Option<u64>,
    pub starred_only: bool,
    pub unread_only: bool,
}

/// One page of items: `limit` items with ids below `offset` (0: from the newest). The app
/// filters by one feed, folder or "starred" at a time; what it cannot filter is filtered
/// here, reading further batches until the page is full.
pub async fn page(
    user: &NextcloudUser,
    filter: Filter,
    limit: u32,
    offset: u64,
) -> Result<ItemsOut, ToolError> {
    let api = user.news();
    let selection = match filter {
        Filter {
            starred_only: true, ..
        } => Selection::Starred,
        Filter {
            feed_id: Some(id), ..
        } => Selection::Feed(id),
        Filter {
            folder_id: Some(id),
            ..
        } => Selection::Folder(id),
        _ => Selection::All,
    };
    // Starred items come from all feeds: feed, folder and unread are filtered here.
    let here = selection == Selection::Starred
        && (filter.feed_id.is_some() || filter.folder_id.is_some() || filter.unread_only);
    let folders: HashMap<u64, Option<u64>> = if here && filter.folder_id.is_some() {
        api.feeds()
            .await?
            .feeds
            .into_iter()
            .map(|f| (f.id, f.folder_id))
            .collect()
    } else {
        HashMap::new()
    };
    let keep = |i: &Item| {
        filter.feed_id.is_none_or(|f| i.feed_id == f)
            && filter
                .folder_id
                .is_none_or(|d| folders.get(&i.feed_id).copied().flatten() == Some(d))
            && (!filter.unread_only || i.unread)
    };
    let batch = if here {
        (limit + 1).max(100)
    } else {
        limit + 1
    };
    let mut found: Vec<Item> = Vec::new();
    let mut before = offset;
    for _ in 0..MAX_BATCHES {
        let got = api
            .items(&ItemQuery {
                selection,
                unread_only: filter.unread_only && selection != Selection::Starred,
                batch_size: batch,
                before_id: before,
            })
            .await?;
        let exhausted = got.len() < batch as usize;
        if let Some(last) = got.last() {
            before = last.id;
        }
        found.extend(got.into_iter().filter(|i| !here || keep(i)));
        if exhausted || found.len() > limit as usize {
            break;
        }
    }
    let has_more = found.len() > limit as usize;
    found.truncate(limit as usize);
    if found.is_empty() && offset == 0 {
        check_exists(user, filter).await?;
    }
    let results: Vec<ItemOut> = found
        .into_iter()
        .map(|i| ItemOut::new(i, EXCERPT_CHARS))
        .collect();
    Ok(ItemsOut {
        total_count: results.len(),
        has_more,
        oldest_id: results.last().map(|i| i.id),
        results,
    })
}

/// An empty listing of a feed or folder that does not exist is an error, not "no items".
async fn check_exists(user: &NextcloudUser, filter: Filter) -> Result<(), ToolError> {
    let api = user.news();
    if let Some(id) = filter.feed_id
        && !api.feeds().await?.feeds.iter().any(|f| f.id == id)
    {
        return Err(not_found(format!("News feed {id}"), "nc_news_list_feeds"));
    }
    if let Some(id) = filter.folder_id
        && !api.folders().await?.iter().any(|f| f.id == id)
    {
        return Err(not_found(
            format!("News folder {id}"),
            "nc_news_list_folders",
        ));
    }
    Ok(())
}

pub fn not_found(what: String, list_tool: &str) -> ToolError {
    nextcloud::Error::NotFound {
        what,
        message: Some(format!("no such id among yours; {list_tool} lists them")),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn html_becomes_text_and_is_cut_with_a_note() {
        let (text, note) = readable(
            "<h2>Title</h2><p>One <strong>two</strong>&nbsp;three.</p><ul><li>a</li><li>b</li></ul><script>x()</script>",
            1000,
        );
        // Markdown-like: headings, emphasis and list items keep their marks.
        assert!(
            text.contains("## Title") && text.contains("One **two** three."),
            "{text}"
        );
        assert!(text.contains("* a\n* b"), "{text}");
        assert!(!text.contains('<') && !text.contains("x()"), "{text}");
        assert!(note.is_none());
        let (text, note) = readable(&"<p>word </p>".repeat(100), 20);
        assert_eq!(text.chars().count(), 20);
        assert!(note.unwrap().contains("cut at 20 of"));
    }
}
