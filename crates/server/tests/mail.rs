//! The Mail tools end to end: each tool is called over MCP and the result is checked in the
//! app through a direct client. Mail only ever arrives, so the tests deliver it with the
//! emulator and are skipped against a real Nextcloud.

mod common;
mod multi_common;

use std::sync::{Arc, Mutex};

use common::*;
use nextcloud::mail::Message;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationCapability, FormElicitationCapability, Implementation, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

const TOOLS: [&str; 13] = [
    "nc_mail_list_accounts",
    "nc_mail_list_mailboxes",
    "nc_mail_list_messages",
    "nc_mail_get_message",
    "nc_mail_send_message",
    "nc_mail_get_attachment",
    "nc_mail_get_message_source",
    "nc_mail_set_flags",
    "nc_mail_create_tag",
    "nc_mail_set_tag",
    "nc_mail_remove_tag",
    "nc_mail_move_message",
    "nc_mail_delete_message",
];

/// A real one-page PDF showing `line`, made with lopdf.
fn pdf(line: &str) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let content = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 24.into()]),
            Operation::new("Td", vec![100.into(), 600.into()]),
            Operation::new("Tj", vec![Object::string_literal(line)]),
            Operation::new("ET", vec![]),
        ],
    };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A MIME message as a mail server would store it.
fn mime(from: &str, subject: &str, date: &str, id: &str, parts: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: alice@example.com\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n{parts}"
    )
    .into_bytes()
}

fn plain(from: &str, subject: &str, date: &str, id: &str, body: &str) -> Vec<u8> {
    mime(
        from,
        subject,
        date,
        id,
        &format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"),
    )
}

fn with_attachments(subject: &str, id: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    use base64::Engine;
    let mut parts = String::from(
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n",
    );
    for (name, mime_type, bytes) in files {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        parts.push_str(&format!(
            "--b1\r\nContent-Type: {mime_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
        ));
    }
    parts.push_str("--b1--\r\n");
    mime(
        "Acme <billing@acme.example>",
        subject,
        "Mon, 5 Jan 2026 10:00:00 +0000",
        id,
        &parts,
    )
}

struct Setup {
    nc: TestNextcloud,
    emu: nextcloud_emulator::EmulatorHandle,
    account: u64,
    inbox: u64,
    mailbox: std::collections::BTreeMap<String, u64>,
}

async fn setup() -> Option<Setup> {
    let nc = TestNextcloud::start().await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: mail can only be delivered to the emulator");
        return None;
    };
    let mail = nc.direct();
    let account = mail.mail().accounts().await.unwrap()[0].id;
    let mailbox: std::collections::BTreeMap<String, u64> = mail
        .mail()
        .mailboxes(account)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.database_id))
        .collect();
    let inbox = mailbox["INBOX"];
    Some(Setup {
        nc,
        emu,
        account,
        inbox,
        mailbox,
    })
}

async fn in_box(nc: &TestNextcloud, mailbox: u64) -> Vec<Message> {
    nc.direct()
        .mail()
        .messages(mailbox, None, None, 100)
        .await
        .unwrap()
}

