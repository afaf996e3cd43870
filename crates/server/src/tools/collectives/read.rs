use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CollectiveArgs, CollectiveOut, PageArgs, PageOut, TagOut, pages_out};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Serialize, JsonSchema)]
pub struct CollectivesOut {
    pub collectives: Vec<CollectiveOut>,
    pub total: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PagesOut {
    pub pages: Vec<PageOut>,
    pub total: usize,
    pub collective_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PageContentOut {
    pub page: PageOut,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    pub collective_id: u64,
    pub query: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOut {
    pub results: Vec<PageOut>,
    pub total: usize,
    pub query: String,
    pub collective_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TagsOut {
    pub tags: Vec<TagOut>,
    pub total: usize,
    pub collective_id: u64,
}

const fn read_spec(name: &'static str) -> ToolSpec {
    ToolSpec::new(name, &apps::COLLECTIVES, Some("collectives.read"), Read)
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    read_spec("collectives_get_collectives"),
    read_spec("collectives_get_pages"),
    read_spec("collectives_get_page"),
    read_spec("collectives_search_pages"),
    read_spec("collectives_get_tags"),
    read_spec("collectives_get_trashed_pages"),
    read_spec("collectives_get_trashed_collectives"),
];

#[tool_router(router = collectives_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "collectives_get_collectives",
        title = "List collectives",
        description = "List your collectives (team wikis), not those in the trash."
    )]
    async fn collectives_get_collectives(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CollectivesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let list = user.collectives().list().await?;
        answer(CollectivesOut {
            total: list.len(),
            collectives: list.into_iter().map(CollectiveOut::from).collect(),
        })
    }

    #[tool(
        name = "collectives_get_pages",
        title = "List a collective's pages",
        description = "List a collective's pages; parent_id gives the tree (0: the landing page)."
    )]
    async fn collectives_get_pages(
        &self,
        Parameters(args): Parameters<CollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PagesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let pages = pages_out(user.collectives().pages(args.collective_id).await?);
        answer(PagesOut {
            total: pages.len(),
            pages,
            collective_id: args.collective_id,
        })
    }

    #[tool(
        name = "collectives_get_page",
        title = "Read a collective page",
        description = "Read a page's markdown, with the etag collectives_write_page needs."
    )]
    async fn collectives_get_page(
        &self,
        Parameters(args): Parameters<PageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PageContentOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let c = user
            .collectives()
            .content(args.collective_id, args.page_id)
            .await?;
        answer(PageContentOut {
            page: c.page.into(),
            content: c.markdown,
            etag: c.etag,
        })
    }

    #[tool(
        name = "collectives_search_pages",
        title = "Search a collective's pages",
        description = "Find pages by words in their title or text; the newest changes may not be indexed yet."
    )]
    async fn collectives_search_pages(
        &self,
        Parameters(args): Parameters<SearchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchOut>>, ToolError> {
        let query = non_empty("query", &args.query, "expected words to search for")?.to_string();
        let user = self.user(&ctx)?;
        let results = pages_out(
            user.collectives()
                .search(args.collective_id, &query)
                .await?,
        );
        answer(SearchOut {
            total: results.len(),
            results,
            query,
            collective_id: args.collective_id,
        })
    }

    #[tool(
        name = "collectives_get_tags",
        title = "List a collective's tags",
        description = "List the tags a collective's pages can carry."
    )]
    async fn collectives_get_tags(
        &self,
        Parameters(args): Parameters<CollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TagsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let tags: Vec<TagOut> = user
            .collectives()
            .tags(args.collective_id)
            .await?
            .into_iter()
            .map(TagOut::from)
            .collect();
        answer(TagsOut {
            total: tags.len(),
            tags,
            collective_id: args.collective_id,
        })
    }

    #[tool(
        name = "collectives_get_trashed_pages",
        title = "List trashed pages",
        description = "List a collective's pages in the trash."
    )]
    async fn collectives_get_trashed_pages(
        &self,
        Parameters(args): Parameters<CollectiveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<PagesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let pages = pages_out(user.collectives().trashed_pages(args.collective_id).await?);
        answer(PagesOut {
            total: pages.len(),
            pages,
            collective_id: args.collective_id,
        })
    }

    #[tool(
        name = "collectives_get_trashed_collectives",
        title = "List trashed collectives",
        description = "List your collectives in the trash."
    )]
    async fn collectives_get_trashed_collectives(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CollectivesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let list = user.collectives().trashed().await?;
        answer(CollectivesOut {
            total: list.len(),
            collectives: list.into_iter().map(CollectiveOut::from).collect(),
        })
    }
}
