//! Nextcloud Talk (`spreed`, github.com/nextcloud/spreed): conversations, their participants,
//! chat messages and reactions through Talk's OCS API (conversations under
//! `/ocs/v2.php/apps/spreed/api/v4/room`, chat and reactions under `.../api/v1`).
//!
//! Talk's answers carry more than the body: a page of chat history is followed by asking for
//! the messages older than the `X-Chat-Last-Given` header, and "nothing (more) to read" is a
//! 304 without a body. [`Talk::messages`] folds both into a [`ChatPage`].
//!
//! Messages hold placeholders (`{mention-user1}`, `{file}`) whose values are in
//! `messageParameters`; [`Message::text`] renders them as readable text.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Request;
use crate::{Error, NextcloudUser, Result};

const ROOM_API: &str = "/ocs/v2.php/apps/spreed/api/v4/room";
const CHAT_API: &str = "/ocs/v2.php/apps/spreed/api/v1/chat";
const REACTION_API: &str = "/ocs/v2.php/apps/spreed/api/v1/reaction";

/// Message of Nextcloud's router for an OCS route nobody serves (the app is missing).
const INVALID_QUERY: &str = "Invalid query, please check the syntax.";

/// Conversation types (`type` of a room).
pub mod room_type {
    pub const ONE_TO_ONE: i64 = 1;
    pub const GROUP: i64 = 2;
    pub const PUBLIC: i64 = 3;
    pub const CHANGELOG: i64 = 4;
}

/// A conversation as the current user sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    #[serde(default)]
    pub id: u64,
    pub token: String,
    /// See [`room_type`].
    #[serde(rename = "type")]
    pub kind: i64,
    #[serde(default)]
    pub name: String,
    /// The name, or for one-to-one conversations the other person's name.
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The current user's role: 1 owner, 2 moderator, 3 user, 4 guest, 5 user via public link,
    /// 6 guest moderator.
    #[serde(default)]
    pub participant_type: Option<i64>,
    /// 1 when nobody may post.
    #[serde(default)]
    pub read_only: Option<i64>,
    #[serde(default)]
    pub unread_messages: Option<u64>,
    #[serde(default)]
    pub unread_mention: Option<bool>,
    /// Unix seconds.
    #[serde(default)]
    pub last_activity: Option<i64>,
    /// Id of the last message the current user has read.
    #[serde(default)]
    pub last_read_message: Option<i64>,
    #[serde(default)]
    pub is_favorite: Option<bool>,
    /// The newest message; Talk sends `[]` when there is none.
    #[serde(default, deserialize_with = "object_or_none")]
    pub last_message: Option<Message>,
}

/// A chat message (also system messages such as "X added Y").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: i64,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub actor_type: String,
    #[serde(default)]
    pub actor_id: String,
    #[serde(default)]
    pub actor_display_name: String,
    /// Unix seconds.
    #[serde(default)]
    pub timestamp: i64,
    /// With placeholders such as `{mention-user1}`; see [`Message::text`].
    #[serde(default)]
    pub message: String,
    /// Placeholder → rich object (`type`, `id`, `name`, ...); Talk sends `[]` for none.
    #[serde(default, deserialize_with = "object_or_empty")]
    pub message_parameters: Map<String, Value>,
    /// Empty for what people wrote, else the kind of system message (`user_added`, ...).
    #[serde(default)]
    pub system_message: String,
    /// `comment`, `comment_deleted`, `system`, `command`, `voice-message`, ...
    #[serde(default)]
    pub message_type: String,
    /// The message this one replies to.
    #[serde(default, deserialize_with = "object_or_none")]
    pub parent: Option<Box<Message>>,
    /// Emoji → how many reacted with it; `[]` from Talk when there are none.
    #[serde(default, deserialize_with = "object_or_empty_map")]
    pub reactions: BTreeMap<String, u64>,
    /// The emoji the current user reacted with.
    #[serde(default)]
    pub reactions_self: Option<Vec<String>>,
}

impl Message {
    /// The message as a person reads it: every `{placeholder}` with a parameter replaced by
    /// what it stands for (`@Display Name` for mentions, a file's name, ...); unknown
    /// placeholders stay as written.
    pub fn text(&self) -> String {
        render(&self.message, &self.message_parameters)
    }

    pub fn is_system(&self) -> bool {
        !self.system_message.is_empty()
    }
}