#[tokio::test]
async fn reading_mail_end_to_end() {
    let Some(s) = setup().await else { return };
    let client = connect(&s.nc, Transport::HttpSession, &Default::default()).await;
    let listed = client.list_all_tools().await.expect("tools/list");
    for name in TOOLS {
        let tool = listed
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(
            tool.title.is_some() && tool.output_schema.is_some(),
            "{name}"
        );
    }

    let plain_id = s
        .emu
        .deliver_mail(
            EMU_USER,
            &plain(
                "Bob <bob@example.org>",
                "Lunch on Friday",
                "Fri, 2 Jan 2026 09:00:00 +0000",
                "lunch@example.org",
                "Shall we meet at noon?",
            ),
        )
        .unwrap();
    let html = mime(
        "Garden News <news@garden.example>",
        "Spring guide",
        "Sat, 3 Jan 2026 09:00:00 +0000",
        "spring@garden.example",
        concat!(
            "Content-Type: text/html; charset=utf-8\r\n\r\n",
            "<html><head><script>steal()</script><style>p{color:red}</style></head><body>",
            "<p>Plant tomatoes after the frost. <a href=\"https://garden.example/guide\">Full guide</a></p>",
            "<img src=\"https://track.garden.example/open.gif?u=42\" width=\"1\" height=\"1\">",
            "</body></html>\r\n"
        ),
    );
    let html_id = s.emu.deliver_mail(EMU_USER, &html).unwrap();
    let pdf_bytes = pdf("Total due 42 EUR");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let att_id = s
        .emu
        .deliver_mail(
            EMU_USER,
            &with_attachments(
                "Invoice 13",
                "inv13@acme.example",
                &[
                    ("invoice.pdf", "application/pdf", &pdf_bytes),
                    ("notes.txt", "text/plain", b"pay by Friday"),
                    ("logo.bin", "application/octet-stream", &[1, 2, 3]),
                    ("huge.bin", "application/octet-stream", &big),
                ],
            ),
        )
        .unwrap();

    // Accounts and mailboxes.
    let out = call_ok(&client, "nc_mail_list_accounts", json!({})).await;
    assert_eq!(out["results"][0]["id"], s.account);
    assert_eq!(out["results"][0]["email"], "alice@example.com");
    let out = call_ok(
        &client,
        "nc_mail_list_mailboxes",
        json!({"account_id": s.account}),
    )
    .await;
    let inbox = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "inbox")
        .unwrap();
    assert_eq!(inbox["id"], s.inbox);
    assert_eq!(inbox["unread"], 3);

    // Listing, newest first, with a search.
    let out = call_ok(
        &client,
        "nc_mail_list_messages",
        json!({"mailbox_id": s.inbox}),
    )
    .await;
    let ids: Vec<u64> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![att_id, html_id, plain_id]);
    assert_eq!(out["has_more"], false);
    assert_eq!(out["results"][2]["from"], "Bob <bob@example.org>");
    assert_eq!(out["results"][0]["has_attachments"], true);
    let out = call_ok(
        &client,
        "nc_mail_list_messages",
        json!({"mailbox_id": s.inbox, "search_filter": "lunch"}),
    )
    .await;
    assert_eq!(out["total_count"], 1);
    assert_eq!(out["results"][0]["id"], plain_id);
    let out = call_ok(
        &client,
        "nc_mail_list_messages",
        json!({"mailbox_id": s.inbox, "search_filter": "from:garden"}),
    )
    .await;
    assert_eq!(out["results"][0]["id"], html_id);

    // A plain message as is; an HTML one as text without script, style or pixel, link kept.
    let out = call_ok(
        &client,
        "nc_mail_get_message",
        json!({"message_id": plain_id}),
    )
    .await;
    assert_eq!(out["message"]["subject"], "Lunch on Friday");
    assert!(
        out["message"]["body"]
            .as_str()
            .unwrap()
            .contains("Shall we meet at noon?")
    );
    assert_eq!(out["message"]["header_message_id"], "<lunch@example.org>");
    let out = call_ok(
        &client,
        "nc_mail_get_message",
        json!({"message_id": html_id}),
    )
    .await;
    let body = out["message"]["body"].as_str().unwrap();
    assert!(body.contains("Plant tomatoes after the frost."), "{body}");
    assert!(body.contains("https://garden.example/guide"), "{body}");
    for gone in ["steal", "color:red", "track.garden", "<p>", "<img"] {
        assert!(!body.contains(gone), "{gone} in {body}");
    }
    assert!(out["message"]["note"].as_str().unwrap().contains("HTML"));

    // Attachments: PDF text extracted, text decoded, small binary as base64, big refused.
    let out = call_ok(
        &client,
        "nc_mail_get_message",
        json!({"message_id": att_id}),
    )
    .await;
    let atts = out["message"]["attachments"].as_array().unwrap().clone();
    assert_eq!(atts.len(), 4);
    let part = |name: &str| {
        atts.iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let out = call_ok(
        &client,
        "nc_mail_get_attachment",
        json!({"message_id": att_id, "attachment_id": part("invoice.pdf")}),
    )
    .await;
    assert_eq!(out["mime"], "application/pdf");
    assert_eq!(out["encoding"], "text");
    assert!(
        out["content"]
            .as_str()
            .unwrap()
            .contains("Total due 42 EUR"),
        "{out}"
    );
    let out = call_ok(
        &client,
        "nc_mail_get_attachment",
        json!({"message_id": att_id, "attachment_id": part("notes.txt")}),
    )
    .await;
    assert_eq!(out["content"], "pay by Friday");
    let out = call_ok(
        &client,
        "nc_mail_get_attachment",
        json!({"message_id": att_id, "attachment_id": part("logo.bin")}),
    )
    .await;
    assert_eq!(out["encoding"], "base64");
    assert_eq!(out["content"], "AQID");
    let e = call_err(
        &client,
        "nc_mail_get_attachment",
        json!({"message_id": att_id, "attachment_id": part("huge.bin")}),
    )
    .await;
    assert!(
        e.contains("huge.bin") && e.contains("application/octet-stream") && e.contains("binary"),
        "{e}"
    );

    // Source.
    let out = call_ok(
        &client,
        "nc_mail_get_message_source",
        json!({"message_id": plain_id}),
    )
    .await;
    assert!(
        out["source"]
            .as_str()
            .unwrap()
            .contains("Message-ID: <lunch@example.org>")
    );
    assert_eq!(out["truncated"], false);

    // Bad ids and arguments.
    for (tool, args) in [
        ("nc_mail_get_message", json!({"message_id": 999_999})),
        ("nc_mail_get_message_source", json!({"message_id": 999_999})),
        ("nc_mail_list_messages", json!({"mailbox_id": 999_999})),
        ("nc_mail_delete_message", json!({"message_id": 999_999})),
        (
            "nc_mail_set_flags",
            json!({"message_id": 999_999, "seen": true}),
        ),
        ("nc_mail_list_mailboxes", json!({"account_id": 999_999})),
        (
            "nc_mail_move_message",
            json!({"message_id": plain_id, "destination_mailbox_id": 999_999}),
        ),
    ] {
        let e = call_err(&client, tool, args).await;
        assert!(e.contains("was not found"), "{tool}: {e}");
    }
    let e = call_err(
        &client,
        "nc_mail_list_messages",
        json!({"mailbox_id": s.inbox, "limit": 0}),
    )
    .await;
    assert!(e.contains("`limit`"), "{e}");
}

