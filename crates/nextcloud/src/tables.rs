//! The Tables app: its REST API v1 (`/index.php/apps/tables/api/1`) for tables, views,
//! columns, rows and shares, and its OCS API v2 (`/ocs/v2.php/apps/tables/api/2`) where v1
//! has no equivalent or v2 is what the app's own clients use (creating tables, typed column
//! creation, creating rows).
//!
//! Row values travel keyed by column id; Tables itself does not reject a value that does not
//! fit a column (it stores an empty value instead), so callers that care validate first, see
//! [`Column::check_value`].

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Request;
use crate::{Error, NextcloudUser, Result, ocs};

const API: &str = "/index.php/apps/tables/api/1";
const OCS_API: &str = "/ocs/v2.php/apps/tables/api/2";

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// What the current user may do on a table or view shared with them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SharePermissions {
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub create: bool,
    #[serde(default)]
    pub update: bool,
    #[serde(default)]
    pub delete: bool,
    #[serde(default)]
    pub manage: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default)]
    pub emoji: Option<String>,
    /// The owner's user id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ownership: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub owner_display_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_edit_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_shared: bool,
    /// Set when the table is shared with the current user (absent for the owner).
    #[serde(default)]
    pub on_share_permissions: Option<SharePermissions>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rows_count: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub columns_count: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub views: Vec<View>,
}

/// One option of a selection column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectionOption {
    pub id: i64,
    #[serde(default)]
    pub label: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Column {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub table_id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default)]
    pub technical_name: Option<String>,
    /// `text`, `number`, `selection`, `datetime`, `usergroup` (or `relation`).
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// Refines the type: `line`/`rich`/`link`/`long` for text, `stars`/`progress` for number,
    /// `multi`/`check` for selection, `date`/`time` for datetime; empty for the plain kind.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subtype: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mandatory: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(default)]
    pub number_min: Option<f64>,
    #[serde(default)]
    pub number_max: Option<f64>,
    #[serde(default)]
    pub number_decimals: Option<i64>,
    #[serde(default)]
    pub number_default: Option<f64>,
    #[serde(default)]
    pub number_prefix: Option<String>,
    #[serde(default)]
    pub number_suffix: Option<String>,
    #[serde(default)]
    pub text_max_length: Option<i64>,
    #[serde(default)]
    pub text_default: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub selection_options: Vec<SelectionOption>,
    #[serde(default)]
    pub selection_default: Option<String>,
    #[serde(default)]
    pub datetime_default: Option<String>,
}

/// One cell of a row as Tables sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    pub column_id: i64,
    #[serde(default)]
    pub value: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub table_id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_by: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_edit_by: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_edit_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<Cell>,
}

impl Row {
    pub fn value(&self, column_id: u64) -> Option<&Value> {
        self.data
            .iter()
            .find(|c| c.column_id == column_id as i64)
            .map(|c| &c.value)
    }
}

/// A saved view of a table: some of its columns, optionally filtered and sorted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub table_id: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default)]
    pub emoji: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ownership: String,
    /// Ids of the columns the view shows, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub columns: Vec<i64>,
    /// Filter groups (OR of ANDs): `[[{columnId, operator, value}]]`.
    #[serde(default)]
    pub filter: Value,
    #[serde(default)]
    pub sort: Value,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rows_count: u64,
    #[serde(default)]
    pub on_share_permissions: Option<SharePermissions>,
}

/// A column to add. `kind` and `subtype` as in [`Column`].
#[derive(Clone, Debug, Default)]
pub struct NewColumn {
    pub title: String,
    pub kind: String,
    pub subtype: Option<String>,
    pub mandatory: bool,
    pub description: Option<String>,
    pub number_min: Option<f64>,
    pub number_max: Option<f64>,
    pub number_decimals: Option<i64>,
    pub number_prefix: Option<String>,
    pub number_suffix: Option<String>,
    pub text_max_length: Option<i64>,
    /// Labels of the options of a selection column, in order (ids 1, 2, ...).
    pub selection_options: Vec<String>,
    pub default: Option<String>,
}

/// The Tables API for one user; get it with [`NextcloudUser::tables`].
pub struct Tables<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn tables(&self) -> Tables<'_> {
        Tables { user: self }
    }
}

fn table(id: u64) -> String {
    format!("Table {id}")
}
fn view(id: u64) -> String {
    format!("Table view {id}")
}
fn row(id: u64) -> String {
    format!("Table row {id}")
}