/// Renders a rich object string (see [`Message::text`]).
pub fn render(message: &str, parameters: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let key = &after[..close];
        match parameters.get(key) {
            Some(object) => out.push_str(&rich_object_text(object)),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// How a rich object reads in running text.
fn rich_object_text(object: &Value) -> String {
    let field = |k: &str| object.get(k).and_then(Value::as_str).unwrap_or_default();
    let name = match (field("name"), field("id")) {
        ("", id) => id,
        (name, _) => name,
    };
    match field("type") {
        "user" | "guest" | "email" | "user-group" | "group" | "circle" | "team" | "call"
        | "federated_user" => format!("@{name}"),
        _ => name.to_string(),
    }
}

/// One member of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(default)]
    pub attendee_id: u64,
    /// `users`, `groups`, `guests`, `emails`, `circles`, `federated_users`, ...
    pub actor_type: String,
    pub actor_id: String,
    #[serde(default)]
    pub display_name: String,
    /// 1 owner, 2 moderator, 3 user, 4 guest, 5 user via public link, 6 guest moderator.
    #[serde(default)]
    pub participant_type: i64,
    /// Call flags; 0 when not in the call.
    #[serde(default)]
    pub in_call: i64,
    /// Only with `include_status`: `online`, `away`, `dnd`, `offline`, ...
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_message: Option<String>,
}

/// Who reacted, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    #[serde(default)]
    pub actor_type: String,
    #[serde(default)]
    pub actor_id: String,
    #[serde(default)]
    pub actor_display_name: String,
    #[serde(default)]
    pub timestamp: i64,
}

/// The reactions of one message: emoji → who reacted with it.
pub type Reactions = BTreeMap<String, Vec<Reaction>>;

/// One page of chat history, newest message first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatPage {
    pub messages: Vec<Message>,
    /// `X-Chat-Last-Given`: ask with this as `last_known_message_id` for the next older page.
    /// `None` when Talk answered 304 (no older messages).
    pub last_given: Option<i64>,
}

/// Which part of the history to read.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryQuery {
    /// 1 to 200.
    pub limit: u32,
    /// Messages older than this one; the newest when `None`.
    pub last_known_message_id: Option<i64>,
    /// Include the `last_known_message_id` message itself.
    pub include_last_known: bool,
}

/// A new conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRoom {
    /// See [`room_type`]; 1 (one-to-one), 2 (group) or 3 (public).
    pub kind: i64,
    /// Not used for one-to-one conversations.
    pub name: Option<String>,
    /// A user id for one-to-one, a group id for a group conversation.
    pub invite: Option<String>,
}

/// Talk API of one user; from [`NextcloudUser::talk`].
pub struct Talk<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn talk(&self) -> Talk<'_> {
        Talk { user: self }
    }
}

/// Tokens are short strings of letters and digits; anything else cannot name a conversation
/// and would only reach the wrong URL.
fn checked_token(token: &str) -> Result<&str> {
    let token = token.trim();
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid_argument(
            "token",
            "expected a conversation token of letters and digits, as talk_list_conversations shows it",
        ));
    }
    Ok(token)
}

fn room_what(token: &str) -> String {
    format!("Talk conversation `{token}`")
}

fn message_what(token: &str, id: i64) -> String {
    format!("Message {id} in Talk conversation `{token}`")
}

/// A 404 from Nextcloud's router rather than Talk means Talk is not there.
fn explain(err: Error) -> Error {
    match err {
        Error::NotFound {
            message: Some(m), ..
        } if m.starts_with(INVALID_QUERY) => Error::AppNotInstalled { app: "Talk".into() },
        other => other,
    }
}

/// `[]` (PHP's empty array) or `null` as `None`, an object as `Some`.
fn object_or_none<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Ok(None),
    }
}

fn object_or_empty<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Map<String, Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => m,
        _ => Map::new(),
    })
}

fn object_or_empty_map<'de, D, T>(d: D) -> std::result::Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).map_err(serde::de::Error::custom),
        _ => Ok(BTreeMap::new()),
    }
}

