use base64::Engine;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::files::{Uploaded, WriteMode, normalize_path};
use nextcloud::upload::Progress;
use rmcp::model::ProgressNotificationParam;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WriteFileArgs {
    /// Its folder must exist.
    pub path: String,
    /// Text, or base64 when content_type ends in `;base64`.
    pub content: String,
    /// E.g. `text/markdown`, `image/png;base64`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Omit to create; ETag of your last read to replace; `*`: regardless.
    #[serde(default)]
    pub if_match: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteFileOut {
    /// 201 when the file was created, 204 when an existing file was replaced.
    pub status_code: u16,
    pub message: String,
    pub path: String,
    /// Bytes written.
    pub size: u64,
    pub created: bool,
    /// The new ETag: pass it as `if_match` for the next write without reading again.
    pub etag: Option<String>,
    /// True when the file was large enough to go up in chunks (Nextcloud's chunked upload).
    pub chunked: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathArgs {
    pub path: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateDirectoryOut {
    /// 201 when created, 200 when the folder already existed.
    pub status_code: u16,
    pub message: String,
    pub path: String,
    pub created: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteOut {
    pub status_code: u16,
    pub message: String,
    pub path: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TransferArgs {
    pub source_path: String,
    /// Full new path.
    pub destination_path: String,
    #[serde(default)]
    pub overwrite: bool,
    /// With overwrite: only while the destination has this ETag.
    #[serde(default)]
    pub if_destination_match: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TransferOut {
    /// 201 when the destination is new, 204 when it replaced an existing item.
    pub status_code: u16,
    pub message: String,
    pub source_path: String,
    pub destination_path: String,
    pub overwrite: bool,
}

/// Decodes the `content` argument as the reference does: base64 when the type says so.
fn decode_content(
    content: &str,
    content_type: Option<&str>,
) -> Result<(Vec<u8>, Option<String>), ToolError> {
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok((content.as_bytes().to_vec(), None));
    };
    let lower = ct.to_ascii_lowercase();
    if lower.contains("base64") {
        let clean: String = content.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(clean.as_bytes())
            .map_err(|e| {
                ToolError::invalid(
                    "content",
                    format!("is not valid base64 ({e}), but content_type says it is"),
                )
            })?;
        let plain = ct
            .split(';')
            .map(str::trim)
            .filter(|p| !p.eq_ignore_ascii_case("base64") && !p.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Ok((bytes, (!plain.is_empty()).then_some(plain)));
    }
    Ok((content.as_bytes().to_vec(), Some(ct.to_string())))
}

/// Chunked upload, with `notifications/progress` after each chunk when the client asked for
/// progress (a `progressToken` in the request's `_meta`).
async fn upload_in_chunks(
    ctx: &RequestContext<RoleServer>,
    user: &nextcloud::NextcloudUser,
    path: &str,
    content: bytes::Bytes,
    mode: WriteMode,
    chunk_size: u64,
) -> nextcloud::Result<Uploaded> {
    let Some(token) = ctx.meta.get_progress_token() else {
        return user
            .files()
            .upload_chunked(path, content, mode, chunk_size, None)
            .await;
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let peer = ctx.peer.clone();
    // One forwarder keeps the notifications in order without slowing the upload down.
    let forwarder = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let note = ProgressNotificationParam::new(token.clone(), p.done as f64)
                .with_total(p.total as f64)
                .with_message(format!("Uploaded {} of {} bytes", p.done, p.total));
            if peer.notify_progress(note).await.is_err() {
                break;
            }
        }
    });
    let result = user
        .files()
        .upload_chunked(path, content, mode, chunk_size, Some(&tx))
        .await;
    drop(tx);
    let _ = forwarder.await;
    result
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_webdav_write_file",
        &apps::FILES,
        Some("files.write"),
        Overwrite,
    ),
    ToolSpec::new(
        "nc_webdav_create_directory",
        &apps::FILES,
        Some("files.write"),
        Update,
    ),
    ToolSpec::new(
        "nc_webdav_delete_resource",
        &apps::FILES,
        Some("files.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_webdav_move_resource",
        &apps::FILES,
        Some("files.write"),
        Overwrite,
    ),
    ToolSpec::new(
        "nc_webdav_copy_resource",
        &apps::FILES,
        Some("files.write"),
        Overwrite,
    ),
];

#[tool_router(router = files_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_webdav_write_file",
        title = "Write a file",
        description = "Create a file, or replace one with `if_match` = ETag of your last read (`*`: regardless). Text or base64."
    )]
    async fn nc_webdav_write_file(
        &self,
        Parameters(args): Parameters<WriteFileArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<WriteFileOut>>, ToolError> {
        let path = normalize_path("path", &args.path)?;
        if path.is_empty() {
            return Err(ToolError::invalid(
                "path",
                "needs a file name, e.g. `Documents/notes.txt`",
            ));
        }
        let (bytes, content_type) = decode_content(&args.content, args.content_type.as_deref())?;
        let settings = self.state().files.clone();
        let cap = settings.write_max_bytes;
        if bytes.len() as u64 > cap {
            return Err(ToolError::invalid(
                "content",
                format!(
                    "is {} bytes, more than the {} bytes allowed per write (WEBDAV_WRITE_MAX_MB); upload larger files with the Nextcloud web interface or a sync client",
                    bytes.len(),
                    cap
                ),
            ));
        }
        let mode = match args.if_match.as_deref().map(str::trim) {
            None | Some("") => WriteMode::CreateOnly,
            Some(etag) => WriteMode::IfMatch(etag.to_string()),
        };
        let size = bytes.len() as u64;
        let user = self.user(&ctx)?;
        let chunked = size > settings.chunk_threshold_bytes;
        let result = if chunked {
            upload_in_chunks(
                &ctx,
                &user,
                &path,
                bytes.into(),
                mode.clone(),
                settings.chunk_size_bytes,
            )
            .await
        } else {
            user.files()
                .upload(&path, bytes.into(), content_type.as_deref(), mode.clone())
                .await
        };
        let uploaded = match result {
            Ok(u) => u,
            Err(nextcloud::Error::Conflict { .. }) if mode == WriteMode::CreateOnly => {
                return Err(ToolError::invalid(
                    "if_match",
                    format!(
                        "`{path}` already exists and nothing was written. Read it with nc_webdav_read_file and pass its etag as if_match to replace that version, or pass if_match=\"*\" to replace it regardless."
                    ),
                ));
            }
            Err(nextcloud::Error::Conflict { .. }) if mode == WriteMode::IfMatch("*".into()) => {
                return Err(ToolError::invalid(
                    "if_match",
                    format!(
                        "`{path}` does not exist, so there is nothing to replace; omit if_match to create it."
                    ),
                ));
            }
            Err(nextcloud::Error::Status { status: 409, .. }) => {
                return Err(ToolError::invalid(
                    "path",
                    format!(
                        "the folder for `{path}` does not exist; create it first with nc_webdav_create_directory"
                    ),
                ));
            }
            Err(nextcloud::Error::Status { status: 405, .. }) => {
                return Err(ToolError::invalid(
                    "path",
                    format!("`{path}` is a folder; a file cannot replace it"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        answer(WriteFileOut {
            status_code: if uploaded.created { 201 } else { 204 },
            message: if uploaded.created {
                format!("Created `{path}` ({size} bytes).")
            } else {
                format!("Replaced `{path}` ({size} bytes).")
            },
            path,
            size,
            created: uploaded.created,
            etag: uploaded.etag,
            chunked,
        })
    }

    #[tool(
        name = "nc_webdav_create_directory",
        title = "Create a folder",
        description = "Create a folder; its parent folder must exist. Does nothing if the folder is already there."
    )]
    async fn nc_webdav_create_directory(
        &self,
        Parameters(args): Parameters<PathArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreateDirectoryOut>>, ToolError> {
        let path = normalize_path("path", &args.path)?;
        if path.is_empty() {
            return Err(ToolError::invalid(
                "path",
                "needs a folder name, e.g. `Projects/2025`",
            ));
        }
        let user = self.user(&ctx)?;
        let created = user.files().mkcol(&path).await?;
        answer(CreateDirectoryOut {
            status_code: if created { 201 } else { 200 },
            message: if created {
                format!("Created folder `{path}`.")
            } else {
                format!("Folder `{path}` already existed; nothing changed.")
            },
            path,
            created,
        })
    }

    #[tool(
        name = "nc_webdav_delete_resource",
        title = "Delete a file or folder",
        description = "Delete a file, or a folder with everything in it (it goes to the trash bin when that is enabled)."
    )]
    async fn nc_webdav_delete_resource(
        &self,
        Parameters(args): Parameters<PathArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeleteOut>>, ToolError> {
        let path = normalize_path("path", &args.path)?;
        let user = self.user(&ctx)?;
        user.files().delete(&path).await?;
        answer(DeleteOut {
            status_code: 204,
            message: format!("Deleted `{path}`."),
            path,
        })
    }

    #[tool(
        name = "nc_webdav_move_resource",
        title = "Move or rename",
        description = "Move or rename a file or folder; overwrite=true replaces a destination."
    )]
    async fn nc_webdav_move_resource(
        &self,
        Parameters(args): Parameters<TransferArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TransferOut>>, ToolError> {
        self.transfer(args, &ctx, false).await.and_then(answer)
    }

    #[tool(
        name = "nc_webdav_copy_resource",
        title = "Copy a file or folder",
        description = "Copy a file or folder with its contents; overwrite=true replaces a destination."
    )]
    async fn nc_webdav_copy_resource(
        &self,
        Parameters(args): Parameters<TransferArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TransferOut>>, ToolError> {
        self.transfer(args, &ctx, true).await.and_then(answer)
    }
}

impl NextcloudMcp {
    async fn transfer(
        &self,
        args: TransferArgs,
        ctx: &RequestContext<RoleServer>,
        copy: bool,
    ) -> Result<TransferOut, ToolError> {
        let from = normalize_path("source_path", &args.source_path)?;
        let to = normalize_path("destination_path", &args.destination_path)?;
        let guard = args
            .if_destination_match
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let user = self.user(ctx)?;
        let files = user.files();
        let done = if copy {
            files.copy_to(&from, &to, args.overwrite, guard).await?
        } else {
            files.move_to(&from, &to, args.overwrite, guard).await?
        };
        let verb = if copy { "Copied" } else { "Moved" };
        Ok(TransferOut {
            status_code: done.status,
            message: if done.status == 204 {
                format!("{verb} `{from}` to `{to}`, replacing what was there.")
            } else {
                format!("{verb} `{from}` to `{to}`.")
            },
            source_path: from,
            destination_path: to,
            overwrite: args.overwrite,
        })
    }
}