#[tokio::test]
async fn pagination_follows_the_cursor() {
    let Some(s) = setup().await else { return };
    let client = connect(&s.nc, Transport::HttpStateless, &Default::default()).await;
    let mut delivered = Vec::new();
    for day in 1..=7 {
        let raw = plain(
            "Bob <bob@example.org>",
            &format!("Day {day}"),
            &format!("Thu, {day:02} Jan 2026 08:00:00 +0000").replace("Thu, ", ""),
            &format!("day{day}@example.org"),
            "hello",
        );
        delivered.push(s.emu.deliver_mail(EMU_USER, &raw).unwrap());
    }
    delivered.reverse();
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    for page in 0.. {
        let out = call_ok(
            &client,
            "nc_mail_list_messages",
            json!({"mailbox_id": s.inbox, "limit": 3, "cursor": cursor}),
        )
        .await;
        seen.extend(
            out["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_u64().unwrap()),
        );
        if out["has_more"] == false {
            assert_eq!(page, 2);
            assert!(out.get("next_cursor").is_none());
            break;
        }
        cursor = out["next_cursor"].clone();
    }
    assert_eq!(seen, delivered);
}

#[tokio::test]
async fn changing_messages_end_to_end() {
    let Some(s) = setup().await else { return };
    let client = connect(&s.nc, Transport::HttpSession, &Default::default()).await;
    let id = s
        .emu
        .deliver_mail(
            EMU_USER,
            &plain(
                "Bob <bob@example.org>",
                "Flags",
                "Fri, 2 Jan 2026 09:00:00 +0000",
                "flags@example.org",
                "x",
            ),
        )
        .unwrap();
    let find = |list: Vec<Message>| list.into_iter().find(|m| m.database_id == id);
    let flag = |m: &Message, n: &str| m.flags.get(n).and_then(Value::as_bool).unwrap_or(false);

    // Flags: only those given change.
    call_ok(
        &client,
        "nc_mail_set_flags",
        json!({"message_id": id, "seen": true, "flagged": true, "junk": true}),
    )
    .await;
    let m = find(in_box(&s.nc, s.inbox).await).unwrap();
    assert!(flag(&m, "seen") && flag(&m, "flagged") && flag(&m, "$junk") && !flag(&m, "answered"));
    call_ok(
        &client,
        "nc_mail_set_flags",
        json!({"message_id": id, "seen": false}),
    )
    .await;
    let m = find(in_box(&s.nc, s.inbox).await).unwrap();
    assert!(!flag(&m, "seen") && flag(&m, "flagged"));
    let e = call_err(&client, "nc_mail_set_flags", json!({"message_id": id})).await;
    assert!(e.contains("at least one"), "{e}");

    // Tags: created (twice gives the same), put on by name, taken off by label.
    let out = call_ok(
        &client,
        "nc_mail_create_tag",
        json!({"display_name": "Tax 2026"}),
    )
    .await;
    assert_eq!(out["tag"]["imap_label"], "$tax_2026");
    assert_eq!(out["tag"]["color"], "#0082c9");
    let again = call_ok(
        &client,
        "nc_mail_create_tag",
        json!({"display_name": "Tax 2026", "color": "#ff0000"}),
    )
    .await;
    assert_eq!(again["tag"]["id"], out["tag"]["id"]);
    let e = call_err(
        &client,
        "nc_mail_create_tag",
        json!({"display_name": "x", "color": "red"}),
    )
    .await;
    assert!(e.contains("`color`"), "{e}");
    call_ok(
        &client,
        "nc_mail_set_tag",
        json!({"message_id": id, "tag": "Tax 2026"}),
    )
    .await;
    let m = find(in_box(&s.nc, s.inbox).await).unwrap();
    assert_eq!(m.tags["$tax_2026"].display_name, "Tax 2026");
    let out = call_ok(
        &client,
        "nc_mail_list_messages",
        json!({"mailbox_id": s.inbox, "search_filter": "tags:$tax_2026"}),
    )
    .await;
    assert_eq!(out["results"][0]["tags"][0], "Tax 2026");
    call_ok(
        &client,
        "nc_mail_remove_tag",
        json!({"message_id": id, "tag": "$tax_2026"}),
    )
    .await;
    assert!(find(in_box(&s.nc, s.inbox).await).unwrap().tags.is_empty());
    let e = call_err(
        &client,
        "nc_mail_set_tag",
        json!({"message_id": id, "tag": "Never made"}),
    )
    .await;
    assert!(
        e.contains("was not found") && e.contains("$never_made"),
        "{e}"
    );

    // Move to the archive, then delete: to the trash first, for good from there.
    let archive = s.mailbox["Archive"];
    let trash = s.mailbox["Trash"];
    call_ok(
        &client,
        "nc_mail_move_message",
        json!({"message_id": id, "destination_mailbox_id": archive}),
    )
    .await;
    assert!(find(in_box(&s.nc, s.inbox).await).is_none());
    assert!(find(in_box(&s.nc, archive).await).is_some());
    call_ok(&client, "nc_mail_delete_message", json!({"message_id": id})).await;
    assert!(find(in_box(&s.nc, archive).await).is_none());
    assert!(find(in_box(&s.nc, trash).await).is_some());
    call_ok(&client, "nc_mail_delete_message", json!({"message_id": id})).await;
    assert!(find(in_box(&s.nc, trash).await).is_none());
    let e = call_err(&client, "nc_mail_get_message", json!({"message_id": id})).await;
    assert!(e.contains("was not found"), "{e}");
}

/// A client that can show forms and answers every confirmation with `action`, recording what
/// it was shown.
#[derive(Clone)]
struct Confirmer {
    action: Arc<Mutex<ElicitationAction>>,
    shown: Arc<Mutex<Vec<String>>>,
}

impl Confirmer {
    fn new(action: ElicitationAction) -> Self {
        Self {
            action: Arc::new(Mutex::new(action)),
            shown: Default::default(),
        }
    }
}

impl ClientHandler for Confirmer {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = request {
            self.shown.lock().unwrap().push(message);
        }
        let action = self.action.lock().unwrap().clone();
        let mut r = ElicitResult::new(action.clone());
        if matches!(action, ElicitationAction::Accept) {
            r.content = Some(json!({}));
        }
        Ok(r)
    }

    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.elicitation =
            Some(ElicitationCapability::new().with_form(FormElicitationCapability::new()));
        ClientConfig::new(caps, Implementation::new("mail-test", "1.0"))
    }
}