/// Tables answers 404 when an id does not exist *or* the user has no access to it; say so.
fn explain(err: Error) -> Error {
    match err {
        Error::NotFound { what, message } => Error::NotFound {
            what,
            message: Some(
                message
                    .filter(|m| !m.trim().is_empty() && !m.contains("More details"))
                    // Service messages carry PHP class prefixes ("OCA\...\RowService - find: ").
                    .map(|m| m.rsplit(": ").next().unwrap_or(&m).to_string())
                    .unwrap_or_else(|| "it does not exist or is not shared with you".into()),
            ),
        },
        other => other,
    }
}

impl Tables<'_> {
    async fn v1<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        what: String,
        body: Option<Value>,
    ) -> Result<T> {
        let mut r = Request::new(method, format!("{API}{path}"), what)
            .header(http::header::ACCEPT, "application/json")?;
        if let Some(b) = body {
            r = r.json(&b)?;
        }
        self.user.send_json(r).await.map_err(explain)
    }

    async fn v2<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        what: String,
        body: Option<Value>,
    ) -> Result<T> {
        let mut r = ocs::request(method, &format!("{OCS_API}{path}"), &what)?;
        if let Some(b) = body {
            r = r.json(&b)?;
        }
        ocs::send(self.user, r).await.map_err(explain)
    }

    /// Tables the user owns or that are shared with them.
    pub async fn list(&self) -> Result<Vec<Table>> {
        self.v1(Method::GET, "/tables".into(), "The table list".into(), None)
            .await
    }

    pub async fn get(&self, table_id: u64) -> Result<Table> {
        self.v1(
            Method::GET,
            format!("/tables/{table_id}"),
            table(table_id),
            None,
        )
        .await
    }

    /// Creates an empty table (template `custom`).
    pub async fn create(
        &self,
        title: &str,
        emoji: Option<&str>,
        description: Option<&str>,
    ) -> Result<Table> {
        self.v2(
            Method::POST,
            "/tables",
            "The new table".into(),
            Some(json!({"title": title, "emoji": emoji, "description": description, "template": "custom"})),
        )
        .await
    }

    /// Deletes a table with its columns, rows and views.
    pub async fn delete(&self, table_id: u64) -> Result<Table> {
        self.v1(
            Method::DELETE,
            format!("/tables/{table_id}"),
            table(table_id),
            None,
        )
        .await
    }

    pub async fn columns(&self, table_id: u64) -> Result<Vec<Column>> {
        self.v1(
            Method::GET,
            format!("/tables/{table_id}/columns"),
            table(table_id),
            None,
        )
        .await
    }

    pub async fn view_columns(&self, view_id: u64) -> Result<Vec<Column>> {
        self.v1(
            Method::GET,
            format!("/views/{view_id}/columns"),
            view(view_id),
            None,
        )
        .await
    }

    /// Adds a column through the typed OCS endpoint (`columns/{type}`). A text column without
    /// a subtype gets `line`: Tables accepts it without one but then cannot store values in it.
    pub async fn create_column(&self, table_id: u64, c: &NewColumn) -> Result<Column> {
        let mut body = json!({
            "baseNodeId": table_id, "baseNodeType": "table", "title": c.title,
            "mandatory": c.mandatory, "description": c.description,
        });
        let subtype = match (c.kind.as_str(), c.subtype.as_deref()) {
            ("text", None | Some("")) => Some("line"),
            (_, s) => s.filter(|s| !s.is_empty()),
        };
        body["subtype"] = json!(subtype);
        match c.kind.as_str() {
            "number" => {
                body["numberMin"] = json!(c.number_min);
                body["numberMax"] = json!(c.number_max);
                body["numberDecimals"] = json!(c.number_decimals);
                body["numberPrefix"] = json!(c.number_prefix);
                body["numberSuffix"] = json!(c.number_suffix);
                body["numberDefault"] =
                    json!(c.default.as_deref().and_then(|d| d.parse::<f64>().ok()));
            }
            "text" => {
                body["textMaxLength"] = json!(c.text_max_length);
                body["textDefault"] = json!(c.default);
            }
            "selection" => {
                let options: Vec<Value> = c
                    .selection_options
                    .iter()
                    .enumerate()
                    .map(|(i, l)| json!({"id": i + 1, "label": l}))
                    .collect();
                body["selectionOptions"] = json!(Value::Array(options).to_string());
                body["selectionDefault"] = json!(c.default);
            }
            "datetime" => body["datetimeDefault"] = json!(c.default),
            "usergroup" => body["usergroupDefault"] = json!(c.default),
            other => {
                return Err(Error::invalid_argument(
                    "type",
                    format!(
                        "unknown column type `{other}`; expected text, number, selection, datetime or usergroup"
                    ),
                ));
            }
        }
        self.v2(
            Method::POST,
            &format!("/columns/{}", c.kind),
            table(table_id),
            Some(body),
        )
        .await
    }

    /// Rows of a table, oldest first, `limit`/`offset` as Tables applies them.
    pub async fn rows(
        &self,
        table_id: u64,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Result<Vec<Row>> {
        self.v1(
            Method::GET,
            format!("/tables/{table_id}/rows{}", page(limit, offset)),
            table(table_id),
            None,
        )
        .await
    }

    /// Rows of a view (its filter applied), `limit`/`offset` as Tables applies them.
    pub async fn view_rows(
        &self,
        view_id: u64,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Result<Vec<Row>> {
        self.v1(
            Method::GET,
            format!("/views/{view_id}/rows{}", page(limit, offset)),
            view(view_id),
            None,
        )
        .await
    }

    pub async fn row(&self, row_id: u64) -> Result<Row> {
        self.v1(Method::GET, format!("/rows/{row_id}"), row(row_id), None)
            .await
    }

    /// Adds a row; `data` maps column ids (as strings) to values in Tables' own formats.
    pub async fn create_row(&self, table_id: u64, data: &Map<String, Value>) -> Result<Row> {
        self.v2(
            Method::POST,
            &format!("/tables/{table_id}/rows"),
            table(table_id),
            Some(json!({ "data": data })),
        )
        .await
    }

    /// Changes the given cells of a row; other cells keep their values.
    pub async fn update_row(&self, row_id: u64, data: &Map<String, Value>) -> Result<Row> {
        self.v1(
            Method::PUT,
            format!("/rows/{row_id}"),
            row(row_id),
            Some(json!({ "data": data })),
        )
        .await
    }

    pub async fn delete_row(&self, row_id: u64) -> Result<Row> {
        self.v1(Method::DELETE, format!("/rows/{row_id}"), row(row_id), None)
            .await
    }

    pub async fn views(&self, table_id: u64) -> Result<Vec<View>> {
        self.v1(
            Method::GET,
            format!("/tables/{table_id}/views"),
            table(table_id),
            None,
        )
        .await
    }

    pub async fn view(&self, view_id: u64) -> Result<View> {
        self.v1(
            Method::GET,
            format!("/views/{view_id}"),
            view(view_id),
            None,
        )
        .await
    }

    pub async fn create_view(&self, table_id: u64, title: &str) -> Result<View> {
        self.v1(
            Method::POST,
            format!("/tables/{table_id}/views"),
            table(table_id),
            Some(json!({"title": title, "emoji": null})),
        )
        .await
    }

    /// Sets a view's columns (ids, in order) and filter (`[[{columnId, operator, value}]]`).
    pub async fn update_view(&self, view_id: u64, columns: &[u64], filter: Value) -> Result<View> {
        let settings: Vec<Value> = columns
            .iter()
            .enumerate()
            .map(|(order, id)| json!({"columnId": id, "order": order}))
            .collect();
        self.v1(
            Method::PUT,
            format!("/views/{view_id}"),
            view(view_id),
            Some(json!({"data": {"columnSettings": settings, "filter": filter}})),
        )
        .await
    }

    /// Shares a table with a user.
    pub async fn share_table(
        &self,
        table_id: u64,
        user_id: &str,
        permissions: &SharePermissions,
    ) -> Result<Value> {
        self.v1(
            Method::POST,
            "/shares".into(),
            table(table_id),
            Some(json!({
                "nodeId": table_id, "nodeType": "table", "receiver": user_id,
                "receiverType": "user", "permissionRead": permissions.read,
                "permissionCreate": permissions.create, "permissionUpdate": permissions.update,
                "permissionDelete": permissions.delete, "permissionManage": permissions.manage,
                "displayMode": 2,
            })),
        )
        .await
    }
}

fn page(limit: Option<u64>, offset: Option<u64>) -> String {
    let mut q = Vec::new();
    if let Some(l) = limit {
        q.push(format!("limit={l}"));
    }
    if let Some(o) = offset {
        q.push(format!("offset={o}"));
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// Why a value does not fit a column.
#[derive(Debug, PartialEq, Eq)]
pub struct ValueError(pub String);

impl Column {
    /// `type` plus `-subtype` as Tables names the kinds in its capabilities (`text-line`).
    pub fn full_type(&self) -> String {
        match (self.kind.as_str(), self.subtype.as_str()) {
            (k, "") => k.to_string(),
            ("text", "long") => "text-rich".into(),
            (k, s) => format!("{k}-{s}"),
        }
    }

    fn option_by(&self, v: &Value) -> Option<&SelectionOption> {
        match v {
            Value::Number(n) => {
                let id = n.as_i64()?;
                self.selection_options.iter().find(|o| o.id == id)
            }
            Value::String(s) => {
                let s = s.trim();
                self.selection_options
                    .iter()
                    .find(|o| o.label == s)
                    .or_else(|| {
                        self.selection_options
                            .iter()
                            .find(|o| o.label.eq_ignore_ascii_case(s))
                    })
                    .or_else(|| {
                        let id: i64 = s.parse().ok()?;
                        self.selection_options.iter().find(|o| o.id == id)
                    })
            }
            _ => None,
        }
    }

    fn labels(&self) -> String {
        self.selection_options
            .iter()
            .map(|o| format!("`{}`", o.label))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks a value a person gave against the column type and converts it into what Tables
    /// stores (selection labels become option ids, booleans become `"true"`/`"false"`, dates
    /// are normalised). `null` clears the cell.
    pub fn check_value(&self, value: &Value) -> std::result::Result<Value, ValueError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let fail = |expected: &str| {
            Err(ValueError(format!(
                "expected {expected} for this {} column, got {value}",
                self.full_type()
            )))
        };
        match (self.kind.as_str(), self.subtype.as_str()) {
            ("number", sub) => {
                let n = match value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                    _ => None,
                };
                let Some(n) = n else {
                    return fail("a number");
                };
                let (min, max) = match sub {
                    "stars" => (Some(0.0), Some(5.0)),
                    "progress" => (Some(0.0), Some(100.0)),
                    _ => (self.number_min, self.number_max),
                };
                if let Some(min) = min
                    && n < min
                {
                    return Err(ValueError(format!("{n} is below the minimum {min}")));
                }
                if let Some(max) = max
                    && n > max
                {
                    return Err(ValueError(format!("{n} is above the maximum {max}")));
                }
                let decimals = self.number_decimals.unwrap_or(0).max(0);
                if sub.is_empty() {
                    let scaled = n * 10f64.powi(decimals as i32);
                    if (scaled - scaled.round()).abs() > 1e-9 {
                        return Err(ValueError(if decimals == 0 {
                            format!("{n} is not a whole number, and this column keeps no decimals")
                        } else {
                            format!("{n} has more than the {decimals} decimals this column keeps")
                        }));
                    }
                }
                Ok(json!(n))
            }
            ("text", _) => {
                let s = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return fail("text"),
                };
                if let Some(max) = self.text_max_length
                    && max > 0
                    && s.chars().count() as i64 > max
                {
                    return Err(ValueError(format!(
                        "the text is {} characters long, more than the maximum {max}",
                        s.chars().count()
                    )));
                }
                if self.subtype == "link" && !s.is_empty() && url::Url::parse(&s).is_err() {
                    return fail("a URL such as `https://example.com`");
                }
                Ok(Value::String(s))
            }
            ("selection", "check") => match value {
                Value::Bool(b) => Ok(json!(if *b { "true" } else { "false" })),
                Value::String(s) if matches!(s.as_str(), "true" | "yes" | "1") => Ok(json!("true")),
                Value::String(s) if matches!(s.as_str(), "false" | "no" | "0") => {
                    Ok(json!("false"))
                }
                _ => fail("true or false"),
            },
            ("selection", "multi") => {
                let items: Vec<Value> = match value {
                    Value::Array(a) => a.clone(),
                    Value::String(s) => s
                        .split(',')
                        .map(|p| Value::String(p.trim().into()))
                        .collect(),
                    other => vec![other.clone()],
                };
                let mut ids = Vec::new();
                for item in &items {
                    match self.option_by(item) {
                        Some(o) => ids.push(o.id),
                        None => {
                            return Err(ValueError(format!(
                                "{item} is not one of the options {}",
                                self.labels()
                            )));
                        }
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                Ok(json!(ids))
            }
            ("selection", _) => match self.option_by(value) {
                Some(o) => Ok(json!(o.id)),
                None => Err(ValueError(format!(
                    "{value} is not one of the options {}",
                    self.labels()
                ))),
            },
            ("datetime", sub) => {
                let Value::String(s) = value else {
                    return fail("a date/time string");
                };
                let s = s.trim();
                if s.is_empty() {
                    return Ok(json!(""));
                }
                match sub {
                    "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(|d| json!(d.format("%Y-%m-%d").to_string()))
                        .or_else(|_| fail("a date as YYYY-MM-DD")),
                    "time" => chrono::NaiveTime::parse_from_str(s, "%H:%M")
                        .or_else(|_| chrono::NaiveTime::parse_from_str(s, "%H:%M:%S"))
                        .map(|t| json!(t.format("%H:%M").to_string()))
                        .or_else(|_| fail("a time as HH:MM")),
                    _ => parse_datetime(s)
                        .map(|t| json!(t.format("%Y-%m-%d %H:%M").to_string()))
                        .ok_or(())
                        .or_else(|_| fail("a date and time as `YYYY-MM-DD HH:MM` or RFC 3339")),
                }
            }
            ("usergroup", _) => {
                let ids: Vec<Value> = match value {
                    Value::String(s) => vec![json!({"id": s, "type": 0})],
                    Value::Array(a) => {
                        let mut out = Vec::new();
                        for v in a {
                            match v {
                                Value::String(s) => out.push(json!({"id": s, "type": 0})),
                                Value::Object(_) => out.push(v.clone()),
                                _ => return fail("user ids"),
                            }
                        }
                        out
                    }
                    _ => return fail("a user id or a list of user ids"),
                };
                Ok(Value::Array(ids))
            }
            _ => Ok(value.clone()),
        }
    }

    /// A stored value as a person reads it: option labels instead of ids, booleans for
    /// checkboxes.
    pub fn display_value(&self, value: &Value) -> Value {
        match (self.kind.as_str(), self.subtype.as_str()) {
            ("selection", "check") => match value {
                Value::String(s) => json!(s == "true"),
                other => other.clone(),
            },
            ("selection", "multi") => match value {
                Value::Array(ids) => Value::Array(
                    ids.iter()
                        .map(|id| {
                            self.option_by(id)
                                .map_or(id.clone(), |o| json!(o.label.clone()))
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            ("selection", _) => self
                .option_by(value)
                .map_or(value.clone(), |o| json!(o.label.clone())),
            _ => value.clone(),
        }
    }
}

fn parse_datetime(s: &str) -> Option<chrono::NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_local());
    }
    for f in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: &str, subtype: &str) -> Column {
        serde_json::from_value(json!({
            "id": 1, "title": "c", "type": kind, "subtype": subtype,
            "selectionOptions": [{"id": 1, "label": "Red"}, {"id": 2, "label": "Green"}],
        }))
        .unwrap()
    }

    #[test]
    fn values_are_checked_and_converted() {
        assert_eq!(col("number", "").check_value(&json!("3")), Ok(json!(3.0)));
        assert!(col("number", "").check_value(&json!(2.5)).is_err());
        assert!(col("number", "").check_value(&json!("abc")).is_err());
        assert!(col("number", "stars").check_value(&json!(6)).is_err());
        assert_eq!(
            col("selection", "").check_value(&json!("green")),
            Ok(json!(2))
        );
        assert!(col("selection", "").check_value(&json!("Blue")).is_err());
        assert_eq!(
            col("selection", "multi").check_value(&json!(["Green", "Red"])),
            Ok(json!([1, 2]))
        );
        assert_eq!(
            col("selection", "check").check_value(&json!(true)),
            Ok(json!("true"))
        );
        assert_eq!(
            col("datetime", "").check_value(&json!("2026-03-01T10:30:00Z")),
            Ok(json!("2026-03-01 10:30"))
        );
        assert!(
            col("datetime", "date")
                .check_value(&json!("01.03.2026"))
                .is_err()
        );
        assert_eq!(col("selection", "").display_value(&json!(1)), json!("Red"));
        assert_eq!(
            col("selection", "check").display_value(&json!("false")),
            json!(false)
        );
    }
}
