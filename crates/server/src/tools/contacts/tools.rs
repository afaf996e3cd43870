//! The eight contacts tools and the mapping between `contact_data` and vCard lines.

use chrono::Utc;
use nextcloud::NextcloudUser;
use nextcloud::calendar::Precondition;
use nextcloud::contacts::{AddressBook, Card};
use nextcloud::ical::{Document, Line, Span, escape, prop, prop_list_param};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{ToolError, now};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Field {
    pub value: String,
    /// TYPE parameter values (home, work, cell, ...), lower case.
    pub types: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Address {
    /// Human-readable one-line form.
    pub value: String,
    pub types: Vec<String>,
    pub po_box: String,
    pub extended: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContactOut {
    pub uid: String,
    /// FN: the formatted name.
    #[serde(rename = "fn")]
    pub fn_: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Vec<String>,
    /// ORG components joined with "; ".
    pub organization: Option<String>,
    pub title: Option<String>,
    pub emails: Vec<Field>,
    pub phones: Vec<Field>,
    pub addresses: Vec<Address>,
    pub urls: Vec<Field>,
    pub note: Option<String>,
    pub birthday: Option<String>,
    pub categories: Vec<String>,
    pub has_photo: bool,
    /// PHOTO value (URL or data URI), only with include_photos.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    pub addressbook: String,
    pub href: String,
    /// Pass to `nc_contacts_update_contact` to detect concurrent edits.
    pub etag: String,
}

fn types_of(l: &Line) -> Vec<String> {
    l.params()
        .into_iter()
        .filter(|(k, _)| k == "TYPE")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|t| t.trim().to_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty() && t != "internet" && t != "pref" && t != "voice")
        .collect()
}

fn contact_out(card: &Card, book: &AddressBook, include_photo: bool) -> Option<ContactOut> {
    let doc = Document::parse(&card.data);
    let span = *doc.components("VCARD").first()?;
    let text = |n: &str| doc.get(span, n).map(|l| l.text()).filter(|t| !t.is_empty());
    let fields = |n: &str| {
        doc.get_all(span, n)
            .into_iter()
            .map(|l| Field {
                value: l.text(),
                types: types_of(l),
            })
            .collect::<Vec<_>>()
    };
    let n = doc
        .get(span, "N")
        .map(|l| l.components())
        .unwrap_or_default();
    let part = |i: usize| n.get(i).cloned().filter(|s| !s.is_empty());
    let photo = doc.get(span, "PHOTO");
    Some(ContactOut {
        uid: text("UID").unwrap_or_default(),
        fn_: text("FN").unwrap_or_default(),
        given_name: part(1),
        family_name: part(0),
        nickname: doc
            .get_all(span, "NICKNAME")
            .into_iter()
            .flat_map(|l| l.text_list())
            .collect(),
        organization: doc.get(span, "ORG").map(|l| {
            l.components()
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        }),
        title: text("TITLE"),
        emails: fields("EMAIL"),
        phones: fields("TEL"),
        addresses: doc
            .get_all(span, "ADR")
            .into_iter()
            .map(|l| {
                let c = l.components();
                let g = |i: usize| c.get(i).cloned().unwrap_or_default();
                Address {
                    value: c
                        .iter()
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    types: types_of(l),
                    po_box: g(0),
                    extended: g(1),
                    street: g(2),
                    city: g(3),
                    region: g(4),
                    postal_code: g(5),
                    country: g(6),
                }
            })
            .collect(),
        urls: doc
            .get_all(span, "URL")
            .into_iter()
            .map(|l| Field {
                value: l.raw_value().to_string(),
                types: types_of(l),
            })
            .collect(),
        note: text("NOTE"),
        birthday: doc.get(span, "BDAY").map(|l| format_bday(l.raw_value())),
        categories: doc
            .get_all(span, "CATEGORIES")
            .into_iter()
            .flat_map(|l| l.text_list())
            .collect(),
        has_photo: photo.is_some(),
        photo: if include_photo {
            photo.map(photo_value)
        } else {
            None
        },
        addressbook: book.name.clone(),
        href: card.href.clone(),
        etag: card.etag.clone().unwrap_or_default(),
    })
}

fn format_bday(v: &str) -> String {
    let v = v.trim();
    if v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()) {
        format!("{}-{}-{}", &v[..4], &v[4..6], &v[6..])
    } else {
        v.to_string()
    }
}

