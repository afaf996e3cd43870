//! Tool schemas as strict MCP clients expect them on the wire.
//!
//! schemars writes the always-valid schema of a free-form field (`serde_json::Value`) as the
//! boolean `true`. JSON Schema allows that, but the MCP schema types a property's schema as an
//! object, and strict clients (and the conformance suite) reject the whole `tools/list`. The
//! equivalent `{}` is written instead.
//!
//! schemars also writes Rust's integer and float widths as `format` values (`uint64`,
//! `int32`, `double`) that are not JSON Schema formats: validators such as the TypeScript
//! SDK's warn about each. They become the standard `minimum`/`maximum` bounds they stand for.
//! The `$schema` keyword (the same URL in every tool) and definitions nothing refers to go.
//!
//! Many tools take the same arguments or answer with the same type; equal schemas are then
//! kept once and shared, since the catalogue's schemas are most of the server's idle memory.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::JsonObject;
use serde_json::{Map, Value};

/// Rewrites every tool's input and output schema in place (without a copy when the tool
/// holds the only reference, see `tools::catalogue`), then lets equal schemas share one copy.
pub fn normalise<S>(router: &mut ToolRouter<S>) {
    for route in router.map.values_mut() {
        normalise_tool(&mut route.attr);
    }
    share_equal_schemas(router);
}

/// Rewrites one tool's input and output schema in place.
pub fn normalise_tool(tool: &mut rmcp::model::Tool) {
    let input = Arc::make_mut(&mut tool.input_schema);
    normalise_root(input);
    slim_input(input);
    if let Some(output) = &mut tool.output_schema {
        let output = Arc::make_mut(output);
        normalise_root(output);
        slim_output(output);
    }
}

/// Points every schema at the first equal one seen. Maps serialise with sorted keys, so equal
/// schemas have equal text.
fn share_equal_schemas<S>(router: &mut ToolRouter<S>) {
    let mut seen: HashMap<String, Arc<JsonObject>> = HashMap::new();
    let mut share = |schema: &mut Arc<JsonObject>| {
        let Ok(text) = serde_json::to_string(&**schema) else {
            return;
        };
        match seen.entry(text) {
            Entry::Occupied(first) => *schema = Arc::clone(first.get()),
            Entry::Vacant(slot) => {
                slot.insert(Arc::clone(schema));
            }
        }
    };
    for route in router.map.values_mut() {
        share(&mut route.attr.input_schema);
        if let Some(output) = &mut route.attr.output_schema {
            share(output);
        }
    }
}

/// Keywords whose value is a map from names to subschemas.
const SCHEMA_MAPS: [&str; 5] = [
    "properties",
    "$defs",
    "definitions",
    "patternProperties",
    "dependentSchemas",
];
/// Keywords whose value is one subschema.
const SCHEMA_VALUES: [&str; 7] = [
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LISTS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];

/// A tool's whole schema: its subschemas, then the root-only keywords.
fn normalise_root(schema: &mut Map<String, Value>) {
    normalise_object(schema);
    schema.remove("$schema");
    drop_unused_definitions(schema);
}

/// Every tool's input schema is in the model's context on every turn, so what it states must
/// be worth its bytes. Dropped, because leaving them out says the same: a `default` of `null`,
/// `""` or `false` (an optional argument left out is empty or off), and the bounds `0` and
/// `u32::MAX` that only restate the Rust width of an id or a count (the tool checks real
/// ranges and names the argument when a value is out of them).
fn slim_input(schema: &mut Map<String, Value>) {
    visit_subschemas(schema, &mut |sub| {
        let empty_default = sub
            .get("default")
            .is_some_and(|d| d.is_null() || d == "" || d == false);
        if empty_default {
            sub.remove("default");
        }
        if sub.get("minimum").and_then(Value::as_i64) == Some(0) {
            sub.remove("minimum");
        }
        if sub.get("maximum").and_then(Value::as_i64) == Some(i64::from(u32::MAX)) {
            sub.remove("maximum");
        }
    });
}

