//! The Cookbook app: its REST API v1 (`/index.php/apps/cookbook/api/v1`).
//!
//! Recipes are schema.org `Recipe` JSON documents stored as `recipe.json` in one folder per
//! recipe; a recipe's id is the id of that folder. Quirks of the app this module absorbs:
//!
//! - ids arrive as strings (`"id": "123"`) in recipes and as numbers or strings
//!   (`recipe_id`) in the index listings; both are read as `u64`;
//! - `PUT recipes/{id}` ignores the id in the URL and updates the recipe named by the `id`
//!   *in the body* (without one it tries to create a new recipe), and it replaces the whole
//!   document: an update must send the full recipe;
//! - `DELETE recipes/{id}` answers 200 even when no such recipe exists, and `GET recipes/{id}`
//!   answers 404 with the bare id as its body;
//! - path parameters (`search/{query}`, `category/{name}`, `tags/{keywords}`) are URL-decoded
//!   twice (by the router, then by the controller), so they are encoded twice here;
//! - the category listing names recipes without a category `*`, while the category endpoint
//!   wants `_` for them;
//! - errors come as a bare JSON string or as `{"msg": ...}`.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Request;
use crate::{Error, NextcloudUser, Result};

const API: &str = "/index.php/apps/cookbook/api/v1";

/// Reads an id given as a number or a numeric string.
fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom(format!("invalid recipe id {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("invalid recipe id `{s}`"))),
        other => Err(serde::de::Error::custom(format!(
            "invalid recipe id {other}"
        ))),
    }
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A recipe as the index listings give it (list, search, category, keywords).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeStub {
    #[serde(rename = "recipe_id", deserialize_with = "lenient_id")]
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Comma-separated keywords, `None` when the recipe has none.
    #[serde(default)]
    pub keywords: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
    #[serde(default)]
    pub date_modified: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
}

impl RecipeStub {
    /// The keywords as a list (Cookbook sends them comma-separated).
    pub fn keyword_list(&self) -> Vec<String> {
        split_keywords(self.keywords.as_deref().unwrap_or_default())
    }
}

/// Splits Cookbook's comma-separated keyword string.
pub fn split_keywords(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in s.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    }
    out
}

/// A full recipe: the schema.org JSON document exactly as Cookbook stores and returns it, so
/// that an update can send back every field, including ones this crate does not know.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Recipe(pub Map<String, Value>);

impl Recipe {
    pub fn id(&self) -> Option<u64> {
        match self.0.get("id")? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A text field, empty when absent or not text.
    pub fn str(&self, key: &str) -> &str {
        self.0.get(key).and_then(Value::as_str).unwrap_or_default()
    }

    /// A list-of-text field (`recipeIngredient`, `recipeInstructions`, `tool`).
    pub fn strings(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("text").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                })
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// The fields Cookbook adds when it shows a recipe and that are not part of the document.
    pub fn without_display_fields(mut self) -> Self {
        for key in ["printImage", "imageUrl", "imagePlaceholderUrl"] {
            self.0.remove(key);
        }
        self
    }
}

/// A category with how many recipes it holds; `*` counts the recipes without one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Category {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient_count")]
    pub recipe_count: u64,
}

/// A keyword with how many recipes carry it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Keyword {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient_count")]
    pub recipe_count: u64,
}

fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// Cookbook's per-user settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    /// Folder (below the user's files) holding the recipes, e.g. `/Recipes`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub folder: String,
    /// Minutes between automatic rescans of the folder.
    #[serde(default, deserialize_with = "lenient_count")]
    pub update_interval: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub print_image: bool,
    #[serde(default, rename = "visibleInfoBlocks")]
    pub visible_info_blocks: Value,
}

/// Settings to change; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct ConfigChange {
    pub folder: Option<String>,
    pub update_interval: Option<u64>,
    pub print_image: Option<bool>,
}

/// Lists in PHP can arrive as JSON objects after `array_filter`/`array_unique` left gaps in
/// their keys; accept both.
fn list_or_map<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<Vec<T>> {
    let items: Vec<Value> = match v {
        Value::Array(a) => a,
        Value::Object(o) => o.into_iter().map(|(_, v)| v).collect(),
        Value::Null => Vec::new(),
        other => {
            return Err(Error::InvalidResponse(format!(
                "{what}: expected a list, got {other}"
            )));
        }
    };
    items
        .into_iter()
        .map(|i| {
            serde_json::from_value(i)
                .map_err(|e| Error::InvalidResponse(format!("{what}: unexpected JSON: {e}")))
        })
        .collect()
}

/// The Cookbook API for one user; get it with [`NextcloudUser::cookbook`].
pub struct Cookbook<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn cookbook(&self) -> Cookbook<'_> {
        Cookbook { user: self }
    }
}

fn recipe(id: u64) -> String {
    format!("Recipe {id}")
}

/// Encodes a path parameter for an endpoint that URL-decodes it a second time.
pub fn double_encode(segment: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let once = utf8_percent_encode(segment, NON_ALPHANUMERIC).to_string();
    utf8_percent_encode(&once, NON_ALPHANUMERIC).to_string()
}

