//! Nextcloud's webhook events (the `webhook_listeners` app, or Astrolabe's own listeners,
//! which send the same envelope): `{"user": {"uid"}, "time", "event": {"class", ...}}`, the
//! event serialised as its `getWebhookSerializable()` gives it. Which change each one means
//! for the search index.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::backend::Change;

const FILE_CREATED: &str = r"OCP\Files\Events\Node\NodeCreatedEvent";
const FILE_WRITTEN: &str = r"OCP\Files\Events\Node\NodeWrittenEvent";
const FILE_DELETED: &str = r"OCP\Files\Events\Node\NodeDeletedEvent";
const FILE_BEFORE_DELETED: &str = r"OCP\Files\Events\Node\BeforeNodeDeletedEvent";
const FILE_RENAMED: &str = r"OCP\Files\Events\Node\NodeRenamedEvent";
const CARD_CREATED: &str = r"OCA\Deck\Event\CardCreatedEvent";
const CARD_UPDATED: &str = r"OCA\Deck\Event\CardUpdatedEvent";
const CARD_DELETED: &str = r"OCA\Deck\Event\CardDeletedEvent";
const CALENDAR_OBJECT_CREATED: &str = r"OCP\Calendar\Events\CalendarObjectCreatedEvent";
const CALENDAR_OBJECT_UPDATED: &str = r"OCP\Calendar\Events\CalendarObjectUpdatedEvent";
const CALENDAR_OBJECT_DELETED: &str = r"OCP\Calendar\Events\CalendarObjectDeletedEvent";
const CALENDAR_OBJECT_TRASHED: &str = r"OCP\Calendar\Events\CalendarObjectMovedToTrashEvent";

/// Changes being brought into users' indexes in the background.
const REFRESHES_RUNNING: usize = 4;
/// Changes admitted at once (running or waiting); beyond, a change stays pending for its
/// user's next search, so a burst of events cannot pile up tasks without bound.
const REFRESHES_ADMITTED: usize = 256;

/// Runs webhook changes in the background with bounded concurrency, so the webhook's answer
/// never waits for Nextcloud or the embedding model.
pub struct Refresher {
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

impl Default for Refresher {
    fn default() -> Self {
        Self {
            admitted: Arc::new(Semaphore::new(REFRESHES_ADMITTED)),
            running: Arc::new(Semaphore::new(REFRESHES_RUNNING)),
        }
    }
}

impl Refresher {
    /// Spawns `work` unless too many changes are admitted already (`false`: not spawned).
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) -> bool {
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            return false;
        };
        let running = self.running.clone();
        tokio::spawn(async move {
            let _admitted = admitted;
            let Ok(_running) = running.acquire_owned().await else {
                return;
            };
            work.await;
        });
        true
    }
}

/// Why an event does not change the index.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("the body is not a Nextcloud webhook envelope (event.class and user.uid)")]
    NotAnEnvelope,
    #[error("{0} is not an event this server indexes")]
    Unsupported(String),
    #[error("the {0} names no document")]
    NoDocument(&'static str),
}

