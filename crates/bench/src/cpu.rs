//! Server CPU per call (`--only-cpu`): `nc_notes_get_note` of a 2 KB note and `ping`, each
//! `--cpu-calls` times over one streamable HTTP session (`2025-11-25`) with the thin client,
//! then `nc_notes_get_note` over the stateless generation (`2026-07-28`).
//!
//! - CPU: `utime + stime` of the server process from `/proc/<pid>/stat`, read before and after
//!   each series (the emulator runs in this process, so it is not counted);
//! - wall clock p50 / p99 of the same calls;
//! - with `--callgrind DIR`: instructions per call, counted by `valgrind --tool=callgrind`
//!   (repeatable on a noisy machine). The server runs under callgrind twice per kind of call,
//!   with `--callgrind-calls` and a tenth of it, both after the same warm-up; the difference
//!   divided by the difference in calls cancels start-up and shutdown. The larger run's
//!   profile stays in `DIR` for `callgrind_annotate`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::free_port;
use crate::raw::{Protocol, RawClient};

const USER: &str = "cpu-bench";
const PASSWORD: &str = "cpu-bench-app-password-0123456789abc";
const WARM_UP: usize = 200;

pub struct Options {
    pub calls: usize,
    pub log_level: String,
    pub callgrind: Option<PathBuf>,
    pub callgrind_calls: usize,
}

/// The kind of request a series sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    GetNote,
    Ping,
    GetNoteStateless,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::GetNote => "nc_notes_get_note (2 KB note), session",
            Kind::Ping => "ping, session",
            Kind::GetNoteStateless => "nc_notes_get_note (2 KB note), stateless",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Kind::GetNote => "get_note",
            Kind::Ping => "ping",
            Kind::GetNoteStateless => "get_note_stateless",
        }
    }
}

struct Series {
    kind: Kind,
    cpu_per_call: Duration,
    p50: Duration,
    p99: Duration,
}

pub async fn measure(server_bin: &Path, opts: &Options) -> anyhow::Result<()> {
    let emulator = nextcloud_emulator::Emulator::builder()
        .user(USER, PASSWORD)
        .start()
        .await?;
    let base = emulator.base_url();
    // A 2 KB note, the size the goal is stated for.
    let content: String = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
        .chars()
        .cycle()
        .take(2048)
        .collect();
    let note_id = crate::create_note(
        &reqwest::Client::new(),
        &base,
        (USER, PASSWORD),
        "CPU bench",
        &content,
    )
    .await?;
    let env = vec![
        ("NEXTCLOUD_HOST", base.clone()),
        ("NEXTCLOUD_USERNAME", USER.to_string()),
        ("NEXTCLOUD_PASSWORD", PASSWORD.to_string()),
        ("LOG_LEVEL", opts.log_level.clone()),
    ];

    // Native run: CPU and wall clock.
    let server = Server::start(server_bin, &env, None).await?;
    let session = RawClient::connect(&server.url, Protocol::Session).await?;
    let stateless = RawClient::connect(&server.url, Protocol::Stateless).await?;
    let clients = Clients {
        session: &session,
        stateless: &stateless,
        note_id,
    };
    let mut id = 1u64;
    for kind in [Kind::GetNote, Kind::Ping, Kind::GetNoteStateless] {
        clients.run(kind, WARM_UP, &mut id).await?;
    }
    let mut figures = Vec::new();
    for kind in [Kind::GetNote, Kind::Ping, Kind::GetNoteStateless] {
        let before = cpu_time(server.pid)?;
        let mut samples = clients.run(kind, opts.calls, &mut id).await?;
        let after = cpu_time(server.pid)?;
        samples.sort();
        let q = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        figures.push(Series {
            kind,
            cpu_per_call: (after - before) / opts.calls as u32,
            p50: q(0.5),
            p99: q(0.99),
        });
    }
    drop((session, stateless));
    server.stop().await?;

    // Callgrind: instructions per call.
    let mut instructions = Vec::new();
    if let Some(dir) = &opts.callgrind {
        std::fs::create_dir_all(dir)?;
        let large = opts.callgrind_calls.max(20);
        let small = large / 10;
        for kind in [Kind::GetNote, Kind::Ping] {
            let mut totals = Vec::new();
            for calls in [small, large] {
                let out = dir.join(format!("callgrind.{}.{calls}.out", kind.file()));
                let server = Server::start(server_bin, &env, Some(&out)).await?;
                let session = RawClient::connect(&server.url, Protocol::Session).await?;
                let stateless = RawClient::connect(&server.url, Protocol::Stateless).await?;
                let clients = Clients {
                    session: &session,
                    stateless: &stateless,
                    note_id,
                };
                let mut id = 1u64;
                clients.run(kind, 20, &mut id).await?;
                clients.run(kind, calls, &mut id).await?;
                drop((session, stateless));
                server.stop().await?;
                totals.push(callgrind_total(&out)?);
            }
            let per_call = (totals[1] as f64 - totals[0] as f64) / (large - small) as f64;
            instructions.push((
                kind,
                per_call,
                dir.join(format!("callgrind.{}.{large}.out", kind.file())),
            ));
        }
    }
    emulator.shutdown().await;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| metric ({} calls each, LOG_LEVEL={}) | value |",
        opts.calls, opts.log_level
    );
    println!("|---|---|");
    for s in &figures {
        println!(
            "| {}: server CPU per call | {:.3} ms |",
            s.kind.label(),
            ms(s.cpu_per_call)
        );
        println!(
            "| {}: wall clock p50 / p99 | {:.3} / {:.3} ms |",
            s.kind.label(),
            ms(s.p50),
            ms(s.p99)
        );
    }
    for (kind, per_call, file) in &instructions {
        println!(
            "| {}: instructions per call (callgrind) | {:.0} |",
            kind.label(),
            per_call
        );
        eprintln!(
            "profile: callgrind_annotate --inclusive=yes {}",
            file.display()
        );
    }
    Ok(())
}

