//! The Deck app: its REST API (`/index.php/apps/deck/api/v1.0`, `v1.1` where it returns more),
//! the internal routes the web UI uses for moves (`/index.php/apps/deck/cards/{id}/...`, which
//! read the target stack from the body), and the OCS comments API
//! (`/ocs/v2.php/apps/deck/api/v1.0/cards/{id}/comments`).
//!
//! Deck's card `PUT` replaces the whole card, so [`Deck::update_card`] reads the card first and
//! sends every field back, changing only what the caller asked for.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::client::Request;
use crate::{Error, NextcloudUser, Result, ocs};

const API: &str = "/index.php/apps/deck/api/v1.0";
const API_1_1: &str = "/index.php/apps/deck/api/v1.1";
const INTERNAL: &str = "/index.php/apps/deck";
const OCS_API: &str = "/ocs/v2.php/apps/deck/api/v1.0";

/// Longest comment Nextcloud's comments manager stores.
pub const MAX_COMMENT_LENGTH: usize = 1000;

/// Share type of a file shared with a Deck card (`IShare::TYPE_DECK`).
pub const SHARE_TYPE_DECK: u32 = 12;

/// A user, group or circle as Deck shows it (board owner, ACL entry, assignee).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(default)]
    pub primary_key: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub displayname: String,
    /// 0 user, 1 group, 7 circle.
    #[serde(default, rename = "type")]
    pub kind: i64,
}

/// Deck sends some owners as a bare user id and others as an object.
fn participant<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Participant, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Id(String),
        Full(Participant),
        Null(()),
    }
    Ok(match Repr::deserialize(d)? {
        Repr::Id(uid) => Participant {
            primary_key: uid.clone(),
            displayname: uid.clone(),
            uid,
            kind: 0,
        },
        Repr::Full(p) => p,
        Repr::Null(_) => Participant::default(),
    })
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// What the current user may do on a board.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default, rename = "PERMISSION_READ")]
    pub read: bool,
    #[serde(default, rename = "PERMISSION_EDIT")]
    pub edit: bool,
    #[serde(default, rename = "PERMISSION_MANAGE")]
    pub manage: bool,
    #[serde(default, rename = "PERMISSION_SHARE")]
    pub share: bool,
}

/// One sharing rule of a board.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acl {
    pub id: u64,
    #[serde(deserialize_with = "participant")]
    pub participant: Participant,
    #[serde(default, rename = "type")]
    pub kind: i64,
    #[serde(default)]
    pub board_id: u64,
    #[serde(default)]
    pub permission_edit: bool,
    #[serde(default)]
    pub permission_share: bool,
    #[serde(default)]
    pub permission_manage: bool,
    #[serde(default)]
    pub owner: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    /// Hex colour without `#`.
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub board_id: Option<u64>,
    #[serde(default)]
    pub card_id: Option<u64>,
    #[serde(default)]
    pub last_modified: i64,
    #[serde(default, rename = "ETag")]
    pub etag: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default, deserialize_with = "participant")]
    pub owner: Participant,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub archived: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: Vec<Label>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub acl: Vec<Acl>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub permissions: Permissions,
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<Participant>,
    #[serde(default)]
    pub deleted_at: i64,
    #[serde(default)]
    pub last_modified: i64,
    #[serde(default)]
    pub settings: Value,
    #[serde(default, rename = "ETag")]
    pub etag: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub board_id: u64,
    #[serde(default)]
    pub order: i64,
    #[serde(default)]
    pub deleted_at: i64,
    #[serde(default)]
    pub last_modified: i64,
    /// Absent when the stack has no cards (Deck leaves the key out).
    #[serde(default, deserialize_with = "null_as_default")]
    pub cards: Vec<Card>,
    #[serde(default, rename = "ETag")]
    pub etag: Option<String>,
}