fn photo_value(l: &Line) -> String {
    let v = l.raw_value();
    let is_b64 = l
        .param("ENCODING")
        .is_some_and(|e| e.eq_ignore_ascii_case("b") || e.eq_ignore_ascii_case("base64"));
    if is_b64 {
        let ty = l
            .param("TYPE")
            .unwrap_or_else(|| "jpeg".into())
            .to_lowercase();
        format!("data:image/{ty};base64,{v}")
    } else {
        v.to_string()
    }
}

/// Keys `contact_data` understands, and the vCard property each one writes.
const KEYS: &[(&str, &str)] = &[
    ("fn", "FN"),
    ("n", "N"),
    ("given_name", "N"),
    ("family_name", "N"),
    ("email", "EMAIL"),
    ("emails", "EMAIL"),
    ("tel", "TEL"),
    ("phone", "TEL"),
    ("phones", "TEL"),
    ("adr", "ADR"),
    ("address", "ADR"),
    ("addresses", "ADR"),
    ("org", "ORG"),
    ("organization", "ORG"),
    ("title", "TITLE"),
    ("note", "NOTE"),
    ("bday", "BDAY"),
    ("birthday", "BDAY"),
    ("url", "URL"),
    ("urls", "URL"),
    ("nickname", "NICKNAME"),
    ("categories", "CATEGORIES"),
    ("photo", "PHOTO"),
];

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Lines for a typed, repeatable field (EMAIL, TEL, URL): strings, or objects with
/// `value` (or `email`/`number`/`url`) and `type` (string or list).
fn typed_lines(
    name: &str,
    key: &'static str,
    v: &Value,
    escape_value: bool,
) -> Result<Vec<String>, ToolError> {
    let mut out = Vec::new();
    for item in as_list(v) {
        let (value, types) = match &item {
            Value::Object(o) => {
                let value = ["value", "email", "number", "url", "uri"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(str_of))
                    .ok_or_else(|| {
                        ToolError::invalid(
                            key,
                            "each entry is a string or {\"value\": ..., \"type\": \"work\"}",
                        )
                    })?;
                let types: Vec<String> = o
                    .get("type")
                    .or_else(|| o.get("types"))
                    .map(as_list)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(str_of)
                    .collect();
                (value, types)
            }
            other => (
                str_of(other).ok_or_else(|| {
                    ToolError::invalid(key, "expected a string, a list, or objects with value/type")
                })?,
                vec![],
            ),
        };
        if value.trim().is_empty() {
            continue;
        }
        if name == "EMAIL" && !value.contains('@') {
            return Err(ToolError::invalid(
                key,
                format!("'{value}' is not an e-mail address"),
            ));
        }
        let types = upper_types(&types);
        let val = if escape_value {
            escape(value.trim())
        } else {
            value.trim().to_string()
        };
        out.push(prop_list_param(name, "TYPE", &types, &val));
    }
    Ok(out)
}

