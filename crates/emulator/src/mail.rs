//! The Mail app (`mail` 5.x, github.com/nextcloud/mail): the JSON API of its web UI under
//! `/index.php/apps/mail/api/` for accounts, mailboxes, messages, tags and the outbox.
//!
//! Messages are kept as their raw MIME text (parsed with `mail-parser` when read, built with
//! `mail-builder` when sent), so what the routes answer comes from real headers and parts.
//! Every user gets one account on first use (`<user>@example.com` with INBOX, Drafts, Sent,
//! Archive, Junk and Trash); tests put mail in with [`deliver`]. Quirks kept from the app: the
//! API refuses requests without `OCS-APIRequest: true` (Nextcloud's CSRF check, 412); a
//! message or mailbox id that does not exist or is not the user's is 403 with `[]`; an
//! unknown account is a `fail` envelope with 400; a message's `tags` are an object keyed by
//! IMAP label, or `[]` when empty; the search filter is `type:value` tokens, ORed within a
//! type and ANDed across types, other words ignored; the listing's cursor is a date (messages
//! sent strictly before it); deleting moves to the trash, and deletes for good only there;
//! sending queues an outbox message (201) and sends it (202), which puts the message in Sent.
//! Not emulated: threads, drafts, aliases, attachments of outgoing mail, IMAP sync (a moved
//! message keeps its id here, where the real app gives it a new one after the next sync).

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};

use crate::auth::{AuthOutcome, authenticate};
use crate::params::Params;
use crate::state::{AppState, World};

/// Accounts, mailboxes, messages, tags and outbox of every user (ids are global).
#[derive(Debug, Default)]
pub struct MailState {
    accounts: BTreeMap<u64, AccountRec>,
    mailboxes: BTreeMap<u64, MailboxRec>,
    messages: BTreeMap<u64, MessageRec>,
    tags: BTreeMap<u64, TagRec>,
    outbox: BTreeMap<u64, OutboxRec>,
    last_id: u64,
}

#[derive(Debug, Clone)]
struct AccountRec {
    owner: String,
    name: String,
    email: String,
}

