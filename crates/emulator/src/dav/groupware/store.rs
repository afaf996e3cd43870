//! What the built-in CalDAV/CardDAV stores: per user, calendars and address books holding
//! objects as the text they were uploaded as, with Nextcloud's ETags and sync tokens.

use std::collections::{BTreeMap, HashMap};

use md5::{Digest, Md5};

/// Calendars or address books.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Calendars,
    AddressBooks,
}

/// A calendar or an address book.
#[derive(Clone, Debug)]
pub struct Collection {
    pub display_name: String,
    pub color: Option<String>,
    pub description: Option<String>,
    /// Apple's `calendar-order`.
    pub order: Option<String>,
    /// Component types a calendar accepts (`VEVENT`, `VTODO`, ...); empty for address books.
    pub components: Vec<String>,
    /// Keyed by resource name (`abc.ics`).
    pub objects: BTreeMap<String, Object>,
    /// Bumped on every change, like `oc_calendars.synctoken`; the ctag is derived from it.
    pub sync_token: u64,
}

impl Collection {
    pub fn new(display_name: &str, components: &[&str]) -> Self {
        Self {
            display_name: display_name.to_string(),
            color: None,
            description: None,
            order: None,
            components: components.iter().map(|c| c.to_string()).collect(),
            objects: BTreeMap::new(),
            sync_token: 1,
        }
    }

    /// Sabre's ctag and sync-token URI.
    pub fn sync_uri(&self) -> String {
        format!("http://sabre.io/ns/sync/{}", self.sync_token)
    }

    /// The object (other than `except`) whose UID is `uid`.
    pub fn by_uid(&self, uid: &str, except: &str) -> Option<&str> {
        self.objects
            .iter()
            .find(|(name, o)| o.uid == uid && name.as_str() != except)
            .map(|(name, _)| name.as_str())
    }
}

/// One `.ics` or `.vcf` resource.
#[derive(Clone, Debug)]
pub struct Object {
    pub data: String,
    /// Quoted, as Nextcloud sends it: `"` + md5(data) + `"`.
    pub etag: String,
    pub uid: String,
    /// The main component type (`VEVENT`, `VTODO`, `VJOURNAL`, `VCARD`).
    pub component: String,
    pub last_modified: i64,
}

impl Object {
    pub fn new(data: String, uid: String, component: String, now: i64) -> Self {
        Self {
            etag: etag_of(&data),
            data,
            uid,
            component,
            last_modified: now,
        }
    }
}

/// Nextcloud's ETag of a calendar object or card: the quoted MD5 of its data.
pub fn etag_of(data: &str) -> String {
    let digest = Md5::digest(data.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// One user's calendars and address books.
#[derive(Clone, Debug, Default)]
pub struct Home {
    pub calendars: BTreeMap<String, Collection>,
    pub address_books: BTreeMap<String, Collection>,
}

impl Home {
    pub fn collections(&self, kind: Kind) -> &BTreeMap<String, Collection> {
        match kind {
            Kind::Calendars => &self.calendars,
            Kind::AddressBooks => &self.address_books,
        }
    }

    pub fn collections_mut(&mut self, kind: Kind) -> &mut BTreeMap<String, Collection> {
        match kind {
            Kind::Calendars => &mut self.calendars,
            Kind::AddressBooks => &mut self.address_books,
        }
    }
}

/// Every user's calendars and address books.
#[derive(Debug, Default)]
pub struct Groupware {
    homes: HashMap<String, Home>,
}

/// The theme colour Nextcloud gives the default calendar.
pub const DEFAULT_COLOR: &str = "#00679e";

impl Groupware {
    /// A user's home, created on first use with what Nextcloud creates at first login: the
    /// calendar `personal` ("Personal", events) and the address book `contacts` ("Contacts").
    pub fn home(&mut self, user: &str) -> &mut Home {
        self.homes.entry(user.to_string()).or_insert_with(|| {
            let mut home = Home::default();
            let mut personal = Collection::new("Personal", &["VEVENT"]);
            personal.color = Some(DEFAULT_COLOR.into());
            home.calendars.insert("personal".into(), personal);
            home.address_books
                .insert("contacts".into(), Collection::new("Contacts", &[]));
            home
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_the_quoted_md5_of_the_data() {
        assert_eq!(etag_of(""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
    }

    #[test]
    fn a_home_starts_with_nextclouds_defaults() {
        let mut g = Groupware::default();
        let home = g.home("alice");
        assert_eq!(home.calendars["personal"].components, ["VEVENT"]);
        assert!(home.address_books.contains_key("contacts"));
    }
}