/// The document an event changed. Notes are files under the user's `Notes/` folder
/// (`/<uid>/files/Notes/...`), whose file id is the note id.
pub fn change_of(payload: &Value) -> Result<Change, Ignored> {
    let event = payload.get("event").ok_or(Ignored::NotAnEnvelope)?;
    let class = event
        .get("class")
        .and_then(Value::as_str)
        .ok_or(Ignored::NotAnEnvelope)?;
    let user_id = payload
        .pointer("/user/uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or(Ignored::NotAnEnvelope)?
        .to_string();
    let id_text = |v: Option<&Value>| match v {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let (doc_type, doc_id, deleted) = match class {
        FILE_CREATED | FILE_WRITTEN | FILE_DELETED | FILE_BEFORE_DELETED | FILE_RENAMED => {
            // A rename names the node where it now is.
            let node = event.get("target").or_else(|| event.get("node"));
            let node = node.ok_or(Ignored::NoDocument("file event"))?;
            let id = id_text(node.get("id")).ok_or(Ignored::NoDocument("file event"))?;
            let path = node.get("path").and_then(Value::as_str).unwrap_or_default();
            let doc_type = if is_note(path, &user_id) {
                "note"
            } else {
                "file"
            };
            let deleted = matches!(class, FILE_DELETED | FILE_BEFORE_DELETED);
            (doc_type, id, deleted)
        }
        CARD_CREATED | CARD_UPDATED | CARD_DELETED => {
            let id = id_text(event.pointer("/card/id")).ok_or(Ignored::NoDocument("Deck event"))?;
            ("deck_card", id, class == CARD_DELETED)
        }
        CALENDAR_OBJECT_CREATED
        | CALENDAR_OBJECT_UPDATED
        | CALENDAR_OBJECT_DELETED
        | CALENDAR_OBJECT_TRASHED => {
            let calendar = id_text(event.get("calendarId"));
            let object = id_text(event.pointer("/objectData/uri"))
                .or_else(|| id_text(event.pointer("/objectData/id")));
            let (Some(calendar), Some(object)) = (calendar, object) else {
                return Err(Ignored::NoDocument("calendar event"));
            };
            let deleted = matches!(class, CALENDAR_OBJECT_DELETED | CALENDAR_OBJECT_TRASHED);
            ("calendar_event", format!("{calendar}/{object}"), deleted)
        }
        other => return Err(Ignored::Unsupported(other.to_string())),
    };
    Ok(Change {
        user_id,
        doc_type: doc_type.to_string(),
        doc_id,
        deleted,
    })
}

/// Whether a node path (`/<uid>/files/...`) is a note: a Markdown or text file in the user's
/// `Notes` folder (the Notes app's default folder).
fn is_note(path: &str, user_id: &str) -> bool {
    let prefix = format!("/{user_id}/files/Notes/");
    path.strip_prefix(&prefix).is_some_and(|rest| {
        let lower = rest.to_ascii_lowercase();
        lower.ends_with(".md") || lower.ends_with(".txt")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(event: Value) -> Value {
        json!({"user": {"uid": "alice", "displayName": "Alice"}, "time": 1720000000, "event": event})
    }

    #[test]
    fn file_events_name_notes_and_files() {
        let note = envelope(json!({
            "class": FILE_WRITTEN, "node": {"id": 42, "path": "/alice/files/Notes/Work/todo.md"}
        }));
        assert_eq!(
            change_of(&note),
            Ok(Change {
                user_id: "alice".into(),
                doc_type: "note".into(),
                doc_id: "42".into(),
                deleted: false
            })
        );
        let file = envelope(json!({
            "class": FILE_BEFORE_DELETED, "node": {"id": "7", "path": "/alice/files/Docs/a.pdf"}
        }));
        let c = change_of(&file).unwrap();
        assert_eq!(
            (c.doc_type.as_str(), c.doc_id.as_str(), c.deleted),
            ("file", "7", true)
        );
        let renamed = envelope(json!({
            "class": FILE_RENAMED,
            "source": {"id": 9, "path": "/alice/files/a.md"},
            "target": {"id": 9, "path": "/alice/files/Notes/a.md"}
        }));
        assert_eq!(change_of(&renamed).unwrap().doc_type, "note");
        // Someone else's Notes folder is not this user's notes.
        let other = envelope(json!({
            "class": FILE_CREATED, "node": {"id": 1, "path": "/bob/files/Notes/x.md"}
        }));
        assert_eq!(change_of(&other).unwrap().doc_type, "file");
    }

    #[test]
    fn deck_and_calendar_events() {
        let card = envelope(json!({"class": CARD_DELETED, "card": {"id": 5, "stackId": 2}}));
        let c = change_of(&card).unwrap();
        assert_eq!(
            (c.doc_type.as_str(), c.doc_id.as_str(), c.deleted),
            ("deck_card", "5", true)
        );
        let ev = envelope(json!({
            "class": CALENDAR_OBJECT_UPDATED, "calendarId": 3,
            "calendarData": {}, "shares": [], "objectData": {"id": 11, "uri": "ev.ics"}
        }));
        let c = change_of(&ev).unwrap();
        assert_eq!(
            (c.doc_type.as_str(), c.doc_id.as_str(), c.deleted),
            ("calendar_event", "3/ev.ics", false)
        );
    }

    #[test]
    fn other_bodies_are_ignored_with_a_reason() {
        assert_eq!(change_of(&json!({"a": 1})), Err(Ignored::NotAnEnvelope));
        assert_eq!(
            change_of(&json!({"event": {"class": FILE_WRITTEN, "node": {"id": 1}}})),
            Err(Ignored::NotAnEnvelope)
        );
        assert_eq!(
            change_of(&envelope(
                json!({"class": r"OCP\User\Events\UserCreatedEvent"})
            )),
            Err(Ignored::Unsupported(
                r"OCP\User\Events\UserCreatedEvent".into()
            ))
        );
        assert_eq!(
            change_of(&envelope(json!({"class": CARD_UPDATED, "card": {}}))),
            Err(Ignored::NoDocument("Deck event"))
        );
    }
}
