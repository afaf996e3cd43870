use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    ConversationOut, MessageArgs, MessageOut, ParticipantOut, ReactorOut, TokenArgs, message_id,
    reactors, token,
};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, in_range};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::talk::HistoryQuery;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListArgs {
    /// Unix seconds.
    #[serde(default)]
    pub modified_since: Option<i64>,
    #[serde(default)]
    pub include_status: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConversationsOut {
    pub conversations: Vec<ConversationOut>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OneConversationOut {
    pub conversation: ConversationOut,
}

fn fifty() -> u32 {
    50
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MessagesArgs {
    pub token: String,
    #[serde(default = "fifty")]
    pub limit: u32,
    /// Page back: a previous last_given.
    #[serde(default)]
    pub last_known_message_id: Option<u64>,
    #[serde(default)]
    pub include_last_known: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MessagesOut {
    pub messages: Vec<MessageOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_given: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ParticipantsArgs {
    pub token: String,
    #[serde(default)]
    pub include_status: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ParticipantsOut {
    pub participants: Vec<ParticipantOut>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReactionsOut {
    pub reactions: BTreeMap<String, Vec<ReactorOut>>,
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "talk_list_conversations",
        &apps::TALK,
        Some("talk.read"),
        Read,
    ),
    ToolSpec::new(
        "talk_get_conversation",
        &apps::TALK,
        Some("talk.read"),
        Read,
    ),
    ToolSpec::new("talk_get_messages", &apps::TALK, Some("talk.read"), Read),
    ToolSpec::new(
        "talk_list_participants",
        &apps::TALK,
        Some("talk.read"),
        Read,
    ),
    ToolSpec::new("talk_list_reactions", &apps::TALK, Some("talk.read"), Read)
        .with_feature("reactions"),
];

#[tool_router(router = talk_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "talk_list_conversations",
        title = "List my Talk chats and conversations",
        description = "List your Talk chats with unread counts, latest first."
    )]
    async fn talk_list_conversations(
        &self,
        Parameters(args): Parameters<ListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ConversationsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let conversations: Vec<ConversationOut> = user
            .talk()
            .rooms(args.modified_since, args.include_status)
            .await?
            .into_iter()
            .map(ConversationOut::from)
            .collect();
        answer(ConversationsOut { conversations })
    }

    #[tool(
        name = "talk_get_conversation",
        title = "Show a Talk conversation",
        description = "Show one Talk chat: name, type, unread count, last message."
    )]
    async fn talk_get_conversation(
        &self,
        Parameters(args): Parameters<TokenArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneConversationOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let room = user.talk().room(token(&args.token)?).await?;
        answer(OneConversationOut {
            conversation: room.into(),
        })
    }

    #[tool(
        name = "talk_get_messages",
        title = "Read Talk chat messages",
        description = "Read a Talk chat, newest first; does not mark it read."
    )]
    async fn talk_get_messages(
        &self,
        Parameters(args): Parameters<MessagesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<MessagesOut>>, ToolError> {
        let token = token(&args.token)?;
        let query = HistoryQuery {
            limit: in_range("limit", args.limit, 1..=200)?,
            last_known_message_id: args
                .last_known_message_id
                .map(|id| message_id("last_known_message_id", id))
                .transpose()?,
            include_last_known: args.include_last_known,
        };
        let user = self.user(&ctx)?;
        let page = user.talk().messages(token, &query).await?;
        let messages: Vec<MessageOut> = page.messages.into_iter().map(MessageOut::from).collect();
        answer(MessagesOut {
            messages,
            last_given: page.last_given,
        })
    }

    #[tool(
        name = "talk_list_participants",
        title = "List who is in a Talk chat",
        description = "List the members of a Talk chat and their roles."
    )]
    async fn talk_list_participants(
        &self,
        Parameters(args): Parameters<ParticipantsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ParticipantsOut>>, ToolError> {
        let token = token(&args.token)?;
        let user = self.user(&ctx)?;
        let participants: Vec<ParticipantOut> = user
            .talk()
            .participants(token, args.include_status)
            .await?
            .into_iter()
            .map(ParticipantOut::from)
            .collect();
        answer(ParticipantsOut { participants })
    }

    #[tool(
        name = "talk_list_reactions",
        title = "List emoji reactions to a Talk chat message",
        description = "Show who reacted to a Talk message."
    )]
    async fn talk_list_reactions(
        &self,
        Parameters(args): Parameters<MessageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ReactionsOut>>, ToolError> {
        let token = token(&args.token)?;
        let id = message_id("message_id", args.message_id)?;
        let user = self.user(&ctx)?;
        let reactions = user.talk().reactions(token, id).await?;
        answer(ReactionsOut {
            reactions: reactors(reactions),
        })
    }
}
