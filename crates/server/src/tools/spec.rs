//! One record per tool: its app, the scope it needs, what it does to the user's data and the
//! app version it needs. Each tool file declares the records of its tools in a `SPECS` table
//! beside them; the server reads a tool's record once per call. The MCP annotations
//! (`readOnlyHint`, ...) are derived from [`Effect`], so a tool's scope and its read-only hint
//! come from the same line and cannot disagree.

use std::collections::HashMap;
use std::sync::LazyLock;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::ToolAnnotations;

use crate::apps::App;
use crate::mcp::NextcloudMcp;

/// What a tool does to the user's data; each variant is one preset of MCP annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Only reads.
    Read,
    /// Adds something new; calling it twice adds it twice.
    Create,
    /// Changes something in place; calling it twice changes nothing more.
    Update,
    /// Removes something; calling it twice removes nothing more.
    Delete,
    /// Replaces or moves data, so what was there may be lost; not idempotent.
    Overwrite,
}

impl Effect {
    pub const fn is_read_only(self) -> bool {
        matches!(self, Effect::Read)
    }

    /// The MCP annotations of this preset. Every tool talks to a Nextcloud, an open world.
    pub fn annotations(self) -> ToolAnnotations {
        let (destructive, idempotent) = match self {
            Effect::Read | Effect::Update => (false, true),
            Effect::Create => (false, false),
            Effect::Delete => (true, true),
            Effect::Overwrite => (true, false),
        };
        ToolAnnotations::from_raw(
            None,
            Some(self.is_read_only()),
            Some(destructive),
            Some(idempotent),
            Some(true),
        )
    }
}

/// A tool's facts, declared once beside the tool.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub name: &'static str,
    pub app: &'static App,
    /// The scope a caller must have been granted; `None` for the provisioning tools, which
    /// are how scopes get granted in the first place.
    pub scope: Option<&'static str>,
    pub effect: Effect,
    /// The app version (major, minor) the tool needs, when newer than the app's first API.
    pub min_app_version: Option<(u32, u32)>,
    /// A feature the app must list in its capability's `features` array (Talk's `reactions`),
    /// for tools of an optional part of an app.
    pub feature: Option<&'static str>,
}

impl ToolSpec {
    pub const fn new(
        name: &'static str,
        app: &'static App,
        scope: Option<&'static str>,
        effect: Effect,
    ) -> Self {
        Self {
            name,
            app,
            scope,
            effect,
            min_app_version: None,
            feature: None,
        }
    }

    /// Needs its app to announce this feature in its capabilities.
    pub const fn with_feature(mut self, feature: &'static str) -> Self {
        self.feature = Some(feature);
        self
    }

    /// Needs at least this version of its app.
    pub const fn since(mut self, major: u32, minor: u32) -> Self {
        self.min_app_version = Some((major, minor));
        self
    }

    pub const fn is_read_only(&self) -> bool {
        self.effect.is_read_only()
    }
}

/// Every tool's record, by name.
static SPECS: LazyLock<HashMap<&'static str, &'static ToolSpec>> = LazyLock::new(|| {
    super::SPECS
        .iter()
        .flat_map(|table| table.iter())
        .map(|spec| (spec.name, spec))
        .collect()
});

/// The record of a tool; `None` for tools that are not Nextcloud's (embedders' extra tools).
pub fn of(tool: &str) -> Option<&'static ToolSpec> {
    SPECS.get(tool).copied()
}

/// Sets every tool's annotations from its record.
pub(super) fn annotate(mut router: ToolRouter<NextcloudMcp>) -> ToolRouter<NextcloudMcp> {
    for route in router.map.values_mut() {
        if let Some(spec) = of(&route.attr.name) {
            route.attr.annotations = Some(spec.effect.annotations());
        }
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole tool → scope table, pinned: a change of any tool's scope or effect is a
    /// deliberate edit of `tool_scopes.txt`, seen in review.
    #[test]
    fn tool_scope_table_is_pinned() {
        let mut rows: Vec<String> = super::super::SPECS
            .iter()
            .flat_map(|t| t.iter())
            .map(|s| {
                let mut row = format!("{} {} {:?}", s.name, s.scope.unwrap_or("-"), s.effect);
                if let Some((major, minor)) = s.min_app_version {
                    row.push_str(&format!(" since {major}.{minor}"));
                }
                if let Some(feature) = s.feature {
                    row.push_str(&format!(" feature {feature}"));
                }
                row
            })
            .collect();
        rows.sort();
        let actual = rows.join("\n") + "\n";
        let expected = include_str!("tool_scopes.txt");
        assert_eq!(
            actual, expected,
            "the tool → scope table changed; if that is intended, update src/tools/tool_scopes.txt"
        );
    }

    #[test]
    fn every_tool_has_exactly_one_record() {
        let tools: Vec<String> = super::super::all()
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        let mut names: Vec<&str> = super::super::SPECS
            .iter()
            .flat_map(|t| t.iter())
            .map(|s| s.name)
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a tool has two records");
        for tool in &tools {
            assert!(of(tool).is_some(), "`{tool}` has no ToolSpec record");
        }
        for name in names {
            assert!(
                tools.iter().any(|t| t == name),
                "record for `{name}`, which is no tool"
            );
        }
    }

    /// Read tools need a `.read` scope and writers a `.write` one (or a special scope such as
    /// `mail.send`), and every scope is one a user can grant.
    #[test]
    fn scopes_agree_with_effects() {
        let grantable = crate::apps::all_scopes();
        for spec in super::super::SPECS.iter().flat_map(|t| t.iter()) {
            let Some(scope) = spec.scope else {
                // Provisioning grants scopes; the cross-app search checks each result's.
                assert!(
                    spec.app.id == "auth"
                        || crate::tools::search::SCOPED_PER_RESULT.contains(&spec.name),
                    "{} has no scope",
                    spec.name
                );
                continue;
            };
            assert!(
                grantable.iter().any(|s| s == scope),
                "{} needs {scope}",
                spec.name
            );
            if spec.is_read_only() {
                assert!(
                    scope.ends_with(".read"),
                    "{} reads but needs {scope}",
                    spec.name
                );
            } else {
                assert!(
                    !scope.ends_with(".read"),
                    "{} writes with {scope}",
                    spec.name
                );
            }
            let family = scope.split('.').next().unwrap_or_default();
            assert!(
                family == spec.app.scope || spec.app.extra_scope_families.contains(&family),
                "{}: scope {scope} is not of its app {}",
                spec.name,
                spec.app.id
            );
        }
    }
}
