//! Deck cards: every board's stacks come with their cards and each card's `lastModified`;
//! only cards whose `lastModified` moved are re-indexed. Ids are `board/stack/card`.

use std::collections::{HashMap, HashSet};

use futures::FutureExt;
use futures::future::BoxFuture;
use nextcloud::NextcloudUser;

use super::{Cursor, Delta, Source, bounded, gone_as_none};
use crate::search::{Doc, Kind};

pub struct Deck;

fn marker_of(card: &nextcloud::deck::Card) -> String {
    card.etag
        .clone()
        .unwrap_or_else(|| card.last_modified.to_string())
}

impl Source for Deck {
    fn kind(&self) -> Kind {
        Kind::Deck
    }

    fn changes<'a>(
        &'a self,
        user: &'a NextcloudUser,
        known: &'a HashMap<String, String>,
        _cursor: &'a mut Cursor,
    ) -> BoxFuture<'a, nextcloud::Result<Delta>> {
        async move {
            let base = user.client().base_url().to_string();
            let mut seen = HashSet::new();
            let mut delta = Delta::default();
            for board in user.deck().boards().await? {
                if board.deleted_at > 0 {
                    continue;
                }
                for stack in user.deck().stacks(board.id).await? {
                    for card in stack.cards {
                        if card.deleted_at > 0 {
                            continue;
                        }
                        let id = format!("{}/{}/{}", board.id, stack.id, card.id);
                        let marker = marker_of(&card);
                        seen.insert(id.clone());
                        if known.get(&id) == Some(&marker) {
                            continue;
                        }
                        let mut text = card.description.unwrap_or_default();
                        for label in &card.labels {
                            text.push('\n');
                            text.push_str(&label.title);
                        }
                        text.push('\n');
                        text.push_str(&stack.title);
                        delta.upserts.push(Doc {
                            id,
                            url: format!(
                                "{base}/index.php/apps/deck/board/{}/card/{}",
                                board.id, card.id
                            ),
                            title: card.title,
                            text: bounded(text),
                            modified: card.last_modified,
                            path: board.title.clone(),
                            marker,
                        });
                    }
                }
            }
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
        async move {
            let parts: Vec<u64> = id.split('/').filter_map(|p| p.parse().ok()).collect();
            let [b, s, c] = parts[..] else {
                return Ok(None);
            };
            Ok(gone_as_none(user.deck().card(b, s, c).await)?
                .filter(|card| card.deleted_at == 0)
                .map(|card| marker_of(&card)))
        }
        .boxed()
    }
}
