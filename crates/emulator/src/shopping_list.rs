//! The Shopping List app (`shopping_list` 1.1, github.com/otherworld-dev/Shopping-List): the
//! OCS routes for lists and items under `/ocs/v2.php/apps/shopping_list/api/v1/`.
//!
//! Quirks kept from the app: errors are a `DataResponse` with the status mirrored into the
//! OCS meta and the app's words in `data.message`; reading a list nobody shared with you is
//! 404, but writing to it is 403 ("No write access"); item routes find the item by its id
//! alone and ignore the list id in the URL; deleting answers 204 with no body, clearing and
//! unchecking answer `data: null`; a new item's quantity defaults to "1". The app publishes
//! no capability. Shop areas, tags, shares and public links are not emulated (a share can be
//! made with [`share`] for tests).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ocs::{
    AppCall, Format, OcsResult, OcsVersion, app_call, format_param, render, render_legacy,
    router_not_found,
};
use crate::params::Params;
use crate::state::{AppState, World};

/// Lists and items of every user (ids are global, like the app's table rows).
#[derive(Debug, Default)]
pub struct ShoppingState {
    lists: BTreeMap<u64, ListRec>,
    items: BTreeMap<u64, ItemRec>,
    /// (list id, user id) → permission (0 read, 1 write).
    shares: BTreeMap<(u64, String), i64>,
    last_list: u64,
    last_item: u64,
}

#[derive(Debug, Clone)]
struct ListRec {
    owner: String,
    title: String,
    created: i64,
    updated: i64,
}

#[derive(Debug, Clone)]
struct ItemRec {
    list_id: u64,
    name: String,
    quantity: Option<String>,
    unit: Option<String>,
    shop_area_id: Option<i64>,
    checked: bool,
    checked_by: Option<String>,
    sort_order: i64,
    created: i64,
    updated: i64,
}