/// A user assigned to a card.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    #[serde(default)]
    pub id: u64,
    #[serde(deserialize_with = "participant")]
    pub participant: Participant,
    #[serde(default)]
    pub card_id: u64,
    #[serde(default, rename = "type")]
    pub kind: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: u64,
    #[serde(default)]
    pub card_id: u64,
    /// `deck_file` (legacy upload) or `file` (a file shared with the card).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The file name.
    #[serde(default)]
    pub data: String,
    #[serde(default)]
    pub last_modified: i64,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub deleted_at: i64,
    #[serde(default)]
    pub extended_data: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stack_id: u64,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub order: i64,
    #[serde(default)]
    pub archived: bool,
    #[serde(default, deserialize_with = "participant")]
    pub owner: Participant,
    /// ISO 8601, or null.
    #[serde(default)]
    pub duedate: Option<String>,
    #[serde(default)]
    pub startdate: Option<String>,
    /// When the card was marked done (ISO 8601), or null.
    #[serde(default)]
    pub done: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub last_modified: i64,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: Vec<Label>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub assigned_users: Vec<Assignment>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dependent_cards: Vec<Value>,
    #[serde(default)]
    pub attachments: Option<Vec<Attachment>>,
    #[serde(default)]
    pub attachment_count: Option<i64>,
    #[serde(default)]
    pub deleted_at: i64,
    #[serde(default)]
    pub comments_unread: i64,
    #[serde(default)]
    pub comments_count: i64,
    #[serde(default)]
    pub last_editor: Option<String>,
    #[serde(default)]
    pub overdue: i64,
    #[serde(default, rename = "ETag")]
    pub etag: Option<String>,
}

impl Card {
    pub fn is_done(&self) -> bool {
        self.done.as_deref().is_some_and(|d| !d.is_empty())
    }
}

/// A comment on a card (the OCS comments API).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub object_id: u64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub actor_id: String,
    #[serde(default)]
    pub actor_type: String,
    #[serde(default)]
    pub actor_display_name: String,
    /// ISO 8601.
    #[serde(default)]
    pub creation_date_time: String,
    #[serde(default)]
    pub mentions: Vec<Value>,
    #[serde(default)]
    pub reply_to: Option<Box<Comment>>,
}

/// A new card.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NewCard {
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub order: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duedate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// Card fields to change; `None` keeps the current value. For the dates and the colour,
/// `Some("")` clears them.
#[derive(Clone, Debug, Default)]
pub struct CardChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub owner: Option<String>,
    pub order: Option<i64>,
    pub duedate: Option<String>,
    pub archived: Option<bool>,
    pub done: Option<String>,
    pub startdate: Option<String>,
    pub color: Option<String>,
}

/// The Deck API for one user; get it with [`NextcloudUser::deck`].
pub struct Deck<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn deck(&self) -> Deck<'_> {
        Deck { user: self }
    }
}

fn req(method: Method, path: String, what: String) -> Result<Request> {
    Request::new(method, path, what)
        .header(http::HeaderName::from_static("ocs-apirequest"), "true")?
        .header(http::header::ACCEPT, "application/json")
}

/// Normalises a date for Deck: empty clears it, an offset-aware time becomes UTC `Z`; other
/// forms (a bare date) go through unchanged for Deck to parse.
pub fn normalize_date(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match chrono::DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        ),
        Err(_) => Some(v.to_string()),
    }
}

/// Checks a colour is six hex digits (with or without `#`) and returns it without `#`.
pub fn normalize_color(value: &str, arg: &str) -> Result<String> {
    let bare = value.trim().trim_start_matches('#');
    if bare.len() == 6 && bare.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(bare.to_ascii_lowercase())
    } else {
        Err(Error::invalid_argument(
            arg,
            format!("expected a 6-digit hex colour such as `ff0000`, got `{value}`"),
        ))
    }
}

fn board(id: u64) -> String {
    format!("Deck board {id}")
}
fn stack(id: u64) -> String {
    format!("Deck stack {id}")
}
fn card(id: u64) -> String {
    format!("Deck card {id}")
}
fn label(id: u64) -> String {
    format!("Deck label {id}")
}

/// Deck answers `403 Permission denied` both for ids that do not exist and for actions the
/// board's sharing does not allow; say so, so the reader knows what to check.
fn explain(err: Error, what: &str) -> Error {
    match err {
        Error::Forbidden { message } => Error::Forbidden {
            message: Some(format!(
                "{}: {what} does not exist, or your access to its board does not allow this (a board shared read-only allows no changes)",
                message.unwrap_or_else(|| "Permission denied".into())
            )),
        },
        other => other,
    }
}

