use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::read::OneListOut;
use super::{ItemIdArgs, ItemOut, ListIdArgs, split_ingredient};
use crate::apps;
use crate::mcp::{Access, NextcloudMcp};
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::NextcloudUser;
use nextcloud::shopping_list::{ItemChanges, NewItem};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateListArgs {
    pub title: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateListArgs {
    pub list_id: u64,
    pub title: String,
}

/// Free text; a number is taken as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Text {
    Text(String),
    Number(serde_json::Number),
}

impl Text {
    fn into_string(self) -> String {
        match self {
            Text::Text(s) => s,
            Text::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub name: String,
    /// e.g. "2"; the app sets "1" when left out.
    #[serde(default)]
    pub quantity: Option<Text>,
    /// e.g. "kg".
    #[serde(default)]
    pub unit: Option<Text>,
    /// Left out, the app files the item itself.
    #[serde(default, alias = "shopAreaId")]
    pub shop_area_id: Option<u64>,
    /// Add it already ticked off.
    #[serde(default)]
    pub checked: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddItemsArgs {
    pub list_id: u64,
    /// Only `name` is required, e.g. [{"name":"flour","quantity":"2","unit":"kg"}]. A name
    /// already on the list is added again.
    pub items: Vec<ItemInput>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AddedOut {
    pub items: Vec<ItemOut>,
    pub list_id: u64,
    pub added_count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateItemArgs {
    pub list_id: u64,
    pub item_id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub shop_area_id: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OneItemOut {
    pub item: ItemOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CheckItemArgs {
    pub list_id: u64,
    pub item_id: u64,
    /// true ticks it off, false puts it back.
    pub checked: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedListOut {
    pub status_code: u16,
    pub message: String,
    pub deleted_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedItemOut {
    pub status_code: u16,
    pub message: String,
    pub deleted_id: u64,
    pub list_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkOut {
    pub status_code: u16,
    pub message: String,
    pub list_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecipeArgs {
    pub list_id: u64,
    /// Cookbook recipe id.
    pub recipe_id: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipeAddedOut {
    pub items: Vec<ItemOut>,
    pub list_id: u64,
    pub added_count: usize,
    pub recipe_name: String,
}

const fn write_spec(name: &'static str, effect: crate::tools::spec::Effect) -> ToolSpec {
    ToolSpec::new(
        name,
        &apps::SHOPPING_LIST,
        Some("shopping_list.write"),
        effect,
    )
}

pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    write_spec("nc_shopping_list_create_list", Create),
    write_spec("nc_shopping_list_update_list", Update),
    write_spec("nc_shopping_list_delete_list", Delete),
    write_spec("nc_shopping_list_add_items", Create),
    write_spec("nc_shopping_list_update_item", Update),
    write_spec("nc_shopping_list_check_item", Update),
    write_spec("nc_shopping_list_delete_item", Delete),
    write_spec("nc_shopping_list_clear_checked_items", Delete),
    write_spec("nc_shopping_list_uncheck_all_items", Update),
    // Also reads the recipe, so it checks `cookbook.read` itself.
    write_spec("nc_shopping_list_add_recipe_ingredients", Create),
];

/// Adds items one by one (the app has no bulk route), ticking off those asked for. A failure
/// part way says how many were already added, since those stay on the list.
async fn add_all(
    user: &NextcloudUser,
    list_id: u64,
    items: Vec<(NewItem, bool)>,
) -> Result<Vec<ItemOut>, ToolError> {
    let total = items.len();
    let api = user.shopping_list();
    let mut added = Vec::with_capacity(total);
    for (new, checked) in items {
        let step = async {
            let item = api.add_item(list_id, &new).await?;
            if checked {
                return api.check_item(list_id, item.id, true).await;
            }
            Ok(item)
        };
        match step.await {
            Ok(item) => added.push(ItemOut::from(item)),
            Err(e) if added.is_empty() => return Err(e.into()),
            Err(e) => {
                return Err(ToolError::PartlyDone(format!(
                    "Adding `{}` failed after {} of {total} items were added (they stay on the list): {e}",
                    new.name,
                    added.len()
                )));
            }
        }
    }
    Ok(added)
}

#[tool_router(router = shopping_list_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_shopping_list_create_list",
        title = "Create a shopping list",
        description = "Create a shopping list. Titles need not be unique: calling twice makes two lists."
    )]
    async fn nc_shopping_list_create_list(
        &self,
        Parameters(args): Parameters<CreateListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneListOut>>, ToolError> {
        if args.title.trim().is_empty() {
            return Err(ToolError::invalid("title", "must not be empty"));
        }
        let user = self.user(&ctx)?;
        let list = user.shopping_list().create(&args.title).await?;
        answer(OneListOut { list: list.into() })
    }

    #[tool(
        name = "nc_shopping_list_update_list",
        title = "Rename a shopping list",
        description = "Rename a shopping list."
    )]
    async fn nc_shopping_list_update_list(
        &self,
        Parameters(args): Parameters<UpdateListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneListOut>>, ToolError> {
        if args.title.trim().is_empty() {
            return Err(ToolError::invalid("title", "must not be empty"));
        }
        let user = self.user(&ctx)?;
        let list = user
            .shopping_list()
            .rename(args.list_id, &args.title)
            .await?;
        answer(OneListOut { list: list.into() })
    }

    #[tool(
        name = "nc_shopping_list_delete_list",
        title = "Delete a shopping list",
        description = "Delete a shopping list with all its items. Only its owner may."
    )]
    async fn nc_shopping_list_delete_list(
        &self,
        Parameters(args): Parameters<ListIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeletedListOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.shopping_list().delete(args.list_id).await?;
        answer(DeletedListOut {
            status_code: 204,
            message: format!("Deleted shopping list {}", args.list_id),
            deleted_id: args.list_id,
        })
    }

    #[tool(
        name = "nc_shopping_list_add_items",
        title = "Add items to a shopping list",
        description = "Add one or more items to a shopping list in one call."
    )]
    async fn nc_shopping_list_add_items(
        &self,
        Parameters(args): Parameters<AddItemsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<AddedOut>>, ToolError> {
        if args.items.is_empty() {
            return Err(ToolError::invalid("items", "no items given"));
        }
        if let Some(i) = args.items.iter().position(|i| i.name.trim().is_empty()) {
            return Err(ToolError::invalid(
                "items",
                format!("item {i} has an empty name; nothing was added"),
            ));
        }
        let user = self.user(&ctx)?;
        let items = args
            .items
            .into_iter()
            .map(|i| {
                let new = NewItem {
                    name: i.name,
                    quantity: i.quantity.map(Text::into_string),
                    unit: i.unit.map(Text::into_string),
                    shop_area_id: i.shop_area_id,
                };
                (new, i.checked)
            })
            .collect();
        let items = add_all(&user, args.list_id, items).await?;
        answer(AddedOut {
            added_count: items.len(),
            list_id: args.list_id,
            items,
        })
    }

    #[tool(
        name = "nc_shopping_list_update_item",
        title = "Change a shopping list item",
        description = "Change an item's name, quantity, unit or shop area; the rest stays. Tick off: nc_shopping_list_check_item."
    )]
    async fn nc_shopping_list_update_item(
        &self,
        Parameters(args): Parameters<UpdateItemArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneItemOut>>, ToolError> {
        if args.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ToolError::invalid("name", "must not be empty"));
        }
        let changes = ItemChanges {
            name: args.name,
            quantity: args.quantity,
            unit: args.unit,
            shop_area_id: args.shop_area_id,
        };
        if changes.is_empty() {
            return Err(ToolError::invalid(
                "name",
                "give at least one of name, quantity, unit or shop_area_id",
            ));
        }
        let user = self.user(&ctx)?;
        let item = user
            .shopping_list()
            .update_item(args.list_id, args.item_id, &changes)
            .await?;
        answer(OneItemOut { item: item.into() })
    }

    #[tool(
        name = "nc_shopping_list_check_item",
        title = "Tick off a shopping list item",
        description = "Tick an item off the list, or put it back with checked=false."
    )]
    async fn nc_shopping_list_check_item(
        &self,
        Parameters(args): Parameters<CheckItemArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<OneItemOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let item = user
            .shopping_list()
            .check_item(args.list_id, args.item_id, args.checked)
            .await?;
        answer(OneItemOut { item: item.into() })
    }

