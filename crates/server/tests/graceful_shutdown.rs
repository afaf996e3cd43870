//! Graceful shutdown of the HTTP server binary: on SIGTERM it refuses new connections, lets
//! the tool calls in flight (both protocol generations) finish and exits cleanly; calls that
//! outlast `--shutdown-timeout` are cut off and the process still exits.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use nextcloud_emulator::Faults;
use serde_json::json;

/// The server binary serving HTTP on a free port for `nc`.
async fn spawn_server(nc: &TestNextcloud, extra: &[&str]) -> (tokio::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"))
        .args(["run", "--transport=streamable-http", "--log-level=warn"])
        .arg(format!("--port={port}"))
        .args(extra)
        .envs(nc.env())
        .env("NEXTCLOUD_TIMEOUT", "120")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("server starts");
    let health = format!("http://127.0.0.1:{port}/health/live");
    for _ in 0..500 {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return (child, port);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server exited at start: {status}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not come up on port {port}");
}

fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("running").to_string();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -TERM {pid} failed");
}

/// Waits (bounded) until the emulator has received `n` more requests than `base`.
async fn wait_requests(emulator: &nextcloud_emulator::EmulatorHandle, base: u64, n: u64) {
    for _ in 0..500 {
        if emulator.request_count() >= base + n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the calls never reached the emulator");
}

/// Waits (bounded) until connecting to `port` is refused.
async fn wait_refused(port: u16) -> bool {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn sigterm_lets_calls_in_flight_finish_then_exits() {
    let nc = TestNextcloud::start().await;
    let Some(emulator) = nc.emulator() else {
        println!("skipped: needs the emulator's latency injection");
        return;
    };
    let note = nc
        .direct()
        .notes()
        .create(&nextcloud::notes::NewNote {
            title: "Shutdown".into(),
            content: "still here".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (mut child, port) = spawn_server(&nc, &["--shutdown-timeout=60"]).await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let session = connect_http(&url, Transport::HttpSession, None).await;
    let stateless = connect_http(&url, Transport::HttpStateless, None).await;
    // Warm up: capabilities are fetched and cached before the slow part starts.
    for client in [&session, &stateless] {
        call_ok(client, "nc_notes_get_note", json!({"note_id": note.id})).await;
    }

    emulator.set_faults(Faults {
        path_prefix: Some("/index.php/apps/notes".into()),
        latency_ms: 2_000,
        ..Default::default()
    });
    let base = emulator.request_count();
    let id = note.id;
    let slow_session = tokio::spawn(async move {
        let out = call_ok(&session, "nc_notes_get_note", json!({"note_id": id})).await;
        (session, out)
    });
    let slow_stateless = tokio::spawn(async move {
        let out = call_ok(&stateless, "nc_notes_get_note", json!({"note_id": id})).await;
        (stateless, out)
    });
    wait_requests(&emulator, base, 2).await;
    sigterm(&child);

    // New connections are refused at once, while both calls are still being answered.
    assert!(wait_refused(port).await, "still accepting after SIGTERM");
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with calls in flight"
    );

    let (_session, out) = slow_session.await.expect("session call");
    assert_eq!(out["content"], "still here", "{out}");
    let (_stateless, out) = slow_stateless.await.expect("stateless call");
    assert_eq!(out["content"], "still here", "{out}");

    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits once the calls are done")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn shutdown_timeout_bounds_the_wait_for_slow_calls() {
    let nc = TestNextcloud::start().await;
    let Some(emulator) = nc.emulator() else {
        println!("skipped: needs the emulator's latency injection");
        return;
    };
    let (mut child, port) = spawn_server(&nc, &["--shutdown-timeout=1"]).await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let client = connect_http(&url, Transport::HttpStateless, None).await;
    call_ok(&client, "nc_notes_list_notes", json!({})).await;

    // Far longer than any test waits: only the shutdown timeout can end this call.
    emulator.set_faults(Faults {
        path_prefix: Some("/index.php/apps/notes".into()),
        latency_ms: 600_000,
        ..Default::default()
    });
    let base = emulator.request_count();
    let stuck = tokio::spawn(async move {
        let args = json!({}).as_object().cloned().unwrap();
        client
            .call_tool(
                rmcp::model::CallToolRequestParams::new("nc_notes_list_notes").with_arguments(args),
            )
            .await
    });
    wait_requests(&emulator, base, 1).await;
    sigterm(&child);

    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after the shutdown timeout although a call is stuck")
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let outcome = tokio::time::timeout(Duration::from_secs(30), stuck)
        .await
        .expect("the cut-off call ends instead of hanging")
        .unwrap();
    match outcome {
        Err(_) => {}
        Ok(result) => assert_eq!(result.is_error, Some(true), "{result:?}"),
    }
    emulator.clear_faults();
}
