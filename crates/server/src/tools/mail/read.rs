use base64::Engine;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BODY_MAX, MessageIdArgs, date, html_to_text, shown};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, given, in_range};
use crate::tools::files::extract;
use crate::tools::spec::{Effect::*, ToolSpec};

/// Largest attachment downloaded.
const ATTACHMENT_DOWNLOAD_MAX: u64 = 20 * 1024 * 1024;
/// Largest binary attachment returned as base64.
const BINARY_MAX: u64 = 256 * 1024;
/// Largest raw source returned.
const SOURCE_MAX: usize = 200_000;

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountOut {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountsOut {
    pub results: Vec<AccountOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AccountIdArgs {
    pub account_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MailboxOut {
    pub id: u64,
    pub name: String,
    /// inbox, sent, trash, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MailboxesOut {
    pub results: Vec<MailboxOut>,
    pub total_count: usize,
}

fn default_limit() -> u32 {
    20
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListMessagesArgs {
    pub mailbox_id: u64,
    /// next_cursor of the previous page.
    #[serde(default)]
    pub cursor: Option<i64>,
    /// E.g. `invoice`, or `subject:x from:y is:unread`.
    #[serde(default)]
    pub search_filter: Option<String>,
    #[serde(default = "default_limit")]
    pub limit: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MessageSummary {
    pub id: u64,
    pub subject: String,
    pub from: String,
    pub date: String,
    pub seen: bool,
    pub flagged: bool,
    pub has_attachments: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MessagesOut {
    pub results: Vec<MessageSummary>,
    pub total_count: usize,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentInfo {
    pub id: String,
    pub name: Option<String>,
    pub mime: Option<String>,
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MessageDetail {
    pub id: u64,
    pub subject: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub date: String,
    pub header_message_id: Option<String>,
    pub body: String,
    /// Set when the body was cut or converted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MessageOut {
    pub message: MessageDetail,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AttachmentArgs {
    pub message_id: u64,
    pub attachment_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentOut {
    pub name: Option<String>,
    pub mime: String,
    pub size: u64,
    pub content: String,
    /// text or base64.
    pub encoding: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SourceOut {
    pub message_id: u64,
    pub source: String,
    pub truncated: bool,
}

const fn read_spec(name: &'static str) -> ToolSpec {
    ToolSpec::new(name, &apps::MAIL, Some("mail.read"), Read)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    read_spec("nc_mail_list_accounts"),
    read_spec("nc_mail_list_mailboxes"),
    read_spec("nc_mail_list_messages"),
    read_spec("nc_mail_get_message"),
    read_spec("nc_mail_get_attachment"),
    read_spec("nc_mail_get_message_source"),
];

/// A search filter in the app's syntax: words without `type:` search the subject (the app
/// itself ignores them).
fn filter_of(search: Option<String>) -> Option<String> {
    let search = given(search)?;
    let tokens: Vec<String> = search
        .split_whitespace()
        .map(|t| {
            if t.contains(':') {
                t.to_string()
            } else {
                format!("subject:{t}")
            }
        })
        .collect();
    Some(tokens.join(" "))
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[tool_router(router = mail_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_mail_list_accounts",
        title = "List email accounts",
        description = "List your mail accounts; their ids lead to mailboxes."
    )]
    async fn nc_mail_list_accounts(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<AccountsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let results: Vec<AccountOut> = user
            .mail()
            .accounts()
            .await?
            .into_iter()
            .map(|a| AccountOut {
                id: a.id,
                name: a.name,
                email: a.email_address,
            })
            .collect();
        answer(AccountsOut {
            total_count: results.len(),
            results,
        })
    }

    #[tool(
        name = "nc_mail_list_mailboxes",
        title = "List the mailboxes of an email account",
        description = "List the mailboxes (folders) of a mail account with unread counts."
    )]
    async fn nc_mail_list_mailboxes(
        &self,
        Parameters(args): Parameters<AccountIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<MailboxesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let results: Vec<MailboxOut> = user
            .mail()
            .mailboxes(args.account_id)
            .await?
            .into_iter()
            .map(|m| MailboxOut {
                id: m.database_id,
                name: m.display_name.unwrap_or(m.name),
                role: m.special_use.into_iter().next(),
                unread: m.unread,
            })
            .collect();
        answer(MailboxesOut {
            total_count: results.len(),
            results,
        })
    }

    #[tool(
        name = "nc_mail_list_messages",
        title = "List or search emails",
        description = "List or search a mailbox's messages, newest first, a page at a time."
    )]
    async fn nc_mail_list_messages(
        &self,
        Parameters(args): Parameters<ListMessagesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<MessagesOut>>, ToolError> {
        let limit = in_range("limit", args.limit, 1..=100)?;
        let filter = filter_of(args.search_filter);
        let user = self.user(&ctx)?;
        // One more than asked shows whether another page follows (the app caps at 100).
        let mut found = user
            .mail()
            .messages(
                args.mailbox_id,
                args.cursor,
                filter.as_deref(),
                (limit + 1).min(100),
            )
            .await?;
        let has_more = found.len() > limit as usize || (limit == 100 && found.len() == 100);
        found.truncate(limit as usize);
        let next_cursor = has_more.then(|| found.last().map(|m| m.date_int)).flatten();
        let results: Vec<MessageSummary> = found
            .into_iter()
            .map(|m| {
                let flag = |n: &str| m.flags.get(n).and_then(|v| v.as_bool()).unwrap_or(false);
                MessageSummary {
                    id: m.database_id,
                    from: shown(&m.from).join(", "),
                    date: date(m.date_int),
                    seen: flag("seen"),
                    flagged: flag("flagged"),
                    has_attachments: flag("hasAttachments"),
                    tags: m.tags.into_values().map(|t| t.display_name).collect(),
                    preview: m.preview_text.filter(|p| !p.is_empty()),
                    subject: m.subject,
                }
            })
            .collect();
        answer(MessagesOut {
            total_count: results.len(),
            results,
            has_more,
            next_cursor,
        })
    }

    #[tool(
        name = "nc_mail_get_message",
        title = "Read an email",
        description = "Read one message: headers, body as plain text (HTML converted) and its attachments' ids."
    )]
    async fn nc_mail_get_message(
        &self,
        Parameters(args): Parameters<MessageIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<MessageOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let m = user.mail().message(args.message_id).await?;
        let mut notes = Vec::new();
        let mut body = if m.has_html_body {
            notes.push("HTML converted to text; images dropped, links listed as [n].".to_string());
            html_to_text(&m.body)
        } else {
            m.body
        };
        let full = body.len();
        if extract::truncate_at(&mut body, BODY_MAX) {
            notes.push(format!(
                "Body cut at {BODY_MAX} of {full} bytes; nc_mail_get_message_source has all of it."
            ));
        }
        answer(MessageOut {
            message: MessageDetail {
                id: m.database_id,
                subject: m.subject,
                from: shown(&m.from),
                to: shown(&m.to),
                cc: shown(&m.cc),
                date: date(m.date_int),
                header_message_id: m.message_id,
                body,
                note: (!notes.is_empty()).then(|| notes.join(" ")),
                attachments: m
                    .attachments
                    .into_iter()
                    .map(|a| AttachmentInfo {
                        id: a.id,
                        name: a.file_name,
                        mime: a.mime,
                        size: a.size,
                    })
                    .collect(),
            },
        })
    }

    #[tool(
        name = "nc_mail_get_attachment",
        title = "Read an email attachment",
        description = "Read a message attachment: text of PDFs, office files and text, small other files as base64."
    )]
    async fn nc_mail_get_attachment(
        &self,
        Parameters(args): Parameters<AttachmentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<AttachmentOut>>, ToolError> {
        let part = args.attachment_id.trim();
        if part.is_empty() {
            return Err(ToolError::invalid(
                "attachment_id",
                "expected an attachment id from nc_mail_get_message",
            ));
        }
        let user = self.user(&ctx)?;
        let a = user
            .mail()
            .attachment(args.message_id, part, ATTACHMENT_DOWNLOAD_MAX)
            .await?;
        let shown_name = a
            .name
            .clone()
            .unwrap_or_else(|| format!("attachment {part}"));
        let Some(bytes) = a.content else {
            return Err(ToolError::invalid(
                "attachment_id",
                format!(
                    "`{shown_name}` ({}, {}) is larger than {}, so it is not read.",
                    a.mime,
                    size_text(a.size),
                    size_text(ATTACHMENT_DOWNLOAD_MAX)
                ),
            ));
        };
        let mut out = AttachmentOut {
            name: a.name.clone(),
            mime: a.mime.clone(),
            size: a.size,
            content: String::new(),
            encoding: "text",
            note: None,
        };
        if let Some(kind) = extract::kind_of(&a.mime, a.name.as_deref().unwrap_or_default()) {
            let extracted =
                tokio::task::spawn_blocking(move || extract::extract(kind, &bytes, (None, None)))
                    .await
                    .map_err(|e| {
                        ToolError::PartlyDone(format!("the document parser stopped: {e}"))
                    })?;
            let mut text = extracted.map_err(|e| {
                ToolError::invalid(
                    "attachment_id",
                    format!("`{shown_name}` could not be read: {e}"),
                )
            })?;
            if extract::truncate_at(&mut text.text, BODY_MAX) {
                out.note = Some(format!("Text cut at {BODY_MAX} bytes."));
            }
            out.content = text.text;
        } else if a.mime.starts_with("text/")
            || a.mime.ends_with("json")
            || a.mime.ends_with("xml")
            || a.mime == "text/calendar"
        {
            let mut text = extract::decode_text(&bytes, &a.mime).text;
            if extract::truncate_at(&mut text, BODY_MAX) {
                out.note = Some(format!("Text cut at {BODY_MAX} bytes."));
            }
            out.content = text;
        } else if a.size <= BINARY_MAX {
            out.content = base64::engine::general_purpose::STANDARD.encode(&bytes);
            out.encoding = "base64";
        } else {
            return Err(ToolError::invalid(
                "attachment_id",
                format!(
                    "`{shown_name}` ({}, {}) is a binary file larger than {}, so its content is not returned.",
                    a.mime,
                    size_text(a.size),
                    size_text(BINARY_MAX)
                ),
            ));
        }
        answer(out)
    }

    #[tool(
        name = "nc_mail_get_message_source",
        title = "Raw source and headers of an email",
        description = "The raw message (all headers and MIME parts), e.g. to check where it came from."
    )]
    async fn nc_mail_get_message_source(
        &self,
        Parameters(args): Parameters<MessageIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SourceOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let mut source = user.mail().source(args.message_id).await?;
        let truncated = extract::truncate_at(&mut source, SOURCE_MAX);
        answer(SourceOut {
            message_id: args.message_id,
            source,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_search_the_subject() {
        assert_eq!(
            filter_of(Some("invoice from:acme".into())).as_deref(),
            Some("subject:invoice from:acme")
        );
        assert_eq!(filter_of(Some("  ".into())), None);
    }
}