/// TYPE values as written: upper case, blanks dropped; "work, fax" in one string splits.
fn upper_types(types: &[String]) -> Vec<String> {
    types
        .iter()
        .flat_map(|t| t.split(','))
        .map(|t| t.trim().to_uppercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn adr_lines(v: &Value) -> Result<Vec<String>, ToolError> {
    let mut out = Vec::new();
    for item in as_list(v) {
        let (parts, types): (Vec<String>, Vec<String>) = match &item {
            Value::String(s) => (
                vec![
                    String::new(),
                    String::new(),
                    s.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
                vec![],
            ),
            Value::Object(o) => {
                let g = |keys: &[&str]| {
                    keys.iter()
                        .find_map(|k| o.get(*k).and_then(str_of))
                        .unwrap_or_default()
                };
                (
                    vec![
                        g(&["po_box", "pobox"]),
                        g(&["extended"]),
                        g(&["street"]),
                        g(&["city", "locality"]),
                        g(&["region", "state"]),
                        g(&["postal_code", "code", "zip"]),
                        g(&["country"]),
                    ],
                    o.get("type")
                        .or_else(|| o.get("types"))
                        .map(as_list)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(str_of)
                        .collect(),
                )
            }
            _ => {
                return Err(ToolError::invalid(
                    "adr",
                    "an address is a string or {street, city, region, postal_code, country, type}",
                ));
            }
        };
        if parts.iter().all(|p| p.trim().is_empty()) {
            continue;
        }
        let value = parts
            .iter()
            .map(|p| escape(p))
            .collect::<Vec<_>>()
            .join(";");
        out.push(prop_list_param("ADR", "TYPE", &upper_types(&types), &value));
    }
    Ok(out)
}

fn text_list_value(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        other => as_list(other).iter().filter_map(str_of).collect(),
    }
}

fn bday_value(key: &'static str, v: &Value) -> Result<String, ToolError> {
    let s = str_of(v).unwrap_or_default();
    let s = s.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.format("%Y-%m-%d").to_string());
    }
    if s.starts_with("--") && s.len() == 7 {
        return Ok(s.to_string());
    }
    Err(ToolError::invalid(
        key,
        "use YYYY-MM-DD (or --MM-DD without a year)",
    ))
}

