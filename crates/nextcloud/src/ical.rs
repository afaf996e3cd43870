//! Lossless editing of iCalendar (RFC 5545) and vCard (RFC 6350) text.
//!
//! Reading meaning (time zones, recurrence expansion) is done with the `calcard` library; this
//! module keeps the resource as its content lines, exactly as the server sent them, so a tool
//! that changes SUMMARY rewrites that one line and every other line (X- properties, parameters
//! in their original order and case, line folding) goes back byte for byte.

use std::fmt::Write as _;

/// One logical content line: the text as received (folded, without the final CRLF) and its
/// unfolded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    raw: String,
    unfolded: String,
}

impl Line {
    fn new(raw: String) -> Self {
        let unfolded = unfold(&raw);
        Self { raw, unfolded }
    }

    /// The line as sent, with its original folding.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Property name in upper case, without a vCard group (`item1.EMAIL` → `EMAIL`).
    pub fn name(&self) -> String {
        let head = self.unfolded.split([';', ':']).next().unwrap_or_default();
        let name = head.rsplit('.').next().unwrap_or(head);
        name.to_ascii_uppercase()
    }

    /// `(name, value)` pairs of the parameters; quotes removed, names upper-cased.
    pub fn params(&self) -> Vec<(String, String)> {
        let (head, _) = split_value(&self.unfolded);
        let mut out = Vec::new();
        for part in split_unquoted(head, ';').into_iter().skip(1) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            out.push((k.to_ascii_uppercase(), unquote(v)));
        }
        out
    }

    /// First value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value exactly as written (still escaped).
    pub fn raw_value(&self) -> &str {
        split_value(&self.unfolded).1
    }

    /// The value as text, with `\n`, `\,`, `\;` and `\\` unescaped.
    pub fn text(&self) -> String {
        unescape(self.raw_value())
    }

    /// A comma-separated text list (CATEGORIES, NICKNAME), unescaped.
    pub fn text_list(&self) -> Vec<String> {
        split_escaped(self.raw_value(), ',')
            .into_iter()
            .map(|s| unescape(&s))
            .filter(|s| !s.trim().is_empty())
            .collect()
    }

    /// A structured value (N, ADR, ORG): `;`-separated components, unescaped.
    pub fn components(&self) -> Vec<String> {
        split_escaped(self.raw_value(), ';')
            .into_iter()
            .map(|s| unescape(&s))
            .collect()
    }
}

/// Splits `NAME;PARAMS:value` at the first colon outside quotes.
fn split_value(line: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return (&line[..i], &line[i + 1..]),
            _ => {}
        }
    }
    (line, "")
}

fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// Splits at unescaped separators, keeping escapes for [`unescape`].
fn split_escaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let last = out.last_mut().expect("never empty");
            last.push(c);
            if let Some(n) = chars.next() {
                last.push(n);
            }
        } else if c == sep {
            out.push(String::new());
        } else {
            out.last_mut().expect("never empty").push(c);
        }
    }
    out
}

fn unquote(v: &str) -> String {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

fn unfold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for (i, part) in raw.split("\r\n").enumerate() {
        if i == 0 {
            out.push_str(part);
        } else {
            out.push_str(part.get(1..).unwrap_or_default());
        }
    }
    out
}

/// Undoes RFC 5545/6350 text escaping.
pub fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes a TEXT value.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Builds one folded content line. `value` must already be escaped as its type requires
/// (use [`escape`] for text); parameter values are quoted when they need it.
pub fn prop(name: &str, params: &[(&str, &str)], value: &str) -> String {
    let mut line = String::from(name);
    for (k, v) in params {
        let v = v.replace('"', "'");
        if v.contains([':', ';', ',']) || v.contains(' ') {
            let _ = write!(line, ";{k}=\"{v}\"");
        } else {
            let _ = write!(line, ";{k}={v}");
        }
    }
    line.push(':');
    line.push_str(value);
    fold(&line)
}

