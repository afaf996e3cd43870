//! Where documents come from: one [`Source`] per kind of document.
//!
//! A source lists what changed since the previous sync by comparing each object's change
//! marker (ETag, `lastModified`) with the one it was indexed with, and skips whole
//! collections whose own marker (kept in the [`Cursor`]) did not move. Adding an app: a file
//! here implementing [`Source`], a [`Kind`] variant, and a line in [`all`].

mod calendar;
mod contacts;
mod deck;
mod files;
mod notes;

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use nextcloud::NextcloudUser;

use super::{Doc, Kind};

/// A source's markers between syncs (collection → its change marker).
pub type Cursor = HashMap<String, String>;

/// What changed since the last sync.
#[derive(Debug, Default)]
pub struct Delta {
    /// New or changed documents, in full.
    pub upserts: Vec<Doc>,
    /// Ids of documents gone (deleted, unshared, moved out of reach).
    pub removed: Vec<String>,
}

/// The ids of `known` a full listing did not show: they are gone.
pub fn unseen(known: &HashMap<String, String>, seen: &HashSet<String>) -> Vec<String> {
    known
        .keys()
        .filter(|id| !seen.contains(*id))
        .cloned()
        .collect()
}

pub trait Source: Send + Sync {
    fn kind(&self) -> Kind;

    /// The changes against `known` (object id → marker of the indexed version); updates
    /// `cursor`.
    fn changes<'a>(
        &'a self,
        user: &'a NextcloudUser,
        known: &'a HashMap<String, String>,
        cursor: &'a mut Cursor,
    ) -> BoxFuture<'a, nextcloud::Result<Delta>>;

    /// The object's current change marker, asked of Nextcloud with one cheap request;
    /// `None` when it no longer exists or the user can no longer see it. `path` is the
    /// stored path, for sources that address objects by path.
    fn marker<'a>(
        &'a self,
        user: &'a NextcloudUser,
        id: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, nextcloud::Result<Option<String>>>;

    /// Reads one document in full (a webhook said it changed): `Some(Ok(None))` when it is
    /// gone, `None` when this source cannot read a single document by its id (the caller
    /// then syncs the whole kind, which still downloads only what changed).
    fn document<'a>(
        &'a self,
        _user: &'a NextcloudUser,
        _id: &'a str,
    ) -> Option<BoxFuture<'a, nextcloud::Result<Option<Doc>>>> {
        None
    }
}

/// Every source, in sync order (cheapest first).
pub fn all() -> Vec<Box<dyn Source>> {
    Kind::ALL.into_iter().map(of).collect()
}

pub fn of(kind: Kind) -> Box<dyn Source> {
    match kind {
        Kind::Notes => Box::new(notes::Notes),
        Kind::Files => Box::new(files::Files),
        Kind::Calendar => Box::new(calendar::Calendar::EVENTS),
        Kind::Tasks => Box::new(calendar::Calendar::TASKS),
        Kind::Contacts => Box::new(contacts::Contacts),
        Kind::Deck => Box::new(deck::Deck),
    }
}

/// Not found and forbidden both mean "not visible to this user any more".
pub(super) fn gone_as_none<T>(r: nextcloud::Result<T>) -> nextcloud::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(nextcloud::Error::NotFound { .. } | nextcloud::Error::Forbidden { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Cuts text to at most [`super::MAX_TEXT`] bytes on a character boundary.
pub(super) fn bounded(mut text: String) -> String {
    if text.len() > super::MAX_TEXT {
        let mut end = super::MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
