use std::collections::BTreeMap;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, ElicitRequest, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationSchema, InputRequest, InputRequests,
    InputRequiredResult, ProtocolVersion,
};
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{DoneOut, MessageIdArgs, TagArgs, TagOut};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, given, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::mail::{Address, FlagChanges, Outgoing, imap_label};

/// How long a `2025-11-25` client may take to answer the confirmation.
const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// Key of the confirmation inside an input-required result.
const CONFIRM_INPUT: &str = "confirm_send";

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SetFlagsArgs {
    pub message_id: u64,
    #[serde(default)]
    pub seen: Option<bool>,
    #[serde(default)]
    pub flagged: Option<bool>,
    #[serde(default)]
    pub answered: Option<bool>,
    #[serde(default)]
    pub junk: Option<bool>,
}

fn default_color() -> String {
    "#0082c9".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTagArgs {
    pub display_name: String,
    #[serde(default = "default_color")]
    pub color: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TagResultOut {
    pub tag: TagOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MoveArgs {
    pub message_id: u64,
    pub destination_mailbox_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema, Serialize)]
pub struct SendArgs {
    pub account_id: u64,
    /// Comma-separated addresses.
    pub to: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub is_html: bool,
    #[serde(default)]
    pub cc: Option<String>,
    #[serde(default)]
    pub bcc: Option<String>,
    /// To reply: header_message_id of the message answered.
    #[serde(default)]
    pub references: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    Sent,
    Declined,
    Cancelled,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SendOut {
    pub status: SendStatus,
    pub message: String,
}

const fn write_spec(name: &'static str, effect: crate::tools::spec::Effect) -> ToolSpec {
    ToolSpec::new(name, &apps::MAIL, Some("mail.write"), effect)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    write_spec("nc_mail_set_flags", Update),
    write_spec("nc_mail_create_tag", Update),
    write_spec("nc_mail_set_tag", Update),
    write_spec("nc_mail_remove_tag", Update),
    // A move gives the message a new id in its new mailbox.
    write_spec("nc_mail_move_message", Overwrite),
    // The first delete moves to the trash, a delete there removes for good.
    write_spec("nc_mail_delete_message", Overwrite),
    // Sending cannot be undone: its own scope.
    ToolSpec::new(
        "nc_mail_send_message",
        &apps::MAIL,
        Some("mail.send"),
        Create,
    ),
];

/// Reads a comma- or semicolon-separated address list (`a@b.org, Ann <ann@c.org>`).
pub fn parse_addresses(name: &'static str, value: &str) -> Result<Vec<Address>, ToolError> {
    let mut out = Vec::new();
    for item in value
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (label, email) = match (item.rfind('<'), item.ends_with('>')) {
            (Some(open), true) => {
                let label = item[..open].trim().trim_matches('"').trim();
                (
                    (!label.is_empty()).then(|| label.to_string()),
                    item[open + 1..item.len() - 1].trim(),
                )
            }
            _ => (None, item),
        };
        if !valid_email(email) {
            return Err(ToolError::invalid(
                name,
                format!(
                    "`{item}` is not an e-mail address; expected e.g. `ann@example.org` or `Ann <ann@example.org>`, separated by commas"
                ),
            ));
        }
        out.push(Address {
            label,
            email: email.to_string(),
        });
    }
    Ok(out)
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"".contains(c))
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

/// A Message-ID as `<id@host>`.
fn message_id_arg(value: &str) -> Result<String, ToolError> {
    let bare = value.trim().trim_start_matches('<').trim_end_matches('>');
    if bare.is_empty()
        || !bare.contains('@')
        || bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return Err(ToolError::invalid(
            "references",
            "expected the Message-ID of the message replied to, e.g. `<abc@example.org>` (header_message_id from nc_mail_get_message)",
        ));
    }
    Ok(format!("<{bare}>"))
}

/// The checked message, before anything is sent.
fn outgoing(args: &SendArgs) -> Result<Outgoing, ToolError> {
    let to = parse_addresses("to", &args.to)?;
    if to.is_empty() {
        return Err(ToolError::invalid("to", "expected at least one address"));
    }
    let cc = match given(args.cc.clone()) {
        Some(cc) => parse_addresses("cc", &cc)?,
        None => Vec::new(),
    };
    let bcc = match given(args.bcc.clone()) {
        Some(bcc) => parse_addresses("bcc", &bcc)?,
        None => Vec::new(),
    };
    non_empty("body", &args.body, "expected the text of the message")?;
    if args.subject.chars().any(|c| c == '\r' || c == '\n') {
        return Err(ToolError::invalid("subject", "expected a single line"));
    }
    let in_reply_to = given(args.references.clone())
        .map(|r| message_id_arg(&r))
        .transpose()?;
    Ok(Outgoing {
        account_id: args.account_id,
        to,
        cc,
        bcc,
        subject: args.subject.trim().to_string(),
        body: args.body.clone(),
        is_html: args.is_html,
        in_reply_to,
    })
}

/// What the person is asked to confirm: recipients, subject, the first lines.
fn confirmation_text(m: &Outgoing) -> String {
    let list = |v: &[Address]| super::shown(v).join(", ");
    let mut text = format!(
        "Send this e-mail? It cannot be undone.\nTo: {}",
        list(&m.to)
    );
    if !m.cc.is_empty() {
        text.push_str(&format!("\nCc: {}", list(&m.cc)));
    }
    if !m.bcc.is_empty() {
        text.push_str(&format!("\nBcc: {}", list(&m.bcc)));
    }
    text.push_str(&format!("\nSubject: {}\n\n", m.subject));
    let body = if m.is_html {
        super::html_to_text(&m.body)
    } else {
        m.body.clone()
    };
    let lines: Vec<&str> = body.lines().take(5).collect();
    let mut first = lines.join("\n");
    if first.chars().count() > 400 {
        first = first.chars().take(400).collect();
    }
    if body.lines().count() > 5 || first.len() < body.trim_end().len() {
        first.push_str("\n…");
    }
    text.push_str(&first);
    text
}

/// Ties a `2026-07-28` retry to the very message that was confirmed.
fn confirm_state(m: &Outgoing) -> String {
    let digest = Sha256::digest(format!("{m:?}").as_bytes());
    format!(
        "mail-send:{}",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn form_elicitation(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

fn send_answer(out: SendOut) -> CallToolResponse {
    let success = out.status == SendStatus::Sent;
    let value = serde_json::to_value(Envelope::new(success, &out)).unwrap_or_default();
    let mut result = CallToolResult::structured(value);
    result.content = vec![ContentBlock::text(out.message)];
    result.into()
}

fn tool_error(e: impl Into<ToolError>) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(e.into().to_string())]).into()
}

fn not_sent(action: ElicitationAction) -> SendOut {
    let declined = matches!(action, ElicitationAction::Decline);
    SendOut {
        status: if declined {
            SendStatus::Declined
        } else {
            SendStatus::Cancelled
        },
        message: format!(
            "Sending was {} by the user; nothing was sent.",
            if declined { "declined" } else { "cancelled" }
        ),
    }
}

#[tool_router(router = mail_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_mail_set_flags",
        title = "Mark an email read, unread or starred",
        description = "Mark a message read or unread, starred, answered or junk; flags left out stay."
    )]
    async fn nc_mail_set_flags(
        &self,
        Parameters(args): Parameters<SetFlagsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DoneOut>>, ToolError> {
        let changes = FlagChanges {
            seen: args.seen,
            flagged: args.flagged,
            answered: args.answered,
            junk: args.junk,
        };
        if changes.is_empty() {
            return Err(ToolError::invalid(
                "seen",
                "give at least one of seen, flagged, answered or junk",
            ));
        }
        let user = self.user(&ctx)?;
        user.mail().set_flags(args.message_id, &changes).await?;
        answer(DoneOut {
            status_code: 200,
            message: format!("Updated the flags of message {}", args.message_id),
            message_id: args.message_id,
        })
    }

    #[tool(
        name = "nc_mail_create_tag",
        title = "Create an email label",
        description = "Create a mail tag (or get the one with that name) for nc_mail_set_tag."
    )]
    async fn nc_mail_create_tag(
        &self,
        Parameters(args): Parameters<CreateTagArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagResultOut>>, ToolError> {
        let name = non_empty("display_name", &args.display_name, "expected a tag name")?;
        if name.chars().count() > 128 {
            return Err(ToolError::invalid(
                "display_name",
                "expected at most 128 characters",
            ));
        }
        let color = args.color.trim();
        let hex = color.trim_start_matches('#');
        if !(matches!(hex.len(), 3 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(ToolError::invalid(
                "color",
                format!("expected a hex colour such as `#0082c9`, got `{color}`"),
            ));
        }
        let user = self.user(&ctx)?;
        let tag = user.mail().create_tag(name, &format!("#{hex}")).await?;
        answer(TagResultOut {
            tag: tag.into(),
            message_id: None,
        })
    }

    #[tool(
        name = "nc_mail_set_tag",
        title = "Label an email with a tag",
        description = "Put a tag on a message."
    )]
    async fn nc_mail_set_tag(
        &self,
        Parameters(args): Parameters<TagArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagResultOut>>, ToolError> {
        self.tag_message(args, true, &ctx).await
    }

    #[tool(
        name = "nc_mail_remove_tag",
        title = "Remove a label from an email",
        description = "Take a tag off a message."
    )]
    async fn nc_mail_remove_tag(
        &self,
        Parameters(args): Parameters<TagArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagResultOut>>, ToolError> {
        self.tag_message(args, false, &ctx).await
    }

    #[tool(
        name = "nc_mail_move_message",
        title = "Move an email to another folder",
        description = "Move a message to another mailbox, e.g. Archive."
    )]
    async fn nc_mail_move_message(
        &self,
        Parameters(args): Parameters<MoveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DoneOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.mail()
            .move_to(args.message_id, args.destination_mailbox_id)
            .await?;
        answer(DoneOut {
            status_code: 200,
            message: format!(
                "Moved message {} to mailbox {}",
                args.message_id, args.destination_mailbox_id
            ),
            message_id: args.message_id,
        })
    }

    #[tool(
        name = "nc_mail_delete_message",
        title = "Delete an email",
        description = "Delete a message: it goes to the trash, or is removed for good when already there."
    )]
    async fn nc_mail_delete_message(
        &self,
        Parameters(args): Parameters<MessageIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DoneOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.mail().delete(args.message_id).await?;
        answer(DoneOut {
            status_code: 200,
            message: format!("Deleted message {}", args.message_id),
            message_id: args.message_id,
        })
    }

    #[tool(
        name = "nc_mail_send_message",
        title = "Send or reply to an email",
        description = "Send an e-mail; cannot be undone, the user may be asked to confirm.",
        output_schema = schema_for_output::<Envelope<SendOut>>()
    )]
    async fn nc_mail_send_message(
        &self,
        Parameters(args): Parameters<SendArgs>,
        ctx: RequestContext<RoleServer>,
        RequestState(state): RequestState,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        let m = match outgoing(&args) {
            Ok(m) => m,
            Err(e) => return tool_error(e),
        };
        let user = match self.user(&ctx) {
            Ok(u) => u,
            Err(e) => return tool_error(e),
        };
        if form_elicitation(&ctx) {
            let text = confirmation_text(&m);
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: text,
                requested_schema: ElicitationSchema::new(BTreeMap::new()),
            };
            let action = if ctx
                .protocol_version()
                .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
            {
                // The retry of a `2026-07-28` client carries the answer and our state.
                let expected = confirm_state(&m);
                match state {
                    Some(s) if s == expected => responses
                        .and_then(|mut r| r.remove(CONFIRM_INPUT))
                        .and_then(|v| serde_json::from_value::<ElicitResult>(v).ok())
                        .map_or(ElicitationAction::Cancel, |a| a.action),
                    _ => {
                        let mut inputs = InputRequests::new();
                        inputs.insert(
                            CONFIRM_INPUT.to_string(),
                            InputRequest::Elicitation(ElicitRequest::new(params)),
                        );
                        return InputRequiredResult::new(Some(inputs), Some(expected)).into();
                    }
                }
            } else {
                match ctx
                    .peer
                    .create_elicitation_with_timeout(params, Some(CONFIRM_TIMEOUT))
                    .await
                {
                    Ok(r) => r.action,
                    Err(e) => {
                        tracing::info!(error = %e, "send confirmation failed; not sending");
                        return tool_error(ToolError::Access(
                            "The confirmation to send could not be shown or was not answered; nothing was sent.".into(),
                        ));
                    }
                }
            };
            if !matches!(action, ElicitationAction::Accept) {
                return send_answer(not_sent(action));
            }
        }
        match user.mail().send(&m).await {
            Ok(_) => send_answer(SendOut {
                status: SendStatus::Sent,
                message: format!(
                    "Sent \"{}\" to {}",
                    m.subject,
                    super::shown(&m.to).join(", ")
                ),
            }),
            Err(e) => tool_error(e),
        }
    }
}

