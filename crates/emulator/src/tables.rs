//! The Tables app: REST API v1 (`/index.php/apps/tables/api/1/...`, an `ApiController`) and
//! the OCS API v2 (`/ocs/v2.php/apps/tables/api/2/...`). Follows Tables' controllers,
//! `PermissionMiddleware`, `RowService` and the column-type business classes:
//!
//! - a table or view the user cannot see answers 404 with an empty message (the middleware
//!   does not reveal which ids exist); missing rights answer 403;
//! - values that do not fit a column are not rejected but stored empty (`parseValue`), except
//!   text length and number range limits (400) and mandatory columns (400);
//! - a text column without a subtype has no business class, so writing a row that sets it fails
//!   with a 500;
//! - number cells come back as integers unless the column has decimals.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::{AuthOutcome, authenticate};
use crate::ocs::{OcsResult, OcsVersion, negotiate, render};
use crate::params::Params;
use crate::state::{AppState, World};

/// Tables' tables, columns, rows, views and shares (shared by all users).
#[derive(Debug, Default)]
pub struct TablesState {
    next_id: u64,
    tables: BTreeMap<u64, Table>,
    /// Column JSON as `Column::jsonSerialize` gives it, keyed by id.
    columns: BTreeMap<u64, Value>,
    rows: BTreeMap<u64, Row>,
    views: BTreeMap<u64, View>,
    shares: BTreeMap<u64, Share>,
}

#[derive(Clone, Debug)]
struct Table {
    id: u64,
    title: String,
    emoji: Option<String>,
    description: String,
    owner: String,
    created_at: String,
    last_edit_by: String,
    last_edit_at: String,
    archived: bool,
}

#[derive(Clone, Debug)]
struct Row {
    id: u64,
    table_id: u64,
    created_by: String,
    created_at: String,
    last_edit_by: String,
    last_edit_at: String,
    /// Column id → stored value.
    data: BTreeMap<u64, Value>,
}

#[derive(Clone, Debug)]
struct View {
    id: u64,
    table_id: u64,
    title: String,
    emoji: Option<String>,
    description: String,
    owner: String,
    created_at: String,
    last_edit_by: String,
    last_edit_at: String,
    columns: Vec<u64>,
    filter: Value,
    sort: Value,
}

/// A table shared with a user: read, create, update, delete, manage.
#[derive(Clone, Debug)]
struct Share {
    id: u64,
    table_id: u64,
    receiver: String,
    perms: Perms,
    created_at: String,
    sender: String,
}

#[derive(Clone, Copy, Debug, Default)]
struct Perms {
    read: bool,
    create: bool,
    update: bool,
    delete: bool,
    manage: bool,
}

impl Perms {
    const ALL: Perms = Perms {
        read: true,
        create: true,
        update: true,
        delete: true,
        manage: true,
    };

    fn json(&self) -> Value {
        json!({"read": self.read, "create": self.create, "update": self.update,
               "delete": self.delete, "manage": self.manage})
    }
}

/// A Tables failure, rendered per API.
enum Fail {
    /// `PermissionMiddleware`: the node is not accessible (`new NotFoundError()`).
    Hidden,
    /// A `PermissionError`.
    Denied(String),
    /// A `NotFoundError` thrown by a service.
    NotFound(String),
    /// A `BadRequestError` / `InvalidArgumentException`.
    Bad(String),
    /// An `InternalError` or other exception.
    Internal(String),
}

type R = Result<Value, Fail>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    V2,
}

const OCS_NOT_FOUND: &str = "A not found error occurred. More details can be found in the logs. Please reach out to your administration.";
const OCS_ERROR: &str = "An unexpected error occurred. More details can be found in the logs. Please reach out to your administration.";

/// The column kinds that have a business class (`type` + `subtype`).
const KNOWN_KINDS: &[(&str, &str)] = &[
    ("text", "line"),
    ("text", "long"),
    ("text", "rich"),
    ("text", "link"),
    ("number", ""),
    ("number", "stars"),
    ("number", "progress"),
    ("selection", ""),
    ("selection", "multi"),
    ("selection", "check"),
    ("datetime", ""),
    ("datetime", "date"),
    ("datetime", "time"),
    ("usergroup", ""),
];

struct Ctx<'a> {
    world: &'a mut World,
    user: String,
    now: String,
    params: Params,
}

fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn num(s: &str) -> Option<u64> {
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl Ctx<'_> {
    fn st(&mut self) -> &mut TablesState {
        &mut self.world.tables
    }

    fn id(&mut self) -> u64 {
        let st = self.st();
        st.next_id += 1;
        st.next_id
    }

    fn display_name(&self, uid: &str) -> String {
        self.world
            .users
            .get(uid)
            .map_or(uid.to_string(), |u| u.display_name.clone())
    }

    /// The user's rights on a table, `None` when it is not accessible (or does not exist).
    fn perms(&self, table_id: u64) -> Option<Perms> {
        let st = &self.world.tables;
        let t = st.tables.get(&table_id)?;
        if t.owner == self.user {
            return Some(Perms::ALL);
        }
        st.shares
            .values()
            .find(|s| s.table_id == table_id && s.receiver == self.user)
            .map(|s| s.perms)
    }

    /// `RequirePermission` on a table: 404 if not accessible, 403 if the right is missing.
    fn require(&self, table_id: u64, what: &str, pick: fn(&Perms) -> bool) -> Result<Perms, Fail> {
        let p = self.perms(table_id).ok_or(Fail::Hidden)?;
        if pick(&p) {
            Ok(p)
        } else {
            Err(Fail::Denied(format!(
                "User {} cannot {what} on node {table_id} (type 0)",
                self.user
            )))
        }
    }

    fn view_table(&self, view_id: u64) -> Result<u64, Fail> {
        let v = self.world.tables.views.get(&view_id).ok_or(Fail::Hidden)?;
        Ok(v.table_id)
    }

    fn table_json(&self, t: &Table) -> Value {
        let st = &self.world.tables;
        let perms = self.perms(t.id).unwrap_or_default();
        let shared = t.owner != self.user;
        let views: Vec<Value> = st
            .views
            .values()
            .filter(|v| v.table_id == t.id)
            .map(|v| self.view_json(v))
            .collect();
        json!({
            "id": t.id, "title": t.title, "emoji": t.emoji, "ownership": t.owner,
            "ownerDisplayName": self.display_name(&t.owner), "createdBy": t.owner,
            "createdAt": t.created_at, "lastEditBy": t.last_edit_by, "lastEditAt": t.last_edit_at,
            "archived": t.archived, "isShared": shared, "favorite": false,
            "onSharePermissions": if shared { perms.json() } else { Value::Null },
            "hasShares": st.shares.values().any(|s| s.table_id == t.id),
            "rowsCount": st.rows.values().filter(|r| r.table_id == t.id).count(),
            "columnsCount": st.columns.values().filter(|c| c["tableId"] == t.id).count(),
            "description": t.description, "views": views, "columnOrder": [], "sort": [],
        })
    }

    fn view_json(&self, v: &View) -> Value {
        let st = &self.world.tables;
        let owner = st.tables.get(&v.table_id).map(|t| t.owner.clone());
        let shared = owner.as_deref() != Some(self.user.as_str());
        let perms = self.perms(v.table_id).unwrap_or_default();
        let rows = self.view_rows_of(v).len();
        json!({
            "id": v.id, "uuid": null, "tableId": v.table_id, "title": v.title,
            "technicalName": null, "description": v.description, "emoji": v.emoji,
            "ownership": v.owner, "createdBy": v.owner, "createdAt": v.created_at,
            "lastEditBy": v.last_edit_by, "lastEditAt": v.last_edit_at,
            "columns": v.columns,
            "columnSettings": v.columns.iter().enumerate()
                .map(|(i, c)| json!({"columnId": c, "order": i})).collect::<Vec<_>>(),
            "sort": v.sort, "isShared": shared, "favorite": false,
            "onSharePermissions": if shared { perms.json() } else { Value::Null },
            "hasShares": false, "rowsCount": rows,
            "ownerDisplayName": self.display_name(&v.owner), "filter": v.filter,
        })
    }

    fn columns_of(&self, table_id: u64) -> Vec<Value> {
        self.world
            .tables
            .columns
            .values()
            .filter(|c| c["tableId"] == table_id)
            .cloned()
            .collect()
    }

    fn row_json(&self, r: &Row, only: Option<&[u64]>) -> Value {
        let st = &self.world.tables;
        let mut data = Vec::new();
        let mut by_alias = Map::new();
        for (col_id, value) in &r.data {
            if only.is_some_and(|o| !o.contains(col_id)) {
                continue;
            }
            let Some(col) = st.columns.get(col_id) else {
                continue;
            };
            let value = format_cell(col, value);
            data.push(json!({"columnId": col_id, "value": value}));
            if let Some(name) = col["technicalName"].as_str() {
                by_alias.insert(name.to_string(), value);
            }
        }
        json!({
            "id": r.id, "tableId": r.table_id, "createdBy": r.created_by,
            "createdAt": r.created_at, "lastEditBy": r.last_edit_by,
            "lastEditAt": r.last_edit_at, "data": data, "dataByAlias": by_alias,
        })
    }

    fn view_rows_of(&self, v: &View) -> Vec<&Row> {
        let st = &self.world.tables;
        st.rows
            .values()
            .filter(|r| r.table_id == v.table_id && matches_filter(&v.filter, r, st))
            .collect()
    }

    fn page<'r>(&self, rows: Vec<&'r Row>) -> Vec<&'r Row> {
        let offset = self.params.int("offset").unwrap_or(0).max(0) as usize;
        let limit = self.params.int("limit").filter(|l| *l >= 0);
        let it = rows.into_iter().skip(offset);
        match limit {
            Some(l) => it.take(l as usize).collect(),
            None => it.collect(),
        }
    }

    // ---- tables ----

    fn list_tables(&self) -> R {
        let st = &self.world.tables;
        let out: Vec<Value> = st
            .tables
            .values()
            .filter(|t| self.perms(t.id).is_some())
            .map(|t| self.table_json(t))
            .collect();
        Ok(json!(out))
    }

    fn get_table(&self, id: u64) -> R {
        self.require(id, "read", |p| p.read)?;
        Ok(self.table_json(&self.world.tables.tables[&id]))
    }

    fn create_table(&mut self) -> R {
        let title = self.params.string("title").unwrap_or_default();
        if title.trim().is_empty() {
            return Err(Fail::Bad("Title must not be empty".into()));
        }
        let id = self.id();
        let t = Table {
            id,
            title,
            emoji: self.params.string("emoji").filter(|e| !e.is_empty()),
            description: self.params.string("description").unwrap_or_default(),
            owner: self.user.clone(),
            created_at: self.now.clone(),
            last_edit_by: self.user.clone(),
            last_edit_at: self.now.clone(),
            archived: false,
        };
        self.st().tables.insert(id, t.clone());
        Ok(self.table_json(&t))
    }

    fn update_table(&mut self, id: u64) -> R {
        self.require(id, "manage node", |p| p.manage)?;
        let title = self.params.string("title");
        let emoji = self.params.string("emoji");
        let description = self.params.string("description");
        let archived = self.params.bool("archived");
        let (user, now) = (self.user.clone(), self.now.clone());
        let t = self.st().tables.get_mut(&id).ok_or(Fail::Hidden)?;
        if let Some(v) = title.filter(|v| !v.is_empty()) {
            t.title = v;
        }
        if let Some(v) = emoji {
            t.emoji = Some(v);
        }
        if let Some(v) = description {
            t.description = v;
        }
        if let Some(v) = archived {
            t.archived = v;
        }
        t.last_edit_by = user;
        t.last_edit_at = now;
        let t = t.clone();
        Ok(self.table_json(&t))
    }

    fn delete_table(&mut self, id: u64) -> R {
        self.require(id, "manage node", |p| p.manage)?;
        let out = self.table_json(&self.world.tables.tables[&id]);
        let st = self.st();
        st.tables.remove(&id);
        st.columns.retain(|_, c| c["tableId"] != id);
        st.rows.retain(|_, r| r.table_id != id);
        st.views.retain(|_, v| v.table_id != id);
        st.shares.retain(|_, s| s.table_id != id);
        Ok(out)
    }

    // ---- views ----

    fn list_views(&self, table_id: u64) -> R {
        self.require(table_id, "read", |p| p.read)?;
        let out: Vec<Value> = self
            .world
            .tables
            .views
            .values()
            .filter(|v| v.table_id == table_id)
            .map(|v| self.view_json(v))
            .collect();
        Ok(json!(out))
    }

    fn get_view(&self, view_id: u64) -> R {
        let table_id = self.view_table(view_id)?;
        self.require(table_id, "read", |p| p.read)?;
        Ok(self.view_json(&self.world.tables.views[&view_id]))
    }

    fn create_view(&mut self, table_id: u64) -> R {
        self.require(table_id, "manage node", |p| p.manage)?;
        let title = self.params.string("title").unwrap_or_default();
        if title.trim().is_empty() {
            return Err(Fail::Bad("Title must not be empty".into()));
        }
        let id = self.id();
        let columns: Vec<u64> = self
            .columns_of(table_id)
            .iter()
            .filter_map(|c| c["id"].as_u64())
            .collect();
        let v = View {
            id,
            table_id,
            title,
            emoji: self.params.string("emoji").filter(|e| !e.is_empty()),
            description: String::new(),
            owner: self.user.clone(),
            created_at: self.now.clone(),
            last_edit_by: self.user.clone(),
            last_edit_at: self.now.clone(),
            columns,
            filter: json!([]),
            sort: json!([]),
        };
        let out = self.view_json(&v);
        self.st().views.insert(id, v);
        Ok(out)
    }

    fn update_view(&mut self, view_id: u64) -> R {
        let table_id = self.view_table(view_id)?;
        self.require(table_id, "manage node", |p| p.manage)?;
        let data = match self.params.raw("data") {
            Some(Value::Object(m)) => m.clone(),
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
            _ => Map::new(),
        };
        let decode = |v: Option<&Value>| -> Option<Value> {
            match v? {
                Value::String(s) => serde_json::from_str(s).ok(),
                other => Some(other.clone()),
            }
        };
        let settings = decode(data.get("columnSettings")).or_else(|| {
            decode(data.get("columns")).map(|c| {
                json!(
                    c.as_array()
                        .map(|a| a
                            .iter()
                            .enumerate()
                            .map(|(i, id)| json!({"columnId": id, "order": i}))
                            .collect::<Vec<_>>())
                        .unwrap_or_default()
                )
            })
        });
        let filter = decode(data.get("filter"));
        let sort = decode(data.get("sort"));
        let title = data
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string);
        let table_columns: Vec<u64> = self
            .columns_of(table_id)
            .iter()
            .filter_map(|c| c["id"].as_u64())
            .collect();
        let columns = match settings {
            Some(Value::Array(items)) => {
                let mut cols: Vec<(i64, u64)> = Vec::new();
                for item in items {
                    let Some(id) = item["columnId"].as_u64() else {
                        return Err(Fail::Bad("Invalid column settings".into()));
                    };
                    if !table_columns.contains(&id) {
                        return Err(Fail::Bad(format!(
                            "Column with id {id} is not part of table with id {table_id}"
                        )));
                    }
                    cols.push((item["order"].as_i64().unwrap_or(0), id));
                }
                cols.sort();
                Some(cols.into_iter().map(|(_, id)| id).collect::<Vec<_>>())
            }
            _ => None,
        };
        let (user, now) = (self.user.clone(), self.now.clone());
        let v = self.st().views.get_mut(&view_id).ok_or(Fail::Hidden)?;
        if let Some(c) = columns {
            v.columns = c;
        }
        if let Some(f) = filter.filter(|f| f.is_array()) {
            v.filter = f;
        }
        if let Some(s) = sort.filter(|s| s.is_array()) {
            v.sort = s;
        }
        if let Some(t) = title.filter(|t| !t.is_empty()) {
            v.title = t;
        }
        v.last_edit_by = user;
        v.last_edit_at = now;
        let v = v.clone();
        Ok(self.view_json(&v))
    }

    fn delete_view(&mut self, view_id: u64) -> R {
        let table_id = self.view_table(view_id)?;
        self.require(table_id, "manage node", |p| p.manage)?;
        let out = self.view_json(&self.world.tables.views[&view_id]);
        self.st().views.remove(&view_id);
        Ok(out)
    }

    // ---- columns ----

    fn table_columns(&self, table_id: u64) -> R {
        self.require(table_id, "read", |p| p.read)?;
        Ok(json!(self.columns_of(table_id)))
    }

    fn view_columns(&self, view_id: u64) -> R {
        let table_id = self.view_table(view_id)?;
        self.require(table_id, "read", |p| p.read)?;
        let st = &self.world.tables;
        let v = &st.views[&view_id];
        let out: Vec<Value> = v
            .columns
            .iter()
            .filter_map(|id| st.columns.get(id).cloned())
            .collect();
        Ok(json!(out))
    }

    fn get_column(&self, id: u64) -> R {
        let col = self.world.tables.columns.get(&id).ok_or_else(|| {
            Fail::NotFound(format!(
                "OCA\\Tables\\Service\\ColumnService - find: Column with id {id} not found"
            ))
        })?;
        let table_id = col["tableId"].as_u64().unwrap_or(0);
        if self.perms(table_id).is_none() {
            return Err(Fail::Denied(format!(
                "PermissionError: can not read column with id {id}"
            )));
        }
        Ok(col.clone())
    }

    fn delete_column(&mut self, id: u64) -> R {
        let col = self.get_column(id)?;
        let table_id = col["tableId"].as_u64().unwrap_or(0);
        if !self.perms(table_id).is_some_and(|p| p.manage) {
            return Err(Fail::Denied(format!(
                "PermissionError: can not delete column with id {id}"
            )));
        }
        let st = self.st();
        st.columns.remove(&id);
        for r in st.rows.values_mut() {
            r.data.remove(&id);
        }
        for v in st.views.values_mut() {
            v.columns.retain(|c| *c != id);
        }
        Ok(col)
    }

    /// `ColumnService::create` with the DTO built from the request (`kind` fixed by the typed
    /// OCS endpoints, read from `type` in v1).
    fn create_column(&mut self, table_id: u64, kind: Option<&str>) -> R {
        self.require(table_id, "manage node", |p| p.manage)?;
        let p = &self.params;
        let kind = match kind {
            Some(k) => k.to_string(),
            None => p.string("type").unwrap_or_default(),
        };
        if !matches!(
            kind.as_str(),
            "text" | "number" | "selection" | "datetime" | "usergroup"
        ) {
            return Err(Fail::Bad(format!(
                "\"{kind}\" is not a valid backing value for enum OCA\\Tables\\Constants\\ColumnType"
            )));
        }
        let title = p.string("title").unwrap_or_default();
        if title.trim().is_empty() {
            return Err(Fail::Bad("Title is missing.".into()));
        }
        let (min, max) = (float(p, "numberMin"), float(p, "numberMax"));
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(Fail::Bad(
                "Minimum number must be less than or equal to maximum number.".into(),
            ));
        }
        if p.int("textMaxLength").is_some_and(|l| l < 0) {
            return Err(Fail::Bad(
                "Maximum text length must be greater than or equal to 0.".into(),
            ));
        }
        let options: Value = match p.raw("selectionOptions") {
            Some(Value::String(s)) if !s.is_empty() => serde_json::from_str(s)
                .map_err(|_| Fail::Bad("Invalid selection options".into()))?,
            Some(Value::Array(a)) => json!(a),
            _ => json!([]),
        };
        // Titles are unique per table: Tables appends " (1)", " (2)", ...
        let existing: Vec<String> = self
            .columns_of(table_id)
            .iter()
            .filter_map(|c| c["title"].as_str().map(str::to_string))
            .collect();
        let mut final_title = title.trim().to_string();
        let mut i = 1;
        while existing.contains(&final_title) {
            final_title = format!("{} ({i})", title.trim());
            i += 1;
        }
        let id = self.id();
        let p = &self.params;
        let col = json!({
            "id": id, "uuid": null, "tableId": table_id, "title": final_title,
            "technicalName": p.string("technicalName").unwrap_or_else(|| format!("column_{id}")),
            "createdBy": self.user, "createdByDisplayName": self.display_name(&self.user),
            "createdAt": self.now, "lastEditBy": self.user,
            "lastEditByDisplayName": self.display_name(&self.user), "lastEditAt": self.now,
            "viewColumnInformation": null, "type": kind,
            "subtype": p.string("subtype").unwrap_or_default(),
            "mandatory": p.bool("mandatory").unwrap_or(false),
            "description": p.string("description").unwrap_or_default(),
            "numberDefault": float(p, "numberDefault"), "numberMin": min, "numberMax": max,
            "numberDecimals": p.int("numberDecimals"),
            "numberPrefix": p.string("numberPrefix").unwrap_or_default(),
            "numberSuffix": p.string("numberSuffix").unwrap_or_default(),
            "textDefault": p.string("textDefault").unwrap_or_default(),
            "textAllowedPattern": p.string("textAllowedPattern").unwrap_or_default(),
            "textMaxLength": p.int("textMaxLength"),
            "textUnique": p.bool("textUnique").unwrap_or(false),
            "selectionOptions": options,
            "selectionDefault": p.string("selectionDefault").unwrap_or_default(),
            "datetimeDefault": p.string("datetimeDefault").unwrap_or_default(),
            "usergroupDefault": [], "usergroupMultipleItems": p.bool("usergroupMultipleItems"),
            "usergroupSelectUsers": p.bool("usergroupSelectUsers"),
            "usergroupSelectGroups": p.bool("usergroupSelectGroups"),
            "usergroupSelectTeams": p.bool("usergroupSelectTeams"),
            "showUserStatus": p.bool("showUserStatus"), "customSettings": {},
        });
        let st = self.st();
        st.columns.insert(id, col.clone());
        // New columns show up in every view of the table.
        for v in st.views.values_mut().filter(|v| v.table_id == table_id) {
            v.columns.push(id);
        }
        Ok(col)
    }

    // ---- rows ----

    fn table_rows(&self, table_id: u64) -> R {
        self.require(table_id, "read", |p| p.read)?;
        let rows: Vec<&Row> = self
            .world
            .tables
            .rows
            .values()
            .filter(|r| r.table_id == table_id)
            .collect();
        Ok(json!(
            self.page(rows)
                .into_iter()
                .map(|r| self.row_json(r, None))
                .collect::<Vec<_>>()
        ))
    }

    fn view_rows(&self, view_id: u64) -> R {
        let table_id = self.view_table(view_id)?;
        self.require(table_id, "read", |p| p.read)?;
        let v = &self.world.tables.views[&view_id];
        let rows = self.view_rows_of(v);
        Ok(json!(
            self.page(rows)
                .into_iter()
                .map(|r| self.row_json(r, Some(&v.columns)))
                .collect::<Vec<_>>()
        ))
    }

    fn get_row(&self, id: u64) -> R {
        let r = self.world.tables.rows.get(&id).ok_or_else(|| {
            Fail::NotFound(format!(
                "OCA\\Tables\\Service\\RowService - find: Row with id {id} was not found."
            ))
        })?;
        if self.perms(r.table_id).is_none() {
            return Err(Fail::Denied(format!(
                "PermissionError: can not read row with id {id}"
            )));
        }
        Ok(self.row_json(r, None))
    }

    /// The `data` parameter as `[(columnId, value)]`: an object keyed by column id, a list of
    /// `{columnId, value}`, or either as a JSON string.
    fn data_param(&self, api: Api) -> Result<Vec<(u64, Value)>, Fail> {
        let raw = match self.params.raw("data") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        match raw {
            Value::Object(m) => Ok(m
                .into_iter()
                .map(|(k, v)| (crate::params::php_intval(&k).max(0) as u64, v))
                .collect()),
            Value::Array(a) => Ok(a
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(ref o) if o.contains_key("columnId") => (
                        o["columnId"].as_u64().unwrap_or(0),
                        o.get("value").cloned().unwrap_or(Value::Null),
                    ),
                    other => (i as u64, other),
                })
                .collect()),
            _ if api == Api::V2 => Err(Fail::Bad(
                "Cannot create row: data input is invalid.".into(),
            )),
            _ => Err(Fail::Internal("Could not create row.".into())),
        }
    }

    /// `RowService::cleanupAndValidateData` plus the business classes' `parseValue`.
    fn clean(
        &self,
        table_id: u64,
        data: Vec<(u64, Value)>,
        existing: Option<&Row>,
    ) -> Result<BTreeMap<u64, Value>, Fail> {
        let st = &self.world.tables;
        let mut out = BTreeMap::new();
        for (col_id, value) in data {
            let col = st
                .columns
                .get(&col_id)
                .filter(|c| c["tableId"] == table_id)
                .ok_or_else(|| {
                    Fail::Internal(format!(
                        "Column with id {col_id} is not part of table with id {table_id}"
                    ))
                })?;
            let title = col["title"].as_str().unwrap_or_default();
            if let (Some(max), Value::String(s)) = (col["textMaxLength"].as_i64(), &value)
                && s.chars().count() as i64 > max
            {
                return Err(Fail::Bad(format!(
                    "Value for column {title} exceeds maximum length of {max}"
                )));
            }
            if let Some(n) = numeric(&value) {
                if let Some(min) = col["numberMin"].as_f64()
                    && n < min
                {
                    return Err(Fail::Bad(format!(
                        "Value for column {title} is less than minimum allowed value of {}",
                        php_float(min)
                    )));
                }
                if let Some(max) = col["numberMax"].as_f64()
                    && n > max
                {
                    return Err(Fail::Bad(format!(
                        "Value for column {title} exceeds maximum allowed value of {}",
                        php_float(max)
                    )));
                }
            }
            let kind = col["type"].as_str().unwrap_or_default();
            let sub = col["subtype"].as_str().unwrap_or_default();
            if !KNOWN_KINDS.contains(&(kind, sub)) {
                let class = format!(
                    "OCA\\Tables\\Service\\ColumnTypes\\{}{}Business",
                    ucfirst(kind),
                    ucfirst(sub)
                );
                return Err(Fail::Internal(format!(
                    "Could not resolve {class}! Class \"{class}\" does not exist"
                )));
            }
            match parse_value(col, &value) {
                Some(v) => out.insert(col_id, v),
                None => out.remove(&col_id),
            };
        }
        for col in st.columns.values().filter(|c| c["tableId"] == table_id) {
            if col["mandatory"] != true || col["subtype"] == "check" {
                continue;
            }
            let id = col["id"].as_u64().unwrap_or(0);
            let value = out
                .get(&id)
                .or_else(|| existing.and_then(|r| r.data.get(&id)));
            let empty = match value {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            if empty {
                return Err(Fail::Bad(format!(
                    "Mandatory column \"{}\" cannot be empty.",
                    col["title"].as_str().unwrap_or_default()
                )));
            }
        }
        Ok(out)
    }

    fn create_row(&mut self, table_id: u64, api: Api) -> R {
        self.require(table_id, "create rows", |p| p.create)?;
        let data = self.data_param(api)?;
        let cells = self.clean(table_id, data, None)?;
        let id = self.id();
        let r = Row {
            id,
            table_id,
            created_by: self.user.clone(),
            created_at: self.now.clone(),
            last_edit_by: self.user.clone(),
            last_edit_at: self.now.clone(),
            data: cells,
        };
        let out = self.row_json(&r, None);
        self.st().rows.insert(id, r);
        if let Some(t) = self.st().tables.get_mut(&table_id) {
            t.last_edit_at = out["createdAt"].as_str().unwrap_or_default().to_string();
        }
        Ok(out)
    }

    fn create_row_in_view(&mut self, view_id: u64, api: Api) -> R {
        let table_id = self.view_table(view_id)?;
        self.create_row(table_id, api)
    }

    fn update_row(&mut self, id: u64) -> R {
        let r = self.world.tables.rows.get(&id).cloned().ok_or_else(|| {
            Fail::NotFound(format!(
                "OCA\\Tables\\Service\\RowService - updateSet: Row with id {id} was not found."
            ))
        })?;
        match self.perms(r.table_id) {
            None => {
                return Err(Fail::NotFound(format!(
                    "OCA\\Tables\\Service\\RowService - updateSet: Row with id {id} was not found."
                )));
            }
            Some(p) if !p.update => {
                return Err(Fail::Denied(
                    "OCA\\Tables\\Service\\RowService - updateSet: Update row is not allowed."
                        .into(),
                ));
            }
            _ => {}
        }
        let data = self
            .data_param(Api::V1)
            .map_err(|_| Fail::Internal("Could not update row.".into()))?;
        let cells = self.clean(r.table_id, data.clone(), Some(&r))?;
        let (user, now) = (self.user.clone(), self.now.clone());
        let row = self.st().rows.get_mut(&id).ok_or(Fail::Hidden)?;
        for (col_id, _) in data {
            match cells.get(&col_id) {
                Some(v) => row.data.insert(col_id, v.clone()),
                None => row.data.remove(&col_id),
            };
        }
        row.last_edit_by = user;
        row.last_edit_at = now;
        let row = row.clone();
        Ok(self.row_json(&row, None))
    }

    fn delete_row(&mut self, id: u64) -> R {
        let not_found = || {
            Fail::NotFound(format!(
                "OCA\\Tables\\Service\\RowService - delete: OCA\\Tables\\Service\\RowService - getRowById: Row with id {id} was not found."
            ))
        };
        let r = self
            .world
            .tables
            .rows
            .get(&id)
            .cloned()
            .ok_or_else(not_found)?;
        match self.perms(r.table_id) {
            None => {
                return Err(Fail::NotFound(
                    "OCA\\Tables\\Service\\RowService - delete: Row not found.".into(),
                ));
            }
            Some(p) if !p.delete => {
                return Err(Fail::Denied(
                    "OCA\\Tables\\Service\\RowService - delete: Update row is not allowed.".into(),
                ));
            }
            _ => {}
        }
        let out = self.row_json(&r, None);
        self.st().rows.remove(&id);
        Ok(out)
    }

    // ---- shares ----

    fn create_share(&mut self) -> R {
        let node_type = self.params.string("nodeType").unwrap_or_default();
        let node_id = self.params.int("nodeId").unwrap_or(0).max(0) as u64;
        if node_type != "table" {
            return Err(Fail::Internal(format!(
                "Sharing of {node_type} nodes is not emulated"
            )));
        }
        self.require(node_id, "manage node", |p| p.manage)?;
        let receiver = self.params.string("receiver").unwrap_or_default();
        if !self.world.users.contains_key(&receiver) {
            return Err(Fail::Internal(format!("User {receiver} does not exist")));
        }
        let flag = |n: &str| self.params.bool(n).unwrap_or(false);
        let perms = Perms {
            read: flag("permissionRead"),
            create: flag("permissionCreate"),
            update: flag("permissionUpdate"),
            delete: flag("permissionDelete"),
            manage: flag("permissionManage"),
        };
        let id = self.id();
        let share = Share {
            id,
            table_id: node_id,
            receiver,
            perms,
            created_at: self.now.clone(),
            sender: self.user.clone(),
        };
        let out = json!({
            "id": share.id, "sender": share.sender, "receiver": share.receiver,
            "receiverDisplayName": self.display_name(&share.receiver), "receiverType": "user",
            "nodeId": node_id, "nodeType": "table",
            "permissionRead": perms.read, "permissionCreate": perms.create,
            "permissionUpdate": perms.update, "permissionDelete": perms.delete,
            "permissionManage": perms.manage, "createdAt": share.created_at,
            "createdBy": share.sender, "lastEditAt": share.created_at,
            "lastEditBy": share.sender,
        });
        self.st().shares.insert(id, share);
        Ok(out)
    }
}

