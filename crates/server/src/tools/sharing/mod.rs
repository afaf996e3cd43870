//! Sharing tools: `nc_share_*`, over the Sharing app's OCS API. Reads (one share, listings) in
//! `read.rs`, changes (new shares and links, permissions, removal) in `write.rs`.

pub(super) mod read;
pub(super) mod write;

use rmcp::handler::server::router::tool::ToolRouter;
use schemars::JsonSchema;
use serde::Serialize;

use crate::mcp::NextcloudMcp;
use nextcloud::sharing::{Share, share_type};

pub fn router() -> ToolRouter<NextcloudMcp> {
    // Items hidden by EXCLUDED_TAGS cannot be shared either.
    crate::tools::files::guard::guarded(
        NextcloudMcp::sharing_read_router() + NextcloudMcp::sharing_write_router(),
    )
}

/// A share as the tools report it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShareOut {
    pub id: u64,
    /// 0 user, 1 group, 3 public link, 4 e-mail, 6 federated.
    pub share_type: i64,
    /// `user`, `group`, `public_link`, ...
    pub share_type_name: String,
    /// The shared item's path as you see it.
    pub path: Option<String>,
    /// `file` or `folder`.
    pub item_type: String,
    pub permissions: i64,
    pub share_with: Option<String>,
    pub share_with_displayname: Option<String>,
    pub owner: String,
    /// `YYYY-MM-DD 00:00:00` when the share expires.
    pub expiration: Option<String>,
    pub token: Option<String>,
    /// Public link (link shares).
    pub url: Option<String>,
    pub note: Option<String>,
    pub label: Option<String>,
}

fn type_name(t: i64) -> &'static str {
    match t {
        share_type::USER => "user",
        share_type::GROUP => "group",
        share_type::PUBLIC_LINK => "public_link",
        share_type::EMAIL => "email",
        share_type::FEDERATED => "federated",
        share_type::CIRCLE => "team",
        share_type::ROOM => "talk_room",
        12 => "deck",
        _ => "other",
    }
}

impl From<Share> for ShareOut {
    fn from(s: Share) -> Self {
        Self {
            id: s.id,
            share_type: s.share_type,
            share_type_name: type_name(s.share_type).into(),
            path: s.path,
            item_type: s.item_type,
            permissions: s.permissions,
            share_with: s.share_with,
            share_with_displayname: s.share_with_displayname,
            owner: s.uid_owner,
            expiration: s.expiration,
            token: s.token,
            url: s.url,
            note: s.note,
            label: s.label,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ShareResult {
    pub result: ShareOut,
}