impl NextcloudMcp {
    async fn tag_message(
        &self,
        args: TagArgs,
        on: bool,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagResultOut>>, ToolError> {
        let tag = non_empty("tag", &args.tag, "expected a tag name or IMAP label")?;
        let label = if tag.starts_with('$') {
            tag.to_lowercase()
        } else {
            imap_label(tag)
        };
        let user = self.user(ctx)?;
        let tag = user.mail().tag(args.message_id, &label, on).await?;
        answer(TagResultOut {
            tag: tag.into(),
            message_id: Some(args.message_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_bad_ones_name_the_argument() {
        let a = parse_addresses("to", "ann@example.org, Bob B <bob@example.org>; ").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].label.as_deref(), Some("Bob B"));
        assert_eq!(a[1].email, "bob@example.org");
        for bad in ["bob", "bob@", "@x.org", "a b@x.org", "a@x", "a@x..org"] {
            let e = parse_addresses("cc", bad).unwrap_err().to_string();
            assert!(e.starts_with("Invalid argument `cc`"), "{bad}: {e}");
        }
    }

    #[test]
    fn message_ids_get_angle_brackets() {
        assert_eq!(message_id_arg("abc@x.org").unwrap(), "<abc@x.org>");
        assert_eq!(message_id_arg("<abc@x.org>").unwrap(), "<abc@x.org>");
        assert!(message_id_arg("no id").is_err());
    }

    #[test]
    fn the_confirmation_shows_recipients_subject_and_first_lines() {
        let m = Outgoing {
            to: vec![Address {
                label: None,
                email: "ann@example.org".into(),
            }],
            subject: "Hello".into(),
            body: (1..=9).map(|i| format!("line {i}\n")).collect(),
            ..Default::default()
        };
        let t = confirmation_text(&m);
        assert!(t.contains("To: ann@example.org"), "{t}");
        assert!(t.contains("Subject: Hello"), "{t}");
        assert!(t.contains("line 5") && !t.contains("line 6"), "{t}");
    }
}