/// `DateTimeInterface::ATOM` in UTC, as the entities serialise their timestamps.
fn atom(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// How an app service call failed.
enum Fail {
    NotFound(&'static str),
    Denied(&'static str),
    /// No such route (or not with this method).
    NoRoute,
    /// A required controller argument was missing (a PHP TypeError: the OCS entry point's
    /// "Internal Server Error").
    Missing,
}

type R = Result<Answer, Fail>;

enum Answer {
    Data(Value, u16),
    NoContent,
}

impl ShoppingState {
    fn list_json(&self, id: u64, rec: &ListRec, uid: &str) -> Value {
        let is_owner = rec.owner == uid;
        json!({
            "id": id,
            "userId": rec.owner,
            "title": rec.title,
            "permission": if is_owner { 1 } else { self.permission(id, uid) },
            "isOwner": is_owner,
            "createdAt": atom(rec.created),
            "updatedAt": atom(rec.updated),
        })
    }

    fn item_json(id: u64, it: &ItemRec) -> Value {
        json!({
            "id": id,
            "listId": it.list_id,
            "name": it.name,
            "quantity": it.quantity,
            "unit": it.unit,
            "shopAreaId": it.shop_area_id,
            "checked": it.checked,
            "checkedBy": it.checked_by,
            "sortOrder": it.sort_order,
            "tags": [],
            "createdAt": atom(it.created),
            "updatedAt": atom(it.updated),
        })
    }

    /// The share permission, -1 without a share (group shares are not emulated).
    fn permission(&self, list: u64, uid: &str) -> i64 {
        self.shares
            .get(&(list, uid.to_string()))
            .copied()
            .unwrap_or(-1)
    }

    fn assert_access(&self, list: u64, uid: &str) -> Result<(), Fail> {
        let rec = self
            .lists
            .get(&list)
            .ok_or(Fail::NotFound("List not found"))?;
        if rec.owner == uid || self.permission(list, uid) >= 0 {
            Ok(())
        } else {
            Err(Fail::NotFound("List not found"))
        }
    }

    fn assert_write(&self, list: u64, uid: &str) -> Result<(), Fail> {
        let rec = self
            .lists
            .get(&list)
            .ok_or(Fail::NotFound("List not found"))?;
        if rec.owner == uid || self.permission(list, uid) >= 1 {
            Ok(())
        } else {
            Err(Fail::Denied("No write access"))
        }
    }

    fn item_for_write(&self, id: u64, uid: &str) -> Result<u64, Fail> {
        let it = self
            .items
            .get(&id)
            .ok_or(Fail::NotFound("Item not found"))?;
        self.assert_write(it.list_id, uid)?;
        Ok(it.list_id)
    }

    fn index(&self, uid: &str) -> Value {
        let mut lists: Vec<(&u64, &ListRec)> = self
            .lists
            .iter()
            .filter(|(id, l)| l.owner == uid || self.permission(**id, uid) >= 0)
            .collect();
        // Owned lists first, then shared ones, each most recently changed first.
        lists.sort_by_key(|(id, l)| (l.owner != uid, std::cmp::Reverse((l.updated, **id))));
        Value::Array(
            lists
                .into_iter()
                .map(|(id, l)| self.list_json(*id, l, uid))
                .collect(),
        )
    }

    fn create_list(&mut self, uid: &str, title: &str, now: i64) -> u64 {
        self.last_list += 1;
        let id = self.last_list;
        self.lists.insert(
            id,
            ListRec {
                owner: uid.to_string(),
                title: title.to_string(),
                created: now,
                updated: now,
            },
        );
        id
    }

    fn create_item(&mut self, list_id: u64, item: NewItem, now: i64) -> u64 {
        self.last_item += 1;
        let id = self.last_item;
        self.items.insert(
            id,
            ItemRec {
                list_id,
                name: item.name,
                quantity: Some(item.quantity.unwrap_or_else(|| "1".into())),
                unit: item.unit,
                shop_area_id: item.shop_area_id,
                checked: false,
                checked_by: None,
                sort_order: 0,
                created: now,
                updated: now,
            },
        );
        id
    }

    fn items_of(&self, list: u64) -> Value {
        let mut items: Vec<(&u64, &ItemRec)> = self
            .items
            .iter()
            .filter(|(_, i)| i.list_id == list)
            .collect();
        items.sort_by_key(|(id, i)| {
            (
                i.checked,
                i.sort_order,
                std::cmp::Reverse((i.created, **id)),
            )
        });
        Value::Array(
            items
                .into_iter()
                .map(|(id, i)| Self::item_json(*id, i))
                .collect(),
        )
    }
}

struct NewItem {
    name: String,
    quantity: Option<String>,
    unit: Option<String>,
    shop_area_id: Option<i64>,
}

/// A route's integer parameter, as the AppFramework casts `{id}` for an `int $id`.
fn int_param(s: &str) -> u64 {
    u64::try_from(crate::params::php_intval(s)).unwrap_or(0)
}

fn handle(world: &mut World, uid: &str, method: &Method, seg: &[&str], p: &Params, now: i64) -> R {
    let st = &mut world.shopping_list;
    let data = |v: Value| Ok(Answer::Data(v, 200));
    match (method, seg) {
        (&Method::GET, ["lists"]) => data(st.index(uid)),
        (&Method::POST, ["lists"]) => {
            let title = p.string("title").ok_or(Fail::Missing)?;
            let id = st.create_list(uid, &title, now);
            let v = st.list_json(id, &st.lists[&id], uid);
            Ok(Answer::Data(v, 201))
        }
        (&Method::GET, ["lists", id]) => {
            let id = int_param(id);
            st.assert_access(id, uid)?;
            data(st.list_json(id, &st.lists[&id], uid))
        }
        (&Method::PUT, ["lists", id]) => {
            let id = int_param(id);
            let title = p.string("title").ok_or(Fail::Missing)?;
            st.assert_write(id, uid)?;
            if let Some(l) = st.lists.get_mut(&id) {
                l.title = title;
                l.updated = now;
            }
            data(st.list_json(id, &st.lists[&id], uid))
        }
        (&Method::DELETE, ["lists", id]) => {
            let id = int_param(id);
            let rec = st.lists.get(&id).ok_or(Fail::NotFound("List not found"))?;
            if rec.owner != uid {
                return Err(Fail::Denied("Owner access required"));
            }
            st.lists.remove(&id);
            st.items.retain(|_, i| i.list_id != id);
            st.shares.retain(|(l, _), _| *l != id);
            Ok(Answer::NoContent)
        }
        (&Method::GET, ["lists", list, "items"]) => {
            let list = int_param(list);
            st.assert_access(list, uid)?;
            data(st.items_of(list))
        }
        (&Method::POST, ["lists", list, "items"]) => {
            let list = int_param(list);
            let name = p.string("name").ok_or(Fail::Missing)?;
            st.assert_write(list, uid)?;
            let item = NewItem {
                name,
                quantity: p.string("quantity"),
                unit: p.string("unit"),
                shop_area_id: p.int("shopAreaId"),
            };
            let id = st.create_item(list, item, now);
            Ok(Answer::Data(
                ShoppingState::item_json(id, &st.items[&id]),
                201,
            ))
        }
        (&Method::DELETE, ["lists", list, "items", "checked"]) => {
            let list = int_param(list);
            st.assert_write(list, uid)?;
            st.items.retain(|_, i| !(i.list_id == list && i.checked));
            data(Value::Null)
        }
        (&Method::POST, ["lists", list, "items", "uncheck-all"]) => {
            let list = int_param(list);
            st.assert_write(list, uid)?;
            // A bulk UPDATE: neither `updatedAt` of the items nor of the list changes.
            for i in st.items.values_mut().filter(|i| i.list_id == list) {
                i.checked = false;
                i.checked_by = None;
            }
            data(Value::Null)
        }
        (&Method::PUT, ["lists", _, "items", id]) => {
            let id = int_param(id);
            st.item_for_write(id, uid)?;
            let all = p.all();
            let Some(it) = st.items.get_mut(&id) else {
                return Err(Fail::NotFound("Item not found"));
            };
            // `isset` for name and sortOrder (null is ignored), `array_key_exists` for the
            // rest (null clears).
            if let Some(name) = p.string("name") {
                it.name = name;
            }
            if all.contains_key("quantity") {
                it.quantity = p.string("quantity");
            }
            if all.contains_key("unit") {
                it.unit = p.string("unit");
            }
            if all.contains_key("shopAreaId") {
                it.shop_area_id = p.int("shopAreaId");
            }
            if let Some(order) = p.int("sortOrder") {
                it.sort_order = order;
            }
            it.updated = now;
            data(ShoppingState::item_json(id, it))
        }
        (&Method::PUT, ["lists", _, "items", id, "check"]) => {
            let id = int_param(id);
            let checked = p.bool("checked").ok_or(Fail::Missing)?;
            st.item_for_write(id, uid)?;
            let Some(it) = st.items.get_mut(&id) else {
                return Err(Fail::NotFound("Item not found"));
            };
            it.checked = checked;
            it.checked_by = checked.then(|| uid.to_string());
            it.updated = now;
            data(ShoppingState::item_json(id, it))
        }
        (&Method::DELETE, ["lists", _, "items", id]) => {
            let id = int_param(id);
            st.item_for_write(id, uid)?;
            st.items.remove(&id);
            Ok(Answer::NoContent)
        }
        _ => Err(Fail::NoRoute),
    }
}

/// Whether the path is one of the app's routes (for 405 versus the router's 998).
fn known_path(seg: &[&str]) -> bool {
    matches!(
        seg,
        ["lists"]
            | ["lists", _]
            | ["lists", _, "items"]
            | ["lists", _, "items", _]
            | ["lists", _, "items", _, "check"]
    )
}

/// `/ocs/v2.php/apps/shopping_list/api/v1/{*rest}`.
pub async fn api(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let now = state.now();
    let AppCall {
        format,
        user,
        params,
        mut world,
    } = match app_call(&state, "shopping_list", query.as_deref(), &headers, &body) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    match handle(&mut world, &user, &method, &seg, &params, now) {
        Ok(Answer::Data(v, status)) => render(
            OcsVersion::V2,
            format,
            OcsResult {
                status,
                message: None,
                data: v,
            },
        ),
        Ok(Answer::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Err(Fail::NoRoute) => {
            if known_path(&seg) {
                StatusCode::METHOD_NOT_ALLOWED.into_response()
            } else {
                router_not_found(query.as_deref())
            }
        }
        Err(fail @ (Fail::NotFound(_) | Fail::Denied(_))) => {
            let (status, m) = match fail {
                Fail::Denied(m) => (403, m),
                Fail::NotFound(m) => (404, m),
                _ => (500, ""),
            };
            render(
                OcsVersion::V2,
                format,
                OcsResult {
                    status,
                    message: None,
                    data: json!({ "message": m }),
                },
            )
        }
        Err(Fail::Missing) => render_legacy(
            OcsVersion::V2,
            format_param(query.as_deref()).unwrap_or(Format::Xml),
            crate::ocs::RESPOND_SERVER_ERROR,
            "Internal Server Error",
        ),
    }
}

/// Shares `list` with `user_id` (0 read, 1 write), as the app's share dialog would. False if
/// the list does not exist.
pub fn share(state: &AppState, list: u64, user_id: &str, permission: i64) -> bool {
    let mut world = state.world();
    let st = &mut world.shopping_list;
    if !st.lists.contains_key(&list) {
        return false;
    }
    st.shares.insert((list, user_id.to_string()), permission);
    true
}
