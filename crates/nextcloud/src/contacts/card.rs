//! vCards: reading one into a [`Contact`], and the editing model [`ContactEdit`], which
//! rewrites only the properties a change names.
//!
//! A change is written in the JSON shape callers use for contact data: `{"fn": "Ada",
//! "email": [{"value": "ada@example.org", "type": "work"}], ...}`; each key maps to one vCard
//! property, and keys that are no contact field are reported back, not written.

use base64::Engine;
use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::ical::{Document, Line, Span, escape, prop, prop_list_param};
use crate::{Error, Result};

/// A value with its TYPE parameter values (an e-mail address, a phone number, a URL).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Field {
    pub value: String,
    /// TYPE parameter values (home, work, cell, ...), lower case.
    pub types: Vec<String>,
}

/// A postal address (ADR).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
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

/// A contact as people read it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Contact {
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
    /// PHOTO value (URL or data URI), only when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
}

impl Contact {
    /// The contact in a vCard's text; `None` when it holds no VCARD.
    pub fn parse(text: &str, include_photo: bool) -> Option<Contact> {
        Contact::read(&Document::parse(text), include_photo)
    }

    /// The first VCARD of a document.
    pub fn read(doc: &Document, include_photo: bool) -> Option<Contact> {
        let span = *doc.components("VCARD").first()?;
        let text = |n: &str| doc.get(span, n).map(Line::text).filter(|t| !t.is_empty());
        let fields = |n: &str, text: fn(&Line) -> String| {
            doc.get_all(span, n)
                .into_iter()
                .map(|l| Field {
                    value: text(l),
                    types: types_of(l),
                })
                .collect::<Vec<_>>()
        };
        let n = doc.get(span, "N").map(Line::components).unwrap_or_default();
        let part = |i: usize| n.get(i).cloned().filter(|s| !s.is_empty());
        let photo = doc.get(span, "PHOTO");
        Some(Contact {
            uid: text("UID").unwrap_or_default(),
            fn_: text("FN").unwrap_or_default(),
            given_name: part(1),
            family_name: part(0),
            nickname: text_lists(doc, span, "NICKNAME"),
            organization: doc.get(span, "ORG").map(|l| {
                l.components()
                    .into_iter()
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
            title: text("TITLE"),
            emails: fields("EMAIL", Line::text),
            phones: fields("TEL", Line::text),
            addresses: doc
                .get_all(span, "ADR")
                .into_iter()
                .map(address_of)
                .collect(),
            urls: fields("URL", |l| l.raw_value().to_string()),
            note: text("NOTE"),
            birthday: doc.get(span, "BDAY").map(|l| format_bday(l.raw_value())),
            categories: text_lists(doc, span, "CATEGORIES"),
            has_photo: photo.is_some(),
            photo: photo.filter(|_| include_photo).map(photo_value),
        })
    }
}

fn text_lists(doc: &Document, span: Span, name: &str) -> Vec<String> {
    doc.get_all(span, name)
        .into_iter()
        .flat_map(|l| l.text_list())
        .collect()
}

fn address_of(l: &Line) -> Address {
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
}

/// TYPE values in lower case, without the ones that say nothing to people.
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

/// Keys of contact data, and the vCard property each one writes.
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

/// A checked change to a vCard: for each property it names, the lines that replace it
/// (none: remove it). Built from contact data by [`ContactEdit::from_json`].
#[derive(Clone, Debug, Default)]
pub struct ContactEdit {
    /// New N components (family, given, additional, prefixes, suffixes), merged into the
    /// old N: `None` for a component the change does not name.
    name: Option<[Option<String>; 5]>,
    /// (property, new lines) in the order the data named them.
    properties: Vec<(&'static str, Vec<String>)>,
    /// Keys of the data that are no contact field.
    pub ignored: Vec<String>,
}

impl ContactEdit {
    /// Reads and checks contact data: `fn`, `n` (or `given_name`/`family_name`), `email`,
    /// `tel`/`phone`, `adr`/`address`, `org`/`organization`, `title`, `note`, `bday`, `url`,
    /// `nickname`, `categories`, `photo`; plural forms are accepted. "" or [] removes a
    /// property. An error names the key at fault.
    pub fn from_json(data: &Map<String, Value>) -> Result<ContactEdit> {
        let mut edit = ContactEdit::default();
        let get = |k: &str| data.get(k);
        if get("n").is_some() || get("given_name").is_some() || get("family_name").is_some() {
            let mut parts: [Option<String>; 5] = Default::default();
            if let Some(n) = get("n") {
                let list: Vec<String> = match n {
                    Value::String(s) => s.split(';').map(str::to_string).collect(),
                    other => as_list(other)
                        .iter()
                        .map(|x| str_of(x).unwrap_or_default())
                        .collect(),
                };
                for (i, p) in list.into_iter().take(5).enumerate() {
                    parts[i] = Some(p);
                }
            }
            if let Some(f) = get("family_name").and_then(str_of) {
                parts[0] = Some(f);
            }
            if let Some(g) = get("given_name").and_then(str_of) {
                parts[1] = Some(g);
            }
            edit.name = Some(parts);
        }
        for (key, v) in data {
            let Some(&(key, name)) = KEYS.iter().find(|(k, _)| k == key) else {
                edit.ignored.push(key.clone());
                continue;
            };
            let lines = match name {
                "N" => continue,
                "FN" | "TITLE" | "NOTE" => {
                    let s = str_of(v)
                        .ok_or_else(|| Error::invalid_argument(key, "expected a string"))?;
                    if name == "FN" && s.trim().is_empty() {
                        return Err(Error::invalid_argument(
                            key,
                            "the full name cannot be empty",
                        ));
                    }
                    if s.is_empty() {
                        vec![]
                    } else {
                        vec![prop(name, &[], &escape(&s))]
                    }
                }
                "EMAIL" | "TEL" => typed_lines(name, key, v, true)?,
                "URL" => typed_lines(name, key, v, false)?,
                "ADR" => adr_lines(key, v)?,
                "ORG" => {
                    let parts: Vec<String> = match v {
                        // People read ORG joined with "; ", so a string splits the same way.
                        Value::String(s) => s.split(';').map(|p| p.trim().to_string()).collect(),
                        other => as_list(other).iter().filter_map(str_of).collect(),
                    };
                    if parts.iter().all(|p| p.is_empty()) {
                        vec![]
                    } else {
                        vec![prop("ORG", &[], &join_escaped(&parts, ";"))]
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
                        vec![prop(name, &[], &join_escaped(&list, ","))]
                    }
                }
                "BDAY" => {
                    if v.is_null() || str_of(v).is_some_and(|s| s.is_empty()) {
                        vec![]
                    } else {
                        vec![prop("BDAY", &[("VALUE", "DATE")], &bday_value(key, v)?)]
                    }
                }
                "PHOTO" => photo_lines(key, v)?,
                _ => continue,
            };
            edit.properties.push((name, lines));
        }
        Ok(edit)
    }

    /// A new vCard 3.0 with this UID holding the change.
    pub fn create(&self, uid: &str) -> Document {
        let mut doc = Document::parse(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//nextcloud-mcp//EN\r\n{}\r\nEND:VCARD\r\n",
            prop("UID", &[], &escape(uid))
        ));
        self.apply(&mut doc).expect("a card just built has a VCARD");
        doc
    }

    /// Rewrites the properties the change names in the document's VCARD and sets REV; every
    /// other line stays as it was.
    pub fn apply(&self, doc: &mut Document) -> Result<()> {
        let mut span = *doc
            .components("VCARD")
            .first()
            .ok_or_else(|| Error::InvalidResponse("no VCARD in the contact".into()))?;
        if let Some(new) = &self.name {
            let mut parts = doc.get(span, "N").map(Line::components).unwrap_or_default();
            parts.resize(5.max(parts.len()), String::new());
            for (i, p) in new.iter().enumerate() {
                if let Some(p) = p {
                    parts[i] = p.clone();
                }
            }
            span = doc.set(span, "N", vec![prop("N", &[], &join_escaped(&parts, ";"))]);
        }
        for (name, lines) in &self.properties {
            span = doc.set(span, name, lines.clone());
        }
        let rev = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        doc.set(span, "REV", vec![prop("REV", &[], &rev)]);
        Ok(())
    }
}

fn join_escaped(parts: &[String], sep: &str) -> String {
    parts
        .iter()
        .map(|p| escape(p))
        .collect::<Vec<_>>()
        .join(sep)
}

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

/// TYPE values of an entry object (`type` or `types`, a string or a list).
fn types_in(o: &Map<String, Value>) -> Vec<String> {
    o.get("type")
        .or_else(|| o.get("types"))
        .map(as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(str_of)
        .collect()
}

/// Lines for a typed, repeatable field (EMAIL, TEL, URL): strings, or objects with
/// `value` (or `email`/`number`/`url`) and `type` (string or list).
fn typed_lines(name: &str, key: &str, v: &Value, escape_value: bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for item in as_list(v) {
        let (value, types) = match &item {
            Value::Object(o) => {
                let value = ["value", "email", "number", "url", "uri"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(str_of))
                    .ok_or_else(|| {
                        Error::invalid_argument(
                            key,
                            "each entry is a string or {\"value\": ..., \"type\": \"work\"}",
                        )
                    })?;
                (value, types_in(o))
            }
            other => (
                str_of(other).ok_or_else(|| {
                    Error::invalid_argument(
                        key,
                        "expected a string, a list, or objects with value/type",
                    )
                })?,
                vec![],
            ),
        };
        if value.trim().is_empty() {
            continue;
        }
        if name == "EMAIL" && !value.contains('@') {
            return Err(Error::invalid_argument(
                key,
                format!("'{value}' is not an e-mail address"),
            ));
        }
        let val = if escape_value {
            escape(value.trim())
        } else {
            value.trim().to_string()
        };
        out.push(prop_list_param(name, "TYPE", &upper_types(&types), &val));
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

fn adr_lines(key: &str, v: &Value) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for item in as_list(v) {
        let (parts, types): (Vec<String>, Vec<String>) = match &item {
            Value::String(s) => {
                let mut parts = vec![String::new(); 7];
                parts[2] = s.clone();
                (parts, vec![])
            }
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
                    types_in(o),
                )
            }
            _ => {
                return Err(Error::invalid_argument(
                    key,
                    "an address is a string or {street, city, region, postal_code, country, type}",
                ));
            }
        };
        if parts.iter().all(|p| p.trim().is_empty()) {
            continue;
        }
        out.push(prop_list_param(
            "ADR",
            "TYPE",
            &upper_types(&types),
            &join_escaped(&parts, ";"),
        ));
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

fn bday_value(key: &str, v: &Value) -> Result<String> {
    let s = str_of(v).unwrap_or_default();
    let s = s.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.format("%Y-%m-%d").to_string());
    }
    if s.starts_with("--") && s.len() == 7 {
        return Ok(s.to_string());
    }
    Err(Error::invalid_argument(
        key,
        "use YYYY-MM-DD (or --MM-DD without a year)",
    ))
}

/// PHOTO: a base64 data URI becomes inline data, anything else a URI.
fn photo_lines(key: &str, v: &Value) -> Result<Vec<String>> {
    let s = str_of(v).unwrap_or_default();
    if s.is_empty() {
        return Ok(vec![]);
    }
    let Some(rest) = s.strip_prefix("data:") else {
        return Ok(vec![prop("PHOTO", &[("VALUE", "uri")], &s)]);
    };
    let (meta, b64) = rest
        .split_once(',')
        .ok_or_else(|| Error::invalid_argument(key, "a data URI needs a comma before the data"))?;
    let Some(mime) = meta.strip_suffix(";base64") else {
        return Err(Error::invalid_argument(
            key,
            "use a base64 data URI (data:image/jpeg;base64,...) or a URL",
        ));
    };
    if base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .is_err()
    {
        return Err(Error::invalid_argument(key, "the data is not valid base64"));
    }
    let ty = mime.trim_start_matches("image/").to_uppercase();
    Ok(vec![prop(
        "PHOTO",
        &[("ENCODING", "b"), ("TYPE", &ty)],
        b64,
    )])
}
