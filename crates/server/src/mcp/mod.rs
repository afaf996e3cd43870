//! The MCP server: [`NextcloudMcp`] implements rmcp's `ServerHandler`, decides which tools a
//! caller sees (configured selection, then the instance's installed apps) and routes calls.

mod arguments;
pub mod discover;
mod gate;
mod resources;
mod schema;
pub(crate) mod selection;

use std::collections::BTreeSet;
use std::sync::Arc;

use nextcloud::{Nextcloud, NextcloudUser};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::apps;
use crate::auth::{Caller, MultiUser};
use crate::cli::ToolMode;
use crate::config::ToolSelection;
use crate::metrics::CallOutcome;
use crate::search::{SearchIndex, SearchSettings};
use crate::tools::common::ToolError;
use crate::tools::spec::{self, ToolSpec};
use gate::Gate;

pub use selection::SelectionError;

/// Shared by every session: built once at start-up, cloned (as an `Arc`) per session.
pub struct ServerState {
    pub nextcloud: Nextcloud,
    /// The single configured user (`single_user_basic`); `None` in the multi-user modes.
    pub user: Option<NextcloudUser>,
    /// Credential store and token verifier of the multi-user modes.
    pub multi: Option<Arc<MultiUser>>,
    pub tools: ToolRouter<NextcloudMcp>,
    /// Discovery mode's index and tools (`--tool-mode discover`); `None` lists every tool.
    pub discovery: Option<discover::Discovery>,
    /// Semantic search's per-user chunks and vectors, and the embedder; fed by the keyword
    /// index's sync (it listens to `search`).
    pub semantic: Arc<crate::search::semantic::SemanticIndex>,
    /// Every user's keyword index across apps (search, fetch, notes search).
    pub search: SearchIndex,
    /// `EXCLUDED_TAGS`: files the file and sharing tools must not see.
    pub file_guard: crate::tools::files::guard::TagGuard,
    /// Caps and chunking of the file tools.
    pub files: crate::config::FileSettings,
    /// The zone calendar tools read local times in when a call names none (`--timezone`).
    pub timezone: crate::config::TimeZone,
}

/// The MCP handler. Cheap to clone: the transports clone it once per MCP session, and every
/// clone shares the server state. A clone is a new session: it starts without the tools the
/// session it was cloned from activated in discovery mode.
pub struct NextcloudMcp {
    state: Arc<ServerState>,
    /// What this MCP session activated in discovery mode (a clone starts a new one).
    session: Arc<discover::Session>,
}

impl NextcloudMcp {
    /// Builds the server with the configured tool selection applied.
    pub fn new(
        nextcloud: Nextcloud,
        user: NextcloudUser,
        selection: &ToolSelection,
    ) -> Result<Self, SelectionError> {
        Self::build(nextcloud, Some(user), None, selection)
    }

    /// A server for many users (`multi_user_basic` or `login_flow`): each request's caller is
    /// resolved from the HTTP layer's [`Caller`] and, with bearer tokens, the credential store.
    pub fn multi_user(
        nextcloud: Nextcloud,
        multi: Arc<MultiUser>,
        selection: &ToolSelection,
    ) -> Result<Self, SelectionError> {
        Self::build(nextcloud, None, Some(multi), selection)
    }

    fn build(
        nextcloud: Nextcloud,
        user: Option<NextcloudUser>,
        multi: Option<Arc<MultiUser>>,
        selection: &ToolSelection,
    ) -> Result<Self, SelectionError> {
        // The provisioning tools only make sense when users provision by Login Flow.
        let login_flow = multi
            .as_ref()
            .is_some_and(|m| m.settings.mode == crate::cli::DeploymentMode::LoginFlow);
        let tools = Self::router(selection, login_flow)?;
        let semantic = Arc::new(crate::search::semantic::SemanticIndex::default());
        let search = SearchIndex::default();
        search.add_listener(semantic.clone());
        Ok(Self {
            session: Default::default(),
            state: Arc::new(ServerState {
                nextcloud,
                user,
                multi,
                tools,
                discovery: None,
                semantic: semantic.clone(),
                search,
                file_guard: Default::default(),
                files: Default::default(),
                timezone: Default::default(),
            }),
        })
    }

    /// The selected tools, with their schemas as clients get them.
    fn router(
        selection: &ToolSelection,
        login_flow: bool,
    ) -> Result<ToolRouter<NextcloudMcp>, SelectionError> {
        let mut tools = selection::apply(crate::tools::catalogue(), selection)?;
        if !login_flow {
            for tool in tools.list_all() {
                if spec::of(&tool.name).is_some_and(|s| s.app.id == apps::AUTH.id) {
                    tools.remove_route(&tool.name);
                }
            }
        }
        schema::normalise(&mut tools);
        Ok(tools)
    }

