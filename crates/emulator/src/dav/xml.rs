//! WebDAV XML: parsing PROPFIND bodies and writing Sabre-style multistatus and error documents.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use quick_xml::escape::escape as xml_escape;

pub const NS_DAV: &str = "DAV:";
pub const NS_OC: &str = "http://owncloud.org/ns";
pub const NS_NC: &str = "http://nextcloud.org/ns";

/// A property name: namespace URI + local name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PropName {
    pub ns: String,
    pub name: String,
}

impl PropName {
    pub fn new(ns: &str, name: &str) -> Self {
        Self {
            ns: ns.to_string(),
            name: name.to_string(),
        }
    }

    /// `d:getetag`-style qualified name with the prefixes Nextcloud declares; other namespaces
    /// get an inline `xmlns:x`.
    fn open_tag(&self) -> (String, String) {
        match self.ns.as_str() {
            NS_DAV => (format!("d:{}", self.name), String::new()),
            NS_OC => (format!("oc:{}", self.name), String::new()),
            NS_NC => (format!("nc:{}", self.name), String::new()),
            "http://sabredav.org/ns" => (format!("s:{}", self.name), String::new()),
            ns => (
                format!("x1:{}", self.name),
                format!(" xmlns:x1=\"{}\"", xml_escape(ns)),
            ),
        }
    }
}

/// What a PROPFIND asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum PropfindRequest {
    AllProp,
    PropName,
    Props(Vec<PropName>),
}

/// Parses a PROPFIND body; an empty body means `allprop`. `None` for malformed XML.
pub fn parse_propfind(body: &[u8]) -> Option<PropfindRequest> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Some(PropfindRequest::AllProp);
    }
    let mut reader = NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut depth_in_prop: Option<usize> = None;
    let mut depth = 0usize;
    let mut props = Vec::new();
    let mut kind = None;
    loop {
        let (res, ev) = reader.read_resolved_event_into(&mut buf).ok()?;
        let ns = match res {
            ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(e) | Event::Empty(e) if false => {
                let _ = e;
            }
            Event::Start(e) => {
                depth += 1;
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                handle(
                    &ns,
                    &local,
                    depth,
                    &mut depth_in_prop,
                    &mut props,
                    &mut kind,
                );
            }
            Event::Empty(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                handle(
                    &ns,
                    &local,
                    depth + 1,
                    &mut depth_in_prop,
                    &mut props,
                    &mut kind,
                );
                if depth_in_prop == Some(depth + 1) {
                    depth_in_prop = None;
                }
            }
            Event::End(_) => {
                if depth_in_prop == Some(depth) {
                    depth_in_prop = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    match kind {
        Some(k) => Some(k),
        None => Some(PropfindRequest::Props(props)),
    }
}

fn handle(
    ns: &str,
    local: &str,
    depth: usize,
    depth_in_prop: &mut Option<usize>,
    props: &mut Vec<PropName>,
    kind: &mut Option<PropfindRequest>,
) {
    match *depth_in_prop {
        Some(d) if depth == d + 1 => props.push(PropName::new(ns, local)),
        Some(_) => {}
        None if ns == NS_DAV && local == "prop" => *depth_in_prop = Some(depth),
        None if ns == NS_DAV && local == "allprop" => *kind = Some(PropfindRequest::AllProp),
        None if ns == NS_DAV && local == "propname" => *kind = Some(PropfindRequest::PropName),
        None => {}
    }
}

/// A property value to write.
#[derive(Clone, Debug)]
pub enum PropValue {
    Text(String),
    /// Pre-rendered inner XML (e.g. `<d:collection/>`).
    Xml(String),
    Empty,
}

/// One `<d:response>`: found props (200) and missing ones (404).
pub struct ResponseEntry {
    pub href: String,
    pub found: Vec<(PropName, PropValue)>,
    pub missing: Vec<PropName>,
}

/// Renders a 207 multistatus as Sabre does inside Nextcloud.
pub fn multistatus(entries: &[ResponseEntry]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\">",
    );
    for e in entries {
        out.push_str("<d:response><d:href>");
        out.push_str(&xml_escape(&e.href));
        out.push_str("</d:href>");
        if !e.found.is_empty() {
            out.push_str("<d:propstat><d:prop>");
            for (name, value) in &e.found {
                let (tag, xmlns) = name.open_tag();
                match value {
                    PropValue::Empty => out.push_str(&format!("<{tag}{xmlns}/>")),
                    PropValue::Text(t) => {
                        out.push_str(&format!("<{tag}{xmlns}>{}</{tag}>", xml_escape(t)))
                    }
                    PropValue::Xml(x) if x.is_empty() => out.push_str(&format!("<{tag}{xmlns}/>")),
                    PropValue::Xml(x) => out.push_str(&format!("<{tag}{xmlns}>{x}</{tag}>")),
                }
            }
            out.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
        }
        if !e.missing.is_empty() {
            out.push_str("<d:propstat><d:prop>");
            for name in &e.missing {
                let (tag, xmlns) = name.open_tag();
                out.push_str(&format!("<{tag}{xmlns}/>"));
            }
            out.push_str("</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>");
        }
        out.push_str("</d:response>");
    }
    out.push_str("</d:multistatus>\n");
    out
}

/// A Sabre exception document (`<d:error>` with `s:exception` and `s:message`).
pub fn error_document(exception: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\">\n  <s:exception>{}</s:exception>\n  <s:message>{}</s:message>\n</d:error>\n",
        xml_escape(exception),
        xml_escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prop_list() {
        let body = br#"<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
  <d:prop><d:getetag/><oc:fileid/><d:resourcetype></d:resourcetype></d:prop>
</d:propfind>"#;
        let req = parse_propfind(body).unwrap();
        assert_eq!(
            req,
            PropfindRequest::Props(vec![
                PropName::new(NS_DAV, "getetag"),
                PropName::new(NS_OC, "fileid"),
                PropName::new(NS_DAV, "resourcetype"),
            ])
        );
        assert_eq!(parse_propfind(b"").unwrap(), PropfindRequest::AllProp);
        assert_eq!(
            parse_propfind(br#"<propfind xmlns="DAV:"><allprop/></propfind>"#).unwrap(),
            PropfindRequest::AllProp
        );
        assert!(parse_propfind(b"<d:propfind xmlns:d=\"DAV:\"><d:prop>").is_some());
    }
}
