//! The Mail app (`mail`, github.com/nextcloud/mail): accounts, mailboxes, messages, tags and
//! the outbox through the JSON API the web UI uses (`/index.php/apps/mail/api/...`).
//!
//! Quirks absorbed here: the API is a plain AppFramework API, so Nextcloud's CSRF check refuses
//! it without `OCS-APIRequest: true` even with Basic credentials; the app answers 403 with an
//! empty body for a message or mailbox id that does not exist (or is not the user's), and a
//! `fail` envelope with the exception's status for an unknown account; a message's `tags` are
//! an object keyed by IMAP label, but an empty PHP array (`[]`) when there are none. The app
//! publishes no capability: a missing app shows as Nextcloud's HTML 404 page, which becomes
//! [`Error::AppNotInstalled`].

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::client::Request;
use crate::{Error, NextcloudUser, Result};

const API: &str = "/index.php/apps/mail/api";

/// A mail account set up in the Mail app.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email_address: Option<String>,
}

/// A mailbox (IMAP folder) of an account.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mailbox {
    /// The id every other route takes.
    pub database_id: u64,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `inbox`, `sent`, `drafts`, `trash`, `junk`, `archive`, ...
    #[serde(default)]
    pub special_use: Vec<String>,
    #[serde(default)]
    pub unread: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct MailboxList {
    #[serde(default)]
    mailboxes: Vec<Mailbox>,
}

/// One address of a message (`label` is the display name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub label: Option<String>,
    pub email: String,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self
            .label
            .as_deref()
            .filter(|l| !l.is_empty() && *l != self.email)
        {
            Some(label) => write!(f, "{label} <{}>", self.email),
            None => f.write_str(&self.email),
        }
    }
}

/// A user-defined label for messages; messages carry it by its IMAP label (`$work`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub id: u64,
    pub display_name: String,
    pub imap_label: String,
    #[serde(default)]
    pub color: Option<String>,
}

/// A message as listed in a mailbox.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub database_id: u64,
    #[serde(default)]
    pub subject: String,
    /// Unix seconds; also the listing's cursor.
    #[serde(default)]
    pub date_int: i64,
    #[serde(default)]
    pub flags: BTreeMap<String, Value>,
    /// Keyed by IMAP label.
    #[serde(default, deserialize_with = "tags_map")]
    pub tags: BTreeMap<String, Tag>,
    #[serde(default, deserialize_with = "null_default")]
    pub from: Vec<Address>,
    #[serde(default, deserialize_with = "null_default")]
    pub to: Vec<Address>,
    #[serde(default)]
    pub mailbox_id: Option<u64>,
    #[serde(default)]
    pub preview_text: Option<String>,
}

/// One attachment of a message; `id` is its MIME part number.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentMeta {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub mime: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

/// A message with its body, as the app's body route answers.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullMessage {
    pub database_id: u64,
    #[serde(default)]
    pub account_id: Option<u64>,
    #[serde(default)]
    pub mailbox_id: Option<u64>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub date_int: i64,
    #[serde(default)]
    pub flags: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub from: Vec<Address>,
    #[serde(default, deserialize_with = "null_default")]
    pub to: Vec<Address>,
    #[serde(default, deserialize_with = "null_default")]
    pub cc: Vec<Address>,
    /// The `Message-ID` header; pass it as a reply's `in_reply_to`.
    #[serde(default)]
    pub message_id: Option<String>,
    /// HTML when `has_html_body`, else plain text.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub has_html_body: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub attachments: Vec<AttachmentMeta>,
}

/// An attachment's content, or only its size when it is larger than asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub name: Option<String>,
    pub mime: String,
    pub size: u64,
    /// `None` when the attachment is larger than the cap given to [`Mail::attachment`].
    pub content: Option<Vec<u8>>,
}

/// A message to send.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outgoing {
    pub account_id: u64,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub subject: String,
    pub body: String,
    pub is_html: bool,
    /// `Message-ID` of the message this replies to: the app sets `In-Reply-To` and
    /// `References` from it.
    pub in_reply_to: Option<String>,
}

