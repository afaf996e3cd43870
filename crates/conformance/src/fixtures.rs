//! The suite's fixture state and the non-tool fixtures: `test://` resources, prompts,
//! completions, the log level and resource subscriptions.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CacheScope, CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, ElicitRequest,
    ElicitRequestParams, GetPromptRequestParams, GetPromptResponse, GetPromptResult, ImageContent,
    InputRequest, InputRequests, InputRequiredResult, ListPromptsResult, LoggingLevel, Prompt,
    PromptArgument, PromptMessage, ReadResourceResult, Reference, Resource, ResourceContents,
    ResourceTemplate, Role, ServerCapabilities, SubscriptionFilter,
};
use rmcp::service::{SubscriptionContext, SubscriptionSink};
use serde_json::{Value, json};

/// A 1x1 red PNG.
pub(crate) const IMAGE_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// An empty WAV file.
pub(crate) const AUDIO_WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";
/// Lifetime of the caching hints on fixture results (2026-07-28).
pub const CACHE_TTL_MS: u64 = 60_000;
pub(crate) const LOGGER: &str = "nextcloud-mcp-conformance";

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

pub(crate) fn text_contents(uri: &str, mime: &str, text: impl Into<String>) -> ResourceContents {
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

    pub(crate) fn listeners(&self) -> Vec<SubscriptionSink> {
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
    pub(crate) fn seal(&self, state: Value) -> Result<String, McpError> {
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
    pub(crate) fn open(&self, token: &str) -> Result<Value, McpError> {
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

pub(crate) fn elicitation_request(
    message: &str,
    properties: Value,
    required: &[&str],
) -> InputRequest {
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

/// A usable answer to an input request: an object (elicitation, sampling or roots result).
pub(crate) fn input_response<'a>(
    responses: Option<&'a rmcp::model::InputResponses>,
    key: &str,
) -> Option<&'a serde_json::Map<String, Value>> {
    responses
        .and_then(|r| r.get(key))
        .and_then(Value::as_object)
}
