use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ColumnOut, RowOut, row_out, table_url, to_cells};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::tables::NewColumn;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct InsertRowArgs {
    pub table_id: u64,
    /// `{column name: value}`; see nc_tables_get_schema.
    pub data: Map<String, Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateRowArgs {
    pub row_id: u64,
    /// `{column name: value}`; null empties a cell.
    pub data: Map<String, Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RowIdArgs {
    pub row_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RowWritten {
    pub table_id: u64,
    pub row_id: u64,
    /// The row as Tables stored it.
    pub row: RowOut,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RowDeleted {
    pub message: String,
    pub deleted_id: u64,
    pub table_id: u64,
}

/// Column types, named as Tables names them.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
// Inlined: a short enum costs less in every tool schema than a shared definition.
#[schemars(inline)]
pub enum ColumnType {
    // One line of text.
    #[serde(rename = "text-line", alias = "text")]
    TextLine,
    // Formatted, multi-line text (Markdown).
    #[serde(rename = "text-rich")]
    TextRich,
    // A link.
    #[serde(rename = "text-link", alias = "link")]
    TextLink,
    // A number; `number_decimals` sets how many decimals are kept (default 0).
    #[serde(rename = "number")]
    Number,
    // A 0–5 star rating.
    #[serde(rename = "number-stars")]
    NumberStars,
    // A 0–100 progress bar.
    #[serde(rename = "number-progress")]
    NumberProgress,
    // One of `options`.
    #[serde(rename = "selection")]
    Selection,
    // Any of `options`.
    #[serde(rename = "selection-multi")]
    SelectionMulti,
    // A checkbox.
    #[serde(rename = "selection-check", alias = "checkbox")]
    SelectionCheck,
    // Date and time.
    #[serde(rename = "datetime")]
    Datetime,
    // A date.
    #[serde(rename = "datetime-date", alias = "date")]
    DatetimeDate,
    // A time of day.
    #[serde(rename = "datetime-time", alias = "time")]
    DatetimeTime,
    // Users.
    #[serde(rename = "usergroup")]
    Usergroup,
}

impl ColumnType {
    fn split(self) -> (&'static str, Option<&'static str>) {
        use ColumnType::*;
        match self {
            TextLine => ("text", Some("line")),
            TextRich => ("text", Some("rich")),
            TextLink => ("text", Some("link")),
            Number => ("number", None),
            NumberStars => ("number", Some("stars")),
            NumberProgress => ("number", Some("progress")),
            Selection => ("selection", None),
            SelectionMulti => ("selection", Some("multi")),
            SelectionCheck => ("selection", Some("check")),
            Datetime => ("datetime", None),
            DatetimeDate => ("datetime", Some("date")),
            DatetimeTime => ("datetime", Some("time")),
            Usergroup => ("usergroup", None),
        }
    }
}

/// A column to add.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ColumnSpec {
    pub title: String,
    /// `number-stars` is 0-5, `number-progress` 0-100, `selection-check` a checkbox.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mandatory: bool,
    /// Selection labels.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub number_min: Option<f64>,
    #[serde(default)]
    pub number_max: Option<f64>,
    /// Default 0.
    #[serde(default)]
    pub number_decimals: Option<i64>,
    /// E.g. `€`.
    #[serde(default)]
    pub number_prefix: Option<String>,
    /// E.g. `kg`.
    #[serde(default)]
    pub number_suffix: Option<String>,
    #[serde(default)]
    pub text_max_length: Option<i64>,
}

impl ColumnSpec {
    fn to_new(&self, arg: &'static str) -> Result<NewColumn, ToolError> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err(ToolError::invalid(arg, "a column needs a non-empty title"));
        }
        let (kind, subtype) = self.kind.split();
        let options = self.options.clone().unwrap_or_default();
        let is_choice = matches!(
            self.kind,
            ColumnType::Selection | ColumnType::SelectionMulti
        );
        if is_choice && options.iter().all(|o| o.trim().is_empty()) {
            return Err(ToolError::invalid(
                arg,
                format!("column `{title}`: a selection column needs `options` (its labels)"),
            ));
        }
        if !is_choice && self.options.as_ref().is_some_and(|o| !o.is_empty()) {
            return Err(ToolError::invalid(
                arg,
                format!("column `{title}`: `options` only apply to selection columns"),
            ));
        }
        if let (Some(a), Some(b)) = (self.number_min, self.number_max)
            && a > b
        {
            return Err(ToolError::invalid(
                arg,
                format!("column `{title}`: number_min {a} is above number_max {b}"),
            ));
        }
        if self.number_decimals.is_some_and(|d| !(0..=10).contains(&d)) {
            return Err(ToolError::invalid(
                arg,
                format!("column `{title}`: number_decimals must be between 0 and 10"),
            ));
        }
        if self.text_max_length.is_some_and(|l| l < 1) {
            return Err(ToolError::invalid(
                arg,
                format!("column `{title}`: text_max_length must be at least 1"),
            ));
        }
        Ok(NewColumn {
            title: title.to_string(),
            kind: kind.into(),
            subtype: subtype.map(str::to_string),
            mandatory: self.mandatory,
            description: self.description.clone(),
            number_min: self.number_min,
            number_max: self.number_max,
            number_decimals: self.number_decimals,
            number_prefix: self.number_prefix.clone(),
            number_suffix: self.number_suffix.clone(),
            text_max_length: self.text_max_length,
            selection_options: options
                .into_iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            default: None,
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTableArgs {
    pub title: String,
    #[serde(default)]
    pub emoji: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Columns to create, in order.
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TableCreated {
    pub table_id: u64,
    pub title: String,
    pub columns: Vec<ColumnOut>,
    pub url: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddColumnArgs {
    pub table_id: u64,
    #[serde(flatten)]
    pub column: ColumnSpec,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnAdded {
    pub table_id: u64,
    pub column: ColumnOut,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_tables_insert_row",
        &apps::TABLES,
        Some("tables.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_tables_update_row",
        &apps::TABLES,
        Some("tables.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_tables_delete_row",
        &apps::TABLES,
        Some("tables.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_tables_create_table",
        &apps::TABLES,
        Some("tables.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_tables_add_column",
        &apps::TABLES,
        Some("tables.write"),
        Create,
    ),
];

#[tool_router(router = tables_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_tables_insert_row",
        title = "Add a row",
        description = "Add a row as `{column name: value}`; values are checked against their columns first."
    )]
    async fn nc_tables_insert_row(
        &self,
        Parameters(args): Parameters<InsertRowArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RowWritten>>, ToolError> {
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let columns = tables.columns(args.table_id).await?;
        let cells = to_cells(args.table_id, &columns, &args.data)?;
        let row = tables.create_row(args.table_id, &cells).await?;
        answer(RowWritten {
            table_id: args.table_id,
            row_id: row.id,
            row: row_out(&row, &columns),
        })
    }

    #[tool(
        name = "nc_tables_update_row",
        title = "Change a row",
        description = "Change some cells of a row as `{column name: value}` (null empties a cell)."
    )]
    async fn nc_tables_update_row(
        &self,
        Parameters(args): Parameters<UpdateRowArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RowWritten>>, ToolError> {
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let current = tables.row(args.row_id).await?;
        let columns = tables.columns(current.table_id).await?;
        let cells = to_cells(current.table_id, &columns, &args.data)?;
        let row = tables.update_row(args.row_id, &cells).await?;
        answer(RowWritten {
            table_id: current.table_id,
            row_id: row.id,
            row: row_out(&row, &columns),
        })
    }

    #[tool(
        name = "nc_tables_delete_row",
        title = "Delete a row",
        description = "Delete a row from a table for good."
    )]
    async fn nc_tables_delete_row(
        &self,
        Parameters(args): Parameters<RowIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RowDeleted>>, ToolError> {
        let user = self.user(&ctx)?;
        let row = user.tables().delete_row(args.row_id).await?;
        answer(RowDeleted {
            message: format!("Row {} was deleted.", args.row_id),
            deleted_id: args.row_id,
            table_id: row.table_id,
        })
    }

    #[tool(
        name = "nc_tables_create_table",
        title = "Create a table",
        description = "Create a new table, optionally with its columns."
    )]
    async fn nc_tables_create_table(
        &self,
        Parameters(args): Parameters<CreateTableArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TableCreated>>, ToolError> {
        let title = non_empty("title", &args.title, "expected a non-empty title")?;
        // Check every column before creating anything, so a bad spec leaves no half table.
        let specs: Vec<NewColumn> = args
            .columns
            .iter()
            .map(|c| c.to_new("columns"))
            .collect::<Result<_, _>>()?;
        let mut seen = std::collections::HashSet::new();
        for c in &specs {
            if !seen.insert(c.title.to_lowercase()) {
                return Err(ToolError::invalid(
                    "columns",
                    format!("two columns are named `{}`", c.title),
                ));
            }
        }
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let table = tables
            .create(
                title,
                args.emoji.as_deref().filter(|e| !e.is_empty()),
                args.description.as_deref(),
            )
            .await?;
        let mut columns = Vec::new();
        for spec in &specs {
            columns.push(ColumnOut::from(
                &tables.create_column(table.id, spec).await?,
            ));
        }
        answer(TableCreated {
            table_id: table.id,
            title: table.title,
            columns,
            url: table_url(user.client().base_url(), table.id),
        })
    }

    #[tool(
        name = "nc_tables_add_column",
        title = "Add a column",
        description = "Add a text, link, number, stars, progress, selection, checkbox, date, time or users column. Needs manage rights."
    )]
    async fn nc_tables_add_column(
        &self,
        Parameters(args): Parameters<AddColumnArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ColumnAdded>>, ToolError> {
        let spec = args.column.to_new("title")?;
        let user = self.user(&ctx)?;
        let tables = user.tables();
        let existing = tables.columns(args.table_id).await?;
        if existing
            .iter()
            .any(|c| c.title.eq_ignore_ascii_case(&spec.title))
        {
            return Err(ToolError::invalid(
                "title",
                format!(
                    "table {} already has a column named `{}`",
                    args.table_id, spec.title
                ),
            ));
        }
        let column = tables.create_column(args.table_id, &spec).await?;
        answer(ColumnAdded {
            table_id: args.table_id,
            column: ColumnOut::from(&column),
        })
    }
}
