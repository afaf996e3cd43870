//! What Nextcloud keeps about files besides their content: comments, the trash bin, versions
//! and collaborative system tags (`nc_webdav_*_comment(s)`, `*_trash`, `*_version(s)`,
//! `*_tag(s)`). Files are addressed by path; the file id these APIs need is looked up first.
//! Reads in `read.rs`, changes (a new comment, restoring, tagging) in `write.rs`.

pub(in crate::tools) mod read;
pub(in crate::tools) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;
use crate::tools::common::{ToolError, non_empty};
use nextcloud::NextcloudUser;
use nextcloud::files::normalize_path;
use nextcloud::systemtags::SystemTag;

pub(super) fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::files_meta_read_router() + NextcloudMcp::files_meta_write_router()
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
    let tag = non_empty("tag", tag, "expected a tag name such as `invoices`")?;
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
