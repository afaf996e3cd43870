//! The `filter` of `calendar-query` (RFC 4791 §9.7) and `addressbook-query` (RFC 6352 §10.5),
//! read from the request and evaluated as Sabre's `CalendarQueryValidator` and CardDAV
//! plugin do.

use calcard::icalendar::ICalendar;

use super::content::Component;
use super::time::{Range, overlaps, timed_kind};
use super::xml::{Element, NS_CALDAV, NS_CARDDAV};

/// A `text-match`.
#[derive(Clone, Debug)]
pub struct TextMatch {
    pub value: String,
    pub collation: String,
    pub match_type: String,
    pub negate: bool,
}

impl TextMatch {
    fn read(el: &Element, default_collation: &str) -> Result<Self, String> {
        let collation = el
            .attr("collation")
            .unwrap_or(default_collation)
            .to_string();
        if !matches!(
            collation.as_str(),
            "i;octet" | "i;ascii-casemap" | "i;unicode-casemap"
        ) {
            return Err(format!("Collation type: {collation} is not supported"));
        }
        let match_type = el.attr("match-type").unwrap_or("contains").to_string();
        if !matches!(
            match_type.as_str(),
            "contains" | "equals" | "starts-with" | "ends-with"
        ) {
            return Err(format!("Match-type: {match_type} is not supported"));
        }
        Ok(Self {
            value: el.text.clone(),
            collation,
            match_type,
            negate: el.attr("negate-condition") == Some("yes"),
        })
    }

    /// Sabre's `StringUtil::textMatch`, then `negate-condition`.
    pub fn matches(&self, haystack: &str) -> bool {
        let fold = |s: &str| match self.collation.as_str() {
            "i;octet" => s.to_string(),
            "i;ascii-casemap" => s.to_ascii_uppercase(),
            _ => s.to_uppercase(),
        };
        let (h, n) = (fold(haystack), fold(&self.value));
        let hit = match self.match_type.as_str() {
            "equals" => h == n,
            "starts-with" => h.starts_with(&n),
            "ends-with" => h.ends_with(&n),
            _ => h.contains(&n),
        };
        hit != self.negate
    }
}

/// A `param-filter`.
#[derive(Clone, Debug)]
pub struct ParamFilter {
    pub name: String,
    pub not_defined: bool,
    pub text: Option<TextMatch>,
}

impl ParamFilter {
    fn read(el: &Element, ns: &str, collation: &str) -> Result<Self, String> {
        Ok(Self {
            name: required_name(el)?,
            not_defined: el.child(ns, "is-not-defined").is_some(),
            text: el
                .child(ns, "text-match")
                .map(|t| TextMatch::read(t, collation))
                .transpose()?,
        })
    }

    fn matches(&self, prop: &super::content::Property) -> bool {
        let value = prop.param(&self.name);
        if self.not_defined {
            return value.is_none();
        }
        match (value, &self.text) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(t)) => t.matches(v),
        }
    }
}

fn required_name(el: &Element) -> Result<String, String> {
    el.attr("name")
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| format!("The {} element must have a name attribute", el.name))
}

/// A CalDAV `prop-filter`.
#[derive(Clone, Debug)]
pub struct PropFilter {
    pub name: String,
    pub not_defined: bool,
    pub time_range: Option<Range>,
    pub text: Option<TextMatch>,
    pub params: Vec<ParamFilter>,
}

/// A CalDAV `comp-filter`.
#[derive(Clone, Debug)]
pub struct CompFilter {
    pub name: String,
    pub not_defined: bool,
    pub time_range: Option<Range>,
    pub props: Vec<PropFilter>,
    pub comps: Vec<CompFilter>,
}

fn time_range(el: &Element) -> Result<Option<Range>, String> {
    el.child(NS_CALDAV, "time-range")
        .map(|t| Range::parse(t.attr("start"), t.attr("end")))
        .transpose()
}

impl CompFilter {
    /// The `<c:filter>` of a `calendar-query`: one `comp-filter` named VCALENDAR.
    pub fn read_query_filter(filter: Option<&Element>) -> Result<CompFilter, String> {
        let Some(filter) = filter else {
            return Err(
                "The {urn:ietf:params:xml:ns:caldav}filter element is required for this request"
                    .into(),
            );
        };
        let mut comps = filter.children_named(NS_CALDAV, "comp-filter");
        let (Some(top), None) = (comps.next(), comps.next()) else {
            return Err("Only one top-level comp-filter may be defined".into());
        };
        let top = Self::read(top)?;
        if top.name != "VCALENDAR" {
            return Err("Only top-level comp-filters of type VCALENDAR are supported".into());
        }
        Ok(top)
    }

