//! Calendar events and tasks: each calendar's ctag changes with any object in it, so an
//! unchanged calendar costs nothing beyond the one listing of calendars; a changed one is
//! queried (objects with their ETags) and only objects whose ETag moved are re-indexed.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use nextcloud::NextcloudUser;
use nextcloud::ical::Document;

use super::{Cursor, Delta, Source, bounded, gone_as_none};
use crate::search::{Doc, Kind};

pub struct Calendar {
    kind: Kind,
    component: &'static str,
}

impl Calendar {
    pub const EVENTS: Calendar = Calendar {
        kind: Kind::Calendar,
        component: "VEVENT",
    };
    pub const TASKS: Calendar = Calendar {
        kind: Kind::Tasks,
        component: "VTODO",
    };
}

/// An iCalendar/vCard date-time (`20250102T030405Z`, or a date) as Unix seconds.
pub(super) fn ical_time(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y%m%dT%H%M%S") {
        return Some(t.and_utc().timestamp());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp());
    }
    chrono::NaiveDate::parse_from_str(v.get(..8)?, "%Y%m%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// The text of the first matching component: title and the searchable properties.
fn read(data: &str, component: &str) -> Option<(String, String, i64)> {
    let doc = Document::parse(data);
    let span = *doc.components(component).first()?;
    let get = |name: &str| doc.get(span, name).map(|l| l.text()).unwrap_or_default();
    let title = get("SUMMARY");
    let mut text = Vec::new();
    for name in ["DESCRIPTION", "LOCATION", "CATEGORIES", "COMMENT"] {
        for line in doc.get_all(span, name) {
            text.push(line.text());
        }
    }
    for line in doc.get_all(span, "ATTENDEE") {
        if let Some(cn) = line.param("CN") {
            text.push(cn);
        }
    }
    let modified = ["LAST-MODIFIED", "DTSTAMP", "CREATED"]
        .iter()
        .find_map(|n| ical_time(&get(n)))
        .unwrap_or_default();
    Some((title, text.join("\n"), modified))
}

impl Calendar {
    fn url(&self, base: &str, calendar: &str, href: &str) -> String {
        match self.kind {
            Kind::Tasks => {
                let file = href.rsplit('/').next().unwrap_or_default();
                format!("{base}/index.php/apps/tasks/calendars/{calendar}/tasks/{file}")
            }
            _ => {
                let object = base64::engine::general_purpose::STANDARD.encode(href);
                format!(
                    "{base}/index.php/apps/calendar/timeGridWeek/now/edit/sidebar/{object}/next"
                )
            }
        }
    }
}

impl Source for Calendar {
    fn kind(&self) -> Kind {
        self.kind
    }

    fn changes<'a>(
        &'a self,
        user: &'a NextcloudUser,
        known: &'a HashMap<String, String>,
        cursor: &'a mut Cursor,
    ) -> BoxFuture<'a, nextcloud::Result<Delta>> {
        async move {
            let calendars = user.calendars().list().await?;
            let base = user.client().base_url().to_string();
            let mut seen: HashSet<String> = HashSet::new();
            let mut delta = Delta::default();
            let mut next = Cursor::new();
            for cal in calendars.iter().filter(|c| c.supports(self.component)) {
                let tag = cal.sync_token.clone().or_else(|| cal.ctag.clone());
                if let Some(tag) = &tag {
                    next.insert(cal.href.clone(), tag.clone());
                    if cursor.get(&cal.href) == Some(tag) {
                        seen.extend(known.keys().filter(|id| id.starts_with(&cal.href)).cloned());
                        continue;
                    }
                }
                for object in user.calendars().query(cal, self.component, None).await? {
                    let etag = object.etag.clone().unwrap_or_default();
                    seen.insert(object.href.clone());
                    if known.get(&object.href) == Some(&etag) && !etag.is_empty() {
                        continue;
                    }
                    let Some((title, text, modified)) = read(&object.data, self.component) else {
                        continue;
                    };
                    delta.upserts.push(Doc {
                        url: self.url(&base, &cal.name, &object.href),
                        id: object.href,
                        title,
                        text: bounded(text),
                        modified,
                        path: cal.display_name.clone(),
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
        async move { gone_as_none(user.calendars().etag(id).await) }.boxed()
    }
}
