//! The catalogue of Nextcloud apps the server has tools for.
//!
//! A tool's app, required capability and scope are derived from its name prefix and its
//! `readOnlyHint` annotation, so each tool states them in exactly one place (its `#[tool]`
//! attribute) and nothing here lists tools one by one.

/// One Nextcloud app as the server sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct App {
    /// Name used by `--enable-app` (the Python reference's names).
    pub id: &'static str,
    /// Tool names of this app start with one of these.
    pub tool_prefixes: &'static [&'static str],
    /// Key the app publishes in `/cloud/capabilities`; its absence hides the app's tools.
    /// `None` for apps that publish nothing (their tools are always shown).
    pub capability: Option<&'static str>,
    /// Scope family: tools need `<family>.read` or `<family>.write`.
    pub scope: &'static str,
    /// Tools whose name contains the marker use another scope family (calendar tasks).
    pub scope_overrides: &'static [(&'static str, &'static str)],
    /// Human name for messages.
    pub title: &'static str,
}

pub const APPS: &[App] = &[
    App {
        id: "notes",
        tool_prefixes: &["nc_notes_"],
        capability: Some("notes"),
        scope: "notes",
        scope_overrides: &[],
        title: "Notes",
    },
    App {
        id: "webdav",
        tool_prefixes: &["nc_webdav_"],
        capability: None,
        scope: "files",
        scope_overrides: &[],
        title: "Files",
    },
    App {
        id: "sharing",
        tool_prefixes: &["nc_share_"],
        capability: Some("files_sharing"),
        scope: "sharing",
        scope_overrides: &[],
        title: "Sharing",
    },
    App {
        id: "calendar",
        tool_prefixes: &["nc_calendar_"],
        capability: None,
        scope: "calendar",
        scope_overrides: &[("_todo", "todo")],
        title: "Calendar",
    },
    App {
        id: "contacts",
        tool_prefixes: &["nc_contacts_"],
        capability: None,
        scope: "contacts",
        scope_overrides: &[],
        title: "Contacts",
    },
    App {
        id: "deck",
        tool_prefixes: &["deck_"],
        capability: Some("deck"),
        scope: "deck",
        scope_overrides: &[],
        title: "Deck",
    },
    App {
        id: "tables",
        tool_prefixes: &["nc_tables_"],
        capability: Some("tables"),
        scope: "tables",
        scope_overrides: &[],
        title: "Tables",
    },
    App {
        id: "cookbook",
        tool_prefixes: &["nc_cookbook_"],
        capability: Some("cookbook"),
        scope: "cookbook",
        scope_overrides: &[],
        title: "Cookbook",
    },
    App {
        id: "collectives",
        tool_prefixes: &["collectives_"],
        capability: Some("collectives"),
        scope: "collectives",
        scope_overrides: &[],
        title: "Collectives",
    },
    App {
        id: "news",
        tool_prefixes: &["nc_news_"],
        capability: None,
        scope: "news",
        scope_overrides: &[],
        title: "News",
    },
    App {
        id: "mail",
        tool_prefixes: &["nc_mail_"],
        capability: None,
        scope: "mail",
        scope_overrides: &[],
        title: "Mail",
    },
    App {
        id: "talk",
        tool_prefixes: &["talk_"],
        capability: Some("spreed"),
        scope: "talk",
        scope_overrides: &[],
        title: "Talk",
    },
    App {
        id: "shopping_list",
        tool_prefixes: &["nc_shopping_list_"],
        capability: None,
        scope: "shopping_list",
        scope_overrides: &[],
        title: "Shopping list",
    },
    App {
        id: "semantic",
        tool_prefixes: &["nc_semantic_"],
        capability: None,
        scope: "semantic",
        scope_overrides: &[],
        title: "Semantic search",
    },
    // Login Flow v2 provisioning (`login_flow` mode only): needs no scope, since these tools
    // are how a user grants scopes in the first place.
    App {
        id: "auth",
        tool_prefixes: &["nc_auth_"],
        capability: None,
        scope: "",
        scope_overrides: &[],
        title: "Nextcloud access",
    },
];

/// Scope families that only exist as `<family>.read` (no tool of theirs writes).
pub const READ_ONLY_SCOPE_FAMILIES: &[&str] = &["semantic"];

/// Tools needing a scope other than `<family>.read|write`: (tool-name prefix, scope).
pub const SPECIAL_SCOPES: &[(&str, &str)] = &[("nc_mail_send_", "mail.send")];

/// Resources and the scope reading them needs: (URI prefix, scope).
pub const RESOURCE_SCOPES: &[(&str, &str)] = &[("nc://Notes/", "notes.read")];

/// The scope reading a resource needs; `None` for resources anyone may read.
pub fn resource_scope(uri: &str) -> Option<&'static str> {
    RESOURCE_SCOPES
        .iter()
        .find(|(prefix, _)| uri.starts_with(prefix))
        .map(|(_, scope)| *scope)
}