    /// In [`ToolMode::Discover`], lists the discovery tools instead of the catalogue (see
    /// [`discover`]); every selected tool stays callable through them.
    pub fn with_tool_mode(mut self, mode: ToolMode) -> Result<Self, SelectionError> {
        if mode == ToolMode::Discover
            && let Some(state) = Arc::get_mut(&mut self.state)
        {
            let (discovery, meta) = discovery_for(&state.tools)?;
            state.tools.merge(meta);
            state.discovery = Some(discovery);
        }
        Ok(self)
    }

    /// What `tools/list` shows for a configuration when every app is installed and nothing
    /// is activated (single user, no scopes): its size is what every turn of a conversation
    /// costs in context.
    pub fn listed_tools(
        selection: &ToolSelection,
        mode: ToolMode,
    ) -> Result<Vec<Tool>, SelectionError> {
        let tools = Self::router(selection, false)?;
        Ok(match mode {
            ToolMode::All => tools.list_all(),
            ToolMode::Discover => {
                let (discovery, meta) = discovery_for(&tools)?;
                let mut listed = meta.list_all();
                listed.push(discovery.call_tool);
                listed
            }
        })
    }

    /// Uses these file-tool limits instead of the defaults.
    pub fn with_file_settings(mut self, files: crate::config::FileSettings) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            if !files.excluded_tags.is_empty() {
                tracing::info!(tags = ?files.excluded_tags, "files with these system tags are hidden from the file and sharing tools");
                state.file_guard = crate::tools::files::guard::TagGuard::new(
                    files.excluded_tags.clone(),
                    crate::tools::files::guard::DEFAULT_TTL,
                );
            }
            state.files = files;
        }
        self
    }

    /// Gives semantic search this embedder (`None`: keyword answers that say no model is set).
    pub fn with_embedder(mut self, embedder: Option<crate::search::semantic::Embedder>) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.semantic.set_embedder(embedder);
        }
        self
    }

    /// Uses these search index settings instead of the defaults (in memory, sync before
    /// every query, English stemming).
    pub fn with_search_settings(mut self, settings: SearchSettings) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.search = SearchIndex::new(settings);
            state.search.add_listener(state.semantic.clone());
        }
        self
    }

    /// Reads calendar times given without a zone in `timezone` instead of UTC.
    pub fn with_timezone(mut self, timezone: crate::config::TimeZone) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.timezone = timezone;
        }
        self
    }

    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// The Nextcloud access of whoever sent this request: the configured user, or the caller
    /// [`NextcloudMcp::access`] resolved before the tool ran.
    pub(crate) fn user(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<NextcloudUser, ToolError> {
        if let Some(user) = &self.state.user {
            return Ok(user.clone());
        }
        match ctx.extensions.get::<Access>() {
            Some(Access {
                user: Some(user), ..
            }) => Ok(user.clone()),
            Some(Access {
                problem: Some(p), ..
            }) => Err(ToolError::Access(p.clone())),
            _ => Err(ToolError::Access(NOT_PROVISIONED.into())),
        }
    }

    /// The authenticated HTTP caller (multi-user modes).
    pub(crate) fn caller(ctx: &RequestContext<RoleServer>) -> Option<Caller> {
        ctx.extensions
            .get::<http::request::Parts>()?
            .extensions
            .get::<Caller>()
            .cloned()
    }

    /// Resolves the caller's Nextcloud access and effective scopes (token ∩ stored).
    pub(crate) async fn access(&self, ctx: &RequestContext<RoleServer>) -> Access {
        if let Some(user) = &self.state.user {
            return Access {
                user: Some(user.clone()),
                scopes: None,
                problem: None,
            };
        }
        let (Some(multi), Some(caller)) = (&self.state.multi, Self::caller(ctx)) else {
            return Access {
                user: None,
                scopes: Some(BTreeSet::new()),
                problem: Some("This request is not authenticated.".into()),
            };
        };
        match caller {
            Caller::Basic { credentials, .. } => Access {
                user: Some(self.state.nextcloud.user(credentials)),
                scopes: None,
                problem: None,
            },
            Caller::Bearer { user_id, scopes } => match multi.store.app_password(&user_id).await {
                Ok(Some(stored)) => Access {
                    user: Some(self.state.nextcloud.user(stored.credentials())),
                    scopes: crate::auth::effective_scopes(Some(&scopes), stored.scopes.as_deref()),
                    problem: None,
                },
                Ok(None) => Access {
                    user: None,
                    scopes: Some(scopes),
                    problem: Some(NOT_PROVISIONED.into()),
                },
                Err(e) => {
                    tracing::error!(error = %e, "credential store unavailable");
                    Access {
                        user: None,
                        scopes: Some(scopes),
                        problem: Some(
                            "The server's credential store is unavailable; try again shortly."
                                .into(),
                        ),
                    }
                }
            },
        }
    }

    /// The tools this caller may see (see [`Gate`]): the selection, minus tools outside the
    /// caller's effective scopes, minus apps the instance lacks. In discovery mode, only the
    /// discovery tools and what this session activated.
    async fn visible_tools(&self, ctx: &RequestContext<RoleServer>) -> Vec<Tool> {
        let gate = Gate::open(self, ctx).await;
        let mut tools = self.state.tools.list_all();
        if let Some(discovery) = &self.state.discovery {
            tools.retain(|t| {
                discover::is_discovery_tool(&t.name) || self.session.is_active(&t.name)
            });
            tools.push(discovery.call_tool.clone());
        }
        gate.filter(tools).await
    }

    /// Runs a `tools/call` after the checks every call passes, whether it came directly or
    /// through `nc_call_tool`: the tool exists here, its arguments fit its schema, and the
    /// [`Gate`] lets this caller use it.
    async fn dispatch(
        &self,
        request: CallToolRequestParams,
        mut ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let gate = Gate::open(self, &ctx).await;
        let tool = match gate.check(&request.name).await {
            Ok(tool) => tool,
            Err(gate::Refusal::Unknown(name)) => {
                return Err(McpError::invalid_params(
                    gate::Refusal::Unknown(name).to_string(),
                    None,
                ));
            }
            // Arguments are checked first, as before the gate existed.
            Err(refusal) => {
                let Some(tool) = self.state.tools.get(&request.name) else {
                    return Err(McpError::invalid_params(refusal.to_string(), None));
                };
                if let Err(message) = arguments::check(tool, request.arguments.as_ref()) {
                    return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
                }
                return Ok(
                    CallToolResult::error(vec![ContentBlock::text(refusal.to_string())]).into(),
                );
            }
        };
        if let Err(message) = arguments::check(tool, request.arguments.as_ref()) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        ctx.extensions.insert(gate.access().clone());
        let writer = match crate::tools::spec::of(&request.name) {
            Some(spec) if !spec.is_read_only() => gate.access().user.clone(),
            _ => None,
        };
        let result = self
            .state
            .tools
            .call(ToolCallContext::new(self, request, ctx))
            .await;
        // Even a failed write may have changed something (a timeout after Nextcloud applied it).
        if let Some(user) = writer {
            self.state.search.mark_changed(&user);
        }
        result
    }

    /// `nc_call_tool`: the named tool's call, with everything else of the request kept.
    async fn call_by_name(
        &self,
        mut request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args: discover::CallToolArgs = match serde_json::from_value(serde_json::Value::Object(
            request.arguments.take().unwrap_or_default(),
        )) {
            Ok(args) => args,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "Invalid arguments of `{}`: {e}",
                    discover::CALL_TOOL
                ))])
                .into());
            }
        };
        if discover::is_discovery_tool(&args.name) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "`{}` is in your tool list: call it directly.",
                args.name
            ))])
            .into());
        }
        request.name = args.name.into();
        request.arguments = args.arguments;
        match self.dispatch(request, ctx).await {
            // A tool this caller cannot use is a tool error here, as the model chose the name.
            Err(e) if e.code == rmcp::model::ErrorCode::INVALID_PARAMS => {
                Ok(CallToolResult::error(vec![ContentBlock::text(e.message.to_string())]).into())
            }
            other => other,
        }
    }
}

