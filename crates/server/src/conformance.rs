//! Fixtures for the official MCP conformance suite (`test_*` tools, resources and prompts),
//! served only with `--conformance-fixtures`, never by default.
//!
//! The suite (npm `@modelcontextprotocol/conformance`, run by `.ci/conformance.sh`) calls
//! these by name and checks the exact content they return, so names, texts and shapes follow
//! its scenarios. None of them touches Nextcloud. See `docs/CONFORMANCE.md`.
//!
//! Sampling, roots and logging are deprecated by SEP-2577 but still part of both protocol
//! revisions the suite checks, so the fixtures use them on purpose.
#![allow(deprecated)]

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::ErrorData as McpError;
use rmcp::RoleServer;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    AudioContent, CacheScope, CallToolResponse, CallToolResult, ClientCapabilities,
    CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, CreateMessageRequest,
    CreateMessageRequestParams, ElicitRequest, ElicitRequestParams, ElicitationAction,
    ElicitationSchema, GetPromptRequestParams, GetPromptResponse, GetPromptResult, ImageContent,
    InputRequest, InputRequests, InputRequiredResult, JsonObject, ListPromptsResult,
    ListRootsRequest, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam,
    Prompt, PromptArgument, PromptMessage, ReadResourceResult, Reference, Resource,
    ResourceContents, ResourceTemplate, Role, SamplingMessage, ServerCapabilities,
    SubscriptionFilter,
};
use rmcp::service::{RequestContext, SubscriptionContext, SubscriptionSink};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::NextcloudMcp;

/// A 1x1 red PNG.
const IMAGE_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// An empty WAV file.
const AUDIO_WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";
/// Lifetime of the caching hints on fixture results (2026-07-28).
pub const CACHE_TTL_MS: u64 = 60_000;
const LOGGER: &str = "nextcloud-mcp-conformance";

/// The suite's fixture tools.
pub fn tools() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::conformance_router()
}

/// Fixture state shared by all sessions: live subscriptions, the log level, the
/// `requestState` sealing key.
pub struct Fixtures {
    log_level: Mutex<LoggingLevel>,
    /// `resources/subscribe` (2025-11-25) URIs.
    subscribed: Mutex<BTreeSet<String>>,
    /// Open `subscriptions/listen` streams (2026-07-28).
    listeners: Mutex<HashMap<u64, SubscriptionSink>>,
    next_listener: AtomicU64,
    /// Issued `requestState` tokens and what each stands for (see [`Fixtures::seal`]).
    request_states: Mutex<VecDeque<(String, Value)>>,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures").finish_non_exhaustive()
    }
}

impl Default for Fixtures {
    fn default() -> Self {
        Self {
            log_level: Mutex::new(LoggingLevel::Debug),
            subscribed: Mutex::default(),
            listeners: Mutex::default(),
            next_listener: AtomicU64::new(0),
            request_states: Mutex::default(),
        }
    }
}

/// An unguessable token: 128 bits from the standard library's randomly seeded hasher.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(32);
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// How many `requestState` tokens are remembered; older ones are forgotten.
const MAX_REQUEST_STATES: usize = 1024;

fn text_contents(uri: &str, mime: &str, text: impl Into<String>) -> ResourceContents {
    ResourceContents::TextResourceContents {
        uri: uri.into(),
        mime_type: Some(mime.into()),
        text: text.into(),
        meta: None,
    }
}

impl Fixtures {
    /// Capabilities advertised while fixtures are served.
    pub fn capabilities() -> ServerCapabilities {
        ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_resources_list_changed()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_logging()
            .enable_completions()
            .build()
    }

    pub fn resources(&self) -> Vec<Resource> {
        vec![
            Resource::new("test://static-text", "Static Text Resource")
                .with_description("A static text resource for testing")
                .with_mime_type("text/plain"),
            Resource::new("test://static-binary", "Static Binary Resource")
                .with_description("A static binary resource for testing")
                .with_mime_type("image/png"),
        ]
    }

    pub fn resource_templates(&self) -> Vec<ResourceTemplate> {
        vec![
            ResourceTemplate::new("test://template/{id}/data", "Dynamic Resource")
                .with_description("A dynamic resource with parameter substitution")
                .with_mime_type("application/json"),
        ]
    }

