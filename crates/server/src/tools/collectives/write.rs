use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CollectiveArgs, PageArgs};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, given, non_empty};
use crate::tools::spec::{Effect, Effect::*, ToolSpec};
use nextcloud::collectives::Placement;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCollectiveArgs {
    pub name: String,
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedCollectiveOut {
    pub id: u64,
    pub name: String,
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CollectiveEmojiArgs {
    pub collective_id: u64,
    /// Omit to remove.
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteCollectiveArgs {
    pub collective_id: u64,
    /// Also delete its team (kept otherwise, blocking the name).
    #[serde(default)]
    pub delete_team: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CollectiveDone {
    pub status_code: u16,
    pub message: String,
    pub collective_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreatePageArgs {
    pub collective_id: u64,
    pub parent_id: u64,
    pub title: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedPageOut {
    pub id: u64,
    pub title: String,
    pub collective_id: u64,
    pub parent_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MovePageArgs {
    pub collective_id: u64,
    pub page_id: u64,
    #[serde(default)]
    pub parent_id: Option<u64>,
    #[serde(default)]
    pub title: Option<String>,
    /// Position among the parent's subpages.
    #[serde(default)]
    pub index: u64,
    #[serde(default)]
    pub copy: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PageDone {
    pub status_code: u16,
    pub message: String,
    pub page_id: u64,
    pub collective_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageEmojiArgs {
    pub collective_id: u64,
    pub page_id: u64,
    /// Omit to remove.
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTagArgs {
    pub collective_id: u64,
    pub name: String,
    /// Six hex digits, e.g. 0082c9.
    pub color: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedTagOut {
    pub id: u64,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TagPageArgs {
    pub collective_id: u64,
    pub page_id: u64,
    pub tag_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WritePageArgs {
    pub collective_id: u64,
    pub page_id: u64,
    pub content: String,
    pub etag: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppendPageArgs {
    pub collective_id: u64,
    pub page_id: u64,
    pub content: String,
    /// Append only if the page is still this version.
    #[serde(default)]
    pub etag: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WrittenOut {
    pub status_code: u16,
    pub message: String,
    pub page_id: u64,
    pub collective_id: u64,
    pub etag: Option<String>,
}

const fn write_spec(name: &'static str, effect: Effect) -> ToolSpec {
    ToolSpec::new(name, &apps::COLLECTIVES, Some("collectives.write"), effect)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    write_spec("collectives_create_collective", Create),
    write_spec("collectives_set_collective_emoji", Update),
    write_spec("collectives_trash_collective", Delete),
    write_spec("collectives_delete_collective", Delete),
    write_spec("collectives_restore_collective", Update),
    write_spec("collectives_create_page", Create),
    // Copying adds a page each time; moving to a new index shifts the siblings.
    write_spec("collectives_move_page", Create),
    write_spec("collectives_trash_page", Delete),
    write_spec("collectives_restore_page", Update),
    write_spec("collectives_set_page_emoji", Update),
    write_spec("collectives_create_tag", Create),
    write_spec("collectives_assign_tag", Update),
    write_spec("collectives_remove_tag", Update),
    write_spec("collectives_write_page", Overwrite),
    write_spec("collectives_append_page", Create),
];

fn collective_done(collective_id: u64, message: String) -> CollectiveDone {
    CollectiveDone {
        status_code: 200,
        message,
        collective_id,
    }
}

fn page_done(collective_id: u64, page_id: u64, message: String) -> PageDone {
    PageDone {
        status_code: 200,
        message,
        page_id,
        collective_id,
    }
}

/// A tag colour as the app stores it: six hex digits, a leading `#` dropped.
fn color(value: &str) -> Result<String, ToolError> {
    let c = value.trim().trim_start_matches('#');
    if c.len() == 6 && c.chars().all(|ch| ch.is_ascii_hexdigit()) {
        Ok(c.to_string())
    } else {
        Err(ToolError::invalid(
            "color",
            format!("expected six hex digits such as 0082c9, got `{value}`"),
        ))
    }
}

/// `content` added at the end of `old`, on a line of its own.
fn appended(old: &str, content: &str) -> String {
    if old.is_empty() || old.ends_with('\n') {
        format!("{old}{content}")
    } else {
        format!("{old}\n{content}")
    }
}

#[tool_router(router = collectives_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "collectives_create_collective",
        title = "Create a collective",
        description = "Create a collective with a team of the same name and a landing page."
    )]
    async fn collectives_create_collective(
        &self,
        Parameters(args): Parameters<CreateCollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreatedCollectiveOut>>, ToolError> {
        let name = non_empty("name", &args.name, "expected a non-empty name")?;
        if name.contains('/') {
            return Err(ToolError::invalid("name", "must not contain `/`"));
        }
        let emoji = given(args.emoji);
        let user = self.user(&ctx)?;
        let c = user.collectives().create(name, emoji.as_deref()).await?;
        answer(CreatedCollectiveOut {
            id: c.id,
            name: c.name,
            emoji: c.emoji.filter(|e| !e.is_empty()),
        })
    }

    #[tool(
        name = "collectives_set_collective_emoji",
        title = "Choose a collective's emoji",
        description = "Give a collective an emoji, or remove it."
    )]
    async fn collectives_set_collective_emoji(
        &self,
        Parameters(args): Parameters<CollectiveEmojiArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CollectiveDone>>, ToolError> {
        let emoji = given(args.emoji);
        let user = self.user(&ctx)?;
        user.collectives()
            .set_emoji(args.collective_id, emoji.as_deref())
            .await?;
        let message = match emoji {
            Some(e) => format!("Emoji of collective {} set to {e}", args.collective_id),
            None => format!("Emoji of collective {} removed", args.collective_id),
        };
        answer(collective_done(args.collective_id, message))
    }

    #[tool(
        name = "collectives_trash_collective",
        title = "Trash a collective",
        description = "Move a collective to the trash, from where it can be restored."
    )]
    async fn collectives_trash_collective(
        &self,
        Parameters(args): Parameters<CollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CollectiveDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives().trash(args.collective_id).await?;
        answer(collective_done(
            args.collective_id,
            format!("Collective {} moved to the trash", args.collective_id),
        ))
    }

    #[tool(
        name = "collectives_delete_collective",
        title = "Delete a trashed collective",
        description = "Permanently delete a collective that is in the trash, with all its pages."
    )]
    async fn collectives_delete_collective(
        &self,
        Parameters(args): Parameters<DeleteCollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CollectiveDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives()
            .delete(args.collective_id, args.delete_team)
            .await?;
        let team = if args.delete_team {
            "with its team"
        } else {
            "(its team was kept)"
        };
        answer(collective_done(
            args.collective_id,
            format!("Collective {} deleted {team}", args.collective_id),
        ))
    }

    #[tool(
        name = "collectives_restore_collective",
        title = "Restore a collective",
        description = "Restore a collective from the trash."
    )]
    async fn collectives_restore_collective(
        &self,
        Parameters(args): Parameters<CollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CollectiveDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives().restore(args.collective_id).await?;
        answer(collective_done(
            args.collective_id,
            format!("Collective {} restored", args.collective_id),
        ))
    }

    #[tool(
        name = "collectives_create_page",
        title = "Create a collective page",
        description = "Create an empty page below parent_id (the landing page for the top level)."
    )]
    async fn collectives_create_page(
        &self,
        Parameters(args): Parameters<CreatePageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreatedPageOut>>, ToolError> {
        let title = non_empty("title", &args.title, "expected a non-empty title")?;
        let user = self.user(&ctx)?;
        let page = user
            .collectives()
            .create_page(args.collective_id, args.parent_id, title)
            .await?;
        answer(CreatedPageOut {
            id: page.id,
            title: page.title,
            collective_id: args.collective_id,
            parent_id: page.parent_id,
        })
    }

    #[tool(
        name = "collectives_move_page",
        title = "Relocate, rename or copy a page",
        description = "Put a page (and its subpages) under another parent, rename or copy it."
    )]
    async fn collectives_move_page(
        &self,
        Parameters(args): Parameters<MovePageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageDone>>, ToolError> {
        let title = match given(args.title) {
            Some(t) => Some(non_empty("title", &t, "expected a non-empty title")?.to_string()),
            None => None,
        };
        let to = Placement {
            parent_id: args.parent_id.filter(|p| *p > 0),
            title,
            index: args.index,
        };
        let user = self.user(&ctx)?;
        let page = user
            .collectives()
            .move_page(args.collective_id, args.page_id, &to, args.copy)
            .await?;
        let message = if args.copy {
            format!(
                "Page {} copied as page {} ({})",
                args.page_id, page.id, page.title
            )
        } else {
            format!(
                "Page {} moved ({} below page {})",
                page.id, page.title, page.parent_id
            )
        };
        answer(page_done(args.collective_id, page.id, message))
    }

    #[tool(
        name = "collectives_trash_page",
        title = "Trash a page",
        description = "Move a page and its subpages to the collective's trash."
    )]
    async fn collectives_trash_page(
        &self,
        Parameters(args): Parameters<PageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives()
            .trash_page(args.collective_id, args.page_id)
            .await?;
        answer(page_done(
            args.collective_id,
            args.page_id,
            format!("Page {} moved to the trash", args.page_id),
        ))
    }

    #[tool(
        name = "collectives_restore_page",
        title = "Restore a page",
        description = "Restore a page from the collective's trash."
    )]
    async fn collectives_restore_page(
        &self,
        Parameters(args): Parameters<PageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives()
            .restore_page(args.collective_id, args.page_id)
            .await?;
        answer(page_done(
            args.collective_id,
            args.page_id,
            format!("Page {} restored", args.page_id),
        ))
    }

    #[tool(
        name = "collectives_set_page_emoji",
        title = "Choose a page's emoji",
        description = "Give a page an emoji, or remove it."
    )]
    async fn collectives_set_page_emoji(
        &self,
        Parameters(args): Parameters<PageEmojiArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageDone>>, ToolError> {
        let emoji = given(args.emoji);
        let user = self.user(&ctx)?;
        user.collectives()
            .set_page_emoji(args.collective_id, args.page_id, emoji.as_deref())
            .await?;
        let message = match emoji {
            Some(e) => format!("Emoji of page {} set to {e}", args.page_id),
            None => format!("Emoji of page {} removed", args.page_id),
        };
        answer(page_done(args.collective_id, args.page_id, message))
    }

    #[tool(
        name = "collectives_create_tag",
        title = "Create a page tag",
        description = "Create a tag for a collective's pages."
    )]
    async fn collectives_create_tag(
        &self,
        Parameters(args): Parameters<CreateTagArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CreatedTagOut>>, ToolError> {
        let name = non_empty("name", &args.name, "expected a non-empty tag name")?;
        let color = color(&args.color)?;
        let user = self.user(&ctx)?;
        let tag = user
            .collectives()
            .create_tag(args.collective_id, name, &color)
            .await?;
        answer(CreatedTagOut {
            id: tag.id,
            name: tag.name,
            color: tag.color,
        })
    }

    #[tool(
        name = "collectives_assign_tag",
        title = "Tag a page",
        description = "Put a tag on a page."
    )]
    async fn collectives_assign_tag(
        &self,
        Parameters(args): Parameters<TagPageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives()
            .tag_page(args.collective_id, args.page_id, args.tag_id, true)
            .await?;
        answer(page_done(
            args.collective_id,
            args.page_id,
            format!("Tag {} put on page {}", args.tag_id, args.page_id),
        ))
    }

    #[tool(
        name = "collectives_remove_tag",
        title = "Untag a page",
        description = "Take a tag off a page."
    )]
    async fn collectives_remove_tag(
        &self,
        Parameters(args): Parameters<TagPageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageDone>>, ToolError> {
        let user = self.user(&ctx)?;
        user.collectives()
            .tag_page(args.collective_id, args.page_id, args.tag_id, false)
            .await?;
        answer(page_done(
            args.collective_id,
            args.page_id,
            format!("Tag {} taken off page {}", args.tag_id, args.page_id),
        ))
    }

    #[tool(
        name = "collectives_write_page",
        title = "Replace a page's text",
        description = "Replace a page's markdown; needs the etag from collectives_get_page, refused if changed since."
    )]
    async fn collectives_write_page(
        &self,
        Parameters(args): Parameters<WritePageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<WrittenOut>>, ToolError> {
        let etag = non_empty(
            "etag",
            &args.etag,
            "expected the etag from collectives_get_page",
        )?;
        let user = self.user(&ctx)?;
        let etag = user
            .collectives()
            .write(args.collective_id, args.page_id, &args.content, etag)
            .await?;
        answer(WrittenOut {
            status_code: 200,
            message: format!("Page {} replaced", args.page_id),
            page_id: args.page_id,
            collective_id: args.collective_id,
            etag,
        })
    }

    #[tool(
        name = "collectives_append_page",
        title = "Add to a page",
        description = "Add markdown at the end of a page, keeping what is there."
    )]
    async fn collectives_append_page(
        &self,
        Parameters(args): Parameters<AppendPageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<WrittenOut>>, ToolError> {
        if args.content.trim().is_empty() {
            return Err(ToolError::invalid("content", "expected markdown to add"));
        }
        let expected = given(args.etag);
        let user = self.user(&ctx)?;
        let api = user.collectives();
        let now = api.content(args.collective_id, args.page_id).await?;
        // The page's version the caller saw if they named one, else the one just read: a change
        // in between is a conflict either way.
        let Some(etag) = expected.or(now.etag) else {
            return Err(ToolError::Nextcloud(nextcloud::Error::InvalidResponse(
                "the page's file came without an ETag".into(),
            )));
        };
        let etag = api
            .write(
                args.collective_id,
                args.page_id,
                &appended(&now.markdown, &args.content),
                &etag,
            )
            .await?;
        answer(WrittenOut {
            status_code: 200,
            message: format!("Added to page {}", args.page_id),
            page_id: args.page_id,
            collective_id: args.collective_id,
            etag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{appended, color};

    #[test]
    fn colors_are_six_hex_digits() {
        assert_eq!(color("#00FF7a").unwrap(), "00FF7a");
        let e = color("red").unwrap_err().to_string();
        assert!(e.contains("`color`") && e.contains("six hex digits"), "{e}");
        assert!(color("12345").is_err());
    }

    #[test]
    fn appending_starts_a_new_line() {
        assert_eq!(appended("", "x"), "x");
        assert_eq!(appended("a\n", "x"), "a\nx");
        assert_eq!(appended("a", "x"), "a\nx");
    }
}
