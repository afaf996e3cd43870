use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, given};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::sharing::{NewShare, ShareUpdate, share_type};

use super::ShareResult;
use super::read::ShareIdArgs;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateShareArgs {
    pub path: String,
    /// User id, group id or address; omit for links.
    #[serde(default)]
    pub share_with: Option<String>,
    /// 0 user (default), 1 group, 3 public link, 4 e-mail, 6 federated.
    #[serde(default)]
    pub share_type: i64,
    /// Sum of 1 read, 2 update, 4 create, 8 delete, 16 reshare.
    #[serde(default = "default_permissions")]
    pub permissions: i64,
}

fn default_permissions() -> i64 {
    1
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PublicLinkArgs {
    pub path: String,
    #[serde(default = "default_expiry")]
    pub expires_in_minutes: i64,
}

fn default_expiry() -> i64 {
    30
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateShareArgs {
    pub share_id: u64,
    /// Sum of 1 read, 2 update, 4 create, 8 delete, 16 reshare.
    pub permissions: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedShare {
    pub share_id: u64,
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteShareResult {
    pub result: DeletedShare,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PublicLinkOut {
    pub path: String,
    pub share_id: u64,
    /// The link to give people.
    pub url: String,
    /// Direct download of the file (or a zip of the folder).
    pub download_url: String,
    pub token: String,
    pub permissions: i64,
    /// The requested expiry instant (RFC 3339); Nextcloud enforces it at day granularity.
    pub expires_at: String,
}

fn check_permissions(p: i64) -> Result<(), ToolError> {
    if !(1..=31).contains(&p) || p & 1 == 0 {
        return Err(ToolError::invalid(
            "permissions",
            format!(
                "expected a sum of 1 read (required), 2 update, 4 create, 8 delete, 16 reshare (1-31, odd), got {p}"
            ),
        ));
    }
    Ok(())
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_share_create",
        &apps::SHARING,
        Some("sharing.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_share_create_public_link",
        &apps::SHARING,
        Some("sharing.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_share_delete",
        &apps::SHARING,
        Some("sharing.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_share_update",
        &apps::SHARING,
        Some("sharing.write"),
        Update,
    ),
];

#[tool_router(router = sharing_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_share_create",
        title = "Share a file or folder",
        description = "Share a file or folder with a user, group, e-mail, another server or as a public link."
    )]
    async fn nc_share_create(
        &self,
        Parameters(args): Parameters<CreateShareArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ShareResult>>, ToolError> {
        check_permissions(args.permissions)?;
        let share_with = given(args.share_with);
        if matches!(
            args.share_type,
            share_type::USER | share_type::GROUP | share_type::EMAIL | share_type::FEDERATED
        ) && share_with.is_none()
        {
            return Err(ToolError::invalid(
                "share_with",
                "is required for this share_type (a user id for 0, a group id for 1, an address for 4/6)",
            ));
        }
        let user = self.user(&ctx)?;
        let share = user
            .sharing()
            .create(&NewShare {
                path: args.path,
                share_type: args.share_type,
                share_with,
                permissions: Some(args.permissions),
                ..Default::default()
            })
            .await?;
        answer(ShareResult {
            result: share.into(),
        })
    }

    #[tool(
        name = "nc_share_create_public_link",
        title = "Create a public link",
        description = "A read-only public link to a file or folder expiring after some minutes (end of that day), with a download link."
    )]
    async fn nc_share_create_public_link(
        &self,
        Parameters(args): Parameters<PublicLinkArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PublicLinkOut>>, ToolError> {
        if !(1..=60 * 24 * 366 * 10).contains(&args.expires_in_minutes) {
            return Err(ToolError::invalid(
                "expires_in_minutes",
                "expected a positive number of minutes (at most ten years)",
            ));
        }
        let at = chrono::Utc::now() + chrono::Duration::minutes(args.expires_in_minutes);
        // A link expires at 00:00 on expireDate, so the next day keeps it valid until `at`.
        let expire_date = (at.date_naive() + chrono::Days::new(1))
            .format("%Y-%m-%d")
            .to_string();
        let path = nextcloud::files::normalize_path("path", &args.path)?;
        let user = self.user(&ctx)?;
        let share = user
            .sharing()
            .create(&NewShare {
                path: path.clone(),
                share_type: share_type::PUBLIC_LINK,
                permissions: Some(nextcloud::sharing::permission::READ),
                expire_date: Some(expire_date),
                ..Default::default()
            })
            .await?;
        let url = share.url.clone().ok_or_else(|| {
            nextcloud::Error::InvalidResponse(format!(
                "public link share {} came back without a URL",
                share.id
            ))
        })?;
        answer(PublicLinkOut {
            path,
            share_id: share.id,
            download_url: format!("{}/download", url.trim_end_matches('/')),
            url,
            token: share.token.unwrap_or_default(),
            permissions: share.permissions,
            expires_at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    #[tool(
        name = "nc_share_delete",
        title = "Delete a share",
        description = "Stop a share: its people or link lose access; the file itself stays."
    )]
    async fn nc_share_delete(
        &self,
        Parameters(args): Parameters<ShareIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeleteShareResult>>, ToolError> {
        let user = self.user(&ctx)?;
        user.sharing().delete(args.share_id).await?;
        answer(DeleteShareResult {
            result: DeletedShare {
                share_id: args.share_id,
                message: format!("Share {} was deleted.", args.share_id),
            },
        })
    }

    #[tool(
        name = "nc_share_update",
        title = "Change share permissions",
        description = "Change what the people of a share may do: read, change, add, delete or share again."
    )]
    async fn nc_share_update(
        &self,
        Parameters(args): Parameters<UpdateShareArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ShareResult>>, ToolError> {
        check_permissions(args.permissions)?;
        let user = self.user(&ctx)?;
        let share = user
            .sharing()
            .update(
                args.share_id,
                &ShareUpdate {
                    permissions: Some(args.permissions),
                    ..Default::default()
                },
            )
            .await?;
        answer(ShareResult {
            result: share.into(),
        })
    }
}
