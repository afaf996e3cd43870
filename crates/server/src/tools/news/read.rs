use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FULL_TEXT_CHARS, FeedOut, Filter, FolderOut, ItemOut, ItemsOut, not_found, page};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, in_range};
use crate::tools::spec::{Effect::*, ToolSpec};

fn default_limit() -> u32 {
    50
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListItemsArgs {
    #[serde(default)]
    pub feed_id: Option<u64>,
    #[serde(default)]
    pub folder_id: Option<u64>,
    #[serde(default)]
    pub starred_only: bool,
    #[serde(default)]
    pub unread_only: bool,
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// oldest_id of the previous page; 0 starts at the newest.
    #[serde(default)]
    pub offset: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageArgs {
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// oldest_id of the previous page; 0 starts at the newest.
    #[serde(default)]
    pub offset: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ItemIdArgs {
    pub item_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FeedIdArgs {
    pub feed_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FoldersOut {
    pub results: Vec<FolderOut>,
    pub total_count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FeedsOut {
    pub results: Vec<FeedOut>,
    pub starred_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_item_id: Option<u64>,
    pub total_count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OneItemOut {
    pub item: ItemOut,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthOut {
    pub feed_id: u64,
    pub title: String,
    pub url: String,
    pub has_errors: bool,
    pub error_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusOut {
    pub version: String,
    pub warnings: Vec<String>,
}

const fn read_spec(name: &'static str) -> ToolSpec {
    ToolSpec::new(name, &apps::NEWS, Some("news.read"), Read)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    read_spec("nc_news_list_folders"),
    read_spec("nc_news_list_feeds"),
    read_spec("nc_news_list_items"),
    read_spec("nc_news_get_item"),
    read_spec("nc_news_get_starred_items"),
    read_spec("nc_news_get_unread_items"),
    read_spec("nc_news_get_feed_health"),
    read_spec("nc_news_get_status"),
];

fn limit(n: u32) -> Result<u32, ToolError> {
    in_range("limit", n, 1..=200)
}

#[tool_router(router = news_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_news_list_folders",
        title = "List News folders",
        description = "List the folders your News feeds are sorted into."
    )]
    async fn nc_news_list_folders(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<FoldersOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let results: Vec<FolderOut> = user
            .news()
            .folders()
            .await?
            .into_iter()
            .map(FolderOut::from)
            .collect();
        answer(FoldersOut {
            total_count: results.len(),
            results,
        })
    }

    #[tool(
        name = "nc_news_list_feeds",
        title = "List News feeds",
        description = "List your subscribed RSS/Atom feeds with their folder and unread count."
    )]
    async fn nc_news_list_feeds(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<FeedsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let feeds = user.news().feeds().await?;
        let results: Vec<FeedOut> = feeds.feeds.into_iter().map(FeedOut::from).collect();
        answer(FeedsOut {
            total_count: results.len(),
            starred_count: feeds.starred_count,
            newest_item_id: feeds.newest_item_id,
            results,
        })
    }

    #[tool(
        name = "nc_news_list_items",
        title = "List News articles",
        description = "Latest articles, newest first: all, one feed or folder, starred or unread, with excerpts."
    )]
    async fn nc_news_list_items(
        &self,
        Parameters(args): Parameters<ListItemsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ItemsOut>>, ToolError> {
        if args.feed_id.is_some() && args.folder_id.is_some() {
            return Err(ToolError::invalid(
                "folder_id",
                "give feed_id or folder_id, not both",
            ));
        }
        let limit = limit(args.limit)?;
        let user = self.user(&ctx)?;
        let filter = Filter {
            feed_id: args.feed_id,
            folder_id: args.folder_id,
            starred_only: args.starred_only,
            unread_only: args.unread_only,
        };
        answer(page(&user, filter, limit, args.offset).await?)
    }

    #[tool(
        name = "nc_news_get_item",
        title = "Read a News article",
        description = "Read one article in full, as text."
    )]
    async fn nc_news_get_item(
        &self,
        Parameters(args): Parameters<ItemIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneItemOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let item = user.news().item(args.item_id).await?;
        answer(OneItemOut {
            item: ItemOut::new(item, FULL_TEXT_CHARS),
        })
    }

    #[tool(
        name = "nc_news_get_starred_items",
        title = "List starred News articles",
        description = "List your starred (saved) articles, newest first."
    )]
    async fn nc_news_get_starred_items(
        &self,
        Parameters(args): Parameters<PageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ItemsOut>>, ToolError> {
        let limit = limit(args.limit)?;
        let user = self.user(&ctx)?;
        let filter = Filter {
            starred_only: true,
            ..Filter::default()
        };
        answer(page(&user, filter, limit, args.offset).await?)
    }

    #[tool(
        name = "nc_news_get_unread_items",
        title = "List unread News articles",
        description = "List articles you have not read yet, from all feeds, newest first."
    )]
    async fn nc_news_get_unread_items(
        &self,
        Parameters(args): Parameters<PageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ItemsOut>>, ToolError> {
        let limit = limit(args.limit)?;
        let user = self.user(&ctx)?;
        let filter = Filter {
            unread_only: true,
            ..Filter::default()
        };
        answer(page(&user, filter, limit, args.offset).await?)
    }

    #[tool(
        name = "nc_news_get_feed_health",
        title = "Check a News feed's updates",
        description = "Say whether a feed's updates are failing: error count and the last error."
    )]
    async fn nc_news_get_feed_health(
        &self,
        Parameters(args): Parameters<FeedIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<HealthOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let feed = user
            .news()
            .feeds()
            .await?
            .feeds
            .into_iter()
            .find(|f| f.id == args.feed_id)
            .ok_or_else(|| {
                not_found(format!("News feed {}", args.feed_id), "nc_news_list_feeds")
            })?;
        let last_error = feed.last_update_error.filter(|e| !e.trim().is_empty());
        answer(HealthOut {
            feed_id: feed.id,
            title: feed.title,
            url: feed.url,
            has_errors: feed.update_error_count > 0 || last_error.is_some(),
            error_count: feed.update_error_count,
            last_error,
        })
    }

    #[tool(
        name = "nc_news_get_status",
        title = "News app status",
        description = "Show the News app's version and configuration warnings (e.g. feeds not updating)."
    )]
    async fn nc_news_get_status(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<StatusOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let status = user.news().status().await?;
        let mut warnings = Vec::new();
        if status.warnings.improperly_configured_cron {
            warnings.push(
                "Background jobs do not run from cron, so feeds are not updated reliably."
                    .to_string(),
            );
        }
        if status.warnings.incorrect_db_charset {
            warnings.push(
                "The database charset cannot store 4-byte characters; some articles may fail to save."
                    .to_string(),
            );
        }
        answer(StatusOut {
            version: status.version,
            warnings,
        })
    }
}