fn float(p: &Params, name: &str) -> Option<f64> {
    match p.raw(name)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn ucfirst(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn php_float(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `canBeParsed` + `parseValue` of the column's business class; `None` stores nothing.
fn parse_value(col: &Value, value: &Value) -> Option<Value> {
    let kind = col["type"].as_str().unwrap_or_default();
    let sub = col["subtype"].as_str().unwrap_or_default();
    let options: Vec<i64> = col["selectionOptions"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["id"].as_i64()).collect())
        .unwrap_or_default();
    if value.is_null() {
        return None;
    }
    match (kind, sub) {
        ("number", _) => {
            let n = numeric(value)?;
            (n != 0.0 || value == &json!(0) || value == &json!("0")).then(|| json!(n))
        }
        ("text", _) => match value {
            Value::String(s) => Some(json!(s)),
            Value::Number(n) => Some(json!(n.to_string())),
            Value::Bool(b) => Some(json!(if *b { "1" } else { "" })),
            other => Some(json!(other.to_string())),
        },
        ("selection", "check") => {
            let positive = matches!(value, Value::Bool(true))
                || value == &json!(1)
                || matches!(value.as_str(), Some("yes" | "1" | "true" | "TRUE"));
            let negative = matches!(value, Value::Bool(false))
                || value == &json!(0)
                || matches!(value.as_str(), Some("no" | "0" | "false" | "FALSE"));
            (positive || negative).then(|| json!(if positive { "true" } else { "false" }))
        }
        ("selection", "multi") => {
            let ids: Vec<i64> = match value {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|v| numeric(v).map(|f| f as i64))
                    .collect(),
                _ => return None,
            };
            if ids.iter().any(|i| !options.contains(i)) {
                return None;
            }
            let mut ids = ids;
            ids.sort_unstable();
            Some(json!(ids))
        }
        ("selection", _) => {
            let id = numeric(value)?;
            (id.fract() == 0.0 && options.contains(&(id as i64))).then(|| json!(id as i64))
        }
        ("datetime", "date") => {
            let s = value.as_str()?;
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == s)
                .map(|_| json!(s))
        }
        ("datetime", "time") => {
            let s = value.as_str()?;
            chrono::NaiveTime::parse_from_str(s, "%H:%M")
                .ok()
                .map(|_| json!(s))
        }
        ("datetime", _) => {
            let s = value.as_str()?;
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M") {
                return Some(json!(t.format("%Y-%m-%d %H:%M").to_string()));
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| json!(t.format("%Y-%m-%d %H:%M").to_string()))
        }
        ("usergroup", _) => Some(value.clone()),
        _ => Some(value.clone()),
    }
}

