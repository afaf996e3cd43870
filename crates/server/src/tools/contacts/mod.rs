//! Contacts app tools: `nc_contacts_*` over CardDAV. Reads in `read.rs`, changes in
//! `write.rs`. A vCard is read and edited by the client's models (`nextcloud::contacts::
//! Contact` and `ContactEdit`): an update rewrites only the properties named in
//! `contact_data`, so everything else (other clients' X- properties, grouped labels, photos)
//! survives unchanged.

pub(super) mod read;
pub(super) mod write;

use nextcloud::NextcloudUser;
use nextcloud::contacts::{AddressBook, Card, Contact};
use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;
use crate::tools::common::ToolError;

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::contacts_read_router() + NextcloudMcp::contacts_write_router()
}

/// A contact and where it is stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContactOut {
    #[serde(flatten)]
    pub contact: Contact,
    pub addressbook: String,
    pub href: String,
    /// Pass to `nc_contacts_update_contact` to detect concurrent edits.
    pub etag: String,
}

impl ContactOut {
    /// The contact a card holds; `None` when it holds no VCARD.
    fn of(card: &Card, book: &AddressBook, include_photo: bool) -> Option<Self> {
        Some(Self {
            contact: Contact::parse(&card.data, include_photo)?,
            addressbook: book.name.clone(),
            href: card.href.clone(),
            etag: card.etag.clone().unwrap_or_default(),
        })
    }
}

/// An address book by name; an unknown one is an error naming the argument and the choices.
async fn find_book(
    user: &NextcloudUser,
    name: &str,
    arg: &'static str,
) -> Result<AddressBook, ToolError> {
    match user.contacts().find(name).await {
        Ok(book) => Ok(book),
        Err(nextcloud::Error::NotFound { message, .. }) => Err(ToolError::invalid(
            arg,
            format!(
                "there is no address book '{name}' (HTTP 404){}",
                message.map(|m| format!("; {m}")).unwrap_or_default()
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn card_by_uid(
    user: &NextcloudUser,
    book: &AddressBook,
    uid: &str,
) -> Result<Card, ToolError> {
    user.contacts()
        .find_by_uid(book, uid)
        .await?
        .ok_or_else(|| {
            ToolError::from(nextcloud::Error::NotFound {
                what: format!("Contact '{uid}' in address book '{}'", book.name),
                message: None,
            })
        })
}

/// Sorts contacts by name, then UID, and returns one page of them with the total.
fn page(
    mut contacts: Vec<ContactOut>,
    offset: u32,
    limit: Option<u32>,
) -> (Vec<ContactOut>, usize) {
    contacts.sort_by(|x, y| {
        (x.contact.fn_.to_lowercase(), &x.contact.uid)
            .cmp(&(y.contact.fn_.to_lowercase(), &y.contact.uid))
    });
    let total = contacts.len();
    let page = contacts
        .into_iter()
        .skip(offset as usize)
        .take(limit.unwrap_or(u32::MAX) as usize)
        .collect();
    (page, total)
}