/// Every scope a user can grant, derived from [`APPS`] and [`SPECIAL_SCOPES`]: the list that
/// validates requested scopes, is advertised as `scopes_supported`, and that enforcement uses.
pub fn all_scopes() -> Vec<String> {
    let mut scopes = std::collections::BTreeSet::new();
    for app in APPS.iter().filter(|a| !a.scope.is_empty()) {
        let families =
            std::iter::once(app.scope).chain(app.scope_overrides.iter().map(|(_, f)| *f));
        for family in families {
            scopes.insert(format!("{family}.read"));
            if !READ_ONLY_SCOPE_FAMILIES.contains(&family) {
                scopes.insert(format!("{family}.write"));
            }
        }
    }
    scopes.extend(SPECIAL_SCOPES.iter().map(|(_, s)| s.to_string()));
    scopes.into_iter().collect()
}

/// A scope in canonical dot form (`notes.read`), accepting the colon alias (`notes:read`);
/// `None` when it is not a scope this server knows.
pub fn normalize_scope(scope: &str) -> Option<String> {
    let dotted = scope.trim().replacen(':', ".", 1);
    all_scopes().contains(&dotted).then_some(dotted)
}

/// The app a tool belongs to, from its name.
pub fn app_of_tool(tool_name: &str) -> Option<&'static App> {
    APPS.iter().find(|app| {
        app.tool_prefixes
            .iter()
            .any(|prefix| tool_name.starts_with(prefix))
    })
}

pub fn app_by_id(id: &str) -> Option<&'static App> {
    APPS.iter().find(|app| app.id == id)
}

/// The scope a tool requires: `<family>.read` for read-only tools, else `<family>.write`
/// (or its [`SPECIAL_SCOPES`] entry). `None` for tools that need none (the auth tools).
pub fn required_scope(tool_name: &str, read_only: bool) -> Option<String> {
    let app = app_of_tool(tool_name)?;
    if app.scope.is_empty() {
        return None;
    }
    if let Some((_, scope)) = SPECIAL_SCOPES
        .iter()
        .find(|(prefix, _)| tool_name.starts_with(prefix))
    {
        return Some(scope.to_string());
    }
    let family = app
        .scope_overrides
        .iter()
        .find(|(marker, _)| tool_name.contains(marker))
        .map_or(app.scope, |(_, family)| family);
    let access = if read_only { "read" } else { "write" };
    Some(format!("{family}.{access}"))
}

/// Tools that need a newer app than the app's first API version: (name marker, app version).
const MIN_APP_VERSIONS: &[(&str, (u32, u32))] = &[
    ("deck_assign_dependent_card", (1, 18)),
    ("deck_remove_dependent_card", (1, 18)),
];

/// The app version (major, minor) a tool needs, if any.
pub fn min_app_version(tool_name: &str) -> Option<(u32, u32)> {
    MIN_APP_VERSIONS
        .iter()
        .find(|(marker, _)| tool_name.contains(marker))
        .map(|(_, v)| *v)
}

/// Whether a version string such as `1.18.2` is at least `major.minor`.
pub fn version_at_least(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version
        .split('.')
        .map(|p| p.trim().parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn app_versions_compare() {
        assert!(super::version_at_least("1.18.0", (1, 18)));
        assert!(super::version_at_least("2.0", (1, 18)));
        assert!(!super::version_at_least("1.16.1", (1, 18)));
        assert_eq!(super::min_app_version("deck_get_card"), None);
    }

    use super::*;

    #[test]
    fn scopes_follow_names_and_read_only_hint() {
        assert_eq!(
            required_scope("nc_notes_get_note", true).as_deref(),
            Some("notes.read")
        );
        assert_eq!(
            required_scope("nc_calendar_create_todo", false).as_deref(),
            Some("todo.write")
        );
        assert_eq!(
            required_scope("nc_calendar_create_event", false).as_deref(),
            Some("calendar.write")
        );
        assert_eq!(
            required_scope("nc_webdav_read_file", true).as_deref(),
            Some("files.read")
        );
        assert_eq!(required_scope("unknown_tool", true), None);
        assert_eq!(required_scope("nc_auth_check_status", true), None);
        assert_eq!(
            required_scope("nc_mail_send_message", false).as_deref(),
            Some("mail.send")
        );
    }

    #[test]
    fn scope_vocabulary_matches_the_reference() {
        let all = all_scopes();
        for s in [
            "notes.read",
            "notes.write",
            "calendar.read",
            "todo.write",
            "files.write",
            "sharing.read",
            "news.write",
            "mail.send",
            "talk.read",
            "collectives.write",
            "shopping_list.read",
            "semantic.read",
        ] {
            assert!(all.contains(&s.to_string()), "{s} missing");
        }
        assert!(!all.contains(&"semantic.write".to_string()));
        // 14 app families × read/write, plus semantic.read and mail.send.
        assert_eq!(all.len(), 30, "{all:?}");
        assert_eq!(normalize_scope("notes:read").as_deref(), Some("notes.read"));
        assert_eq!(normalize_scope("notes.admin"), None);
    }

    #[test]
    fn every_tool_scope_is_grantable() {
        let all = all_scopes();
        for tool in crate::tools::all().list_all() {
            let read_only = crate::mcp::is_read_only(&tool);
            if let Some(scope) = required_scope(&tool.name, read_only) {
                assert!(all.contains(&scope), "{} needs {scope}", tool.name);
            }
        }
    }

    #[test]
    fn app_ids_are_unique() {
        let mut ids: Vec<_> = APPS.iter().map(|a| a.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), APPS.len());
    }
}
