//! The credential store against SQLite and a real PostgreSQL (`TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; each run uses its own schema and drops it).

use std::time::Duration;

use nextcloud_mcp::db::crypto::{Key, KeyRing};
use nextcloud_mcp::db::{AuditEvent, FlowPurpose, NewAppPassword, Origin, Provisioned, Store};
use sqlx::Connection;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const KEY2: &str = "6b6579322d6b6579322d6b6579322d6b6579322d6b6579322d6b6579322d6b65";
const APP_PASSWORD: &str = "Abcde-Fghij-Klmno-Pqrst-Uvwxy";

/// An app password to store; `origin` as the REST API hands them over.
fn new<'a>(
    user_id: &'a str,
    login_name: &'a str,
    password: &'a str,
    scopes: Option<&'a [String]>,
) -> NewAppPassword<'a> {
    NewAppPassword {
        user_id,
        login_name,
        password,
        scopes,
        origin: Origin::Api,
    }
}

fn ring() -> KeyRing {
    KeyRing::new(Key::parse(KEY).unwrap(), vec![])
}

/// A fresh SQLite file; the directory lives as long as the returned guard.
fn sqlite_url() -> (String, tempdir::Guard) {
    let dir = tempdir::Guard::new();
    let url = format!("sqlite://{}?mode=rwc", dir.path.join("tokens.db").display());
    (url, dir)
}

mod tempdir {
    pub struct Guard {
        pub path: std::path::PathBuf,
    }
    impl Guard {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("ncmcp-store-{}", uuid_like()));
            std::fs::create_dir_all(&path).unwrap();
            Self { path }
        }
    }
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
    fn uuid_like() -> String {
        format!(
            "{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        )
    }
}

/// A PostgreSQL schema of its own, dropped at the end; `None` (test prints `skipped:`) when
/// no server answers.
struct PgSchema {
    base: String,
    schema: String,
}

