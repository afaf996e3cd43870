use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FeedOut, FolderOut};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::news::Mark;

/// Most item ids one call may change (one request each, so that unknown ids are reported).
const MAX_IDS: usize = 200;

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Read,
    Unread,
    Star,
    Unstar,
}

impl From<Action> for Mark {
    fn from(a: Action) -> Self {
        match a {
            Action::Read => Mark::Read,
            Action::Unread => Mark::Unread,
            Action::Star => Mark::Star,
            Action::Unstar => Mark::Unstar,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MarkArgs {
    pub item_ids: Vec<u64>,
    pub action: Action,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarkedOut {
    pub item_ids: Vec<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddFeedArgs {
    pub url: String,
    #[serde(default)]
    pub folder_id: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OneFeedOut {
    pub feed: FeedOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FeedIdArgs {
    pub feed_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NameArgs {
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RenameFolderArgs {
    pub folder_id: u64,
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FolderIdArgs {
    pub folder_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedOut {
    pub deleted_id: u64,
}

const fn write_spec(name: &'static str, effect: crate::tools::spec::Effect) -> ToolSpec {
    ToolSpec::new(name, &apps::NEWS, Some("news.write"), effect)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    write_spec("nc_news_mark_items", Update),
    write_spec("nc_news_add_feed", Create),
    write_spec("nc_news_delete_feed", Delete),
    write_spec("nc_news_create_folder", Create),
    write_spec("nc_news_rename_folder", Update),
    write_spec("nc_news_delete_folder", Delete),
];

#[tool_router(router = news_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_news_mark_items",
        title = "Mark News articles",
        description = "Mark articles read or unread, or star or unstar them."
    )]
    async fn nc_news_mark_items(
        &self,
        Parameters(args): Parameters<MarkArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<MarkedOut>>, ToolError> {
        let mut ids = args.item_ids;
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() || ids.len() > MAX_IDS {
            return Err(ToolError::invalid(
                "item_ids",
                format!("expected 1 to {MAX_IDS} item ids, got {}", ids.len()),
            ));
        }
        let user = self.user(&ctx)?;
        let api = user.news();
        let mark = Mark::from(args.action);
        for (done, id) in ids.iter().enumerate() {
            match api.mark(*id, mark).await {
                Ok(()) => {}
                Err(e) if done == 0 => return Err(e.into()),
                Err(e) => {
                    return Err(ToolError::PartlyDone(format!(
                        "Item {id} failed after {done} of {} items were changed ({:?}): {e}",
                        ids.len(),
                        &ids[..done]
                    )));
                }
            }
        }
        answer(MarkedOut { item_ids: ids })
    }

    #[tool(
        name = "nc_news_add_feed",
        title = "Subscribe to a feed",
        description = "Subscribe to an RSS/Atom feed by its URL, optionally into a folder. The app fetches it at once."
    )]
    async fn nc_news_add_feed(
        &self,
        Parameters(args): Parameters<AddFeedArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneFeedOut>>, ToolError> {
        let url = non_empty("url", &args.url, "expected the feed's address")?;
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(ToolError::invalid(
                    "url",
                    "expected an http:// or https:// address",
                ));
            }
        }
        let user = self.user(&ctx)?;
        let feed = user.news().create_feed(url, args.folder_id).await?;
        answer(OneFeedOut { feed: feed.into() })
    }

    #[tool(
        name = "nc_news_delete_feed",
        title = "Unsubscribe from a feed",
        description = "Unsubscribe from a feed; its articles, starred ones too, are deleted."
    )]
    async fn nc_news_delete_feed(
        &self,
        Parameters(args): Parameters<FeedIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeletedOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.news().delete_feed(args.feed_id).await?;
        answer(DeletedOut {
            deleted_id: args.feed_id,
        })
    }

    #[tool(
        name = "nc_news_create_folder",
        title = "Create a News folder",
        description = "Create a folder to sort feeds into."
    )]
    async fn nc_news_create_folder(
        &self,
        Parameters(args): Parameters<NameArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<FolderOut>>, ToolError> {
        let name = non_empty("name", &args.name, "expected a non-empty folder name")?;
        let user = self.user(&ctx)?;
        let folder = user.news().create_folder(name).await?;
        answer(FolderOut::from(folder))
    }

    #[tool(
        name = "nc_news_rename_folder",
        title = "Rename a News folder",
        description = "Rename a News folder."
    )]
    async fn nc_news_rename_folder(
        &self,
        Parameters(args): Parameters<RenameFolderArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<FolderOut>>, ToolError> {
        let name = non_empty("name", &args.name, "expected a non-empty folder name")?;
        let user = self.user(&ctx)?;
        user.news().rename_folder(args.folder_id, name).await?;
        answer(FolderOut {
            id: args.folder_id,
            name: name.to_string(),
        })
    }

    #[tool(
        name = "nc_news_delete_folder",
        title = "Delete a News folder",
        description = "Delete a folder together with the feeds in it and their articles."
    )]
    async fn nc_news_delete_folder(
        &self,
        Parameters(args): Parameters<FolderIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeletedOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.news().delete_folder(args.folder_id).await?;
        answer(DeletedOut {
            deleted_id: args.folder_id,
        })
    }
}
