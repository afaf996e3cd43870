//! iCalendar and vCard objects as a tree of components and content lines: what the built-in
//! CalDAV/CardDAV needs to validate an upload and to evaluate `prop-filter`/`text-match`
//! (time, recurrence and zones come from `calcard`).

/// One unfolded content line.
#[derive(Clone, Debug)]
pub struct Property {
    /// Upper-case name without its group (`item1.EMAIL` is `EMAIL`).
    pub name: String,
    /// Upper-case parameter names with their values (quotes removed).
    pub params: Vec<(String, String)>,
    /// The value as written (escaped).
    pub raw: String,
}

impl Property {
    /// The value as Sabre's `getValue()` gives it: unescaped text, or the raw value for
    /// structured properties with several parts (N, ADR, ...).
    pub fn value(&self) -> String {
        if matches!(
            self.name.as_str(),
            "N" | "ADR" | "ORG" | "GENDER" | "CLIENTPIDMAP" | "REQUEST-STATUS"
        ) && split_unescaped(&self.raw, ';').len() > 1
        {
            return self.raw.clone();
        }
        unescape(&self.raw)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A component (`VCALENDAR`, `VEVENT`, `VCARD`, ...) with its lines and sub-components.
#[derive(Clone, Debug, Default)]
pub struct Component {
    pub name: String,
    pub props: Vec<Property>,
    pub children: Vec<Component>,
}

impl Component {
    pub fn props_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> {
        self.props
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn prop(&self, name: &str) -> Option<&Property> {
        self.props
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Why a text is not a well-formed object.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        if !line.trim().is_empty() {
            out.push(line.to_string());
        }
    }
    out
}

fn parse_line(line: &str) -> Result<Property, ParseError> {
    // The value starts after the first ':' outside a quoted parameter value.
    let mut in_quotes = false;
    let mut split = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                split = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(split) = split else {
        return Err(ParseError(format!("Invalid line: {line}")));
    };
    let head = &line[..split];
    let mut parts = split_outside_quotes(head).into_iter();
    let full_name = parts.next().unwrap_or("");
    let name = full_name.rsplit('.').next().unwrap_or(full_name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ParseError(format!("Invalid property name in line: {line}")));
    }
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), v.trim_matches('"').to_string()),
            None => (p.to_ascii_uppercase(), String::new()),
        })
        .collect();
    Ok(Property {
        name: name.to_ascii_uppercase(),
        params,
        raw: line[split + 1..].to_string(),
    })
}

/// Parses one object (its root component, e.g. `VCALENDAR` or `VCARD`).
pub fn parse(text: &str) -> Result<Component, ParseError> {
    let mut stack: Vec<Component> = Vec::new();
    let mut root = None;
    for line in unfold(text) {
        if root.is_some() {
            return Err(ParseError("Data found after the end of the object".into()));
        }
        let p = parse_line(&line)?;
        match p.name.as_str() {
            "BEGIN" => stack.push(Component {
                name: p.raw.trim().to_ascii_uppercase(),
                ..Component::default()
            }),
            "END" => {
                let Some(done) = stack.pop() else {
                    return Err(ParseError(format!("Unexpected END:{}", p.raw)));
                };
                if !done.name.eq_ignore_ascii_case(p.raw.trim()) {
                    return Err(ParseError(format!(
                        "Invalid MimeDir file. expected: \"END:{}\" got: \"END:{}\"",
                        done.name,
                        p.raw.trim()
                    )));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            _ => match stack.last_mut() {
                Some(c) => c.props.push(p),
                None => {
                    return Err(ParseError(
                        "This parser only supports VCARD and VCALENDAR files".into(),
                    ));
                }
            },
        }
    }
    if let Some(open) = stack.last() {
        return Err(ParseError(format!(
            "Invalid MimeDir file. Unexpected end of object, END:{} missing",
            open.name
        )));
    }
    root.ok_or_else(|| ParseError("Document is empty".into()))
}

/// Splits a line's name and parameters at `;` outside quoted parameter values.
fn split_outside_quotes(head: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in head.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&head[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&head[start..]);
    out
}

/// Splits at `sep` where it is not escaped with a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// RFC 5545/6350 TEXT unescaping.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_tree_and_reads_values() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Lunch\\, then\r\n  coffee\r\nATTENDEE;CN=\"Doe; Jane\":mailto:j@x\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let cal = parse(text).unwrap();
        assert_eq!(cal.name, "VCALENDAR");
        let ev = cal.children_named("VEVENT").next().unwrap();
        assert_eq!(ev.prop("summary").unwrap().value(), "Lunch, then coffee");
        assert_eq!(ev.prop("ATTENDEE").unwrap().param("cn"), Some("Doe; Jane"));
        assert_eq!(ev.children.len(), 1);
        let card =
            parse("BEGIN:VCARD\nVERSION:3.0\nitem1.EMAIL:a@b\nN:Doe;Jane;;;\nEND:VCARD\n").unwrap();
        assert_eq!(card.prop("EMAIL").unwrap().value(), "a@b");
        assert_eq!(card.prop("N").unwrap().value(), "Doe;Jane;;;");
    }

    #[test]
    fn malformed_objects_are_refused() {
        assert!(parse("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n").is_err());
        assert!(parse("BEGIN:VCALENDAR\r\nno colon\r\nEND:VCALENDAR\r\n").is_err());
        assert!(parse("hello").is_err());
        assert!(parse("").is_err());
    }
}
