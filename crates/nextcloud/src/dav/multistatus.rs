//! Parsing of WebDAV `207 Multi-Status` answers (PROPFIND, REPORT, SEARCH), shared by files,
//! calendars, contacts and everything else spoken over DAV.
//!
//! Properties are keyed by namespace + local name, so `d:getetag` and `D:getetag` are the
//! same. Only properties reported with a 2xx status are kept: a `404` propstat means "this
//! resource has no such property".

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::{Error, Result};

pub const DAV: &str = "DAV:";
pub const OC: &str = "http://owncloud.org/ns";
pub const NC: &str = "http://nextcloud.org/ns";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";

/// A namespace-qualified XML name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PropName {
    pub namespace: String,
    pub local: String,
}

impl PropName {
    pub fn new(namespace: &str, local: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            local: local.to_string(),
        }
    }
}

/// A child element of a property (`<d:collection/>` in `resourcetype`, `<c:comp name=..>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: PropName,
    pub attributes: Vec<(String, String)>,
    pub text: String,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One property's value: its text (all text inside, unescaped) and its direct children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prop {
    pub text: String,
    pub children: Vec<Element>,
}

/// One `<d:response>`: a resource and its properties.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The href as sent (percent-encoded).
    pub href: String,
    pub props: BTreeMap<PropName, Prop>,
}

impl Response {
    /// The href percent-decoded.
    pub fn path(&self) -> String {
        percent_decode_str(&self.href)
            .decode_utf8_lossy()
            .into_owned()
    }

    pub fn prop(&self, namespace: &str, local: &str) -> Option<&Prop> {
        self.props.get(&PropName::new(namespace, local))
    }

    /// Text of a property, if present and non-empty.
    pub fn text(&self, namespace: &str, local: &str) -> Option<&str> {
        self.prop(namespace, local)
            .map(|p| p.text.as_str())
            .filter(|t| !t.is_empty())
    }

    /// Whether `resourcetype` contains the given element (e.g. DAV: `collection`).
    pub fn has_type(&self, namespace: &str, local: &str) -> bool {
        self.prop(DAV, "resourcetype").is_some_and(|p| {
            p.children
                .iter()
                .any(|c| c.name.namespace == namespace && c.name.local == local)
        })
    }

    pub fn is_collection(&self) -> bool {
        self.has_type(DAV, "collection")
    }

    /// `getetag` without its quotes.
    pub fn etag(&self) -> Option<String> {
        self.text(DAV, "getetag").map(|e| {
            e.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        })
    }
}

fn qname(ns: &ResolveResult<'_>, local: &[u8]) -> PropName {
    let namespace = match ns {
        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
        _ => String::new(),
    };
    PropName {
        namespace,
        local: String::from_utf8_lossy(local).into_owned(),
    }
}

/// Where the parser is inside a response.
enum Level {
    Outside,
    Response,
    Href,
    Propstat,
    Prop,
    /// Inside one property at this nesting depth below `<prop>`.
    Property(usize),
    Status,
    /// Inside another child of `<d:response>` (a response-level `<d:status>`, `<d:error>`,
    /// `<d:responsedescription>`) at this depth; skipped.
    Other(usize),
}

