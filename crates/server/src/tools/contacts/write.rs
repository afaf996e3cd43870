//! Changing address books and contacts. A contact change is read into the client's
//! `ContactEdit` from `contact_data`, which rewrites only the properties it names.

use nextcloud::calendar::{Precondition, object_name};
use nextcloud::contacts::{Card, ContactEdit};
use nextcloud::ical::Document;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ContactOut, card_by_uid, find_book};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateBookArgs {
    /// Letters, digits, '-' and '_'.
    pub name: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BookRef {
    pub name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BookChanged {
    pub message: String,
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContactWriteArgs {
    pub addressbook: String,
    /// A new unique id.
    pub uid: String,
    /// Keys: fn, given_name, family_name, email, tel, adr, org, title, note, bday, url,
    /// nickname, categories, photo. email/tel/url/adr: a string, a list or
    /// {"value", "type": ["work"]}; adr: street, city, region, postal_code, country.
    pub contact_data: Map<String, Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateContactArgs {
    pub addressbook: String,
    pub uid: String,
    /// Keys as for create; only those given change, "" or [] removes one.
    pub contact_data: Map<String, Value>,
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactChanged {
    pub contact: ContactOut,
    pub addressbook: String,
    /// Keys of contact_data that are not contact fields and were not written.
    pub ignored_keys: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContactRef {
    pub addressbook: String,
    pub uid: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactDeleted {
    pub message: String,
    pub uid: String,
    pub addressbook: String,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_contacts_create_addressbook",
        &apps::CONTACTS,
        Some("contacts.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_contacts_delete_addressbook",
        &apps::CONTACTS,
        Some("contacts.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_contacts_create_contact",
        &apps::CONTACTS,
        Some("contacts.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_contacts_update_contact",
        &apps::CONTACTS,
        Some("contacts.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_contacts_delete_contact",
        &apps::CONTACTS,
        Some("contacts.write"),
        Delete,
    ),
];

#[tool_router(router = contacts_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_contacts_create_addressbook",
        title = "Create an address book",
        description = "Create an empty address book."
    )]
    async fn nc_contacts_create_addressbook(
        &self,
        Parameters(a): Parameters<CreateBookArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<BookChanged>>, ToolError> {
        if a.name.is_empty()
            || !a
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ToolError::invalid(
                "name",
                "use letters, digits, '-' and '_' only",
            ));
        }
        let user = self.user(&ctx)?;
        if user
            .contacts()
            .list()
            .await?
            .iter()
            .any(|b| b.name == a.name)
        {
            return Err(ToolError::invalid(
                "name",
                format!("an address book '{}' already exists", a.name),
            ));
        }
        let display = if a.display_name.trim().is_empty() {
            a.name.clone()
        } else {
            a.display_name.clone()
        };
        let book = user.contacts().create(&a.name, &display).await?;
        answer(BookChanged {
            message: format!("Created address book '{}'", book.display_name),
            name: book.name,
        })
    }

    #[tool(
        name = "nc_contacts_delete_addressbook",
        title = "Delete an address book",
        description = "Delete an address book and every contact in it."
    )]
    async fn nc_contacts_delete_addressbook(
        &self,
        Parameters(a): Parameters<BookRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<BookChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.name, "name").await?;
        user.contacts().delete(&book).await?;
        answer(BookChanged {
            message: format!("Deleted address book '{}'", book.name),
            name: book.name,
        })
    }

    #[tool(
        name = "nc_contacts_create_contact",
        title = "Create a contact",
        description = "Create a contact from contact_data: name (fn), e-mails, phones, addresses, organization, birthday, notes, photo."
    )]
    async fn nc_contacts_create_contact(
        &self,
        Parameters(a): Parameters<ContactWriteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ContactChanged>>, ToolError> {
        let uid = a.uid.trim();
        if uid.is_empty() {
            return Err(ToolError::invalid(
                "uid",
                "give the new contact a unique id",
            ));
        }
        if a.contact_data
            .get("fn")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(ToolError::invalid(
                "contact_data",
                "needs \"fn\", the full name",
            ));
        }
        let edit = ContactEdit::from_json(&a.contact_data)?;
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        if user.contacts().find_by_uid(&book, uid).await?.is_some() {
            return Err(ToolError::invalid(
                "uid",
                format!(
                    "a contact with UID '{uid}' already exists in '{}'; update it instead",
                    book.name
                ),
            ));
        }
        let data = edit.create(uid).to_text();
        let href = format!("{}{}", book.href, object_name(uid, "vcf"));
        let etag = user
            .contacts()
            .put(&href, &data, Precondition::Create)
            .await?;
        let card = Card {
            href,
            etag: Some(etag),
            data,
        };
        let contact = ContactOut::of(&card, &book, true)
            .ok_or_else(|| ToolError::invalid("contact_data", "could not build the card"))?;
        answer(ContactChanged {
            contact,
            addressbook: book.name,
            ignored_keys: edit.ignored,
        })
    }

    #[tool(
        name = "nc_contacts_update_contact",
        title = "Update a contact",
        description = "Change the contact_data fields given, keeping the rest of the vCard. Pass the ETag of your last read."
    )]
    async fn nc_contacts_update_contact(
        &self,
        Parameters(a): Parameters<UpdateContactArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ContactChanged>>, ToolError> {
        let edit = ContactEdit::from_json(&a.contact_data)?;
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        let card = card_by_uid(&user, &book, &a.uid).await?;
        let mut doc = Document::parse(&card.data);
        edit.apply(&mut doc)?;
        let etag = if a.etag.trim().is_empty() {
            card.etag.clone().unwrap_or_default()
        } else {
            a.etag.trim().to_string()
        };
        let pre = if etag.is_empty() {
            Precondition::None
        } else {
            Precondition::IfMatch(etag)
        };
        let data = doc.to_text();
        let new_etag = user.contacts().put(&card.href, &data, pre).await?;
        let card = Card {
            href: card.href,
            etag: Some(new_etag),
            data,
        };
        let contact = ContactOut::of(&card, &book, true)
            .ok_or_else(|| ToolError::invalid("contact_data", "could not build the card"))?;
        answer(ContactChanged {
            contact,
            addressbook: book.name,
            ignored_keys: edit.ignored,
        })
    }

    #[tool(
        name = "nc_contacts_delete_contact",
        title = "Delete a contact",
        description = "Delete a contact by UID."
    )]
    async fn nc_contacts_delete_contact(
        &self,
        Parameters(a): Parameters<ContactRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ContactDeleted>>, ToolError> {
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        let card = card_by_uid(&user, &book, &a.uid).await?;
        user.contacts()
            .delete_card(&card.href, card.etag.as_deref())
            .await?;
        answer(ContactDeleted {
            message: format!("Deleted contact '{}'", a.uid),
            uid: a.uid,
            addressbook: book.name,
        })
    }
}
