//! A team server at scale: three replicas of the real binary sharing PostgreSQL behind nginx
//! (Debian's package, plain round robin: sessions live in the database, so any replica serves
//! any session), 200 concurrent MCP clients of both protocol generations, and one replica
//! killed mid-run. Checks: stateless calls see no error (nginx re-sends to a live replica);
//! session clients go on (a request of a session whose replica died is served by another; a
//! client whose call still fails reconnects and goes on); a Login Flow started on one replica
//! completes on another; 1,000 wrong app-password attempts spread over the replicas let
//! exactly 5 per user through; no request outlives its timeout. Prints the figures that
//! docs/BENCHMARKS.md reports.
//!
//! Needs nginx (`.ci/run` installs it) and PostgreSQL at 127.0.0.1:5432 (as the other
//! PostgreSQL tests); without them it says so loudly and skips, unless `CI_REQUIRE_NGINX` /
//! `CI_REQUIRE_POSTGRES` make that a failure.

mod common;
mod multi_common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use multi_common::*;
use rmcp::model::ElicitationAction;
use serde_json::json;
use tokio::sync::Mutex;

const USERS: usize = 10;
const CLIENTS: usize = 200;
const CALLS_PER_CLIENT: usize = 10;
const RATE_LIMIT_USERS: usize = 4;
const WRONG_ATTEMPTS: usize = 1000;
/// The longest any single request may take before it counts as hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A session call whose answer stream was cut by the replica's death gets no answer: the
/// client gives up after this long, reconnects and calls again.
const SESSION_CALL_TIMEOUT: Duration = Duration::from_secs(10);
const SCOPES: &str = "notes.read notes.write";

