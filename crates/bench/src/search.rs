//! The keyword search index over a synthetic corpus: notes (70 %) and text files (30 %) with
//! words drawn from a fixed vocabulary, in a fresh emulator, searched through the server
//! binary over HTTP with the default settings (the environment's `NEXTCLOUD_MCP_SEARCH_*`
//! settings apply, the index in a temporary folder). Measures the first sync (the first
//! `search`), the index's size on disk, resident memory before, at its peak during and after
//! the sync, keyword query latency p50 / p99 on the synced index with the shipped default sync
//! interval and with a change check before every query (interval 0), the first query of a
//! restarted server on the same folder, and the first query after 1 % of the documents changed
//! elsewhere. With `--hybrid-model`, also hybrid search (keywords fused with the embedded
//! model's vectors) over a corpus of `--hybrid-docs` documents: the first query, which embeds
//! everything, and query p50 / p99.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use rmcp::model::CallToolRequestParams;

use crate::{Client, connect, free_port, hwm_kib, rss_kib, wait_for};

const USER: &str = "search-bench";
const PASSWORD: &str = "search-bench-app-password-0123456789";
const WORDS: &[&str] = &[
    "budget",
    "meeting",
    "invoice",
    "garden",
    "holiday",
    "project",
    "roadmap",
    "kitchen",
    "contract",
    "report",
    "customer",
    "server",
    "migration",
    "recipe",
    "travel",
    "ticket",
    "weekend",
    "training",
    "library",
    "planning",
    "review",
    "quarterly",
    "release",
    "design",
    "football",
    "concert",
    "hospital",
    "insurance",
    "mortgage",
    "bicycle",
    "mountain",
    "river",
];

pub struct Figures {
    pub docs: usize,
    pub first_sync: Duration,
    pub rss_before_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_after_kib: u64,
    pub disk_bytes: u64,
    /// Queries with the shipped default sync interval.
    pub query: Percentiles,
    pub restart_query: Duration,
    pub restart_rss_kib: u64,
    /// Queries with `NEXTCLOUD_MCP_SEARCH_SYNC_INTERVAL=0` (a change check before each).
    pub query_checked: Percentiles,
    pub resync: Duration,
}

/// Hybrid (keyword + embedded model) search over its own, smaller corpus.
pub struct HybridFigures {
    pub docs: usize,
    /// The first `nc_semantic_search`: the keyword sync plus embedding every chunk.
    pub first_embedding: Duration,
    pub rss_after_kib: u64,
    pub query: Percentiles,
}