    /// `None` when the URI is not a fixture's.
    pub fn read_resource(&self, uri: &str) -> Option<Result<ReadResourceResult, McpError>> {
        let contents = match uri {
            "test://static-text" => text_contents(
                uri,
                "text/plain",
                "This is the content of the static text resource.",
            ),
            "test://static-binary" => ResourceContents::BlobResourceContents {
                uri: uri.into(),
                mime_type: Some("image/png".into()),
                blob: IMAGE_PNG.into(),
                meta: None,
            },
            _ => {
                let Some(id) = uri
                    .strip_prefix("test://template/")
                    .and_then(|rest| rest.strip_suffix("/data"))
                else {
                    // Any other `test://` URI is a fixture that does not exist.
                    return uri.starts_with("test://").then(|| {
                        Err(McpError::resource_not_found(
                            format!("resource not found: {uri}"),
                            Some(json!({ "uri": uri })),
                        ))
                    });
                };
                text_contents(
                    uri,
                    "application/json",
                    json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                        .to_string(),
                )
            }
        };
        Some(Ok(ReadResourceResult::new(vec![contents])
            .with_ttl_ms(CACHE_TTL_MS)
            .with_cache_scope(CacheScope::Public)))
    }

    pub fn list_prompts(&self) -> ListPromptsResult {
        let prompts = vec![
            Prompt::new(
                "test_simple_prompt",
                Some("A simple prompt without arguments"),
                None,
            ),
            Prompt::new(
                "test_prompt_with_arguments",
                Some("A prompt with arguments"),
                Some(vec![
                    PromptArgument::new("arg1")
                        .with_description("First test argument")
                        .with_required(true),
                    PromptArgument::new("arg2")
                        .with_description("Second test argument")
                        .with_required(true),
                ]),
            ),
            Prompt::new(
                "test_prompt_with_embedded_resource",
                Some("A prompt with an embedded resource"),
                Some(vec![
                    PromptArgument::new("resourceUri")
                        .with_description("URI of the resource to embed")
                        .with_required(true),
                ]),
            ),
            Prompt::new(
                "test_prompt_with_image",
                Some("A prompt with an image"),
                None,
            ),
            Prompt::new(
                "test_input_required_result_prompt",
                Some("A prompt that first asks the client for context (SEP-2322)"),
                None,
            ),
        ];
        ListPromptsResult::with_all_items(prompts)
            .with_ttl_ms(CACHE_TTL_MS)
            .with_cache_scope(CacheScope::Public)
    }

