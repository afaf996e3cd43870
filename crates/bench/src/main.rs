//! Benchmarks for `nextcloud-mcp`, run against the in-process emulator:
//!
//! - start-up: spawn the server binary (stdio) until the first `tools/list` answer;
//! - added latency: `nc_notes_get_note` over MCP minus the same request sent straight to the
//!   emulator (p50, p99), with a thin client (see [`raw`]) over HTTP for both protocol
//!   generations and over stdio, and with rmcp's HTTP client;
//! - throughput at 1, 8, 32 and 128 concurrent HTTP sessions;
//! - resident memory of the server process idle (HTTP and stdio), under load and idle again
//!   after it (HTTP), in all and the anonymous part;
//! - discovery mode's tool finder: recall at 1 and 3 over the evaluation set of plain-language
//!   tasks, and the time of one `nc_find_tools` (see [`tool_search`]);
//! - the keyword search index over a synthetic corpus (see [`search`]); `--only-search` runs
//!   just that;
//! - server CPU per call and, with `--callgrind DIR`, instructions per call (see [`cpu`]);
//!   `--only-cpu` runs just that.
//!
//! Usage: `cargo build --release -p nextcloud-mcp -p nextcloud-mcp-bench &&
//! target/release/nextcloud-mcp-bench`. Prints a Markdown table for docs/BENCHMARKS.md.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};

mod cpu;
mod raw;
mod search;
mod tool_search;
use raw::{Protocol, RawClient, StdioClient};

const USER: &str = "bench";
const PASSWORD: &str = "bench-app-password-0123456789abcdef";

#[derive(Parser)]
struct Args {
    /// The server binary (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Start-up samples.
    #[arg(long, default_value_t = 20)]
    startups: usize,
    /// Latency samples.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Seconds per throughput level.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Documents in the search benchmark's corpus (0: skip it).
    #[arg(long, default_value_t = 10_000)]
    search_docs: usize,
    /// A sentence-transformers model folder (e.g. all-MiniLM-L6-v2): also measure hybrid
    /// search with it. The server binary must be built with `--features embedded-model`.
    #[arg(long)]
    hybrid_model: Option<PathBuf>,
    /// Documents in the hybrid search benchmark's corpus.
    #[arg(long, default_value_t = 1_000)]
    hybrid_docs: usize,
    /// Run only the search benchmark.
    #[arg(long)]
    only_search: bool,
    /// Run only the CPU-per-call benchmark.
    #[arg(long)]
    only_cpu: bool,
    /// Calls per series in the CPU-per-call benchmark.
    #[arg(long, default_value_t = 5000)]
    cpu_calls: usize,
    /// The server's LOG_LEVEL in the CPU-per-call benchmark (the server's default is info).
    #[arg(long, default_value = "info")]
    cpu_log_level: String,
    /// Also count instructions per call under `valgrind --tool=callgrind`, keeping the
    /// profiles in this directory.
    #[arg(long)]
    callgrind: Option<PathBuf>,
    /// Calls in the larger callgrind run (the baseline run makes a tenth of them).
    #[arg(long, default_value_t = 1000)]
    callgrind_calls: usize,
}

type Client = RunningService<RoleClient, ()>;

