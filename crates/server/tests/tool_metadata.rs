//! What every tool tells clients about itself, as it arrives over the wire: a title, the four
//! annotations, and input/output schemas strict clients accept. New tools are checked too,
//! without a test of their own.

mod common;

use common::*;
use serde_json::{Map, Value};

/// Every place below `schema` where a subschema stands, with its JSON pointer.
fn subschemas<'a>(schema: &'a Map<String, Value>, at: &str, out: &mut Vec<(String, &'a Value)>) {
    for (key, value) in schema {
        match (key.as_str(), value) {
            ("properties" | "$defs" | "definitions" | "patternProperties", Value::Object(map)) => {
                for (name, sub) in map {
                    out.push((format!("{at}/{key}/{name}"), sub));
                    if let Value::Object(s) = sub {
                        subschemas(s, &format!("{at}/{key}/{name}"), out);
                    }
                }
            }
            ("items" | "not" | "additionalItems", sub) => {
                out.push((format!("{at}/{key}"), sub));
                if let Value::Object(s) = sub {
                    subschemas(s, &format!("{at}/{key}"), out);
                }
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(list)) => {
                for (i, sub) in list.iter().enumerate() {
                    out.push((format!("{at}/{key}/{i}"), sub));
                    if let Value::Object(s) = sub {
                        subschemas(s, &format!("{at}/{key}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Tools whose answer is the file itself (an image or other binary content block), where a
/// structured copy would double the payload.
const CONTENT_ONLY: &[&str] = &["nc_notes_get_attachment"];

#[tokio::test]
async fn every_tool_has_a_title_annotations_and_object_schemas() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.len() > 50, "only {} tools listed", tools.len());
    let mut problems = Vec::new();
    for tool in &tools {
        let name = tool.name.to_string();
        if tool.title.as_deref().is_none_or(str::is_empty) {
            problems.push(format!("{name}: no title"));
        }
        match &tool.annotations {
            Some(a) => {
                if a.read_only_hint.is_none()
                    || a.destructive_hint.is_none()
                    || a.idempotent_hint.is_none()
                    || a.open_world_hint.is_none()
                {
                    problems.push(format!("{name}: an annotation is unset: {a:?}"));
                }
            }
            None => problems.push(format!("{name}: no annotations")),
        }
        if tool.description.as_deref().is_none_or(str::is_empty) {
            problems.push(format!("{name}: no description"));
        }
        let mut schemas = vec![("inputSchema", tool.input_schema.as_ref())];
        match &tool.output_schema {
            Some(output) => schemas.push(("outputSchema", output.as_ref())),
            None if CONTENT_ONLY.contains(&name.as_str()) => {}
            None => problems.push(format!("{name}: no output schema")),
        }
        for (which, schema) in schemas {
            if schema.get("type").and_then(Value::as_str) != Some("object") {
                problems.push(format!("{name}: {which} is not of type object"));
            }
            let mut found = Vec::new();
            subschemas(schema, "", &mut found);
            for (pointer, sub) in found {
                if !sub.is_object() {
                    problems.push(format!("{name}: {which}{pointer} is {sub}, not an object"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
