//! The catalogue of Nextcloud apps the server has tools for.
//!
//! Tools name their app in their record ([`crate::tools::spec::ToolSpec`]); this file says
//! what each app is: how `--enable-app` calls it, which capability shows it is installed, and
//! which scope families it grants.

/// One Nextcloud app as the server sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct App {
    /// Name used by `--enable-app` (the Python reference's names).
    pub id: &'static str,
    /// Key the app publishes in `/cloud/capabilities` (or that the client records after
    /// probing the app's API, for News); its absence hides the app's tools. `None` for apps
    /// that publish nothing (their tools are always shown).
    pub capability: Option<&'static str>,
    /// Scope family: its tools need `<family>.read` or `<family>.write`.
    pub scope: &'static str,
    /// Further scope families of the app's tools (calendar tasks need `todo.*`).
    pub extra_scope_families: &'static [&'static str],
    /// Human name for messages.
    pub title: &'static str,
}

pub const NOTES: App = App {
    id: "notes",
    capability: Some("notes"),
    scope: "notes",
    extra_scope_families: &[],
    title: "Notes",
};

pub const FILES: App = App {
    id: "webdav",
    capability: None,
    scope: "files",
    extra_scope_families: &[],
    title: "Files",
};

pub const SHARING: App = App {
    id: "sharing",
    capability: Some("files_sharing"),
    scope: "sharing",
    extra_scope_families: &[],
    title: "Sharing",
};

pub const CALENDAR: App = App {
    id: "calendar",
    capability: None,
    scope: "calendar",
    extra_scope_families: &["todo"],
    title: "Calendar",
};

pub const CONTACTS: App = App {
    id: "contacts",
    capability: None,
    scope: "contacts",
    extra_scope_families: &[],
    title: "Contacts",
};

pub const DECK: App = App {
    id: "deck",
    capability: Some("deck"),
    scope: "deck",
    extra_scope_families: &[],
    title: "Deck",
};

pub const TABLES: App = App {
    id: "tables",
    capability: Some("tables"),
    scope: "tables",
    extra_scope_families: &[],
    title: "Tables",
};

pub const COOKBOOK: App = App {
    id: "cookbook",
    capability: Some("cookbook"),
    scope: "cookbook",
    extra_scope_families: &[],
    title: "Cookbook",
};

pub const COLLECTIVES: App = App {
    id: "collectives",
    capability: Some("collectives"),
    scope: "collectives",
    extra_scope_families: &[],
    title: "Collectives",
};

pub const NEWS: App = App {
    id: "news",
    // Published by no one: `nextcloud::capabilities` probes the app's `/version`.
    capability: Some("news"),
    scope: "news",
    extra_scope_families: &[],
    title: "News",
};

pub const MAIL: App = App {
    id: "mail",
    capability: Some("mail"),
    scope: "mail",
    extra_scope_families: &[],
    title: "Mail",
};

pub const TALK: App = App {
    id: "talk",
    capability: Some("spreed"),
    scope: "talk",
    extra_scope_families: &[],
    title: "Talk",
};

pub const SHOPPING_LIST: App = App {
    id: "shopping_list",
    capability: None,
    scope: "shopping_list",
    extra_scope_families: &[],
    title: "Shopping list",
};

pub const SEMANTIC: App = App {
    id: "semantic",
    capability: None,
    scope: "semantic",
    extra_scope_families: &[],
    title: "Semantic search",
};

/// Login Flow v2 provisioning (`login_flow` mode only): needs no scope, since these tools
/// are how a user grants scopes in the first place.
pub const AUTH: App = App {
    id: "auth",
    capability: None,
    scope: "",
    extra_scope_families: &[],
    title: "Nextcloud access",
};

/// Every app, in the order tools are listed and documented.
pub const APPS: &[&App] = &[
    &NOTES,
    &FILES,
    &SHARING,
    &CALENDAR,
    &CONTACTS,
    &DECK,
    &TABLES,
    &COOKBOOK,
    &COLLECTIVES,
    &NEWS,
    &MAIL,
    &TALK,
    &SHOPPING_LIST,
    &SEMANTIC,
    &AUTH,
];