/// Parses a 207 body into its responses.
pub fn parse_multistatus(xml: &str) -> Result<Vec<Response>> {
    let mut reader = NsReader::from_str(xml);
    let mut out = Vec::new();
    let mut current = Response::default();
    let mut pending: Vec<(PropName, Prop)> = Vec::new();
    let mut property: Option<(PropName, Prop)> = None;
    let mut child: Option<Element> = None;
    let mut status = String::new();
    let mut level = Level::Outside;
    let bad = |e: quick_xml::Error| Error::InvalidResponse(format!("DAV XML: {e}"));

    loop {
        let (ns, event) = reader.read_resolved_event().map_err(bad)?;
        let self_closing = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = qname(&ns, e.local_name().as_ref());
                let attributes = || {
                    e.attributes()
                        .flatten()
                        .map(|a| {
                            (
                                String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                                a.unescape_value()
                                    .map(|v| v.into_owned())
                                    .unwrap_or_default(),
                            )
                        })
                        .collect()
                };
                let dav = name.namespace == DAV;
                level = match level {
                    Level::Property(depth) => {
                        // A direct child of the property: remember it, with its attributes.
                        if depth == 0 {
                            child = Some(Element {
                                name,
                                attributes: attributes(),
                                text: String::new(),
                            });
                            if self_closing {
                                close_child(&mut child, &mut property);
                            }
                        }
                        if self_closing {
                            Level::Property(depth)
                        } else {
                            Level::Property(depth + 1)
                        }
                    }
                    Level::Prop => {
                        property = Some((name, Prop::default()));
                        if self_closing {
                            close_property(&mut property, &mut child, &mut pending);
                            Level::Prop
                        } else {
                            Level::Property(0)
                        }
                    }
                    Level::Outside if dav && name.local == "response" && !self_closing => {
                        current = Response::default();
                        Level::Response
                    }
                    Level::Response if dav && name.local == "href" && !self_closing => Level::Href,
                    Level::Response if dav && name.local == "propstat" && !self_closing => {
                        pending.clear();
                        status.clear();
                        Level::Propstat
                    }
                    Level::Propstat if dav && name.local == "prop" && !self_closing => Level::Prop,
                    Level::Propstat if dav && name.local == "status" && !self_closing => {
                        Level::Status
                    }
                    Level::Response if !self_closing => Level::Other(0),
                    Level::Other(depth) if !self_closing => Level::Other(depth + 1),
                    // Anything else (d:multistatus, d:responsedescription, ...) is skipped.
                    other => other,
                };
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                let text = event_text(&event).map_err(bad)?;
                append_text(
                    &level,
                    &mut current,
                    &mut property,
                    &mut child,
                    &mut status,
                    &text,
                );
            }
            Event::End(_) => {
                level = match level {
                    Level::Property(0) => {
                        close_property(&mut property, &mut child, &mut pending);
                        Level::Prop
                    }
                    Level::Property(depth) => {
                        if depth == 1 {
                            close_child(&mut child, &mut property);
                        }
                        Level::Property(depth - 1)
                    }
                    Level::Status | Level::Prop => Level::Propstat,
                    Level::Propstat => {
                        if is_success(&status) {
                            current.props.extend(pending.drain(..));
                        }
                        Level::Response
                    }
                    Level::Href | Level::Other(0) => Level::Response,
                    Level::Other(depth) => Level::Other(depth - 1),
                    Level::Response => {
                        current.href = current.href.trim().to_string();
                        out.push(std::mem::take(&mut current));
                        Level::Outside
                    }
                    Level::Outside => Level::Outside,
                };
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// The character data of a text, CDATA or entity-reference event, unescaped.
pub(crate) fn event_text(event: &Event<'_>) -> std::result::Result<String, quick_xml::Error> {
    Ok(match event {
        Event::Text(t) => t.decode()?.into_owned(),
        Event::CData(t) => String::from_utf8_lossy(t).into_owned(),
        Event::GeneralRef(r) => match r.resolve_char_ref()? {
            Some(c) => c.to_string(),
            None => quick_xml::escape::resolve_predefined_entity(&r.decode()?)
                .unwrap_or_default()
                .to_string(),
        },
        _ => String::new(),
    })
}

fn close_child(child: &mut Option<Element>, property: &mut Option<(PropName, Prop)>) {
    if let (Some(c), Some((_, p))) = (child.take(), property.as_mut()) {
        p.children.push(c);
    }
}

fn close_property(
    property: &mut Option<(PropName, Prop)>,
    child: &mut Option<Element>,
    pending: &mut Vec<(PropName, Prop)>,
) {
    close_child(child, property);
    if let Some((name, mut prop)) = property.take() {
        prop.text = prop.text.trim().to_string();
        pending.push((name, prop));
    }
}

fn append_text(
    level: &Level,
    current: &mut Response,
    property: &mut Option<(PropName, Prop)>,
    child: &mut Option<Element>,
    status: &mut String,
    text: &str,
) {
    match level {
        Level::Href => current.href.push_str(text),
        Level::Status => status.push_str(text),
        Level::Property(depth) => {
            if let Some((_, p)) = property.as_mut() {
                p.text.push_str(text);
            }
            if *depth >= 1
                && let Some(c) = child.as_mut()
            {
                c.text.push_str(text);
            }
        }
        _ => {}
    }
}

/// `HTTP/1.1 200 OK` and other 2xx lines.
fn is_success(status: &str) -> bool {
    status
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns" xmlns:cal="urn:ietf:params:xml:ns:caldav">
 <d:response>
  <d:href>/remote.php/dav/files/alice/My%20Docs/</d:href>
  <d:propstat>
   <d:prop>
    <d:getetag>&quot;65f1a&quot;</d:getetag>
    <d:resourcetype><d:collection/></d:resourcetype>
    <oc:fileid>42</oc:fileid>
    <d:displayname>Tom &amp; Jerry</d:displayname>
    <cal:supported-calendar-component-set><cal:comp name="VEVENT"/><cal:comp name="VTODO"/></cal:supported-calendar-component-set>
   </d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
  <d:propstat>
   <d:prop><d:getcontentlength/></d:prop>
   <d:status>HTTP/1.1 404 Not Found</d:status>
  </d:propstat>
 </d:response>
 <d:response>
  <d:href>/remote.php/dav/files/alice/My%20Docs/a.txt</d:href>
  <d:propstat>
   <d:prop><d:getcontentlength>12</d:getcontentlength><d:resourcetype/><cal:calendar-data><![CDATA[BEGIN:VCALENDAR]]></cal:calendar-data></d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
 </d:response>
</d:multistatus>"#;

    #[test]
    fn response_level_elements_are_skipped() {
        let xml = r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:response><d:href>/a/1</d:href><d:propstat><d:prop><oc:id>1</oc:id></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:status>HTTP/1.1 200 OK</d:status><d:error><d:x><d:y/></d:x></d:error></d:response><d:response><d:href>/a/2</d:href><d:propstat><d:prop><oc:id>2</oc:id></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        let rs = parse_multistatus(xml).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].text(OC, "id"), Some("1"));
        assert_eq!(rs[1].href, "/a/2");
        assert_eq!(rs[1].text(OC, "id"), Some("2"));
    }

    #[test]
    fn parses_props_children_and_statuses() {
        let rs = parse_multistatus(SAMPLE).unwrap();
        assert_eq!(rs.len(), 2);
        let dir = &rs[0];
        assert_eq!(dir.path(), "/remote.php/dav/files/alice/My Docs/");
        assert_eq!(dir.etag().as_deref(), Some("65f1a"));
        assert!(dir.is_collection());
        assert_eq!(dir.text(OC, "fileid"), Some("42"));
        assert_eq!(dir.text(DAV, "displayname"), Some("Tom & Jerry"));
        assert!(
            dir.prop(DAV, "getcontentlength").is_none(),
            "404 propstat dropped"
        );
        let comps: Vec<_> = dir
            .prop(CALDAV, "supported-calendar-component-set")
            .unwrap()
            .children
            .iter()
            .filter_map(|c| c.attribute("name"))
            .collect();
        assert_eq!(comps, ["VEVENT", "VTODO"]);
        let file = &rs[1];
        assert!(!file.is_collection());
        assert_eq!(file.text(DAV, "getcontentlength"), Some("12"));
        assert_eq!(file.text(CALDAV, "calendar-data"), Some("BEGIN:VCALENDAR"));
    }
}