async fn connect_confirming(
    url: &str,
    confirmer: Confirmer,
    stateless: bool,
) -> RunningService<RoleClient, Confirmer> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let http = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    );
    if stateless {
        confirmer
            .serve_with_lifecycle(
                http,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("discover")
    } else {
        confirmer.serve(http).await.expect("initialize")
    }
}

#[tokio::test]
async fn sending_asks_first_and_lands_in_sent() {
    let Some(s) = setup().await else { return };
    let sent = s.mailbox["Sent"];
    let parent = s
        .emu
        .deliver_mail(
            EMU_USER,
            &plain(
                "Bob <bob@example.org>",
                "Lunch?",
                "Fri, 2 Jan 2026 09:00:00 +0000",
                "lunch-1@example.org",
                "Noon?",
            ),
        )
        .unwrap();
    let url = spawn_http(s.nc.server(&Default::default()), &Default::default()).await;
    for stateless in [false, true] {
        let label = if stateless {
            "2026-07-28"
        } else {
            "2025-11-25"
        };
        let confirmer = Confirmer::new(ElicitationAction::Decline);
        let client = connect_confirming(&url, confirmer.clone(), stateless).await;
        let subject = format!("Re: Lunch? ({label})");
        let args = json!({
            "account_id": s.account,
            "to": "Bob <bob@example.org>",
            "cc": "carol@example.org",
            "bcc": "dave@example.org",
            "subject": subject,
            "body": "Noon works.\nSee you there.",
            "references": "lunch-1@example.org",
        });
        // Declined or cancelled: nothing sent, nothing queued.
        for (action, status) in [
            (ElicitationAction::Decline, "declined"),
            (ElicitationAction::Cancel, "cancelled"),
        ] {
            *confirmer.action.lock().unwrap() = action;
            let r = multi_common::call_any(&client, "nc_mail_send_message", args.clone()).await;
            let out = multi_common::out(&r);
            assert_eq!(out["status"], status, "{label}");
            assert_eq!(out["success"], false, "{label}");
            assert!(
                !in_box(&s.nc, sent)
                    .await
                    .iter()
                    .any(|m| m.subject == subject),
                "{label}"
            );
            assert_eq!(s.emu.mail_outbox_len(EMU_USER), 0, "{label}");
        }
        let shown = confirmer.shown.lock().unwrap().last().cloned().unwrap();
        assert!(
            shown.contains("To: Bob <bob@example.org>")
                && shown.contains("Cc: carol@example.org")
                && shown.contains(&subject)
                && shown.contains("Noon works."),
            "{label}: {shown}"
        );

        // Confirmed: in Sent with recipients, subject, body and the reply's headers.
        *confirmer.action.lock().unwrap() = ElicitationAction::Accept;
        let r = multi_common::call_any(&client, "nc_mail_send_message", args.clone()).await;
        let out = multi_common::out(&r);
        assert_eq!(out["status"], "sent", "{label}: {out}");
        let copy = in_box(&s.nc, sent)
            .await
            .into_iter()
            .find(|m| m.subject == subject)
            .unwrap_or_else(|| panic!("{label}: not in Sent"));
        let source = s.nc.direct().mail().source(copy.database_id).await.unwrap();
        for expected in [
            "To: \"Bob\" <bob@example.org>",
            "Cc: <carol@example.org>",
            "Bcc: <dave@example.org>",
            "In-Reply-To: <lunch-1@example.org>",
            "References: <lunch-1@example.org>",
            "Noon works.",
            "From: \"alice\" <alice@example.com>",
        ] {
            assert!(source.contains(expected), "{label}: {expected} in {source}");
        }
        assert_eq!(s.emu.mail_outbox_len(EMU_USER), 0, "{label}");
    }
    // The message replied to is answered now.
    let m = in_box(&s.nc, s.inbox)
        .await
        .into_iter()
        .find(|m| m.database_id == parent)
        .unwrap();
    assert_eq!(m.flags["answered"], true);
}

