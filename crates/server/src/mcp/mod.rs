//! The MCP server: [`NextcloudMcp`] implements rmcp's `ServerHandler`, decides which tools a
//! caller sees (configured selection, then the instance's installed apps) and routes calls.

mod arguments;
mod resources;
mod schema;
mod selection;

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
use crate::config::ToolSelection;
use crate::search::NotesIndex;
use crate::tools::common::ToolError;
use crate::tools::spec::{self, ToolSpec};

pub use selection::SelectionError;

/// Shared by every session: built once at start-up, cloned (as an `Arc`) per session.
pub struct ServerState {
    pub nextcloud: Nextcloud,
    /// The single configured user (`single_user_basic`); `None` in the multi-user modes.
    pub user: Option<NextcloudUser>,
    /// Credential store and token verifier of the multi-user modes.
    pub multi: Option<Arc<MultiUser>>,
    pub tools: ToolRouter<NextcloudMcp>,
    pub notes_index: NotesIndex,
    /// `EXCLUDED_TAGS`: files the file and sharing tools must not see.
    pub file_guard: crate::tools::files::guard::TagGuard,
    /// Caps and chunking of the file tools.
    pub files: crate::config::FileSettings,
    /// The zone calendar tools read local times in when a call names none (`--timezone`).
    pub timezone: crate::config::TimeZone,
}

/// The MCP handler. Cheap to clone: one per MCP session shares the same state.
#[derive(Clone)]
pub struct NextcloudMcp {
    state: Arc<ServerState>,
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
        let mut tools = selection::apply(crate::tools::catalogue(), selection)?;
        // The provisioning tools only make sense when users provision by Login Flow.
        let login_flow = multi
            .as_ref()
            .is_some_and(|m| m.settings.mode == crate::cli::DeploymentMode::LoginFlow);
        if !login_flow {
            for tool in tools.list_all() {
                if spec::of(&tool.name).is_some_and(|s| s.app.id == apps::AUTH.id) {
                    tools.remove_route(&tool.name);
                }
            }
        }
        schema::normalise(&mut tools);
        Ok(Self {
            state: Arc::new(ServerState {
                nextcloud,
                user,
                multi,
                tools,
                notes_index: NotesIndex::default(),
                file_guard: Default::default(),
                files: Default::default(),
                timezone: Default::default(),
            }),
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

    /// The tools this caller may see: the selection, minus tools outside the caller's
    /// effective scopes, minus apps the instance lacks. When the capabilities cannot be
    /// fetched, no app is hidden: calls will report the real error.
    async fn visible_tools(&self, ctx: &RequestContext<RoleServer>) -> Vec<Tool> {
        let access = self.access(ctx).await;
        let all: Vec<Tool> = self
            .state
            .tools
            .list_all()
            .into_iter()
            .filter(|tool| spec::of(&tool.name).is_none_or(|s| access.allows(s)))
            .collect();
        let Some(user) = access.user else {
            return all;
        };
        match user.capabilities().await {
            Ok(caps) => all
                .into_iter()
                .filter(|tool| {
                    spec::of(&tool.name).is_none_or(|s| selection::app_available(s, &caps))
                })
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "capabilities unavailable; listing every tool");
                all
            }
        }
    }

    /// Refuses a call to a tool of an app the instance does not have, before any other work.
    async fn check_app_installed(
        &self,
        spec: &ToolSpec,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(), ToolError> {
        if spec.app.capability.is_none() {
            return Ok(());
        }
        let user = self.user(ctx)?;
        if let Ok(caps) = user.capabilities().await
            && !selection::app_available(spec, &caps)
        {
            return Err(ToolError::AppMissing {
                app: spec.app.title,
                tool: spec.name.to_string(),
            });
        }
        Ok(())
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

impl ServerHandler for NextcloudMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build();
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
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        crate::memory::note_activity();
        let Some(tool) = self.state.tools.get(&request.name) else {
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool `{}`: it does not exist or is disabled on this server",
                    request.name
                ),
                None,
            ));
        };
        if let Err(message) = arguments::check(tool, request.arguments.as_ref()) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        let mut ctx = ctx;
        let access = self.access(&ctx).await;
        let spec = spec::of(&request.name);
        if let Some(spec) = spec
            && let Some(needed) = spec.scope
            && !access.allows(spec)
        {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "`{}` needs the `{needed}` scope, which your access does not include. Call `nc_auth_update_scopes` with add_scopes [\"{needed}\"] to grant it (and sign in again if your client asks).",
                request.name
            ))])
            .into());
        }
        ctx.extensions.insert(access);
        if let Some(spec) = spec
            && let Err(e) = self.check_app_installed(spec, &ctx).await
        {
            return Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]).into());
        }
        let name = request.name.clone();
        let started = std::time::Instant::now();
        let result = self
            .state
            .tools
            .call(ToolCallContext::new(self, request, ctx))
            .await;
        let failed = match &result {
            Ok(CallToolResponse::Complete(r)) => r.is_error == Some(true),
            Ok(_) => false,
            Err(_) => true,
        };
        tracing::info!(
            tool = %name,
            failed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tool call"
        );
        result
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
    }
}
