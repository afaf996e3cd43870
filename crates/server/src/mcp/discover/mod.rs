//! Discovery mode (`--tool-mode discover`): `tools/list` shows three small tools instead of
//! the whole catalogue. `nc_find_tools` ranks the tools for a task described in plain words,
//! `nc_describe_tools` gives named tools' full definitions, and `nc_call_tool` calls a tool by
//! name. A client that reloads its list on `notifications/tools/list_changed` can have the
//! tools it found or described activated: they are then listed as ordinary tools for the rest
//! of its session.
//!
//! Every answer goes through the same [`Gate`] as `tools/list` and `tools/call`: a tool the
//! caller could not see or call in the default mode is neither found, described nor called.

pub mod finder;

use std::collections::BTreeSet;
use std::sync::Mutex;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{JsonObject, ProtocolVersion, Tool, ToolAnnotations};
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use finder::{Found, ToolFinder};

use super::NextcloudMcp;
use super::gate::Gate;
use crate::tools::common::ToolError;

pub const FIND_TOOLS: &str = "nc_find_tools";
pub const DESCRIBE_TOOLS: &str = "nc_describe_tools";
pub const CALL_TOOL: &str = "nc_call_tool";

/// Whether the tool is one of the discovery tools (always listed in discovery mode).
pub fn is_discovery_tool(name: &str) -> bool {
    matches!(name, FIND_TOOLS | DESCRIBE_TOOLS | CALL_TOOL)
}

/// What one MCP session activated. Each clone of the handler (one per session) has its own.
#[derive(Debug, Default)]
pub(crate) struct Session {
    activated: Mutex<BTreeSet<String>>,
}

impl Session {
    pub fn is_active(&self, name: &str) -> bool {
        self.lock().contains(name)
    }

