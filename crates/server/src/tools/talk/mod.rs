//! Nextcloud Talk tools: `talk_*`. Shown only where Talk (`spreed`) is installed; the reaction
//! tools also need the `reactions` feature in Talk's capabilities.

pub(super) mod read;
pub(super) mod write;

use std::collections::BTreeMap;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::NextcloudMcp;
use crate::tools::common::{ToolError, non_empty};
use nextcloud::talk::{Message, Participant, Reactions, Room};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::talk_read_router() + NextcloudMcp::talk_write_router()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TokenArgs {
    pub token: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MessageArgs {
    pub token: String,
    pub message_id: u64,
}

/// The token, trimmed and not empty (the client checks its characters).
pub(crate) fn token(value: &str) -> Result<&str, ToolError> {
    non_empty(
        "token",
        value,
        "expected a conversation token, as talk_list_conversations shows it",
    )
}

/// A message id as Talk's API takes it.
pub(crate) fn message_id(name: &'static str, id: u64) -> Result<i64, ToolError> {
    match i64::try_from(id) {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ToolError::invalid(
            name,
            format!("expected a message id from talk_get_messages, got {id}"),
        )),
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConversationOut {
    pub token: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_messages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_mention: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<String>,
}

impl From<Room> for ConversationOut {
    fn from(r: Room) -> Self {
        Self {
            name: if r.display_name.is_empty() {
                r.name
            } else {
                r.display_name
            },
            token: r.token,
            kind: r.kind,
            unread_messages: r.unread_messages,
            unread_mention: r.unread_mention,
            last_activity: r.last_activity,
            last_message: r
                .last_message
                .map(|m| format!("{}: {}", m.actor_display_name, m.text())),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MessageOut {
    pub id: i64,
    pub author: String,
    pub author_id: String,
    pub timestamp: i64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, u64>,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        Self {
            text: m.text(),
            system: m.is_system().then(|| m.system_message.clone()),
            reply_to: m.parent.as_ref().map(|p| p.id),
            id: m.id,
            author: m.actor_display_name,
            author_id: m.actor_id,
            timestamp: m.timestamp,
            reactions: m.reactions,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ParticipantOut {
    pub actor_type: String,
    pub actor_id: String,
    pub display_name: String,
    pub participant_type: i64,
    pub in_call: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl From<Participant> for ParticipantOut {
    fn from(p: Participant) -> Self {
        Self {
            actor_type: p.actor_type,
            actor_id: p.actor_id,
            display_name: p.display_name,
            participant_type: p.participant_type,
            in_call: p.in_call != 0,
            status: p.status,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReactorOut {
    pub actor_id: String,
    pub name: String,
}

/// Emoji → who reacted with it.
pub(crate) fn reactors(r: Reactions) -> BTreeMap<String, Vec<ReactorOut>> {
    r.into_iter()
        .map(|(emoji, who)| {
            let who = who
                .into_iter()
                .map(|w| ReactorOut {
                    actor_id: w.actor_id,
                    name: w.actor_display_name,
                })
                .collect();
            (emoji, who)
        })
        .collect()
}
