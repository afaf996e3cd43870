//! The one answer to "may this caller use this tool?". `tools/list`, `tools/call` and the
//! discovery tools (find, describe, call by name) all ask it, so a tool hidden in one place is
//! hidden in all of them.
//!
//! What it checks, in order: the tool is on this server (the configured selection removed the
//! others from the router at start-up: `--enable-app`, `--read-only`, `--tools`, profiles),
//! the caller's effective scopes include the tool's scope, and the tool's app is installed on
//! the caller's Nextcloud in a version new enough for it, with the capability feature it needs
//! (if any).

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::Tool;
use rmcp::service::RequestContext;
use tokio::sync::OnceCell;

use super::{Access, NextcloudMcp, selection};
use crate::tools::spec;

/// Why a caller may not use a tool. The messages say what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("unknown tool `{0}`: it does not exist or is disabled on this server")]
    Unknown(String),
    #[error(
        "`{tool}` needs the `{needed}` scope, which your access does not include. Call `nc_auth_update_scopes` with add_scopes [\"{needed}\"] to grant it (and sign in again if your client asks)."
    )]
    Scope { tool: String, needed: &'static str },
    #[error(
        "The {app} app is not installed or not enabled on this Nextcloud, so `{tool}` cannot run."
    )]
    AppMissing { app: &'static str, tool: String },
    #[error(
        "This Nextcloud's {app} app does not offer `{feature}`, so `{tool}` cannot run (an older or restricted {app})."
    )]
    FeatureMissing {
        app: &'static str,
        feature: &'static str,
        tool: String,
    },
}

/// One request's view of the tools: the caller's access, and their instance's capabilities
/// fetched at most once (and only if a tool's app needs them).
pub(crate) struct Gate<'a> {
    server: &'a NextcloudMcp,
    access: Access,
    /// `Some(None)`: fetched, but unavailable; then no app is hidden and calls report the real
    /// error.
    capabilities: OnceCell<Option<Arc<nextcloud::Capabilities>>>,
}

impl<'a> Gate<'a> {
    /// The gate for this request, reusing the access already resolved for it if any.
    pub async fn open(server: &'a NextcloudMcp, ctx: &RequestContext<RoleServer>) -> Self {
        let access = match ctx.extensions.get::<Access>() {
            Some(access) => access.clone(),
            None => server.access(ctx).await,
        };
        Self {
            server,
            access,
            capabilities: OnceCell::new(),
        }
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The tool, if this caller may use it; otherwise why not.
    pub async fn check(&self, name: &str) -> Result<&'a Tool, Refusal> {
        let tool = self
            .server
            .state
            .tools
            .get(name)
            .ok_or_else(|| Refusal::Unknown(name.to_string()))?;
        self.check_spec(name).await?;
        Ok(tool)
    }

    /// As [`Gate::check`], for a tool known to be on the server.
    async fn check_spec(&self, name: &str) -> Result<(), Refusal> {
        // Tools without a record (the discovery tools, embedders' extras) are always usable.
        let Some(spec) = spec::of(name) else {
            return Ok(());
        };
        if let Some(needed) = spec.scope
            && !self.access.allows(spec)
        {
            return Err(Refusal::Scope {
                tool: name.to_string(),
                needed,
            });
        }
        if spec.app.capability.is_some()
            && let Some(caps) = self.capabilities().await
        {
            if !selection::app_available(spec, caps) {
                return Err(Refusal::AppMissing {
                    app: spec.app.title,
                    tool: name.to_string(),
                });
            }
            if let Some(feature) = spec.feature
                && !selection::feature_available(spec, caps)
            {
                return Err(Refusal::FeatureMissing {
                    app: spec.app.title,
                    feature,
                    tool: name.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Keeps the tools this caller may use, in their order.
    pub async fn filter(&self, tools: Vec<Tool>) -> Vec<Tool> {
        let mut kept = Vec::with_capacity(tools.len());
        for tool in tools {
            if self.check_spec(&tool.name).await.is_ok() {
                kept.push(tool);
            }
        }
        kept
    }

    /// The caller's capabilities; `None` without Nextcloud access (the tool itself then says
    /// how to get it) or when they cannot be fetched.
    async fn capabilities(&self) -> Option<&nextcloud::Capabilities> {
        self.capabilities
            .get_or_init(|| async {
                let user = self.access.user.as_ref()?;
                match user.capabilities().await {
                    Ok(caps) => Some(caps),
                    Err(e) => {
                        tracing::warn!(error = %e, "capabilities unavailable; hiding no app");
                        None
                    }
                }
            })
            .await
            .as_deref()
    }
}
