//! Tables app tools: `nc_tables_*`. Tables addresses cells by column id; these tools speak in
//! column *names* both ways (rows come back as `{name: value}`, rows are written as
//! `{name: value}`), and check every value against its column's type before Tables sees it,
//! because Tables silently stores an empty cell for a value it cannot parse.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::mcp::NextcloudMcp;
use crate::tools::common::ToolError;
use nextcloud::tables::{Column, Row};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::tables_read_router() + NextcloudMcp::tables_write_router()
}

fn table_url(base: &str, table_id: u64) -> String {
    format!("{base}/index.php/apps/tables/#/table/{table_id}")
}

fn view_url(base: &str, view_id: u64) -> String {
    format!("{base}/index.php/apps/tables/#/view/{view_id}")
}

/// A column as the tools describe it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnOut {
    pub id: u64,
    pub title: String,
    /// Tables' type name: `text-line`, `text-rich`, `text-link`, `number`, `number-stars`,
    /// `number-progress`, `selection`, `selection-multi`, `selection-check`, `datetime`,
    /// `datetime-date`, `datetime-time` or `usergroup`.
    #[serde(rename = "type")]
    pub kind: String,
    pub mandatory: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Allowed labels of a selection column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    /// What a value for this column looks like.
    pub expects: String,
}

impl From<&Column> for ColumnOut {
    fn from(c: &Column) -> Self {
        let kind = c.full_type();
        let expects = match kind.as_str() {
            "number" if c.number_decimals.unwrap_or(0) > 0 => format!(
                "a number with up to {} decimals",
                c.number_decimals.unwrap_or(0)
            ),
            "number" => "a whole number".into(),
            "number-stars" => "a rating from 0 to 5".into(),
            "number-progress" => "a percentage from 0 to 100".into(),
            "selection" => "one of the option labels".into(),
            "selection-multi" => "a list of option labels".into(),
            "selection-check" => "true or false".into(),
            "datetime" => "a date and time, `YYYY-MM-DD HH:MM`".into(),
            "datetime-date" => "a date, `YYYY-MM-DD`".into(),
            "datetime-time" => "a time, `HH:MM`".into(),
            "text-link" => "a URL".into(),
            "usergroup" => "a user id or a list of user ids".into(),
            _ => "text".into(),
        };
        let number = c.kind == "number" && c.subtype.is_empty();
        Self {
            id: c.id,
            title: c.title.clone(),
            mandatory: c.mandatory,
            description: c.description.clone(),
            options: (c.kind == "selection" && c.subtype != "check").then(|| {
                c.selection_options
                    .iter()
                    .map(|o| o.label.clone())
                    .collect()
            }),
            min: if number { c.number_min } else { None },
            max: if number { c.number_max } else { None },
            decimals: if number {
                Some(c.number_decimals.unwrap_or(0))
            } else {
                None
            },
            max_length: c.text_max_length.filter(|_| c.kind == "text"),
            expects,
            kind,
        }
    }
}

/// A row with its cells keyed by column name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RowOut {
    pub id: u64,
    /// Column name → value (option labels for selections, booleans for checkboxes).
    pub values: Map<String, Value>,
    #[serde(rename = "lastEditAt", skip_serializing_if = "String::is_empty")]
    pub last_edit_at: String,
}

fn row_out(row: &Row, columns: &[Column]) -> RowOut {
    let mut values = Map::new();
    for c in columns {
        let v = row.value(c.id).cloned().unwrap_or(Value::Null);
        values.insert(c.title.clone(), c.display_value(&v));
    }
    RowOut {
        id: row.id,
        values,
        last_edit_at: row.last_edit_at.clone(),
    }
}

/// Finds the column a person means by `name`: exact title, then case-insensitive title, then
/// technical name or numeric id.
fn find_column<'c>(columns: &'c [Column], name: &str) -> Option<&'c Column> {
    let n = name.trim();
    columns
        .iter()
        .find(|c| c.title == n)
        .or_else(|| columns.iter().find(|c| c.title.eq_ignore_ascii_case(n)))
        .or_else(|| {
            columns
                .iter()
                .find(|c| c.technical_name.as_deref() == Some(n) || c.id.to_string() == n)
        })
}

/// Turns `{column name: value}` into Tables' `{column id: stored value}`, checking each value.
fn to_cells(
    table_id: u64,
    columns: &[Column],
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, ToolError> {
    if data.is_empty() {
        return Err(ToolError::invalid(
            "data",
            "expected at least one `column name: value` pair",
        ));
    }
    let mut cells = Map::new();
    for (name, value) in data {
        let Some(col) = find_column(columns, name) else {
            let names: Vec<String> = columns.iter().map(|c| format!("`{}`", c.title)).collect();
            return Err(ToolError::invalid(
                "data",
                format!(
                    "table {table_id} has no column named `{name}`; its columns are {}",
                    if names.is_empty() {
                        "none (add one with nc_tables_add_column)".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        };
        let stored = col
            .check_value(value)
            .map_err(|e| ToolError::invalid("data", format!("column `{}`: {}", col.title, e.0)))?;
        cells.insert(col.id.to_string(), stored);
    }
    Ok(cells)
}
