//! Deck app tools: `deck_*`. Reads in `read/`, changes in `write/`, one file per kind of thing
//! (`deck_create_card` is in `write/cards.rs`, `deck_get_card_comments` in `read/comments.rs`).
//! Listings are compact by default
//! (`detail = summary`, open cards only, short description previews) so that a board with
//! hundreds of cards does not flood the model's context; `detail = full` and the filters
//! give more when asked.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::NextcloudMcp;
use crate::tools::common::given;
use nextcloud::deck::{Card, Label, Stack};

pub fn router() -> ToolRouter<NextcloudMcp> {
    read::router() + write::router()
}

fn board_url(base: &str, board_id: u64) -> String {
    format!("{base}/index.php/apps/deck/board/{board_id}")
}

fn card_url(base: &str, board_id: u64, card_id: u64) -> String {
    format!("{base}/index.php/apps/deck/board/{board_id}/card/{card_id}")
}

/// How much of each card to return.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
// Inlined: a short enum costs less in every tool schema than a shared definition.
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    // Title, position, due date, done flag, label titles, assignees, description preview.
    #[default]
    Summary,
    // Everything, with the description (cut to `description_max_length` if given).
    Full,
}

/// Which cards to include.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
// Inlined: a short enum costs less in every tool schema than a shared definition.
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    // Every card, archived ones too.
    All,
    // Not archived and not done.
    #[default]
    Open,
    // Marked done, not archived.
    Done,
    // Archived only.
    Archived,
}

fn default_preview() -> usize {
    140
}

/// Filters and size limits shared by the card listings.
#[derive(Clone, Debug)]
struct CardView {
    detail: Detail,
    status: CardStatus,
    label: Option<String>,
    assigned_to: Option<String>,
    description_max_length: Option<usize>,
    description_preview_length: usize,
}

impl CardView {
    fn keeps(&self, card: &Card) -> bool {
        let status_ok = match self.status {
            CardStatus::All => true,
            CardStatus::Open => !card.archived && !card.is_done(),
            CardStatus::Done => !card.archived && card.is_done(),
            CardStatus::Archived => card.archived,
        };
        let label_ok = self.label.as_deref().is_none_or(|want| {
            card.labels.iter().any(|l| {
                l.title.eq_ignore_ascii_case(want.trim()) || l.id.to_string() == want.trim()
            })
        });
        let user_ok = self.assigned_to.as_deref().is_none_or(|want| {
            card.assigned_users.iter().any(|a| {
                a.participant.uid.eq_ignore_ascii_case(want.trim())
                    || a.participant.displayname.eq_ignore_ascii_case(want.trim())
            })
        });
        status_ok && label_ok && user_ok && card.deleted_at == 0
    }

    /// Whether archived cards must be fetched too.
    fn needs_archived(&self) -> bool {
        matches!(self.status, CardStatus::All | CardStatus::Archived)
    }

    fn card(&self, base: &str, board_id: u64, card: &Card) -> CardOut {
        let description = card.description.clone().unwrap_or_default();
        let (preview, full_description) = match self.detail {
            Detail::Summary => (
                (!description.is_empty())
                    .then(|| truncate(&description, self.description_preview_length)),
                None,
            ),
            Detail::Full => (
                None,
                Some(match self.description_max_length {
                    Some(n) => truncate(&description, n),
                    None => description,
                }),
            ),
        };
        let full = self.detail == Detail::Full;
        CardOut {
            id: card.id,
            title: card.title.clone(),
            stack_id: card.stack_id,
            order: card.order,
            done: card.is_done(),
            archived: card.archived,
            duedate: card.duedate.clone(),
            labels: card.labels.iter().map(|l| l.title.clone()).collect(),
            assignees: card
                .assigned_users
                .iter()
                .map(|a| a.participant.uid.clone())
                .collect(),
            description_preview: preview,
            description: full_description,
            owner: full.then(|| card.owner.uid.clone()),
            startdate: if full { card.startdate.clone() } else { None },
            color: if full { card.color.clone() } else { None },
            comments_count: full.then_some(card.comments_count),
            attachment_count: if full { card.attachment_count } else { None },
            last_modified: full.then_some(card.last_modified),
            etag: if full { card.etag.clone() } else { None },
            url: card_url(base, board_id, card.id),
        }
    }

    fn stack(&self, base: &str, stack: &Stack, cards: &[Card], with_cards: bool) -> StackOut {
        let cards: Vec<CardOut> = if with_cards {
            let mut kept: Vec<&Card> = cards.iter().filter(|c| self.keeps(c)).collect();
            kept.sort_by_key(|c| (c.order, c.id));
            kept.into_iter()
                .map(|c| self.card(base, stack.board_id, c))
                .collect()
        } else {
            Vec::new()
        };
        StackOut {
            id: stack.id,
            title: stack.title.clone(),
            board_id: stack.board_id,
            order: stack.order,
            deleted_at: stack.deleted_at,
            last_modified: stack.last_modified,
            card_count: cards.len(),
            cards,
            etag: stack.etag.clone(),
            url: board_url(base, stack.board_id),
        }
    }
}

