//! Nextcloud slow, failing or rate limiting: the user gets a clear tool error with the
//! status, retries happen only where safe, and the server keeps serving. These need the
//! emulator's fault injection and are skipped (with a message) against a real Nextcloud.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nextcloud::notes::NewNote;
use nextcloud_emulator::Faults;
use serde_json::json;

const NOTES: &str = "/index.php/apps/notes";

async fn setup() -> Option<(TestNextcloud, Client, u64)> {
    let nc = TestNextcloud::start().await;
    if nc.emulator().is_none() {
        eprintln!("skipped: fault injection needs the emulator (NEXTCLOUD_HOST is set)");
        return None;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let note = nc
        .direct()
        .notes()
        .create(&NewNote {
            title: "Fault target".into(),
            content: "x".into(),
            category: String::new(),
            favorite: false,
        })
        .await
        .unwrap();
    Some((nc, client, note.id))
}

#[tokio::test]
async fn server_errors_are_reported_with_status_and_the_server_recovers() {
    let Some((nc, client, id)) = setup().await else {
        return;
    };
    let emu = nc.emulator().unwrap();
    emu.set_faults(Faults {
        path_prefix: Some(NOTES.into()),
        error_status: Some(503),
        ..Default::default()
    });
    let e = call_err(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert!(e.contains("503"), "{e}");
    assert!(e.contains("try again later"), "{e}");
    emu.clear_faults();
    let ok = call_ok(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert_eq!(ok["id"], id);
}

#[tokio::test]
async fn rate_limits_are_retried_after_retry_after() {
    let Some((nc, client, id)) = setup().await else {
        return;
    };
    let emu = nc.emulator().unwrap();
    emu.set_faults(Faults {
        path_prefix: Some(NOTES.into()),
        error_status: Some(429),
        retry_after_secs: Some(1),
        remaining: Some(1),
        ..Default::default()
    });
    let started = Instant::now();
    let ok = call_ok(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert_eq!(ok["id"], id);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was honoured"
    );

    // A limit that does not clear is reported, not retried forever.
    emu.set_faults(Faults {
        path_prefix: Some(NOTES.into()),
        error_status: Some(429),
        retry_after_secs: Some(3600),
        ..Default::default()
    });
    let e = call_err(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert!(e.contains("429") && e.contains("3600"), "{e}");
    emu.clear_faults();
}

#[tokio::test]
async fn dropped_connections_are_retried_for_reads_only() {
    let Some((nc, client, id)) = setup().await else {
        return;
    };
    let emu = nc.emulator().unwrap();
    emu.set_faults(Faults {
        path_prefix: Some(NOTES.into()),
        drop_connection: true,
        remaining: Some(1),
        ..Default::default()
    });
    let ok = call_ok(&client, "nc_notes_get_note", json!({"note_id": id})).await;
    assert_eq!(ok["id"], id);

    // A create must not be sent twice: the drop is reported instead.
    let before = nc
        .direct()
        .notes()
        .list(&Default::default())
        .await
        .unwrap()
        .unwrap()
        .notes
        .len();
    emu.set_faults(Faults {
        path_prefix: Some(NOTES.into()),
        drop_connection: true,
        remaining: Some(1),
        ..Default::default()
    });
    let e = call_err(
        &client,
        "nc_notes_create_note",
        json!({"title": "once", "content": "only once", "category": ""}),
    )
    .await;
    assert!(e.to_lowercase().contains("connection"), "{e}");
    let after = nc
        .direct()
        .notes()
        .list(&Default::default())
        .await
        .unwrap()
        .unwrap()
        .notes
        .len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn slow_nextcloud_times_out_without_blocking_other_calls() {
    let Some((nc, client, id)) = setup().await else {
        return;
    };
    let emu = nc.emulator().unwrap();
    // Only the notes app is slow (longer than the 5 s request timeout); capabilities are not.
    emu.set_faults(Faults {
        path_prefix: Some(format!("{NOTES}/api/v1/notes/{id}")),
        latency_ms: 8_000,
        ..Default::default()
    });
    let slow = {
        let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
        tokio::spawn(async move {
            let e = call_err(&client, "nc_notes_get_note", json!({"note_id": id})).await;
            (e, client)
        })
    };
    // Meanwhile another call on another session is served promptly.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    call_ok(&client, "nc_notes_list_notes", json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let (e, _c) = slow.await.unwrap();
    assert!(e.contains("timeout"), "{e}");
    emu.clear_faults();
}