/// Like [`prop`] with one parameter that has several values (vCard `TYPE=WORK,FAX`): the
/// values are joined with commas, each quoted only if it needs it, so readers see a list
/// rather than one value `"WORK,FAX"`. No parameter when `values` is empty.
pub fn prop_list_param(name: &str, param: &str, values: &[String], value: &str) -> String {
    let mut line = String::from(name);
    if !values.is_empty() {
        let _ = write!(line, ";{param}=");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let v = v.replace('"', "'");
            if v.contains([':', ';', ',', ' ']) {
                let _ = write!(line, "\"{v}\"");
            } else {
                line.push_str(&v);
            }
        }
    }
    line.push(':');
    line.push_str(value);
    fold(&line)
}

/// Folds at 75 octets without splitting a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 74 * 3);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out
}

/// A component's place in the document: the indexes of its BEGIN and END lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub begin: usize,
    pub end: usize,
}

/// An iCalendar or vCard resource as content lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    lines: Vec<Line>,
}

impl Document {
    /// Splits text into logical lines. Accepts LF or CRLF line ends; continuation lines are
    /// kept with the line they belong to.
    pub fn parse(text: &str) -> Self {
        let mut lines: Vec<Line> = Vec::new();
        let mut current: Option<String> = None;
        for physical in text.split('\n') {
            let physical = physical.strip_suffix('\r').unwrap_or(physical);
            if physical.starts_with([' ', '\t'])
                && let Some(cur) = current.as_mut()
            {
                cur.push_str("\r\n");
                cur.push_str(physical);
                continue;
            }
            if let Some(done) = current.take() {
                lines.push(Line::new(done));
            }
            if !physical.is_empty() {
                current = Some(physical.to_string());
            }
        }
        if let Some(done) = current {
            lines.push(Line::new(done));
        }
        Self { lines }
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Top-level components of a kind below the outer VCALENDAR (or the VCARD itself).
    pub fn components(&self, kind: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = None;
        for (i, l) in self.lines.iter().enumerate() {
            let name = l.name();
            if name == "BEGIN" {
                let is_kind = l.raw_value().eq_ignore_ascii_case(kind);
                let top = if kind.eq_ignore_ascii_case("VCARD") {
                    depth == 0
                } else {
                    depth == 1
                };
                if is_kind && top {
                    start = Some(i);
                }
                depth += 1;
            } else if name == "END" {
                depth = depth.saturating_sub(1);
                if l.raw_value().eq_ignore_ascii_case(kind)
                    && let Some(begin) = start.take()
                {
                    out.push(Span { begin, end: i });
                }
            }
        }
        out
    }

    /// Lines that are direct properties of the component (not of nested ones like VALARM).
    pub fn props(&self, span: Span) -> Vec<usize> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        for i in span.begin + 1..span.end {
            match self.lines[i].name().as_str() {
                "BEGIN" => depth += 1,
                "END" => depth = depth.saturating_sub(1),
                _ if depth == 0 => out.push(i),
                _ => {}
            }
        }
        out
    }

    /// The first direct property of that name.
    pub fn get(&self, span: Span, name: &str) -> Option<&Line> {
        self.props(span)
            .into_iter()
            .map(|i| &self.lines[i])
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }

    /// Every direct property of that name.
    pub fn get_all(&self, span: Span, name: &str) -> Vec<&Line> {
        self.props(span)
            .into_iter()
            .map(|i| &self.lines[i])
            .filter(|l| l.name().eq_ignore_ascii_case(name))
            .collect()
    }

