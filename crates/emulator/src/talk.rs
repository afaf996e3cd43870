//! Nextcloud Talk (`spreed` 21): conversations (`/ocs/v2.php/apps/spreed/api/v4/room`), their
//! participants, chat (`.../api/v1/chat/{token}`) with read markers, and reactions
//! (`.../api/v1/reaction/{token}/{messageId}`).
//!
//! Kept from Talk: history comes newest first in pages, the `X-Chat-Last-Given` header names
//! the oldest message given (the offset of the next page), and an empty page is a bare 304;
//! `X-Chat-Last-Common-Read` is sent when the client asks with `lastCommonReadId` and on
//! posting and marking read. `@userid` in a posted message becomes a `{mention-userN}`
//! placeholder with its rich object, and file shares are `{file}` messages. Creating a
//! one-to-one conversation that exists answers 200 with it; a new one 201. Adding and creating
//! leave system messages (`conversation_created`, `user_added`). Reacting twice answers 200,
//! removing a reaction that is not there 404, reacting to a system message 400. The
//! capability's `features` can be changed per test ([`set_features`]); without `reactions`
//! the reaction routes are missing, as on a Talk that predates them. Calls, guests, lobbies,
//! passwords, breakout rooms, polls and federation are not emulated.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::ocs::{AppCall, OcsResult, OcsVersion, app_call, render, router_not_found};
use crate::params::Params;
use crate::state::{AppState, World};

/// The features a fresh emulator's Talk announces.
pub const DEFAULT_FEATURES: &[&str] = &[
    "audio",
    "video",
    "chat-v2",
    "conversation-v4",
    "favorites",
    "chat-read-marker",
    "chat-unread",
    "chat-replies",
    "chat-read-status",
    "chat-reference-id",
    "mention-flag",
    "unread-mention-direct",
    "silent-send",
    "rich-object-sharing",
    "reactions",
    "rich-object-list-media",
];

const MAX_LENGTH: usize = 32_000;

/// Participant types.
const OWNER: i64 = 1;
const MODERATOR: i64 = 2;
const USER: i64 = 3;

