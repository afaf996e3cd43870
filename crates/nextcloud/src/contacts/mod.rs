//! CardDAV: address books and vCards (`/remote.php/dav/addressbooks/users/{user}/`).
//!
//! vCards are edited as [`crate::ical::Document`]s, so properties a caller does not touch
//! (X-SOCIALPROFILE, grouped labels, PHOTO, ...) are written back unchanged. The editing model
//! ([`ContactEdit`]) and the reading one ([`Contact`]) are in `card.rs`.

mod card;

pub use card::{Address, Contact, ContactEdit, Field};

use quick_xml::escape::escape as xml_escape;
use reqwest::Method;

use crate::calendar::{Precondition, written_etag};
use crate::client::Request;
use crate::dav::{CARDDAV, DAV, DavResponse, encode_segment};
use crate::ical::Document;
use crate::{Error, NextcloudUser, Result};

const CS: &str = "http://calendarserver.org/ns/";

/// An address book collection.
#[derive(Clone, Debug)]
pub struct AddressBook {
    /// Last path segment (`contacts`): how tools name it.
    pub name: String,
    pub href: String,
    pub display_name: String,
    pub description: Option<String>,
    pub ctag: Option<String>,
}

/// One vCard resource.
#[derive(Clone, Debug)]
pub struct Card {
    pub href: String,
    pub etag: Option<String>,
    pub data: String,
}

/// CardDAV operations of one user.
pub struct Contacts<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts { user: self }
    }
}

const LIST_BOOKS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/">
<d:prop><d:resourcetype/><d:displayname/><card:addressbook-description/><cs:getctag/></d:prop>
</d:propfind>"#;

/// What finding an address book needs: no change tag, which some servers compute from every
/// card of the book on each request.
const FIND_BOOKS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:prop><d:resourcetype/><d:displayname/><card:addressbook-description/></d:prop>
</d:propfind>"#;

/// Properties searched by [`Contacts::search`].
const SEARCHED: &[&str] = &["FN", "N", "EMAIL", "TEL", "NICKNAME", "ORG", "NOTE"];