impl Talk<'_> {
    /// Sends an OCS request and returns the status, the headers and the unwrapped data
    /// (`None` for 304, which has no body).
    async fn exchange<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<(StatusCode, http::HeaderMap, Option<T>)> {
        let what = request.what.clone();
        let resp = self.user.send(request).await.map_err(explain)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if status == StatusCode::NOT_MODIFIED {
            return Ok((status, headers, None));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::Transport(format!("reading the answer about {what}: {e}")))?;
        let data = crate::ocs::parse_response(&body, &what).map_err(explain)?;
        Ok((status, headers, Some(data)))
    }

    async fn data<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let what = request.what.clone();
        match self.exchange(request).await? {
            (_, _, Some(data)) => Ok(data),
            (status, _, None) => Err(Error::InvalidResponse(format!(
                "{what}: HTTP {status} without a body"
            ))),
        }
    }

    fn request(method: Method, path: &str, what: String) -> Result<Request> {
        crate::ocs::request(method, path, &what)
    }

    /// The user's conversations. `modified_since` (Unix seconds) keeps those active since
    /// then; `include_status` adds the other person's status to one-to-one conversations.
    pub async fn rooms(
        &self,
        modified_since: Option<i64>,
        include_status: bool,
    ) -> Result<Vec<Room>> {
        let mut path = format!("{ROOM_API}?includeStatus={include_status}");
        if let Some(since) = modified_since {
            path.push_str(&format!("&modifiedSince={since}"));
        }
        let r = Self::request(Method::GET, &path, "The Talk conversations".into())?;
        self.data(r).await
    }

    pub async fn room(&self, token: &str) -> Result<Room> {
        let token = checked_token(token)?;
        let r = Self::request(
            Method::GET,
            &format!("{ROOM_API}/{token}"),
            room_what(token),
        )?;
        self.data(r).await
    }

    /// Creates a conversation. For a one-to-one conversation that already exists Talk answers
    /// 200 with it instead of 201; the flag says whether a new one was made.
    pub async fn create_room(&self, new: &NewRoom) -> Result<(Room, bool)> {
        let mut body = Map::new();
        body.insert("roomType".into(), new.kind.into());
        if let Some(name) = &new.name {
            body.insert("roomName".into(), name.clone().into());
        }
        if let Some(invite) = &new.invite {
            body.insert("invite".into(), invite.clone().into());
            if new.kind == room_type::GROUP {
                body.insert("source".into(), "groups".into());
            }
        }
        let what = match &new.invite {
            Some(i) if new.kind == room_type::ONE_TO_ONE => format!("The user `{i}`"),
            Some(i) => format!("The group `{i}`"),
            None => "A new Talk conversation".into(),
        };
        let r = Self::request(Method::POST, ROOM_API, what)?.json(&Value::Object(body))?;
        match self.exchange(r).await? {
            (status, _, Some(room)) => Ok((room, status == StatusCode::CREATED)),
            (status, _, None) => Err(Error::InvalidResponse(format!(
                "creating a conversation: HTTP {status} without a body"
            ))),
        }
    }

    pub async fn participants(
        &self,
        token: &str,
        include_status: bool,
    ) -> Result<Vec<Participant>> {
        let token = checked_token(token)?;
        let r = Self::request(
            Method::GET,
            &format!("{ROOM_API}/{token}/participants?includeStatus={include_status}"),
            room_what(token),
        )?;
        self.data(r).await
    }

    /// Adds a user (`source` `users`), a group's members (`groups`), a team (`circles`) or an
    /// e-mail guest (`emails`). Only moderators may; adding someone already there changes
    /// nothing.
    pub async fn add_participant(
        &self,
        token: &str,
        participant: &str,
        source: &str,
    ) -> Result<()> {
        let token = checked_token(token)?;
        let r = Self::request(
            Method::POST,
            &format!("{ROOM_API}/{token}/participants"),
            format!("{} or `{participant}`", room_what(token)),
        )?
        .json(&json!({"newParticipant": participant, "source": source}))?;
        self.exchange::<Value>(r).await.map(drop)
    }

    /// A page of history, newest first, without moving the read marker.
    pub async fn messages(&self, token: &str, query: &HistoryQuery) -> Result<ChatPage> {
        let token = checked_token(token)?;
        let mut path = format!(
            "{CHAT_API}/{token}?lookIntoFuture=0&setReadMarker=0&limit={}&includeLastKnown={}",
            query.limit,
            u8::from(query.include_last_known)
        );
        if let Some(id) = query.last_known_message_id {
            path.push_str(&format!("&lastKnownMessageId={id}"));
        }
        let r = Self::request(Method::GET, &path, room_what(token))?;
        let (_, headers, data) = self.exchange::<Vec<Message>>(r).await?;
        let Some(messages) = data else {
            return Ok(ChatPage::default());
        };
        let last_given = headers
            .get("x-chat-last-given")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| messages.last().map(|m| m.id));
        Ok(ChatPage {
            messages,
            last_given,
        })
    }

    /// Posts a message, optionally as a reply to another one of the same conversation and
    /// silently (no notifications, not even for mentions).
    pub async fn send(
        &self,
        token: &str,
        message: &str,
        reply_to: Option<i64>,
        silent: bool,
    ) -> Result<Message> {
        let token = checked_token(token)?;
        let mut body = json!({"message": message, "silent": silent});
        if let Some(parent) = reply_to {
            body["replyTo"] = parent.into();
        }
        let r = Self::request(
            Method::POST,
            &format!("{CHAT_API}/{token}"),
            room_what(token),
        )?
        .json(&body)?;
        self.data(r).await
    }

    /// Moves the read marker to `last_read` (the newest message when `None`). Returns the
    /// conversation as Talk reports it afterwards.
    pub async fn mark_read(&self, token: &str, last_read: Option<i64>) -> Result<Room> {
        let token = checked_token(token)?;
        let body = match last_read {
            Some(id) => json!({"lastReadMessage": id}),
            None => json!({}),
        };
        let r = Self::request(
            Method::POST,
            &format!("{CHAT_API}/{token}/read"),
            room_what(token),
        )?
        .json(&body)?;
        // Talk before 18 answers an empty array; read the conversation then.
        match self.data::<Value>(r).await? {
            v @ Value::Object(_) => serde_json::from_value(v)
                .map_err(|e| Error::InvalidResponse(format!("the read marker's answer: {e}"))),
            _ => self.room(token).await,
        }
    }

    pub async fn reactions(&self, token: &str, message_id: i64) -> Result<Reactions> {
        let token = checked_token(token)?;
        let r = Self::request(
            Method::GET,
            &format!("{REACTION_API}/{token}/{message_id}"),
            message_what(token, message_id),
        )?;
        self.reaction_map(r).await
    }

    /// Reacts with an emoji; `false` with the reactions when it was already there (Talk
    /// answers 200 then, 201 for a new one).
    pub async fn react(
        &self,
        token: &str,
        message_id: i64,
        reaction: &str,
    ) -> Result<(Reactions, bool)> {
        let token = checked_token(token)?;
        let r = Self::request(
            Method::POST,
            &format!("{REACTION_API}/{token}/{message_id}"),
            message_what(token, message_id),
        )?
        .json(&json!({"reaction": reaction}))?;
        let (status, _, data) = self.exchange::<Value>(r).await?;
        Ok((
            reaction_map(data.unwrap_or_default())?,
            status == StatusCode::CREATED,
        ))
    }

    /// Takes back one's own reaction; 404 when there was none.
    pub async fn remove_reaction(
        &self,
        token: &str,
        message_id: i64,
        reaction: &str,
    ) -> Result<Reactions> {
        let token = checked_token(token)?;
        let r = Self::request(
            Method::DELETE,
            &format!("{REACTION_API}/{token}/{message_id}"),
            format!("Your reaction {reaction} to message {message_id} in `{token}`"),
        )?
        .json(&json!({"reaction": reaction}))?;
        self.reaction_map(r).await
    }

    async fn reaction_map(&self, request: Request) -> Result<Reactions> {
        reaction_map(self.data::<Value>(request).await?)
    }
}

