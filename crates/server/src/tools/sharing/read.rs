use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, given};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::sharing::ShareFilter;

use super::{ShareOut, ShareResult};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ShareIdArgs {
    pub share_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListSharesArgs {
    /// Only shares of this file or folder.
    #[serde(default)]
    pub path: Option<String>,
    /// What others shared with you.
    #[serde(default)]
    pub shared_with_me: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ShareListResult {
    pub result: Vec<ShareOut>,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("nc_share_get", &apps::SHARING, Some("sharing.read"), Read),
    ToolSpec::new("nc_share_list", &apps::SHARING, Some("sharing.read"), Read),
];

#[tool_router(router = sharing_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_share_get",
        title = "Get a share",
        description = "Show one share: what is shared, with whom, permissions, expiry and link."
    )]
    async fn nc_share_get(
        &self,
        Parameters(args): Parameters<ShareIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ShareResult>>, ToolError> {
        let user = self.user(&ctx)?;
        let share = user.sharing().get(args.share_id).await?;
        answer(ShareResult {
            result: share.into(),
        })
    }

    #[tool(
        name = "nc_share_list",
        title = "List shares",
        description = "Your shares, optionally of one file or folder; with shared_with_me, what others shared with you."
    )]
    async fn nc_share_list(
        &self,
        Parameters(args): Parameters<ListSharesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ShareListResult>>, ToolError> {
        let user = self.user(&ctx)?;
        let shares = user
            .sharing()
            .list(&ShareFilter {
                path: given(args.path),
                shared_with_me: args.shared_with_me,
            })
            .await?;
        answer(ShareListResult {
            result: shares.into_iter().map(ShareOut::from).collect(),
        })
    }
}