/// `RowCell*Mapper::formatRowData`: numbers as integers unless the column has decimals.
fn format_cell(col: &Value, value: &Value) -> Value {
    if col["type"] == "number"
        && let Some(n) = value.as_f64()
    {
        let decimals = col["numberDecimals"].as_i64().unwrap_or(0);
        if decimals <= 0 {
            return json!(n.trunc() as i64);
        }
        let f = 10f64.powi(decimals as i32);
        return json!((n * f).round() / f);
    }
    value.clone()
}

/// A view filter: groups OR-ed, rules within a group AND-ed.
fn matches_filter(filter: &Value, row: &Row, st: &TablesState) -> bool {
    let Some(groups) = filter.as_array().filter(|g| !g.is_empty()) else {
        return true;
    };
    groups.iter().any(|group| {
        group.as_array().is_none_or(|rules| {
            rules.iter().all(|rule| {
                let col_id = rule["columnId"].as_u64().unwrap_or(0);
                let op = rule["operator"].as_str().unwrap_or_default();
                let want = &rule["value"];
                let have = row
                    .data
                    .get(&col_id)
                    .map(|v| {
                        st.columns
                            .get(&col_id)
                            .map_or(v.clone(), |c| format_cell(c, v))
                    })
                    .unwrap_or(Value::Null);
                let text = |v: &Value| match v {
                    Value::String(s) => s.to_lowercase(),
                    Value::Null => String::new(),
                    other => other.to_string().to_lowercase(),
                };
                let (h, w) = (text(&have), text(want));
                match op {
                    "is-empty" => have.is_null() || h.is_empty(),
                    "is-equal" => match (numeric(&have), numeric(want)) {
                        (Some(a), Some(b)) => a == b,
                        _ => h == w,
                    },
                    "contains" => h.contains(&w),
                    "begins-with" => h.starts_with(&w),
                    "ends-with" => h.ends_with(&w),
                    "is-greater-than"
                    | "is-greater-than-or-equal"
                    | "is-lower-than"
                    | "is-lower-than-or-equal" => {
                        let ord = match (numeric(&have), numeric(want)) {
                            (Some(a), Some(b)) => a.partial_cmp(&b),
                            _ => Some(h.cmp(&w)),
                        };
                        let Some(ord) = ord else { return false };
                        match op {
                            "is-greater-than" => ord.is_gt(),
                            "is-greater-than-or-equal" => ord.is_ge(),
                            "is-lower-than" => ord.is_lt(),
                            _ => ord.is_le(),
                        }
                    }
                    _ => true,
                }
            })
        })
    })
}

