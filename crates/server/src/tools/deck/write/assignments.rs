use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, non_empty};
use crate::tools::deck::CardChanged;
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CardLabelArgs {
    pub board_id: u64,
    pub stack_id: u64,
    pub card_id: u64,
    pub label_id: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CardUserArgs {
    pub board_id: u64,
    pub stack_id: u64,
    pub card_id: u64,
    pub user_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DependencyArgs {
    pub board_id: u64,
    pub stack_id: u64,
    /// The dependent card.
    pub card_id: u64,
    /// The card it depends on.
    pub dependent_card_id: u64,
}

impl NextcloudMcp {
    /// Reads the card after a change, for the labels in the answer.
    async fn deck_card_changed(
        &self,
        user: &nextcloud::NextcloudUser,
        ids: (u64, u64, u64),
        message: String,
    ) -> Result<CardChanged, ToolError> {
        let (b, s, c) = ids;
        let card = user.deck().card(b, s, c).await?;
        Ok(CardChanged::new(
            user.client().base_url(),
            b,
            Some(&card),
            (s, c),
            message,
        ))
    }
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "deck_assign_label_to_card",
        &apps::DECK,
        Some("deck.write"),
        Create,
    ),
    ToolSpec::new(
        "deck_remove_label_from_card",
        &apps::DECK,
        Some("deck.write"),
        Update,
    ),
    ToolSpec::new(
        "deck_assign_user_to_card",
        &apps::DECK,
        Some("deck.write"),
        Create,
    ),
    ToolSpec::new(
        "deck_unassign_user_from_card",
        &apps::DECK,
        Some("deck.write"),
        Delete,
    ),
    ToolSpec::new(
        "deck_assign_dependent_card",
        &apps::DECK,
        Some("deck.write"),
        Create,
    )
    .since(1, 18),
    ToolSpec::new(
        "deck_remove_dependent_card",
        &apps::DECK,
        Some("deck.write"),
        Delete,
    )
    .since(1, 18),
];

#[tool_router(router = deck_assignments_write_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "deck_assign_label_to_card",
        title = "Add a label to a card",
        description = "Put one of the board's labels on a card."
    )]
    async fn deck_assign_label_to_card(
        &self,
        Parameters(a): Parameters<CardLabelArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        user.deck()
            .assign_label(a.board_id, a.stack_id, a.card_id, a.label_id)
            .await?;
        let msg = format!("Label {} added to card {}.", a.label_id, a.card_id);
        answer(
            self.deck_card_changed(&user, (a.board_id, a.stack_id, a.card_id), msg)
                .await?,
        )
    }

    #[tool(
        name = "deck_remove_label_from_card",
        title = "Remove a label from a card",
        description = "Take a label off a card."
    )]
    async fn deck_remove_label_from_card(
        &self,
        Parameters(a): Parameters<CardLabelArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        user.deck()
            .remove_label(a.board_id, a.stack_id, a.card_id, a.label_id)
            .await?;
        let msg = format!("Label {} removed from card {}.", a.label_id, a.card_id);
        answer(
            self.deck_card_changed(&user, (a.board_id, a.stack_id, a.card_id), msg)
                .await?,
        )
    }

    #[tool(
        name = "deck_assign_user_to_card",
        title = "Assign a user to a card",
        description = "Assign a person to a card."
    )]
    async fn deck_assign_user_to_card(
        &self,
        Parameters(a): Parameters<CardUserArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user_id = non_empty("user_id", &a.user_id, "expected a Nextcloud user id")?;
        let user = self.user(&ctx)?;
        user.deck()
            .assign_user(a.board_id, a.stack_id, a.card_id, user_id)
            .await?;
        let msg = format!("{} assigned to card {}.", user_id, a.card_id);
        answer(
            self.deck_card_changed(&user, (a.board_id, a.stack_id, a.card_id), msg)
                .await?,
        )
    }

    #[tool(
        name = "deck_unassign_user_from_card",
        title = "Unassign a user from a card",
        description = "Remove a person from a card."
    )]
    async fn deck_unassign_user_from_card(
        &self,
        Parameters(a): Parameters<CardUserArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user_id = non_empty("user_id", &a.user_id, "expected a Nextcloud user id")?;
        let user = self.user(&ctx)?;
        user.deck()
            .unassign_user(a.board_id, a.stack_id, a.card_id, user_id)
            .await?;
        let msg = format!("{} unassigned from card {}.", user_id, a.card_id);
        answer(
            self.deck_card_changed(&user, (a.board_id, a.stack_id, a.card_id), msg)
                .await?,
        )
    }

    #[tool(
        name = "deck_assign_dependent_card",
        title = "Make a card depend on another",
        description = "Mark a card as depending on (blocked by) another card. Needs Deck 1.18 or later."
    )]
    async fn deck_assign_dependent_card(
        &self,
        Parameters(a): Parameters<DependencyArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        if a.card_id == a.dependent_card_id {
            return Err(ToolError::invalid(
                "dependent_card_id",
                "a card cannot depend on itself",
            ));
        }
        let user = self.user(&ctx)?;
        let card = user
            .deck()
            .add_dependency(a.board_id, a.stack_id, a.card_id, a.dependent_card_id)
            .await?;
        answer(CardChanged::new(
            user.client().base_url(),
            a.board_id,
            Some(&card),
            (a.stack_id, a.card_id),
            format!(
                "Card {} now depends on card {}.",
                a.card_id, a.dependent_card_id
            ),
        ))
    }

    #[tool(
        name = "deck_remove_dependent_card",
        title = "Remove a card dependency",
        description = "Remove a card's dependency on another card. Needs Deck 1.18 or later."
    )]
    async fn deck_remove_dependent_card(
        &self,
        Parameters(a): Parameters<DependencyArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<CardChanged>>, ToolError> {
        let user = self.user(&ctx)?;
        let card = user
            .deck()
            .remove_dependency(a.board_id, a.stack_id, a.card_id, a.dependent_card_id)
            .await?;
        answer(CardChanged::new(
            user.client().base_url(),
            a.board_id,
            Some(&card),
            (a.stack_id, a.card_id),
            format!(
                "Card {} no longer depends on card {}.",
                a.card_id, a.dependent_card_id
            ),
        ))
    }
}
