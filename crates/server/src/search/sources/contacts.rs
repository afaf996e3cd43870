//! Contacts: like calendars, each address book's ctag says whether anything in it changed;
//! a changed book is listed with ETags and only changed cards are re-indexed.

use std::collections::{HashMap, HashSet};

use futures::FutureExt;
use futures::future::BoxFuture;
use nextcloud::NextcloudUser;
use nextcloud::ical::Document;

use super::calendar::ical_time;
use super::{Cursor, Delta, Source, bounded, gone_as_none};
use crate::search::{Doc, Kind};

pub struct Contacts;

fn read(data: &str) -> Option<(String, String, String, i64)> {
    let doc = Document::parse(data);
    let span = *doc.components("VCARD").first()?;
    let get = |name: &str| doc.get(span, name).map(|l| l.text()).unwrap_or_default();
    let mut title = get("FN");
    if title.is_empty() {
        title = get("N").replace(';', " ").trim().to_string();
    }
    let mut text = Vec::new();
    for name in [
        "NICKNAME",
        "EMAIL",
        "TEL",
        "ORG",
        "TITLE",
        "ROLE",
        "ADR",
        "NOTE",
        "CATEGORIES",
        "URL",
    ] {
        for line in doc.get_all(span, name) {
            text.push(line.text().replace(';', " "));
        }
    }
    Some((
        title,
        text.join("\n"),
        get("UID"),
        ical_time(&get("REV")).unwrap_or_default(),
    ))
}

impl Source for Contacts {
    fn kind(&self) -> Kind {
        Kind::Contacts
    }

    fn changes<'a>(
        &'a self,
        user: &'a NextcloudUser,
        known: &'a HashMap<String, String>,
        cursor: &'a mut Cursor,
    ) -> BoxFuture<'a, nextcloud::Result<Delta>> {
        async move {
            let books = user.contacts().list().await?;
            let base = user.client().base_url().to_string();
            let mut seen: HashSet<String> = HashSet::new();
            let mut delta = Delta::default();
            let mut next = Cursor::new();
            for book in &books {
                if let Some(tag) = &book.ctag {
                    next.insert(book.href.clone(), tag.clone());
                    if cursor.get(&book.href) == Some(tag) {
                        seen.extend(
                            known
                                .keys()
                                .filter(|id| id.starts_with(&book.href))
                                .cloned(),
                        );
                        continue;
                    }
                }
                for card in user.contacts().cards(book).await? {
                    let etag = card.etag.clone().unwrap_or_default();
                    seen.insert(card.href.clone());
                    if known.get(&card.href) == Some(&etag) && !etag.is_empty() {
                        continue;
                    }
                    let Some((title, text, uid, modified)) = read(&card.data) else {
                        continue;
                    };
                    delta.upserts.push(Doc {
                        url: format!(
                            "{base}/index.php/apps/contacts/direct/contact/{uid}~{}",
                            book.name
                        ),
                        id: card.href,
                        title,
                        text: bounded(text),
                        modified,
                        path: book.display_name.clone(),
                        marker: etag,
                    });
                }
            }
            *cursor = next;
            delta.removed = super::unseen(known, &seen);
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
        // A PROPFIND for the ETag works on any DAV object.
        async move { gone_as_none(user.calendars().etag(id).await) }.boxed()
    }
}
