//! Request parameters the way Nextcloud's `Request` merges them (query string, then form or
//! JSON body on top) and the way the AppFramework casts them to a controller's PHP types.

use std::collections::HashMap;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::Value;

/// Merged request parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, Value>,
}

impl Params {
    /// Query string first, then the body (JSON object or form-urlencoded) overriding it.
    pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut values = HashMap::new();
        if let Some(q) = query {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                values.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        let ctype = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ctype.contains("json") {
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
                values.extend(map);
            }
        } else if ctype.contains("application/x-www-form-urlencoded") {
            for (k, v) in url::form_urlencoded::parse(body) {
                values.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        Self { values }
    }

    /// From an already-read body.
    pub fn from_parts(query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Self {
        Self::parse(query, headers, body)
    }

    /// Parameters from an already-merged map (a controller re-dispatching with changes).
    pub fn from_map(values: HashMap<String, Value>) -> Self {
        Self { values }
    }

    /// The raw JSON value (absent or `null` both give `None`).
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// All parameters (for endpoints that take the whole set, like Notes settings).
    pub fn all(&self) -> &HashMap<String, Value> {
        &self.values
    }

    /// A `string` parameter (`settype($v, 'string')`).
    pub fn string(&self, name: &str) -> Option<String> {
        match self.raw(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(true) => Some("1".into()),
            Value::Bool(false) => Some(String::new()),
            _ => None,
        }
    }

    /// An `int` parameter (`settype($v, 'int')`: leading digits, else 0).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.raw(name)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => Some(php_intval(s)),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => Some(0),
        }
    }

    /// A `bool` parameter (`'false'` is false, as the AppFramework special-cases it).
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.raw(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => Some(!(s.is_empty() || s == "0" || s == "false")),
            Value::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
            Value::Array(a) => Some(!a.is_empty()),
            Value::Object(o) => Some(!o.is_empty()),
            Value::Null => None,
        }
    }
}

/// PHP's `(int)"12abc"` = 12, `(int)"abc"` = 0.
pub fn php_intval(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let n: i64 = digits
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |acc, c| {
            acc.saturating_mul(10)
                .saturating_add(i64::from(c as u8 - b'0'))
        });
    if neg { -n } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_cast() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        let p = Params::parse(
            Some("a=1&b=x&f=false"),
            &h,
            br#"{"b":"y","n":null,"m":17,"t":true}"#,
        );
        assert_eq!(p.string("b").as_deref(), Some("y"));
        assert_eq!(p.int("a"), Some(1));
        assert_eq!(p.int("m"), Some(17));
        assert_eq!(p.bool("f"), Some(false));
        assert_eq!(p.bool("t"), Some(true));
        assert_eq!(p.string("n"), None);
        assert_eq!(php_intval("12abc"), 12);
        assert_eq!(php_intval("abc"), 0);
    }
}