/// The flags [`Mail::set_flags`] can change; `None` leaves a flag as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlagChanges {
    pub seen: Option<bool>,
    pub flagged: Option<bool>,
    pub answered: Option<bool>,
    pub junk: Option<bool>,
}

impl FlagChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn body(&self) -> Value {
        let mut flags = serde_json::Map::new();
        for (name, v) in [
            ("seen", self.seen),
            ("flagged", self.flagged),
            ("answered", self.answered),
            ("$junk", self.junk),
        ] {
            if let Some(v) = v {
                flags.insert(name.into(), v.into());
            }
        }
        json!({ "flags": flags })
    }
}

fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// PHP serialises an empty associative array as `[]`.
fn tags_map<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, Tag>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| Some((k, serde_json::from_value(v).ok()?)))
            .collect(),
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Tag>(v).ok())
            .map(|t| (t.imap_label.clone(), t))
            .collect(),
        _ => BTreeMap::new(),
    })
}

/// The IMAP label the app derives from a tag's display name: spaces become `_`, the result is
/// encoded in modified UTF-7 (RFC 3501), lower-cased, cut to 63 bytes and prefixed with `$`.
pub fn imap_label(display_name: &str) -> String {
    let encoded = utf7_imap(&display_name.replace(' ', "_"));
    let mut cut = 63.min(encoded.len());
    while !encoded.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("${}", encoded[..cut].to_lowercase())
}

fn utf7_imap(s: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&b64.encode(bytes).replace('/', ","));
        out.push('-');
        pending.clear();
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// The Mail API of one user; from [`NextcloudUser::mail`].
pub struct Mail<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn mail(&self) -> Mail<'_> {
        Mail { user: self }
    }
}

fn message(id: u64) -> String {
    format!("Mail message {id}")
}

/// Maps the app's answers to what they mean: its 403 for an unknown id, a `fail` envelope for
/// an unknown account, and Nextcloud's HTML 404 for a missing app.
fn explain(err: Error, what: &str) -> Error {
    match err {
        Error::NotFound { .. } => Error::AppNotInstalled { app: "Mail".into() },
        Error::Forbidden { message: None } => Error::NotFound {
            what: what.to_string(),
            message: Some("it does not exist or is not yours".into()),
        },
        Error::Status {
            status: 400 | 404,
            message: Some(m),
            ..
        } if m.contains("does not exist") => Error::NotFound {
            what: what.to_string(),
            message: Some(m),
        },
        other => other,
    }
}

fn request(method: Method, path: &str, what: &str) -> Result<Request> {
    Request::new(method, format!("{API}{path}"), what)
        .header(http::HeaderName::from_static("ocs-apirequest"), "true")?
        .header(http::header::ACCEPT, "application/json")
}

/// What an outbox route answers: `{status, data}`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: u64,
}

