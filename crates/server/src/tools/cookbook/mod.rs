//! Cookbook app tools: `nc_cookbook_*`. Listings are compact (id, name, category, keywords);
//! `nc_cookbook_get_recipe` gives the whole recipe. Durations are taken as ISO 8601 (`PT1H30M`)
//! and checked here, because Cookbook silently blanks a duration it cannot read. Updates read
//! the full recipe, change only the fields given and write it all back, because Cookbook
//! replaces the whole document on update.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::mcp::NextcloudMcp;
use nextcloud::cookbook::{Recipe, RecipeStub, split_keywords};

pub fn router() -> ToolRouter<NextcloudMcp> {
    NextcloudMcp::cookbook_read_router() + NextcloudMcp::cookbook_write_router()
}

fn recipe_url(base: &str, id: u64) -> String {
    format!("{base}/index.php/apps/cookbook/#/recipe/{id}")
}

/// A recipe in a listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipeSummary {
    pub id: u64,
    pub name: String,
    /// Absent when the recipe has no category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_modified: Option<String>,
}

impl From<RecipeStub> for RecipeSummary {
    fn from(s: RecipeStub) -> Self {
        Self {
            id: s.id,
            keywords: s.keyword_list(),
            name: s.name,
            category: s.category.filter(|c| !c.trim().is_empty() && c != "*"),
            date_modified: s.date_modified.filter(|d| !d.is_empty()),
        }
    }
}

/// A whole recipe, in schema.org terms as Cookbook keeps it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipeOut {
    #[serde(rename = "@type")]
    pub kind: String,
    pub id: u64,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the recipe came from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The source image (a URL or a path in your files).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// Where Nextcloud serves the recipe's image.
    #[serde(rename = "imageUrl", skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    pub keywords: Vec<String>,
    #[serde(rename = "dateCreated", skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(rename = "dateModified", skip_serializing_if = "Option::is_none")]
    pub date_modified: Option<String>,
    /// ISO 8601 duration, e.g. `PT0H20M0S`.
    #[serde(rename = "prepTime", skip_serializing_if = "Option::is_none")]
    pub prep_time: Option<String>,
    #[serde(rename = "cookTime", skip_serializing_if = "Option::is_none")]
    pub cook_time: Option<String>,
    #[serde(rename = "totalTime", skip_serializing_if = "Option::is_none")]
    pub total_time: Option<String>,
    /// Number of servings.
    #[serde(rename = "recipeYield", skip_serializing_if = "Option::is_none")]
    pub recipe_yield: Option<i64>,
    #[serde(rename = "recipeCategory", skip_serializing_if = "String::is_empty")]
    pub recipe_category: String,
    /// Tools needed.
    pub tool: Vec<String>,
    #[serde(rename = "recipeIngredient")]
    pub recipe_ingredient: Vec<String>,
    /// Steps, in order.
    #[serde(rename = "recipeInstructions")]
    pub recipe_instructions: Vec<String>,
    /// schema.org NutritionInformation fields that are set (e.g. `calories`).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub nutrition: Map<String, Value>,
    /// The recipe in Nextcloud's Cookbook web app.
    pub web_url: String,
}

fn opt_str(r: &Recipe, key: &str) -> Option<String> {
    Some(r.str(key).trim().to_string()).filter(|s| !s.is_empty())
}

fn recipe_out(base: &str, r: &Recipe, fallback_id: u64) -> RecipeOut {
    let id = r.id().unwrap_or(fallback_id);
    // Cookbook gives a path from the server root that already includes any web root
    // (`/nextcloud/index.php/...`), so it is joined to the origin, not to the base URL.
    let image_url = match r.str("imageUrl") {
        "" => String::new(),
        u => url::Url::parse(base)
            .and_then(|b| b.join(u))
            .map_or_else(|_| u.to_string(), String::from),
    };
    let recipe_yield = match r.0.get("recipeYield") {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let keywords = match r.0.get("keywords") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => split_keywords(r.str("keywords")),
    };
    let nutrition = match r.0.get("nutrition") {
        Some(Value::Object(o)) => o
            .iter()
            .filter(|(k, v)| k.as_str() != "@type" && !v.is_null() && *v != "")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => Map::new(),
    };
    let category = match r.0.get("recipeCategory") {
        Some(Value::Array(a)) => a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => r.str("recipeCategory").to_string(),
    };
    RecipeOut {
        kind: opt_str(r, "@type").unwrap_or_else(|| "Recipe".into()),
        id,
        name: r.str("name").to_string(),
        description: r.str("description").to_string(),
        url: r.str("url").to_string(),
        image: r.str("image").to_string(),
        image_url,
        keywords,
        date_created: opt_str(r, "dateCreated"),
        date_modified: opt_str(r, "dateModified"),
        prep_time: opt_str(r, "prepTime"),
        cook_time: opt_str(r, "cookTime"),
        total_time: opt_str(r, "totalTime"),
        recipe_yield,
        recipe_category: category,
        tool: r.strings("tool"),
        recipe_ingredient: r.strings("recipeIngredient"),
        recipe_instructions: r.strings("recipeInstructions"),
        nutrition,
        web_url: recipe_url(base, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_output_is_compact_and_links_resolve_under_a_web_root() {
        let r: Recipe = serde_json::from_value(serde_json::json!({
            "id": "42", "name": "Soup", "keywords": "hot,quick", "recipeYield": 2,
            "imageUrl": "/nextcloud/index.php/apps/cookbook/webapp/recipes/42/image?size=full",
            "nutrition": {"@type": "NutritionInformation"}, "recipeCategory": ["Soups"],
        }))
        .unwrap();
        let out = recipe_out("https://cloud.example/nextcloud", &r, 0);
        assert_eq!(out.id, 42);
        assert_eq!(
            out.image_url,
            "https://cloud.example/nextcloud/index.php/apps/cookbook/webapp/recipes/42/image?size=full"
        );
        assert_eq!(out.keywords, ["hot", "quick"]);
        assert_eq!(out.recipe_category, "Soups");
        assert!(out.nutrition.is_empty());
        assert_eq!(
            out.web_url,
            "https://cloud.example/nextcloud/index.php/apps/cookbook/#/recipe/42"
        );
    }
}