impl PgSchema {
    async fn new() -> Option<Self> {
        let base = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = match sqlx::PgConnection::connect(&base).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI_REQUIRE_POSTGRES").is_ok() {
                    panic!("PostgreSQL required but unreachable: {e}");
                }
                println!("skipped: PostgreSQL at {base} unreachable: {e}");
                return None;
            }
        };
        let schema = format!(
            "ncmcp_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .unwrap();
        Some(Self { base, schema })
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.schema)
    }

    async fn drop_schema(self) {
        let mut conn = sqlx::PgConnection::connect(&self.base).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn exercise(url: &str) {
    let store = Store::open_url(url, ring()).await.expect("store opens");
    // Opening again (a second replica, a restart) finds the migrations applied.
    let again = Store::open_url(url, ring()).await.expect("store reopens");

    assert!(store.app_password("alice").await.unwrap().is_none());
    let scopes = vec!["notes.read".to_string()];
    let prev = store
        .put_app_password(&new(
            "alice",
            "alice@example.com",
            APP_PASSWORD,
            Some(&scopes),
        ))
        .await
        .unwrap();
    assert!(prev.is_none());
    let got = again.app_password("alice").await.unwrap().expect("stored");
    assert_eq!(got.password.expose(), APP_PASSWORD);
    assert_eq!(got.login_name, "alice@example.com");
    assert_eq!(got.scopes.as_deref(), Some(&scopes[..]));
    assert_eq!(got.origin, Origin::Api);
    assert!(!format!("{got:?}").contains(APP_PASSWORD));

    // Replacing returns the old password (to revoke it); NULL scopes = unrestricted.
    let prev = store
        .put_app_password(&NewAppPassword {
            origin: Origin::LoginFlow,
            ..new("alice", "alice", "second-app-password-000000", None)
        })
        .await
        .unwrap()
        .expect("previous");
    assert_eq!(prev.password.expose(), APP_PASSWORD);
    assert_eq!(prev.origin, Origin::Api);
    assert_eq!(
        store.app_password("alice").await.unwrap().unwrap().origin,
        Origin::LoginFlow
    );
    assert!(
        store
            .app_password("alice")
            .await
            .unwrap()
            .unwrap()
            .scopes
            .is_none()
    );
    assert!(store.set_scopes("alice", Some(&scopes)).await.unwrap());
    assert!(!store.set_scopes("nobody", None).await.unwrap());

    // Pending Login Flow: stored encrypted, completed atomically.
    store
        .put_pending_login(
            "bob",
            "poll-token-secret",
            "https://cloud.example.com/login/v2/poll",
            "https://cloud.example.com/login/v2/flow/x",
            Some(&scopes),
            FlowPurpose::Provision,
        )
        .await
        .unwrap();
    let flow = again.pending_login("bob").await.unwrap().expect("pending");
    assert_eq!(flow.poll_token.expose(), "poll-token-secret");
    assert!(!flow.is_expired());
    assert_eq!(flow.purpose, FlowPurpose::Provision);
    let bob_new = NewAppPassword {
        origin: Origin::LoginFlow,
        ..new(
            "bob",
            "bob",
            "bob-app-password-0000000000",
            flow.requested_scopes.as_deref(),
        )
    };
    let done = store.provision(&bob_new, "bob", Some(&flow)).await.unwrap();
    assert!(
        matches!(done, Provisioned::Stored { previous: None }),
        "{done:?}"
    );
    assert!(store.pending_login("bob").await.unwrap().is_none());
    let bob = store.app_password("bob").await.unwrap().unwrap();
    assert_eq!(bob.scopes.as_deref(), Some(&scopes[..]));
    assert_eq!(bob.origin, Origin::LoginFlow);
    // The flow is consumed: completing it again stores nothing.
    let again_done = store.provision(&bob_new, "bob", Some(&flow)).await.unwrap();
    assert!(
        matches!(again_done, Provisioned::Superseded),
        "{again_done:?}"
    );

    // Binding: bob is bound to the Nextcloud account that first granted his password; a
    // grant by another account is refused and changes nothing (and consumes its flow).
    assert_eq!(
        store.account_binding("bob").await.unwrap().as_deref(),
        Some("bob")
    );
    store
        .put_pending_login(
            "bob",
            "poll-token-2",
            "https://cloud.example.com/login/v2/poll",
            "https://cloud.example.com/login/v2/flow/y",
            None,
            FlowPurpose::UpdateScopes,
        )
        .await
        .unwrap();
    let flow2 = store.pending_login("bob").await.unwrap().unwrap();
    let by_mallory = new("bob", "mallory", "mallory-app-password-00000", None);
    let refused = store
        .provision(&by_mallory, "mallory", Some(&flow2))
        .await
        .unwrap();
    assert!(
        matches!(&refused, Provisioned::BoundElsewhere { account } if account == "bob"),
        "{refused:?}"
    );
    assert!(store.pending_login("bob").await.unwrap().is_none());
    assert_eq!(
        store
            .app_password("bob")
            .await
            .unwrap()
            .unwrap()
            .password
            .expose(),
        "bob-app-password-0000000000"
    );
    // Re-provisioning by the bound account replaces and returns the old password.
    let replaced = store
        .provision(
            &new("bob", "bob", "bob-app-password-1111111111", None),
            "bob",
            None,
        )
        .await
        .unwrap();
    let Provisioned::Stored {
        previous: Some(old),
    } = replaced
    else {
        panic!("{replaced:?}")
    };
    assert_eq!(old.password.expose(), "bob-app-password-0000000000");
    assert_eq!(old.origin, Origin::LoginFlow);
    // Put back what the key-rotation checks below expect.
    store.provision(&bob_new, "bob", None).await.unwrap();

    // Concurrent first provisionings of one identity by different accounts: exactly one
    // binds, the others are refused, and the stored password is the binder's.
    let mut tasks = Vec::new();
    for i in 0..6u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let account = format!("account-{i}");
            let password = format!("race-password-{i}-00000000000");
            let outcome = s
                .provision(&new("race", &account, &password, None), &account, None)
                .await
                .unwrap();
            (account, outcome)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (account, outcome) = t.await.unwrap();
        match outcome {
            Provisioned::Stored { .. } => winners.push(account),
            Provisioned::BoundElsewhere { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let bound = store.account_binding("race").await.unwrap().unwrap();
    assert!(
        winners.iter().all(|w| *w == bound),
        "{winners:?} vs {bound}"
    );
    assert!(!winners.is_empty());
    assert_eq!(
        store
            .app_password("race")
            .await
            .unwrap()
            .unwrap()
            .login_name,
        bound
    );

    // Concurrency: simultaneous writes for one user leave one consistent row.
    let mut tasks = Vec::new();
    for i in 0..8u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let scopes = vec![format!(
                "notes.{}",
                if i.is_multiple_of(2) { "read" } else { "write" }
            )];
            s.put_app_password(&new(
                "carol",
                "carol",
                &format!("carol-password-{i:02}-0000000"),
                Some(&scopes),
            ))
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let carol = store.app_password("carol").await.unwrap().unwrap();
    let i: usize = carol.password.expose()[15..17].parse().unwrap();
    let expect = if i.is_multiple_of(2) {
        "notes.read"
    } else {
        "notes.write"
    };
    assert_eq!(carol.scopes.unwrap(), vec![expect.to_string()]);

    // Rate limit: the window counts every replica's attempts.
    for _ in 0..5 {
        store
            .record_attempt("app_password:dave", false)
            .await
            .unwrap();
    }
    let retry = again
        .check_rate("app_password:dave", 5, Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap_err();
    assert!(retry > 3500 && retry <= 3600, "{retry}");
    assert!(
        store
            .check_rate("app_password:erin", 5, Duration::from_secs(3600))
            .await
            .unwrap()
            .is_ok()
    );

    // Audit log and cleanup.
    store
        .audit(AuditEvent::Provisioned, "alice", Some("scopes=notes.read"))
        .await;
    store.audit(AuditEvent::Revoked, "alice", None).await;
    let entries = store.audit_entries("alice").await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["provisioned", "revoked"]
    );
    store.cleanup(Duration::from_secs(86_400)).await.unwrap();
    assert_eq!(store.audit_entries("alice").await.unwrap().len(), 2);

    // Key rotation: rows written under the old key are re-encrypted and still readable.
    let rotated = Store::open_url(
        url,
        KeyRing::new(Key::parse(KEY2).unwrap(), vec![Key::parse(KEY).unwrap()]),
    )
    .await
    .unwrap();
    assert!(rotated.rotate_keys().await.unwrap() >= 3);
    assert_eq!(rotated.rotate_keys().await.unwrap(), 0);
    let only_new = Store::open_url(url, KeyRing::new(Key::parse(KEY2).unwrap(), vec![]))
        .await
        .unwrap();
    assert_eq!(
        only_new
            .app_password("bob")
            .await
            .unwrap()
            .unwrap()
            .password
            .expose(),
        "bob-app-password-0000000000"
    );
    // The old key alone can no longer read them.
    assert!(store.app_password("bob").await.is_err());

    let gone = only_new
        .delete_app_password("bob")
        .await
        .unwrap()
        .expect("deleted");
    assert_eq!(gone.user_id, "bob");
    assert!(only_new.app_password("bob").await.unwrap().is_none());
    // The binding outlives the password: the identity is not free for another account.
    let refused = only_new
        .provision(
            &new("bob", "mallory", "mallory-app-password-00000", None),
            "mallory",
            None,
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, Provisioned::BoundElsewhere { .. }),
        "{refused:?}"
    );
}

#[tokio::test]
async fn sqlite_store() {
    let (url, _dir) = sqlite_url();
    exercise(&url).await;
}

#[tokio::test]
async fn postgres_store() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    exercise(&pg.url()).await;
    // Concurrent start of several replicas: migrations serialise on the advisory lock.
    let url = pg.url();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open_url(&url, ring()).await.map(|_| ()) })
        })
        .collect();
    for o in opens {
        o.await.unwrap().expect("concurrent open");
    }
    pg.drop_schema().await;
}

