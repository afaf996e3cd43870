//! Shopping List app tools: `nc_shopping_list_*`. The app has no bulk route, so adding several
//! items (or a recipe's ingredients) sends one request per item; a failure part way names how
//! many were already added.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::NextcloudMcp;
use nextcloud::shopping_list::{Item, List};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::shopping_list_read_router() + NextcloudMcp::shopping_list_write_router()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListIdArgs {
    pub list_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ItemIdArgs {
    pub list_id: u64,
    pub item_id: u64,
}

/// A shopping list.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOut {
    pub id: u64,
    pub title: String,
    /// Owner's user id.
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Your access: 0 read, 1 write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<i64>,
    #[serde(rename = "isOwner", skip_serializing_if = "Option::is_none")]
    pub is_owner: Option<bool>,
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl From<List> for ListOut {
    fn from(l: List) -> Self {
        Self {
            id: l.id,
            title: l.title,
            user_id: l.user_id,
            permission: l.permission,
            is_owner: l.is_owner,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// An item on a list.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ItemOut {
    pub id: u64,
    #[serde(rename = "listId")]
    pub list_id: u64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(rename = "shopAreaId", skip_serializing_if = "Option::is_none")]
    pub shop_area_id: Option<u64>,
    pub checked: bool,
    /// Who ticked it off.
    #[serde(rename = "checkedBy", skip_serializing_if = "Option::is_none")]
    pub checked_by: Option<String>,
    #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl From<Item> for ItemOut {
    fn from(i: Item) -> Self {
        Self {
            id: i.id,
            list_id: i.list_id,
            name: i.name,
            quantity: i.quantity.filter(|q| !q.is_empty()),
            unit: i.unit.filter(|u| !u.is_empty()),
            shop_area_id: i.shop_area_id,
            checked: i.checked,
            checked_by: i.checked_by,
            updated_at: i.updated_at,
        }
    }
}

/// Words read as a unit when they follow a recipe line's quantity.
const UNITS: &[&str] = &[
    "g",
    "kg",
    "mg",
    "ml",
    "cl",
    "dl",
    "l",
    "oz",
    "lb",
    "lbs",
    "tsp",
    "tbsp",
    "teaspoon",
    "teaspoons",
    "tablespoon",
    "tablespoons",
    "cup",
    "cups",
    "pinch",
    "pinches",
    "clove",
    "cloves",
    "can",
    "cans",
    "slice",
    "slices",
    "bunch",
    "handful",
    "stick",
    "sticks",
    "piece",
    "pieces",
    "pack",
    "packs",
];

/// Splits a recipe ingredient line as written into (quantity, unit, name): `200 g flour`
/// gives ("200", "g", "flour"), `1 pinch of salt` ("1", "pinch", "salt"), `salt to taste`
/// only a name. Amounts are kept as written, never converted or scaled.
pub fn split_ingredient(line: &str) -> (Option<String>, Option<String>, String) {
    let line = line.trim();
    let is_amount = |w: &str| {
        !w.is_empty()
            && w.chars()
                .any(|c| c.is_ascii_digit() || ('¼'..='¾').contains(&c))
            && w.chars().all(|c| {
                c.is_ascii_digit()
                    || matches!(c, '.' | ',' | '/' | '-' | '–')
                    || ('¼'..='¾').contains(&c)
            })
    };
    let mut words = line.split_whitespace().peekable();
    let Some(first) = words.peek().copied().filter(|w| is_amount(w)) else {
        return (None, None, line.to_string());
    };
    words.next();
    let mut quantity = first.to_string();
    // "1 1/2 cups": a second amount belongs to the first.
    if let Some(w) = words.peek().copied().filter(|w| is_amount(w)) {
        quantity = format!("{quantity} {w}");
        words.next();
    }
    let unit = words
        .peek()
        .copied()
        .filter(|w| UNITS.contains(&w.trim_end_matches('.').to_lowercase().as_str()))
        .map(str::to_string);
    if unit.is_some() {
        words.next();
    }
    if words.peek() == Some(&"of") {
        words.next();
    }
    let name: Vec<&str> = words.collect();
    if name.is_empty() {
        return (None, None, line.to_string());
    }
    (Some(quantity), unit, name.join(" "))
}

#[cfg(test)]
mod tests {
    use super::split_ingredient;

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn ingredient_lines_split_as_written() {
        assert_eq!(
            split_ingredient("200 g flour"),
            (s("200"), s("g"), "flour".into())
        );
        assert_eq!(split_ingredient("2 eggs"), (s("2"), None, "eggs".into()));
        assert_eq!(
            split_ingredient("1 pinch of salt"),
            (s("1"), s("pinch"), "salt".into())
        );
        assert_eq!(
            split_ingredient("1 1/2 cups milk"),
            (s("1 1/2"), s("cups"), "milk".into())
        );
        assert_eq!(split_ingredient("½ lemon"), (s("½"), None, "lemon".into()));
        assert_eq!(
            split_ingredient(" salt to taste "),
            (None, None, "salt to taste".into())
        );
        assert_eq!(split_ingredient("500"), (None, None, "500".into()));
    }
}
