//! The Shopping List app (`shopping_list`, github.com/otherworld-dev/Shopping-List): lists and
//! their items through its OCS API (`/ocs/v2.php/apps/shopping_list/api/v1`).
//!
//! The app publishes no capability, so whether it is installed shows only when a call fails:
//! Nextcloud's router then answers OCS status 998, which [`ShoppingList`] turns into
//! [`Error::AppNotInstalled`] (the app's own "not found" answers carry status 404).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Request;
use crate::{Error, NextcloudUser, Result};

const API: &str = "/ocs/v2.php/apps/shopping_list/api/v1";

/// Message of Nextcloud's router for an OCS route nobody serves (the app is missing).
const INVALID_QUERY: &str = "Invalid query, please check the syntax.";

/// A shopping list as the app shows it to the current user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List {
    pub id: u64,
    pub title: String,
    /// Owner's user id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The current user's access: 0 read, 1 write (owners always 1).
    #[serde(default)]
    pub permission: Option<i64>,
    #[serde(default)]
    pub is_owner: Option<bool>,
    /// ISO 8601.
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// An item on a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: u64,
    pub list_id: u64,
    pub name: String,
    /// Free text ("2", "1/2"); the app sets "1" when an item is added without one.
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub shop_area_id: Option<u64>,
    #[serde(default)]
    pub checked: bool,
    /// Who ticked the item off.
    #[serde(default)]
    pub checked_by: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub tags: Vec<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A new item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewItem {
    pub name: String,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub shop_area_id: Option<u64>,
}

/// Changes to an item: only the fields set are sent, and the app changes only those.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemChanges {
    pub name: Option<String>,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub shop_area_id: Option<u64>,
}

impl ItemChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn body(&self) -> Value {
        let mut m = Map::new();
        if let Some(v) = &self.name {
            m.insert("name".into(), v.clone().into());
        }
        if let Some(v) = &self.quantity {
            m.insert("quantity".into(), v.clone().into());
        }
        if let Some(v) = &self.unit {
            m.insert("unit".into(), v.clone().into());
        }
        if let Some(v) = self.shop_area_id {
            m.insert("shopAreaId".into(), v.into());
        }
        Value::Object(m)
    }
}

/// The Shopping List API of one user; from [`NextcloudUser::shopping_list`].
pub struct ShoppingList<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn shopping_list(&self) -> ShoppingList<'_> {
        ShoppingList { user: self }
    }
}

fn list(id: u64) -> String {
    format!("Shopping list {id}")
}

fn item(list_id: u64, id: u64) -> String {
    format!("Item {id} of shopping list {list_id}")
}

/// A 404 from Nextcloud's router rather than the app means the app is not there.
fn explain(err: Error) -> Error {
    match err {
        Error::NotFound {
            message: Some(m), ..
        } if m.starts_with(INVALID_QUERY) => Error::AppNotInstalled {
            app: "Shopping List".into(),
        },
        other => other,
    }
}