/// Creates a note through the emulator's Notes API (what the benchmarks read); returns its id.
async fn create_note(
    http: &reqwest::Client,
    base: &str,
    (user, password): (&str, &str),
    title: &str,
    content: &str,
) -> anyhow::Result<u64> {
    let note: serde_json::Value = http
        .post(format!("{base}/index.php/apps/notes/api/v1/notes"))
        .basic_auth(user, Some(password))
        .json(&serde_json::json!({"title": title, "content": content, "category": ""}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    note["id"].as_u64().context("note id")
}

/// Samples of one measured series (warm-up excluded).
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn record(&mut self, warm_up: bool, started: Instant) {
        if !warm_up {
            self.0.push(started.elapsed());
        }
    }
}

/// The latency series, measured interleaved.
#[derive(Default)]
struct Latency {
    direct: Samples,
    rmcp: Samples,
    session: Samples,
    stateless: Samples,
    stdio: Samples,
    session_local: Samples,
    stateless_local: Samples,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server_bin = match args.server {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("no parent dir")?
            .join("nextcloud-mcp"),
    };
    if !server_bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p nextcloud-mcp)",
            server_bin.display()
        );
    }

    if args.only_cpu {
        return cpu::measure(
            &server_bin,
            &cpu::Options {
                calls: args.cpu_calls,
                log_level: args.cpu_log_level,
                callgrind: args.callgrind,
                callgrind_calls: args.callgrind_calls,
            },
        )
        .await;
    }

    let search_figures = match args.search_docs {
        0 => None,
        docs => Some(search::measure(&server_bin, docs).await?),
    };
    let hybrid_figures = match &args.hybrid_model {
        Some(model) => Some(search::measure_hybrid(&server_bin, args.hybrid_docs, model).await?),
        None => None,
    };
    if args.only_search {
        println!("| metric | value |");
        println!("|---|---|");
        if let Some(f) = &search_figures {
            search::print(f);
        }
        if let Some(f) = &hybrid_figures {
            search::print_hybrid(f);
        }
        return Ok(());
    }

    let emulator = nextcloud_emulator::Emulator::builder()
        .user(USER, PASSWORD)
        .start()
        .await?;
    let base = emulator.base_url();
    let env = [
        ("NEXTCLOUD_HOST", base.clone()),
        ("NEXTCLOUD_USERNAME", USER.to_string()),
        ("NEXTCLOUD_PASSWORD", PASSWORD.to_string()),
        ("LOG_LEVEL", "warn".to_string()),
    ];

    // A note to read.
    let http = reqwest::Client::new();
    let note_id = create_note(&http, &base, (USER, PASSWORD), "Bench", "benchmark note").await?;

    // 1. Start-up to first tools/list.
    let mut startup = Vec::new();
    for _ in 0..args.startups {
        let started = Instant::now();
        let cmd = tokio::process::Command::new(&server_bin).configure(|c| {
            c.args(["run", "--transport", "stdio"])
                .stderr(Stdio::null());
            for (k, v) in &env {
                c.env(k, v);
            }
        });
        let client: Client = ().serve(TokioChildProcess::new(cmd)?).await?;
        client.list_all_tools().await?;
        startup.push(started.elapsed());
        client.cancel().await.ok();
    }

    // The HTTP server as its own process, so its memory can be read.
    let port = free_port()?;
    let mut child = tokio::process::Command::new(&server_bin)
        .args([
            "run",
            "--transport",
            "streamable-http",
            "--port",
            &port.to_string(),
        ])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("pid")?;
    let url = format!("http://127.0.0.1:{port}/mcp");
    wait_for(&format!("http://127.0.0.1:{port}/health/live")).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = rss_kib(pid)?;
    let anon_idle = anon_kib(pid)?;

    // 2. Added latency: MCP calls vs the same request sent straight to the emulator, all
    // interleaved so that machine noise hits every series alike.
    let client = connect(&url).await?;
    let call = || {
        CallToolRequestParams::new("nc_notes_get_note").with_arguments(
            serde_json::json!({"note_id": note_id})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
    };
    let session = RawClient::connect(&url, Protocol::Session).await?;
    let stateless = RawClient::connect(&url, Protocol::Stateless).await?;
    // The desktop shape: the server as a child process speaking stdio.
    let mut stdio_command = tokio::process::Command::new(&server_bin);
    stdio_command
        .args(["run", "--transport", "stdio"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut stdio = StdioClient::spawn(stdio_command).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stdio_pid = stdio.pid().context("stdio server pid")?;
    let rss_idle_stdio = rss_kib(stdio_pid)?;
    let anon_idle_stdio = anon_kib(stdio_pid)?;
    let args_json = serde_json::json!({"note_id": note_id});
    let direct_url = format!("{base}/index.php/apps/notes/api/v1/notes/{note_id}");
    let mut series = Latency::default();
    for i in 0..(args.samples + 100) {
        let warm = i < 100;
        let id = i as u64 + 1;
        let t = Instant::now();
        http.get(&direct_url)
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        series.direct.record(warm, t);
        let t = Instant::now();
        let r = client.call_tool(call()).await?;
        if r.is_error == Some(true) {
            bail!("tool call failed: {r:?}");
        }
        series.rmcp.record(warm, t);
        let t = Instant::now();
        session
            .call_tool(id, "nc_notes_get_note", args_json.clone())
            .await?;
        series.session.record(warm, t);
        let t = Instant::now();
        stateless
            .call_tool(id, "nc_notes_get_note", args_json.clone())
            .await?;
        series.stateless.record(warm, t);
        let t = Instant::now();
        stdio
            .call_tool(id, "nc_notes_get_note", args_json.clone())
            .await?;
        series.stdio.record(warm, t);
        let t = Instant::now();
        session.no_backend(id).await?;
        series.session_local.record(warm, t);
        let t = Instant::now();
        stateless.no_backend(id).await?;
        series.stateless_local.record(warm, t);
    }
    client.cancel().await.ok();

    // 3. Throughput at several concurrency levels; 4. peak memory under load.
    let mut throughput = Vec::new();
    let mut rss_load = 0;
    for sessions in [1usize, 8, 32, 128] {
        let mut clients = Vec::with_capacity(sessions);
        for _ in 0..sessions {
            clients.push(connect(&url).await?);
        }
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let started = Instant::now();
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|c| {
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let p = CallToolRequestParams::new("nc_notes_get_note").with_arguments(
                            serde_json::json!({"note_id": note_id})
                                .as_object()
                                .cloned()
                                .unwrap_or_default(),
                        );
                        if c.call_tool(p).await.is_ok() {
                            n += 1;
                        }
                    }
                    c.cancel().await.ok();
                    n
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(args.seconds * 500)).await;
        rss_load = rss_load.max(rss_kib(pid)?);
        let mut total = 0;
        for t in tasks {
            total += t.await?;
        }
        throughput.push((sessions, total as f64 / started.elapsed().as_secs_f64()));
    }
    let rss_peak = hwm_kib(pid)?;
    // Idle again: every load session has ended. Then once more after the server's idle
    // trim, which follows a quiet period of 10 s (checked every 10 s: at most 20 s).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_kib(pid)?;
    let anon_after = anon_kib(pid)?;
    tokio::time::sleep(Duration::from_secs(21)).await;
    let rss_quiet = rss_kib(pid)?;
    let anon_quiet = anon_kib(pid)?;
    child.kill().await.ok();
    let recall = tool_search::measure(&server_bin, &env).await?;
    emulator.shutdown().await;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v[((v.len() as f64 - 1.0) * q).round() as usize]
    };
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| start-up to first tools/list (median of {}) | {:.1} ms |",
        startup.len(),
        ms(p(&mut startup, 0.5))
    );
    let row = |what: &str, v: &mut Vec<Duration>| {
        println!(
            "| {what} p50 / p99 | {:.3} / {:.3} ms |",
            ms(p(v, 0.5)),
            ms(p(v, 0.99))
        );
    };
    let mut s = series;
    for (what, samples) in [
        (
            "nc_notes_get_note straight to the emulator",
            &mut s.direct.0,
        ),
        (
            "nc_notes_get_note, thin client, 2026-07-28 (stateless)",
            &mut s.stateless.0,
        ),
        (
            "nc_notes_get_note, thin client, 2025-11-25 (session)",
            &mut s.session.0,
        ),
        ("nc_notes_get_note, thin client, stdio", &mut s.stdio.0),
        ("nc_notes_get_note, rmcp client (session)", &mut s.rmcp.0),
        (
            "resources/templates/list (no Nextcloud), thin client, 2026-07-28",
            &mut s.stateless_local.0,
        ),
        (
            "resources/templates/list (no Nextcloud), thin client, 2025-11-25",
            &mut s.session_local.0,
        ),
    ] {
        row(what, samples);
    }
    let direct_p50 = ms(p(&mut s.direct.0, 0.5));
    let direct_p99 = ms(p(&mut s.direct.0, 0.99));
    let added = |what: &str, v: &mut Vec<Duration>| {
        println!(
            "| server-added latency, {what} p50 / p99 | {:.3} / {:.3} ms |",
            ms(p(v, 0.5)) - direct_p50,
            ms(p(v, 0.99)) - direct_p99
        );
    };
    for (what, samples) in [
        ("2026-07-28 (stateless)", &mut s.stateless.0),
        ("2025-11-25 (session)", &mut s.session.0),
        ("stdio", &mut s.stdio.0),
        ("rmcp client (incl. its own overhead)", &mut s.rmcp.0),
    ] {
        added(what, samples);
    }
    for (sessions, rate) in throughput {
        println!("| throughput, {sessions} concurrent sessions | {rate:.0} calls/s |");
    }
    println!(
        "| RSS idle, streamable HTTP / stdio | {:.1} / {:.1} MB |",
        rss_idle as f64 / 1024.0,
        rss_idle_stdio as f64 / 1024.0
    );
    println!(
        "| of which anonymous (private: heap, stacks, relocated data), HTTP / stdio | {:.1} / {:.1} MB |",
        anon_idle as f64 / 1024.0,
        anon_idle_stdio as f64 / 1024.0
    );
    println!(
        "| RSS under load (sampled max) / peak (VmHWM) | {:.1} / {:.1} MB |",
        rss_load as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    );
    println!(
        "| RSS 1 s after the load, of which anonymous | {:.1} / {:.1} MB |",
        rss_after as f64 / 1024.0,
        anon_after as f64 / 1024.0
    );
    println!(
        "| RSS 22 s after the load (idle trim done), of which anonymous | {:.1} / {:.1} MB |",
        rss_quiet as f64 / 1024.0,
        anon_quiet as f64 / 1024.0
    );
    println!(
        "| tool search ({} tasks), recall@1 / recall@3 | {:.1} / {:.1} % |",
        recall.tasks,
        recall.at1 * 100.0,
        recall.at3 * 100.0
    );
    println!(
        "| tool search, nc_find_tools over stdio (p50) | {:.2} ms |",
        recall.find_p50.as_secs_f64() * 1000.0
    );
    if let Some(f) = &search_figures {
        search::print(f);
    }
    if let Some(f) = &hybrid_figures {
        search::print_hybrid(f);
    }
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    Ok(().serve(transport).await?)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_for(url: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("server did not come up at {url}")
}

fn proc_status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{key} missing in /proc/{pid}/status"))
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// Resident memory that is the process's own; the rest of RSS is clean pages of files
/// (mostly the executable's code) that stay in the page cache and are shared.
fn anon_kib(pid: u32) -> anyhow::Result<u64> {
    proc_status_kib(pid, "RssAnon:")
}

fn hwm_kib(pid: u32) -> anyhow::Result<u64> {
    proc_status_kib(pid, "VmHWM:")
}
