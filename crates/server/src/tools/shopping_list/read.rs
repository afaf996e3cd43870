use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::{ItemOut, ListIdArgs, ListOut};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListsOut {
    pub lists: Vec<ListOut>,
    pub total_count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OneListOut {
    pub list: ListOut,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ItemsOut {
    pub items: Vec<ItemOut>,
    pub list_id: u64,
    pub total_count: usize,
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_shopping_list_get_lists",
        &apps::SHOPPING_LIST,
        Some("shopping_list.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_shopping_list_get_list",
        &apps::SHOPPING_LIST,
        Some("shopping_list.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_shopping_list_get_items",
        &apps::SHOPPING_LIST,
        Some("shopping_list.read"),
        Read,
    ),
];

#[tool_router(router = shopping_list_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_shopping_list_get_lists",
        title = "List shopping lists",
        description = "List the shopping lists you own or that are shared with you, most recently changed first."
    )]
    async fn nc_shopping_list_get_lists(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let lists: Vec<ListOut> = user
            .shopping_list()
            .lists()
            .await?
            .into_iter()
            .map(ListOut::from)
            .collect();
        answer(ListsOut {
            total_count: lists.len(),
            lists,
        })
    }

    #[tool(
        name = "nc_shopping_list_get_list",
        title = "Show a shopping list",
        description = "One shopping list: title, owner, your access. Items: nc_shopping_list_get_items."
    )]
    async fn nc_shopping_list_get_list(
        &self,
        Parameters(args): Parameters<ListIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneListOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let list = user.shopping_list().get(args.list_id).await?;
        answer(OneListOut { list: list.into() })
    }

    #[tool(
        name = "nc_shopping_list_get_items",
        title = "List shopping list items",
        description = "List the items of a shopping list, open ones first, ticked-off ones (checked) after."
    )]
    async fn nc_shopping_list_get_items(
        &self,
        Parameters(args): Parameters<ListIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ItemsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let items: Vec<ItemOut> = user
            .shopping_list()
            .items(args.list_id)
            .await?
            .into_iter()
            .map(ItemOut::from)
            .collect();
        answer(ItemsOut {
            total_count: items.len(),
            list_id: args.list_id,
            items,
        })
    }
}