struct Clients<'a> {
    session: &'a RawClient,
    stateless: &'a RawClient,
    note_id: u64,
}

impl Clients<'_> {
    /// Sends `n` requests of `kind`, one at a time, and returns their wall-clock times.
    async fn run(&self, kind: Kind, n: usize, id: &mut u64) -> anyhow::Result<Vec<Duration>> {
        let args = json!({"note_id": self.note_id});
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            *id += 1;
            let t = Instant::now();
            match kind {
                Kind::GetNote => {
                    self.session
                        .call_tool(*id, "nc_notes_get_note", args.clone())
                        .await?
                }
                Kind::Ping => self.session.ping(*id).await?,
                Kind::GetNoteStateless => {
                    self.stateless
                        .call_tool(*id, "nc_notes_get_note", args.clone())
                        .await?
                }
            }
            samples.push(t.elapsed());
        }
        Ok(samples)
    }
}

/// The server over streamable HTTP, natively or under callgrind.
struct Server {
    child: tokio::process::Child,
    pid: u32,
    url: String,
}

impl Server {
    async fn start(
        bin: &Path,
        env: &[(&str, String)],
        callgrind_out: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let port = free_port()?.to_string();
        let server_args = ["run", "--transport", "streamable-http", "--port", &port];
        let mut cmd = match callgrind_out {
            None => tokio::process::Command::new(bin),
            Some(out) => {
                let mut c = tokio::process::Command::new("valgrind");
                c.arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(bin);
                c
            }
        };
        let mut child = cmd
            .args(server_args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("spawning the server (is valgrind installed, for --callgrind?)")?;
        let pid = child.id().context("pid")?;
        let health = format!("http://127.0.0.1:{port}/health/live");
        // Under callgrind start-up takes seconds.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!("the server exited during start-up: {status}");
            }
            if Instant::now() > deadline {
                bail!("the server did not come up at {health}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self {
            child,
            pid,
            url: format!("http://127.0.0.1:{port}/mcp"),
        })
    }

    /// SIGTERM and wait: the server shuts down gracefully, so callgrind writes its profile.
    async fn stop(mut self) -> anyhow::Result<()> {
        std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()?;
        match tokio::time::timeout(Duration::from_secs(120), self.child.wait()).await {
            Ok(status) => {
                status?;
                Ok(())
            }
            Err(_) => {
                self.child.kill().await.ok();
                bail!("the server did not stop within 120 s of SIGTERM")
            }
        }
    }
}

/// User plus system CPU time of a process so far.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')').context("malformed /proc/<pid>/stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `) `.
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/<pid>/stat")?
        .iter()
        .map(|f| f.parse::<u64>())
        .sum::<Result<u64, _>>()?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// `sysconf(_SC_CLK_TCK)`, from `getconf` (100 on every common Linux).
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// The total instruction count (`Ir`) of a callgrind profile.
fn callgrind_total(file: &Path) -> anyhow::Result<u64> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    text.lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no totals in {}", file.display()))
}