fn respond_v1(result: R) -> Response {
    let (status, message) = match result {
        Ok(v) => return (StatusCode::OK, axum::Json(v)).into_response(),
        Err(Fail::Hidden) => (404, String::new()),
        Err(Fail::Denied(m)) => (403, m),
        Err(Fail::NotFound(m)) => (404, m),
        Err(Fail::Bad(m)) => (400, m),
        Err(Fail::Internal(m)) => (500, m),
    };
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(json!({ "message": message }))).into_response()
}

fn respond_v2(result: R, format: crate::ocs::Format) -> Response {
    let res = match result {
        Ok(v) => OcsResult::ok(v),
        // The middleware's DataResponse for a hidden node is not an OCS answer.
        Err(Fail::Hidden) => {
            return (StatusCode::NOT_FOUND, axum::Json(json!({"message": ""}))).into_response();
        }
        // PermissionError becomes an OCSForbiddenException.
        Err(Fail::Denied(m)) => OcsResult::error(403, m),
        Err(Fail::NotFound(_)) => OcsResult {
            status: 404,
            message: None,
            data: json!({"message": OCS_NOT_FOUND}),
        },
        Err(Fail::Bad(m)) => OcsResult {
            status: 400,
            message: None,
            data: json!({ "message": m }),
        },
        Err(Fail::Internal(_)) => OcsResult {
            status: 500,
            message: None,
            data: json!({"message": OCS_ERROR}),
        },
    };
    render(OcsVersion::V2, format, res)
}