impl Mail<'_> {
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        what: &str,
        body: Option<Value>,
    ) -> Result<T> {
        let mut r = request(method, path, what)?;
        if let Some(b) = body {
            r = r.json(&b)?;
        }
        self.user.send_json(r).await.map_err(|e| explain(e, what))
    }

    async fn unit(
        &self,
        method: Method,
        path: &str,
        what: &str,
        body: Option<Value>,
    ) -> Result<()> {
        let mut r = request(method, path, what)?;
        if let Some(b) = body {
            r = r.json(&b)?;
        }
        self.user
            .send(r)
            .await
            .map(drop)
            .map_err(|e| explain(e, what))
    }

    /// The user's mail accounts (their own and those delegated to them).
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.json(Method::GET, "/accounts", "The mail accounts", None)
            .await
    }

    pub async fn mailboxes(&self, account_id: u64) -> Result<Vec<Mailbox>> {
        let what = format!("Mail account {account_id}");
        let list: MailboxList = self
            .json(
                Method::GET,
                &format!("/mailboxes?accountId={account_id}"),
                &what,
                None,
            )
            .await?;
        Ok(list.mailboxes)
    }

    /// Up to `limit` (1 to 100) messages of a mailbox, newest first, sent before `cursor`
    /// (unix seconds; the last message's `date_int` gives the next page). `filter` is the
    /// app's search syntax (`subject:x from:y is:unread`).
    pub async fn messages(
        &self,
        mailbox_id: u64,
        cursor: Option<i64>,
        filter: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let mut path = format!("/messages?mailboxId={mailbox_id}&limit={limit}");
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        if let Some(f) = filter {
            let f = percent_encoding::utf8_percent_encode(f, percent_encoding::NON_ALPHANUMERIC);
            path.push_str(&format!("&filter={f}"));
        }
        self.json(Method::GET, &path, &format!("Mailbox {mailbox_id}"), None)
            .await
    }

    /// A message with its body and the list of its attachments.
    pub async fn message(&self, id: u64) -> Result<FullMessage> {
        self.json(
            Method::GET,
            &format!("/messages/{id}/body"),
            &message(id),
            None,
        )
        .await
    }

    /// The message as it is stored on the mail server (headers and MIME parts).
    pub async fn source(&self, id: u64) -> Result<String> {
        #[derive(Deserialize)]
        struct Source {
            source: String,
        }
        let s: Source = self
            .json(
                Method::GET,
                &format!("/messages/{id}/source"),
                &message(id),
                None,
            )
            .await?;
        Ok(s.source)
    }

    /// Downloads an attachment, keeping its bytes only up to `max_bytes`.
    pub async fn attachment(
        &self,
        id: u64,
        attachment_id: &str,
        max_bytes: u64,
    ) -> Result<Attachment> {
        let what = format!("Attachment {attachment_id} of mail message {id}");
        let part = percent_encoding::utf8_percent_encode(
            attachment_id,
            percent_encoding::NON_ALPHANUMERIC,
        );
        let r = request(
            Method::GET,
            &format!("/messages/{id}/attachment/{part}"),
            &what,
        )?;
        let mut resp = self.user.send(r).await.map_err(|e| explain(e, &what))?;
        let header = |name: http::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let mime = header(http::header::CONTENT_TYPE)
            .map(|m| m.split(';').next().unwrap_or_default().trim().to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        let name = header(http::header::CONTENT_DISPOSITION).and_then(|d| disposition_name(&d));
        let declared = resp.content_length();
        if declared.is_some_and(|n| n > max_bytes) {
            return Ok(Attachment {
                name,
                mime,
                size: declared.unwrap_or_default(),
                content: None,
            });
        }
        let mut content = Vec::new();
        let mut size = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Error::Transport(format!("reading {what}: {e}")))?
        {
            size += chunk.len() as u64;
            if size <= max_bytes {
                content.extend_from_slice(&chunk);
            }
        }
        Ok(Attachment {
            name,
            mime,
            size,
            content: (size <= max_bytes).then_some(content),
        })
    }

    pub async fn set_flags(&self, id: u64, changes: &FlagChanges) -> Result<()> {
        if changes.is_empty() {
            return Err(Error::invalid_argument("flags", "nothing to change"));
        }
        self.unit(
            Method::PUT,
            &format!("/messages/{id}/flags"),
            &message(id),
            Some(changes.body()),
        )
        .await
    }

    /// Creates a tag, or returns the existing one with the same IMAP label.
    pub async fn create_tag(&self, display_name: &str, color: &str) -> Result<Tag> {
        self.json(
            Method::POST,
            "/tags",
            "A new mail tag",
            Some(json!({ "displayName": display_name, "color": color })),
        )
        .await
    }

    /// Puts a tag (by IMAP label) on a message, or takes it off.
    pub async fn tag(&self, id: u64, imap_label: &str, on: bool) -> Result<Tag> {
        let what = format!("Mail message {id} or tag `{imap_label}`");
        let label =
            percent_encoding::utf8_percent_encode(imap_label, percent_encoding::NON_ALPHANUMERIC);
        let method = if on { Method::PUT } else { Method::DELETE };
        self.json(method, &format!("/messages/{id}/tags/{label}"), &what, None)
            .await
    }

    /// Moves a message to another mailbox (of the same or another account).
    pub async fn move_to(&self, id: u64, mailbox_id: u64) -> Result<()> {
        self.unit(
            Method::POST,
            &format!("/messages/{id}/move"),
            &format!("Mail message {id} or mailbox {mailbox_id}"),
            Some(json!({ "destFolderId": mailbox_id })),
        )
        .await
    }

    /// Deletes a message: the app moves it to the trash, or removes it for good when it is
    /// already there.
    pub async fn delete(&self, id: u64) -> Result<()> {
        self.unit(
            Method::DELETE,
            &format!("/messages/{id}"),
            &message(id),
            None,
        )
        .await
    }

    /// Queues a message in the outbox and sends it at once; answers the outbox id. If sending
    /// fails the message stays in the outbox, where the app retries it.
    pub async fn send(&self, m: &Outgoing) -> Result<u64> {
        let what = format!("Mail account {}", m.account_id);
        let (plain, html) = if m.is_html {
            (None, Some(m.body.as_str()))
        } else {
            (Some(m.body.as_str()), None)
        };
        let body = json!({
            "accountId": m.account_id,
            "subject": m.subject,
            "bodyPlain": plain,
            "bodyHtml": html,
            "editorBody": m.body,
            "isHtml": m.is_html,
            "smimeSign": false,
            "smimeEncrypt": false,
            "to": m.to,
            "cc": m.cc,
            "bcc": m.bcc,
            "attachments": [],
            "inReplyToMessageId": m.in_reply_to,
        });
        let created: Envelope<Created> = self
            .json(Method::POST, "/outbox", &what, Some(body))
            .await?;
        let id = created.data.id;
        self.unit(
            Method::POST,
            &format!("/outbox/{id}"),
            &format!("Outbox message {id}"),
            None,
        )
        .await?;
        Ok(id)
    }
}

