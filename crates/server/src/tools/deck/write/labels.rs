use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::deck::Changed;
use crate::tools::deck::read::labels::LabelIdArgs;
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::deck::normalize_color;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateLabelArgs {
    pub board_id: u64,
    pub title: String,
    /// 6 hex digits, e.g. `ff7a66`.
    pub color: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LabelCreated {
    pub id: u64,
    pub title: String,
    pub color: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateLabelArgs {
    pub board_id: u64,
    pub label_id: u64,
    #[serde(default)]
    pub title: Option<String>,
    /// 6 hex digits.
    #[serde(default)]
    pub color: Option<String>,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("deck_create_label", &apps::DECK, Some("deck.write"), Create),
    ToolSpec::new("deck_update_label", &apps::DECK, Some("deck.write"), Update),
    ToolSpec::new("deck_delete_label", &apps::DECK, Some("deck.write"), Delete),
];

#[tool_router(router = deck_labels_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_create_label",
        title = "Create a label",
        description = "Define a new label (tag) on a Deck board with a title and a colour."
    )]
    async fn deck_create_label(
        &self,
        Parameters(args): Parameters<CreateLabelArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<LabelCreated>>, ToolError> {
        non_empty("title", &args.title, "expected a non-empty title")?;
        let color = normalize_color(&args.color, "color")?;
        let user = self.user(&ctx)?;
        let l = user
            .deck()
            .create_label(args.board_id, args.title.trim(), &color)
            .await?;
        answer(LabelCreated {
            id: l.id,
            title: l.title,
            color: l.color,
        })
    }

    #[tool(
        name = "deck_update_label",
        title = "Update a label",
        description = "Rename or recolour a label of a Deck board."
    )]
    async fn deck_update_label(
        &self,
        Parameters(args): Parameters<UpdateLabelArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Changed>>, ToolError> {
        if args.title.is_none() && args.color.is_none() {
            return Err(ToolError::invalid(
                "title",
                "nothing to change: give a title and/or a color",
            ));
        }
        if let Some(title) = &args.title {
            non_empty("title", title, "expected a non-empty title")?;
        }
        let color = match &args.color {
            Some(c) => Some(normalize_color(c, "color")?),
            None => None,
        };
        let user = self.user(&ctx)?;
        let l = user
            .deck()
            .update_label(
                args.board_id,
                args.label_id,
                args.title.as_deref().map(str::trim),
                color.as_deref(),
            )
            .await?;
        let mut out = Changed::ok(format!(
            "Label {} is now `{}` ({}).",
            l.id, l.title, l.color
        ));
        out.label_id = Some(args.label_id);
        out.board_id = Some(args.board_id);
        answer(out)
    }

    #[tool(
        name = "deck_delete_label",
        title = "Delete a label",
        description = "Delete a label from a board and from every card that has it."
    )]
    async fn deck_delete_label(
        &self,
        Parameters(args): Parameters<LabelIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<Changed>>, ToolError> {
        let user = self.user(&ctx)?;
        user.deck()
            .delete_label(args.board_id, args.label_id)
            .await?;
        let mut out = Changed::ok(format!("Label {} was deleted.", args.label_id));
        out.label_id = Some(args.label_id);
        out.board_id = Some(args.board_id);
        answer(out)
    }
}
