use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::read::RecipeIdArgs;
use super::{RecipeOut, recipe_out, recipe_url};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, at_least, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::cookbook::{ConfigChange, normalize_duration, split_keywords};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ImportArgs {
    pub url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportOut {
    pub recipe_id: u64,
    pub recipe: RecipeOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateArgs {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// One per entry, e.g. `200 g flour`.
    #[serde(default)]
    pub ingredients: Option<Vec<String>>,
    /// Steps in order.
    #[serde(default)]
    pub instructions: Option<Vec<String>>,
    /// Where it comes from.
    #[serde(default)]
    pub url: Option<String>,
    /// ISO 8601, e.g. `PT1H30M`.
    #[serde(default)]
    pub prep_time: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub cook_time: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub total_time: Option<String>,
    /// Servings.
    #[serde(default)]
    pub recipe_yield: Option<i64>,
    #[serde(default)]
    pub category: Option<String>,
    /// Comma-separated.
    #[serde(default)]
    pub keywords: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateArgs {
    pub recipe_id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub ingredients: Option<Vec<String>>,
    #[serde(default)]
    pub instructions: Option<Vec<String>>,
    #[serde(default)]
    pub url: Option<String>,
    /// ISO 8601, e.g. `PT20M`.
    #[serde(default)]
    pub prep_time: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub cook_time: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub total_time: Option<String>,
    /// Servings.
    #[serde(default)]
    pub recipe_yield: Option<i64>,
    #[serde(default)]
    pub category: Option<String>,
    /// Comma-separated; replaces them all.
    #[serde(default)]
    pub keywords: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipeWritten {
    pub id: u64,
    pub name: String,
    /// Recipe fields this call set.
    pub changed: Vec<String>,
    pub web_url: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusOut {
    pub status_code: u16,
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipeDeleted {
    pub status_code: u16,
    pub message: String,
    pub deleted_id: u64,
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConfigArgs {
    /// E.g. `/Recipes`.
    #[serde(default)]
    pub folder: Option<String>,
    /// Minutes between rescans.
    #[serde(default)]
    pub update_interval: Option<i64>,
    #[serde(default)]
    pub print_image: Option<bool>,
}

/// Cookbook's settings after a change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigOut {
    pub folder: String,
    pub update_interval: u64,
    pub print_image: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigSet {
    pub status_code: u16,
    pub message: String,
    pub config: ConfigOut,
}

fn http_url(arg: &'static str, url: &str) -> Result<String, ToolError> {
    let url = url.trim();
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(ToolError::invalid(
            arg,
            format!("expected an http or https address, got `{url}`"),
        )),
    }
}

fn duration(arg: &'static str, value: &str) -> Result<Value, ToolError> {
    if value.trim().is_empty() {
        return Ok(Value::Null);
    }
    normalize_duration(value)
        .map(Value::String)
        .map_err(|e| ToolError::invalid(arg, e))
}

fn lines(list: &[String]) -> Value {
    json!(
        list.iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    )
}

/// The fields shared by create and update, checked and in Cookbook's names.
#[derive(Default)]
struct Fields<'a> {
    name: Option<&'a str>,
    description: Option<&'a str>,
    ingredients: Option<&'a [String]>,
    instructions: Option<&'a [String]>,
    url: Option<&'a str>,
    prep_time: Option<&'a str>,
    cook_time: Option<&'a str>,
    total_time: Option<&'a str>,
    recipe_yield: Option<i64>,
    category: Option<&'a str>,
    keywords: Option<&'a str>,
}

impl Fields<'_> {
    /// Checks every field and returns them as `{schema.org name: value}`.
    fn to_json(&self) -> Result<Map<String, Value>, ToolError> {
        let mut out = Map::new();
        if let Some(name) = self.name {
            let name = non_empty("name", name, "expected a non-empty name")?;
            out.insert("name".into(), json!(name));
        }
        if let Some(d) = self.description {
            out.insert("description".into(), json!(d.trim()));
        }
        if let Some(i) = self.ingredients {
            out.insert("recipeIngredient".into(), lines(i));
        }
        if let Some(i) = self.instructions {
            out.insert("recipeInstructions".into(), lines(i));
        }
        if let Some(u) = self.url {
            let u = if u.trim().is_empty() {
                String::new()
            } else {
                http_url("url", u)?
            };
            out.insert("url".into(), json!(u));
        }
        for (arg, key, value) in [
            ("prep_time", "prepTime", self.prep_time),
            ("cook_time", "cookTime", self.cook_time),
            ("total_time", "totalTime", self.total_time),
        ] {
            if let Some(v) = value {
                out.insert(key.into(), duration(arg, v)?);
            }
        }
        if let Some(y) = self.recipe_yield {
            out.insert("recipeYield".into(), json!(at_least("recipe_yield", y, 1)?));
        }
        if let Some(c) = self.category {
            let c = c.trim();
            if c == "*" || c == "_" {
                return Err(ToolError::invalid(
                    "category",
                    "`*` and `_` stand for 'no category' in Cookbook; pass an empty string instead",
                ));
            }
            out.insert("recipeCategory".into(), json!(c));
        }
        if let Some(k) = self.keywords {
            out.insert("keywords".into(), json!(split_keywords(k).join(",")));
        }
        Ok(out)
    }
}

fn changed_names(fields: &Map<String, Value>) -> Vec<String> {
    fields.keys().cloned().collect()
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_cookbook_import_recipe",
        &apps::COOKBOOK,
        Some("cookbook.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_cookbook_create_recipe",
        &apps::COOKBOOK,
        Some("cookbook.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_cookbook_update_recipe",
        &apps::COOKBOOK,
        Some("cookbook.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_cookbook_delete_recipe",
        &apps::COOKBOOK,
        Some("cookbook.write"),
        Delete,
    ),
    ToolSpec::new(
        "nc_cookbook_set_config",
        &apps::COOKBOOK,
        Some("cookbook.write"),
        Update,
    ),
    ToolSpec::new(
        "nc_cookbook_reindex",
        &apps::COOKBOOK,
        Some("cookbook.write"),
        Update,
    ),
];

#[tool_router(router = cookbook_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_cookbook_import_recipe",
        title = "Import a recipe from the web",
        description = "Save a recipe from a web page into Cookbook, given the page's address (most recipe sites work)."
    )]
    async fn nc_cookbook_import_recipe(
        &self,
        Parameters(args): Parameters<ImportArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ImportOut>>, ToolError> {
        let url = http_url("url", &args.url)?;
        let user = self.user(&ctx)?;
        let recipe = user.cookbook().import(&url).await?;
        let id = recipe.id().ok_or_else(|| {
            ToolError::Nextcloud(nextcloud::Error::InvalidResponse(
                "the imported recipe has no id".into(),
            ))
        })?;
        answer(ImportOut {
            recipe_id: id,
            recipe: recipe_out(user.client().base_url(), &recipe, id),
        })
    }

    #[tool(
        name = "nc_cookbook_create_recipe",
        title = "Create a recipe",
        description = "Write a new recipe: ingredients, steps, servings, times, category, keywords."
    )]
    async fn nc_cookbook_create_recipe(
        &self,
        Parameters(args): Parameters<CreateArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RecipeWritten>>, ToolError> {
        let fields = Fields {
            name: Some(&args.name),
            description: args.description.as_deref(),
            ingredients: args.ingredients.as_deref(),
            instructions: args.instructions.as_deref(),
            url: args.url.as_deref(),
            prep_time: args.prep_time.as_deref(),
            cook_time: args.cook_time.as_deref(),
            total_time: args.total_time.as_deref(),
            recipe_yield: args.recipe_yield,
            category: args.category.as_deref(),
            keywords: args.keywords.as_deref(),
        }
        .to_json()?;
        let user = self.user(&ctx)?;
        let mut body = fields.clone();
        body.insert("@context".into(), json!("http://schema.org"));
        body.insert("@type".into(), json!("Recipe"));
        let id = user.cookbook().create(&body).await?;
        answer(RecipeWritten {
            id,
            name: args.name.trim().to_string(),
            changed: changed_names(&fields),
            web_url: recipe_url(user.client().base_url(), id),
        })
    }

    #[tool(
        name = "nc_cookbook_update_recipe",
        title = "Change a recipe",
        description = "Change some fields of a recipe; the rest stays. Lists replace the old ones; \"\" clears a field."
    )]
    async fn nc_cookbook_update_recipe(
        &self,
        Parameters(args): Parameters<UpdateArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RecipeWritten>>, ToolError> {
        let fields = Fields {
            name: args.name.as_deref(),
            description: args.description.as_deref(),
            ingredients: args.ingredients.as_deref(),
            instructions: args.instructions.as_deref(),
            url: args.url.as_deref(),
            prep_time: args.prep_time.as_deref(),
            cook_time: args.cook_time.as_deref(),
            total_time: args.total_time.as_deref(),
            recipe_yield: args.recipe_yield,
            category: args.category.as_deref(),
            keywords: args.keywords.as_deref(),
        }
        .to_json()?;
        if fields.is_empty() {
            return Err(ToolError::invalid(
                "recipe_id",
                "nothing to change: give at least one of name, description, ingredients, instructions, url, prep_time, cook_time, total_time, recipe_yield, category or keywords",
            ));
        }
        let user = self.user(&ctx)?;
        let cookbook = user.cookbook();
        let mut recipe = cookbook.get(args.recipe_id).await?.without_display_fields();
        for (k, v) in &fields {
            recipe.0.insert(k.clone(), v.clone());
        }
        let id = cookbook.update(args.recipe_id, &recipe.0).await?;
        answer(RecipeWritten {
            id,
            name: recipe.str("name").to_string(),
            changed: changed_names(&fields),
            web_url: recipe_url(user.client().base_url(), id),
        })
    }

    #[tool(
        name = "nc_cookbook_delete_recipe",
        title = "Delete a recipe",
        description = "Delete a recipe with its image."
    )]
    async fn nc_cookbook_delete_recipe(
        &self,
        Parameters(args): Parameters<RecipeIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RecipeDeleted>>, ToolError> {
        let user = self.user(&ctx)?;
        let cookbook = user.cookbook();
        // Cookbook reports success for ids it does not have; look first so a wrong id is
        // reported as such.
        let recipe = cookbook.get(args.recipe_id).await?;
        let message = cookbook.delete(args.recipe_id).await?;
        answer(RecipeDeleted {
            status_code: 200,
            message: if message.is_empty() {
                format!("Recipe {} was deleted.", args.recipe_id)
            } else {
                message
            },
            deleted_id: args.recipe_id,
            name: recipe.str("name").to_string(),
        })
    }

    #[tool(
        name = "nc_cookbook_set_config",
        title = "Change Cookbook settings",
        description = "Change Cookbook's settings: recipe folder, rescan interval (minutes), image in printouts."
    )]
    async fn nc_cookbook_set_config(
        &self,
        Parameters(args): Parameters<ConfigArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ConfigSet>>, ToolError> {
        if args.folder.is_none() && args.update_interval.is_none() && args.print_image.is_none() {
            return Err(ToolError::invalid(
                "folder",
                "nothing to change: give at least one of folder, update_interval or print_image",
            ));
        }
        let folder = match args.folder.as_deref().map(str::trim) {
            Some("") => {
                return Err(ToolError::invalid(
                    "folder",
                    "expected a folder path such as `/Recipes`",
                ));
            }
            Some(f) if f.split('/').any(|p| p == "..") => {
                return Err(ToolError::invalid(
                    "folder",
                    "the path may not contain `..`",
                ));
            }
            Some(f) if f.starts_with('/') => Some(f.to_string()),
            Some(f) => Some(format!("/{f}")),
            None => None,
        };
        let update_interval = match args.update_interval {
            Some(i) => Some(at_least("update_interval", i, 1)? as u64),
            None => None,
        };
        let user = self.user(&ctx)?;
        let cookbook = user.cookbook();
        let message = cookbook
            .set_config(&ConfigChange {
                folder,
                update_interval,
                print_image: args.print_image,
            })
            .await?;
        let config = cookbook.config().await?;
        answer(ConfigSet {
            status_code: 200,
            message,
            config: ConfigOut {
                folder: config.folder,
                update_interval: config.update_interval,
                print_image: config.print_image,
            },
        })
    }

    #[tool(
        name = "nc_cookbook_reindex",
        title = "Rescan recipes",
        description = "Rescan the recipe folder, e.g. after recipe files were changed outside Cookbook."
    )]
    async fn nc_cookbook_reindex(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<StatusOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let message = user.cookbook().reindex().await?;
        answer(StatusOut {
            status_code: 200,
            message,
        })
    }
}
