//! XML in and out for the built-in CalDAV/CardDAV: request bodies read into a small element
//! tree, and multistatus answers written the way Sabre does inside Nextcloud (the root declares
//! every namespace Nextcloud maps; `getetag` carries its quotes; carriage returns in
//! `calendar-data` travel as `&#13;` so objects come back byte for byte).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::dav::xml::{NS_DAV, NS_NC, NS_OC, PropName};

pub const NS_CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const NS_CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
pub const NS_CS: &str = "http://calendarserver.org/ns/";
pub const NS_APPLE: &str = "http://apple.com/ns/ical/";
pub const NS_SABRE: &str = "http://sabredav.org/ns";

/// One element of a request body.
#[derive(Clone, Debug, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn prop_name(&self) -> PropName {
        PropName::new(&self.ns, &self.name)
    }
}

/// Parses a request body into its root element; `None` for malformed or empty XML.
pub fn parse(body: &[u8]) -> Option<Element> {
    let mut reader = NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let (res, ev) = reader.read_resolved_event_into(&mut buf).ok()?;
        let ns = match res {
            ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let attrs = e
                    .attributes()
                    .flatten()
                    .filter_map(|a| {
                        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                        let value = a.unescape_value().ok()?.into_owned();
                        Some((key, value))
                    })
                    .collect();
                let el = Element {
                    ns,
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    attrs,
                    ..Element::default()
                };
                if matches!(ev, Event::Start(_)) {
                    stack.push(el);
                } else if let Some(parent) = stack.last_mut() {
                    parent.children.push(el);
                } else {
                    return Some(el);
                }
            }
            Event::End(_) => {
                let done = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Some(done),
                }
            }
            Event::Text(ref t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().ok()?);
                }
            }
            Event::CData(ref t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(t));
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(top) = stack.last_mut() {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => quick_xml::escape::resolve_predefined_entity(&r.decode().ok()?)
                            .unwrap_or_default()
                            .to_string(),
                    };
                    top.text.push_str(&c);
                }
            }
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
}

/// Escapes text content with quick-xml's escape, plus `\r` as a character reference (as PHP's
/// XMLWriter writes it), since an XML reader turns a literal CR LF into LF.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).replace('\r', "&#13;")
}

/// The qualified tag for a property with Nextcloud's prefixes; other namespaces get an inline
/// `xmlns:x1` as Sabre writes them.
fn tag(name: &PropName) -> (String, String) {
    let prefix = match name.ns.as_str() {
        NS_DAV => "d",
        NS_SABRE => "s",
        NS_CALDAV => "cal",
        NS_CS => "cs",
        NS_OC => "oc",
        NS_NC => "nc",
        NS_CARDDAV => "card",
        other => {
            return (
                format!("x1:{}", name.name),
                format!(" xmlns:x1=\"{}\"", escape(other)),
            );
        }
    };
    (format!("{prefix}:{}", name.name), String::new())
}

/// A property value in an answer.
#[derive(Clone, Debug)]
pub enum Value {
    Text(String),
    /// Already-rendered inner XML using the root's prefixes.
    Xml(String),
    Empty,
}

/// One `<d:response>`: properties grouped by their status code.
#[derive(Clone, Debug)]
pub struct Entry {
    pub href: String,
    pub propstats: Vec<(u16, Vec<(PropName, Value)>)>,
}

impl Entry {
    pub fn new(href: String) -> Self {
        Self {
            href,
            propstats: Vec::new(),
        }
    }

    /// Adds a property under a status, keeping one propstat per status.
    pub fn push(&mut self, status: u16, name: PropName, value: Value) {
        match self.propstats.iter_mut().find(|(s, _)| *s == status) {
            Some((_, props)) => props.push((name, value)),
            None => self.propstats.push((status, vec![(name, value)])),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        424 => "Failed Dependency",
        _ => "",
    }
}

/// Renders a 207 body. `bare` holds responses that are only a status (`multiget` misses).
pub fn multistatus(entries: &[Entry], bare: &[(String, u16)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:cal=\"urn:ietf:params:xml:ns:caldav\" xmlns:cs=\"http://calendarserver.org/ns/\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\" xmlns:card=\"urn:ietf:params:xml:ns:carddav\">",
    );
    for e in entries {
        out.push_str("<d:response><d:href>");
        out.push_str(&escape(&e.href));
        out.push_str("</d:href>");
        for (status, props) in &e.propstats {
            out.push_str("<d:propstat><d:prop>");
            for (name, value) in props {
                let (tag, xmlns) = tag(name);
                match value {
                    Value::Text(t) => {
                        out.push_str(&format!("<{tag}{xmlns}>{}</{tag}>", escape(t)));
                    }
                    Value::Xml(x) if !x.is_empty() => {
                        out.push_str(&format!("<{tag}{xmlns}>{x}</{tag}>"));
                    }
                    _ => out.push_str(&format!("<{tag}{xmlns}/>")),
                }
            }
            out.push_str(&format!(
                "</d:prop><d:status>HTTP/1.1 {status} {}</d:status></d:propstat>",
                reason(*status)
            ));
        }
        out.push_str("</d:response>");
    }
    for (href, status) in bare {
        out.push_str(&format!(
            "<d:response><d:href>{}</d:href><d:status>HTTP/1.1 {status} {}</d:status></d:response>",
            escape(href),
            reason(*status)
        ));
    }
    out.push_str("</d:multistatus>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_report_body() {
        let body = br#"<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20250101T000000Z"/></c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"#;
        let root = parse(body).unwrap();
        assert!(root.is(NS_CALDAV, "calendar-query"));
        let prop = root.child(NS_DAV, "prop").unwrap();
        assert_eq!(prop.children.len(), 2);
        let vcal = root
            .child(NS_CALDAV, "filter")
            .and_then(|f| f.child(NS_CALDAV, "comp-filter"))
            .unwrap();
        assert_eq!(vcal.attr("name"), Some("VCALENDAR"));
        let tr = vcal.children[0].child(NS_CALDAV, "time-range").unwrap();
        assert_eq!(tr.attr("start"), Some("20250101T000000Z"));
        assert!(parse(b"<a><b></a>").is_none());
    }

    #[test]
    fn writes_sabres_shapes() {
        let mut e = Entry::new("/remote.php/dav/calendars/a/personal/x.ics".into());
        e.push(
            200,
            PropName::new(NS_DAV, "getetag"),
            Value::Text("\"abc\"".into()),
        );
        e.push(
            200,
            PropName::new(NS_CALDAV, "calendar-data"),
            Value::Text("A\r\nB".into()),
        );
        e.push(404, PropName::new(NS_APPLE, "calendar-color"), Value::Empty);
        let xml = multistatus(&[e], &[]);
        assert!(
            xml.contains("<d:getetag>&quot;abc&quot;</d:getetag>"),
            "{xml}"
        );
        assert!(
            xml.contains("<cal:calendar-data>A&#13;\nB</cal:calendar-data>"),
            "{xml}"
        );
        assert!(xml.contains("<x1:calendar-color xmlns:x1=\"http://apple.com/ns/ical/\"/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status>"), "{xml}");
    }
}
