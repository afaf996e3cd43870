//! The suite's `test_*` tools (and `json_schema_2020_12_tool`), by the names and with the
//! exact results its scenarios check.

use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::RoleServer;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    AudioContent, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    CreateMessageRequest, CreateMessageRequestParams, ElicitRequestParams, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequests, InputRequiredResult, JsonObject,
    ListRootsRequest, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam,
    SamplingMessage,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Conformance;
use crate::fixtures::{
    AUDIO_WAV, IMAGE_PNG, LOGGER, elicitation_request, input_response, text_contents,
};

fn object_schema(schema: Value) -> Arc<JsonObject> {
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("fixture schemas are objects"),
    }
}

fn sampling_request(prompt: &str) -> InputRequest {
    InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt)],
        100,
    )))
}

fn roots_request() -> InputRequest {
    InputRequest::ListRoots(ListRootsRequest::default())
}

fn action_name(action: &ElicitationAction) -> &'static str {
    match action {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        ElicitationAction::Cancel => "cancel",
        _ => "unknown",
    }
}

fn text(s: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(s.into())])
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SamplingArgs {
    /// The prompt to send to the client's model.
    #[serde(default)]
    pub prompt: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ElicitationArgs {
    /// The message to show the user.
    #[serde(default)]
    pub message: Option<String>,
}

impl Conformance {
    async fn elicit(
        ctx: &RequestContext<RoleServer>,
        message: &str,
        schema: Value,
    ) -> Result<rmcp::model::ElicitResult, String> {
        let requested_schema: ElicitationSchema =
            serde_json::from_value(schema).map_err(|e| e.to_string())?;
        ctx.peer
            .create_elicitation(ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: message.into(),
                requested_schema,
            })
            .await
            .map_err(|e| e.to_string())
    }
}

#[tool_router(router = fixture_tools, vis = "pub(crate)")]
impl Conformance {
    #[tool(description = "Returns simple text content")]
    async fn test_simple_text(&self) -> CallToolResult {
        text("This is a simple text response for testing.")
    }