/// `/index.php/apps/tables/api/1/...`.
pub async fn api1(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("tables") {
        return crate::not_found_page();
    }
    let now = timestamp(state.now());
    let mut world = state.world();
    let user = match authenticate(&world, &headers) {
        AuthOutcome::Ok(a) => a.user_id,
        AuthOutcome::Anonymous => return crate::not_logged_in_json(),
        AuthOutcome::Invalid => return crate::login_failed_json(),
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let mut ctx = Ctx {
        world: &mut world,
        user,
        now,
        params,
    };
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let n = |i: usize| seg.get(i).and_then(|s| num(s)).unwrap_or(0);
    let ids_ok = seg
        .iter()
        .enumerate()
        .all(|(i, s)| i % 2 == 0 || num(s).is_some() || *s == "simple");
    if !ids_ok {
        return crate::not_found_page();
    }
    let result = match (&method, seg.as_slice()) {
        (&Method::GET, ["tables"]) => ctx.list_tables(),
        (&Method::POST, ["tables"]) => ctx.create_table(),
        (&Method::GET, ["tables", _]) => ctx.get_table(n(1)),
        (&Method::PUT, ["tables", _]) => ctx.update_table(n(1)),
        (&Method::DELETE, ["tables", _]) => ctx.delete_table(n(1)),
        (&Method::GET, ["tables", _, "views"]) => ctx.list_views(n(1)),
        (&Method::POST, ["tables", _, "views"]) => ctx.create_view(n(1)),
        (&Method::GET, ["views", _]) => ctx.get_view(n(1)),
        (&Method::PUT, ["views", _]) => ctx.update_view(n(1)),
        (&Method::DELETE, ["views", _]) => ctx.delete_view(n(1)),
        (&Method::GET, ["tables", _, "columns"]) => ctx.table_columns(n(1)),
        (&Method::POST, ["tables", _, "columns"]) => ctx.create_column(n(1), None),
        (&Method::GET, ["views", _, "columns"]) => ctx.view_columns(n(1)),
        (&Method::GET, ["columns", _]) => ctx.get_column(n(1)),
        (&Method::DELETE, ["columns", _]) => ctx.delete_column(n(1)),
        (&Method::GET, ["tables", _, "rows"]) => ctx.table_rows(n(1)),
        (&Method::POST, ["tables", _, "rows"]) => ctx.create_row(n(1), Api::V1),
        (&Method::GET, ["views", _, "rows"]) => ctx.view_rows(n(1)),
        (&Method::POST, ["views", _, "rows"]) => ctx.create_row_in_view(n(1), Api::V1),
        (&Method::GET, ["rows", _]) => ctx.get_row(n(1)),
        (&Method::PUT, ["rows", _]) => ctx.update_row(n(1)),
        (&Method::DELETE, ["rows", _]) => ctx.delete_row(n(1)),
        (&Method::POST, ["shares"]) => ctx.create_share(),
        _ => return crate::not_found_page(),
    };
    respond_v1(result)
}

/// `/ocs/v2.php/apps/tables/api/2/...`.
pub async fn api2(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let format = negotiate(query.as_deref(), &headers);
    if !state.app_installed("tables") {
        return crate::ocs::render_legacy(
            OcsVersion::V2,
            crate::ocs::format_param(query.as_deref()).unwrap_or(crate::ocs::Format::Xml),
            crate::ocs::RESPOND_NOT_FOUND,
            crate::ocs::INVALID_QUERY,
        );
    }
    let now = timestamp(state.now());
    let mut world = state.world();
    let user = match crate::ocs::ocs_v2_user(&world, &headers, format) {
        Ok(user) => user,
        Err(answer) => return *answer,
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let mut ctx = Ctx {
        world: &mut world,
        user,
        now,
        params,
    };
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let id = |i: usize| seg.get(i).and_then(|s| num(s));
    let base = ctx.params.int("baseNodeId").unwrap_or(0).max(0) as u64;
    let result = match (&method, seg.as_slice()) {
        (&Method::GET, ["tables"]) => ctx.list_tables(),
        (&Method::POST, ["tables"]) => ctx.create_table(),
        (&Method::GET, ["tables", _]) if id(1).is_some() => ctx.get_table(id(1).unwrap_or(0)),
        (&Method::DELETE, ["tables", _]) if id(1).is_some() => ctx.delete_table(id(1).unwrap_or(0)),
        (&Method::POST, ["tables", _, "rows"]) if id(1).is_some() => {
            ctx.create_row(id(1).unwrap_or(0), Api::V2)
        }
        (&Method::POST, ["views", _, "rows"]) if id(1).is_some() => {
            ctx.create_row_in_view(id(1).unwrap_or(0), Api::V2)
        }
        (&Method::GET, ["columns", "table", _]) if id(2).is_some() => {
            ctx.table_columns(id(2).unwrap_or(0))
        }
        (&Method::GET, ["columns", "view", _]) if id(2).is_some() => {
            ctx.view_columns(id(2).unwrap_or(0))
        }
        (&Method::GET, ["columns", _]) if id(1).is_some() => ctx.get_column(id(1).unwrap_or(0)),
        (&Method::POST, ["columns", kind])
            if matches!(
                *kind,
                "number" | "text" | "selection" | "datetime" | "usergroup"
            ) =>
        {
            let node_type = ctx.params.string("baseNodeType").unwrap_or("table".into());
            let table = if node_type == "view" {
                match ctx.view_table(base) {
                    Ok(t) => t,
                    Err(e) => return respond_v2(Err(e), format),
                }
            } else {
                base
            };
            ctx.create_column(table, Some(kind))
        }
        _ => {
            return crate::ocs::render_legacy(
                OcsVersion::V2,
                format,
                crate::ocs::RESPOND_NOT_FOUND,
                crate::ocs::INVALID_QUERY,
            );
        }
    };
    respond_v2(result, format)
}
