//! The Notes app's REST API v1 (`/index.php/apps/notes/api/v1`).
//!
//! Notes are Markdown files in the user's notes folder; the API adds ids, titles, categories
//! and ETags. Updates send the ETag the caller last saw as `If-Match`, so a concurrent edit
//! surfaces as [`Error::Conflict`] instead of being overwritten.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Request;
use crate::dav::Download;
use crate::{Error, NextcloudUser, Result};

const BASE: &str = "/index.php/apps/notes/api/v1";

/// A note with all its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: u64,
    pub etag: String,
    #[serde(default)]
    pub readonly: bool,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub favorite: bool,
    /// Unix time of the last change.
    #[serde(default)]
    pub modified: i64,
}

/// A note as listed: with `pruneBefore` or `exclude`, fields may be missing.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListedNote {
    pub id: u64,
    pub etag: Option<String>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub content: Option<String>,
    pub modified: Option<i64>,
    pub favorite: Option<bool>,
    pub readonly: Option<bool>,
}

impl ListedNote {
    /// True when the server left the note out because it did not change (`pruneBefore`).
    pub fn is_pruned(&self) -> bool {
        self.etag.is_none() && self.title.is_none() && self.modified.is_none()
    }
}

/// Which notes to list, and how much of each.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub category: Option<String>,
    /// Fields to leave out, e.g. `content` for a light listing.
    pub exclude: Vec<&'static str>,
    /// Notes not modified since this Unix time come back as `{id}` only.
    pub prune_before: Option<i64>,
    /// The ETag of a previous listing; an unchanged list answers 304 (`None`).
    pub if_none_match: Option<String>,
}

/// A listing, its ETag, and the server's clock when it was made.
#[derive(Clone, Debug)]
pub struct NoteList {
    pub notes: Vec<ListedNote>,
    pub etag: Option<String>,
    /// `Last-Modified` of the listing: the server time taken *before* the notes were read,
    /// which is the right `prune_before` for the next sync (changes made during the listing
    /// are then sent again rather than missed).
    pub server_time: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct NewNote {
    pub title: String,
    pub content: String,
    pub category: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub favorite: bool,
}

/// Fields to change; `None` keeps the current value.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NoteChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favorite: Option<bool>,
}

impl NoteChanges {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.content.is_none()
            && self.category.is_none()
            && self.favorite.is_none()
    }
}

/// Where the app keeps notes in the user's files.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotesSettings {
    pub notes_path: String,
    pub file_suffix: String,
}

/// The Notes API for one user; get it with [`NextcloudUser::notes`].
pub struct Notes<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn notes(&self) -> Notes<'_> {
        Notes { user: self }
    }
}

fn what(id: u64) -> String {
    format!("Note {id}")
}

/// `If-Match` wants a quoted entity tag; accept the bare ETag the API returns in JSON.
fn quoted(etag: &str) -> String {
    let bare = etag.trim().trim_start_matches("W/").trim_matches('"');
    format!("\"{bare}\"")
}