    #[tool(description = "Returns image content")]
    async fn test_image_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::image(IMAGE_PNG, "image/png")])
    }

    #[tool(description = "Returns audio content")]
    async fn test_audio_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::Audio(AudioContent::new(
            AUDIO_WAV,
            "audio/wav",
        ))])
    }

    #[tool(description = "Returns an embedded resource")]
    async fn test_embedded_resource(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::resource(text_contents(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        ))])
    }

    #[tool(description = "Returns text, image and resource content together")]
    async fn test_multiple_content_types(&self) -> CallToolResult {
        CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(IMAGE_PNG, "image/png"),
            ContentBlock::resource(text_contents(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#,
            )),
        ])
    }

    #[tool(description = "Sends log messages while it runs")]
    async fn test_tool_with_logging(&self, ctx: RequestContext<RoleServer>) -> CallToolResult {
        for message in [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ] {
            let _ = ctx
                .peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message))
                        .with_logger(LOGGER),
                )
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        text("Tool with logging executed successfully")
    }

    #[tool(description = "Always fails")]
    async fn test_error_handling(&self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
    }

    #[tool(description = "Reports progress while it runs")]
    async fn test_tool_with_progress(&self, ctx: RequestContext<RoleServer>) -> CallToolResult {
        let token = ctx.meta.get_progress_token();
        for (progress, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Done")] {
            if let Some(token) = &token {
                let _ = ctx
                    .peer
                    .notify_progress(
                        ProgressNotificationParam::new(token.clone(), progress)
                            .with_total(100.0)
                            .with_message(message),
                    )
                    .await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        text("Progress test completed")
    }

    #[tool(description = "Asks the client's model to answer a prompt")]
    async fn test_sampling(
        &self,
        Parameters(args): Parameters<SamplingArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let prompt = args.prompt.unwrap_or_else(|| "Hello".into());
        let request =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
        match ctx.peer.create_message(request).await {
            Ok(result) => {
                let answer = result
                    .message
                    .content
                    .first()
                    .and_then(|c| c.as_text())
                    .map(|t| t.text.clone())
                    .unwrap_or_else(|| "(no text)".into());
                text(format!("LLM response: {answer}"))
            }
            Err(e) => {
                CallToolResult::error(vec![ContentBlock::text(format!("Sampling error: {e}"))])
            }
        }
    }

    #[tool(description = "Asks the user for input")]
    async fn test_elicitation(
        &self,
        Parameters(args): Parameters<ElicitationArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let message = args
            .message
            .unwrap_or_else(|| "Please provide your information".into());
        let schema = json!({
            "type": "object",
            "properties": {
                "username": { "type": "string", "description": "User's response" },
                "email": { "type": "string", "description": "User's email address" }
            },
            "required": ["username", "email"]
        });
        match Self::elicit(&ctx, &message, schema).await {
            Ok(r) => text(format!(
                "User response: action={}, content={}",
                action_name(&r.action),
                r.content.map(|c| c.to_string()).unwrap_or_default()
            )),
            Err(e) => {
                CallToolResult::error(vec![ContentBlock::text(format!("Elicitation error: {e}"))])
            }
        }
    }

    #[tool(description = "Asks the user for input with default values (SEP-1034)")]
    async fn test_elicitation_sep1034_defaults(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "description": "User's name", "default": "John Doe" },
                "age": { "type": "integer", "description": "User's age", "default": 30 },
                "score": { "type": "number", "description": "User's score", "default": 95.5 },
                "status": {
                    "type": "string",
                    "description": "User's status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active"
                },
                "verified": { "type": "boolean", "description": "Verified user", "default": true }
            }
        });
        match Self::elicit(&ctx, "Please provide values (all have defaults)", schema).await {
            Ok(r) => text(format!(
                "Elicitation completed: action={}, content={}",
                action_name(&r.action),
                r.content.map(|c| c.to_string()).unwrap_or_default()
            )),
            Err(e) => {
                CallToolResult::error(vec![ContentBlock::text(format!("Elicitation error: {e}"))])
            }
        }
    }

    #[tool(description = "Asks the user to pick from enums (SEP-1330)")]
    async fn test_elicitation_sep1330_enums(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let schema = json!({
            "type": "object",
            "properties": {
                "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                "titledSingle": {
                    "type": "string",
                    "oneOf": [
                        { "const": "value1", "title": "First Option" },
                        { "const": "value2", "title": "Second Option" },
                        { "const": "value3", "title": "Third Option" }
                    ]
                },
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]
                },
                "untitledMulti": {
                    "type": "array",
                    "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
                },
                "titledMulti": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            { "const": "value1", "title": "First Choice" },
                            { "const": "value2", "title": "Second Choice" },
                            { "const": "value3", "title": "Third Choice" }
                        ]
                    }
                }
            }
        });
        match Self::elicit(&ctx, "Test enum schema improvements", schema).await {
            Ok(r) => text(format!(
                "Enum elicitation completed: action={}",
                action_name(&r.action)
            )),
            Err(e) => {
                CallToolResult::error(vec![ContentBlock::text(format!("Elicitation error: {e}"))])
            }
        }
    }

    #[tool(
        description = "Has a JSON Schema 2020-12 input schema",
        input_schema = object_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "$anchor": "address",
                    "type": "object",
                    "properties": {
                        "street": { "type": "string" },
                        "city": { "type": "string" }
                    }
                }
            },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" }
            },
            "allOf": [{ "anyOf": [{ "required": ["name"] }, { "required": ["address"] }] }],
            "if": { "required": ["address"] },
            "then": { "properties": { "address": { "required": ["street"] } } },
            "else": { "required": ["name"] },
            "additionalProperties": false
        }))
    )]
    async fn json_schema_2020_12_tool(&self, args: JsonObject) -> CallToolResult {
        let name = args.get("name").and_then(Value::as_str).unwrap_or("world");
        text(format!("Hello, {name}!"))
    }

    #[tool(description = "Takes a moment, so the client can reconnect meanwhile")]
    async fn test_reconnection(&self) -> CallToolResult {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text("Reconnection test completed")
    }

    #[tool(
        description = "Echoes a value that is mirrored in a custom header (SEP-2243)",
        input_schema = object_schema(json!({
            "type": "object",
            "properties": { "value": { "type": "string", "x-mcp-header": "Value" } },
            "required": ["value"]
        }))
    )]
    async fn test_custom_header(&self, args: JsonObject) -> Result<CallToolResult, McpError> {
        let value = args
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| McpError::invalid_params("value must be a string", None))?;
        Ok(text(value))
    }

    #[tool(description = "Notifies listeners that the tool list changed")]
    async fn test_trigger_tool_change(&self) -> Result<CallToolResult, McpError> {
        for sink in self.fixtures.listeners() {
            let _ = sink.notify_tool_list_changed().await;
        }
        Ok(text("Tool list change triggered"))
    }

    #[tool(description = "Notifies listeners that the prompt list changed")]
    async fn test_trigger_prompt_change(&self) -> Result<CallToolResult, McpError> {
        for sink in self.fixtures.listeners() {
            let _ = sink.notify_prompt_list_changed().await;
        }
        Ok(text("Prompt list change triggered"))
    }

    #[tool(description = "Needs the client's sampling capability")]
    async fn test_missing_capability(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let declared = ctx
            .meta
            .client_capabilities()
            .or_else(|| ctx.client_capabilities())
            .unwrap_or_default();
        if declared.sampling.is_none() {
            return Err(McpError::missing_required_client_capability(
                ClientCapabilities::builder().enable_sampling().build(),
            ));
        }
        Ok(text("Required capability declared"))
    }

    #[tool(description = "Answers with an input_required result asking for a value")]
    async fn test_streaming_elicitation(&self) -> InputRequiredResult {
        InputRequiredResult::from_input_requests(InputRequests::from([(
            "streaming_elicitation".to_string(),
            elicitation_request(
                "Provide a value",
                json!({ "value": { "type": "string" } }),
                &["value"],
            ),
        )]))
    }

    #[tool(description = "Logs only when the request asked for a log level")]
    async fn test_logging_tool(&self, ctx: RequestContext<RoleServer>) -> CallToolResult {
        if let Some(level) = ctx.meta.log_level() {
            let _ = ctx
                .peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(level, json!("logLevel was requested"))
                        .with_logger(LOGGER),
                )
                .await;
        }
        text("Logging tool completed")
    }

    #[tool(description = "Asks for the user's name via input_required (SEP-2322)")]
    async fn test_input_required_result_elicitation(
        &self,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        match input_response(responses.as_ref(), "user_name") {
            Some(r) => {
                let name = r
                    .get("content")
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("friend");
                text(format!("Hello, {name}!")).into()
            }
            None => InputRequiredResult::from_input_requests(InputRequests::from([(
                "user_name".to_string(),
                elicitation_request(
                    "What is your name?",
                    json!({ "name": { "type": "string" } }),
                    &["name"],
                ),
            )]))
            .into(),
        }
    }

    #[tool(description = "Asks the client's model a question via input_required (SEP-2322)")]
    async fn test_input_required_result_sampling(
        &self,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        match input_response(responses.as_ref(), "capital_question") {
            Some(r) => {
                let answer = r
                    .get("content")
                    .and_then(|c| c.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("(no text)");
                text(format!("Sampling response: {answer}")).into()
            }
            None => InputRequiredResult::from_input_requests(InputRequests::from([(
                "capital_question".to_string(),
                sampling_request("What is the capital of France?"),
            )]))
            .into(),
        }
    }

    #[tool(description = "Asks for the client's roots via input_required (SEP-2322)")]
    async fn test_input_required_result_list_roots(
        &self,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        match input_response(responses.as_ref(), "client_roots") {
            Some(r) => {
                let roots: Vec<&str> = r
                    .get("roots")
                    .and_then(Value::as_array)
                    .map(|roots| {
                        roots
                            .iter()
                            .filter_map(|root| root.get("uri").and_then(Value::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                text(format!("Client roots: [{}]", roots.join(", "))).into()
            }
            None => InputRequiredResult::from_input_requests(InputRequests::from([(
                "client_roots".to_string(),
                roots_request(),
            )]))
            .into(),
        }
    }

    #[tool(description = "Round-trips a sealed requestState (SEP-2322)")]
    async fn test_input_required_result_request_state(
        &self,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, McpError> {
        self.confirm_with_state(state)
    }

    #[tool(description = "Rejects a tampered requestState (SEP-2322)")]
    async fn test_input_required_result_tampered_state(
        &self,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, McpError> {
        self.confirm_with_state(state)
    }

    #[tool(description = "Asks for elicitation, sampling and roots at once (SEP-2322)")]
    async fn test_input_required_result_multiple_inputs(
        &self,
        RequestState(state): RequestState,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, McpError> {
        let fixtures = &self.fixtures;
        if let Some(sealed) = &state {
            fixtures.open(sealed)?;
        }
        let all = ["user_name", "greeting", "client_roots"]
            .iter()
            .all(|key| input_response(responses.as_ref(), key).is_some());
        if all && state.is_some() {
            return Ok(text("All inputs received").into());
        }
        let requests = InputRequests::from([
            (
                "user_name".to_string(),
                elicitation_request(
                    "What is your name?",
                    json!({ "name": { "type": "string" } }),
                    &["name"],
                ),
            ),
            (
                "greeting".to_string(),
                sampling_request("Generate a greeting"),
            ),
            ("client_roots".to_string(), roots_request()),
        ]);
        let sealed = fixtures.seal(json!({ "stage": "gather" }))?;
        Ok(InputRequiredResult::new(Some(requests), Some(sealed)).into())
    }

    #[tool(description = "Needs two input_required rounds (SEP-2322)")]
    async fn test_input_required_result_multi_round(
        &self,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, McpError> {
        let fixtures = &self.fixtures;
        let round = match &state {
            None => 0,
            Some(sealed) => fixtures
                .open(sealed)?
                .get("round")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        };
        let (key, message, field) = match round {
            0 => ("step1", "Step 1: What is your name?", "name"),
            1 => ("step2", "Step 2: What is your favorite color?", "color"),
            _ => return Ok(text("Multi-round flow complete").into()),
        };
        let requests = InputRequests::from([(
            key.to_string(),
            elicitation_request(message, json!({ field: { "type": "string" } }), &[field]),
        )]);
        let sealed = fixtures.seal(json!({ "round": round + 1 }))?;
        Ok(InputRequiredResult::new(Some(requests), Some(sealed)).into())
    }

    #[tool(description = "Asks only for inputs the client declared it supports (SEP-2322)")]
    async fn test_input_required_result_capabilities(
        &self,
        InputResponses(responses): InputResponses,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        if responses.is_some() {
            return text("Capability-aware flow complete").into();
        }
        let declared = ctx
            .meta
            .client_capabilities()
            .or_else(|| ctx.client_capabilities())
            .unwrap_or_default();
        let mut requests = InputRequests::new();
        if declared.elicitation.is_some() {
            requests.insert(
                "user_name".into(),
                elicitation_request(
                    "What is your name?",
                    json!({ "name": { "type": "string" } }),
                    &["name"],
                ),
            );
        }
        if declared.sampling.is_some() {
            requests.insert("greeting".into(), sampling_request("Generate a greeting"));
        }
        if declared.roots.is_some() {
            requests.insert("client_roots".into(), roots_request());
        }
        if requests.is_empty() {
            text("Client declared no capability that input requests need").into()
        } else {
            InputRequiredResult::from_input_requests(requests).into()
        }
    }
}

impl Conformance {
    /// First call: ask for confirmation and seal the progress; retry: verify the seal.
    fn confirm_with_state(&self, state: Option<String>) -> Result<CallToolResponse, McpError> {
        let fixtures = &self.fixtures;
        match state {
            None => {
                let requests = InputRequests::from([(
                    "confirm".to_string(),
                    elicitation_request(
                        "Please confirm",
                        json!({ "ok": { "type": "boolean" } }),
                        &["ok"],
                    ),
                )]);
                let sealed = fixtures.seal(json!({ "stage": "confirm" }))?;
                Ok(InputRequiredResult::new(Some(requests), Some(sealed)).into())
            }
            Some(sealed) => {
                fixtures.open(&sealed)?;
                Ok(text("Confirmed: state-ok").into())
            }
        }
    }
}
