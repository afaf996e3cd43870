//! Checks tool arguments against the tool's input schema before the call, so a wrong or
//! missing argument is reported by name with the expected type ("`note_id`: expected an
//! integer, got the string \"abc\""), which serde's own message does not do.

use rmcp::model::{JsonObject, Tool};
use serde_json::Value;

/// `Err` with a message naming the first bad argument.
pub(super) fn check(tool: &Tool, args: Option<&JsonObject>) -> Result<(), String> {
    let schema = &tool.input_schema;
    let empty = JsonObject::new();
    let args = args.unwrap_or(&empty);
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !args.contains_key(name) {
                return Err(format!(
                    "Missing argument `{name}`: expected {}.",
                    describe(property(schema, name))
                ));
            }
        }
    }
    for (name, value) in args {
        let Some(prop) = property(schema, name) else {
            continue;
        };
        if let Some(values) = allowed_values(schema, prop)
            && !values.contains(value)
        {
            let list: Vec<String> = values.iter().map(Value::to_string).collect();
            return Err(format!(
                "Invalid argument `{name}`: expected one of {}, got {}.",
                list.join(", "),
                shown(value)
            ));
        }
        let Some(types) = allowed_types(prop) else {
            continue;
        };
        if !types.iter().any(|t| matches_type(t, value)) {
            return Err(format!(
                "Invalid argument `{name}`: expected {}, got {}.",
                describe(Some(prop)),
                shown(value)
            ));
        }
        if let (Some(min), Some(n)) = (prop.get("minimum").and_then(Value::as_f64), value.as_f64())
            && n < min
        {
            return Err(format!(
                "Invalid argument `{name}`: expected at least {min}, got {n}."
            ));
        }
        if let (Some(max), Some(n)) = (prop.get("maximum").and_then(Value::as_f64), value.as_f64())
            && n > max
        {
            return Err(format!(
                "Invalid argument `{name}`: expected at most {max}, got {n}."
            ));
        }
    }
    Ok(())
}

fn property<'a>(schema: &'a JsonObject, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}

/// The values an argument is limited to (`enum`), its own or its definition's (`$ref`).
fn allowed_values<'a>(schema: &'a JsonObject, prop: &'a Value) -> Option<&'a Vec<Value>> {
    let target = match prop.get("$ref").and_then(Value::as_str) {
        Some(r) => schema.get("$defs")?.get(r.strip_prefix("#/$defs/")?)?,
        None => prop,
    };
    target.get("enum")?.as_array()
}

fn allowed_types(prop: &Value) -> Option<Vec<&str>> {
    match prop.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn matches_type(ty: &str, value: &Value) -> bool {
    match ty {
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe(prop: Option<&Value>) -> String {
    let Some(types) = prop.and_then(allowed_types) else {
        return "a value".into();
    };
    let words: Vec<&str> = types
        .iter()
        .map(|t| match *t {
            "integer" => "an integer",
            "number" => "a number",
            "string" => "a string",
            "boolean" => "true or false",
            "array" => "a list",
            "object" => "an object",
            "null" => "null",
            _ => "a value",
        })
        .collect();
    words.join(" or ")
}

fn shown(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    let mut text = value.to_string();
    if text.len() > 40 {
        text = format!("{}…", text.chars().take(40).collect::<String>());
    }
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) | Value::Bool(_) => kind.to_string(),
        _ => format!("{kind} {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool() -> Tool {
        let schema = json!({
            "type": "object",
            "properties": {
                "note_id": {"type": "integer", "minimum": 0},
                "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                "title": {"type": ["string", "null"]},
                "mode": {"$ref": "#/$defs/Mode"},
                "kind": {"type": "string", "enum": ["a", "b"]}
            },
            "required": ["note_id"],
            "$defs": {"Mode": {"type": "string", "enum": ["read", "star"]}}
        });
        Tool::new("t", "d", schema.as_object().unwrap().clone())
    }

    fn args(v: serde_json::Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn names_the_argument_and_the_type() {
        let e = check(&tool(), Some(&args(json!({"note_id": "abc"})))).unwrap_err();
        assert_eq!(
            e,
            "Invalid argument `note_id`: expected an integer, got the string \"abc\"."
        );
        let e = check(&tool(), Some(&args(json!({})))).unwrap_err();
        assert!(e.contains("Missing argument `note_id`"), "{e}");
        let e = check(&tool(), Some(&args(json!({"note_id": -1})))).unwrap_err();
        assert!(e.contains("at least 0"), "{e}");
        assert!(check(&tool(), Some(&args(json!({"note_id": 3, "title": null})))).is_ok());
        let e = check(&tool(), Some(&args(json!({"note_id": 3, "title": 5})))).unwrap_err();
        assert!(e.contains("a string or null"), "{e}");
        let e = check(&tool(), Some(&args(json!({"note_id": 3, "port": 70000})))).unwrap_err();
        assert_eq!(
            e,
            "Invalid argument `port`: expected at most 65535, got 70000."
        );
    }

    #[test]
    fn names_the_allowed_values() {
        let e = check(
            &tool(),
            Some(&args(json!({"note_id": 3, "mode": "archive"}))),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Invalid argument `mode`: expected one of \"read\", \"star\", got the string \"archive\"."
        );
        let e = check(&tool(), Some(&args(json!({"note_id": 3, "kind": 1})))).unwrap_err();
        assert!(e.contains("one of \"a\", \"b\""), "{e}");
        assert!(check(&tool(), Some(&args(json!({"note_id": 3, "mode": "star"})))).is_ok());
    }
}
