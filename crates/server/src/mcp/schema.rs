//! Tool schemas as strict MCP clients expect them on the wire.
//!
//! schemars writes the always-valid schema of a free-form field (`serde_json::Value`) as the
//! boolean `true`. JSON Schema allows that, but the MCP schema types a property's schema as an
//! object, and strict clients (and the conformance suite) reject the whole `tools/list`. The
//! equivalent `{}` is written instead.
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
        let tool = &mut route.attr;
        normalise_object(Arc::make_mut(&mut tool.input_schema));
        if let Some(output) = &mut tool.output_schema {
            normalise_object(Arc::make_mut(output));
        }
    }
    share_equal_schemas(router);
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
const SCHEMA_VALUES: [&str; 6] = ["items", "not", "if", "then", "else", "contains"];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LISTS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];

fn normalise_object(schema: &mut Map<String, Value>) {
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
