//! `nextcloud-mcp-conformance`: the product's MCP server plus the fixtures of the official MCP
//! conformance suite (`test_*` tools, `test://` resources, prompts, completions, logging and
//! subscriptions), so the suite can exercise the protocol end to end.
//!
//! The fixtures live here, not in `nextcloud-mcp`, so the shipped binary carries no test code:
//! [`Conformance`] wraps the product's [`NextcloudMcp`] handler, answers for the fixtures and
//! hands everything else to it, and is served by the product's own transports
//! ([`nextcloud_mcp::run_with`]). The suite (npm `@modelcontextprotocol/conformance`, run by
//! `.ci/conformance.sh`) calls the fixtures by name and checks their exact content, so names,
//! texts and shapes follow its scenarios. None of them touches Nextcloud. See
//! `docs/CONFORMANCE.md`.
//!
//! Sampling, roots and logging are deprecated by SEP-2577 but still part of both protocol
//! revisions the suite checks, so the fixtures use them on purpose.
#![allow(deprecated)]

mod fixtures;
mod tools;

use std::sync::Arc;

use nextcloud_mcp::NextcloudMcp;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    GetPromptRequestParams, GetPromptResponse, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

pub use fixtures::{CACHE_TTL_MS, Fixtures};

/// The product's handler plus the suite's fixtures. Cheap to clone: one per MCP session
/// shares the fixture state (subscriptions, log level, `requestState` tokens).
#[derive(Clone)]
pub struct Conformance {
    server: NextcloudMcp,
    fixtures: Arc<Fixtures>,
    tools: Arc<ToolRouter<Conformance>>,
}

impl Conformance {
    /// Serves `server`'s tools and resources with the fixtures beside them.
    pub fn new(server: NextcloudMcp) -> Self {
        Self {
            server,
            fixtures: Arc::default(),
            tools: Arc::new(Self::fixture_tools()),
        }
    }
}

/// The transports take the product's state (limits, multi-user authentication) from here.
impl AsRef<NextcloudMcp> for Conformance {
    fn as_ref(&self) -> &NextcloudMcp {
        &self.server
    }
}

impl ServerHandler for Conformance {
    /// The product's identity and instructions, with what the fixtures add to its
    /// capabilities (prompts, completions, logging, subscriptions, list-changed).
    fn get_info(&self) -> ServerConfig {
        let mut info = self.server.get_info();
        info.capabilities = Fixtures::capabilities();
        info
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        self.server.supported_protocol_versions()
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let mut result = self.server.list_tools(request, ctx).await?;
        result.tools.extend(self.tools.list_all());
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        match self.tools.get(name) {
            Some(tool) => Some(tool.clone()),
            None => self.server.get_tool(name),
        }
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if self.tools.has_route(&request.name) {
            self.tools
                .call(ToolCallContext::new(self, request, ctx))
                .await
        } else {
            self.server.call_tool(request, ctx).await
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut result = self.server.list_resources(request, ctx).await?;
        result.resources.extend(self.fixtures.resources());
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let mut result = self.server.list_resource_templates(request, ctx).await?;
        result
            .resource_templates
            .extend(self.fixtures.resource_templates());
        Ok(result)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match self.fixtures.read_resource(&request.uri) {
            Some(result) => result.map(Into::into),
            None => self.server.read_resource(request, ctx).await,
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(self.fixtures.list_prompts())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.fixtures.get_prompt(request)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.fixtures.complete(&request)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.fixtures.set_level(request.level);
        Ok(())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.fixtures.subscribe(&request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.fixtures.unsubscribe(&request.uri);
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.fixtures.accepted_subscription_filter(requested)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        self.fixtures.listen(context).await
    }
}