impl ShoppingList<'_> {
    fn request(&self, method: Method, path: &str, what: String) -> Result<Request> {
        crate::ocs::request(method, &format!("{API}{path}"), &what)
    }

    async fn data<T: serde::de::DeserializeOwned>(&self, request: Request) -> Result<T> {
        crate::ocs::send(self.user, request).await.map_err(explain)
    }

    /// For the routes that answer 204 or `data: null`: only the status matters.
    async fn no_data(&self, request: Request) -> Result<()> {
        self.user.send(request).await.map_err(explain).map(drop)
    }

    /// Lists the user owns or that are shared with them, most recently changed first.
    pub async fn lists(&self) -> Result<Vec<List>> {
        let r = self.request(Method::GET, "/lists", "The shopping lists".into())?;
        self.data(r).await
    }

    pub async fn get(&self, id: u64) -> Result<List> {
        let r = self.request(Method::GET, &format!("/lists/{id}"), list(id))?;
        self.data(r).await
    }

    /// Creates a list; titles need not be unique.
    pub async fn create(&self, title: &str) -> Result<List> {
        let r = self
            .request(Method::POST, "/lists", "A new shopping list".into())?
            .json(&serde_json::json!({ "title": title }))?;
        self.data(r).await
    }

    pub async fn rename(&self, id: u64, title: &str) -> Result<List> {
        let r = self
            .request(Method::PUT, &format!("/lists/{id}"), list(id))?
            .json(&serde_json::json!({ "title": title }))?;
        self.data(r).await
    }

    /// Deletes a list with its items; only its owner may (403 otherwise).
    pub async fn delete(&self, id: u64) -> Result<()> {
        let r = self.request(Method::DELETE, &format!("/lists/{id}"), list(id))?;
        self.no_data(r).await
    }

    /// Items of a list: open ones first, then by sort order, newest first.
    pub async fn items(&self, list_id: u64) -> Result<Vec<Item>> {
        let r = self.request(
            Method::GET,
            &format!("/lists/{list_id}/items"),
            list(list_id),
        )?;
        self.data(r).await
    }

    /// Adds one item (the app has no bulk route). A name already on the list is added again.
    pub async fn add_item(&self, list_id: u64, new: &NewItem) -> Result<Item> {
        let mut body = Map::new();
        body.insert("name".into(), new.name.clone().into());
        if let Some(q) = &new.quantity {
            body.insert("quantity".into(), q.clone().into());
        }
        if let Some(u) = &new.unit {
            body.insert("unit".into(), u.clone().into());
        }
        if let Some(a) = new.shop_area_id {
            body.insert("shopAreaId".into(), a.into());
        }
        let r = self
            .request(
                Method::POST,
                &format!("/lists/{list_id}/items"),
                list(list_id),
            )?
            .json(&Value::Object(body))?;
        self.data(r).await
    }

    /// Changes the given fields of an item. The app finds the item by its id alone; the list
    /// id only builds the URL.
    pub async fn update_item(&self, list_id: u64, id: u64, changes: &ItemChanges) -> Result<Item> {
        if changes.is_empty() {
            return Err(Error::invalid_argument("changes", "nothing to change"));
        }
        let r = self
            .request(
                Method::PUT,
                &format!("/lists/{list_id}/items/{id}"),
                item(list_id, id),
            )?
            .json(&changes.body())?;
        self.data(r).await
    }

    /// Ticks an item off (`checked`) or puts it back on the list.
    pub async fn check_item(&self, list_id: u64, id: u64, checked: bool) -> Result<Item> {
        let r = self
            .request(
                Method::PUT,
                &format!("/lists/{list_id}/items/{id}/check"),
                item(list_id, id),
            )?
            .json(&serde_json::json!({ "checked": checked }))?;
        self.data(r).await
    }

    pub async fn delete_item(&self, list_id: u64, id: u64) -> Result<()> {
        let r = self.request(
            Method::DELETE,
            &format!("/lists/{list_id}/items/{id}"),
            item(list_id, id),
        )?;
        self.no_data(r).await
    }

    /// Deletes every ticked-off item of a list.
    pub async fn clear_checked(&self, list_id: u64) -> Result<()> {
        let r = self.request(
            Method::DELETE,
            &format!("/lists/{list_id}/items/checked"),
            list(list_id),
        )?;
        self.no_data(r).await
    }

    /// Puts every ticked-off item of a list back among the open ones.
    pub async fn uncheck_all(&self, list_id: u64) -> Result<()> {
        let r = self.request(
            Method::POST,
            &format!("/lists/{list_id}/items/uncheck-all"),
            list(list_id),
        )?;
        self.no_data(r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_parses_the_apps_shape() {
        let v = serde_json::json!({
            "id": 7, "listId": 2, "name": "flour", "quantity": "1", "unit": null,
            "shopAreaId": null, "checked": false, "checkedBy": null, "sortOrder": 0,
            "tags": [], "createdAt": "2026-01-01T10:00:00+00:00",
            "updatedAt": "2026-01-01T10:00:00+00:00"
        });
        let item: Item = serde_json::from_value(v).unwrap();
        assert_eq!(item.list_id, 2);
        assert_eq!(item.quantity.as_deref(), Some("1"));
        assert!(!item.checked);
    }

    #[test]
    fn changes_send_only_what_is_set() {
        let c = ItemChanges {
            unit: Some("kg".into()),
            ..Default::default()
        };
        assert_eq!(c.body(), serde_json::json!({"unit": "kg"}));
        assert!(ItemChanges::default().is_empty());
    }

    #[test]
    fn router_404_means_app_missing() {
        let e = explain(Error::NotFound {
            what: "x".into(),
            message: Some(format!("{INVALID_QUERY} API specifications are here")),
        });
        assert!(matches!(e, Error::AppNotInstalled { .. }));
    }
}