    fn read(el: &Element) -> Result<Self, String> {
        Ok(Self {
            name: required_name(el)?,
            not_defined: el.child(NS_CALDAV, "is-not-defined").is_some(),
            time_range: time_range(el)?,
            props: el
                .children_named(NS_CALDAV, "prop-filter")
                .map(|p| {
                    Ok(PropFilter {
                        name: required_name(p)?,
                        not_defined: p.child(NS_CALDAV, "is-not-defined").is_some(),
                        time_range: time_range(p)?,
                        text: p
                            .child(NS_CALDAV, "text-match")
                            .map(|t| TextMatch::read(t, "i;ascii-casemap"))
                            .transpose()?,
                        params: p
                            .children_named(NS_CALDAV, "param-filter")
                            .map(|f| ParamFilter::read(f, NS_CALDAV, "i;ascii-casemap"))
                            .collect::<Result<_, String>>()?,
                    })
                })
                .collect::<Result<_, String>>()?,
            comps: el
                .children_named(NS_CALDAV, "comp-filter")
                .map(Self::read)
                .collect::<Result<_, String>>()?,
        })
    }

    /// Whether a calendar object (its tree and its calcard reading) passes this VCALENDAR
    /// filter.
    pub fn matches(&self, root: &Component, ical: &ICalendar) -> bool {
        root.name == self.name
            && comps_match(root, &self.comps, ical, true)
            && props_match(root, &self.props)
    }
}

fn comps_match(parent: &Component, filters: &[CompFilter], ical: &ICalendar, top: bool) -> bool {
    for f in filters {
        let mut subs = parent.children_named(&f.name).peekable();
        if f.not_defined {
            if subs.peek().is_some() {
                return false;
            }
            continue;
        }
        if subs.peek().is_none() {
            return false;
        }
        if let Some(range) = &f.time_range {
            // Time ranges are evaluated on the object's (expanded) components; alarms and
            // other nested components have no time range here.
            let hit = top && timed_kind(&f.name).is_some_and(|k| overlaps(ical, &k, range));
            if !hit {
                return false;
            }
        }
        if f.comps.is_empty() && f.props.is_empty() {
            continue;
        }
        if !subs.any(|s| comps_match(s, &f.comps, ical, false) && props_match(s, &f.props)) {
            return false;
        }
    }
    true
}