    /// Adds the names; returns those that were not active yet.
    fn activate(&self, names: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut active = self.lock();
        names
            .into_iter()
            .filter(|n| active.insert(n.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.activated.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Everything discovery mode needs, built at start-up.
pub struct Discovery {
    pub(crate) finder: ToolFinder,
    /// `nc_call_tool`'s definition. It has no route: `call_tool` unwraps it, so the inner call
    /// keeps everything of the request (input responses, task hints) as a direct call would.
    pub(crate) call_tool: Tool,
}

impl Discovery {
    /// Indexes the server's tools (after selection) and returns the discovery tools' router.
    pub fn new(
        tools: &ToolRouter<NextcloudMcp>,
    ) -> Result<(Self, ToolRouter<NextcloudMcp>), finder::FinderError> {
        let indexed: Vec<Tool> = tools
            .list_all()
            .into_iter()
            .filter(|t| !is_discovery_tool(&t.name))
            .collect();
        let finder = ToolFinder::new(&indexed)?;
        let schema = rmcp::handler::server::common::schema_for_type::<CallToolArgs>();
        let mut call_tool = Tool::new(
            CALL_TOOL,
            "Call a tool by name with its arguments (see nc_describe_tools for them). The result is that tool's result.",
            schema,
        )
        .with_title("Call a tool")
        .with_annotations(ToolAnnotations::from_raw(
            None,
            Some(false),
            Some(true),
            Some(false),
            Some(true),
        ));
        super::schema::normalise_tool(&mut call_tool);
        Ok((Self { finder, call_tool }, NextcloudMcp::discovery_router()))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindToolsArgs {
    /// What you want to do, in plain words.
    pub task: String,
    /// Most tools to return (1-20).
    #[serde(default = "default_limit")]
    pub limit: u8,
    /// Add the tools found to your tool list for this session.
    #[serde(default)]
    pub activate: bool,
}

fn default_limit() -> u8 {
    5
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FoundTool {
    pub name: String,
    /// First sentence of its description.
    pub description: String,
    /// Relevance, 1 for the best match.
    pub score: f32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FindToolsOut {
    pub tools: Vec<FoundTool>,
    /// Tools newly added to your tool list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activated: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DescribeToolsArgs {
    /// Tool names, as nc_find_tools returns them.
    pub names: Vec<String>,
    /// Add these tools to your tool list for this session.
    #[serde(default)]
    pub activate: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Unavailable {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DescribeToolsOut {
    /// Definitions as tools/list gives them.
    pub tools: Vec<JsonObject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activated: Vec<String>,
}

/// `nc_call_tool`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallToolArgs {
    /// The tool's name.
    pub name: String,
    /// The tool's arguments.
    #[serde(default)]
    pub arguments: Option<JsonObject>,
}

#[tool_router(router = discovery_router, vis = "pub(crate)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_find_tools",
        title = "Find tools",
        description = "Find the tools for a task described in plain words (e.g. \"add milk to my to-do list\"), best first. Then call one with nc_call_tool."
    )]
    async fn nc_find_tools(
        &self,
        Parameters(args): Parameters<FindToolsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<FindToolsOut>, ToolError> {
        if !(1..=20).contains(&args.limit) {
            return Err(ToolError::invalid(
                "limit",
                format!("expected 1 to 20, got {}", args.limit),
            ));
        }
        let Some(discovery) = &self.state.discovery else {
            return Err(ToolError::Access("discovery mode is off".into()));
        };
        let gate = Gate::open(self, &ctx).await;
        let mut tools = Vec::new();
        let mut best = None;
        for Found { name, score } in discovery.finder.find(&args.task) {
            if tools.len() == usize::from(args.limit) {
                break;
            }
            let Ok(tool) = gate.check(&name).await else {
                continue;
            };
            let best = *best.get_or_insert(score);
            tools.push(FoundTool {
                description: first_sentence(tool.description.as_deref().unwrap_or_default()),
                score: (score / best * 100.0).round() / 100.0,
                name,
            });
        }
        let activated = if args.activate {
            self.activate(tools.iter().map(|t| t.name.clone()), &ctx)
                .await
        } else {
            Vec::new()
        };
        Ok(Json(FindToolsOut { tools, activated }))
    }

    #[tool(
        name = "nc_describe_tools",
        title = "Describe tools",
        description = "Full definitions (input and output schemas) of tools named by nc_find_tools."
    )]
    async fn nc_describe_tools(
        &self,
        Parameters(args): Parameters<DescribeToolsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DescribeToolsOut>, ToolError> {
        if args.names.is_empty() || args.names.len() > 20 {
            return Err(ToolError::invalid("names", "give 1 to 20 tool names"));
        }
        let gate = Gate::open(self, &ctx).await;
        let mut tools = Vec::new();
        let mut described = Vec::new();
        let mut unavailable = Vec::new();
        for name in args.names {
            let tool = if name == CALL_TOOL {
                self.state
                    .discovery
                    .as_ref()
                    .map(|d| &d.call_tool)
                    .ok_or_else(|| super::gate::Refusal::Unknown(name.clone()))
            } else {
                gate.check(&name).await
            };
            match tool {
                Ok(tool) => {
                    if let Ok(serde_json::Value::Object(definition)) = serde_json::to_value(tool) {
                        tools.push(definition);
                        described.push(name);
                    }
                }
                Err(refusal) => unavailable.push(Unavailable {
                    name,
                    reason: refusal.to_string(),
                }),
            }
        }
        let activated = if args.activate {
            self.activate(described, &ctx).await
        } else {
            Vec::new()
        };
        Ok(Json(DescribeToolsOut {
            tools,
            unavailable,
            activated,
        }))
    }
}

impl NextcloudMcp {
    /// Lists these tools for the rest of the session and tells the client its list changed.
    /// Stateless clients (`2026-07-28`) have no session to remember them in.
    async fn activate(
        &self,
        names: impl IntoIterator<Item = String>,
        ctx: &RequestContext<RoleServer>,
    ) -> Vec<String> {
        if ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
        {
            return Vec::new();
        }
        let names = names.into_iter().filter(|n| !is_discovery_tool(n));
        let added = self.session.activate(names);
        if !added.is_empty()
            && let Err(e) = ctx.peer.notify_tool_list_changed().await
        {
            tracing::warn!(error = %e, "could not send tools/list_changed");
        }
        added
    }
}

/// The first sentence of a description: enough to choose among the tools found.
fn first_sentence(description: &str) -> String {
    let end = description
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .find(|&end| {
            !["e.g.", "i.e."]
                .iter()
                .any(|a| description[..end].ends_with(a))
        })
        .unwrap_or(description.len());
    description[..end].trim().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_sentence_stops_at_the_first_full_stop() {
        assert_eq!(
            super::first_sentence("Read a note. Then more."),
            "Read a note."
        );
        assert_eq!(super::first_sentence("No stop"), "No stop");
        assert_eq!(super::first_sentence("e.g. this. That"), "e.g. this.");
    }
}