/// Cookbook answers a missing recipe with 404 and the bare id as the message; say what it
/// means instead.
fn explain(err: Error) -> Error {
    match err {
        Error::NotFound { what, message } if what.starts_with("Recipe ") => Error::NotFound {
            what,
            message: Some(
                message
                    .filter(|m| !m.trim().is_empty() && m.trim().parse::<u64>().is_err())
                    .unwrap_or_else(|| "there is no recipe with this id in your cookbook".into()),
            ),
        },
        other => other,
    }
}

impl Cookbook<'_> {
    async fn call<T: serde::de::DeserializeOwned>(
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

    /// Every recipe in the user's recipe folder, sorted by name.
    pub async fn list(&self) -> Result<Vec<RecipeStub>> {
        let v = self
            .call(
                Method::GET,
                "/recipes".into(),
                "The recipe list".into(),
                None,
            )
            .await?;
        list_or_map(v, "recipes")
    }

    pub async fn get(&self, id: u64) -> Result<Recipe> {
        self.call(Method::GET, format!("/recipes/{id}"), recipe(id), None)
            .await
    }

    /// Stores a new recipe (it needs a `name` no other recipe has); returns its id.
    pub async fn create(&self, recipe_json: &Map<String, Value>) -> Result<u64> {
        let v: Value = self
            .call(
                Method::POST,
                "/recipes".into(),
                "The new recipe".into(),
                Some(Value::Object(recipe_json.clone())),
            )
            .await?;
        id_from(&v)
    }

    /// Replaces recipe `id` with `recipe_json` (the whole document; fields left out are
    /// dropped by Cookbook). Returns the id.
    pub async fn update(&self, id: u64, recipe_json: &Map<String, Value>) -> Result<u64> {
        let mut body = recipe_json.clone();
        // Cookbook picks the recipe to update by the body's id, not the URL's.
        body.insert("id".into(), json!(id.to_string()));
        let v: Value = self
            .call(
                Method::PUT,
                format!("/recipes/{id}"),
                recipe(id),
                Some(Value::Object(body)),
            )
            .await?;
        id_from(&v)
    }

    /// Deletes a recipe folder. Cookbook reports success even for an id it does not have.
    pub async fn delete(&self, id: u64) -> Result<String> {
        let v: Value = self
            .call(Method::DELETE, format!("/recipes/{id}"), recipe(id), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Has Cookbook download a web page and store the schema.org recipe it finds there.
    pub async fn import(&self, url: &str) -> Result<Recipe> {
        self.call(
            Method::POST,
            "/import".into(),
            "The recipe import".into(),
            Some(json!({ "url": url })),
        )
        .await
    }

    /// Recipes whose name, category or a keyword contains any of the words of `query`.
    pub async fn search(&self, query: &str) -> Result<Vec<RecipeStub>> {
        let v = self
            .call(
                Method::GET,
                format!("/search/{}", double_encode(query)),
                "The recipe search".into(),
                None,
            )
            .await?;
        list_or_map(v, "search")
    }

    pub async fn categories(&self) -> Result<Vec<Category>> {
        let v = self
            .call(
                Method::GET,
                "/categories".into(),
                "The category list".into(),
                None,
            )
            .await?;
        list_or_map(v, "categories")
    }

    /// Recipes of one category; `*` or `_` (or an empty name) for those without a category.
    pub async fn recipes_in_category(&self, category: &str) -> Result<Vec<RecipeStub>> {
        let name = match category.trim() {
            "" | "*" => "_",
            c => c,
        };
        let v = self
            .call(
                Method::GET,
                format!("/category/{}", double_encode(name)),
                format!("Category `{category}`"),
                None,
            )
            .await?;
        list_or_map(v, "category")
    }

    pub async fn keywords(&self) -> Result<Vec<Keyword>> {
        let v = self
            .call(
                Method::GET,
                "/keywords".into(),
                "The keyword list".into(),
                None,
            )
            .await?;
        list_or_map(v, "keywords")
    }

    /// Cookbook's own keyword filter (`tags/{a,b}`): recipes carrying every keyword. Note that
    /// the app's query joins the category table, so it leaves out recipes without a category.
    pub async fn recipes_with_keywords(&self, keywords: &[String]) -> Result<Vec<RecipeStub>> {
        let v = self
            .call(
                Method::GET,
                format!("/tags/{}", double_encode(&keywords.join(","))),
                "The keyword filter".into(),
                None,
            )
            .await?;
        list_or_map(v, "tags")
    }

    pub async fn config(&self) -> Result<Config> {
        self.call(
            Method::GET,
            "/config".into(),
            "The Cookbook settings".into(),
            None,
        )
        .await
    }

    /// Changes settings; returns Cookbook's answer (`OK`).
    pub async fn set_config(&self, change: &ConfigChange) -> Result<String> {
        let mut body = Map::new();
        if let Some(f) = &change.folder {
            body.insert("folder".into(), json!(f));
        }
        if let Some(i) = change.update_interval {
            body.insert("update_interval".into(), json!(i));
        }
        if let Some(p) = change.print_image {
            body.insert("print_image".into(), json!(p));
        }
        let v: Value = self
            .call(
                Method::POST,
                "/config".into(),
                "The Cookbook settings".into(),
                Some(Value::Object(body)),
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Rebuilds the search index from the recipe files; returns Cookbook's message.
    pub async fn reindex(&self) -> Result<String> {
        let v: Value = self
            .call(
                Method::POST,
                "/reindex".into(),
                "The recipe index".into(),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }
}

fn id_from(v: &Value) -> Result<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| Error::InvalidResponse(format!("expected a recipe id, got {v}")))
}

/// Normalises a duration to the form Cookbook stores (`PT1H30M0S`). Accepts ISO 8601
/// durations with days, hours, minutes and seconds (`PT90M`, `P1DT2H`, `PT1H30M`) and
/// `H:MM`. Cookbook itself silently drops days and blanks anything else, so callers check
/// first. `Err` says what was wrong.
pub fn normalize_duration(input: &str) -> std::result::Result<String, String> {
    let s = input.trim();
    let expected = "an ISO 8601 duration such as `PT1H30M`, `PT45M` or `P1DT2H` (or `H:MM`)";
    if let Some((h, m)) = s.split_once(':') {
        let (Ok(h), Ok(m)) = (h.parse::<u64>(), m.parse::<u64>()) else {
            return Err(format!("expected {expected}, got `{s}`"));
        };
        if m >= 60 {
            return Err(format!("minutes must be below 60 in `{s}`"));
        }
        return Ok(format!("PT{h}H{m}M0S"));
    }
    let upper = s.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix('P') else {
        return Err(format!("expected {expected}, got `{s}`"));
    };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    if rest.is_empty() || time == Some("") {
        return Err(format!("expected {expected}, got `{s}`"));
    }
    let mut seconds: u64 = 0;
    let mut parse_part = |part: &str, units: &[(char, u64)]| -> std::result::Result<(), String> {
        let mut num = String::new();
        let mut last_unit = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let Some(pos) = units.iter().position(|(u, _)| *u == c) else {
                return Err(match c {
                    'Y' => format!("years are not a cooking time; use days or hours in `{s}`"),
                    'M' => format!("months are not a cooking time; use days or hours in `{s}`"),
                    _ => format!("expected {expected}, got `{s}`"),
                });
            };
            if num.is_empty() || pos < last_unit {
                return Err(format!("expected {expected}, got `{s}`"));
            }
            last_unit = pos + 1;
            let n: u64 = num
                .parse()
                .map_err(|_| format!("the number in `{s}` is too large"))?;
            seconds = seconds.saturating_add(n.saturating_mul(units[pos].1));
            num.clear();
        }
        if !num.is_empty() {
            return Err(format!(
                "a number in `{s}` has no unit; expected {expected}"
            ));
        }
        Ok(())
    };
    parse_part(date, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(t) = time {
        parse_part(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    Ok(format!(
        "PT{}H{}M{}S",
        seconds / 3600,
        (seconds % 3600) / 60,
        seconds % 60
    ))
}

/// Minutes of a duration in the form Cookbook stores, for display; `None` if unreadable.
pub fn duration_minutes(iso: &str) -> Option<u64> {
    let n = normalize_duration(iso).ok()?;
    let t = n.strip_prefix("PT")?;
    let (h, rest) = t.split_once('H')?;
    let (m, _) = rest.split_once('M')?;
    Some(h.parse::<u64>().ok()? * 60 + m.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_normalised_or_refused() {
        assert_eq!(normalize_duration("PT1H30M").unwrap(), "PT1H30M0S");
        assert_eq!(normalize_duration("pt90m").unwrap(), "PT1H30M0S");
        assert_eq!(normalize_duration("P1DT2H").unwrap(), "PT26H0M0S");
        assert_eq!(normalize_duration("PT45S").unwrap(), "PT0H0M45S");
        assert_eq!(normalize_duration("1:05").unwrap(), "PT1H5M0S");
        for bad in [
            "", "P", "PT", "90", "1 hour", "PT1.5H", "P1M", "P1Y", "PTH", "PT30M1H", "1:75",
        ] {
            assert!(normalize_duration(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(duration_minutes("PT1H30M0S"), Some(90));
    }

    #[test]
    fn stubs_and_recipes_read_ids_either_way() {
        let s: RecipeStub = serde_json::from_value(json!({
            "recipe_id": "17", "name": "Soup", "keywords": "hot,quick", "category": null,
            "id": "17"
        }))
        .unwrap();
        assert_eq!(s.id, 17);
        assert_eq!(s.keyword_list(), ["hot", "quick"]);
        let r: Recipe = serde_json::from_value(json!({"id": "9", "name": "Tea"})).unwrap();
        assert_eq!(r.id(), Some(9));
        let cats: Vec<Category> = list_or_map(
            json!({"0": {"name": "Soup", "recipe_count": "2"}, "2": {"name": "*", "recipe_count": 0}}),
            "c",
        )
        .unwrap();
        assert_eq!(cats.len(), 2);
        assert_eq!(cats[0].recipe_count, 2);
        assert_eq!(double_encode("a b+c"), "a%2520b%252Bc");
    }
}