#[tokio::test]
async fn bad_recipients_are_refused_before_anything_is_queued() {
    let Some(s) = setup().await else { return };
    // A client without elicitation sends without asking.
    let client = connect(&s.nc, Transport::HttpSession, &Default::default()).await;
    let base =
        json!({"account_id": s.account, "to": "bob@example.org", "subject": "Hi", "body": "Hello"});
    for (field, value) in [
        ("to", "bob"),
        ("to", ""),
        ("cc", "carol@example.org, not an address"),
        ("bcc", "dave@"),
        ("references", "no id"),
    ] {
        let mut args = base.clone();
        args[field] = json!(value);
        let e = call_err(&client, "nc_mail_send_message", args).await;
        assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
    }
    let e = call_err(
        &client,
        "nc_mail_send_message",
        json!({"account_id": 999_999, "to": "bob@example.org", "subject": "Hi", "body": "Hello"}),
    )
    .await;
    assert!(e.contains("was not found"), "{e}");
    assert_eq!(s.emu.mail_outbox_len(EMU_USER), 0);
    assert!(in_box(&s.nc, s.mailbox["Sent"]).await.is_empty());
    let out = call_ok(&client, "nc_mail_send_message", base.clone()).await;
    assert_eq!(out["status"], "sent");
    assert_eq!(in_box(&s.nc, s.mailbox["Sent"]).await.len(), 1);
}