    pub fn get_prompt(
        &self,
        request: GetPromptRequestParams,
    ) -> Result<GetPromptResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        let arg = |name: &str| {
            args.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let result = match request.name.as_str() {
            "test_simple_prompt" => GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                "This is a simple prompt for testing.",
            )]),
            "test_prompt_with_arguments" => GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    arg("arg1"),
                    arg("arg2")
                ),
            )]),
            "test_prompt_with_embedded_resource" => {
                let mut uri = arg("resourceUri");
                if uri.is_empty() {
                    uri = "test://example-resource".into();
                }
                GetPromptResult::new(vec![
                    PromptMessage::new_resource(
                        Role::User,
                        uri,
                        Some("text/plain".into()),
                        Some("Embedded resource content for testing.".into()),
                        None,
                        None,
                        None,
                    ),
                    PromptMessage::new_text(
                        Role::User,
                        "Please process the embedded resource above.",
                    ),
                ])
            }
            "test_prompt_with_image" => GetPromptResult::new(vec![
                PromptMessage::new(
                    Role::User,
                    ContentBlock::Image(ImageContent::new(IMAGE_PNG, "image/png")),
                ),
                PromptMessage::new_text(Role::User, "Please analyze the image above."),
            ]),
            "test_input_required_result_prompt" => {
                return Ok(
                    match input_response(request.input_responses.as_ref(), "user_context") {
                        Some(response) => {
                            let context = response
                                .get("content")
                                .and_then(|c| c.get("context"))
                                .and_then(Value::as_str)
                                .unwrap_or("(none)");
                            GetPromptResult::new(vec![PromptMessage::new_text(
                                Role::User,
                                format!("Prompt with elicited context: {context}"),
                            )])
                            .into()
                        }
                        None => InputRequiredResult::from_input_requests(InputRequests::from([(
                            "user_context".to_string(),
                            elicitation_request(
                                "What context should the prompt use?",
                                json!({ "context": { "type": "string" } }),
                                &["context"],
                            ),
                        )]))
                        .into(),
                    },
                );
            }
            other => {
                return Err(McpError::invalid_params(
                    format!("unknown prompt `{other}`"),
                    None,
                ));
            }
        };
        Ok(result.into())
    }

    pub fn complete(&self, request: &CompleteRequestParams) -> Result<CompleteResult, McpError> {
        let candidates: &[&str] = match (&request.r#ref, request.argument.name.as_str()) {
            (Reference::Prompt(_), "name") => &["Alice", "Bob", "Charlie"],
            (Reference::Prompt(_), "style") => &["friendly", "formal", "casual"],
            (Reference::Resource(_), "id") => &["1", "2", "3"],
            _ => &["paris", "park", "party"],
        };
        let typed = request.argument.value.to_lowercase();
        let values: Vec<String> = candidates
            .iter()
            .filter(|c| c.to_lowercase().starts_with(&typed))
            .map(|c| c.to_string())
            .collect();
        let values = if values.is_empty() {
            candidates.iter().map(|c| c.to_string()).collect()
        } else {
            values
        };
        Ok(CompleteResult::new(
            CompletionInfo::new(values).map_err(|e| McpError::internal_error(e, None))?,
        ))
    }

    pub fn set_level(&self, level: LoggingLevel) {
        *self.log_level.lock().unwrap_or_else(|e| e.into_inner()) = level;
    }

    pub fn subscribe(&self, uri: &str) {
        self.subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uri.to_string());
    }

    pub fn unsubscribe(&self, uri: &str) {
        self.subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
    }

    /// What a `subscriptions/listen` stream may receive: whatever was asked and advertised.
    pub fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&Self::capabilities()))
    }

    /// Keeps a `subscriptions/listen` stream open until the client goes away.
    pub async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let key = self.next_listener.fetch_add(1, Ordering::Relaxed);
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, context.sink().clone());
        context.cancelled().await;
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        Ok(())
    }

    fn listeners(&self) -> Vec<SubscriptionSink> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Issues a `requestState`: an opaque random token the server maps back to `state`, so
    /// a client can neither read nor forge it. (rmcp's HMAC `RequestStateCodec` needs its
    /// `request-state` feature; a token table is enough for a test fixture.)
    fn seal(&self, state: Value) -> Result<String, McpError> {
        let token = random_token();
        let mut states = self
            .request_states
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if states.len() >= MAX_REQUEST_STATES {
            states.pop_front();
        }
        states.push_back((token.clone(), state));
        Ok(token)
    }

    /// Verifies a `requestState` the client echoed back: it is untrusted input.
    fn open(&self, token: &str) -> Result<Value, McpError> {
        self.request_states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, state)| state.clone())
            .ok_or_else(|| {
                McpError::invalid_params("requestState failed its integrity check", None)
            })
    }
}

fn object_schema(schema: Value) -> Arc<JsonObject> {
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("fixture schemas are objects"),
    }
}

fn elicitation_request(message: &str, properties: Value, required: &[&str]) -> InputRequest {
    InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.into(),
            requested_schema: serde_json::from_value(json!({
                "type": "object",
                "properties": properties,
                "required": required,
            }))
            .expect("valid elicitation schema"),
        },
    ))
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

/// A usable answer to an input request: an object (elicitation, sampling or roots result).
fn input_response<'a>(
    responses: Option<&'a rmcp::model::InputResponses>,
    key: &str,
) -> Option<&'a serde_json::Map<String, Value>> {
    responses
        .and_then(|r| r.get(key))
        .and_then(Value::as_object)
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

impl NextcloudMcp {
    fn fixtures(&self) -> Result<&Fixtures, McpError> {
        self.state()
            .fixtures
            .as_ref()
            .ok_or_else(|| McpError::internal_error("conformance fixtures are disabled", None))
    }

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

#[tool_router(router = conformance_router, vis = "pub(crate)")]
impl NextcloudMcp {
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
        for sink in self.fixtures()?.listeners() {
            let _ = sink.notify_tool_list_changed().await;
        }
        Ok(text("Tool list change triggered"))
    }

    #[tool(description = "Notifies listeners that the prompt list changed")]
    async fn test_trigger_prompt_change(&self) -> Result<CallToolResult, McpError> {
        for sink in self.fixtures()?.listeners() {
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
        let fixtures = self.fixtures()?;
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
        let fixtures = self.fixtures()?;
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

impl NextcloudMcp {
    /// First call: ask for confirmation and seal the progress; retry: verify the seal.
    fn confirm_with_state(&self, state: Option<String>) -> Result<CallToolResponse, McpError> {
        let fixtures = self.fixtures()?;
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
