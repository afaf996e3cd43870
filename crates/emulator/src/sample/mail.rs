//! Sample mail: a few messages in the INBOX (a plain one, an HTML newsletter with a tracking
//! pixel and links, one with a PDF attachment, a reply in a thread), delivered as raw MIME
//! built with `mail-builder` (mail only ever arrives; no API creates it), then tagged and
//! flagged through the app's routes like the web UI would.

use mail_builder::MessageBuilder;
use serde_json::json;

use super::{SeedError, Seeder};
use crate::state::AppState;

pub(super) async fn seed(s: &Seeder, state: &AppState) -> Result<(), SeedError> {
    if !state.app_installed("mail") {
        return Ok(());
    }
    let me = format!("{}@example.com", s.user);
    let t = s.now.timestamp();
    let build = |b: MessageBuilder<'_>| {
        b.write_to_vec()
            .map_err(|e| SeedError(format!("building sample mail: {e}")))
    };
    let first = build(
        MessageBuilder::new()
            .from(("Bob Baker", "bob@example.org"))
            .to(me.as_str())
            .subject("Lunch on Friday?")
            .date(t - 3 * 86_400)
            .message_id("lunch-1@example.org")
            .text_body(
                "Hi,\n\nshall we try the new place on Market Street on Friday at noon?\n\nBob",
            ),
    )?;
    let reply = build(
        MessageBuilder::new()
            .from(("Bob Baker", "bob@example.org"))
            .to(me.as_str())
            .subject("Re: Lunch on Friday?")
            .date(t - 2 * 86_400)
            .message_id("lunch-3@example.org")
            .in_reply_to("lunch-2@example.com")
            .references(vec!["lunch-1@example.org", "lunch-2@example.com"])
            .text_body("Great, I booked a table for two.\n\n> Friday works for me.\n\nBob"),
    )?;
    let newsletter = build(
        MessageBuilder::new()
            .from(("Green Garden News", "news@garden.example"))
            .to(me.as_str())
            .subject("Spring planting guide")
            .date(t - 86_400)
            .message_id("spring-2026@garden.example")
            .html_body(concat!(
                "<html><head><style>p{color:green}</style>",
                "<script>document.title='tracked'</script></head><body>",
                "<h1>Spring planting guide</h1>",
                "<p>Tomatoes go out after the last frost. Read the ",
                "<a href=\"https://garden.example/guide\">full guide</a>.</p>",
                "<img src=\"https://track.garden.example/open.gif?u=42\" width=\"1\" height=\"1\" alt=\"\">",
                "</body></html>"
            ))
            .text_body("Spring planting guide\n\nTomatoes go out after the last frost."),
    )?;
    let invoice = build(
        MessageBuilder::new()
            .from(("Acme Billing", "billing@acme.example"))
            .to(me.as_str())
            .subject("Invoice 2026-0113")
            .date(t - 3_600)
            .message_id("invoice-0113@acme.example")
            .text_body("Hello,\n\nplease find the invoice for January attached.\n\nAcme")
            .attachment(
                "application/pdf",
                "invoice-2026-0113.pdf",
                sample_pdf("Invoice 2026-0113: total due 42.00 EUR"),
            ),
    )?;
    let mut ids = Vec::new();
    for raw in [first, reply, newsletter, invoice] {
        let id = crate::mail::deliver(state, &s.user, &raw)
            .ok_or_else(|| SeedError(format!("delivering sample mail to {}", s.user)))?;
        ids.push(id);
    }
    let api = "/index.php/apps/mail/api";
    s.json(
        "PUT",
        &format!("{api}/messages/{}/flags", ids[0]),
        json!({"flags": {"seen": true, "answered": true}}),
    )
    .await?;
    s.json(
        "PUT",
        &format!("{api}/messages/{}/flags", ids[3]),
        json!({"flags": {"flagged": true}}),
    )
    .await?;
    s.json(
        "PUT",
        &format!("{api}/messages/{}/tags/$label2", ids[3]),
        json!({}),
    )
    .await?;
    Ok(())
}

/// A one-page PDF that shows `line` (uncompressed, with a correct cross-reference table), so
/// text extraction has something real to read.
pub fn sample_pdf(line: &str) -> Vec<u8> {
    let text = line
        .replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)");
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