fn user(i: usize) -> (String, String, String) {
    (
        format!("user{i:02}"),
        format!("user{i:02}-login-password-0123456789"),
        format!("User{i:02}-Bbbbb-Ccccc-Ddddd-Eeeee"),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

struct Nginx {
    child: std::process::Child,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx in the foreground on `port`, balancing over `replicas` round robin. A replica that
/// refuses or drops a connection is skipped and the request re-sent to the next one, POSTs
/// included (`non_idempotent`: a tool call cut off by a crash may run twice).
fn start_nginx(binary: &Path, port: u16, replicas: &[u16]) -> Nginx {
    let dir = std::env::temp_dir().join(format!("ncmcp-nginx-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let servers: String = replicas
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
        .collect();
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log error;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n\
           client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           upstream replicas {{\n{servers}    keepalive 64;\n  }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
               proxy_pass http://replicas;\n      proxy_http_version 1.1;\n\
               proxy_set_header Connection \"\";\n      proxy_set_header Host $http_host;\n\
               proxy_buffering off;\n      proxy_read_timeout 60s;\n\
               proxy_next_upstream error timeout non_idempotent;\n      proxy_next_upstream_tries 3;\n\
             }}\n  }}\n}}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&conf_path)
        .arg("-p")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts");
    Nginx { child, dir }
}

struct Replica {
    child: tokio::process::Child,
    port: u16,
}

async fn start_replica(emulator: &str, issuer: &str, db: &TestDb, lb_port: u16) -> Replica {
    let port = free_port();
    // Each replica keeps its search index on its own disk, as separate hosts would (two
    // processes must not share one index folder), and never in the home directory.
    let index_dir =
        std::env::temp_dir().join(format!("ncmcp-replica-index-{}-{port}", std::process::id()));
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"))
        .args(["run", "--transport=streamable-http", "--log-level=error"])
        .arg(format!("--port={port}"))
        .arg(format!("--nextcloud-host={emulator}"))
        .arg("--deployment-mode=login_flow")
        .arg(format!("--token-encryption-key={ENC_KEY}"))
        .arg(format!("--database-url={}", db.url()))
        .arg(format!("--search-index-dir={}", index_dir.display()))
        .arg(format!(
            "--oidc-discovery-url={issuer}/.well-known/openid-configuration"
        ))
        .arg(format!("--server-url=http://127.0.0.1:{lb_port}/mcp"))
        .args(["--request-timeout=10", "--shutdown-timeout=5"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("replica starts");
    Replica { child, port }
}

async fn wait_healthy(url: &str) {
    for _ in 0..1000 {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} never became healthy");
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[derive(Default)]
struct Tally {
    calls: AtomicUsize,
    stateless_errors: AtomicUsize,
    session_errors: AtomicUsize,
    reconnects: AtomicUsize,
    /// Session calls that got no answer (their stream died with the replica) and were retried.
    cut_off: AtomicUsize,
    hung: AtomicUsize,
    latencies: Mutex<Vec<Duration>>,
    /// From a session client's first failure to its next success, per reconnect.
    recoveries: Mutex<Vec<Duration>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_behind_nginx_survive_losing_one() {
    let Some(nginx) = nginx_binary() else {
        if std::env::var("CI_REQUIRE_NGINX").is_ok() {
            panic!("nginx is required (CI_REQUIRE_NGINX) but not installed");
        }
        println!(
            "\n!!!!!!!!!! skipped: nginx is not installed (apt-get install -y nginx); the \
             replica test did NOT run !!!!!!!!!!\n"
        );
        return;
    };
    let Some(db) = TestDb::postgres().await else {
        println!("\n!!!!!!!!!! skipped: no PostgreSQL; the replica test did NOT run !!!!!!!!!!\n");
        return;
    };
    let nc = common::TestNextcloud::start_with(|mut b| {
        for i in 0..USERS {
            let (id, login, app) = user(i);
            b = b.user(&id, &login).app_password(&id, &app);
        }
        for i in 0..RATE_LIMIT_USERS {
            b = b.user(&format!("limited{i}"), "limited-login-password-0123456789");
        }
        b.user("flo", "flo-login-password-0123456789")
    })
    .await;
    let emulator = nc
        .emulator()
        .expect("the emulator (no real Nextcloud here)");
    let issuer = start_issuer().await;
    let lb_port = free_port();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(start_replica(&nc.base_url, &issuer, &db, lb_port).await);
    }
    for r in &replicas {
        wait_healthy(&format!("http://127.0.0.1:{}/health/live", r.port)).await;
    }
    let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let _nginx = start_nginx(&nginx, lb_port, &ports);
    let lb = format!("http://127.0.0.1:{lb_port}");
    wait_healthy(&format!("{lb}/health/live")).await;
    let audience = format!("{lb}/mcp");
    let http = reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .build()
        .unwrap();

    // Each user hands over an app password through the balancer (any replica).
    for i in 0..USERS {
        let (id, _, app) = user(i);
        let resp = http
            .post(format!("{lb}/api/v1/users/{id}/app-password"))
            .header("authorization", basic(&id, &app))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{id}: {}", resp.text().await.unwrap());
    }

    // A Login Flow started through replica 0 completes through replica 1, and replica 2
    // then acts with the password it produced.
    let direct = |i: usize| format!("http://127.0.0.1:{}/mcp", ports[i]);
    let flo = token(&issuer, &audience, "flo", SCOPES, 3600);
    // Clients without elicitation get the login URL in the answer.
    let on_first =
        common::connect_http(&direct(0), common::Transport::HttpStateless, Some(&flo)).await;
    let started = out(&call_any(&on_first, "nc_auth_provision_access", json!({})).await);
    assert_eq!(started["status"], "login_required", "{started}");
    let login_url = started["login_url"].as_str().unwrap();
    assert!(browser_login(login_url, "flo", "flo-login-password-0123456789").await);
    let on_second =
        common::connect_http(&direct(1), common::Transport::HttpStateless, Some(&flo)).await;
    let status = out(&call_any(&on_second, "nc_auth_check_status", json!({})).await);
    assert_eq!(status["status"], "provisioned", "{status}");
    let on_third =
        common::connect_http(&direct(2), common::Transport::HttpSession, Some(&flo)).await;
    let listed = call_any(&on_third, "nc_notes_list_notes", json!({})).await;
    assert_ne!(listed.is_error, Some(true), "{listed:?}");
    for c in [on_first, on_second, on_third] {
        let _ = c.cancel().await;
    }

    // 1,000 wrong app-password attempts, 50 at a time, spread over the replicas: exactly 5 per
    // user reach Nextcloud (401), every other one is refused by the shared limit (429).
    let wrong = "Wrong-Wrong-Wrong-Wrong-Wrong";
    let statuses: Vec<(usize, u16)> = futures::stream::iter(0..WRONG_ATTEMPTS)
        .map(|n| {
            let http = http.clone();
            let lb = lb.clone();
            async move {
                let u = n % RATE_LIMIT_USERS;
                let id = format!("limited{u}");
                let resp = http
                    .get(format!("{lb}/api/v1/users/{id}/app-password"))
                    .header("authorization", basic(&id, wrong))
                    .send()
                    .await
                    .expect("no attempt hangs or fails at the balancer");
                (u, resp.status().as_u16())
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    for u in 0..RATE_LIMIT_USERS {
        let of = |s: u16| {
            statuses
                .iter()
                .filter(|(x, st)| *x == u && *st == s)
                .count()
        };
        assert_eq!(of(401), 5, "limited{u}: {:?}", statuses);
        assert_eq!(of(429), WRONG_ATTEMPTS / RATE_LIMIT_USERS - 5, "limited{u}");
    }

    // Notes to read, one per user.
    let mut note_ids = Vec::new();
    for i in 0..USERS {
        let (id, _, app) = user(i);
        let note = nextcloud::Nextcloud::new(nc.client_config())
            .unwrap()
            .user(nextcloud::Credentials::new(&id, &app))
            .notes()
            .create(&nextcloud::notes::NewNote {
                title: format!("Load {id}"),
                content: "x".repeat(2048),
                ..Default::default()
            })
            .await
            .unwrap();
        note_ids.push(note.id);
    }
    let note_ids = Arc::new(note_ids);

    // The load: 200 clients, half stateless, half with sessions, each making its calls in turn.
    let tally = Arc::new(Tally::default());
    let total = CLIENTS * CALLS_PER_CLIENT;
    let run_started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let tally = tally.clone();
        let note_ids = note_ids.clone();
        let tok = token(&issuer, &audience, &user(c % USERS).0, SCOPES, 3600);
        let url = audience.clone();
        let stateless = c % 2 == 0;
        clients.push(tokio::spawn(async move {
            let connect = || async {
                tokio::time::timeout(
                    CALL_TIMEOUT,
                    connect_eliciting(
                        &url,
                        &tok,
                        Elicitor::new(ElicitationAction::Decline),
                        stateless,
                    ),
                )
                .await
            };
            let Ok(mut client) = connect().await else {
                tally.hung.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let mut failing_since: Option<Instant> = None;
            for n in 0..CALLS_PER_CLIENT {
                let (tool, args) = match n % 3 {
                    0 => ("nc_notes_get_note", json!({"note_id": note_ids[c % USERS]})),
                    1 => ("nc_notes_list_notes", json!({})),
                    _ => ("nc_notes_search_notes", json!({"query": "Load"})),
                };
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let args = args.as_object().cloned().unwrap();
                    let t = Instant::now();
                    let limit = if stateless {
                        CALL_TIMEOUT
                    } else {
                        SESSION_CALL_TIMEOUT
                    };
                    let result = tokio::time::timeout(
                        limit,
                        client.call_tool(
                            rmcp::model::CallToolRequestParams::new(tool).with_arguments(args),
                        ),
                    )
                    .await;
                    let elapsed = t.elapsed();
                    match result {
                        Ok(Ok(r)) if r.is_error != Some(true) => {
                            tally.latencies.lock().await.push(elapsed);
                            tally.calls.fetch_add(1, Ordering::Relaxed);
                            if let Some(since) = failing_since.take() {
                                tally.recoveries.lock().await.push(since.elapsed());
                            }
                            break;
                        }
                        Err(_) if stateless || attempts > 1 => {
                            tally.hung.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        outcome => {
                            if outcome.is_err() {
                                tally.cut_off.fetch_add(1, Ordering::Relaxed);
                                failing_since.get_or_insert(t);
                            }
                            if stateless {
                                eprintln!("stateless {tool} failed: {outcome:?}");
                                tally.stateless_errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            // The session's replica is gone: open a new session (the
                            // balancer picks a live replica) and call again.
                            failing_since.get_or_insert(t);
                            if attempts > 3 {
                                eprintln!("session {tool} failed after reconnecting: {outcome:?}");
                                tally.session_errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            tally.reconnects.fetch_add(1, Ordering::Relaxed);
                            let old = std::mem::replace(
                                &mut client,
                                match connect().await {
                                    Ok(c) => c,
                                    Err(_) => {
                                        tally.hung.fetch_add(1, Ordering::Relaxed);
                                        return;
                                    }
                                },
                            );
                            drop(old);
                        }
                    }
                }
            }
            let _ = client.cancel().await;
        }));
    }

    // Kill replica 0 (SIGKILL, no goodbye) once about a third of the calls are done.
    let mut killed_at = None;
    for _ in 0..6000 {
        if tally.calls.load(Ordering::Relaxed) >= total / 3 {
            replicas[0].child.start_kill().unwrap();
            killed_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed_at = killed_at.expect("the load got going");
    for c in clients {
        c.await.expect("client task");
    }
    let run = run_started.elapsed();

    let mut latencies = tally.latencies.lock().await.clone();
    latencies.sort();
    let recoveries = tally.recoveries.lock().await.clone();
    let worst_recovery = recoveries.iter().max().copied().unwrap_or_default();
    let calls = tally.calls.load(Ordering::Relaxed);
    println!(
        "replicas: {CLIENTS} clients, {calls}/{total} tool calls in {:.1} s ({:.0}/s); \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; stateless errors {}, session errors {}, \
         hung {}; {} session calls cut off, {} session reconnects, worst recovery {:.0} ms; \
         killed after {:.1} s",
        run.as_secs_f64(),
        calls as f64 / run.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        tally.stateless_errors.load(Ordering::Relaxed),
        tally.session_errors.load(Ordering::Relaxed),
        tally.hung.load(Ordering::Relaxed),
        tally.cut_off.load(Ordering::Relaxed),
        tally.reconnects.load(Ordering::Relaxed),
        worst_recovery.as_secs_f64() * 1000.0,
        (killed_at - run_started).as_secs_f64(),
    );
    assert_eq!(tally.hung.load(Ordering::Relaxed), 0, "requests hung");
    assert_eq!(tally.stateless_errors.load(Ordering::Relaxed), 0);
    assert_eq!(tally.session_errors.load(Ordering::Relaxed), 0);
    assert_eq!(calls, total, "every call answered");
    assert!(
        emulator.request_count() > total as u64,
        "the calls reached Nextcloud"
    );

    drop(replicas);
    db.cleanup().await;
}