/// The file name of a `Content-Disposition` header (`filename*=UTF-8''...` or `filename=`).
fn disposition_name(header: &str) -> Option<String> {
    let mut plain = None;
    for part in header.split(';').map(str::trim) {
        if let Some(v) = part.strip_prefix("filename*=") {
            let v = v.split("''").nth(1).unwrap_or(v);
            return percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .ok()
                .map(|s| s.into_owned());
        }
        if let Some(v) = part.strip_prefix("filename=") {
            plain = Some(v.trim_matches('"').to_string());
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_as_object_or_empty_array() {
        let m: Message = serde_json::from_value(json!({
            "databaseId": 3, "subject": "Hi", "dateInt": 10, "flags": {"seen": true},
            "tags": [], "from": [{"label": "A", "email": "a@x.org"}], "to": null
        }))
        .unwrap();
        assert!(m.tags.is_empty());
        assert!(m.to.is_empty());
        let m: Message = serde_json::from_value(json!({
            "databaseId": 3, "tags": {"$work": {"id": 1, "displayName": "Work",
            "imapLabel": "$work", "color": "#fff"}}
        }))
        .unwrap();
        assert_eq!(m.tags["$work"].display_name, "Work");
    }

    #[test]
    fn imap_labels_follow_the_app() {
        assert_eq!(imap_label("To Do"), "$to_do");
        assert_eq!(imap_label("Büro"), "$b&apw-ro");
        assert_eq!(imap_label("R&D"), "$r&-d");
    }

    #[test]
    fn flag_changes_send_only_what_is_set() {
        let c = FlagChanges {
            seen: Some(true),
            junk: Some(false),
            ..Default::default()
        };
        assert_eq!(c.body(), json!({"flags": {"seen": true, "$junk": false}}));
    }

    #[test]
    fn disposition_names() {
        assert_eq!(
            disposition_name("attachment; filename=\"a b.pdf\"").as_deref(),
            Some("a b.pdf")
        );
        assert_eq!(
            disposition_name("attachment; filename=\"x\"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf")
                .as_deref(),
            Some("Résumé.pdf")
        );
    }

    #[test]
    fn missing_app_and_unknown_ids() {
        let e = explain(
            Error::NotFound {
                what: "x".into(),
                message: None,
            },
            "Mail message 1",
        );
        assert!(matches!(e, Error::AppNotInstalled { .. }));
        let e = explain(Error::Forbidden { message: None }, "Mail message 1");
        assert!(
            e.to_string().contains("Mail message 1 was not found"),
            "{e}"
        );
    }
}