/// Talk sends `{}` or `[]` for "no reactions".
fn reaction_map(v: Value) -> Result<Reactions> {
    match v {
        v @ Value::Object(_) => {
            serde_json::from_value(v).map_err(|e| Error::InvalidResponse(format!("reactions: {e}")))
        }
        _ => Ok(Reactions::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_render_as_text() {
        let params = json!({
            "mention-user1": {"type": "user", "id": "bob", "name": "Bob Builder"},
            "file": {"type": "file", "id": "42", "name": "Budget.xlsx", "path": "Documents/Budget.xlsx"},
            "actor": {"type": "user", "id": "alice", "name": ""},
        });
        let params = params.as_object().unwrap();
        assert_eq!(
            render("Hi {mention-user1}, see {file}", params),
            "Hi @Bob Builder, see Budget.xlsx"
        );
        assert_eq!(render("{actor} joined", params), "@alice joined");
        assert_eq!(render("{unknown} {", params), "{unknown} {");
        assert_eq!(render("plain", &Map::new()), "plain");
    }

    #[test]
    fn php_empty_arrays_are_empty_maps() {
        let m: Message = serde_json::from_value(json!({
            "id": 3, "token": "abc", "actorType": "users", "actorId": "a",
            "actorDisplayName": "A", "timestamp": 1, "message": "x",
            "messageParameters": [], "systemMessage": "", "messageType": "comment",
            "reactions": []
        }))
        .unwrap();
        assert!(m.message_parameters.is_empty() && m.reactions.is_empty());
        let r: Room = serde_json::from_value(json!({
            "id": 1, "token": "abc", "type": 2, "name": "n", "displayName": "n",
            "lastMessage": []
        }))
        .unwrap();
        assert!(r.last_message.is_none());
    }

    #[test]
    fn tokens_are_checked() {
        assert_eq!(checked_token(" ab12 ").unwrap(), "ab12");
        for bad in ["", "../x", "a b", "a/b"] {
            let e = checked_token(bad).unwrap_err();
            assert!(e.to_string().contains("`token`"), "{e}");
        }
    }
}