#[tokio::test]
async fn sending_needs_the_send_scope() {
    let Some(s) = setup().await else { return };
    // Granted reading and changing mail, not sending.
    let scoped = multi_common::scoped_client(
        &s.nc.base_url,
        &s.nc.username,
        &s.nc.password,
        &["mail.read", "mail.write"],
        "mail.read mail.write mail.send",
    )
    .await;
    let (client, listed) = (&scoped.client, &scoped.listed);
    assert!(listed.contains("nc_mail_set_flags"));
    assert!(!listed.contains("nc_mail_send_message"));
    let e = call_err(
        client,
        "nc_mail_send_message",
        json!({"account_id": s.account, "to": "bob@example.org", "subject": "Hi", "body": "Hello"}),
    )
    .await;
    assert!(e.contains("mail.send"), "{e}");
    assert!(in_box(&s.nc, s.mailbox["Sent"]).await.is_empty());
    let id = s
        .emu
        .deliver_mail(
            EMU_USER,
            &plain(
                "b@example.org",
                "x",
                "Fri, 2 Jan 2026 09:00:00 +0000",
                "x@example.org",
                "x",
            ),
        )
        .unwrap();
    call_ok(
        client,
        "nc_mail_set_flags",
        json!({"message_id": id, "seen": true}),
    )
    .await;
    scoped.cleanup().await;
}

#[tokio::test]
async fn mail_tools_are_hidden_when_the_app_is_missing() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    // Mail publishes no capability; the server probes its API, hides its tools and a call
    // says plainly that the app is missing.
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name.starts_with("nc_notes_")));
    assert!(!tools.iter().any(|t| t.name.starts_with("nc_mail_")));
    let e = call_err(&client, "nc_mail_list_accounts", json!({})).await;
    assert!(e.contains("Mail app is not installed"), "{e}");
    let e = call_err(&client, "nc_mail_get_message", json!({"message_id": 1})).await;
    assert!(e.contains("Mail app is not installed"), "{e}");
}