impl Deck<'_> {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        what: String,
        body: Option<Value>,
    ) -> Result<T> {
        let mut r = req(method, path, what.clone())?;
        if let Some(b) = body {
            r = r.json(&b)?;
        }
        self.user.send_json(r).await.map_err(|e| explain(e, &what))
    }

    async fn call_unit(
        &self,
        method: Method,
        path: String,
        what: String,
        body: Option<Value>,
    ) -> Result<()> {
        let mut r = req(method, path, what.clone())?;
        if let Some(b) = body {
            r = r.json(&b)?;
        }
        self.user
            .send(r)
            .await
            .map(drop)
            .map_err(|e| explain(e, &what))
    }

    // ---- boards ----

    /// Boards the user can see (owned or shared), without deleted ones.
    pub async fn boards(&self) -> Result<Vec<Board>> {
        self.call(
            Method::GET,
            format!("{API}/boards"),
            "The Deck board list".into(),
            None,
        )
        .await
    }

    pub async fn board(&self, id: u64) -> Result<Board> {
        self.call(Method::GET, format!("{API}/boards/{id}"), board(id), None)
            .await
    }

    pub async fn create_board(&self, title: &str, color: &str) -> Result<Board> {
        self.call(
            Method::POST,
            format!("{API}/boards"),
            "The new Deck board".into(),
            Some(json!({"title": title, "color": color})),
        )
        .await
    }

    /// Deletes a board (Deck keeps it restorable for a while).
    pub async fn delete_board(&self, id: u64) -> Result<()> {
        self.call_unit(
            Method::DELETE,
            format!("{API}/boards/{id}"),
            board(id),
            None,
        )
        .await
    }

    /// Shares a board with a user (`type` 0), read-only unless the flags say otherwise.
    pub async fn add_acl(
        &self,
        board_id: u64,
        user_id: &str,
        edit: bool,
        share: bool,
        manage: bool,
    ) -> Result<Acl> {
        self.call(
            Method::POST,
            format!("{API}/boards/{board_id}/acl"),
            board(board_id),
            Some(json!({
                "type": 0, "participant": user_id,
                "permissionEdit": edit, "permissionShare": share, "permissionManage": manage,
            })),
        )
        .await
    }

    // ---- stacks ----

    /// Stacks of a board with their non-archived cards.
    pub async fn stacks(&self, board_id: u64) -> Result<Vec<Stack>> {
        self.call(
            Method::GET,
            format!("{API}/boards/{board_id}/stacks"),
            board(board_id),
            None,
        )
        .await
    }

    /// Stacks of a board with their archived cards.
    pub async fn archived_stacks(&self, board_id: u64) -> Result<Vec<Stack>> {
        self.call(
            Method::GET,
            format!("{API}/boards/{board_id}/stacks/archived"),
            board(board_id),
            None,
        )
        .await
    }

    pub async fn stack(&self, board_id: u64, stack_id: u64) -> Result<Stack> {
        self.call(
            Method::GET,
            format!("{API}/boards/{board_id}/stacks/{stack_id}"),
            stack(stack_id),
            None,
        )
        .await
    }

    pub async fn create_stack(&self, board_id: u64, title: &str, order: i64) -> Result<Stack> {
        self.call(
            Method::POST,
            format!("{API}/boards/{board_id}/stacks"),
            board(board_id),
            Some(json!({"title": title, "order": order})),
        )
        .await
    }

    /// Renames and/or moves a stack; Deck wants both fields, so the missing one is read.
    pub async fn update_stack(
        &self,
        board_id: u64,
        stack_id: u64,
        title: Option<&str>,
        order: Option<i64>,
    ) -> Result<Stack> {
        let current = self.stack(board_id, stack_id).await?;
        self.call(
            Method::PUT,
            format!("{API}/boards/{board_id}/stacks/{stack_id}"),
            stack(stack_id),
            Some(json!({
                "title": title.unwrap_or(&current.title),
                "order": order.unwrap_or(current.order),
            })),
        )
        .await
    }

    pub async fn delete_stack(&self, board_id: u64, stack_id: u64) -> Result<()> {
        self.call_unit(
            Method::DELETE,
            format!("{API}/boards/{board_id}/stacks/{stack_id}"),
            stack(stack_id),
            None,
        )
        .await
    }

    // ---- cards ----

    /// A card with all its fields (v1.1, which lists every kind of attachment).
    pub async fn card(&self, board_id: u64, stack_id: u64, card_id: u64) -> Result<Card> {
        self.call(
            Method::GET,
            format!("{API_1_1}/boards/{board_id}/stacks/{stack_id}/cards/{card_id}"),
            card(card_id),
            None,
        )
        .await
    }

    pub async fn create_card(&self, board_id: u64, stack_id: u64, new: &NewCard) -> Result<Card> {
        let body = serde_json::to_value(new)
            .map_err(|e| Error::InvalidResponse(format!("cannot encode card: {e}")))?;
        self.call(
            Method::POST,
            format!("{API}/boards/{board_id}/stacks/{stack_id}/cards"),
            stack(stack_id),
            Some(body),
        )
        .await
    }

    /// Changes a card: reads it, then sends the full card with the changes applied (Deck's
    /// `PUT` resets omitted fields).
    pub async fn update_card(
        &self,
        board_id: u64,
        stack_id: u64,
        card_id: u64,
        changes: &CardChanges,
    ) -> Result<Card> {
        let current = self.card(board_id, stack_id, card_id).await?;
        let pick_date = |new: &Option<String>, old: &Option<String>| match new {
            Some(v) => normalize_date(v),
            None => old.as_deref().and_then(normalize_date),
        };
        let color = match &changes.color {
            Some(c) if c.is_empty() => None,
            Some(c) => Some(normalize_color(c, "color")?),
            None => current.color.clone().filter(|c| !c.is_empty()),
        };
        let mut body = json!({
            "title": changes.title.clone().unwrap_or(current.title.clone()),
            "type": changes.kind.clone().unwrap_or(current.kind.clone()),
            "owner": changes.owner.clone().unwrap_or(current.owner.uid.clone()),
            "description": changes.description.clone().or(current.description.clone()).unwrap_or_default(),
            "order": changes.order.unwrap_or(current.order),
            "duedate": pick_date(&changes.duedate, &current.duedate),
            "startdate": pick_date(&changes.startdate, &current.startdate),
            "archived": changes.archived.unwrap_or(current.archived),
            "color": color,
        });
        let done = match &changes.done {
            Some(v) => Some(normalize_date(v)),
            None => current.done.as_ref().map(|d| normalize_date(d)),
        };
        if let Some(done) = done {
            body["done"] = json!(done);
        }
        self.call(
            Method::PUT,
            format!("{API}/boards/{board_id}/stacks/{stack_id}/cards/{card_id}"),
            card(card_id),
            Some(body),
        )
        .await
    }

    pub async fn delete_card(&self, board_id: u64, stack_id: u64, card_id: u64) -> Result<()> {
        self.call_unit(
            Method::DELETE,
            format!("{API}/boards/{board_id}/stacks/{stack_id}/cards/{card_id}"),
            card(card_id),
            None,
        )
        .await
    }

    /// Archives (`true`) or unarchives a card.
    pub async fn set_archived(
        &self,
        board_id: u64,
        stack_id: u64,
        card_id: u64,
        archived: bool,
    ) -> Result<Card> {
        let action = if archived { "archive" } else { "unarchive" };
        self.call(
            Method::PUT,
            format!("{API}/boards/{board_id}/stacks/{stack_id}/cards/{card_id}/{action}"),
            card(card_id),
            None,
        )
        .await
    }

    /// Moves a card to a position in a stack of the same board (the web UI's internal route,
    /// which takes the target stack from the body). Returns the cards of the target stack.
    pub async fn reorder_card(
        &self,
        card_id: u64,
        target_stack_id: u64,
        order: i64,
    ) -> Result<Vec<Card>> {
        self.call(
            Method::PUT,
            format!("{INTERNAL}/cards/{card_id}/reorder"),
            card(card_id),
            Some(json!({"stackId": target_stack_id, "order": order})),
        )
        .await
    }

    /// Moves a card to a stack on another board through the card update route, which carries
    /// labels over by title. The card keeps its id, comments and attachments.
    pub async fn move_card(
        &self,
        current: &Card,
        target_stack_id: u64,
        order: i64,
    ) -> Result<Card> {
        let body = json!({
            "id": current.id,
            "title": current.title,
            "type": current.kind,
            "stackId": target_stack_id,
            "order": order,
            "description": current.description.clone().unwrap_or_default(),
            "duedate": current.duedate.as_deref().and_then(normalize_date),
            "startdate": current.startdate.as_deref().and_then(normalize_date),
            "color": current.color,
            "deletedAt": 0,
        });
        self.call(
            Method::PUT,
            format!("{INTERNAL}/cards/{}", current.id),
            card(current.id),
            Some(body),
        )
        .await
    }

    /// Marks a card done (internal route; the update route does not keep `done` on a move).
    pub async fn mark_done(&self, card_id: u64) -> Result<Card> {
        self.call(
            Method::PUT,
            format!("{INTERNAL}/cards/{card_id}/done"),
            card(card_id),
            None,
        )
        .await
    }

    async fn card_action(
        &self,
        board_id: u64,
        stack_id: u64,
        card_id: u64,
        action: &str,
        body: Value,
    ) -> Result<()> {
        self.call_unit(
            Method::PUT,
            format!("{API}/boards/{board_id}/stacks/{stack_id}/cards/{card_id}/{action}"),
            card(card_id),
            Some(body),
        )
        .await
    }

    pub async fn assign_label(&self, b: u64, s: u64, c: u64, label_id: u64) -> Result<()> {
        self.card_action(b, s, c, "assignLabel", json!({"labelId": label_id}))
            .await
    }

    pub async fn remove_label(&self, b: u64, s: u64, c: u64, label_id: u64) -> Result<()> {
        self.card_action(b, s, c, "removeLabel", json!({"labelId": label_id}))
            .await
    }

    pub async fn assign_user(&self, b: u64, s: u64, c: u64, user_id: &str) -> Result<()> {
        self.card_action(b, s, c, "assignUser", json!({"userId": user_id}))
            .await
    }

    pub async fn unassign_user(&self, b: u64, s: u64, c: u64, user_id: &str) -> Result<()> {
        self.card_action(b, s, c, "unassignUser", json!({"userId": user_id}))
            .await
    }

    /// Records that card `c` depends on `dependent` (Deck ≥ 1.18). Returns the depending card.
    pub async fn add_dependency(&self, b: u64, s: u64, c: u64, dependent: u64) -> Result<Card> {
        self.call(
            Method::POST,
            format!("{API}/boards/{b}/stacks/{s}/cards/{c}/dependentCards/{dependent}"),
            card(c),
            None,
        )
        .await
    }

    pub async fn remove_dependency(&self, b: u64, s: u64, c: u64, dependent: u64) -> Result<Card> {
        self.call(
            Method::DELETE,
            format!("{API}/boards/{b}/stacks/{s}/cards/{c}/dependentCards/{dependent}"),
            card(c),
            None,
        )
        .await
    }

    // ---- labels ----

    pub async fn label(&self, board_id: u64, label_id: u64) -> Result<Label> {
        self.call(
            Method::GET,
            format!("{API}/boards/{board_id}/labels/{label_id}"),
            label(label_id),
            None,
        )
        .await
    }

    pub async fn create_label(&self, board_id: u64, title: &str, color: &str) -> Result<Label> {
        self.call(
            Method::POST,
            format!("{API}/boards/{board_id}/labels"),
            board(board_id),
            Some(json!({"title": title, "color": color})),
        )
        .await
    }

    /// Changes a label; the missing field is read first (Deck wants both).
    pub async fn update_label(
        &self,
        board_id: u64,
        label_id: u64,
        title: Option<&str>,
        color: Option<&str>,
    ) -> Result<Label> {
        let current = self.label(board_id, label_id).await?;
        self.call(
            Method::PUT,
            format!("{API}/boards/{board_id}/labels/{label_id}"),
            label(label_id),
            Some(json!({
                "title": title.unwrap_or(&current.title),
                "color": color.unwrap_or(&current.color),
            })),
        )
        .await
    }

    pub async fn delete_label(&self, board_id: u64, label_id: u64) -> Result<()> {
        self.call_unit(
            Method::DELETE,
            format!("{API}/boards/{board_id}/labels/{label_id}"),
            label(label_id),
            None,
        )
        .await
    }

    // ---- attachments ----

    /// Every attachment of a card: uploads and files shared with it (v1.1).
    pub async fn attachments(&self, b: u64, s: u64, c: u64) -> Result<Vec<Attachment>> {
        self.call(
            Method::GET,
            format!("{API_1_1}/boards/{b}/stacks/{s}/cards/{c}/attachments"),
            card(c),
            None,
        )
        .await
    }

    /// Removes an attachment; `kind` is its `type` (`deck_file` or `file`).
    pub async fn delete_attachment(
        &self,
        b: u64,
        s: u64,
        c: u64,
        attachment_id: u64,
        kind: &str,
    ) -> Result<()> {
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("type", kind)
            .finish();
        self.call_unit(
            Method::DELETE,
            format!("{API_1_1}/boards/{b}/stacks/{s}/cards/{c}/attachments/{attachment_id}?{qs}"),
            format!("Attachment {attachment_id} of Deck card {c}"),
            None,
        )
        .await
    }

    /// Attaches a file from the user's Files to a card without copying it: shares the file
    /// with the card (share type 12). Returns the share id, which is the attachment id.
    pub async fn share_file_with_card(&self, path: &str, card_id: u64) -> Result<u64> {
        #[derive(Deserialize)]
        struct Share {
            id: Value,
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("path", path)
            .append_pair("shareType", &SHARE_TYPE_DECK.to_string())
            .append_pair("shareWith", &card_id.to_string())
            .append_pair("permissions", "1")
            .finish();
        let r = ocs::request(
            Method::POST,
            "/ocs/v2.php/apps/files_sharing/api/v1/shares",
            &format!("File `{path}`"),
        )?
        .body("application/x-www-form-urlencoded", body);
        let share: Share = ocs::send(self.user, r).await?;
        match &share.id {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| Error::InvalidResponse("share without a numeric id".into()))
    }

    // ---- comments (OCS) ----

    /// Comments of a card, newest first.
    pub async fn comments(&self, card_id: u64, limit: u32, offset: u32) -> Result<Vec<Comment>> {
        let r = ocs::request(
            Method::GET,
            &format!("{OCS_API}/cards/{card_id}/comments?limit={limit}&offset={offset}"),
            &card(card_id),
        )?;
        ocs::send(self.user, r)
            .await
            .map_err(|e| explain(e, &card(card_id)))
    }

    pub async fn create_comment(
        &self,
        card_id: u64,
        message: &str,
        parent_id: Option<u64>,
    ) -> Result<Comment> {
        let mut body = json!({"message": message});
        if let Some(p) = parent_id {
            body["parentId"] = json!(p);
        }
        let r = ocs::request(
            Method::POST,
            &format!("{OCS_API}/cards/{card_id}/comments"),
            &card(card_id),
        )?
        .json(&body)?;
        ocs::send(self.user, r)
            .await
            .map_err(|e| explain(e, &card(card_id)))
    }

    pub async fn update_comment(
        &self,
        card_id: u64,
        comment_id: u64,
        message: &str,
    ) -> Result<Comment> {
        let r = ocs::request(
            Method::PUT,
            &format!("{OCS_API}/cards/{card_id}/comments/{comment_id}"),
            &format!("Comment {comment_id} on Deck card {card_id}"),
        )?
        .json(&json!({"message": message}))?;
        ocs::send(self.user, r)
            .await
            .map_err(|e| explain(e, &card(card_id)))
    }

    pub async fn delete_comment(&self, card_id: u64, comment_id: u64) -> Result<()> {
        let r = ocs::request(
            Method::DELETE,
            &format!("{OCS_API}/cards/{card_id}/comments/{comment_id}"),
            &format!("Comment {comment_id} on Deck card {card_id}"),
        )?;
        ocs::send::<Value>(self.user, r)
            .await
            .map(drop)
            .map_err(|e| explain(e, &card(card_id)))
    }
}

