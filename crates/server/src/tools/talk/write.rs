use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ConversationOut, MessageOut, message_id, token};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, given, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::talk::{NewRoom, room_type};

/// Talk's limit for one message, in characters.
const MAX_LENGTH: usize = 32_000;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SendArgs {
    pub token: String,
    /// @userid mentions.
    pub message: String,
    #[serde(default)]
    pub reply_to: Option<u64>,
    #[serde(default)]
    pub silent: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SentOut {
    pub message: MessageOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MarkReadArgs {
    pub token: String,
    /// Default: newest.
    #[serde(default)]
    pub last_read_message: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarkedOut {
    pub last_read_message: i64,
    pub unread_messages: u64,
}

fn group() -> i64 {
    room_type::GROUP
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateArgs {
    #[serde(default)]
    pub room_name: Option<String>,
    /// 1 one-to-one, 2 group, 3 public.
    #[serde(default = "group")]
    pub room_type: i64,
    /// Type 1: user id; 2: group id.
    #[serde(default)]
    pub invite: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedOut {
    pub conversation: ConversationOut,
    pub created: bool,
}

fn users() -> String {
    "users".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddParticipantArgs {
    pub token: String,
    pub participant: String,
    /// users, groups, circles, emails.
    #[serde(default = "users")]
    pub source: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AddedOut {
    pub token: String,
    pub participant: String,
    pub source: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReactArgs {
    pub token: String,
    pub message_id: u64,
    pub reaction: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReactedOut {
    pub changed: bool,
    pub reactions: BTreeMap<String, usize>,
}

/// Emoji → how many reacted with it.
fn counts(r: nextcloud::talk::Reactions) -> BTreeMap<String, usize> {
    r.into_iter().map(|(e, who)| (e, who.len())).collect()
}

const SOURCES: &[&str] = &["users", "groups", "circles", "emails"];

fn reaction(value: &str) -> Result<&str, ToolError> {
    let r = non_empty("reaction", value, "expected an emoji such as 👍")?;
    if r.chars().count() > 8 || r.chars().any(char::is_whitespace) {
        return Err(ToolError::invalid(
            "reaction",
            "expected one emoji such as 👍",
        ));
    }
    Ok(r)
}

const fn write_spec(name: &'static str, effect: crate::tools::spec::Effect) -> ToolSpec {
    ToolSpec::new(name, &apps::TALK, Some("talk.write"), effect)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    write_spec("talk_send_message", Create),
    write_spec("talk_mark_as_read", Update),
    write_spec("talk_create_conversation", Create),
    write_spec("talk_add_participant", Update),
    write_spec("talk_react", Update).with_feature("reactions"),
    write_spec("talk_remove_reaction", Delete).with_feature("reactions"),
];

#[tool_router(router = talk_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "talk_send_message",
        title = "Send a Talk chat message",
        description = "Post to a Talk chat, optionally as a reply or silently."
    )]
    async fn talk_send_message(
        &self,
        Parameters(args): Parameters<SendArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SentOut>>, ToolError> {
        let token = token(&args.token)?;
        let text = non_empty("message", &args.message, "expected the text to post")?;
        let length = text.chars().count();
        if length > MAX_LENGTH {
            return Err(ToolError::invalid(
                "message",
                format!("expected at most {MAX_LENGTH} characters, got {length}"),
            ));
        }
        let reply_to = args
            .reply_to
            .map(|id| message_id("reply_to", id))
            .transpose()?;
        let user = self.user(&ctx)?;
        let sent = user.talk().send(token, text, reply_to, args.silent).await?;
        answer(SentOut {
            message: sent.into(),
        })
    }

    #[tool(
        name = "talk_mark_as_read",
        title = "Mark a Talk chat as read",
        description = "Mark a Talk chat read up to a message (default: all)."
    )]
    async fn talk_mark_as_read(
        &self,
        Parameters(args): Parameters<MarkReadArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<MarkedOut>>, ToolError> {
        let token = token(&args.token)?;
        let last = args
            .last_read_message
            .map(|id| message_id("last_read_message", id))
            .transpose()?;
        let user = self.user(&ctx)?;
        let room = user.talk().mark_read(token, last).await?;
        answer(MarkedOut {
            last_read_message: room.last_read_message.or(last).unwrap_or_default(),
            unread_messages: room.unread_messages.unwrap_or_default(),
        })
    }

    #[tool(
        name = "talk_create_conversation",
        title = "Start a new Talk chat",
        description = "Start a Talk chat: one-to-one, group or public."
    )]
    async fn talk_create_conversation(
        &self,
        Parameters(args): Parameters<CreateArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreatedOut>>, ToolError> {
        let name = given(args.room_name).map(|n| n.trim().to_string());
        let invite = given(args.invite).map(|i| i.trim().to_string());
        match args.room_type {
            room_type::ONE_TO_ONE if invite.is_none() => {
                return Err(ToolError::invalid(
                    "invite",
                    "expected the user id to chat with for room_type 1",
                ));
            }
            room_type::GROUP | room_type::PUBLIC if name.is_none() => {
                return Err(ToolError::invalid(
                    "room_name",
                    "expected a name for a group or public conversation",
                ));
            }
            room_type::PUBLIC if invite.is_some() => {
                return Err(ToolError::invalid(
                    "invite",
                    "a public conversation takes no invite; add people with talk_add_participant",
                ));
            }
            room_type::ONE_TO_ONE | room_type::GROUP | room_type::PUBLIC => {}
            other => {
                return Err(ToolError::invalid(
                    "room_type",
                    format!("expected 1 (one-to-one), 2 (group) or 3 (public), got {other}"),
                ));
            }
        }
        if name.as_ref().is_some_and(|n| n.chars().count() > 255) {
            return Err(ToolError::invalid(
                "room_name",
                "expected at most 255 characters",
            ));
        }
        let new = NewRoom {
            kind: args.room_type,
            name: name.filter(|_| args.room_type != room_type::ONE_TO_ONE),
            invite,
        };
        let user = self.user(&ctx)?;
        let (room, created) = user.talk().create_room(&new).await?;
        answer(CreatedOut {
            conversation: room.into(),
            created,
        })
    }

    #[tool(
        name = "talk_add_participant",
        title = "Invite someone to a Talk chat",
        description = "Add a person, group, team or e-mail guest to a Talk chat."
    )]
    async fn talk_add_participant(
        &self,
        Parameters(args): Parameters<AddParticipantArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<AddedOut>>, ToolError> {
        let token = token(&args.token)?;
        let who = non_empty(
            "participant",
            &args.participant,
            "expected a user id, group id, team id or e-mail address",
        )?;
        let source = args.source.trim();
        if !SOURCES.contains(&source) {
            return Err(ToolError::invalid(
                "source",
                format!("expected one of {}, got `{source}`", SOURCES.join(", ")),
            ));
        }
        let user = self.user(&ctx)?;
        user.talk().add_participant(token, who, source).await?;
        answer(AddedOut {
            token: token.to_string(),
            participant: who.to_string(),
            source: source.to_string(),
        })
    }

    #[tool(
        name = "talk_react",
        title = "React to a Talk chat message with an emoji",
        description = "React to a Talk message with an emoji."
    )]
    async fn talk_react(
        &self,
        Parameters(args): Parameters<ReactArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ReactedOut>>, ToolError> {
        let token = token(&args.token)?;
        let id = message_id("message_id", args.message_id)?;
        let emoji = reaction(&args.reaction)?;
        let user = self.user(&ctx)?;
        let (reactions, changed) = user.talk().react(token, id, emoji).await?;
        answer(ReactedOut {
            changed,
            reactions: counts(reactions),
        })
    }

    #[tool(
        name = "talk_remove_reaction",
        title = "Take back an emoji reaction in Talk",
        description = "Remove your emoji reaction from a Talk message."
    )]
    async fn talk_remove_reaction(
        &self,
        Parameters(args): Parameters<ReactArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ReactedOut>>, ToolError> {
        let token = token(&args.token)?;
        let id = message_id("message_id", args.message_id)?;
        let emoji = reaction(&args.reaction)?;
        let user = self.user(&ctx)?;
        let reactions = user.talk().remove_reaction(token, id, emoji).await?;
        answer(ReactedOut {
            changed: true,
            reactions: counts(reactions),
        })
    }
}
