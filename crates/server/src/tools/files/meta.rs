//! What Nextcloud keeps about files besides their content: comments, the trash bin, versions
//! and collaborative system tags (`nc_webdav_*_comment(s)`, `*_trash`, `*_version(s)`,
//! `*_tag(s)`). Files are addressed by path; the file id these APIs need is looked up first.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FileEntry, rfc3339};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::NextcloudUser;
use nextcloud::files::normalize_path;
use nextcloud::systemtags::SystemTag;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListCommentsArgs {
    /// File or folder whose comments to read, relative to your home folder.
    pub path: String,
    /// Most comments to return (1-200, default 20), newest first.
    #[serde(default = "default_comment_limit")]
    pub limit: i64,
    /// How many of the newest comments to skip, for paging (default 0).
    #[serde(default)]
    pub offset: i64,
}

fn default_comment_limit() -> i64 {
    20
}

/// One comment.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentOut {
    pub id: u64,
    /// The text as written (mentions like `@alice` included).
    pub message: String,
    /// User id of the author.
    pub actor_id: String,
    /// `users` for people.
    pub actor_type: String,
    pub actor_display_name: Option<String>,
    /// When it was posted (HTTP date as Nextcloud sends it).
    pub creation_datetime: Option<String>,
    /// `comment` for ordinary comments.
    pub verb: String,
    /// Whether you have not seen it yet.
    pub is_unread: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListCommentsOut {
    /// Newest first.
    pub results: Vec<CommentOut>,
    /// Comments in this page; a full page means there may be more (raise `offset`).
    pub count: usize,
    pub path: String,
    pub file_id: u64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCommentArgs {
    /// File or folder to comment on, relative to your home folder.
    pub path: String,
    /// The comment (at most 1000 characters). Mention people with `@userid` to notify them.
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

/// One item in the trash bin.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TrashItemOut {
    /// Pass this to nc_webdav_restore_from_trash.
    pub entry_id: String,
    /// Name before deletion.
    pub name: String,
    /// Where it was, relative to your home folder, name included.
    pub original_location: String,
    /// When it was deleted, RFC 3339 UTC.
    pub deleted_at: Option<String>,
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: u64,
    pub content_type: Option<String>,
    pub file_id: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListTrashOut {
    /// Most recently deleted first.
    pub items: Vec<TrashItemOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RestoreTrashArgs {
    /// The item's `entry_id` from nc_webdav_list_trash (e.g. `report.pdf.d1700000000`).
    pub entry_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RestoreTrashOut {
    pub entry_id: String,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathOnlyArgs {
    /// File path relative to your home folder.
    pub path: String,
}

/// One version of a file.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VersionOut {
    /// Pass this to nc_webdav_restore_version.
    pub version_id: String,
    /// Whether this is the file's current content.
    pub is_current: bool,
    pub size: u64,
    /// When this content was written, RFC 3339 UTC.
    pub modified: Option<String>,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    /// A name someone gave the version.
    pub label: Option<String>,
    /// User id of whoever wrote it, when known.
    pub author: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListVersionsOut {
    pub path: String,
    pub file_id: u64,
    /// Newest first; the first is usually the current content.
    pub versions: Vec<VersionOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RestoreVersionArgs {
    /// The file to roll back, relative to your home folder.
    pub path: String,
    /// The `version_id` from nc_webdav_list_versions.
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

/// One system tag.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TagOut {
    pub id: u64,
    pub name: String,
    /// Whether everyone can see it (invisible tags are for admins and automation).
    pub user_visible: bool,
    /// Whether ordinary users may add and remove it.
    pub user_assignable: bool,
    /// Whether you may add and remove it.
    pub can_assign: bool,
}

impl From<SystemTag> for TagOut {
    fn from(t: SystemTag) -> Self {
        Self {
            id: t.id,
            name: t.name,
            user_visible: t.user_visible,
            user_assignable: t.user_assignable,
            can_assign: t.can_assign,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListTagsOut {
    /// By name.
    pub tags: Vec<TagOut>,
    pub total_count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FileTagsOut {
    pub path: String,
    pub file_id: u64,
    pub tags: Vec<TagOut>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindByTagArgs {
    /// The tag's name (as nc_webdav_list_tags shows it; case-insensitive when unambiguous).
    pub tag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FindByTagOut {
    pub tag: String,
    pub tag_id: u64,
    /// Everything in your files carrying the tag.
    pub files: Vec<FileEntry>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TagFileArgs {
    /// File or folder, relative to your home folder.
    pub path: String,
    /// Tag name. Tagging creates the tag when it does not exist yet.
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

/// Normalises a path argument that must name a file or folder (not the home folder).
fn item_path(arg: &'static str, path: &str) -> Result<String, ToolError> {
    let path = normalize_path(arg, path)?;
    if path.is_empty() {
        return Err(ToolError::invalid(
            arg,
            "names your home folder; give a file or folder path such as `Documents/report.pdf`",
        ));
    }
    Ok(path)
}

/// The file id of a path.
async fn file_id(user: &NextcloudUser, path: &str) -> Result<u64, ToolError> {
    let info = user.files().stat(path).await?;
    info.id.ok_or_else(|| {
        ToolError::Nextcloud(nextcloud::Error::InvalidResponse(format!(
            "no file id for `{path}`"
        )))
    })
}

fn tag_arg(tag: &str) -> Result<&str, ToolError> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(ToolError::invalid(
            "tag",
            "expected a tag name such as `invoices`",
        ));
    }
    if tag.chars().count() > 64 {
        return Err(ToolError::invalid(
            "tag",
            "is longer than Nextcloud's 64 characters",
        ));
    }
    Ok(tag)
}

async fn existing_tag(user: &NextcloudUser, name: &str) -> Result<SystemTag, ToolError> {
    user.system_tags().find(name).await?.ok_or_else(|| {
        ToolError::invalid(
            "tag",
            format!("there is no tag named `{name}`; nc_webdav_list_tags lists the existing ones"),
        )
    })
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_webdav_list_comments",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_create_comment",
        &apps::FILES,
        Some("files.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_webdav_list_trash",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_restore_from_trash",
        &apps::FILES,
        Some("files.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_webdav_list_versions",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_restore_version",
        &apps::FILES,
        Some("files.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_webdav_list_tags",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_get_file_tags",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_find_by_tag_name",
        &apps::FILES,
        Some("files.read"),
        Read,
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

#[tool_router(router = files_meta_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_webdav_list_comments",
        title = "List comments on a file",
        description = "Read the comments people left on a file or folder in Nextcloud (the Comments tab of the Files sidebar), newest first, a page at a time."
    )]
    async fn nc_webdav_list_comments(
        &self,
        Parameters(args): Parameters<ListCommentsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListCommentsOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        if !(1..=200).contains(&args.limit) {
            return Err(ToolError::invalid(
                "limit",
                format!("expected a number from 1 to 200, got {}", args.limit),
            ));
        }
        if args.offset < 0 {
            return Err(ToolError::invalid(
                "offset",
                format!("expected 0 or more, got {}", args.offset),
            ));
        }
        let user = self.user(&ctx)?;
        let id = file_id(&user, &path).await?;
        let results: Vec<CommentOut> = user
            .comments()
            .list(id, args.limit as u32, args.offset as u32)
            .await?
            .into_iter()
            .map(|c| CommentOut {
                id: c.id,
                message: c.message,
                actor_id: c.actor_id,
                actor_type: c.actor_type,
                actor_display_name: c.actor_display_name,
                creation_datetime: c.creation_datetime,
                verb: c.verb,
                is_unread: c.is_unread,
            })
            .collect();
        answer(ListCommentsOut {
            count: results.len(),
            results,
            path,
            file_id: id,
            limit: args.limit,
            offset: args.offset,
        })
    }

    #[tool(
        name = "nc_webdav_create_comment",
        title = "Comment on a file",
        description = "Post a comment on a file or folder in Nextcloud, as you. Mention someone with `@userid` and Nextcloud notifies them. Each call adds another comment."
    )]
    async fn nc_webdav_create_comment(
        &self,
        Parameters(args): Parameters<CreateCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreateCommentOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let trimmed = args.message.trim();
        if trimmed.is_empty() {
            return Err(ToolError::invalid(
                "message",
                "is empty; write the comment text",
            ));
        }
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
        name = "nc_webdav_list_trash",
        title = "List the trash bin",
        description = "List what is in your Nextcloud trash bin: deleted files and folders with where they were and when they were deleted, most recent first. Restore one with nc_webdav_restore_from_trash."
    )]
    async fn nc_webdav_list_trash(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListTrashOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let items: Vec<TrashItemOut> = user
            .trashbin()
            .list()
            .await?
            .into_iter()
            .map(|t| TrashItemOut {
                entry_id: t.id,
                name: t.name,
                original_location: t.original_location,
                deleted_at: t.deleted_at.and_then(rfc3339),
                kind: if t.is_dir { "directory" } else { "file" },
                size: t.size,
                content_type: t.content_type,
                file_id: t.file_id,
            })
            .collect();
        answer(ListTrashOut {
            total_count: items.len(),
            items,
        })
    }

    #[tool(
        name = "nc_webdav_restore_from_trash",
        title = "Restore from the trash bin",
        description = "Put a deleted file or folder back where it was (into your home folder if that folder is gone; with ` (restored)` added to the name if something else took its place). Take the entry_id from nc_webdav_list_trash."
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
        name = "nc_webdav_list_versions",
        title = "List file versions",
        description = "List the earlier versions Nextcloud kept of a file (a version is kept each time the file is overwritten), newest first, including the current one. Roll back with nc_webdav_restore_version."
    )]
    async fn nc_webdav_list_versions(
        &self,
        Parameters(args): Parameters<PathOnlyArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListVersionsOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let user = self.user(&ctx)?;
        let info = user.files().stat(&path).await?;
        if info.is_dir {
            return Err(ToolError::invalid(
                "path",
                format!("`{path}` is a folder; only files have versions"),
            ));
        }
        let id = info.id.ok_or_else(|| {
            ToolError::Nextcloud(nextcloud::Error::InvalidResponse(format!(
                "no file id for `{path}`"
            )))
        })?;
        let current = info.modified_unix();
        let versions: Vec<VersionOut> = user
            .versions()
            .list(id)
            .await?
            .into_iter()
            .map(|v| VersionOut {
                is_current: current.is_some() && v.id.parse::<i64>().ok() == current,
                modified: v
                    .modified_unix()
                    .or_else(|| v.id.parse().ok())
                    .and_then(rfc3339),
                version_id: v.id,
                size: v.size,
                etag: v.etag,
                content_type: v.content_type,
                label: v.label,
                author: v.author,
            })
            .collect();
        answer(ListVersionsOut {
            path,
            file_id: id,
            total_count: versions.len(),
            versions,
        })
    }

    #[tool(
        name = "nc_webdav_restore_version",
        title = "Restore a file version",
        description = "Roll a file back to an earlier version from nc_webdav_list_versions. Nothing is lost: the content it replaces is kept as a version too."
    )]
    async fn nc_webdav_restore_version(
        &self,
        Parameters(args): Parameters<RestoreVersionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RestoreVersionOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let version = args.version_id.trim().to_string();
        if version.is_empty() {
            return Err(ToolError::invalid(
                "version_id",
                "expected a version id from nc_webdav_list_versions",
            ));
        }
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
        name = "nc_webdav_list_tags",
        title = "List tags",
        description = "List the collaborative tags (system tags) of this Nextcloud that you can see, with whether you may assign them."
    )]
    async fn nc_webdav_list_tags(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListTagsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let tags: Vec<TagOut> = user
            .system_tags()
            .list()
            .await?
            .into_iter()
            .map(TagOut::from)
            .collect();
        answer(ListTagsOut {
            total_count: tags.len(),
            tags,
        })
    }

    #[tool(
        name = "nc_webdav_get_file_tags",
        title = "Get a file's tags",
        description = "List the collaborative tags on a file or folder."
    )]
    async fn nc_webdav_get_file_tags(
        &self,
        Parameters(args): Parameters<PathOnlyArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<FileTagsOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        let user = self.user(&ctx)?;
        let id = file_id(&user, &path).await?;
        let tags = user
            .system_tags()
            .of_file(id)
            .await?
            .into_iter()
            .map(TagOut::from)
            .collect();
        answer(FileTagsOut {
            path,
            file_id: id,
            tags,
        })
    }

    #[tool(
        name = "nc_webdav_find_by_tag_name",
        title = "Find files by tag",
        description = "Find every file and folder carrying a collaborative tag, by the tag's name."
    )]
    async fn nc_webdav_find_by_tag_name(
        &self,
        Parameters(args): Parameters<FindByTagArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<FindByTagOut>>, ToolError> {
        let name = tag_arg(&args.tag)?;
        let user = self.user(&ctx)?;
        let tag = existing_tag(&user, name).await?;
        let files: Vec<FileEntry> = user
            .system_tags()
            .files(&[tag.id], "")
            .await?
            .into_iter()
            .map(FileEntry::from)
            .collect();
        answer(FindByTagOut {
            tag: tag.name,
            tag_id: tag.id,
            total_count: files.len(),
            files,
        })
    }

    #[tool(
        name = "nc_webdav_tag_file",
        title = "Tag a file",
        description = "Put a collaborative tag on a file or folder; the tag is created if it does not exist yet. Tagging a file that already has the tag changes nothing."
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
        description = "Take a collaborative tag off a file or folder. Removing a tag the file does not have changes nothing."
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