/// Splits a long text into parts of at most `max` characters, preferring paragraph, line and
/// word boundaries, so a long comment can be posted as several.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest: &str = text;
    while rest.chars().count() > max {
        let cut_byte = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..cut_byte];
        let cut = ["\n\n", "\n", " "]
            .iter()
            .filter_map(|sep| window.rfind(sep).map(|i| i + sep.len()))
            .find(|&i| i > cut_byte / 2)
            .unwrap_or(cut_byte);
        parts.push(rest[..cut].trim_end().to_string());
        rest = &rest[cut..];
    }
    if !rest.trim().is_empty() || parts.is_empty() {
        parts.push(rest.to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_come_as_strings_or_objects() {
        let c: Card = serde_json::from_str(r#"{"id":1,"owner":"bob"}"#).unwrap();
        assert_eq!(c.owner.uid, "bob");
        let c: Card = serde_json::from_str(
            r#"{"id":1,"owner":{"uid":"amy","displayname":"Amy"},"labels":null}"#,
        )
        .unwrap();
        assert_eq!(c.owner.displayname, "Amy");
        assert!(c.labels.is_empty());
    }

    #[test]
    fn dates_and_colors_are_normalised() {
        assert_eq!(
            normalize_date("2030-01-02T10:00:00+02:00").as_deref(),
            Some("2030-01-02T08:00:00Z")
        );
        assert_eq!(normalize_date(""), None);
        assert_eq!(normalize_color("#FF00aa", "c").unwrap(), "ff00aa");
        assert!(normalize_color("red", "c").is_err());
    }

    #[test]
    fn long_text_is_split_at_boundaries() {
        let text = format!("{}\n\n{}", "a ".repeat(400), "b ".repeat(400));
        let parts = split_text(&text, 1000);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 1000));
        assert_eq!(split_text("short", 1000), vec!["short".to_string()]);
    }
}