/// An output schema is for clients checking the shape of what the tool sent; every client
/// puts it into the model's context on every turn. What the fields mean is the tool
/// description's job, so only the top-level fields keep their descriptions, and bounds (the
/// server's own values need no range check) go.
fn slim_output(schema: &mut Map<String, Value>) {
    let top: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let kept: Vec<(String, Value)> = top
        .iter()
        .filter_map(|name| {
            let d = schema
                .get("properties")?
                .get(name)?
                .get("description")?
                .clone();
            Some((name.clone(), d))
        })
        .collect();
    visit_subschemas(schema, &mut |sub| {
        for key in ["description", "minimum", "maximum", "default", "title"] {
            if sub.get(key).is_some_and(|v| !v.is_object()) {
                sub.remove(key);
            }
        }
    });
    // Which fields of a nested object are always present is detail the tool's answer shows;
    // the top level keeps its `required` list.
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        for def in defs.values_mut() {
            if let Value::Object(def) = def {
                visit_subschemas(def, &mut |sub| {
                    sub.remove("required");
                });
            }
        }
    }
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, description) in kept {
            if let Some(Value::Object(p)) = props.get_mut(&name) {
                p.insert("description".into(), description);
            }
        }
    }
}

/// Calls `f` on the schema and every subschema in it.
fn visit_subschemas(schema: &mut Map<String, Value>, f: &mut impl FnMut(&mut Map<String, Value>)) {
    f(schema);
    for (key, value) in schema.iter_mut() {
        let key = key.as_str();
        let mut visit = |v: &mut Value| {
            if let Value::Object(sub) = v {
                visit_subschemas(sub, f);
            }
        };
        if SCHEMA_MAPS.contains(&key) {
            if let Value::Object(map) = value {
                map.values_mut().for_each(&mut visit);
            }
        } else if SCHEMA_VALUES.contains(&key) {
            visit(value);
        } else if SCHEMA_LISTS.contains(&key)
            && let Value::Array(list) = value
        {
            list.iter_mut().for_each(&mut visit);
        }
    }
}

/// Removes `$defs` entries that no `$ref` reaches, repeating until none is left over (a
/// definition may be referred to only by another unused one).
fn drop_unused_definitions(schema: &mut Map<String, Value>) {
    loop {
        let Some(Value::Object(defs)) = schema.get("$defs") else {
            return;
        };
        let text = serde_json::to_string(&*schema).unwrap_or_default();
        let unused: Vec<String> = defs
            .keys()
            .filter(|name| {
                let reference = format!("\"#/$defs/{name}\"");
                !text.contains(&reference)
            })
            .cloned()
            .collect();
        if unused.is_empty() {
            break;
        }
        if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
            for name in &unused {
                defs.remove(name);
            }
            if defs.is_empty() {
                schema.remove("$defs");
            }
        }
    }
}

/// The standard bounds a schemars numeric `format` stands for; `None` for a standard format.
fn numeric_format_bounds(format: &str) -> Option<(Option<f64>, Option<f64>)> {
    Some(match format {
        "uint8" => (Some(0.0), Some(u8::MAX as f64)),
        "uint16" => (Some(0.0), Some(u16::MAX as f64)),
        "uint32" => (Some(0.0), Some(u32::MAX as f64)),
        "uint64" | "uint" | "uint128" => (Some(0.0), None),
        "int8" => (Some(i8::MIN as f64), Some(i8::MAX as f64)),
        "int16" => (Some(i16::MIN as f64), Some(i16::MAX as f64)),
        "int32" => (Some(i32::MIN as f64), Some(i32::MAX as f64)),
        "int64" | "int" | "int128" | "float" | "double" => (None, None),
        _ => return None,
    })
}

/// Replaces a non-standard numeric `format` with the bounds it stands for.
fn replace_numeric_format(schema: &mut Map<String, Value>) {
    let Some(bounds) = schema
        .get("format")
        .and_then(Value::as_str)
        .and_then(numeric_format_bounds)
    else {
        return;
    };
    schema.remove("format");
    let (min, max) = bounds;
    for (key, bound) in [("minimum", min), ("maximum", max)] {
        if let Some(bound) = bound
            && !schema.contains_key(key)
        {
            schema.insert(key.into(), Value::from(bound as i64));
        }
    }
}

fn normalise_object(schema: &mut Map<String, Value>) {
    replace_numeric_format(schema);
    for (key, value) in schema.iter_mut() {
        let key = key.as_str();
        if SCHEMA_MAPS.contains(&key) {
            if let Value::Object(map) = value {
                map.values_mut().for_each(normalise_value);
            }
        } else if SCHEMA_VALUES.contains(&key) {
            normalise_value(value);
        } else if SCHEMA_LISTS.contains(&key)
            && let Value::Array(list) = value
        {
            list.iter_mut().for_each(normalise_value);
        }
    }
}

