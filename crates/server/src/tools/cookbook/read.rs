use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{RecipeOut, RecipeSummary, recipe_out};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs, ToolError, answer, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecipeIdArgs {
    pub recipe_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipesOut {
    pub recipes: Vec<RecipeSummary>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    pub query: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOut {
    pub query: String,
    pub recipes: Vec<RecipeSummary>,
    pub total_found: usize,
}

/// A category or keyword and how many recipes have it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CountedName {
    pub name: String,
    pub recipe_count: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CategoriesOut {
    /// Categories by name; `*` counts the recipes without a category.
    pub categories: Vec<CountedName>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CategoryArgs {
    /// `*` for recipes without one.
    pub category: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CategoryRecipesOut {
    pub category: String,
    pub recipes: Vec<RecipeSummary>,
    pub total_count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeywordsOut {
    pub keywords: Vec<CountedName>,
    pub total_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct KeywordsArgs {
    pub keywords: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeywordRecipesOut {
    pub keywords: Vec<String>,
    pub recipes: Vec<RecipeSummary>,
    pub total_count: usize,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_cookbook_list_recipes",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_cookbook_get_recipe",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_cookbook_search_recipes",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_cookbook_list_categories",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_cookbook_get_recipes_in_category",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_cookbook_list_keywords",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_cookbook_get_recipes_with_keywords",
        &apps::COOKBOOK,
        Some("cookbook.read"),
        Read,
    ),
];

#[tool_router(router = cookbook_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_cookbook_list_recipes",
        title = "List recipes",
        description = "All your recipes by name with category and keywords; nc_cookbook_get_recipe gives ingredients and steps."
    )]
    async fn nc_cookbook_list_recipes(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RecipesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let recipes: Vec<RecipeSummary> = user
            .cookbook()
            .list()
            .await?
            .into_iter()
            .map(RecipeSummary::from)
            .collect();
        answer(RecipesOut {
            total_count: recipes.len(),
            recipes,
        })
    }

    #[tool(
        name = "nc_cookbook_get_recipe",
        title = "Show a recipe",
        description = "Show a whole recipe: ingredients, steps, servings, times, category, keywords, nutrition and source."
    )]
    async fn nc_cookbook_get_recipe(
        &self,
        Parameters(args): Parameters<RecipeIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<RecipeOut>, ToolError> {
        let user = self.user(&ctx)?;
        let recipe = user.cookbook().get(args.recipe_id).await?;
        Ok(Json(recipe_out(
            user.client().base_url(),
            &recipe,
            args.recipe_id,
        )))
    }

    #[tool(
        name = "nc_cookbook_search_recipes",
        title = "Search recipes",
        description = "Find recipes by words in their name, category or keywords (any word matches)."
    )]
    async fn nc_cookbook_search_recipes(
        &self,
        Parameters(args): Parameters<SearchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchOut>>, ToolError> {
        let query = non_empty(
            "query",
            &args.query,
            "expected at least one word to search for (use nc_cookbook_list_recipes for all)",
        )?;
        let user = self.user(&ctx)?;
        let recipes: Vec<RecipeSummary> = user
            .cookbook()
            .search(query)
            .await?
            .into_iter()
            .map(RecipeSummary::from)
            .collect();
        answer(SearchOut {
            query: query.to_string(),
            total_found: recipes.len(),
            recipes,
        })
    }

    #[tool(
        name = "nc_cookbook_list_categories",
        title = "List recipe categories",
        description = "List the recipe categories with how many recipes each has (`*`: no category)."
    )]
    async fn nc_cookbook_list_categories(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CategoriesOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let categories: Vec<CountedName> = user
            .cookbook()
            .categories()
            .await?
            .into_iter()
            // Cookbook always lists `*`, even when every recipe has a category.
            .filter(|c| !(c.name == "*" && c.recipe_count == 0))
            .map(|c| CountedName {
                name: c.name,
                recipe_count: c.recipe_count,
            })
            .collect();
        answer(CategoriesOut {
            total_count: categories.len(),
            categories,
        })
    }

    #[tool(
        name = "nc_cookbook_get_recipes_in_category",
        title = "Recipes in a category",
        description = "List the recipes of one category (`*` for those without one)."
    )]
    async fn nc_cookbook_get_recipes_in_category(
        &self,
        Parameters(args): Parameters<CategoryArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CategoryRecipesOut>>, ToolError> {
        let category = non_empty(
            "category",
            &args.category,
            "expected a category name, or `*` for recipes without a category",
        )?;
        let user = self.user(&ctx)?;
        let recipes: Vec<RecipeSummary> = user
            .cookbook()
            .recipes_in_category(category)
            .await?
            .into_iter()
            .map(RecipeSummary::from)
            .collect();
        answer(CategoryRecipesOut {
            category: category.to_string(),
            total_count: recipes.len(),
            recipes,
        })
    }

    #[tool(
        name = "nc_cookbook_list_keywords",
        title = "List recipe keywords",
        description = "List the keywords used on recipes with how many recipes have each."
    )]
    async fn nc_cookbook_list_keywords(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<KeywordsOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let keywords: Vec<CountedName> = user
            .cookbook()
            .keywords()
            .await?
            .into_iter()
            .filter(|k| !k.name.trim().is_empty())
            .map(|k| CountedName {
                name: k.name,
                recipe_count: k.recipe_count,
            })
            .collect();
        answer(KeywordsOut {
            total_count: keywords.len(),
            keywords,
        })
    }

    #[tool(
        name = "nc_cookbook_get_recipes_with_keywords",
        title = "Recipes with keywords",
        description = "List the recipes that have all the given keywords."
    )]
    async fn nc_cookbook_get_recipes_with_keywords(
        &self,
        Parameters(args): Parameters<KeywordsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<KeywordRecipesOut>>, ToolError> {
        let wanted: Vec<String> = args
            .keywords
            .iter()
            .flat_map(|k| k.split(','))
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if wanted.is_empty() {
            return Err(ToolError::invalid(
                "keywords",
                "expected at least one keyword (see nc_cookbook_list_keywords)",
            ));
        }
        let user = self.user(&ctx)?;
        // Filtered from the full listing rather than with Cookbook's `tags/` endpoint: that
        // query inner-joins the category table, so recipes without a category never match
        // (it also binds the user id with an integer type, which not every database forgives).
        let recipes: Vec<RecipeSummary> = user
            .cookbook()
            .list()
            .await?
            .into_iter()
            .filter(|r| {
                let have = r.keyword_list();
                wanted
                    .iter()
                    .all(|w| have.iter().any(|h| h.to_lowercase() == w.to_lowercase()))
            })
            .map(RecipeSummary::from)
            .collect();
        answer(KeywordRecipesOut {
            keywords: wanted,
            total_count: recipes.len(),
            recipes,
        })
    }
}