/// Writes every property named in `data` into the card; returns the keys it ignored.
fn apply_contact(
    doc: &mut Document,
    span: Span,
    data: &Map<String, Value>,
) -> Result<(Span, Vec<String>), ToolError> {
    let mut span = span;
    let mut ignored = Vec::new();
    let get = |k: &str| data.get(k);
    // N: explicit `n` (list or "Family;Given") or given/family names, merged with the old N.
    if get("n").is_some() || get("given_name").is_some() || get("family_name").is_some() {
        let mut parts = doc
            .get(span, "N")
            .map(|l| l.components())
            .unwrap_or_default();
        parts.resize(5.max(parts.len()), String::new());
        if let Some(n) = get("n") {
            let list: Vec<String> = match n {
                Value::String(s) => s.split(';').map(str::to_string).collect(),
                other => as_list(other)
                    .iter()
                    .map(|x| str_of(x).unwrap_or_default())
                    .collect(),
            };
            for (i, p) in list.into_iter().take(5).enumerate() {
                parts[i] = p;
            }
        }
        if let Some(f) = get("family_name").and_then(str_of) {
            parts[0] = f;
        }
        if let Some(g) = get("given_name").and_then(str_of) {
            parts[1] = g;
        }
        let value = parts
            .iter()
            .map(|p| escape(p))
            .collect::<Vec<_>>()
            .join(";");
        span = doc.set(span, "N", vec![prop("N", &[], &value)]);
    }
    for (key, v) in data {
        let Some((_, name)) = KEYS.iter().find(|(k, _)| k == key) else {
            ignored.push(key.clone());
            continue;
        };
        let key: &'static str = KEYS
            .iter()
            .find(|(k, _)| k == key)
            .map(|(k, _)| *k)
            .unwrap_or("contact_data");
        let lines = match *name {
            "N" => continue,
            "FN" | "TITLE" | "NOTE" => {
                let s = str_of(v).ok_or_else(|| ToolError::invalid(key, "expected a string"))?;
                if *name == "FN" && s.trim().is_empty() {
                    return Err(ToolError::invalid(key, "the full name cannot be empty"));
                }
                if s.is_empty() {
                    vec![]
                } else {
                    vec![prop(name, &[], &escape(&s))]
                }
            }
            "EMAIL" | "TEL" => typed_lines(name, key, v, true)?,
            "URL" => typed_lines(name, key, v, false)?,
            "ADR" => adr_lines(v)?,
            "ORG" => {
                let parts: Vec<String> = match v {
                    // The output joins components with "; ", so a string splits the same way.
                    Value::String(s) => s.split(';').map(|p| p.trim().to_string()).collect(),
                    other => as_list(other).iter().filter_map(str_of).collect(),
                };
                if parts.iter().all(|p| p.is_empty()) {
                    vec![]
                } else {
                    vec![prop(
                        "ORG",
                        &[],
                        &parts
                            .iter()
                            .map(|p| escape(p))
                            .collect::<Vec<_>>()
                            .join(";"),
                    )]
                }
            }
            // One NICKNAME line per name: some servers (vobject-based ones like Radicale)
            // keep only the first value of a comma-separated NICKNAME.
            "NICKNAME" => text_list_value(v)
                .iter()
                .map(|x| prop(name, &[], &escape(x)))
                .collect(),
            "CATEGORIES" => {
                let list = text_list_value(v);
                if list.is_empty() {
                    vec![]
                } else {
                    vec![prop(
                        name,
                        &[],
                        &list.iter().map(|x| escape(x)).collect::<Vec<_>>().join(","),
                    )]
                }
            }
            "BDAY" => {
                if str_of(v).is_some_and(|s| s.is_empty()) || v.is_null() {
                    vec![]
                } else {
                    vec![prop("BDAY", &[("VALUE", "DATE")], &bday_value(key, v)?)]
                }
            }
            "PHOTO" => {
                let s = str_of(v).unwrap_or_default();
                if s.is_empty() {
                    vec![]
                } else if let Some(rest) = s.strip_prefix("data:") {
                    let (meta, b64) = rest.split_once(',').ok_or_else(|| {
                        ToolError::invalid(key, "a data URI needs a comma before the data")
                    })?;
                    let Some(mime) = meta.strip_suffix(";base64") else {
                        return Err(ToolError::invalid(
                            key,
                            "use a base64 data URI (data:image/jpeg;base64,...) or a URL",
                        ));
                    };
                    use base64::Engine;
                    if base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .is_err()
                    {
                        return Err(ToolError::invalid(key, "the data is not valid base64"));
                    }
                    let ty = mime.trim_start_matches("image/").to_uppercase();
                    vec![prop("PHOTO", &[("ENCODING", "b"), ("TYPE", &ty)], b64)]
                } else {
                    vec![prop("PHOTO", &[("VALUE", "uri")], &s)]
                }
            }
            _ => continue,
        };
        span = doc.set(span, name, lines);
    }
    Ok((span, ignored))
}

fn new_card(uid: &str) -> Document {
    Document::parse(&format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//nextcloud-mcp//EN\r\n{}\r\nEND:VCARD\r\n",
        prop("UID", &[], &escape(uid))
    ))
}