    /// Nested components of a kind inside `span` (VALARM in a VEVENT).
    pub fn children(&self, span: Span, kind: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = None;
        for i in span.begin + 1..span.end {
            let l = &self.lines[i];
            match l.name().as_str() {
                "BEGIN" => {
                    if depth == 0 && l.raw_value().eq_ignore_ascii_case(kind) {
                        start = Some(i);
                    }
                    depth += 1;
                }
                "END" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0
                        && let Some(begin) = start.take()
                    {
                        out.push(Span { begin, end: i });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Replaces every direct property called `name` with `new_lines` (already built with
    /// [`prop`]), in the place of the first old one, else before the first nested component
    /// or the END line. Returns the component's new span. Other lines are untouched.
    pub fn set(&mut self, span: Span, name: &str, new_lines: Vec<String>) -> Span {
        let old: Vec<usize> = self
            .props(span)
            .into_iter()
            .filter(|&i| self.lines[i].name().eq_ignore_ascii_case(name))
            .collect();
        let at = old.first().copied().unwrap_or_else(|| {
            (span.begin + 1..span.end)
                .find(|&i| self.lines[i].name() == "BEGIN")
                .unwrap_or(span.end)
        });
        let removed = old.len();
        for &i in old.iter().rev() {
            self.lines.remove(i);
        }
        let added = new_lines.len();
        for (k, l) in new_lines.into_iter().enumerate() {
            self.lines.insert(at + k, Line::new(l));
        }
        Span {
            begin: span.begin,
            end: span.end + added - removed,
        }
    }

    /// Removes nested components of a kind; returns the new span.
    pub fn remove_children(&mut self, span: Span, kind: &str) -> Span {
        let mut span = span;
        while let Some(child) = self.children(span, kind).first().copied() {
            self.lines.drain(child.begin..=child.end);
            span.end -= child.end - child.begin + 1;
        }
        span
    }

    /// Adds lines (e.g. a VALARM block) just before the component's END.
    pub fn append(&mut self, span: Span, new_lines: Vec<String>) -> Span {
        let n = new_lines.len();
        for (k, l) in new_lines.into_iter().enumerate() {
            self.lines.insert(span.end + k, Line::new(l));
        }
        Span {
            begin: span.begin,
            end: span.end + n,
        }
    }

    /// Inserts raw lines (a VTIMEZONE block) at an index.
    pub fn insert(&mut self, at: usize, text: &str) {
        let block = Document::parse(text);
        for (k, l) in block.lines.into_iter().enumerate() {
            self.lines.insert(at + k, l);
        }
    }

    /// The resource as text, CRLF line ends.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&l.raw);
            out.push_str("\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_lines_survive_byte_for_byte() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nX-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-TITLE=\"a:b\":geo:52.5,13.4\r\nSUMMARY:Old\r\nDESCRIPTION:long\r\n  folded\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let mut doc = Document::parse(text);
        let span = doc.components("VEVENT")[0];
        assert_eq!(doc.get(span, "description").unwrap().text(), "long folded");
        let x = doc.get(span, "X-APPLE-STRUCTURED-LOCATION").unwrap();
        assert_eq!(x.param("x-title").as_deref(), Some("a:b"));
        assert_eq!(x.raw_value(), "geo:52.5,13.4");
        doc.set(
            span,
            "SUMMARY",
            vec![prop("SUMMARY", &[], &escape("New, better"))],
        );
        let out = doc.to_text();
        assert_eq!(out, text.replace("SUMMARY:Old", "SUMMARY:New\\, better"));
    }

    #[test]
    fn list_parameters_are_not_quoted_as_one_value() {
        let types = vec!["WORK".to_string(), "FAX".to_string()];
        let line = prop_list_param("TEL", "TYPE", &types, "+1 555");
        assert_eq!(line, "TEL;TYPE=WORK,FAX:+1 555");
        assert_eq!(prop_list_param("TEL", "TYPE", &[], "1"), "TEL:1");
        let l = Line::new(line);
        assert_eq!(l.param("type").as_deref(), Some("WORK,FAX"));
    }

    #[test]
    fn folding_keeps_characters_whole() {
        let line = prop("DESCRIPTION", &[], &"ü".repeat(80));
        assert!(line.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(Line::new(line).text(), "ü".repeat(80));
    }
}