/// Everyday words people use for what each app holds, by app id: the discovery mode's tool
/// finder matches a task described in plain words ("add milk to my groceries") against them
/// as well as against tool names and descriptions, so finding does not hang on the exact
/// wording of a description.
pub const APP_WORDS: &[(&str, &[&str])] = &[
    (
        "notes",
        &[
            "note",
            "notes",
            "notepad",
            "jot",
            "memo",
            "idea",
            "journal",
            "diary",
            "draft",
            "write down",
            "minutes",
            "markdown",
            "text",
        ],
    ),
    (
        "webdav",
        &[
            "file",
            "files",
            "folder",
            "directory",
            "document",
            "documents",
            "pdf",
            "photo",
            "picture",
            "image",
            "upload",
            "download",
            "drive",
            "cloud",
            "storage",
            "path",
            "trash",
            "deleted",
            "version",
            "tag",
            "spreadsheet file",
            "word",
            "contents",
        ],
    ),
    (
        "sharing",
        &[
            "share",
            "sharing",
            "shared",
            "link",
            "public",
            "access",
            "permission",
            "give",
            "collaborate",
            "send",
            "recipient",
            "others",
            "people",
            "revoke",
        ],
    ),
    (
        "calendar",
        &[
            "calendar",
            "event",
            "appointment",
            "meeting",
            "schedule",
            "agenda",
            "date",
            "time",
            "day",
            "week",
            "month",
            "tomorrow",
            "today",
            "birthday",
            "wedding",
            "conference",
            "dentist",
            "call",
            "invite",
            "invitation",
            "free",
            "busy",
            "slot",
            "available",
            "reschedule",
            "task",
            "tasks",
            "todo",
            "to-do",
            "reminder",
            "remind",
            "due",
            "done",
            "chore",
            "errand",
        ],
    ),
    (
        "contacts",
        &[
            "contact",
            "contacts",
            "address book",
            "person",
            "people",
            "phone",
            "number",
            "email",
            "e-mail",
            "address",
            "friend",
            "colleague",
            "neighbour",
            "neighbor",
            "vcard",
            "birthday",
        ],
    ),
    (
        "deck",
        &[
            "deck",
            "board",
            "kanban",
            "card",
            "cards",
            "column",
            "stack",
            "lane",
            "project",
            "backlog",
            "sprint",
            "ticket",
            "issue",
            "bug",
            "label",
            "assign",
            "assignee",
            "blocked",
            "status",
            "progress",
            "to do",
            "in progress",
            "done",
            "trello",
        ],
    ),
    (
        "tables",
        &[
            "table",
            "tables",
            "spreadsheet",
            "sheet",
            "row",
            "rows",
            "column",
            "cell",
            "record",
            "entry",
            "database",
            "inventory",
            "tracker",
            "tracking",
            "expenses",
            "list",
            "view",
            "data",
        ],
    ),
    (
        "cookbook",
        &[
            "recipe",
            "recipes",
            "cookbook",
            "cook",
            "cooking",
            "bake",
            "baking",
            "dish",
            "meal",
            "dinner",
            "lunch",
            "breakfast",
            "ingredient",
            "ingredients",
            "food",
            "kitchen",
            "dessert",
            "vegetarian",
            "vegan",
            "servings",
        ],
    ),
    (
        "collectives",
        &[
            "collective",
            "wiki",
            "knowledge base",
            "handbook",
            "documentation",
            "page",
            "pages",
            "team wiki",
        ],
    ),
    (
        "news",
        &[
            "news",
            "feed",
            "feeds",
            "rss",
            "atom",
            "article",
            "articles",
            "headline",
            "subscription",
            "blog",
            "unread",
        ],
    ),
    (
        "mail",
        &[
            "mail",
            "email",
            "e-mail",
            "inbox",
            "message",
            "messages",
            "reply",
            "send",
            "mailbox",
            "attachment",
            "newsletter",
        ],
    ),
    (
        "talk",
        &[
            "talk",
            "chat",
            "message",
            "conversation",
            "room",
            "call",
            "video call",
            "group",
            "channel",
            "mention",
            "spreed",
        ],
    ),
    (
        "shopping_list",
        &[
            "shopping",
            "groceries",
            "grocery",
            "buy",
            "supermarket",
            "store",
            "milk",
            "bread",
            "errands",
            "list",
        ],
    ),
    (
        "semantic",
        &[
            "semantic",
            "meaning",
            "similar",
            "related",
            "anything",
            "everything",
            "ask",
            "whatever",
            "across",
            "index",
            "indexing",
            "indexed",
            "document",
            "result",
        ],
    ),
    (
        "auth",
        &[
            "login",
            "log in",
            "sign in",
            "connect",
            "account",
            "access",
            "permission",
            "scope",
            "authorize",
            "authorise",
            "grant",
        ],
    ),
];

/// The everyday words of an app ([`APP_WORDS`]); empty for an app without any.
pub fn app_words(id: &str) -> &'static [&'static str] {
    APP_WORDS
        .iter()
        .find(|(app, _)| *app == id)
        .map(|(_, words)| *words)
        .unwrap_or_default()
}

/// Scope families that only exist as `<family>.read` (no tool of theirs writes).
pub const READ_ONLY_SCOPE_FAMILIES: &[&str] = &["semantic"];

/// Scopes outside the `<family>.read|write` pattern (sending mail cannot be undone).
pub const SPECIAL_SCOPES: &[&str] = &["mail.send"];

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
        let families = std::iter::once(app.scope).chain(app.extra_scope_families.iter().copied());
        for family in families {
            scopes.insert(format!("{family}.read"));
            if !READ_ONLY_SCOPE_FAMILIES.contains(&family) {
                scopes.insert(format!("{family}.write"));
            }
        }
    }
    scopes.extend(SPECIAL_SCOPES.iter().map(|s| s.to_string()));
    scopes.into_iter().collect()
}

/// A scope in canonical dot form (`notes.read`), accepting the colon alias (`notes:read`);
/// `None` when it is not a scope this server knows.
pub fn normalize_scope(scope: &str) -> Option<String> {
    let dotted = scope.trim().replacen(':', ".", 1);
    all_scopes().contains(&dotted).then_some(dotted)
}

pub fn app_by_id(id: &str) -> Option<&'static App> {
    APPS.iter().copied().find(|app| app.id == id)
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
    }

    use super::*;

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
    fn every_vocabulary_belongs_to_an_app() {
        for (id, words) in APP_WORDS {
            assert!(app_by_id(id).is_some(), "{id}");
            assert!(!words.is_empty(), "{id}");
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
