use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::super::{FileEntry, rfc3339};
use super::{TagOut, existing_tag, file_id, item_path, tag_arg};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, at_least, in_range};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListCommentsArgs {
    pub path: String,
    /// 1-200.
    #[serde(default = "default_comment_limit")]
    pub limit: i64,
    /// Newest comments to skip, for paging.
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
pub struct PathOnlyArgs {
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
        "nc_webdav_list_trash",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_list_versions",
        &apps::FILES,
        Some("files.read"),
        Read,
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
];

#[tool_router(router = files_meta_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_webdav_list_comments",
        title = "List comments on a file",
        description = "Read the comments people left on a file or folder, newest first, a page at a time."
    )]
    async fn nc_webdav_list_comments(
        &self,
        Parameters(args): Parameters<ListCommentsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListCommentsOut>>, ToolError> {
        let path = item_path("path", &args.path)?;
        in_range("limit", args.limit, 1..=200)?;
        at_least("offset", args.offset, 0)?;
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
        name = "nc_webdav_list_trash",
        title = "List the trash bin",
        description = "Deleted files and folders in your trash bin, newest first, with where they were."
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
        name = "nc_webdav_list_versions",
        title = "List file versions",
        description = "Earlier versions of a file (one per overwrite), newest first. Roll back: nc_webdav_restore_version."
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
        name = "nc_webdav_list_tags",
        title = "List tags",
        description = "List the collaborative tags that exist and whether you may put each on files."
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
        description = "List the collaborative tags on one file or folder."
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
        description = "Find every file and folder that carries a tag, by the tag's name."
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
}