    #[tool(
        name = "nc_shopping_list_delete_item",
        title = "Delete a shopping list item",
        description = "Delete one item from a shopping list."
    )]
    async fn nc_shopping_list_delete_item(
        &self,
        Parameters(args): Parameters<ItemIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<DeletedItemOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.shopping_list()
            .delete_item(args.list_id, args.item_id)
            .await?;
        answer(DeletedItemOut {
            status_code: 204,
            message: format!(
                "Deleted item {} from shopping list {}",
                args.item_id, args.list_id
            ),
            deleted_id: args.item_id,
            list_id: args.list_id,
        })
    }

    #[tool(
        name = "nc_shopping_list_clear_checked_items",
        title = "Clear ticked-off items",
        description = "Delete every ticked-off item of a shopping list."
    )]
    async fn nc_shopping_list_clear_checked_items(
        &self,
        Parameters(args): Parameters<ListIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<BulkOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.shopping_list().clear_checked(args.list_id).await?;
        answer(BulkOut {
            status_code: 200,
            message: format!("Cleared checked items from shopping list {}", args.list_id),
            list_id: args.list_id,
        })
    }

    #[tool(
        name = "nc_shopping_list_uncheck_all_items",
        title = "Uncheck all items",
        description = "Put every ticked-off item of a shopping list back among the open ones."
    )]
    async fn nc_shopping_list_uncheck_all_items(
        &self,
        Parameters(args): Parameters<ListIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<BulkOut>>, ToolError> {
        let user = self.user(&ctx)?;
        user.shopping_list().uncheck_all(args.list_id).await?;
        answer(BulkOut {
            status_code: 200,
            message: format!("Unchecked all items on shopping list {}", args.list_id),
            list_id: args.list_id,
        })
    }

    #[tool(
        name = "nc_shopping_list_add_recipe_ingredients",
        title = "Add a recipe's ingredients",
        description = "Add a Cookbook recipe's ingredients to a shopping list, quantities as written. Needs cookbook.read too."
    )]
    async fn nc_shopping_list_add_recipe_ingredients(
        &self,
        Parameters(args): Parameters<RecipeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<RecipeAddedOut>>, ToolError> {
        if let Some(Access {
            scopes: Some(granted),
            ..
        }) = ctx.extensions.get::<Access>()
            && !granted.contains("cookbook.read")
        {
            return Err(ToolError::Access(
                "`nc_shopping_list_add_recipe_ingredients` reads the recipe, so it also needs the `cookbook.read` scope. Call `nc_auth_update_scopes` with add_scopes [\"cookbook.read\"] to grant it.".into(),
            ));
        }
        let user = self.user(&ctx)?;
        let recipe = user.cookbook().get(args.recipe_id).await?;
        let items: Vec<(NewItem, bool)> = recipe
            .strings("recipeIngredient")
            .iter()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let (quantity, unit, name) = split_ingredient(line);
                let new = NewItem {
                    name,
                    // Without an amount the app would write "1"; an empty one says none.
                    quantity: Some(quantity.unwrap_or_default()),
                    unit,
                    shop_area_id: None,
                };
                (new, false)
            })
            .collect();
        if items.is_empty() {
            return Err(ToolError::invalid(
                "recipe_id",
                "the recipe lists no ingredients",
            ));
        }
        let items = add_all(&user, args.list_id, items).await?;
        answer(RecipeAddedOut {
            added_count: items.len(),
            list_id: args.list_id,
            recipe_name: recipe.str("name").to_string(),
            items,
        })
    }
}