#[derive(Clone, Copy)]
pub struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        Self {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

/// A deterministic pseudo-random text of `n` words.
fn text(seed: usize, n: usize) -> String {
    let mut x = (seed as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            WORDS[(x >> 33) as usize % WORDS.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn search(client: &Client, query: &str) -> anyhow::Result<Duration> {
    call(
        client,
        "search",
        serde_json::json!({"query": query, "limit": 10}),
    )
    .await
}

async fn hybrid(client: &Client, query: &str) -> anyhow::Result<Duration> {
    call(
        client,
        "nc_semantic_search",
        serde_json::json!({"query": query, "limit": 10, "fusion": "rrf"}),
    )
    .await
}

/// The time of one successful tool call.
async fn call(client: &Client, tool: &str, args: serde_json::Value) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let r = client
        .call_tool(
            CallToolRequestParams::new(tool.to_string())
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await?;
    if r.is_error == Some(true) {
        bail!("{tool} failed: {r:?}");
    }
    Ok(started.elapsed())
}

/// Two-word queries over the vocabulary, `n` of them, each timed with `run`.
async fn series<F, Fut>(n: usize, run: F) -> anyhow::Result<Percentiles>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Duration>>,
{
    let mut latencies = Vec::new();
    for i in 0..n {
        let query = format!(
            "{} {}",
            WORDS[i % WORDS.len()],
            WORDS[(i * 7 + 3) % WORDS.len()]
        );
        latencies.push(run(query).await?);
    }
    Ok(Percentiles::of(latencies))
}

/// Bytes of the files below `dir`.
fn size_of(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// The server over HTTP on `base`, its indexes in `dir`.
async fn start(
    server_bin: &std::path::Path,
    base: &str,
    dir: &std::path::Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> anyhow::Result<(tokio::process::Child, u32, Client)> {
    let port = free_port()?;
    let child = tokio::process::Command::new(server_bin)
        .args([
            "run",
            "--transport",
            "streamable-http",
            "--port",
            &port.to_string(),
        ])
        .env("NEXTCLOUD_HOST", base)
        .env("NEXTCLOUD_USERNAME", USER)
        .env("NEXTCLOUD_PASSWORD", PASSWORD)
        .env("NEXTCLOUD_MCP_SEARCH_INDEX_DIR", dir)
        .env("LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("pid")?;
    wait_for(&format!("http://127.0.0.1:{port}/health/live")).await?;
    let client = connect(&format!("http://127.0.0.1:{port}/mcp")).await?;
    Ok((child, pid, client))
}

/// A fresh emulator holding `docs` documents: 70 % notes, 30 % text files. Returns it with
/// the notes' ids.
async fn corpus(docs: usize) -> anyhow::Result<(nextcloud_emulator::RunningEmulator, Vec<u64>)> {
    let emulator = nextcloud_emulator::Emulator::builder()
        .user(USER, PASSWORD)
        .start()
        .await?;
    let base = emulator.base_url();
    let http = reqwest::Client::new();
    http.request(
        reqwest::Method::from_bytes(b"MKCOL")?,
        format!("{base}/remote.php/dav/files/{USER}/Corpus"),
    )
    .basic_auth(USER, Some(PASSWORD))
    .send()
    .await?
    .error_for_status()?;
    let notes = docs * 7 / 10;
    let created: Vec<anyhow::Result<Option<u64>>> = futures::stream::iter(0..docs)
        .map(|i| {
            let (http, base) = (&http, &base);
            async move {
                if i < notes {
                    let title = format!("Note {i} {}", text(i + 7, 3));
                    let id =
                        crate::create_note(http, base, (USER, PASSWORD), &title, &text(i, 120))
                            .await?;
                    Ok(Some(id))
                } else {
                    http.put(format!(
                        "{base}/remote.php/dav/files/{USER}/Corpus/file-{i}.txt"
                    ))
                    .basic_auth(USER, Some(PASSWORD))
                    .header("content-type", "text/plain")
                    .body(text(i, 300))
                    .send()
                    .await?
                    .error_for_status()?;
                    Ok(None)
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut note_ids = Vec::new();
    for c in created {
        note_ids.extend(c?);
    }

    Ok((emulator, note_ids))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ncmcp-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub async fn measure(server_bin: &std::path::Path, docs: usize) -> anyhow::Result<Figures> {
    let (emulator, note_ids) = corpus(docs).await?;
    let base = emulator.base_url();
    let http = reqwest::Client::new();
    let dir = temp_dir("search");

    // The shipped settings: first sync, memory, size, queries.
    let (mut child, pid, client) = start(server_bin, &base, &dir, &[]).await?;
    let rss_before_kib = rss_kib(pid)?;
    let first_sync = search(&client, "budget meeting").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after_kib = rss_kib(pid)?;
    let rss_peak_kib = hwm_kib(pid)?;
    let disk_bytes = size_of(&dir);
    let query = series(200, |q| {
        let client = &client;
        async move { search(client, &q).await }
    })
    .await?;
    child.kill().await.ok();
    drop(client);

    // A restart on the same folder, checking for changes before every query.
    let checked = [(
        "NEXTCLOUD_MCP_SEARCH_SYNC_INTERVAL",
        std::ffi::OsStr::new("0"),
    )];
    let (mut child, pid, client) = start(server_bin, &base, &dir, &checked).await?;
    let restart_query = search(&client, "budget meeting").await?;
    let restart_rss_kib = rss_kib(pid)?;
    let query_checked = series(200, |q| {
        let client = &client;
        async move { search(client, &q).await }
    })
    .await?;
    // 1 % of the documents change (notes edited elsewhere), then one query.
    for id in note_ids.iter().take(docs / 100) {
        http.put(format!("{base}/index.php/apps/notes/api/v1/notes/{id}"))
            .basic_auth(USER, Some(PASSWORD))
            .json(&serde_json::json!({"content": text(*id as usize + 99, 120)}))
            .send()
            .await?
            .error_for_status()?;
    }
    let resync = search(&client, "budget meeting").await?;
    child.kill().await.ok();
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
    emulator.shutdown().await;
    Ok(Figures {
        docs,
        first_sync,
        rss_before_kib,
        rss_peak_kib,
        rss_after_kib,
        disk_bytes,
        query,
        restart_query,
        restart_rss_kib,
        query_checked,
        resync,
    })
}

/// Hybrid search with the embedded model in `model` (a sentence-transformers folder; the
/// server binary must be built with the `embedded-model` feature).
pub async fn measure_hybrid(
    server_bin: &std::path::Path,
    docs: usize,
    model: &std::path::Path,
) -> anyhow::Result<HybridFigures> {
    let (emulator, _) = corpus(docs).await?;
    let dir = temp_dir("hybrid");
    let env = [("EMBEDDING_MODEL_PATH", model.as_os_str())];
    let (mut child, pid, client) = start(server_bin, &emulator.base_url(), &dir, &env).await?;
    let first_embedding = hybrid(&client, "budget meeting").await?;
    let query = series(100, |q| {
        let client = &client;
        async move { hybrid(client, &q).await }
    })
    .await?;
    let rss_after_kib = rss_kib(pid)?;
    child.kill().await.ok();
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
    emulator.shutdown().await;
    Ok(HybridFigures {
        docs,
        first_embedding,
        rss_after_kib,
        query,
    })
}

pub fn print(f: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| search index, first sync of {} documents (first `search`) | {:.0} ms |",
        f.docs,
        ms(f.first_sync)
    );
    println!(
        "| search index, RSS before / peak during / after the first sync | {:.1} / {:.1} / {:.1} MB |",
        f.rss_before_kib as f64 / 1024.0,
        f.rss_peak_kib as f64 / 1024.0,
        f.rss_after_kib as f64 / 1024.0
    );
    println!(
        "| search index size on disk | {:.1} MB |",
        f.disk_bytes as f64 / 1_000_000.0
    );
    println!(
        "| search, keyword query, default sync interval (30 s), p50 / p99 | {:.1} / {:.1} ms |",
        ms(f.query.p50),
        ms(f.query.p99)
    );
    println!(
        "| search, keyword query with a change check before each (interval 0), p50 / p99 | {:.1} / {:.1} ms |",
        ms(f.query_checked.p50),
        ms(f.query_checked.p99)
    );
    println!(
        "| search, first query after a restart on the same folder (RSS then) | {:.0} ms ({:.1} MB) |",
        ms(f.restart_query),
        f.restart_rss_kib as f64 / 1024.0
    );
    println!(
        "| search, first query after 1 % of documents changed elsewhere (interval 0) | {:.0} ms |",
        ms(f.resync)
    );
}

pub fn print_hybrid(f: &HybridFigures) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| hybrid search, first query: sync and embed {} documents | {:.1} s |",
        f.docs,
        f.first_embedding.as_secs_f64()
    );
    println!(
        "| hybrid search (embedded all-MiniLM-L6-v2, RRF), p50 / p99 | {:.1} / {:.1} ms |",
        ms(f.query.p50),
        ms(f.query.p99)
    );
    println!(
        "| hybrid search, RSS after embedding | {:.1} MB |",
        f.rss_after_kib as f64 / 1024.0
    );
}
