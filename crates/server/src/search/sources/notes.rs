//! Notes: one listing with `pruneBefore=<T>`, `T` the `Last-Modified` time of the previous
//! listing, returns changed notes in full and unchanged ones as a bare `{id}`. The Notes app
//! takes that time *before* reading the notes, so a note changed during or after the previous
//! listing always comes back in full. Ids we hold that are missing were deleted; a bare id we
//! have never seen (restored from the trash) is fetched on its own. The listing is sent with
//! the previous one's ETag, so an unchanged notebook costs one `304 Not Modified`.

use std::collections::{HashMap, HashSet};

use futures::FutureExt;
use futures::future::BoxFuture;
use nextcloud::NextcloudUser;
use nextcloud::notes::ListQuery;

use super::{Cursor, Delta, Source, bounded, gone_as_none};
use crate::search::{Doc, Kind};

pub struct Notes;

const SERVER_TIME: &str = "server_time";
/// The previous listing's ETag: an unchanged listing then answers 304 without a body.
const ETAG: &str = "etag";

struct Parts {
    id: u64,
    etag: String,
    title: String,
    category: String,
    content: String,
    modified: i64,
}

fn doc(base: &str, p: Parts) -> Doc {
    let Parts {
        id,
        etag,
        title,
        category,
        content,
        modified,
    } = p;
    Doc {
        id: id.to_string(),
        url: format!("{base}/index.php/apps/notes/note/{id}"),
        title,
        text: bounded(content),
        modified,
        path: category,
        marker: etag,
    }
}

impl Source for Notes {
    fn kind(&self) -> Kind {
        Kind::Notes
    }

    fn changes<'a>(
        &'a self,
        user: &'a NextcloudUser,
        known: &'a HashMap<String, String>,
        cursor: &'a mut Cursor,
    ) -> BoxFuture<'a, nextcloud::Result<Delta>> {
        async move {
            // Without anything indexed yet, everything must come in full.
            let prune_before = cursor
                .get(SERVER_TIME)
                .filter(|_| !known.is_empty())
                .and_then(|t| t.parse().ok());
            let query = ListQuery {
                prune_before,
                if_none_match: cursor.get(ETAG).filter(|_| prune_before.is_some()).cloned(),
                ..Default::default()
            };
            let Some(list) = user.notes().list(&query).await? else {
                return Ok(Delta::default());
            };
            match &list.etag {
                Some(etag) => cursor.insert(ETAG.into(), etag.clone()),
                None => cursor.remove(ETAG),
            };
            let base = user.client().base_url().to_string();
            let mut seen = HashSet::with_capacity(list.notes.len());
            let mut delta = Delta::default();
            for note in list.notes {
                let id = note.id.to_string();
                if !note.is_pruned() {
                    let etag = note.etag.unwrap_or_default();
                    if known.get(&id) != Some(&etag) || etag.is_empty() {
                        delta.upserts.push(doc(
                            &base,
                            Parts {
                                id: note.id,
                                etag,
                                title: note.title.unwrap_or_default(),
                                category: note.category.unwrap_or_default(),
                                content: note.content.unwrap_or_default(),
                                modified: note.modified.unwrap_or_default(),
                            },
                        ));
                    }
                } else if !known.contains_key(&id) {
                    // Pruned but never indexed (restored from the trash, say): fetch it.
                    if let Some(full) = gone_as_none(user.notes().get(note.id).await)? {
                        delta.upserts.push(doc(
                            &base,
                            Parts {
                                id: full.id,
                                etag: full.etag,
                                title: full.title,
                                category: full.category,
                                content: full.content,
                                modified: full.modified,
                            },
                        ));
                    }
                }
                seen.insert(id);
            }
            delta.removed = super::unseen(known, &seen);
            if let Some(t) = list.server_time {
                cursor.insert(SERVER_TIME.into(), t.to_string());
            }
            Ok(delta)
        }
        .boxed()
    }

    fn marker<'a>(
        &'a self,
        user: &'a NextcloudUser,
        id: &'a str,
        _path: &'a str,
    ) -> BoxFuture<'a, nextcloud::Result<Option<String>>> {
        async move {
            let Ok(id) = id.parse::<u64>() else {
                return Ok(None);
            };
            Ok(gone_as_none(user.notes().get(id).await)?.map(|n| n.etag))
        }
        .boxed()
    }

    fn document<'a>(
        &'a self,
        user: &'a NextcloudUser,
        id: &'a str,
    ) -> Option<BoxFuture<'a, nextcloud::Result<Option<Doc>>>> {
        Some(
            async move {
                let Ok(id) = id.parse::<u64>() else {
                    return Ok(None);
                };
                let base = user.client().base_url().to_string();
                Ok(gone_as_none(user.notes().get(id).await)?.map(|n| {
                    doc(
                        &base,
                        Parts {
                            id: n.id,
                            etag: n.etag,
                            title: n.title,
                            category: n.category,
                            content: n.content,
                            modified: n.modified,
                        },
                    )
                }))
            }
            .boxed(),
        )
    }
}
