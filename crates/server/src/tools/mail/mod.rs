//! Mail app tools: `nc_mail_*`. Bodies come back as readable text (HTML converted, images and
//! scripts dropped, links kept as numbered references), bounded in size. Sending needs the
//! `mail.send` scope and, when the client can ask its user, their confirmation first.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::NextcloudMcp;
use nextcloud::mail::{Address, Tag};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::mail_read_router() + NextcloudMcp::mail_write_router()
}

/// Largest body returned, in bytes of text.
pub const BODY_MAX: usize = 20_000;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MessageIdArgs {
    pub message_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TagArgs {
    pub message_id: u64,
    /// Tag name or IMAP label (`$label1`).
    pub tag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TagOut {
    pub id: u64,
    pub display_name: String,
    pub imap_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl From<Tag> for TagOut {
    fn from(t: Tag) -> Self {
        Self {
            id: t.id,
            display_name: t.display_name,
            imap_label: t.imap_label,
            color: t.color,
        }
    }
}

/// Answer of the tools that change one message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DoneOut {
    pub status_code: u16,
    pub message: String,
    pub message_id: u64,
}

/// `Name <address>` of each address.
pub fn shown(list: &[Address]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// Unix seconds as RFC 3339 UTC.
pub fn date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Readable text of an HTML body: no scripts, styles or images (tracking pixels included),
/// links kept as numbered references listed at the end.
pub fn html_to_text(html: &str) -> String {
    let text = html2text::config::plain()
        .link_footnotes(true)
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), 100)
        .unwrap_or_else(|_| String::new());
    // Blank-looking lines (an image with no alt text leaves one) collapse.
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_without_scripts_or_images_and_keeps_links() {
        let html = concat!(
            "<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>",
            "<h1>News</h1><p>Read the <a href=\"https://example.org/guide\">guide</a>.</p>",
            "<img src=\"https://track.example/p.gif\" width=\"1\" height=\"1\" alt=\"\">",
            "<img src=\"https://cdn.example/logo.png\">",
            "<script>document.write('tracked')</script></body></html>"
        );
        let text = html_to_text(html);
        assert!(text.contains("News"), "{text}");
        assert!(text.contains("guide"), "{text}");
        assert!(text.contains("https://example.org/guide"), "{text}");
        assert!(!text.contains("alert"), "{text}");
        assert!(!text.contains("tracked"), "{text}");
        assert!(!text.contains("color:red"), "{text}");
        assert!(!text.contains("track.example"), "{text}");
        assert!(!text.contains("logo.png"), "{text}");
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(date(0), "1970-01-01T00:00:00Z");
    }
}
