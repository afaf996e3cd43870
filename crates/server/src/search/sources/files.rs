//! Files: the root folder's ETag changes whenever anything below it changes, so an unchanged
//! tree costs one PROPFIND. Otherwise one DAV SEARCH lists every file with its ETag, and only
//! files whose ETag moved are downloaded: text files and the documents the file tools can
//! read (PDF, office), up to [`MAX_DOWNLOAD`] bytes; other files are indexed by name. Files
//! in the Notes app's folder are left to the notes source.

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use nextcloud::NextcloudUser;
use nextcloud::files::{FileInfo, SearchQuery};

use super::{Cursor, Delta, Source, bounded, gone_as_none};
use crate::search::{Doc, Kind};
use crate::tools::files::extract;

pub struct Files;

/// Largest file downloaded for its text.
pub const MAX_DOWNLOAD: u64 = 10 * 1024 * 1024;
const DOWNLOADS_IN_FLIGHT: usize = 4;
const ROOT: &str = "root";

/// The text of a file worth reading, if any (errors leave it indexed by name only).
async fn text_of(user: &NextcloudUser, f: &FileInfo) -> String {
    let content_type = f.content_type.clone().unwrap_or_default();
    let doc_kind = extract::kind_of(&content_type, &f.name);
    let textual = crate::tools::files::read::is_textual(&content_type)
        || matches!(
            f.name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .as_deref(),
            Some(
                "md" | "txt"
                    | "csv"
                    | "json"
                    | "org"
                    | "rst"
                    | "tex"
                    | "html"
                    | "xml"
                    | "yaml"
                    | "yml"
            )
        );
    if f.size > MAX_DOWNLOAD || (!textual && doc_kind.is_none()) {
        return String::new();
    }
    let Ok((bytes, _)) = user.files().download(&f.path).await else {
        return String::new();
    };
    let text = match doc_kind {
        Some(kind) => tokio::task::spawn_blocking(move || {
            extract::extract(kind, &bytes, (None, None))
                .map(|e| e.text)
                .unwrap_or_default()
        })
        .await
        .unwrap_or_default(),
        None => extract::decode_text(&bytes, &content_type).text,
    };
    bounded(text)
}

fn doc(base: &str, f: &FileInfo, id: u64, text: String) -> Doc {
    Doc {
        id: id.to_string(),
        title: f.name.clone(),
        text,
        url: format!("{base}/index.php/f/{id}"),
        modified: f.modified_unix().unwrap_or_default(),
        path: f.path.clone(),
        marker: f.etag.clone().unwrap_or_default(),
    }
}

impl Source for Files {
    fn kind(&self) -> Kind {
        Kind::Files
    }

    fn changes<'a>(
        &'a self,
        user: &'a NextcloudUser,
        known: &'a HashMap<String, String>,
        cursor: &'a mut Cursor,
    ) -> BoxFuture<'a, nextcloud::Result<Delta>> {
        async move {
            let root = user.files().stat("").await?;
            let root_etag = root.etag.unwrap_or_default();
            if !root_etag.is_empty() && cursor.get(ROOT) == Some(&root_etag) {
                return Ok(Delta::default());
            }
            let all = user.files().search(&SearchQuery::default()).await?;
            // Notes are files too, indexed (better) as notes.
            let notes_dir = match user.notes().settings().await {
                Ok(s) => Some(format!("{}/", s.notes_path.trim_matches('/'))),
                Err(_) => None,
            }
            .filter(|d| d.len() > 1);
            let base = user.client().base_url().to_string();
            let mut seen = HashSet::new();
            let mut changed = Vec::new();
            let in_notes =
                |f: &FileInfo| notes_dir.as_deref().is_some_and(|d| f.path.starts_with(d));
            for f in all.into_iter().filter(|f| !f.is_dir && !in_notes(f)) {
                let Some(id) = f.id else { continue };
                let key = id.to_string();
                if known.get(&key) != f.etag.as_ref() || f.etag.is_none() {
                    changed.push((id, f));
                }
                seen.insert(key);
            }
            let upserts = futures::stream::iter(changed.into_iter().map(|(id, f)| {
                let base = &base;
                async move {
                    let text = text_of(user, &f).await;
                    doc(base, &f, id, text)
                }
            }))
            .buffer_unordered(DOWNLOADS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
            cursor.insert(ROOT.into(), root_etag);
            Ok(Delta {
                upserts,
                removed: super::unseen(known, &seen),
            })
        }
        .boxed()
    }

    fn marker<'a>(
        &'a self,
        user: &'a NextcloudUser,
        id: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, nextcloud::Result<Option<String>>> {
        async move {
            let Some(f) = gone_as_none(user.files().stat(path).await)? else {
                return Ok(None);
            };
            // Another file now at the same path is not the one indexed.
            Ok((f.id.map(|i| i.to_string()).as_deref() == Some(id))
                .then(|| f.etag.unwrap_or_default()))
        }
        .boxed()
    }
}