fn normalise_value(value: &mut Value) {
    match value {
        Value::Bool(true) => *value = Value::Object(Map::new()),
        Value::Object(map) => normalise_object(map),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_schemas_are_kept_once() {
        let mut router = crate::tools::catalogue();
        normalise(&mut router);
        let tools = router.list_all();
        let schemas: Vec<&Arc<JsonObject>> = tools
            .iter()
            .flat_map(|t| std::iter::once(&t.input_schema).chain(t.output_schema.as_ref()))
            .collect();
        let mut shared = 0;
        for (i, a) in schemas.iter().enumerate() {
            for b in &schemas[i + 1..] {
                if a == b {
                    assert!(Arc::ptr_eq(a, b), "equal schemas kept twice: {a:?}");
                    shared += 1;
                }
            }
        }
        assert!(shared > 0, "the catalogue has tools with equal schemas");
    }

    #[test]
    fn only_standard_json_schema_remains() {
        let mut schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "uint64", "minimum": 0},
                "port": {"type": "integer", "format": "uint16"},
                "when": {"type": "string", "format": "date-time"},
                "item": {"$ref": "#/$defs/Used"}
            },
            "$defs": {
                "Used": {"type": "object", "properties": {"n": {"type": "number", "format": "double"}}},
                "Unused": {"$ref": "#/$defs/AlsoUnused"},
                "AlsoUnused": {"type": "string"}
            }
        });
        normalise_root(schema.as_object_mut().unwrap());
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "minimum": 0},
                    "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "when": {"type": "string", "format": "date-time"},
                    "item": {"$ref": "#/$defs/Used"}
                },
                "$defs": {
                    "Used": {"type": "object", "properties": {"n": {"type": "number"}}}
                }
            })
        );
    }

    #[test]
    fn outputs_keep_shape_and_top_level_meaning_only() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "etag": {"type": "string", "description": "Pass to the update tool."},
                "title": {"type": "string", "default": "x", "minimum": 0},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}
            },
            "$defs": {"Item": {"type": "object", "description": "An item.", "required": ["id"],
                "properties": {"id": {"type": "integer", "minimum": 0, "description": "Its id."}}}},
            "required": ["etag", "items"]
        });
        slim_output(schema.as_object_mut().unwrap());
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "etag": {"type": "string", "description": "Pass to the update tool."},
                    "title": {"type": "string"},
                    "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}
                },
                "$defs": {"Item": {"type": "object", "properties": {"id": {"type": "integer"}}}},
                "required": ["etag", "items"]
            })
        );
    }

    #[test]
    fn inputs_drop_what_leaving_out_says_and_keep_real_bounds() {
        let mut input = json!({"type": "object", "properties": {
            "a": {"type": ["string", "null"], "default": null},
            "b": {"type": "integer", "default": 20, "minimum": 1, "maximum": 1000},
            "c": {"type": "string", "default": ""},
            "d": {"type": "boolean", "default": false},
            "e": {"type": "boolean", "default": true},
            "id": {"type": "integer", "minimum": 0, "maximum": 4294967295u64},
            "n": {"type": "integer", "minimum": 0, "maximum": 65535},
            "list": {"type": "array", "items": {"type": "integer", "minimum": 0}}}});
        slim_input(input.as_object_mut().unwrap());
        assert_eq!(
            input,
            json!({"type": "object", "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"type": "integer", "default": 20, "minimum": 1, "maximum": 1000},
                "c": {"type": "string"},
                "d": {"type": "boolean"},
                "e": {"type": "boolean", "default": true},
                "id": {"type": "integer"},
                "n": {"type": "integer", "maximum": 65535},
                "list": {"type": "array", "items": {"type": "integer"}}}})
        );
    }

    #[test]
    fn no_tool_schema_has_a_non_standard_format() {
        let mut router = crate::tools::catalogue();
        normalise(&mut router);
        for tool in router.list_all() {
            let text = serde_json::to_string(&(&tool.input_schema, &tool.output_schema)).unwrap();
            assert!(!text.contains("\"$schema\""), "{}: $schema", tool.name);
            for format in ["uint", "int8", "int16", "int32", "int64", "double", "float"] {
                assert!(
                    !text.contains(&format!("\"format\":\"{format}")),
                    "{}: format {format}",
                    tool.name
                );
            }
        }
    }

    #[test]
    fn true_subschemas_become_empty_objects() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "acl": true,
                "list": {"type": "array", "items": true},
                "either": {"anyOf": [true, {"type": "null"}]},
                "closed": {"type": "object", "additionalProperties": false}
            },
            "$defs": {"Free": true}
        });
        normalise_object(schema.as_object_mut().unwrap());
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "acl": {},
                    "list": {"type": "array", "items": {}},
                    "either": {"anyOf": [{}, {"type": "null"}]},
                    "closed": {"type": "object", "additionalProperties": false}
                },
                "$defs": {"Free": {}}
            })
        );
    }
}