/// Tool error when a bearer-token caller has no stored Nextcloud access yet.
pub(crate) const NOT_PROVISIONED: &str = "You have not given this server access to your Nextcloud yet. Call `nc_auth_provision_access` and complete the Nextcloud login it links to, then retry.";

/// A caller's resolved access, stored in the request's extensions for [`NextcloudMcp::user`].
#[derive(Clone, Debug)]
pub(crate) struct Access {
    /// `None` when the caller has no Nextcloud access (see `problem`).
    pub user: Option<NextcloudUser>,
    /// Effective scopes; `None` = unrestricted.
    pub scopes: Option<BTreeSet<String>>,
    pub problem: Option<String>,
}

impl Access {
    /// Whether the caller's scopes allow this tool.
    pub fn allows(&self, spec: &ToolSpec) -> bool {
        match (&self.scopes, spec.scope) {
            (Some(granted), Some(needed)) => granted.contains(needed),
            _ => true,
        }
    }
}

/// What the transports need of a handler that wraps this one (as the conformance crate's does):
/// the server state behind it, for limits, authentication and scope checks.
impl AsRef<NextcloudMcp> for NextcloudMcp {
    fn as_ref(&self) -> &NextcloudMcp {
        self
    }
}

impl Clone for NextcloudMcp {
    /// The same server state with a fresh discovery session: what one MCP session activates
    /// is listed for it only.
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            session: Default::default(),
        }
    }
}