#[derive(Debug, Clone)]
struct MailboxRec {
    account_id: u64,
    name: String,
    special_use: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct MessageRec {
    mailbox_id: u64,
    raw: Vec<u8>,
    /// When it arrived; the date when the message has no `Date` header.
    arrived: i64,
    seen: bool,
    flagged: bool,
    answered: bool,
    junk: bool,
    /// IMAP labels.
    tags: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct TagRec {
    owner: String,
    display_name: String,
    imap_label: String,
    color: String,
}

#[derive(Debug, Clone)]
struct OutboxRec {
    account_id: u64,
    subject: String,
    body: String,
    is_html: bool,
    to: Vec<(String, String)>,
    cc: Vec<(String, String)>,
    bcc: Vec<(String, String)>,
    in_reply_to: Option<String>,
}

const FOLDERS: &[(&str, Option<&str>)] = &[
    ("INBOX", Some("inbox")),
    ("Drafts", Some("drafts")),
    ("Sent", Some("sent")),
    ("Archive", Some("archive")),
    ("Junk", Some("junk")),
    ("Trash", Some("trash")),
];

/// The app's default tags, which every user has.
const DEFAULT_TAGS: &[(&str, &str, &str)] = &[
    ("Important", "$label1", "#FF7A66"),
    ("Work", "$label2", "#31CC7C"),
    ("Personal", "$label3", "#A85BF7"),
    ("To Do", "$label4", "#317CCC"),
    ("Later", "$label5", "#B4A443"),
];

enum Fail {
    /// 403 with `[]`: the id does not exist or is not the user's.
    Forbidden,
    /// A `ClientException` (400) with the app's message.
    Client(String),
    NoRoute,
}

type R = Result<Response, Fail>;

fn ok(v: Value) -> R {
    Ok(axum::Json(v).into_response())
}

impl MailState {
    fn next(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// The user's accounts, creating their first one (with its folders and the default tags)
    /// on first use.
    fn ensure_account(&mut self, uid: &str) -> Vec<u64> {
        let mine: Vec<u64> = self
            .accounts
            .iter()
            .filter(|(_, a)| a.owner == uid)
            .map(|(id, _)| *id)
            .collect();
        if !mine.is_empty() {
            return mine;
        }
        let id = self.next();
        self.accounts.insert(
            id,
            AccountRec {
                owner: uid.to_string(),
                name: uid.to_string(),
                email: format!("{uid}@example.com"),
            },
        );
        for (name, special) in FOLDERS {
            let mb = self.next();
            self.mailboxes.insert(
                mb,
                MailboxRec {
                    account_id: id,
                    name: (*name).to_string(),
                    special_use: *special,
                },
            );
        }
        if !self.tags.values().any(|t| t.owner == uid) {
            for (name, label, color) in DEFAULT_TAGS {
                let t = self.next();
                self.tags.insert(
                    t,
                    TagRec {
                        owner: uid.to_string(),
                        display_name: (*name).to_string(),
                        imap_label: (*label).to_string(),
                        color: (*color).to_string(),
                    },
                );
            }
        }
        vec![id]
    }

    fn account(&self, id: u64, uid: &str) -> Result<&AccountRec, Fail> {
        self.accounts
            .get(&id)
            .filter(|a| a.owner == uid)
            .ok_or_else(|| {
                Fail::Client(format!(
                    "Account {id} does not exist or you don't have permission to access it"
                ))
            })
    }

    fn mailbox_of(&self, id: u64, uid: &str) -> Result<&MailboxRec, Fail> {
        let mb = self.mailboxes.get(&id).ok_or(Fail::Forbidden)?;
        match self.accounts.get(&mb.account_id) {
            Some(a) if a.owner == uid => Ok(mb),
            _ => Err(Fail::Forbidden),
        }
    }

    fn message_of(&self, id: u64, uid: &str) -> Result<&MessageRec, Fail> {
        let m = self.messages.get(&id).ok_or(Fail::Forbidden)?;
        self.mailbox_of(m.mailbox_id, uid)?;
        Ok(m)
    }

    fn special(&self, account_id: u64, role: &str) -> Option<u64> {
        self.mailboxes
            .iter()
            .find(|(_, m)| m.account_id == account_id && m.special_use == Some(role))
            .map(|(id, _)| *id)
    }

    fn tag_by_label(&self, label: &str, uid: &str) -> Option<(u64, &TagRec)> {
        self.tags
            .iter()
            .find(|(_, t)| t.owner == uid && t.imap_label == label)
            .map(|(id, t)| (*id, t))
    }

    fn tag_json(id: u64, t: &TagRec) -> Value {
        json!({
            "id": id,
            "userId": t.owner,
            "displayName": t.display_name,
            "imapLabel": t.imap_label,
            "color": t.color,
            "isDefaultTag": t.imap_label.starts_with("$label"),
        })
    }

    fn account_json(&self, id: u64, a: &AccountRec) -> Value {
        json!({
            "id": id,
            "accountId": id,
            "name": a.name,
            "order": 0,
            "emailAddress": a.email,
            "authMethod": "password",
            "draftsMailboxId": self.special(id, "drafts"),
            "sentMailboxId": self.special(id, "sent"),
            "trashMailboxId": self.special(id, "trash"),
            "archiveMailboxId": self.special(id, "archive"),
            "junkMailboxId": self.special(id, "junk"),
            "aliases": [],
            "isDelegated": false,
        })
    }

    fn mailbox_json(&self, id: u64, m: &MailboxRec) -> Value {
        use base64::Engine;
        let unread = self
            .messages
            .values()
            .filter(|x| x.mailbox_id == id && !x.seen)
            .count();
        let special: Vec<&str> = m.special_use.into_iter().collect();
        json!({
            "databaseId": id,
            "id": base64::engine::general_purpose::STANDARD.encode(&m.name),
            "name": m.name,
            "accountId": m.account_id,
            "displayName": m.name,
            "attributes": [],
            "delimiter": ".",
            "specialUse": special,
            "specialRole": m.special_use.unwrap_or("0"),
            "mailboxes": [],
            "syncInBackground": false,
            "unread": unread,
            "myAcls": null,
            "shared": false,
            "cacheBuster": "0",
        })
    }

    /// A message as listed (`Db\Message::jsonSerialize`).
    fn message_json(&self, id: u64, m: &MessageRec, uid: &str) -> Value {
        let parsed = MessageParser::default().parse(&m.raw);
        let p = parsed.as_ref();
        let tags: serde_json::Map<String, Value> = m
            .tags
            .iter()
            .filter_map(|l| self.tag_by_label(l, uid))
            .map(|(tid, t)| (t.imap_label.clone(), Self::tag_json(tid, t)))
            .collect();
        let preview = p
            .and_then(|p| p.body_text(0))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .map(|t| t.chars().take(255).collect::<String>());
        json!({
            "databaseId": id,
            "uid": id,
            "subject": p.and_then(|p| p.subject()).unwrap_or_default(),
            "dateInt": date_of(p, m),
            "flags": {
                "seen": m.seen,
                "flagged": m.flagged,
                "answered": m.answered,
                "deleted": false,
                "draft": false,
                "forwarded": false,
                "hasAttachments": p.is_some_and(|p| p.attachment_count() > 0),
                "important": m.tags.contains("$label1"),
                "$junk": m.junk,
                "$notjunk": false,
                "$mdnsent": false,
            },
            "tags": if tags.is_empty() { json!([]) } else { Value::Object(tags) },
            "from": addresses(p.and_then(|p| p.from())),
            "to": addresses(p.and_then(|p| p.to())),
            "cc": addresses(p.and_then(|p| p.cc())),
            "bcc": addresses(p.and_then(|p| p.bcc())),
            "mailboxId": m.mailbox_id,
            "messageId": p.and_then(|p| p.message_id()).map(|i| format!("<{i}>")),
            "inReplyTo": p.and_then(|p| p.in_reply_to().as_text()).map(|i| format!("<{i}>")),
            "references": null,
            "threadRootId": null,
            "imipMessage": false,
            "previewText": preview,
            "summary": null,
            "encrypted": false,
            "mentionsMe": false,
            "avatar": null,
            "fetchAvatarFromClient": false,
            "attachments": [],
        })
    }

    /// A message with its body (`getBody`): HTML when the message has an HTML part.
    fn full_json(&self, id: u64, m: &MessageRec, uid: &str) -> Value {
        let mut v = self.message_json(id, m, uid);
        let parsed = MessageParser::default().parse(&m.raw);
        let (body, html) = match parsed.as_ref() {
            Some(p)
                if p.html_body_count() > 0 && p.html_part(0).is_some_and(|x| x.is_text_html()) =>
            {
                (
                    p.body_html(0).map(|b| b.into_owned()).unwrap_or_default(),
                    true,
                )
            }
            Some(p) => (
                p.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
                false,
            ),
            None => (String::from_utf8_lossy(&m.raw).into_owned(), false),
        };
        let attachments: Vec<Value> = parsed
            .as_ref()
            .map(|p| {
                p.attachments
                    .iter()
                    .filter_map(|&part| {
                        let a = p.parts.get(part as usize)?;
                        Some(json!({
                            "id": part.to_string(),
                            "messageId": id,
                            "fileName": a.attachment_name(),
                            "mime": mime_of(a),
                            "size": a.contents().len(),
                            "cid": a.content_id(),
                            "disposition": "attachment",
                        }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let account_id = self.mailboxes.get(&m.mailbox_id).map(|b| b.account_id);
        if let Value::Object(o) = &mut v {
            o.insert("body".into(), body.into());
            o.insert("hasHtmlBody".into(), html.into());
            o.insert("attachments".into(), attachments.into());
            o.insert("inlineAttachments".into(), json!([]));
            o.insert("accountId".into(), account_id.into());
            o.insert("isSenderTrusted".into(), false.into());
        }
        v
    }
}

fn date_of(p: Option<&mail_parser::Message<'_>>, m: &MessageRec) -> i64 {
    p.and_then(|p| p.date())
        .map(|d| d.to_timestamp())
        .unwrap_or(m.arrived)
}

fn mime_of(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type()
        .map(|c| match c.subtype() {
            Some(s) => format!("{}/{}", c.ctype(), s),
            None => c.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into())
}

fn addresses(a: Option<&mail_parser::Address<'_>>) -> Value {
    let Some(a) = a else { return json!([]) };
    a.iter()
        .filter_map(|x| {
            let email = x.address.as_deref()?;
            Some(json!({"label": x.name.as_deref().unwrap_or(email), "email": email}))
        })
        .collect::<Vec<_>>()
        .into()
}

/// Whether a listed message matches the app's filter string.
fn matches(state: &MailState, id: u64, m: &MessageRec, uid: &str, filter: &str) -> bool {
    let v = state.message_json(id, m, uid);
    let parsed = MessageParser::default().parse(&m.raw);
    let body = parsed
        .as_ref()
        .and_then(|p| p.body_text(0).map(|b| b.into_owned()))
        .unwrap_or_default()
        .to_lowercase();
    let addrs = |field: &str| -> String {
        v[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| format!("{} {}", x["label"], x["email"]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
            .to_lowercase()
    };
    let mut groups: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for token in filter.split(' ') {
        let Some((kind, param)) = token.split_once(':') else {
            continue;
        };
        let param = percent_encoding::percent_decode_str(param)
            .decode_utf8_lossy()
            .to_lowercase();
        let kind = kind.to_lowercase();
        let flag = |name: &str| v["flags"][name].as_bool().unwrap_or(false);
        let hit = match kind.as_str() {
            "subject" => v["subject"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains(&param),
            "from" | "to" | "cc" | "bcc" => addrs(&kind).contains(&param),
            "body" => body.contains(&param),
            "tags" => param.split(',').any(|t| m.tags.contains(t)),
            "is" | "not" => {
                let value = match param.as_str() {
                    "read" => flag("seen"),
                    "unread" => !flag("seen"),
                    "starred" => flag("flagged"),
                    "answered" => flag("answered"),
                    "important" => flag("important"),
                    _ => continue,
                };
                if kind == "is" { value } else { !value }
            }
            "flags" => param.split(',').all(|f| match f {
                "attachments" => flag("hasAttachments"),
                "read" => flag("seen"),
                "unread" => !flag("seen"),
                "starred" => flag("flagged"),
                _ => true,
            }),
            _ => continue,
        };
        groups.entry(kind).or_default().push(hit);
    }
    groups.values().all(|hits| hits.iter().any(|h| *h))
}

fn int(s: &str) -> Option<u64> {
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn recipients(p: &Params, name: &str) -> Vec<(String, String)> {
    p.raw(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let email = r["email"].as_str()?.to_string();
                    let label = r["label"].as_str().unwrap_or(&email).to_string();
                    Some((label, email))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn handle(world: &mut World, uid: &str, method: &Method, seg: &[&str], p: &Params, now: i64) -> R {
    let mail = &mut world.mail;
    mail.ensure_account(uid);
    let n = |i: usize| seg.get(i).and_then(|s| int(s));
    match (method, seg) {
        (&Method::GET, ["accounts"]) => {
            let list: Vec<Value> = mail
                .accounts
                .iter()
                .filter(|(_, a)| a.owner == uid)
                .map(|(id, a)| mail.account_json(*id, a))
                .collect();
            ok(list.into())
        }
        (&Method::GET, ["mailboxes"]) => {
            let account_id = p.int("accountId").unwrap_or(-1).max(0) as u64;
            let account = mail.account(account_id, uid)?;
            let boxes: Vec<Value> = mail
                .mailboxes
                .iter()
                .filter(|(_, m)| m.account_id == account_id)
                .map(|(id, m)| mail.mailbox_json(*id, m))
                .collect();
            ok(json!({
                "id": account_id,
                "email": account.email,
                "mailboxes": boxes,
                "delimiter": ".",
            }))
        }
        (&Method::GET, ["messages"]) => {
            let mailbox_id = p.int("mailboxId").unwrap_or(-1).max(0) as u64;
            mail.mailbox_of(mailbox_id, uid)?;
            let limit = p.int("limit").unwrap_or(1).clamp(1, 100) as usize;
            let cursor = p.int("cursor");
            let filter = p.string("filter").unwrap_or_default();
            let mut found: Vec<(i64, u64)> = mail
                .messages
                .iter()
                .filter(|(_, m)| m.mailbox_id == mailbox_id)
                .map(|(id, m)| {
                    let p = MessageParser::default().parse(&m.raw);
                    (date_of(p.as_ref(), m), *id)
                })
                .filter(|(date, _)| cursor.is_none_or(|c| *date < c))
                .filter(|(_, id)| matches(mail, *id, &mail.messages[id], uid, &filter))
                .collect();
            found.sort_by(|a, b| b.cmp(a));
            let list: Vec<Value> = found
                .into_iter()
                .take(limit)
                .map(|(_, id)| mail.message_json(id, &mail.messages[&id], uid))
                .collect();
            ok(list.into())
        }
        (&Method::GET, ["messages", _]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            let m = mail.message_of(id, uid)?;
            ok(mail.message_json(id, m, uid))
        }
        (&Method::GET, ["messages", _, "body"]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            let m = mail.message_of(id, uid)?;
            ok(mail.full_json(id, m, uid))
        }
        (&Method::GET, ["messages", _, "source"]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            let m = mail.message_of(id, uid)?;
            ok(json!({ "source": String::from_utf8_lossy(&m.raw) }))
        }
        (&Method::GET, ["messages", _, "attachment", part]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            let m = mail.message_of(id, uid)?;
            let parsed = MessageParser::default()
                .parse(&m.raw)
                .ok_or(Fail::Forbidden)?;
            let a = part
                .parse::<u32>()
                .ok()
                .filter(|i| parsed.attachments.contains(i))
                .and_then(|i| parsed.parts.get(i as usize))
                .ok_or_else(|| Fail::Client(format!("Attachment {part} not found")))?;
            let name = a
                .attachment_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("Embedded message {part}.eml"));
            let mut r = Bytes::copy_from_slice(a.contents()).into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&mime_of(a)) {
                h.insert(header::CONTENT_TYPE, v);
            }
            let encoded =
                percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC);
            let ascii: String = name
                .chars()
                .map(|c| if c.is_ascii() && c != '"' { c } else { '_' })
                .collect();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
            )) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        (&Method::PUT, ["messages", _, "flags"]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            mail.message_of(id, uid)?;
            let flags = p.raw("flags").and_then(Value::as_object).cloned();
            let m = mail.messages.get_mut(&id).ok_or(Fail::Forbidden)?;
            for (flag, value) in flags.unwrap_or_default() {
                let on = match &value {
                    Value::Bool(b) => *b,
                    Value::String(s) => matches!(s.as_str(), "1" | "true" | "on" | "yes"),
                    Value::Number(n) => n.as_i64() == Some(1),
                    _ => false,
                };
                match flag.as_str() {
                    "seen" => m.seen = on,
                    "flagged" => m.flagged = on,
                    "answered" => m.answered = on,
                    "$junk" | "junk" => m.junk = on,
                    _ => {}
                }
            }
            ok(json!([]))
        }
        (&Method::PUT | &Method::DELETE, ["messages", _, "tags", label]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            mail.message_of(id, uid)?;
            let label = percent_encoding::percent_decode_str(label)
                .decode_utf8_lossy()
                .into_owned();
            let (tid, tag) = mail.tag_by_label(&label, uid).ok_or(Fail::Forbidden)?;
            let out = MailState::tag_json(tid, tag);
            let m = mail.messages.get_mut(&id).ok_or(Fail::Forbidden)?;
            if method == Method::PUT {
                m.tags.insert(label);
            } else {
                m.tags.remove(&label);
            }
            ok(out)
        }
        (&Method::POST, ["messages", _, "move"]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            mail.message_of(id, uid)?;
            let dest = p.int("destFolderId").unwrap_or(-1).max(0) as u64;
            mail.mailbox_of(dest, uid)?;
            if let Some(m) = mail.messages.get_mut(&id) {
                m.mailbox_id = dest;
            }
            ok(json!([]))
        }
        (&Method::DELETE, ["messages", _]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            let m = mail.message_of(id, uid)?;
            let account = mail.mailboxes[&m.mailbox_id].account_id;
            match mail.special(account, "trash") {
                Some(trash) if trash != m.mailbox_id => {
                    if let Some(m) = mail.messages.get_mut(&id) {
                        m.mailbox_id = trash;
                    }
                }
                _ => {
                    mail.messages.remove(&id);
                }
            }
            ok(json!([]))
        }
        (&Method::POST, ["tags"]) => {
            let name = p.string("displayName").unwrap_or_default();
            let color = p.string("color").unwrap_or_default();
            if name.chars().count() > 128 {
                return Err(Fail::Client(
                    "The maximum length for displayName is 128".into(),
                ));
            }
            if color.chars().count() > 9 {
                return Err(Fail::Client("The maximum length for color is 9".into()));
            }
            let label = imap_label(&name);
            if let Some((tid, t)) = mail.tag_by_label(&label, uid) {
                return ok(MailState::tag_json(tid, t));
            }
            let tid = mail.next();
            let rec = TagRec {
                owner: uid.to_string(),
                display_name: name,
                imap_label: label,
                color,
            };
            let out = MailState::tag_json(tid, &rec);
            mail.tags.insert(tid, rec);
            ok(out)
        }
        (&Method::POST, ["outbox"]) => {
            let account_id = p.int("accountId").unwrap_or(-1).max(0) as u64;
            mail.account(account_id, uid)?;
            let is_html = p.bool("isHtml").unwrap_or(false);
            let body = if is_html {
                p.string("bodyHtml")
            } else {
                p.string("bodyPlain")
            }
            .unwrap_or_default();
            let rec = OutboxRec {
                account_id,
                subject: p.string("subject").unwrap_or_default(),
                body,
                is_html,
                to: recipients(p, "to"),
                cc: recipients(p, "cc"),
                bcc: recipients(p, "bcc"),
                in_reply_to: p.string("inReplyToMessageId").filter(|s| !s.is_empty()),
            };
            let id = mail.next();
            let out = json!({
                "id": id,
                "type": 0,
                "accountId": account_id,
                "subject": rec.subject,
                "isHtml": rec.is_html,
                "inReplyToMessageId": rec.in_reply_to,
                "to": rec.to.iter().map(|(l, e)| json!({"label": l, "email": e})).collect::<Vec<_>>(),
                "status": 0,
                "failed": false,
            });
            mail.outbox.insert(id, rec);
            Ok((
                StatusCode::CREATED,
                axum::Json(json!({"status": "success", "data": out})),
            )
                .into_response())
        }
        (&Method::POST, ["outbox", _]) => {
            let id = n(1).ok_or(Fail::NoRoute)?;
            let rec = mail
                .outbox
                .get(&id)
                .cloned()
                .ok_or_else(|| Fail::Client(format!("Message {id} does not exist")))?;
            let account = mail.account(rec.account_id, uid)?.clone();
            let sent = mail
                .special(rec.account_id, "sent")
                .ok_or(Fail::Forbidden)?;
            let raw = build(
                &account,
                &rec,
                now,
                &mail.message_ids_of(rec.in_reply_to.as_deref()),
            );
            mail.outbox.remove(&id);
            let mid = mail.next();
            mail.messages.insert(
                mid,
                MessageRec {
                    mailbox_id: sent,
                    raw,
                    arrived: now,
                    seen: true,
                    flagged: false,
                    answered: false,
                    junk: false,
                    tags: BTreeSet::new(),
                },
            );
            // The message replied to is marked answered.
            if let Some(parent) = &rec.in_reply_to {
                let wanted = parent.trim_matches(|c| c == '<' || c == '>').to_string();
                for m in mail.messages.values_mut() {
                    let p = MessageParser::default().parse(&m.raw);
                    if p.as_ref().and_then(|p| p.message_id()) == Some(wanted.as_str()) {
                        m.answered = true;
                    }
                }
            }
            Ok((
                StatusCode::ACCEPTED,
                axum::Json(json!({"status": "success", "data": "Message sent"})),
            )
                .into_response())
        }
        _ => Err(Fail::NoRoute),
    }
}

impl MailState {
    /// The `References` of a reply: the parent's references, then the parent itself.
    fn message_ids_of(&self, parent: Option<&str>) -> Vec<String> {
        let Some(parent) = parent else {
            return Vec::new();
        };
        let wanted = parent.trim_matches(|c| c == '<' || c == '>');
        let mut refs = Vec::new();
        for m in self.messages.values() {
            let Some(p) = MessageParser::default().parse(&m.raw) else {
                continue;
            };
            if p.message_id() == Some(wanted) {
                if let Some(list) = p.references().as_text_list() {
                    refs.extend(list.iter().map(|r| r.to_string()));
                } else if let Some(one) = p.references().as_text() {
                    refs.push(one.to_string());
                }
                break;
            }
        }
        refs.push(wanted.to_string());
        refs
    }
}

/// The MIME text of a sent message, as the Sent folder keeps it (with `Bcc`).
fn build(account: &AccountRec, rec: &OutboxRec, now: i64, references: &[String]) -> Vec<u8> {
    use mail_builder::MessageBuilder;
    let list = |v: &[(String, String)]| -> Vec<mail_builder::headers::address::Address<'static>> {
        v.iter()
            .map(|(label, email)| {
                if label == email {
                    email.clone().into()
                } else {
                    (label.clone(), email.clone()).into()
                }
            })
            .collect()
    };
    let mut b = MessageBuilder::new()
        .from((account.name.clone(), account.email.clone()))
        .subject(rec.subject.clone())
        .date(now)
        .message_id(format!("{}.{now}@example.com", uuid::Uuid::new_v4()));
    if !rec.to.is_empty() {
        b = b.to(list(&rec.to));
    }
    if !rec.cc.is_empty() {
        b = b.cc(list(&rec.cc));
    }
    if !rec.bcc.is_empty() {
        b = b.bcc(list(&rec.bcc));
    }
    if let Some(parent) = &rec.in_reply_to {
        b = b
            .in_reply_to(parent.trim_matches(|c| c == '<' || c == '>').to_string())
            .references(references.to_vec());
    }
    b = if rec.is_html {
        b.html_body(rec.body.clone())
    } else {
        b.text_body(rec.body.clone())
    };
    b.write_to_vec().unwrap_or_default()
}

/// The app's IMAP label for a tag name (`$` + the name with `_` for spaces, lower case).
fn imap_label(name: &str) -> String {
    let flag: String = name.replace(' ', "_");
    let mut out = String::from("$");
    for c in flag.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            // Modified UTF-7 of one character (enough for the emulator's names).
            use base64::Engine;
            let mut buf = [0u16; 2];
            let bytes: Vec<u8> = c
                .encode_utf16(&mut buf)
                .iter()
                .flat_map(|u| u.to_be_bytes())
                .collect();
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(bytes)
                .replace('/', ",");
            out.push_str(&format!("&{}-", b64.to_lowercase()));
        }
        if c == '&' {
            out.push('-');
        }
    }
    out.chars().take(64).collect()
}

/// `/index.php/apps/mail/api/{*rest}`.
pub async fn api(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("mail") {
        return crate::not_found_page();
    }
    let now = state.now();
    let mut world = state.world();
    let user = match authenticate(&world, &headers) {
        AuthOutcome::Ok(a) => a.user_id,
        AuthOutcome::Anonymous => return crate::not_logged_in_json(),
        AuthOutcome::Invalid => return crate::login_failed_json(),
    };
    if headers.get("ocs-apirequest").and_then(|v| v.to_str().ok()) != Some("true") {
        return (
            StatusCode::PRECONDITION_FAILED,
            axum::Json(json!({"message": "CSRF check failed"})),
        )
            .into_response();
    }
    let params = Params::parse(query.as_deref(), &headers, &body);
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match handle(&mut world, &user, &method, &seg, &params, now) {
        Ok(r) => r,
        Err(Fail::Forbidden) => (StatusCode::FORBIDDEN, axum::Json(json!([]))).into_response(),
        Err(Fail::Client(message)) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "status": "fail",
                "data": {"message": message, "type": "OCA\\Mail\\Exception\\ClientException"},
            })),
        )
            .into_response(),
        Err(Fail::NoRoute) => crate::not_found_page(),
    }
}

/// Puts a message (raw MIME) in a user's INBOX, as if it had arrived; answers its id. None if
/// the user does not exist.
pub fn deliver(state: &AppState, user_id: &str, raw: &[u8]) -> Option<u64> {
    let now = state.now();
    let mut world = state.world();
    if !world.users.contains_key(user_id) {
        return None;
    }
    let mail = &mut world.mail;
    let account = *mail.ensure_account(user_id).first()?;
    let inbox = mail.special(account, "inbox")?;
    let id = mail.next();
    mail.messages.insert(
        id,
        MessageRec {
            mailbox_id: inbox,
            raw: raw.to_vec(),
            arrived: now,
            seen: false,
            flagged: false,
            answered: false,
            junk: false,
            tags: BTreeSet::new(),
        },
    );
    Some(id)
}

/// Messages waiting in a user's outbox (queued but not sent).
pub fn outbox_len(state: &AppState, user_id: &str) -> usize {
    let world = state.world();
    world
        .mail
        .outbox
        .values()
        .filter(|o| {
            world
                .mail
                .accounts
                .get(&o.account_id)
                .is_some_and(|a| a.owner == user_id)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::imap_label;

    #[test]
    fn labels_like_the_app() {
        assert_eq!(imap_label("To Do"), "$to_do");
        assert_eq!(imap_label("Büro"), "$b&apw-ro");
    }
}
