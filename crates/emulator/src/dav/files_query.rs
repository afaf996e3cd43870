//! The query side of Nextcloud's files DAV: `SEARCH` (RFC 5323 basicsearch, as
//! `FileSearchBackend` implements it), `REPORT oc:filter-files` (favourites, system tags) and
//! `PROPPATCH` of `oc:favorite`, plus a tiny namespaced XML tree to read their bodies.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::xml::{NS_DAV, NS_OC, PropName};

/// A parsed XML element: namespace, local name, text and children.
#[derive(Clone, Debug, Default)]
pub struct XmlNode {
    pub ns: String,
    pub name: String,
    pub text: String,
    pub children: Vec<XmlNode>,
}

impl XmlNode {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&XmlNode> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// First descendant (depth-first) with this name.
    pub fn find(&self, ns: &str, name: &str) -> Option<&XmlNode> {
        for c in &self.children {
            if c.is(ns, name) {
                return Some(c);
            }
            if let Some(f) = c.find(ns, name) {
                return Some(f);
            }
        }
        None
    }

    /// The property names inside a `<d:prop>`.
    pub fn prop_names(&self) -> Vec<PropName> {
        self.children
            .iter()
            .map(|c| PropName::new(&c.ns, &c.name))
            .collect()
    }
}

/// Parses a whole document into its root element; `None` for malformed XML.
pub fn parse_tree(body: &[u8]) -> Option<XmlNode> {
    let mut reader = NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut stack: Vec<XmlNode> = Vec::new();
    let mut root = None;
    loop {
        let (res, ev) = reader.read_resolved_event_into(&mut buf).ok()?;
        let ns = match res {
            ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(e) => stack.push(XmlNode {
                ns,
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Default::default()
            }),
            Event::Empty(e) => {
                let node = XmlNode {
                    ns,
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().ok()?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = r.decode().ok()?;
                    let resolved = match name.as_ref() {
                        "amp" => "&".to_string(),
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "quot" => "\"".to_string(),
                        "apos" => "'".to_string(),
                        other => {
                            let code = other
                                .strip_prefix("#x")
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .or_else(|| other.strip_prefix('#').and_then(|d| d.parse().ok()))?;
                            char::from_u32(code)?.to_string()
                        }
                    };
                    top.text.push_str(&resolved);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Event::End(_) => {
                let node = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// What a file looks like to the search evaluator.
pub struct Candidate<'a> {
    pub name: &'a str,
    pub mime: &'a str,
    pub size: u64,
    pub mtime: i64,
    pub favorite: bool,
    pub is_dir: bool,
    pub id: u64,
}

/// Why a basicsearch could not be run (Sabre answers 400 / 501 for these).
#[derive(Debug)]
pub enum QueryError {
    BadRequest(String),
}

/// Evaluates one `<d:where>` operator against a candidate.
pub fn matches(op: &XmlNode, c: &Candidate<'_>) -> Result<bool, QueryError> {
    let bad = |m: &str| QueryError::BadRequest(m.to_string());
    match (op.ns.as_str(), op.name.as_str()) {
        (NS_DAV, "and") => {
            for child in &op.children {
                if !matches(child, c)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        (NS_DAV, "or") => {
            for child in &op.children {
                if matches(child, c)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        (NS_DAV, "not") => {
            let child = op.children.first().ok_or_else(|| bad("empty not"))?;
            Ok(!matches(child, c)?)
        }
        (NS_DAV, "is-collection") => Ok(c.is_dir),
        (NS_DAV, cmp @ ("eq" | "like" | "gt" | "gte" | "lt" | "lte")) => {
            let prop = op
                .child(NS_DAV, "prop")
                .and_then(|p| p.children.first())
                .ok_or_else(|| bad("missing property in comparison"))?;
            let literal = op
                .child(NS_DAV, "literal")
                .map(|l| l.text.clone())
                .ok_or_else(|| bad("missing literal in comparison"))?;
            let value = match (prop.ns.as_str(), prop.name.as_str()) {
                (NS_DAV, "displayname") => Value::Text(c.name.to_lowercase()),
                (NS_DAV, "getcontenttype") => Value::Text(c.mime.to_string()),
                (NS_DAV, "getlastmodified") => Value::Number(c.mtime),
                (NS_OC, "size") | (NS_DAV, "getcontentlength") => Value::Number(c.size as i64),
                (NS_OC, "favorite") => Value::Number(i64::from(c.favorite)),
                (NS_OC, "fileid") => Value::Number(c.id as i64),
                (ns, name) => {
                    return Err(bad(&format!(
                        "Search is not supported for the property {{{ns}}}{name}"
                    )));
                }
            };
            Ok(compare(cmp, &value, &literal))
        }
        (ns, name) => Err(bad(&format!("Unsupported operation {{{ns}}}{name}"))),
    }
}

enum Value {
    Text(String),
    Number(i64),
}

fn compare(cmp: &str, value: &Value, literal: &str) -> bool {
    match value {
        Value::Text(v) => match cmp {
            // Nextcloud compares names case-insensitively (ILIKE).
            "like" => like(v, &literal.to_lowercase()),
            "eq" => v.eq_ignore_ascii_case(literal),
            _ => false,
        },
        Value::Number(v) => {
            let lit = literal
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| {
                    chrono::DateTime::parse_from_rfc2822(literal.trim())
                        .ok()
                        .map(|d| d.timestamp())
                })
                .or_else(|| {
                    chrono::DateTime::parse_from_rfc3339(literal.trim())
                        .ok()
                        .map(|d| d.timestamp())
                });
            let Some(lit) = lit else { return false };
            match cmp {
                "eq" | "like" => *v == lit,
                "gt" => *v > lit,
                "gte" => *v >= lit,
                "lt" => *v < lit,
                "lte" => *v <= lit,
                _ => false,
            }
        }
    }
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes the next one.
pub fn like(value: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        toks.push(match ch {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let v: Vec<char> = value.chars().collect();
    // Classic DP over (pattern, value) positions.
    let mut dp = vec![vec![false; v.len() + 1]; toks.len() + 1];
    dp[0][0] = true;
    for i in 1..=toks.len() {
        for j in 0..=v.len() {
            dp[i][j] = match toks[i - 1] {
                Tok::Any => dp[i - 1][j] || (j > 0 && dp[i][j - 1]),
                Tok::One => j > 0 && dp[i - 1][j - 1],
                Tok::Lit(c) => j > 0 && dp[i - 1][j - 1] && v[j - 1] == c,
            };
        }
    }
    dp[toks.len()][v.len()]
}

/// `oc:favorite` and similar booleans in a PROPPATCH: "1"/"true" set, anything else clears.
pub fn truthy(text: &str) -> bool {
    matches!(text.trim(), "1" | "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("report 2024.pdf", "%.pdf"));
        assert!(like("report", "r_port"));
        assert!(!like("report", "r_port_"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("a_b", "%a\\_b%"));
    }

    #[test]
    fn tree_parses_namespaces_and_text() {
        let t = parse_tree(
            br#"<d:a xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:b>x &amp; y</d:b><oc:c/></d:a>"#,
        )
        .unwrap();
        assert!(t.is(NS_DAV, "a"));
        assert_eq!(t.child(NS_DAV, "b").unwrap().text, "x & y");
        assert!(t.child(NS_OC, "c").is_some());
        assert!(parse_tree(b"<a><b></a>").is_none());
    }
}