fn date_in(range: &Range, raw: &str) -> bool {
    let v = raw.trim();
    let parsed = if v.len() == 8 {
        chrono::NaiveDate::parse_from_str(v, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    } else {
        chrono::NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y%m%dT%H%M%S").ok()
    };
    parsed.is_some_and(|t| {
        let t = t.and_utc();
        range.hits(t, t)
    })
}

fn props_match(comp: &Component, filters: &[PropFilter]) -> bool {
    for f in filters {
        let mut props = comp.props_named(&f.name).peekable();
        if f.not_defined {
            if props.peek().is_some() {
                return false;
            }
            continue;
        }
        if props.peek().is_none() {
            return false;
        }
        if f.time_range.is_none() && f.text.is_none() && f.params.is_empty() {
            continue;
        }
        let ok = props.any(|p| {
            f.time_range.as_ref().is_none_or(|r| date_in(r, &p.raw))
                && f.params.iter().all(|pf| pf.matches(p))
                && f.text.as_ref().is_none_or(|t| t.matches(&p.value()))
        });
        if !ok {
            return false;
        }
    }
    true
}

/// A CardDAV `prop-filter`.
#[derive(Clone, Debug)]
pub struct CardPropFilter {
    pub name: String,
    pub not_defined: bool,
    pub all_of: bool,
    pub params: Vec<ParamFilter>,
    pub texts: Vec<TextMatch>,
}

/// The `<card:filter>` of an `addressbook-query`; no filter matches every card.
#[derive(Clone, Debug, Default)]
pub struct CardFilter {
    pub all_of: bool,
    pub props: Vec<CardPropFilter>,
}

impl CardFilter {
    pub fn read(filter: Option<&Element>) -> Result<Self, String> {
        let Some(filter) = filter else {
            // KDE sends none; Sabre then applies no filter.
            return Ok(Self::default());
        };
        Ok(Self {
            all_of: filter.attr("test") == Some("allof"),
            props: filter
                .children_named(NS_CARDDAV, "prop-filter")
                .map(|p| {
                    Ok(CardPropFilter {
                        name: required_name(p)?,
                        not_defined: p.child(NS_CARDDAV, "is-not-defined").is_some(),
                        all_of: p.attr("test") == Some("allof"),
                        params: p
                            .children_named(NS_CARDDAV, "param-filter")
                            .map(|f| ParamFilter::read(f, NS_CARDDAV, "i;unicode-casemap"))
                            .collect::<Result<_, String>>()?,
                        texts: p
                            .children_named(NS_CARDDAV, "text-match")
                            .map(|t| TextMatch::read(t, "i;unicode-casemap"))
                            .collect::<Result<_, String>>()?,
                    })
                })
                .collect::<Result<_, String>>()?,
        })
    }

    /// Sabre's `CardDAV\Plugin::validateFilters`.
    pub fn matches(&self, card: &Component) -> bool {
        if self.props.is_empty() {
            return true;
        }
        for f in &self.props {
            let props: Vec<_> = card.props_named(&f.name).collect();
            let defined = !props.is_empty();
            let success = if f.not_defined {
                !defined
            } else if (f.params.is_empty() && f.texts.is_empty()) || !defined {
                defined
            } else {
                let mut results = Vec::new();
                if !f.params.is_empty() {
                    let one = |pf: &ParamFilter| props.iter().any(|p| pf.matches(p));
                    results.push(if f.all_of {
                        f.params.iter().all(one)
                    } else {
                        f.params.iter().any(one)
                    });
                }
                if !f.texts.is_empty() {
                    let values: Vec<String> = props.iter().map(|p| p.value()).collect();
                    let one = |t: &TextMatch| {
                        let hit = values.iter().any(|v| t.matches_plain(v));
                        hit != t.negate
                    };
                    results.push(if f.all_of {
                        f.texts.iter().all(one)
                    } else {
                        f.texts.iter().any(one)
                    });
                }
                if f.all_of {
                    results.iter().all(|r| *r)
                } else {
                    results.iter().any(|r| *r)
                }
            };
            if !self.all_of && success {
                return true;
            }
            if self.all_of && !success {
                return false;
            }
        }
        self.all_of
    }
}

impl TextMatch {
    /// The match without `negate-condition` (CardDAV negates after trying every value).
    fn matches_plain(&self, haystack: &str) -> bool {
        self.matches(haystack) != self.negate
    }
}

#[cfg(test)]
mod tests {
    use super::super::content::parse;
    use super::super::xml;
    use super::*;

    fn cal_filter(inner: &str) -> CompFilter {
        let body = format!(
            r#"<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter><c:comp-filter name="VCALENDAR">{inner}</c:comp-filter></c:filter></c:calendar-query>"#
        );
        let root = xml::parse(body.as_bytes()).unwrap();
        CompFilter::read_query_filter(root.child(NS_CALDAV, "filter")).unwrap()
    }

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:abc-123\r\nDTSTART:20250301T100000Z\r\nDTEND:20250301T110000Z\r\nSUMMARY:Team sync\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn calendar_filters() {
        let tree = parse(EVENT).unwrap();
        let ical = ICalendar::parse(EVENT).unwrap();
        let check = |inner: &str| cal_filter(inner).matches(&tree, &ical);
        assert!(check(r#"<c:comp-filter name="VEVENT"/>"#));
        assert!(!check(r#"<c:comp-filter name="VTODO"/>"#));
        assert!(check(
            r#"<c:comp-filter name="VEVENT"><c:prop-filter name="UID"><c:text-match collation="i;octet">abc-123</c:text-match></c:prop-filter></c:comp-filter>"#
        ));
        assert!(!check(
            r#"<c:comp-filter name="VEVENT"><c:prop-filter name="UID"><c:text-match collation="i;octet">ABC-123</c:text-match></c:prop-filter></c:comp-filter>"#
        ));
        assert!(check(
            r#"<c:comp-filter name="VEVENT"><c:prop-filter name="SUMMARY"><c:text-match negate-condition="yes">lunch</c:text-match></c:prop-filter></c:comp-filter>"#
        ));
        assert!(check(
            r#"<c:comp-filter name="VEVENT"><c:time-range start="20250301T103000Z" end="20250301T120000Z"/></c:comp-filter>"#
        ));
        assert!(!check(
            r#"<c:comp-filter name="VEVENT"><c:time-range start="20250301T110000Z" end="20250301T120000Z"/></c:comp-filter>"#
        ));
        assert!(check(
            r#"<c:comp-filter name="VTODO"><c:is-not-defined/></c:comp-filter>"#
        ));
    }

    #[test]
    fn card_filters() {
        let card = parse("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Jane Doe\r\nitem1.EMAIL;TYPE=work:jane@example.com\r\nEND:VCARD\r\n").unwrap();
        let read = |inner: &str| {
            let body = format!(
                r#"<card:addressbook-query xmlns:card="urn:ietf:params:xml:ns:carddav">{inner}</card:addressbook-query>"#
            );
            let root = xml::parse(body.as_bytes()).unwrap();
            CardFilter::read(root.child(NS_CARDDAV, "filter")).unwrap()
        };
        assert!(read("").matches(&card));
        assert!(read(r#"<card:filter test="anyof"><card:prop-filter name="TEL"><card:text-match>jane</card:text-match></card:prop-filter><card:prop-filter name="EMAIL"><card:text-match>JANE@</card:text-match></card:prop-filter></card:filter>"#).matches(&card));
        assert!(!read(r#"<card:filter test="allof"><card:prop-filter name="TEL"><card:text-match>jane</card:text-match></card:prop-filter><card:prop-filter name="EMAIL"><card:text-match>JANE@</card:text-match></card:prop-filter></card:filter>"#).matches(&card));
        assert!(read(r#"<card:filter><card:prop-filter name="UID"><card:text-match collation="i;octet" match-type="equals">u1</card:text-match></card:prop-filter></card:filter>"#).matches(&card));
        assert!(!read(r#"<card:filter><card:prop-filter name="UID"><card:text-match collation="i;octet" match-type="equals">u</card:text-match></card:prop-filter></card:filter>"#).matches(&card));
        assert!(read(r#"<card:filter><card:prop-filter name="EMAIL"><card:param-filter name="TYPE"><card:text-match>WORK</card:text-match></card:param-filter></card:prop-filter></card:filter>"#).matches(&card));
    }
}
