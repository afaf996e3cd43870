//! MCP resources: `nc://capabilities` and notes as `nc://Notes/{note_id}`.

use base64::Engine;
use nextcloud::NextcloudUser;
use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};

const CAPABILITIES: &str = "nc://capabilities";
const NOTE_PREFIX: &str = "nc://Notes/";

pub(super) fn list() -> Vec<Resource> {
    vec![
        Resource::new(CAPABILITIES, "capabilities")
            .with_title("Nextcloud capabilities")
            .with_description(
                "Version of the Nextcloud instance and the capabilities of its installed apps.",
            )
            .with_mime_type("application/json"),
    ]
}

pub(super) fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("nc://Notes/{note_id}", "note")
            .with_title("Note")
            .with_description("A note from the Notes app as JSON (title, category, content, etag).")
            .with_mime_type("application/json"),
        ResourceTemplate::new(
            "nc://Notes/{note_id}/attachments/{attachment_filename}",
            "note_attachment",
        )
        .with_title("Note attachment")
        .with_description("A file attached to a note (an image pasted into it, ...)."),
    ]
}

pub(super) async fn read(user: &NextcloudUser, uri: &str) -> Result<ReadResourceResult, McpError> {
    if uri == CAPABILITIES {
        let caps = user.capabilities().await.map_err(nextcloud_error)?;
        let text = serde_json::to_string_pretty(&*caps)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        return Ok(json_contents(uri, text));
    }
    if let Some(rest) = uri.strip_prefix(NOTE_PREFIX) {
        let (id, attachment) = match rest.split_once("/attachments/") {
            Some((id, file)) => (id, Some(file)),
            None => (rest, None),
        };
        let id: u64 = id.parse().map_err(|_| {
            McpError::invalid_params(
                format!("`{uri}`: the note id must be a number, e.g. nc://Notes/42"),
                None,
            )
        })?;
        let note = user.notes().get(id).await.map_err(nextcloud_error)?;
        return match attachment {
            None => {
                let text = serde_json::to_string_pretty(&note)
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                Ok(json_contents(uri, text))
            }
            Some(file) => {
                let file = percent_encoding::percent_decode_str(file).decode_utf8_lossy();
                let download = user
                    .notes()
                    .attachment(&note, &file)
                    .await
                    .map_err(nextcloud_error)?;
                let blob = base64::engine::general_purpose::STANDARD.encode(&download.content);
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::blob(blob, uri).with_mime_type(download.content_type),
                ]))
            }
        };
    }
    Err(McpError::resource_not_found(
        format!("no resource `{uri}`; try nc://capabilities or nc://Notes/{{note_id}}"),
        None,
    ))
}

fn json_contents(uri: &str, text: String) -> ReadResourceResult {
    ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("application/json"),
    ])
}

fn nextcloud_error(e: nextcloud::Error) -> McpError {
    match e {
        nextcloud::Error::NotFound { .. } => McpError::resource_not_found(e.to_string(), None),
        other => McpError::internal_error(other.to_string(), None),
    }
}