/// Every conversation and message (ids are global, like Talk's tables).
#[derive(Debug, Default)]
pub struct TalkState {
    rooms: BTreeMap<String, RoomRec>,
    messages: BTreeMap<i64, MsgRec>,
    last_room: u64,
    last_attendee: u64,
    last_message: i64,
    /// The capability's `features`; `None` for [`DEFAULT_FEATURES`].
    features: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct RoomRec {
    id: u64,
    kind: i64,
    name: String,
    description: String,
    participants: Vec<PartRec>,
    last_activity: i64,
}

#[derive(Debug, Clone)]
struct PartRec {
    attendee_id: u64,
    actor_id: String,
    display_name: String,
    participant_type: i64,
    last_read: i64,
}

#[derive(Debug, Clone)]
struct MsgRec {
    token: String,
    actor_id: String,
    actor_name: String,
    timestamp: i64,
    message: String,
    params: Map<String, Value>,
    system: String,
    parent: Option<i64>,
    /// (emoji, actor id, actor name, time), in the order given.
    reactions: Vec<(String, String, String, i64)>,
}

/// How a request failed: an OCS status with empty data, or the router's "no such route".
enum Fail {
    Status(u16),
    NoRoute,
}

impl From<u16> for Fail {
    fn from(s: u16) -> Self {
        Fail::Status(s)
    }
}

/// What a handled request answers: data, its status and extra headers; or a bare 304.
enum Answer {
    Data(Value, u16, Vec<(&'static str, String)>),
    NotModified,
}

fn ok(v: Value) -> Result<Answer, Fail> {
    Ok(Answer::Data(v, 200, Vec::new()))
}

fn display_name(world: &World, uid: &str) -> String {
    world
        .users
        .get(uid)
        .map(|u| u.display_name.clone())
        .unwrap_or_else(|| uid.to_string())
}

fn room_token(n: u64) -> String {
    // Talk's tokens are 8 random characters of [a-z0-9]; a counter mixed into a fixed
    // alphabet keeps them unique and tests deterministic.
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
    (0..8)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

impl TalkState {
    pub fn features(&self) -> Vec<String> {
        self.features
            .clone()
            .unwrap_or_else(|| DEFAULT_FEATURES.iter().map(|s| s.to_string()).collect())
    }

    fn has_feature(&self, f: &str) -> bool {
        self.features().iter().any(|x| x == f)
    }

    fn participant<'a>(
        &'a self,
        token: &str,
        uid: &str,
    ) -> Result<(&'a RoomRec, &'a PartRec), Fail> {
        let room = self.rooms.get(token).ok_or(Fail::Status(404))?;
        let me = room
            .participants
            .iter()
            .find(|p| p.actor_id == uid)
            .ok_or(Fail::Status(404))?;
        Ok((room, me))
    }

    fn create_room(&mut self, kind: i64, name: &str, owner: (&str, &str), now: i64) -> String {
        self.last_room += 1;
        let token = room_token(self.last_room);
        self.last_attendee += 1;
        self.rooms.insert(
            token.clone(),
            RoomRec {
                id: self.last_room,
                kind,
                name: name.to_string(),
                description: String::new(),
                participants: vec![PartRec {
                    attendee_id: self.last_attendee,
                    actor_id: owner.0.to_string(),
                    display_name: owner.1.to_string(),
                    participant_type: OWNER,
                    last_read: 0,
                }],
                last_activity: now,
            },
        );
        token
    }

    /// Adds a user; false when already there.
    fn add(&mut self, token: &str, uid: &str, name: &str, kind: i64) -> bool {
        let Some(room) = self.rooms.get_mut(token) else {
            return false;
        };
        if room.participants.iter().any(|p| p.actor_id == uid) {
            return false;
        }
        self.last_attendee += 1;
        // A newcomer has read nothing yet but is not shown the history as unread.
        let last_read = self
            .messages
            .iter()
            .rev()
            .find(|(_, m)| m.token == token)
            .map(|(id, _)| *id)
            .unwrap_or(0);
        room.participants.push(PartRec {
            attendee_id: self.last_attendee,
            actor_id: uid.to_string(),
            display_name: name.to_string(),
            participant_type: kind,
            last_read,
        });
        true
    }

    // Every field of a message is its own argument: the callers read like the rows they add.
    #[allow(clippy::too_many_arguments)]
    fn post(
        &mut self,
        token: &str,
        actor: (&str, &str),
        message: &str,
        params: Map<String, Value>,
        system: &str,
        parent: Option<i64>,
        now: i64,
    ) -> i64 {
        self.last_message += 1;
        let id = self.last_message;
        self.messages.insert(
            id,
            MsgRec {
                token: token.to_string(),
                actor_id: actor.0.to_string(),
                actor_name: actor.1.to_string(),
                timestamp: now,
                message: message.to_string(),
                params,
                system: system.to_string(),
                parent,
                reactions: Vec::new(),
            },
        );
        if let Some(room) = self.rooms.get_mut(token) {
            room.last_activity = now;
            if system.is_empty()
                && let Some(p) = room.participants.iter_mut().find(|p| p.actor_id == actor.0)
            {
                p.last_read = id;
            }
        }
        id
    }

    fn system(
        &mut self,
        token: &str,
        actor: (&str, &str),
        kind: &str,
        text: &str,
        extra: Option<(&str, &str)>,
        now: i64,
    ) {
        let mut params = Map::new();
        params.insert(
            "actor".into(),
            json!({"type": "user", "id": actor.0, "name": actor.1}),
        );
        if let Some((id, name)) = extra {
            params.insert(
                "user".into(),
                json!({"type": "user", "id": id, "name": name}),
            );
        }
        self.post(token, actor, text, params, kind, None, now);
    }

    fn message_json(&self, id: i64, m: &MsgRec, uid: &str, with_parent: bool) -> Value {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let mut mine: Vec<&str> = Vec::new();
        for (emoji, actor, _, _) in &m.reactions {
            *counts.entry(emoji).or_default() += 1;
            if actor == uid {
                mine.push(emoji);
            }
        }
        let mut v = json!({
            "id": id,
            "token": m.token,
            "actorType": "users",
            "actorId": m.actor_id,
            "actorDisplayName": m.actor_name,
            "timestamp": m.timestamp,
            "message": m.message,
            "messageParameters": if m.params.is_empty() { json!([]) } else { Value::Object(m.params.clone()) },
            "systemMessage": m.system,
            "messageType": if m.system.is_empty() { "comment" } else { "system" },
            "isReplyable": m.system.is_empty(),
            "referenceId": "",
            "expirationTimestamp": 0,
            "markdown": true,
            "reactions": if counts.is_empty() { json!([]) } else { json!(counts) },
        });
        if !mine.is_empty() {
            v["reactionsSelf"] = json!(mine);
        }
        if with_parent
            && let Some(pid) = m.parent
            && let Some(p) = self.messages.get(&pid)
        {
            v["parent"] = self.message_json(pid, p, uid, false);
        }
        v
    }

    fn room_json(&self, token: &str, uid: &str) -> Value {
        let room = &self.rooms[token];
        let me = room.participants.iter().find(|p| p.actor_id == uid);
        let last_read = me.map_or(0, |p| p.last_read);
        let newer: Vec<(&i64, &MsgRec)> = self
            .messages
            .iter()
            .filter(|(id, m)| m.token == token && **id > last_read)
            .collect();
        let unread = newer.iter().filter(|(_, m)| m.system.is_empty()).count();
        let mention = newer.iter().any(|(_, m)| {
            m.params
                .values()
                .any(|p| p["type"] == "user" && p["id"] == uid && p.get("mention").is_some())
        });
        // One-to-one conversations are named after the other person.
        let display = if room.kind == 1 {
            room.participants
                .iter()
                .find(|p| p.actor_id != uid)
                .map(|p| p.display_name.clone())
                .unwrap_or_else(|| room.name.clone())
        } else {
            room.name.clone()
        };
        let last = self
            .messages
            .iter()
            .rev()
            .find(|(_, m)| m.token == token)
            .map(|(id, m)| self.message_json(*id, m, uid, false))
            .unwrap_or_else(|| json!([]));
        let common_read = room
            .participants
            .iter()
            .map(|p| p.last_read)
            .min()
            .unwrap_or(0);
        json!({
            "id": room.id,
            "token": token,
            "type": room.kind,
            "name": room.name,
            "displayName": display,
            "description": room.description,
            "participantType": me.map_or(USER, |p| p.participant_type),
            "attendeeId": me.map_or(0, |p| p.attendee_id),
            "actorType": "users",
            "actorId": uid,
            "permissions": 254,
            "readOnly": 0,
            "listable": 0,
            "hasPassword": false,
            "hasCall": false,
            "lobbyState": 0,
            "notificationLevel": if room.kind == 1 { 1 } else { 2 },
            "isFavorite": false,
            "unreadMessages": unread,
            "unreadMention": mention,
            "unreadMentionDirect": mention,
            "lastActivity": room.last_activity,
            "lastReadMessage": last_read,
            "lastCommonReadMessage": common_read,
            "lastMessage": last,
            "canDeleteConversation": me.is_some_and(|p| p.participant_type <= MODERATOR) && room.kind != 1,
            "canLeaveConversation": true,
        })
    }

    fn common_read(&self, token: &str) -> i64 {
        self.rooms
            .get(token)
            .and_then(|r| r.participants.iter().map(|p| p.last_read).min())
            .unwrap_or(0)
    }

    /// Replaces `@userid` of known accounts by `{mention-userN}` with their rich objects.
    fn mentions(world: &World, message: &str) -> (String, Map<String, Value>) {
        let mut params = Map::new();
        let mut out = String::new();
        let mut rest = message;
        let mut by_user: BTreeMap<String, String> = BTreeMap::new();
        while let Some(at) = rest.find('@') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .unwrap_or(after.len());
            let word = after[..end].trim_end_matches('.');
            match world.users.get(word) {
                Some(user) if !word.is_empty() => {
                    let n = by_user.len() + 1;
                    let key = by_user
                        .entry(word.to_string())
                        .or_insert_with(|| format!("mention-user{n}"))
                        .clone();
                    params.insert(
                        key.clone(),
                        json!({"type": "user", "id": word, "name": user.display_name, "mention": true}),
                    );
                    out.push('{');
                    out.push_str(&key);
                    out.push('}');
                    rest = &after[word.len()..];
                }
                _ => {
                    out.push('@');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        (out, params)
    }

    fn history(&self, token: &str, uid: &str, p: &Params) -> Result<Answer, Fail> {
        let future = p.int("lookIntoFuture").unwrap_or(0) == 1;
        let limit = p.int("limit").unwrap_or(100).clamp(1, 200) as usize;
        let known = p.int("lastKnownMessageId").unwrap_or(0);
        let include = p.int("includeLastKnown").unwrap_or(0) == 1;
        let in_room = self.messages.iter().filter(|(_, m)| m.token == token);
        let picked: Vec<(&i64, &MsgRec)> = if future {
            in_room
                .filter(|(id, _)| **id > known || (include && **id == known))
                .take(limit)
                .collect()
        } else {
            in_room
                .rev()
                .filter(|(id, _)| known <= 0 || **id < known || (include && **id == known))
                .take(limit)
                .collect()
        };
        let Some((last_given, _)) = picked.last() else {
            return Ok(Answer::NotModified);
        };
        let mut headers = vec![("X-Chat-Last-Given", last_given.to_string())];
        if p.raw("lastCommonReadId").is_some() {
            headers.push((
                "X-Chat-Last-Common-Read",
                self.common_read(token).to_string(),
            ));
        }
        let list: Vec<Value> = picked
            .iter()
            .map(|(id, m)| self.message_json(**id, m, uid, true))
            .collect();
        Ok(Answer::Data(Value::Array(list), 200, headers))
    }

    fn reactions_json(&self, id: i64, filter: Option<&str>) -> Value {
        let mut map: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for (emoji, actor, name, at) in &self.messages[&id].reactions {
            if filter.is_some_and(|f| f != emoji) {
                continue;
            }
            map.entry(emoji).or_default().push(json!({
                "actorType": "users", "actorId": actor, "actorDisplayName": name, "timestamp": at,
            }));
        }
        // Talk answers `{}` in JSON when there are none.
        json!(map)
    }

    /// The message, when it is in this conversation.
    fn message_in(&self, token: &str, id: i64) -> Result<&MsgRec, Fail> {
        self.messages
            .get(&id)
            .filter(|m| m.token == token)
            .ok_or(Fail::Status(404))
    }
}

fn handle(
    world: &mut World,
    uid: &str,
    method: &Method,
    seg: &[&str],
    p: &Params,
    now: i64,
) -> Result<Answer, Fail> {
    let me_name = display_name(world, uid);
    let me = (uid, me_name.as_str());
    match (method, seg) {
        (&Method::GET, ["v4", "room"]) => {
            let since = p.int("modifiedSince").unwrap_or(0);
            let st = &world.talk;
            let mut rooms: Vec<&String> = st
                .rooms
                .iter()
                .filter(|(_, r)| r.participants.iter().any(|x| x.actor_id == uid))
                .filter(|(_, r)| since <= 0 || r.last_activity > since)
                .map(|(t, _)| t)
                .collect();
            rooms.sort_by_key(|t| std::cmp::Reverse(st.rooms[*t].last_activity));
            let list: Vec<Value> = rooms.iter().map(|t| st.room_json(t, uid)).collect();
            Ok(Answer::Data(
                Value::Array(list),
                200,
                vec![("X-Nextcloud-Talk-Modified-Before", now.to_string())],
            ))
        }
        (&Method::POST, ["v4", "room"]) => {
            let kind = p.int("roomType").unwrap_or(0);
            let invite = p.string("invite").unwrap_or_default();
            let name = p.string("roomName").unwrap_or_default();
            match kind {
                1 => {
                    let Some(other) = world.users.get(&invite) else {
                        return Err(404.into());
                    };
                    let other_name = other.display_name.clone();
                    let existing = world.talk.rooms.iter().find(|(_, r)| {
                        r.kind == 1
                            && r.participants.iter().any(|x| x.actor_id == uid)
                            && r.participants.iter().any(|x| x.actor_id == invite)
                    });
                    if let Some((token, _)) = existing {
                        let token = token.clone();
                        return Ok(Answer::Data(world.talk.room_json(&token, uid), 200, vec![]));
                    }
                    let pair = [uid, invite.as_str()];
                    let token = world.talk.create_room(
                        1,
                        &serde_json::to_string(&pair).unwrap_or_default(),
                        me,
                        now,
                    );
                    world.talk.add(&token, &invite, &other_name, OWNER);
                    world.talk.system(
                        &token,
                        me,
                        "conversation_created",
                        "{actor} created the conversation",
                        None,
                        now,
                    );
                    Ok(Answer::Data(world.talk.room_json(&token, uid), 201, vec![]))
                }
                2 | 3 => {
                    let name = name.trim();
                    if name.is_empty() || name.chars().count() > 255 {
                        return Err(400.into());
                    }
                    let members: Vec<(String, String)> = if kind == 2 && !invite.is_empty() {
                        let m: Vec<(String, String)> = world
                            .users
                            .values()
                            .filter(|u| u.groups.contains(&invite))
                            .map(|u| (u.id.clone(), u.display_name.clone()))
                            .collect();
                        if m.is_empty() {
                            return Err(404.into());
                        }
                        m
                    } else {
                        Vec::new()
                    };
                    let token = world.talk.create_room(kind, name, me, now);
                    world.talk.system(
                        &token,
                        me,
                        "conversation_created",
                        "{actor} created the conversation",
                        None,
                        now,
                    );
                    for (id, n) in members {
                        if world.talk.add(&token, &id, &n, USER) {
                            world.talk.system(
                                &token,
                                me,
                                "user_added",
                                "{actor} added {user}",
                                Some((&id, &n)),
                                now,
                            );
                        }
                    }
                    Ok(Answer::Data(world.talk.room_json(&token, uid), 201, vec![]))
                }
                _ => Err(400.into()),
            }
        }
        (&Method::GET, ["v4", "room", token]) => {
            world.talk.participant(token, uid)?;
            ok(world.talk.room_json(token, uid))
        }
        (&Method::GET, ["v4", "room", token, "participants"]) => {
            let (room, _) = world.talk.participant(token, uid)?;
            let status = p.bool("includeStatus").unwrap_or(false);
            let list: Vec<Value> = room
                .participants
                .iter()
                .map(|x| {
                    let mut v = json!({
                        "attendeeId": x.attendee_id,
                        "actorType": "users",
                        "actorId": x.actor_id,
                        "displayName": x.display_name,
                        "participantType": x.participant_type,
                        "lastPing": 0,
                        "inCall": 0,
                        "permissions": 254,
                        "attendeePermissions": 0,
                        "sessionIds": [],
                    });
                    if status {
                        v["status"] = json!("offline");
                        v["statusIcon"] = Value::Null;
                        v["statusMessage"] = Value::Null;
                        v["statusClearAt"] = Value::Null;
                    }
                    v
                })
                .collect();
            ok(Value::Array(list))
        }
        (&Method::POST, ["v4", "room", token, "participants"]) => {
            let (room, mine) = world.talk.participant(token, uid)?;
            if room.kind == 1 {
                return Err(400.into());
            }
            if mine.participant_type > MODERATOR {
                return Err(403.into());
            }
            let who = p.string("newParticipant").unwrap_or_default();
            let people: Vec<(String, String)> =
                match p.string("source").as_deref().unwrap_or("users") {
                    "users" => match world.users.get(&who) {
                        Some(u) => vec![(u.id.clone(), u.display_name.clone())],
                        None => return Err(404.into()),
                    },
                    "groups" => {
                        let m: Vec<(String, String)> = world
                            .users
                            .values()
                            .filter(|u| u.groups.contains(&who))
                            .map(|u| (u.id.clone(), u.display_name.clone()))
                            .collect();
                        if m.is_empty() {
                            return Err(404.into());
                        }
                        m
                    }
                    _ => return Err(400.into()),
                };
            let token = token.to_string();
            for (id, n) in people {
                if world.talk.add(&token, &id, &n, USER) {
                    world.talk.system(
                        &token,
                        me,
                        "user_added",
                        "{actor} added {user}",
                        Some((&id, &n)),
                        now,
                    );
                }
            }
            ok(json!([]))
        }
        (&Method::GET, ["v1", "chat", token]) => {
            world.talk.participant(token, uid)?;
            world.talk.history(token, uid, p)
        }
        (&Method::POST, ["v1", "chat", token]) => {
            world.talk.participant(token, uid)?;
            let message = p.string("message").unwrap_or_default();
            if message.trim().is_empty() {
                return Err(400.into());
            }
            if message.chars().count() > MAX_LENGTH {
                return Err(413.into());
            }
            let parent = match p.int("replyTo").filter(|id| *id > 0) {
                Some(id) => {
                    let m = world
                        .talk
                        .message_in(token, id)
                        .map_err(|_| Fail::Status(400))?;
                    if !m.system.is_empty() {
                        return Err(400.into());
                    }
                    Some(id)
                }
                None => None,
            };
            let (text, params) = TalkState::mentions(world, &message);
            let token = token.to_string();
            let id = world.talk.post(&token, me, &text, params, "", parent, now);
            let v = world
                .talk
                .message_json(id, &world.talk.messages[&id], uid, true);
            let common = world.talk.common_read(&token).to_string();
            Ok(Answer::Data(
                v,
                201,
                vec![("X-Chat-Last-Common-Read", common)],
            ))
        }
        (&Method::POST, ["v1", "chat", token, "read"]) => {
            world.talk.participant(token, uid)?;
            let newest = world
                .talk
                .messages
                .iter()
                .rev()
                .find(|(_, m)| m.token == *token)
                .map_or(0, |(id, _)| *id);
            let to = p
                .int("lastReadMessage")
                .filter(|id| *id > 0)
                .unwrap_or(newest);
            let token = token.to_string();
            if let Some(room) = world.talk.rooms.get_mut(&token)
                && let Some(mine) = room.participants.iter_mut().find(|x| x.actor_id == uid)
            {
                mine.last_read = to;
            }
            let common = world.talk.common_read(&token).to_string();
            Ok(Answer::Data(
                world.talk.room_json(&token, uid),
                200,
                vec![("X-Chat-Last-Common-Read", common)],
            ))
        }
        (_, ["v1", "reaction", token, id]) if world.talk.has_feature("reactions") => {
            world.talk.participant(token, uid)?;
            let id = crate::params::php_intval(id);
            let m = world.talk.message_in(token, id)?;
            let is_system = !m.system.is_empty();
            let reaction = p.string("reaction").unwrap_or_default();
            match *method {
                Method::GET => ok(world
                    .talk
                    .reactions_json(id, p.string("reaction").as_deref())),
                Method::POST => {
                    if is_system || reaction.trim().is_empty() {
                        return Err(400.into());
                    }
                    let Some(m) = world.talk.messages.get_mut(&id) else {
                        return Err(404.into());
                    };
                    let status = if m
                        .reactions
                        .iter()
                        .any(|(e, a, _, _)| *e == reaction && a == uid)
                    {
                        200
                    } else {
                        m.reactions
                            .push((reaction, uid.to_string(), me_name.clone(), now));
                        201
                    };
                    Ok(Answer::Data(
                        world.talk.reactions_json(id, None),
                        status,
                        vec![],
                    ))
                }
                Method::DELETE => {
                    let Some(m) = world.talk.messages.get_mut(&id) else {
                        return Err(404.into());
                    };
                    let before = m.reactions.len();
                    m.reactions
                        .retain(|(e, a, _, _)| !(*e == reaction && a == uid));
                    if m.reactions.len() == before {
                        return Err(404.into());
                    }
                    ok(world.talk.reactions_json(id, None))
                }
                _ => Err(Fail::NoRoute),
            }
        }
        _ => Err(Fail::NoRoute),
    }
}

/// `/ocs/v2.php/apps/spreed/api/{*rest}`.
pub async fn api(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let now = state.now();
    let AppCall {
        format,
        user,
        params,
        mut world,
    } = match app_call(&state, "spreed", query.as_deref(), &headers, &body) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    match handle(&mut world, &user, &method, &seg, &params, now) {
        Ok(Answer::NotModified) => StatusCode::NOT_MODIFIED.into_response(),
        Ok(Answer::Data(data, status, extra)) => {
            let mut resp = render(
                OcsVersion::V2,
                format,
                OcsResult {
                    status,
                    message: None,
                    data,
                },
            );
            for (name, value) in extra {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    resp.headers_mut().insert(name, v);
                }
            }
            resp
        }
        Err(Fail::Status(status)) => render(
            OcsVersion::V2,
            format,
            OcsResult {
                status,
                message: None,
                data: json!([]),
            },
        ),
        Err(Fail::NoRoute) => router_not_found(query.as_deref()),
    }
}

/// The `spreed` capability.
pub fn capability(state: &AppState) -> Value {
    json!({
        "features": state.world().talk.features(),
        "config": {
            "attachments": {"allowed": true, "folder": "/Talk"},
            "chat": {"max-length": MAX_LENGTH, "read-privacy": 0, "typing-privacy": 0},
            "conversations": {"can-create": true},
            "call": {"enabled": true},
        },
        "version": state.app_version("spreed").unwrap_or("21.1.0"),
    })
}

/// Replaces the capability's `features` (tests switch `reactions` off with it); `None`
/// restores the defaults.
pub fn set_features(state: &AppState, features: Option<Vec<String>>) {
    state.world().talk.features = features;
}

/// The stored text and placeholders of a message, its conversation's token and its author:
/// what tests check a tool's post against.
pub fn message(state: &AppState, id: i64) -> Option<(String, String, String, Map<String, Value>)> {
    let world = state.world();
    let m = world.talk.messages.get(&id)?;
    Some((
        m.token.clone(),
        m.actor_id.clone(),
        m.message.clone(),
        m.params.clone(),
    ))
}

/// Ids of the messages of a conversation, oldest first.
pub fn message_ids(state: &AppState, token: &str) -> Vec<i64> {
    let world = state.world();
    world
        .talk
        .messages
        .iter()
        .filter(|(_, m)| m.token == token)
        .map(|(id, _)| *id)
        .collect()
}

/// The participants' user ids and read markers of a conversation.
pub fn read_markers(state: &AppState, token: &str) -> Vec<(String, i64)> {
    let world = state.world();
    world
        .talk
        .rooms
        .get(token)
        .map(|r| {
            r.participants
                .iter()
                .map(|p| (p.actor_id.clone(), p.last_read))
                .collect()
        })
        .unwrap_or_default()
}

/// The reactions of a message as (emoji, user id).
pub fn reactions(state: &AppState, id: i64) -> Vec<(String, String)> {
    let world = state.world();
    world
        .talk
        .messages
        .get(&id)
        .map(|m| {
            m.reactions
                .iter()
                .map(|(e, a, _, _)| (e.clone(), a.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Posts as `uid` (who must take part) directly, as another client of that person would;
/// `@userid` becomes a mention. The message id, or `None` without such a conversation.
pub fn post_as(state: &AppState, token: &str, uid: &str, message: &str) -> Option<i64> {
    let now = state.now();
    let mut world = state.world();
    world.talk.participant(token, uid).ok()?;
    let name = display_name(&world, uid);
    let (text, params) = TalkState::mentions(&world, message);
    Some(
        world
            .talk
            .post(token, (uid, &name), &text, params, "", None, now),
    )
}

/// Demo conversations for `uid`: a team room with a mention of them and a shared file, and a
/// one-to-one chat with a colleague who is not an account of this emulator.
pub fn seed(state: &AppState, uid: &str) {
    if !state.app_installed("spreed") {
        return;
    }
    let now = state.now();
    let mut world = state.world();
    let me_name = display_name(&world, uid);
    let me = (uid, me_name.as_str());
    let anna = ("anna", "Anna Schmidt");
    let ben = ("ben", "Ben Okafor");
    let st = &mut world.talk;

    let team = st.create_room(2, "Project Apollo", me, now - 7200);
    st.system(
        &team,
        me,
        "conversation_created",
        "{actor} created the conversation",
        None,
        now - 7200,
    );
    for (id, name) in [anna, ben] {
        st.add(&team, id, name, USER);
        st.system(
            &team,
            me,
            "user_added",
            "{actor} added {user}",
            Some((id, name)),
            now - 7100,
        );
    }
    st.post(
        &team,
        me,
        "Kick-off notes are in the shared folder.",
        Map::new(),
        "",
        None,
        now - 3600,
    );
    let mut mention = Map::new();
    mention.insert(
        "mention-user1".into(),
        json!({"type": "user", "id": uid, "name": me_name, "mention": true}),
    );
    let question = st.post(
        &team,
        anna,
        "{mention-user1} could you review the budget before Friday?",
        mention,
        "",
        None,
        now - 1800,
    );
    let mut file = Map::new();
    file.insert(
        "file".into(),
        json!({
            "type": "file", "id": "4711", "name": "Budget.csv", "path": "Documents/Budget.csv",
            "mimetype": "text/csv", "size": 96, "link": "/f/4711",
        }),
    );
    st.post(&team, anna, "{file}", file, "", None, now - 1790);
    let reply = st.post(
        &team,
        ben,
        "I added the beta support costs.",
        Map::new(),
        "",
        Some(question),
        now - 900,
    );
    if let Some(m) = st.messages.get_mut(&reply) {
        m.reactions
            .push(("👍".into(), "anna".into(), "Anna Schmidt".into(), now - 800));
    }

    let direct = st.create_room(1, &format!("[\"{uid}\",\"anna\"]"), me, now - 86_400);
    st.add(&direct, anna.0, anna.1, OWNER);
    st.post(
        &direct,
        anna,
        "Lunch at 12:30 tomorrow?",
        Map::new(),
        "",
        None,
        now - 600,
    );
}