fn revise(doc: &mut Document, span: Span) -> Span {
    let rev = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    doc.set(span, "REV", vec![prop("REV", &[], &rev)])
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

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
    pub success: bool,
    pub timestamp: String,
    pub addressbooks: Vec<BookOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListContactsArgs {
    /// Address book name (from nc_contacts_list_addressbooks).
    pub addressbook: String,
    /// Include PHOTO data (can be large).
    #[serde(default)]
    pub include_photos: bool,
    /// Page size (1-1000); default all.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactsOut {
    pub success: bool,
    pub timestamp: String,
    pub contacts: Vec<ContactOut>,
    /// The address book searched ("" when several were).
    pub addressbook: String,
    /// Contacts before paging.
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchContactsArgs {
    /// Text to find in names, nicknames, e-mail addresses, phone numbers, organization or note.
    pub query: String,
    /// Address book to search; default all.
    #[serde(default)]
    pub addressbook: Option<String>,
    #[serde(default)]
    pub include_photos: bool,
    /// Page size (1-1000); default all matches.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Matches to skip (with `limit`, for paging).
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateBookArgs {
    /// Address book name (URL segment: letters, digits, '-' and '_').
    pub name: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BookRef {
    pub name: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BookChanged {
    pub success: bool,
    pub timestamp: String,
    pub message: String,
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContactWriteArgs {
    pub addressbook: String,
    /// The contact's UID (for a new contact: a new unique id).
    pub uid: String,
    /// Fields: fn, n (or given_name/family_name), email, tel/phone, adr/address, org/organization,
    /// title, note, bday, url, nickname, categories, photo. email/tel/url/adr take a string, a
    /// list, or objects like {"value": "a@b.c", "type": ["work"]}; adr objects take street,
    /// city, region, postal_code, country, type.
    pub contact_data: Map<String, Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateContactArgs {
    pub addressbook: String,
    pub uid: String,
    /// Only the fields given are changed (same keys as create); "" or [] removes a field.
    pub contact_data: Map<String, Value>,
    /// ETag from the last read; if the contact changed since, nothing is written.
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactChanged {
    pub success: bool,
    pub timestamp: String,
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
    pub success: bool,
    pub timestamp: String,
    pub message: String,
    pub uid: String,
    pub addressbook: String,
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

#[tool_router(router = contacts_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_contacts_list_addressbooks",
        title = "List address books",
        description = "List the user's address books with their names (to pass as `addressbook`) and display names."
    )]
    async fn nc_contacts_list_addressbooks(
        &self,
        Parameters(_): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListBooksOut>, ToolError> {
        let user = self.user(&ctx)?;
        let books: Vec<BookOut> = user
            .contacts()
            .list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(ListBooksOut {
            success: true,
            timestamp: now(),
            total_count: books.len(),
            addressbooks: books,
        }))
    }

    #[tool(
        name = "nc_contacts_list_contacts",
        title = "List contacts",
        description = "List the contacts of an address book (names, e-mail addresses, phones, addresses, organization, ...), sorted by name, with paging. Photos only with include_photos."
    )]
    async fn nc_contacts_list_contacts(
        &self,
        Parameters(a): Parameters<ListContactsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ContactsOut>, ToolError> {
        if a.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
            return Err(ToolError::invalid("limit", "use 1 to 1000"));
        }
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        let cards = user.contacts().cards(&book).await?;
        let mut contacts: Vec<ContactOut> = cards
            .iter()
            .filter_map(|c| contact_out(c, &book, a.include_photos))
            .collect();
        contacts
            .sort_by(|x, y| (x.fn_.to_lowercase(), &x.uid).cmp(&(y.fn_.to_lowercase(), &y.uid)));
        let total = contacts.len();
        let page: Vec<ContactOut> = contacts
            .into_iter()
            .skip(a.offset as usize)
            .take(a.limit.unwrap_or(u32::MAX) as usize)
            .collect();
        Ok(Json(ContactsOut {
            success: true,
            timestamp: now(),
            contacts: page,
            addressbook: book.name,
            total_count: total,
        }))
    }

    #[tool(
        name = "nc_contacts_search_contacts",
        title = "Search contacts",
        description = "Find contacts whose name, nickname, e-mail, phone, organization or note contains the text (case-insensitive; the server does the search)."
    )]
    async fn nc_contacts_search_contacts(
        &self,
        Parameters(a): Parameters<SearchContactsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ContactsOut>, ToolError> {
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
                contacts.extend(contact_out(&card, book, a.include_photos));
            }
        }
        contacts
            .sort_by(|x, y| (x.fn_.to_lowercase(), &x.uid).cmp(&(y.fn_.to_lowercase(), &y.uid)));
        let name = if books.len() == 1 {
            books[0].name.clone()
        } else {
            String::new()
        };
        let total = contacts.len();
        let page = contacts
            .into_iter()
            .skip(a.offset as usize)
            .take(a.limit.unwrap_or(u32::MAX) as usize)
            .collect();
        Ok(Json(ContactsOut {
            success: true,
            timestamp: now(),
            total_count: total,
            contacts: page,
            addressbook: name,
        }))
    }

    #[tool(
        name = "nc_contacts_create_addressbook",
        title = "Create an address book",
        description = "Create a new address book with a name (URL segment) and a display name."
    )]
    async fn nc_contacts_create_addressbook(
        &self,
        Parameters(a): Parameters<CreateBookArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<BookChanged>, ToolError> {
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
        Ok(Json(BookChanged {
            success: true,
            timestamp: now(),
            message: format!("Created address book '{}'", book.display_name),
            name: book.name,
        }))
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
    ) -> Result<Json<BookChanged>, ToolError> {
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.name, "name").await?;
        user.contacts().delete(&book).await?;
        Ok(Json(BookChanged {
            success: true,
            timestamp: now(),
            message: format!("Deleted address book '{}'", book.name),
            name: book.name,
        }))
    }

    #[tool(
        name = "nc_contacts_create_contact",
        title = "Create a contact",
        description = "Create a contact (vCard) with a full name and any of: e-mail addresses and phones with types, addresses, organization, title, note, birthday, URLs, nickname, categories, photo."
    )]
    async fn nc_contacts_create_contact(
        &self,
        Parameters(a): Parameters<ContactWriteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ContactChanged>, ToolError> {
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
        let mut doc = new_card(uid);
        let span = doc.components("VCARD")[0];
        let (span, ignored) = apply_contact(&mut doc, span, &a.contact_data)?;
        revise(&mut doc, span);
        let href = format!(
            "{}{}",
            book.href,
            crate::tools::calendar::model::object_name(uid, "vcf")
        );
        let data = doc.to_text();
        let etag = user
            .contacts()
            .put(&href, &data, Precondition::Create)
            .await?;
        let card = Card {
            href,
            etag: Some(etag),
            data,
        };
        let contact = contact_out(&card, &book, true)
            .ok_or_else(|| ToolError::invalid("contact_data", "could not build the card"))?;
        Ok(Json(ContactChanged {
            success: true,
            timestamp: now(),
            contact,
            addressbook: book.name,
            ignored_keys: ignored,
        }))
    }

    #[tool(
        name = "nc_contacts_update_contact",
        title = "Update a contact",
        description = "Change the fields given in contact_data (same keys as create); every other property of the vCard is kept exactly. Pass the ETag from your last read to detect concurrent edits."
    )]
    async fn nc_contacts_update_contact(
        &self,
        Parameters(a): Parameters<UpdateContactArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ContactChanged>, ToolError> {
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        let card = card_by_uid(&user, &book, &a.uid).await?;
        let mut doc = Document::parse(&card.data);
        let span = *doc
            .components("VCARD")
            .first()
            .ok_or_else(|| nextcloud::Error::InvalidResponse("no VCARD in the contact".into()))?;
        let (span, ignored) = apply_contact(&mut doc, span, &a.contact_data)?;
        revise(&mut doc, span);
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
        let contact = contact_out(&card, &book, true)
            .ok_or_else(|| ToolError::invalid("contact_data", "could not build the card"))?;
        Ok(Json(ContactChanged {
            success: true,
            timestamp: now(),
            contact,
            addressbook: book.name,
            ignored_keys: ignored,
        }))
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
    ) -> Result<Json<ContactDeleted>, ToolError> {
        let user = self.user(&ctx)?;
        let book = find_book(&user, &a.addressbook, "addressbook").await?;
        let card = card_by_uid(&user, &book, &a.uid).await?;
        user.contacts()
            .delete_card(&card.href, card.etag.as_deref())
            .await?;
        Ok(Json(ContactDeleted {
            success: true,
            timestamp: now(),
            message: format!("Deleted contact '{}'", a.uid),
            uid: a.uid,
            addressbook: book.name,
        }))
    }
}