impl Contacts<'_> {
    pub async fn home(&self) -> Result<String> {
        let id = self.user.user_id().await?;
        Ok(format!(
            "/remote.php/dav/addressbooks/users/{}/",
            encode_segment(&id)
        ))
    }

    /// Every address book of the user, with change tags.
    pub async fn list(&self) -> Result<Vec<AddressBook>> {
        self.list_with(LIST_BOOKS).await
    }

    async fn list_with(&self, propfind: &str) -> Result<Vec<AddressBook>> {
        let home = self.home().await?;
        let responses = self
            .user
            .dav_multistatus(
                "PROPFIND",
                &home,
                Some("1"),
                propfind,
                "The address book list",
            )
            .await?;
        Ok(responses
            .iter()
            .filter(|r| r.has_type(CARDDAV, "addressbook"))
            .map(book_from)
            .collect())
    }

    /// An address book by name (URL segment) or display name; its `ctag` is left out.
    pub async fn find(&self, name: &str) -> Result<AddressBook> {
        let all = self.list_with(FIND_BOOKS).await?;
        let found = all
            .iter()
            .find(|b| b.name == name)
            .or_else(|| all.iter().find(|b| b.display_name == name));
        found.cloned().ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
            Error::NotFound {
                what: format!("Address book '{name}'"),
                message: Some(format!("the address books are: {}", names.join(", "))),
            }
        })
    }

    /// Every card in a book.
    pub async fn cards(&self, book: &AddressBook) -> Result<Vec<Card>> {
        self.query(book, "").await
    }

    /// Cards where any of FN, N, EMAIL, TEL, NICKNAME, ORG, NOTE contains `text`
    /// (case-insensitive, matched by the server).
    pub async fn search(&self, book: &AddressBook, text: &str) -> Result<Vec<Card>> {
        let filters: String = SEARCHED
            .iter()
            .map(|p| {
                format!(
                    r#"<card:prop-filter name="{p}"><card:text-match collation="i;unicode-casemap" match-type="contains">{}</card:text-match></card:prop-filter>"#,
                    xml_escape(text)
                )
            })
            .collect();
        self.query(
            book,
            &format!(r#"<card:filter test="anyof">{filters}</card:filter>"#),
        )
        .await
    }

    /// The card with this UID, if any.
    pub async fn find_by_uid(&self, book: &AddressBook, uid: &str) -> Result<Option<Card>> {
        let filter = format!(
            r#"<card:filter><card:prop-filter name="UID"><card:text-match collation="i;octet" match-type="equals">{}</card:text-match></card:prop-filter></card:filter>"#,
            xml_escape(uid)
        );
        let cards = self.query(book, &filter).await?;
        Ok(cards.into_iter().find(|c| {
            let doc = Document::parse(&c.data);
            doc.components("VCARD")
                .first()
                .and_then(|s| doc.get(*s, "UID"))
                .is_some_and(|l| l.text() == uid)
        }))
    }

    async fn query(&self, book: &AddressBook, filter: &str) -> Result<Vec<Card>> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:prop><d:getetag/><card:address-data/></d:prop>{filter}
</card:addressbook-query>"#
        );
        let what = format!("Address book '{}'", book.name);
        let responses = self
            .user
            .dav_multistatus("REPORT", &book.href, Some("1"), &body, &what)
            .await?;
        Ok(responses
            .into_iter()
            .filter_map(|r| {
                let data = r.text(CARDDAV, "address-data")?.to_string();
                Some(Card {
                    etag: r.etag(),
                    href: r.href,
                    data,
                })
            })
            .collect())
    }

    /// Writes a card; returns its new ETag.
    pub async fn put(&self, href: &str, data: &str, condition: Precondition) -> Result<String> {
        let mut req = Request::new(Method::PUT, href, "The contact")
            .body("text/vcard; charset=utf-8", data.to_string());
        req = condition.apply(req)?;
        let resp = self.user.send(req).await?;
        if let Some(etag) = written_etag(&resp) {
            return Ok(etag);
        }
        let body = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#;
        let r = self
            .user
            .dav_multistatus("PROPFIND", href, Some("0"), body, "The contact")
            .await?;
        r.first()
            .and_then(DavResponse::etag)
            .ok_or_else(|| Error::InvalidResponse("no ETag for the written contact".into()))
    }

    /// Deletes a card, only if unchanged when `etag` is given.
    pub async fn delete_card(&self, href: &str, etag: Option<&str>) -> Result<()> {
        let mut req = Request::new(Method::DELETE, href, "The contact");
        if let Some(etag) = etag.filter(|e| !e.is_empty()) {
            req = req.header(
                http::header::IF_MATCH,
                &format!("\"{}\"", etag.trim_matches('"')),
            )?;
        }
        self.user.send(req).await?;
        Ok(())
    }

    /// Creates an address book (extended MKCOL, RFC 5689).
    pub async fn create(&self, name: &str, display_name: &str) -> Result<AddressBook> {
        if name.is_empty() || name.contains('/') {
            return Err(Error::invalid_argument(
                "name",
                "use a non-empty name without '/'",
            ));
        }
        let href = format!("{}{}/", self.home().await?, encode_segment(name));
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>{}</d:displayname></d:prop></d:set>
</d:mkcol>"#,
            xml_escape(display_name)
        );
        let req = Request::new(
            crate::dav::method("MKCOL"),
            &href,
            format!("Address book '{name}'"),
        )
        .body("application/xml; charset=utf-8", body);
        self.user.send(req).await?;
        self.find(name).await
    }

    pub async fn delete(&self, book: &AddressBook) -> Result<()> {
        let req = Request::new(
            Method::DELETE,
            &book.href,
            format!("Address book '{}'", book.name),
        );
        self.user.send(req).await?;
        Ok(())
    }
}

fn book_from(r: &DavResponse) -> AddressBook {
    let path = r.path();
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut href = r.href.clone();
    if !href.ends_with('/') {
        href.push('/');
    }
    AddressBook {
        display_name: r
            .text(DAV, "displayname")
            .map(str::to_string)
            .unwrap_or_else(|| name.clone()),
        name,
        href,
        description: r
            .text(CARDDAV, "addressbook-description")
            .map(str::to_string),
        ctag: r.text(CS, "getctag").map(str::to_string),
    }
}