impl Notes<'_> {
    /// Lists notes; `Ok(None)` when `if_none_match` still matches (nothing changed).
    pub async fn list(&self, query: &ListQuery) -> Result<Option<NoteList>> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(c) = &query.category {
            params.push(("category", c.clone()));
        }
        if !query.exclude.is_empty() {
            params.push(("exclude", query.exclude.join(",")));
        }
        if let Some(p) = query.prune_before {
            params.push(("pruneBefore", p.to_string()));
        }
        let qs = serde_urlencoded_pairs(&params);
        let mut req = Request::new(Method::GET, format!("{BASE}/notes{qs}"), "The note list");
        if let Some(tag) = &query.if_none_match {
            req = req.header(http::header::IF_NONE_MATCH, tag)?;
        }
        let resp = self.user.send(req).await?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let server_time = resp
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|t| t.timestamp());
        let notes = crate::client::decode_json(resp, "GET notes").await?;
        Ok(Some(NoteList {
            notes,
            etag,
            server_time,
        }))
    }

    pub async fn get(&self, id: u64) -> Result<Note> {
        let req = Request::new(Method::GET, format!("{BASE}/notes/{id}"), what(id));
        self.user.send_json(req).await
    }

    pub async fn create(&self, note: &NewNote) -> Result<Note> {
        let req = Request::new(Method::POST, format!("{BASE}/notes"), "The new note").json(note)?;
        self.user.send_json(req).await
    }

    /// Changes a note. With `if_match`, the change only applies to that version of the note.
    pub async fn update(
        &self,
        id: u64,
        changes: &NoteChanges,
        if_match: Option<&str>,
    ) -> Result<Note> {
        let mut req =
            Request::new(Method::PUT, format!("{BASE}/notes/{id}"), what(id)).json(changes)?;
        if let Some(etag) = if_match {
            req = req.header(http::header::IF_MATCH, &quoted(etag))?;
        }
        self.user.send_json(req).await
    }

    /// Appends text to a note without losing a concurrent edit: read, append, write with
    /// `If-Match`; if someone else wrote in between, re-read and append to their version.
    pub async fn append(&self, id: u64, text: &str, separator: &str) -> Result<Note> {
        let mut attempts = 0;
        loop {
            let note = self.get(id).await?;
            let content = if note.content.is_empty() {
                text.to_string()
            } else {
                format!("{}{separator}{text}", note.content)
            };
            let changes = NoteChanges {
                content: Some(content),
                ..Default::default()
            };
            match self.update(id, &changes, Some(&note.etag)).await {
                Err(Error::Conflict { .. }) if attempts < 3 => attempts += 1,
                other => return other,
            }
        }
    }

    pub async fn delete(&self, id: u64) -> Result<()> {
        let req = Request::new(Method::DELETE, format!("{BASE}/notes/{id}"), what(id));
        self.user.send(req).await.map(drop)
    }

    pub async fn settings(&self) -> Result<NotesSettings> {
        let req = Request::new(
            Method::GET,
            format!("{BASE}/settings"),
            "The Notes settings",
        );
        self.user.send_json(req).await
    }

    /// Downloads a file attached to a note (images pasted into it, ...). The app keeps them
    /// in `<notes folder>/<category>/.attachments.<note id>/`.
    pub async fn attachment(&self, note: &Note, filename: &str) -> Result<Download> {
        if filename.is_empty()
            || filename.contains('/')
            || filename.contains('\\')
            || filename == "."
            || filename == ".."
        {
            return Err(Error::invalid_argument(
                "attachment_filename",
                "expected a plain file name such as `image.png`, without `/` or `..`",
            ));
        }
        let settings = self.settings().await?;
        let mut path = settings.notes_path.trim_matches('/').to_string();
        if !note.category.is_empty() {
            path.push('/');
            path.push_str(&note.category);
        }
        path.push_str(&format!("/.attachments.{}/{filename}", note.id));
        self.user
            .download(
                &path,
                &format!("Attachment `{filename}` of note {}", note.id),
            )
            .await
    }
}

fn serde_urlencoded_pairs(params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    format!("?{}", ser.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_once() {
        assert_eq!(quoted("abc"), "\"abc\"");
        assert_eq!(quoted("\"abc\""), "\"abc\"");
        assert_eq!(quoted("W/\"abc\""), "\"abc\"");
    }

    #[test]
    fn pruned_notes_are_recognised() {
        let pruned: ListedNote = serde_json::from_str(r#"{"id":5}"#).unwrap();
        assert!(pruned.is_pruned());
        let full: ListedNote =
            serde_json::from_str(r#"{"id":5,"etag":"x","title":"t","modified":1}"#).unwrap();
        assert!(!full.is_pruned());
    }

    #[test]
    fn query_string_is_encoded() {
        let qs = serde_urlencoded_pairs(&[("category", "Work & Life".into())]);
        assert_eq!(qs, "?category=Work+%26+Life");
    }
}
