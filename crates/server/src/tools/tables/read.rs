use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ColumnOut, RowOut, row_out, table_url, view_url};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::tables::SharePermissions;

/// Your rights on a table someone shared with you.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PermissionsOut {
    pub read: bool,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub manage: bool,
}

fn perms(p: Option<SharePermissions>, shared: bool) -> Option<PermissionsOut> {
    p.filter(|_| shared).map(|p| PermissionsOut {
        read: p.read,
        create: p.create,
        update: p.update,
        delete: p.delete,
        manage: p.manage,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ViewRef {
    pub id: u64,
    pub title: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TableSummary {
    pub id: u64,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// User id of the owner.
    pub owner: String,
    pub rows_count: u64,
    pub columns_count: u64,
    /// Whether someone else shared the table with you.
    pub is_shared: bool,
    /// Your rights on a table shared with you (absent for your own tables: you may do all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsOut>,
    pub views: Vec<ViewRef>,
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TablesOut {
    pub tables: Vec<TableSummary>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TableIdArgs {
    pub table_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SchemaOut {
    pub table_id: u64,
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub columns: Vec<ColumnOut>,
    pub views: Vec<ViewRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsOut>,
    pub url: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadTableArgs {
    pub table_id: u64,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RowsOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view_id: Option<u64>,
    /// Column names, in order.
    pub columns: Vec<String>,
    pub rows: Vec<RowOut>,
    /// Rows in this answer.
    pub count: usize,
    pub offset: u64,
    /// Whether more rows follow (ask again with a larger offset).
    pub has_more: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ViewOut {
    pub id: u64,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Names of the columns the view shows.
    pub columns: Vec<String>,
    /// The view's filter as Tables stores it (`[[{columnId, operator, value}]]`: groups are
    /// alternatives, rules within a group all apply); empty when it shows every row.
    pub filter: Value,
    pub rows_count: u64,
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ViewsOut {
    pub table_id: u64,
    pub views: Vec<ViewOut>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadViewArgs {
    pub view_id: u64,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
}

/// One more row than asked tells whether more follow.
fn probe(limit: Option<u64>) -> Option<u64> {
    limit.map(|l| l.saturating_add(1))
}

fn check_limit(limit: Option<u64>) -> Result<(), ToolError> {
    if limit == Some(0) {
        return Err(ToolError::invalid(
            "limit",
            "expected at least 1 (leave it out for all rows)",
        ));
    }
    Ok(())
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_tables_list_tables",
        &apps::TABLES,
        Some("tables.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_tables_get_schema",
        &apps::TABLES,
        Some("tables.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_tables_read_table",
        &apps::TABLES,
        Some("tables.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_tables_list_views",
        &apps::TABLES,
        Some("tables.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_tables_read_view",
        &apps::TABLES,
        Some("tables.read"),
        Read,
    ),
];

#[tool_router(router = tables_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_tables_list_tables",
        title = "List tables",
        description = "Your Tables tables (own and shared) with row and column counts, your rights and saved views."
    )]
    async fn nc_tables_list_tables(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TablesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let base = user.client().base_url().to_string();
        let tables: Vec<TableSummary> = user
            .tables()
            .list()
            .await?
            .into_iter()
            .map(|t| TableSummary {
                url: table_url(&base, t.id),
                id: t.id,
                title: t.title,
                emoji: t.emoji.filter(|e| !e.is_empty()),
                description: t.description,
                owner: t.ownership,
                rows_count: t.rows_count,
                columns_count: t.columns_count,
                is_shared: t.is_shared,
                permissions: perms(t.on_share_permissions, t.is_shared),
                views: t
                    .views
                    .into_iter()
                    .map(|v| ViewRef {
                        id: v.id,
                        title: v.title,
                    })
                    .collect(),
            })
            .collect();
        answer(TablesOut {
            total_count: tables.len(),
            tables,
        })
    }

    #[tool(
        name = "nc_tables_get_schema",
        title = "Show a table's columns",
        description = "A table's columns, types, options and limits. Read it before writing rows."
    )]
    async fn nc_tables_get_schema(
        &self,
        Parameters(args): Parameters<TableIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SchemaOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let table = tables.get(args.table_id).await?;
        let columns = tables.columns(args.table_id).await?;
        answer(SchemaOut {
            table_id: table.id,
            title: table.title,
            description: table.description,
            columns: columns.iter().map(ColumnOut::from).collect(),
            views: table
                .views
                .into_iter()
                .map(|v| ViewRef {
                    id: v.id,
                    title: v.title,
                })
                .collect(),
            permissions: perms(table.on_share_permissions, table.is_shared),
            url: table_url(user.client().base_url(), table.id),
        })
    }

    #[tool(
        name = "nc_tables_read_table",
        title = "Read a table's rows",
        description = "A table's rows as `{column name: value}`, a page at a time (has_more says whether more follow)."
    )]
    async fn nc_tables_read_table(
        &self,
        Parameters(args): Parameters<ReadTableArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RowsOut>>, ToolError> {
        check_limit(args.limit)?;
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let columns = tables.columns(args.table_id).await?;
        let mut rows = tables
            .rows(args.table_id, probe(args.limit), args.offset)
            .await?;
        let has_more = args.limit.is_some_and(|l| rows.len() as u64 > l);
        if let Some(l) = args.limit {
            rows.truncate(l as usize);
        }
        let rows: Vec<RowOut> = rows.iter().map(|r| row_out(r, &columns)).collect();
        answer(RowsOut {
            table_id: Some(args.table_id),
            view_id: None,
            columns: columns.iter().map(|c| c.title.clone()).collect(),
            count: rows.len(),
            rows,
            offset: args.offset.unwrap_or(0),
            has_more,
        })
    }

    #[tool(
        name = "nc_tables_list_views",
        title = "List a table's views",
        description = "List a table's saved views with their columns, filter and row count."
    )]
    async fn nc_tables_list_views(
        &self,
        Parameters(args): Parameters<TableIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ViewsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let views = tables.views(args.table_id).await?;
        let columns = tables.columns(args.table_id).await?;
        let base = user.client().base_url().to_string();
        let views: Vec<ViewOut> = views
            .into_iter()
            .map(|v| ViewOut {
                url: view_url(&base, v.id),
                id: v.id,
                title: v.title,
                emoji: v.emoji.filter(|e| !e.is_empty()),
                columns: v
                    .columns
                    .iter()
                    .filter_map(|id| columns.iter().find(|c| c.id as i64 == *id))
                    .map(|c| c.title.clone())
                    .collect(),
                filter: if v.filter.is_null() {
                    Value::Array(Vec::new())
                } else {
                    v.filter
                },
                rows_count: v.rows_count,
            })
            .collect();
        answer(ViewsOut {
            table_id: args.table_id,
            total_count: views.len(),
            views,
        })
    }

    #[tool(
        name = "nc_tables_read_view",
        title = "Read a view's rows",
        description = "Read the rows a saved view shows (its filter and columns applied), paged like nc_tables_read_table."
    )]
    async fn nc_tables_read_view(
        &self,
        Parameters(args): Parameters<ReadViewArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RowsOut>>, ToolError> {
        check_limit(args.limit)?;
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let columns = tables.view_columns(args.view_id).await?;
        let mut rows = tables
            .view_rows(args.view_id, probe(args.limit), args.offset)
            .await?;
        let has_more = args.limit.is_some_and(|l| rows.len() as u64 > l);
        if let Some(l) = args.limit {
            rows.truncate(l as usize);
        }
        let rows: Vec<RowOut> = rows.iter().map(|r| row_out(r, &columns)).collect();
        answer(RowsOut {
            table_id: None,
            view_id: Some(args.view_id),
            columns: columns.iter().map(|c| c.title.clone()).collect(),
            count: rows.len(),
            rows,
            offset: args.offset.unwrap_or(0),
            has_more,
        })
    }
}
