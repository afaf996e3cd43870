//! Reading address books and contacts: list books, list a book's contacts, search.

use nextcloud::contacts::AddressBook;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ContactOut, find_book, page};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Serialize, JsonSchema)]
pub struct BookOut {
    /// Name to pass as `addressbook`.
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub ctag: Option<String>,
    pub href: String,
}

impl From<AddressBook> for BookOut {
    fn from(b: AddressBook) -> Self {
        Self {
            name: b.name,
            display_name: b.display_name,
            description: b.description,
            ctag: b.ctag,
            href: b.href,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListBooksOut {
    pub addressbooks: Vec<BookOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListContactsArgs {
    pub addressbook: String,
    /// Photos can be large.
    #[serde(default)]
    pub include_photos: bool,
    /// 1-1000; default all.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactsOut {
    pub contacts: Vec<ContactOut>,
    /// The address book searched ("" when several were).
    pub addressbook: String,
    /// Contacts before paging.
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchContactsArgs {
    pub query: String,
    /// Default: all.
    #[serde(default)]
    pub addressbook: Option<String>,
    #[serde(default)]
    pub include_photos: bool,
    /// 1-1000; default all matches.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: u32,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_contacts_list_addressbooks",
        &apps::CONTACTS,
        Some("contacts.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_contacts_list_contacts",
        &apps::CONTACTS,
        Some("contacts.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_contacts_search_contacts",
        &apps::CONTACTS,
        Some("contacts.read"),
        Read,
    ),
];

#[tool_router(router = contacts_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_contacts_list_addressbooks",
        title = "List address books",
        description = "List the user's address books, with the names to pass as addressbook."
    )]
    async fn nc_contacts_list_addressbooks(
        &self,
        Parameters(_): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListBooksOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let books: Vec<BookOut> = user
            .contacts()
            .list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        answer(ListBooksOut {
            total_count: books.len(),
            addressbooks: books,
        })
    }

    #[tool(
        name = "nc_contacts_list_contacts",
        title = "List contacts",
        description = "Every contact of one address book, by name, in pages."
    )]
    async fn nc_contacts_list_contacts(
        &self,
        Parameters(a): Parameters<ListContactsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ContactsOut>>, ToolError> {
        if a.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        let cards = user.contacts().cards(&book).await?;
        let contacts = cards
            .iter()
            .filter_map(|c| ContactOut::of(c, &book, a.include_photos))
            .collect();
        let (contacts, total_count) = page(contacts, a.offset, a.limit);
        answer(ContactsOut {
            contacts,
            addressbook: book.name,
            total_count,
        })
    }

    #[tool(
        name = "nc_contacts_search_contacts",
        title = "Search contacts",
        description = "Find contacts whose name, e-mail, phone, organization or note contains the text."
    )]
    async fn nc_contacts_search_contacts(
        &self,
        Parameters(a): Parameters<SearchContactsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ContactsOut>>, ToolError> {
        let q = a.query.trim();
        if q.is_empty() {
            return Err(ToolError::invalid("query", "give some text to search for"));
        }
        if a.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let user = self.user(&ctx)?;
        let books = match a.addressbook.as_deref().filter(|b| !b.is_empty()) {
            Some(b) => vec![find_book(&user, b, "addressbook").await?],
            None => user.contacts().list().await?,
        };
        let mut contacts = Vec::new();
        for book in &books {
            for card in user.contacts().search(book, q).await? {
                contacts.extend(ContactOut::of(&card, book, a.include_photos));
            }
        }
        let (contacts, total_count) = page(contacts, a.offset, a.limit);
        answer(ContactsOut {
            contacts,
            addressbook: if books.len() == 1 {
                books[0].name.clone()
            } else {
                String::new()
            },
            total_count,
        })
    }
}