#[tokio::test]
async fn restart_keeps_credentials_sqlite() {
    let (url, _dir) = sqlite_url();
    {
        let store = Store::open_url(&url, ring()).await.unwrap();
        store
            .put_app_password(&new("alice", "alice", APP_PASSWORD, None))
            .await
            .unwrap();
        store
            .put_pending_login(
                "bob",
                "tok",
                "https://x/poll",
                "https://x/flow",
                None,
                FlowPurpose::Provision,
            )
            .await
            .unwrap();
    }
    let store = Store::open_url(&url, ring()).await.unwrap();
    assert_eq!(
        store
            .app_password("alice")
            .await
            .unwrap()
            .unwrap()
            .password
            .expose(),
        APP_PASSWORD
    );
    assert!(store.pending_login("bob").await.unwrap().is_some());
}

#[tokio::test]
async fn restart_keeps_credentials_postgres() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    {
        let store = Store::open_url(&pg.url(), ring()).await.unwrap();
        store
            .put_app_password(&new("alice", "alice", APP_PASSWORD, None))
            .await
            .unwrap();
        store
            .put_pending_login(
                "bob",
                "tok",
                "https://x/poll",
                "https://x/flow",
                None,
                FlowPurpose::Provision,
            )
            .await
            .unwrap();
    }
    let store = Store::open_url(&pg.url(), ring()).await.unwrap();
    assert_eq!(
        store
            .app_password("alice")
            .await
            .unwrap()
            .unwrap()
            .password
            .expose(),
        APP_PASSWORD
    );
    assert!(store.pending_login("bob").await.unwrap().is_some());
    drop(store);
    pg.drop_schema().await;
}
