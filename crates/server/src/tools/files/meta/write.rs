use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{existing_tag, file_id, item_path, tag_arg};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCommentArgs {
    pub path: String,
    /// At most 1000 characters.
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateCommentOut {
    pub path: String,
    pub file_id: u64,
    /// The new comment's id (absent if Nextcloud did not name it; the comment was still posted).
    pub comment_id: Option<u64>,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RestoreTrashArgs {
    /// From nc_webdav_list_trash.
    pub entry_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RestoreTrashOut {
    pub entry_id: String,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RestoreVersionArgs {
    pub path: String,
    /// From nc_webdav_list_versions.
    pub version_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RestoreVersionOut {
    pub path: String,
    pub restored_version: String,
    /// The file's ETag after the rollback.
    pub etag: Option<String>,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TagFileArgs {
    pub path: String,
    pub tag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TagFileOut {
    pub path: String,
    pub tag: String,
    pub tag_id: u64,
    /// Whether the file carries the tag now.
    pub assigned: bool,
    pub message: String,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_webdav_create_comment",
        &apps::FILES,
        Some("files.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_webdav_restore_from_trash",
        &apps::FILES,
        Some("files.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_webdav_restore_version",
        &apps::FILES,
        Some("files.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_webdav_tag_file",
        &apps::FILES,
        Some("files.write"),
        Update,
    ),
    ToolSpec::new(
        "nc_webdav_untag_file",
        &apps::FILES,
        Some("files.write"),
        Update,
    ),
];

#[tool_router(router = files_meta_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_webdav_create_comment",
        title = "Comment on a file",
        description = "Post a comment on a file or folder; `@userid` mentions notify people."
    )]
    async fn nc_webdav_create_comment(
        &self,
        Parameters(args): Parameters<CreateCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreateCommentOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let trimmed = non_empty("message", &args.message, "is empty; write the comment text")?;
        let length = trimmed.chars().count();
        let max = nextcloud::comments::MAX_MESSAGE_LENGTH;
        if length > max {
            return Err(ToolError::invalid(
                "message",
                format!(
                    "is {length} characters, {} over Nextcloud's limit of {max}; nothing was posted. Shorten it, or put the details in the file and leave a short comment.",
                    length - max
                ),
            ));
        }
        let user = self.user(&ctx)?;
        let id = file_id(&user, &path).await?;
        let comment_id = user.comments().create(id, &args.message).await?;
        answer(CreateCommentOut {
            path,
            file_id: id,
            comment_id,
            message: args.message,
        })
    }

    #[tool(
        name = "nc_webdav_restore_from_trash",
        title = "Restore from the trash bin",
        description = "Undelete an item from the trash bin to where it was, by entry_id from nc_webdav_list_trash."
    )]
    async fn nc_webdav_restore_from_trash(
        &self,
        Parameters(args): Parameters<RestoreTrashArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RestoreTrashOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let entry_id = args.entry_id.trim().to_string();
        user.trashbin().restore(&entry_id).await?;
        answer(RestoreTrashOut {
            message: format!("Restored `{entry_id}` from the trash bin."),
            entry_id,
        })
    }

    #[tool(
        name = "nc_webdav_restore_version",
        title = "Restore a file version",
        description = "Roll a file back to an earlier version; the content it replaces is kept as a version too."
    )]
    async fn nc_webdav_restore_version(
        &self,
        Parameters(args): Parameters<RestoreVersionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RestoreVersionOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let version = non_empty(
            "version_id",
            &args.version_id,
            "expected a version id from nc_webdav_list_versions",
        )?
        .to_string();
        let user = self.user(&ctx)?;
        let id = file_id(&user, &path).await?;
        user.versions().restore(id, &version).await?;
        let etag = user.files().stat(&path).await.ok().and_then(|i| i.etag);
        answer(RestoreVersionOut {
            message: format!("`{path}` now has the content of version {version}."),
            path,
            restored_version: version,
            etag,
        })
    }

    #[tool(
        name = "nc_webdav_tag_file",
        title = "Tag a file",
        description = "Put a collaborative tag on a file or folder, creating the tag if it does not exist."
    )]
    async fn nc_webdav_tag_file(
        &self,
        Parameters(args): Parameters<TagFileArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagFileOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let name = tag_arg(&args.tag)?;
        let user = self.user(&ctx)?;
        let id = file_id(&user, &path).await?;
        let tag = user.system_tags().find_or_create(name).await?;
        if !tag.can_assign {
            return Err(ToolError::invalid(
                "tag",
                format!(
                    "`{}` is a restricted tag that only administrators can assign",
                    tag.name
                ),
            ));
        }
        let added = user.system_tags().assign(id, tag.id).await?;
        answer(TagFileOut {
            message: if added {
                format!("Tagged `{path}` with `{}`.", tag.name)
            } else {
                format!(
                    "`{path}` already had the tag `{}`; nothing changed.",
                    tag.name
                )
            },
            path,
            tag: tag.name,
            tag_id: tag.id,
            assigned: true,
        })
    }

    #[tool(
        name = "nc_webdav_untag_file",
        title = "Remove a tag from a file",
        description = "Take a collaborative tag off a file or folder."
    )]
    async fn nc_webdav_untag_file(
        &self,
        Parameters(args): Parameters<TagFileArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagFileOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let name = tag_arg(&args.tag)?;
        let user = self.user(&ctx)?;
        let id = file_id(&user, &path).await?;
        let tag = existing_tag(&user, name).await?;
        let removed = user.system_tags().unassign(id, tag.id).await?;
        answer(TagFileOut {
            message: if removed {
                format!("Removed the tag `{}` from `{path}`.", tag.name)
            } else {
                format!(
                    "`{path}` did not have the tag `{}`; nothing changed.",
                    tag.name
                )
            },
            path,
            tag: tag.name,
            tag_id: tag.id,
            assigned: false,
        })
    }
}