/// The handlers that await a lot (`list_tools`, `call_tool`, `read_resource`) box their work.
/// rmcp holds the future of whichever handler a request calls inline in its per-request
/// future, so that future is as large as the largest handler's (gate, credential store,
/// capabilities, the tool router, the Nextcloud client) and is moved several times per request,
/// `ping` included. Unboxed, those moves were over a third of the instructions of a
/// `nc_notes_get_note` call (docs/BENCHMARKS.md); one allocation is far cheaper.
impl ServerHandler for NextcloudMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = if self.state.discovery.is_some() {
            // Activated tools join the list during a session.
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .build()
        } else {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build()
        };
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("nextcloud-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("Nextcloud"),
            )
            .with_instructions(
                "Tools for the user's Nextcloud: notes, files, calendars, contacts and more. \
                 Items are addressed by the ids the list and search tools return. Updates need \
                 the ETag from the last read; if the item changed meanwhile the update is refused \
                 with a conflict and nothing is overwritten: read it again and retry.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        // Boxed: see the note on this impl.
        Box::pin(async move {
            crate::memory::note_activity();
            let mut result = ListToolsResult::with_all_items(self.visible_tools(&ctx).await);
            if ctx
                .protocol_version()
                .is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2026_07_28)
            {
                // The list depends on the caller's apps and grants: only their client may cache it.
                result = result
                    .with_ttl_ms(60_000)
                    .with_cache_scope(rmcp::model::CacheScope::Private);
            }
            Ok(result)
        })
        .await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        match &self.state.discovery {
            Some(d) if name == discover::CALL_TOOL => Some(d.call_tool.clone()),
            _ => self.state.tools.get(name).cloned(),
        }
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        // Boxed: see the note on this impl.
        Box::pin(async move {
            use tracing::Instrument;
            crate::memory::note_activity();
            let name = request.name.clone();
            let started = std::time::Instant::now();
            // The call's trace span (exported only with OTEL_EXPORTER_OTLP_ENDPOINT): a child of
            // the HTTP request's, whose context the request headers carry (see `telemetry`).
            let span = tracing::info_span!(
                target: crate::telemetry::SPAN_TARGET,
                "tools/call",
                otel.name = format_args!("tools/call {name}"),
                mcp.method.name = "tools/call",
                gen_ai.tool.name = %name,
                otel.status_code = tracing::field::Empty,
            );
            if let Some(parts) = ctx.extensions.get::<http::request::Parts>() {
                crate::telemetry::continue_trace(&span, &parts.headers);
            }
            let result = if self.state.discovery.is_some() && name == discover::CALL_TOOL {
                self.call_by_name(request, ctx)
                    .instrument(span.clone())
                    .await
            } else {
                self.dispatch(request, ctx).instrument(span.clone()).await
            };
            let outcome = match &result {
                Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => CallOutcome::Error,
                Ok(_) => CallOutcome::Ok,
                Err(_) => CallOutcome::Failed,
            };
            if outcome != CallOutcome::Ok {
                span.record("otel.status_code", "ERROR");
            }
            let elapsed = started.elapsed();
            // Only names of the catalogue become labels: an unknown name is counted as `unknown`.
            let label = if self.state.tools.get(&name).is_some() {
                name.as_ref()
            } else {
                "unknown"
            };
            crate::metrics::tool_call(label, outcome, elapsed);
            tracing::info!(
                tool = %name,
                failed = outcome != CallOutcome::Ok,
                elapsed_ms = elapsed.as_millis() as u64,
                "tool call"
            );
            result
        })
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources::list()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        // Boxed: see the note on this impl.
        Box::pin(async move {
        crate::memory::note_activity();
        let mut ctx = ctx;
        let access = self.access(&ctx).await;
        if let (Some(granted), Some(needed)) = (&access.scopes, apps::resource_scope(&request.uri))
            && !granted.contains(needed)
        {
            return Err(McpError::invalid_request(
                format!(
                    "reading `{}` needs the `{needed}` scope; call `nc_auth_update_scopes` to grant it",
                    request.uri
                ),
                None,
            ));
        }
        ctx.extensions.insert(access);
        let user = self
            .user(&ctx)
            .map_err(|e| McpError::invalid_request(e.to_string(), None))?;
        resources::read(&user, &request.uri).await.map(Into::into)
        })
        .await
    }
}

/// Discovery mode's index over these tools and its tools' router, built on a short-lived
/// thread for the reason `tools::catalogue` gives (rmcp's thread-local schema caches).
fn discovery_for(
    tools: &ToolRouter<NextcloudMcp>,
) -> Result<(discover::Discovery, ToolRouter<NextcloudMcp>), SelectionError> {
    let (discovery, mut meta) = std::thread::scope(|scope| {
        scope
            .spawn(|| discover::Discovery::new(tools))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    schema::normalise(&mut meta);
    Ok((discovery, meta))
}