/// Cuts text to `max` characters, marking the cut with `…`.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// A card in a listing; the `full`-only fields are left out in summaries.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CardOut {
    pub id: u64,
    pub title: String,
    #[serde(rename = "stackId")]
    pub stack_id: u64,
    pub order: i64,
    pub done: bool,
    pub archived: bool,
    /// Due date (ISO 8601), if any.
    pub duedate: Option<String>,
    /// Label titles.
    pub labels: Vec<String>,
    /// User ids of the assignees.
    pub assignees: Vec<String>,
    /// Start of the description (summary detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_preview: Option<String>,
    /// The description (full detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(rename = "commentsCount", skip_serializing_if = "Option::is_none")]
    pub comments_count: Option<i64>,
    #[serde(rename = "attachmentCount", skip_serializing_if = "Option::is_none")]
    pub attachment_count: Option<i64>,
    #[serde(rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StackOut {
    pub id: u64,
    pub title: String,
    #[serde(rename = "boardId")]
    pub board_id: u64,
    pub order: i64,
    #[serde(rename = "deletedAt")]
    pub deleted_at: i64,
    #[serde(rename = "lastModified")]
    pub last_modified: i64,
    /// Cards after filtering.
    pub card_count: usize,
    pub cards: Vec<CardOut>,
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LabelOut {
    pub id: u64,
    pub title: String,
    /// Hex colour without `#`.
    pub color: String,
    #[serde(rename = "boardId")]
    pub board_id: Option<u64>,
    #[serde(rename = "cardId")]
    pub card_id: Option<u64>,
}

impl From<&Label> for LabelOut {
    fn from(l: &Label) -> Self {
        Self {
            id: l.id,
            title: l.title.clone(),
            color: l.color.clone(),
            board_id: l.board_id,
            card_id: l.card_id,
        }
    }
}

/// What a change to a card returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CardChanged {
    pub status_code: u16,
    pub message: String,
    pub card_id: u64,
    pub stack_id: u64,
    pub board_id: u64,
    /// The card's labels after the change (absent when the card was deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<LabelOut>>,
    pub url: String,
}

impl CardChanged {
    fn new(base: &str, board_id: u64, card: Option<&Card>, ids: (u64, u64), msg: String) -> Self {
        Self {
            status_code: 200,
            message: msg,
            card_id: ids.1,
            stack_id: card.map_or(ids.0, |c| c.stack_id),
            board_id,
            labels: card.map(|c| c.labels.iter().map(LabelOut::from).collect()),
            url: card_url(base, board_id, ids.1),
        }
    }
}

/// Status plus message for stack, label and comment changes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Changed {
    pub status_code: u16,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_id: Option<u64>,
}

impl Changed {
    fn ok(message: String) -> Self {
        Self {
            status_code: 200,
            message,
            stack_id: None,
            label_id: None,
            card_id: None,
            comment_id: None,
            attachment_id: None,
            board_id: None,
        }
    }
}

/// Arguments every card listing takes.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CardFilterArgs {
    /// `full`: every field.
    #[serde(default)]
    pub detail: Detail,
    /// `open`: not done or archived.
    #[serde(default)]
    pub status: CardStatus,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Length cap with detail=full.
    #[serde(default)]
    pub description_max_length: Option<usize>,
    /// Preview length (0: none).
    #[serde(default = "default_preview")]
    pub description_preview_length: usize,
}

impl CardFilterArgs {
    fn view(&self) -> CardView {
        CardView {
            detail: self.detail,
            status: self.status,
            label: given(self.label.clone()),
            assigned_to: given(self.assigned_to.clone()),
            description_max_length: self.description_max_length,
            description_preview_length: self.description_preview_length,
        }
    }
}

/// Stacks of a board with the cards the view wants (fetching archived cards when needed).
async fn stacks_with_cards(
    user: &nextcloud::NextcloudUser,
    board_id: u64,
    view: &CardView,
) -> Result<Vec<(Stack, Vec<Card>)>, nextcloud::Error> {
    let deck = user.deck();
    let stacks = deck.stacks(board_id).await?;
    let archived = if view.needs_archived() {
        deck.archived_stacks(board_id).await?
    } else {
        Vec::new()
    };
    Ok(stacks
        .into_iter()
        .map(|mut s| {
            let mut cards = std::mem::take(&mut s.cards);
            if let Some(a) = archived.iter().find(|a| a.id == s.id) {
                cards.extend(a.cards.iter().cloned());
            }
            (s, cards)
        })
        .collect())
}
