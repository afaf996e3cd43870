//! Shared emulator state: users, their file trees, app passwords, login flows, fault plan.
//! One mutex guards the whole world; handlers never hold it across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::faults::FaultState;
use crate::fs::FileTree;

/// Apps a fresh emulator reports as installed.
pub const DEFAULT_APPS: &[&str] = &[
    "notes",
    "deck",
    "tables",
    "cookbook",
    "shopping_list",
    "collectives",
    "mail",
    "news",
    "spreed",
    "files_sharing",
    "files_versions",
    "files_trashbin",
    "systemtags",
    "comments",
];

/// The emulated server version, as `status.php` and capabilities report it.
pub const VERSION: (u32, u32, u32, u32) = (34, 0, 1, 2);

/// Notes app settings of one user (`GET/PUT /settings`).
#[derive(Clone, Debug)]
pub struct NotesSettings {
    pub notes_path: String,
    /// `.md`, `.txt` or `custom`.
    pub file_suffix: String,
    pub custom_suffix: String,
    pub note_mode: String,
}

/// What the Notes app stores in its meta table per note: the last computed ETag and when it
/// last changed (drives `pruneBefore` and chunk cursors).
#[derive(Clone, Debug)]
pub struct NoteMeta {
    pub etag: String,
    pub last_update: i64,
}

/// One account.
#[derive(Debug)]
pub struct User {
    pub id: String,
    pub login_name: String,
    pub password: String,
    pub display_name: String,
    pub email: Option<String>,
    /// Group ids; `admin` makes the user an administrator (e.g. allowed to delete system tags).
    pub groups: Vec<String>,
    pub files: FileTree,
    pub favorites: HashSet<u64>,
    pub notes_settings: NotesSettings,
    pub note_meta: HashMap<u64, NoteMeta>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "admin")
    }
}

/// An issued app password (device token).
#[derive(Clone, Debug)]
pub struct AppPassword {
    pub user_id: String,
    pub login_name: String,
}

/// A Login Flow v2 in progress.
#[derive(Clone, Debug)]
pub struct LoginFlow {
    pub login_token: String,
    pub created: i64,
    pub client_name: String,
    /// Set once granted: (server, loginName, appPassword).
    pub credentials: Option<(String, String, String)>,
}

/// Everything mutable.
#[derive(Debug, Default)]
pub struct World {
    /// Keyed by user id.
    pub users: HashMap<String, User>,
    /// Keyed by the app password itself.
    pub app_passwords: HashMap<String, AppPassword>,
    /// Keyed by poll token.
    pub login_flows: HashMap<String, LoginFlow>,
    pub(crate) faults: FaultState,
    /// Deck boards, stacks, cards, labels and comments (shared by all users).
    pub deck: crate::deck::DeckState,
    /// Tables' tables, columns, rows, views and shares (shared by all users).
    pub tables: crate::tables::TablesState,
    /// Cookbook recipes and settings per user, and pages registered for its import.
    pub cookbook: crate::cookbook::CookbookState,
    /// Shopping lists and their items (Shopping List app).
    pub shopping_list: crate::shopping_list::ShoppingState,
    /// Collectives, their tags, page metadata and trash, and the page search index.
    pub collectives: crate::collectives::CollectivesState,
    /// Mail accounts, mailboxes, messages, tags and outbox (Mail app).
    pub mail: crate::mail::MailState,
    /// News folders, feeds and items, and the feed documents served in place of the web.
    pub news: crate::news::NewsState,
    /// Talk's conversations, participants, messages and reactions.
    pub talk: crate::talk::TalkState,
    /// Shares of files (Sharing app).
    pub shares: crate::sharing::ShareStore,
    /// Comments, system tags, trash bins and file versions.
    pub files_meta: crate::dav::files_meta::FilesMeta,
    /// Chunked uploads in progress (`/remote.php/dav/uploads/`).
    pub uploads: crate::dav::uploads::Uploads,
    /// Calendars and address books of the built-in CalDAV/CardDAV server.
    pub groupware: crate::dav::groupware::Groupware,
}

impl World {
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.login_name == login)
            .or_else(|| self.users.get(login))
    }
}

/// Cheaply clonable handle to the state, used as axum state.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

/// Immutable configuration plus the mutable world.
pub struct Inner {
    pub installed_apps: Vec<String>,
    pub world: Mutex<World>,
    pub next_file_id: AtomicU64,
    pub requests: AtomicU64,
    /// The `traceparent` header of every request that had one, in order (tracing tests).
    pub traceparents: Mutex<Vec<String>>,
    /// Seconds added to the wall clock (tests travel in time with it).
    pub clock_offset: AtomicI64,
    /// Fallback base URL when a request carries no Host header.
    pub base_url: Mutex<String>,
    /// CalDAV/CardDAV server (e.g. Radicale) that calendars and address books are forwarded to.
    pub dav_upstream: Mutex<Option<String>>,
}

impl AppState {
    pub fn new(installed_apps: Vec<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                installed_apps,
                world: Mutex::new(World::default()),
                next_file_id: AtomicU64::new(100),
                requests: AtomicU64::new(0),
                traceparents: Mutex::new(Vec::new()),
                clock_offset: AtomicI64::new(0),
                base_url: Mutex::new(String::new()),
                dav_upstream: Mutex::new(None),
            }),
        }
    }

    /// Locks the world. A poisoned lock (a panicking handler) is recovered: the emulator keeps
    /// serving rather than failing every later test.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn app_installed(&self, app: &str) -> bool {
        self.inner
            .installed_apps
            .iter()
            .any(|a| a.split('@').next() == Some(app))
    }

    /// The version an installed app was given as `name@version`, if any.
    pub fn app_version(&self, app: &str) -> Option<&str> {
        self.inner
            .installed_apps
            .iter()
            .find_map(|a| a.strip_prefix(app)?.strip_prefix('@'))
    }

    /// Unix seconds, with the test clock offset.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.inner.clock_offset.load(Ordering::Relaxed)
    }

    /// A new global file id.
    pub fn next_id(&self) -> u64 {
        self.inner.next_file_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds an account with an empty home folder.
    pub fn add_user(&self, id: &str, login_name: &str, password: &str) {
        let now = self.now();
        let root = self.next_id();
        let user = User {
            id: id.to_string(),
            login_name: login_name.to_string(),
            password: password.to_string(),
            display_name: id.to_string(),
            email: login_name.contains('@').then(|| login_name.to_string()),
            groups: Vec::new(),
            files: FileTree::new(root, now),
            favorites: HashSet::new(),
            notes_settings: NotesSettings {
                notes_path: "Notes".into(),
                file_suffix: ".md".into(),
                custom_suffix: ".md".into(),
                note_mode: if self.app_installed("text") {
                    "rich".into()
                } else {
                    "edit".into()
                },
            },
            note_meta: HashMap::new(),
        };
        self.world().users.insert(id.to_string(), user);
    }
}

/// A random token of `len` characters from `[A-Za-z0-9]`, like `ISecureRandom::generate`.
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}
