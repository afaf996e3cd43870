//! The cross-app keyword index end to end: documents are created in each app through a
//! direct client, found through `search` over MCP, read with `fetch`; language handling
//! (plurals, diacritics, prefixes, typos, title ranking), filters, freshness (edits and
//! deletions seen at once, deletions never shown even before a resync), per-user isolation
//! and the sync status.

mod common;
mod multi_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use nextcloud::calendar::{CalendarProps, Precondition};
use nextcloud::deck::NewCard;
use nextcloud::files::WriteMode;
use nextcloud::notes::{NewNote, NoteChanges};
use nextcloud::{Credentials, Nextcloud, NextcloudUser};
use nextcloud_mcp::search::SearchSettings;
use rmcp::model::{CallToolRequestParams, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

/// Ids of the results of `search` for `args`.
async fn ids(client: &Client, args: Value) -> Vec<String> {
    let out = call_ok(client, "search", args).await;
    out["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

async fn find(client: &Client, query: &str) -> Vec<String> {
    ids(client, json!({"query": query})).await
}

async fn note(user: &NextcloudUser, title: &str, content: &str) -> String {
    let n = user
        .notes()
        .create(&NewNote {
            title: title.into(),
            content: content.into(),
            category: "Travel".into(),
            ..Default::default()
        })
        .await
        .expect("note");
    format!("notes:{}", n.id)
}

async fn file(user: &NextcloudUser, path: &str, content: &str) {
    let mut dir = String::new();
    for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
        dir.push_str(part);
        user.files().mkcol(&dir).await.expect("folder");
        dir.push('/');
    }
    user.files()
        .upload(
            path,
            Bytes::from(content.to_string()),
            Some("text/markdown"),
            WriteMode::Overwrite,
        )
        .await
        .expect("upload");
}

/// A calendar of the user accepting `component`, created when there is none.
async fn calendar_for(user: &NextcloudUser, component: &str) -> String {
    let cals = user.calendars().list().await.expect("calendars");
    if let Some(c) = cals.iter().find(|c| c.supports(component)) {
        return c.href.clone();
    }
    let name = format!("search-{}", component.to_lowercase());
    user.calendars()
        .create(&name, &CalendarProps::default(), &[component])
        .await
        .expect("calendar")
        .href
}

fn ics(component: &str, uid: &str, summary: &str, description: &str) -> String {
    let when = if component == "VEVENT" {
        "DTSTART:20300105T090000Z\r\nDTEND:20300105T100000Z\r\n"
    } else {
        ""
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//search//EN\r\nBEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n{when}SUMMARY:{summary}\r\nDESCRIPTION:{description}\r\nEND:{component}\r\nEND:VCALENDAR\r\n"
    )
}

/// A client of a server whose index re-syncs at most hourly (by itself: writes through the
/// server still make it due).
async fn hourly_sync_client(nc: &TestNextcloud) -> Client {
    let server = nc
        .server(&Default::default())
        .with_search_settings(SearchSettings {
            sync_interval: Duration::from_secs(3600),
            ..Default::default()
        });
    let url = spawn_http(server, &Default::default()).await;
    connect_http(&url, Transport::HttpSession, None).await
}

#[tokio::test]
async fn search_and_fetch_across_apps() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();

    // One document in each app.
    let trip = note(
        &direct,
        "Kraków trip",
        "We looked at the old house by the river.",
    )
    .await;
    let budget = note(
        &direct,
        "Budget",
        "trip costs: trip trip trip, the whole trip",
    )
    .await;
    file(
        &direct,
        "Projects/Alpha/report.md",
        "Quarterly revenue summary for the board",
    )
    .await;
    file(&direct, "Archive/old.md", "An older revenue summary").await;
    let cal = calendar_for(&direct, "VEVENT").await;
    direct
        .calendars()
        .put(
            &format!("{cal}search-event.ics"),
            &ics(
                "VEVENT",
                "search-event",
                "Dentist appointment",
                "Bring the insurance card",
            ),
            Precondition::Create,
        )
        .await
        .expect("event");
    let tasks = calendar_for(&direct, "VTODO").await;
    direct
        .calendars()
        .put(
            &format!("{tasks}search-task.ics"),
            &ics(
                "VTODO",
                "search-task",
                "Renew passport",
                "before the summer holidays",
            ),
            Precondition::Create,
        )
        .await
        .expect("task");
    let books = direct.contacts().list().await.expect("books");
    let book = match books.first() {
        Some(b) => b.clone(),
        None => direct
            .contacts()
            .create("search", "Search")
            .await
            .expect("book"),
    };
    direct
        .contacts()
        .put(
            &format!("{}search-contact.vcf", book.href),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:search-contact\r\nFN:Zofia Wiśniewska\r\nORG:Acme Plumbing\r\nEMAIL:zofia@example.com\r\nEND:VCARD\r\n",
            Precondition::Create,
        )
        .await
        .expect("contact");
    let board = direct
        .deck()
        .create_board("Search board", "0082c9")
        .await
        .expect("board");
    let stack = direct
        .deck()
        .create_stack(board.id, "Doing", 0)
        .await
        .expect("stack");
    let card = direct
        .deck()
        .create_card(
            board.id,
            stack.id,
            &NewCard {
                title: "Migrate the mailserver".into(),
                kind: "plain".into(),
                order: 0,
                description: Some("Move mailboxes to the new host".into()),
                duedate: None,
                startdate: None,
                color: None,
            },
        )
        .await
        .expect("card");

    // Every app is found, with the connector shape.
    let out = call_ok(&client, "search", json!({"query": "dentist"})).await;
    let r = &out["results"][0];
    assert!(r["id"].as_str().unwrap().starts_with("calendar:"), "{out}");
    assert_eq!(r["title"], "Dentist appointment");
    assert!(
        r["url"].as_str().unwrap().starts_with(&nc.base_url),
        "{out}"
    );
    assert_eq!(
        find(&client, "passport").await[0].split(':').next(),
        Some("tasks")
    );
    assert_eq!(
        find(&client, "plumbing").await[0].split(':').next(),
        Some("contacts")
    );
    assert_eq!(
        find(&client, "mailserver").await,
        [format!("deck:{}/{}/{}", board.id, stack.id, card.id)]
    );

    // Plurals, diacritics (both ways), prefixes, typos, title first.
    assert_eq!(find(&client, "houses").await, std::slice::from_ref(&trip));
    assert_eq!(find(&client, "krakow").await, std::slice::from_ref(&trip));
    assert!(find(&client, "wisniewska").await[0].starts_with("contacts:"));
    assert_eq!(
        ids(&client, json!({"query": "quarter", "apps": ["files"]}))
            .await
            .len(),
        1
    );
    assert_eq!(find(&client, "insurence").await.len(), 1, "one typo");
    let trips = find(&client, "trip").await;
    assert_eq!(
        trips[..2],
        [trip.clone(), budget.clone()],
        "title match first"
    );
    let out = call_ok(&client, "search", json!({"query": "river"})).await;
    assert!(
        out["results"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("**river**"),
        "{out}"
    );

    // Filters: app, folder, date.
    assert_eq!(ids(&client, json!({"query": "revenue"})).await.len(), 2);
    let only = ids(&client, json!({"query": "revenue", "folder": "/Projects/"})).await;
    assert_eq!(only.len(), 1);
    assert!(only[0].starts_with("files:"));
    assert!(
        ids(&client, json!({"query": "trip", "apps": ["files", "deck"]}))
            .await
            .is_empty()
    );
    assert!(
        ids(&client, json!({"query": "trip", "since": "2999-01-01"}))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&client, json!({"query": "trip", "since": "2000-01-01"}))
            .await
            .len(),
        2
    );
    for (args, named) in [
        (json!({"query": "  "}), "`query`"),
        (json!({"query": "x", "apps": ["mail"]}), "`apps`"),
        (json!({"query": "x", "since": "last week"}), "`since`"),
        (json!({"query": "x", "limit": 0}), "`limit`"),
    ] {
        let e = call_err(&client, "search", args).await;
        assert!(e.contains(named), "{e}");
    }

    // Fetch: the whole document, then bad and vanished ids.
    let out = call_ok(&client, "fetch", json!({"id": trip})).await;
    assert_eq!(out["id"], trip.as_str());
    assert_eq!(out["title"], "Kraków trip");
    assert!(
        out["text"]
            .as_str()
            .unwrap()
            .contains("old house by the river")
    );
    assert_eq!(out["metadata"]["app"], "notes");
    assert!(out["url"].as_str().unwrap().contains("/apps/notes/note/"));
    let e = call_err(&client, "fetch", json!({"id": "nonsense"})).await;
    assert!(e.contains("`id`") && e.contains("notes:12"), "{e}");
    let e = call_err(&client, "fetch", json!({"id": "notes:987654"})).await;
    assert!(e.contains("not found") || e.contains("404"), "{e}");

    // An edit is picked up by the next query (only the changed note is downloaded again).
    let trip_id: u64 = trip["notes:".len()..].parse().unwrap();
    direct
        .notes()
        .update(
            trip_id,
            &NoteChanges {
                content: Some("Now about pierogi".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("edit");
    assert_eq!(find(&client, "pierogi").await, std::slice::from_ref(&trip));
    assert!(find(&client, "river").await.is_empty());
    let out = call_ok(&client, "fetch", json!({"id": trip})).await;
    assert!(out["text"].as_str().unwrap().contains("pierogi"));

    // Deleted in Nextcloud: gone from the next answer.
    direct.notes().delete(trip_id).await.expect("delete");
    assert!(!find(&client, "pierogi").await.contains(&trip));
    let e = call_err(&client, "fetch", json!({"id": trip})).await;
    assert!(e.contains("not found") || e.contains("404"), "{e}");

    // Status: per app, what is indexed.
    let out = call_ok(&client, "nc_get_vector_sync_status", json!({})).await;
    assert_eq!(out["status"], "idle", "{out}");
    let apps = out["apps"].as_array().unwrap();
    let count = |app: &str| {
        apps.iter()
            .find(|a| a["app"] == app)
            .map(|a| a["indexed"].as_u64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(count("notes"), 1, "{out}");
    assert!(
        count("files") >= 2 && count("calendar") >= 1 && count("deck") >= 1,
        "{out}"
    );
    assert_eq!(out["pending_count"], 0);
}

#[tokio::test]
async fn unchanged_data_costs_few_requests_and_deleted_hits_are_never_shown() {
    let nc = TestNextcloud::start().await;
    let Some(emulator) = nc.emulator() else {
        println!("skipped: counts the emulator's requests");
        return;
    };
    let direct = nc.direct();
    for i in 0..30 {
        note(
            &direct,
            &format!("Note {i}"),
            &format!("gooseberry number {i}"),
        )
        .await;
    }
    let keep = note(&direct, "Keeper", "a lonely gooseberry").await;
    let doomed = note(&direct, "Doomed", "a doomed gooseberry").await;
    // A long interval: queries do not resync, so only the check of each hit stands between
    // a deleted note and the answer.
    let client = hourly_sync_client(&nc).await;
    let all = ids(&client, json!({"query": "gooseberry", "limit": 50})).await;
    assert_eq!(all.len(), 32);
    let doomed_id: u64 = doomed["notes:".len()..].parse().unwrap();
    direct.notes().delete(doomed_id).await.expect("delete");
    let after = ids(&client, json!({"query": "lonely doomed"})).await;
    assert!(
        after.contains(&keep) && !after.contains(&doomed),
        "{after:?}"
    );
    // Edited since it was indexed: the answer shows the new version, not the indexed one.
    let keep_id: u64 = keep["notes:".len()..].parse().unwrap();
    direct
        .notes()
        .update(
            keep_id,
            &NoteChanges {
                content: Some("a lonely platypus".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("edit");
    let out = call_ok(&client, "search", json!({"query": "lonely"})).await;
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{out}");
    assert!(
        results[0]["snippet"].as_str().unwrap().contains("platypus"),
        "{out}"
    );

    // With syncs before every query, an unchanged account costs a few listing requests plus
    // one check per hit, not a download of everything.
    let eager = connect(&nc, Transport::HttpSession, &Default::default()).await;
    ids(&eager, json!({"query": "lonely"})).await;
    let before = emulator.request_count();
    assert_eq!(
        ids(&eager, json!({"query": "lonely"})).await,
        std::slice::from_ref(&keep)
    );
    let cost = emulator.request_count() - before;
    assert!(cost <= 15, "{cost} requests for an unchanged account");
}

/// With an hour-long sync interval (the shipped default is 30 s), what a tool writes through
/// this server is found by the very next search: the write makes the index due. A change made
/// elsewhere waits for the interval (or the next write through the server).
#[tokio::test]
async fn writes_through_the_server_are_searchable_at_once() {
    let nc = TestNextcloud::start().await;
    let direct = nc.direct();
    note(&direct, "Seed", "an indexed quokka").await;
    let client = hourly_sync_client(&nc).await;
    assert_eq!(find(&client, "quokka").await.len(), 1);

    // Made elsewhere: not seen before the interval is over.
    let elsewhere = note(&direct, "Elsewhere", "a wombat from the web interface").await;
    assert!(find(&client, "wombat").await.is_empty());

    // Made through the server: found at once, and the check catches up on the rest too.
    let created = call_ok(
        &client,
        "nc_notes_create_note",
        json!({"title": "Marsupials", "content": "a numbat and a bilby", "category": "Zoo"}),
    )
    .await;
    let created_id = format!("notes:{}", created["id"].as_u64().expect("id"));
    assert_eq!(find(&client, "numbat").await, vec![created_id.clone()]);
    assert_eq!(find(&client, "wombat").await, vec![elsewhere]);

    // An edit and a file written through the server, likewise.
    call_ok(
        &client,
        "nc_notes_append_content",
        json!({"note_id": created["id"], "content": "and a quoll"}),
    )
    .await;
    assert_eq!(find(&client, "quoll").await, vec![created_id]);
    direct.files().mkcol("Zoo").await.expect("folder");
    call_ok(
        &client,
        "nc_webdav_write_file",
        json!({"path": "Zoo/keeper.md", "content": "feeding the echidna", "content_type": "text/markdown"}),
    )
    .await;
    let found = find(&client, "echidna").await;
    assert!(
        found.len() == 1 && found[0].starts_with("files:"),
        "{found:?}"
    );
}

/// A card on a new board; returns the board's id.
async fn card(user: &NextcloudUser, board: &str, title: &str) -> u64 {
    let board = user
        .deck()
        .create_board(board, "0082c9")
        .await
        .expect("board");
    let stack = user
        .deck()
        .create_stack(board.id, "To do", 0)
        .await
        .expect("stack");
    user.deck()
        .create_card(
            board.id,
            stack.id,
            &NewCard {
                title: title.into(),
                kind: "plain".into(),
                order: 0,
                description: None,
                duedate: None,
                startdate: None,
                color: None,
            },
        )
        .await
        .expect("card");
    board.id
}

fn user_of(nc: &TestNextcloud, login: &str, password: &str) -> NextcloudUser {
    Nextcloud::new(nc.client_config())
        .expect("client")
        .user(Credentials::new(login, password))
}

#[tokio::test]
async fn users_never_see_each_others_documents() {
    const BOB: &str = "bob";
    const BOB_PASSWORD: &str = "bob-app-password-0123456789abcdef";
    let nc = TestNextcloud::start_with(|b| b.user(BOB, BOB_PASSWORD)).await;
    if nc.emulator().is_none() {
        println!("skipped: needs two users");
        return;
    }
    let alice = nc.direct();
    let bob = user_of(&nc, BOB, BOB_PASSWORD);
    // Alice shares one Deck board with Bob and keeps another; her files stay hers.
    file(&alice, "Private/diary.md", "zanzibar private diary").await;
    note(&alice, "Alice's note", "zanzibar note").await;
    let shared = card(&alice, "Shared board", "Shared zanzibar card").await;
    card(&alice, "Private board", "Private zanzibar card").await;
    alice
        .deck()
        .add_acl(shared, BOB, false, false, false)
        .await
        .expect("share board");
    file(&bob, "bob.md", "zanzibar bob's own").await;

    // One server, each caller with their own credentials and index folder.
    let db = std::env::temp_dir().join(format!("ncmcp-search-{}.db", std::process::id()));
    let index_dir = temp_index_dir("isolation");
    let args = vec![
        "--deployment-mode=multi_user_basic".to_string(),
        format!("--nextcloud-host={}", nc.base_url),
        "--transport=streamable-http".into(),
        "--token-encryption-key=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        format!("--token-storage-db={}", db.display()),
        format!("--search-index-dir={}", index_dir.display()),
    ];
    let config = nextcloud_mcp::config::Config::resolve(
        nextcloud_mcp::cli::RunArgs::from_flags(args).expect("flags"),
    )
    .expect("config");
    let server = nextcloud_mcp::build_multi_user_server(&config)
        .await
        .expect("server");
    let url = spawn_http(server, &Default::default()).await;
    let basic = |u: &str, p: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let as_alice = connect_with_header(&url, &basic(EMU_USER, EMU_PASSWORD)).await;
    let as_bob = connect_with_header(&url, &basic(BOB, BOB_PASSWORD)).await;

    let titles = |out: &Value| -> Vec<String> {
        let mut t: Vec<String> = out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    let bob_sees = call_ok(&as_bob, "search", json!({"query": "zanzibar"})).await;
    assert_eq!(
        titles(&bob_sees),
        ["Shared zanzibar card", "bob.md"],
        "{bob_sees}"
    );
    let alice_sees = call_ok(&as_alice, "search", json!({"query": "zanzibar"})).await;
    assert_eq!(
        titles(&alice_sees),
        [
            "Alice's note",
            "Private zanzibar card",
            "Shared zanzibar card",
            "diary.md"
        ],
        "{alice_sees}"
    );
    // Bob cannot fetch Alice's documents by id either.
    for r in alice_sees["results"].as_array().unwrap() {
        if r["title"] != "Shared zanzibar card" {
            let e = call_err(&as_bob, "fetch", json!({"id": r["id"]})).await;
            assert!(e.contains("not found") || e.contains("404"), "{e}");
        }
    }
    // Each user's index in a folder of its own, named without their user id.
    let folders = private_folders(&index_dir, &[EMU_USER, BOB]);
    assert_eq!(folders, 2, "one folder per user");
    let _ = std::fs::remove_dir_all(&index_dir);
}

/// A fresh folder for a test's indexes.
fn temp_index_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ncmcp-index-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Checks that `root` and every folder below it are owner-only (0700), every file in them
/// is not readable by others, and no name holds one of `logins`; returns the number of
/// per-user folders.
fn private_folders(root: &std::path::Path, logins: &[&str]) -> usize {
    use std::os::unix::fs::PermissionsExt;
    fn walk(dir: &std::path::Path, logins: &[&str]) {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_lowercase();
            for login in logins {
                assert!(!name.contains(&login.to_lowercase()), "{name} names a user");
            }
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), logins);
            } else {
                let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", entry.path().display());
            }
        }
    }
    walk(root, logins);
    std::fs::read_dir(root)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .count()
}

#[tokio::test]
async fn a_restarted_server_resumes_from_its_index_on_disk() {
    let nc = TestNextcloud::start().await;
    let Some(emulator) = nc.emulator() else {
        println!("skipped: counts the emulator's requests");
        return;
    };
    let direct = nc.direct();
    // Files cost a download each on a first sync: what a resumed index must not repeat.
    const FILES: usize = 25;
    for i in 0..FILES {
        file(
            &direct,
            &format!("Wombats/w{i}.md"),
            &format!("wombat burrow {i}"),
        )
        .await;
    }
    let doomed = note(&direct, "Doomed wombat", "wombat to be deleted").await;
    let dir = temp_index_dir("restart");
    let settings = SearchSettings {
        dir: Some(dir.clone()),
        ..Default::default()
    };
    let server = |settings: &SearchSettings| {
        nc.server(&Default::default())
            .with_search_settings(settings.clone())
    };
    let first_server = spawn_http_stoppable(server(&settings), &Default::default()).await;
    let first = connect_http(&first_server.url, Transport::HttpSession, None).await;
    let before = emulator.request_count();
    let all = ids(&first, json!({"query": "wombat", "limit": 50})).await;
    assert_eq!(all.len(), FILES + 1, "{all:?}");
    let first_sync = emulator.request_count() - before;
    assert!(first_sync > FILES as u64, "{first_sync} requests");
    assert_eq!(private_folders(&dir, &[EMU_USER]), 1);

    // The server stops (releasing its folder: one process per folder) and, while no server
    // runs, a note is deleted; then a second server starts on the folder.
    drop(first);
    first_server.stop().await;
    let doomed_id: u64 = doomed["notes:".len()..].parse().unwrap();
    direct.notes().delete(doomed_id).await.expect("delete");
    let second_server = spawn_http_stoppable(server(&settings), &Default::default()).await;
    let second = connect_http(&second_server.url, Transport::HttpSession, None).await;
    let status = call_ok(&second, "nc_get_vector_sync_status", json!({})).await;
    let files = status["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "files")
        .map(|a| a["indexed"].as_u64().unwrap());
    assert_eq!(files, Some(FILES as u64), "indexed at once: {status}");
    // Let the sync the status call started finish, then count what a query costs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = emulator.request_count();
    let again = ids(&second, json!({"query": "wombat", "limit": 50})).await;
    let resumed = emulator.request_count() - before;
    assert_eq!(again.len(), FILES, "{again:?}");
    assert!(!again.contains(&doomed), "{again:?}");
    assert!(
        resumed < FILES as u64 / 2,
        "{resumed} requests: the index was downloaded again"
    );

    // An unreadable saved state: the index is rebuilt from Nextcloud, and answers the same.
    drop(second);
    second_server.stop().await;
    let user_dir = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::write(user_dir.join("state.json"), b"{ not json").unwrap();
    let third = connect_http(
        &spawn_http(server(&settings), &Default::default()).await,
        Transport::HttpSession,
        None,
    )
    .await;
    let before = emulator.request_count();
    let rebuilt = ids(&third, json!({"query": "wombat", "limit": 50})).await;
    assert_eq!(rebuilt.len(), FILES, "{rebuilt:?}");
    assert!(emulator.request_count() - before > FILES as u64);
    assert_eq!(private_folders(&dir, &[EMU_USER]), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two servers on one index folder would corrupt it: the second one's searches fail with an
/// error naming the setting (at once, not hanging) while the first runs, and work once the
/// first has stopped.
#[tokio::test]
async fn one_server_process_per_index_folder() {
    let nc = TestNextcloud::start().await;
    let pangolin = note(&nc.direct(), "Locked", "pangolin scales").await;
    let dir = temp_index_dir("lock");
    let settings = SearchSettings {
        dir: Some(dir.clone()),
        ..Default::default()
    };
    let server = || {
        nc.server(&Default::default())
            .with_search_settings(settings.clone())
    };
    let first_server = spawn_http_stoppable(server(), &Default::default()).await;
    let first = connect_http(&first_server.url, Transport::HttpSession, None).await;
    assert_eq!(
        find(&first, "pangolin").await,
        std::slice::from_ref(&pangolin)
    );

    let second_server = spawn_http_stoppable(server(), &Default::default()).await;
    let second = connect_http(&second_server.url, Transport::HttpSession, None).await;
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        call_err(&second, "search", json!({"query": "pangolin"})),
    )
    .await
    .expect("no hang");
    assert!(
        e.contains("another nextcloud-mcp server process")
            && e.contains("NEXTCLOUD_MCP_SEARCH_INDEX_DIR"),
        "{e}"
    );
    // The first server is not disturbed.
    assert_eq!(
        find(&first, "pangolin").await,
        std::slice::from_ref(&pangolin)
    );

    drop(first);
    first_server.stop().await;
    assert_eq!(find(&second, "pangolin").await, [pangolin]);
    drop(second);
    second_server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// An MCP client sending this `Authorization` header with every request.
async fn connect_with_header(url: &str, authorization: &str) -> Client {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        authorization.parse().unwrap(),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    );
    ().serve(transport).await.expect("client connects")
}

#[tokio::test]
async fn apps_that_are_not_installed_are_not_indexed() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        println!("skipped: needs an instance without Deck");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    note(&nc.direct(), "Installed", "quokka").await;
    assert_eq!(find(&client, "quokka").await.len(), 1);
    let out = call_ok(&client, "nc_get_vector_sync_status", json!({})).await;
    let apps: Vec<&str> = out["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert!(apps.contains(&"notes") && !apps.contains(&"deck"), "{out}");
    assert!(
        out["apps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("error").is_none()),
        "{out}"
    );
}

#[tokio::test]
async fn each_result_needs_its_apps_read_scope() {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        println!("skipped: stores an app password for a test user");
        return;
    }
    let direct = nc.direct();
    let only = note(&direct, "Scoped", "wombat in a note").await;
    file(&direct, "wombat.md", "wombat in a file").await;
    let issuer = multi_common::start_issuer().await;
    let db = multi_common::TestDb::sqlite();
    let srv = multi_common::start_server(
        &nc.base_url,
        nextcloud_mcp::cli::DeploymentMode::LoginFlow,
        Some(&issuer),
        &db,
        None,
    )
    .await;
    srv.multi
        .store
        .put_app_password(&nextcloud_mcp::db::NewAppPassword {
            user_id: "alice",
            login_name: &nc.username,
            password: &nc.password,
            scopes: None,
            origin: nextcloud_mcp::db::Origin::Api,
        })
        .await
        .unwrap();
    let token = multi_common::token(&issuer, &srv.mcp_url, "alice", "notes.read", 300);
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&token)).await;
    assert_eq!(find(&client, "wombat").await, std::slice::from_ref(&only));
    call_ok(&client, "fetch", json!({"id": only})).await;
    let e = call_err(&client, "fetch", json!({"id": "files:1"})).await;
    assert!(e.contains("files.read"), "{e}");
    // Without `semantic.read` the status tool is refused (HTTP 403, insufficient scope).
    let Value::Object(none) = json!({}) else {
        unreachable!()
    };
    let refused = client
        .call_tool(CallToolRequestParams::new("nc_get_vector_sync_status").with_arguments(none))
        .await;
    assert!(
        refused.is_err() || refused.unwrap().is_error == Some(true),
        "needs semantic.read"
    );

    let all = multi_common::token(&issuer, &srv.mcp_url, "alice", "notes.read files.read", 300);
    let client = connect_http(&srv.mcp_url, Transport::HttpSession, Some(&all)).await;
    assert_eq!(find(&client, "wombat").await.len(), 2);
    db.cleanup().await;
}

/// Records the progress notifications the server sends.
#[derive(Clone, Default)]
struct ProgressRecorder(Arc<Mutex<Vec<ProgressNotificationParam>>>);

impl ClientHandler for ProgressRecorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push(params);
    }
}

#[tokio::test]
async fn the_first_sync_reports_progress() {
    let nc = TestNextcloud::start().await;
    note(&nc.direct(), "Progress", "numbat").await;
    let url = spawn_http(nc.server(&Default::default()), &Default::default()).await;
    let recorder = ProgressRecorder::default();
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url);
    let client: RunningService<RoleClient, ProgressRecorder> =
        recorder.clone().serve(transport).await.expect("initialize");
    let Value::Object(args) = json!({"query": "numbat"}) else {
        unreachable!()
    };
    let r = client
        .call_tool(CallToolRequestParams::new("search").with_arguments(args))
        .await
        .expect("tools/call");
    assert_ne!(r.is_error, Some(true), "{r:?}");
    let notes = recorder.0.lock().unwrap().clone();
    let progress: Vec<f64> = notes.iter().map(|n| n.progress).collect();
    assert!(progress.len() >= 3, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(Some(*progress.last().unwrap()), notes[0].total);
}

/// The three tools' share of the catalogue budget (names, descriptions and input schemas;
/// output schemas), as listed to clients.
#[test]
fn search_tools_fit_their_catalogue_allowance() {
    let tools: Vec<_> = nextcloud_mcp::NextcloudMcp::listed_tools(
        &Default::default(),
        nextcloud_mcp::cli::ToolMode::All,
    )
    .expect("catalogue")
    .into_iter()
    .filter(|t| ["search", "fetch", "nc_get_vector_sync_status"].contains(&t.name.as_ref()))
    .collect();
    assert_eq!(tools.len(), 3);
    let listing: usize = tools
        .iter()
        .map(|t| {
            t.name.len()
                + t.description.as_deref().map_or(0, str::len)
                + serde_json::to_string(&*t.input_schema).unwrap().len()
        })
        .sum();
    let outputs: usize = tools
        .iter()
        .filter_map(|t| t.output_schema.as_ref())
        .map(|s| serde_json::to_string(&**s).unwrap().len())
        .sum();
    println!("search tools: {listing} B listing, {outputs} B output schemas");
    assert!(listing <= 1000, "{listing} B");
    assert!(outputs <= 2500, "{outputs} B");
}
