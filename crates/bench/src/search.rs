//! The keyword search index over a synthetic corpus: notes (70 %) and text files (30 %) with
//! words drawn from a fixed vocabulary, in a fresh emulator, searched through the server
//! binary over HTTP with the default settings (the environment's `NEXTCLOUD_MCP_SEARCH_*`
//! settings apply, the index in a temporary folder). Measures the first sync (the first
//! `search`), the index's size on disk, resident memory before, at its peak during and after
//! the sync, keyword query latency p50 / p99 on the synced index, the first query after 1 % of
//! the documents changed, and the first query of a restarted server on the same folder.

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
    pub restart_query: Duration,
    pub restart_rss_kib: u64,
    pub query_p50: Duration,
    pub query_p99: Duration,
    pub resync: Duration,
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
    let args = serde_json::json!({"query": query, "limit": 10});
    let started = Instant::now();
    let r = client
        .call_tool(
            CallToolRequestParams::new("search")
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await?;
    if r.is_error == Some(true) {
        bail!("search failed: {r:?}");
    }
    Ok(started.elapsed())
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
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("pid")?;
    wait_for(&format!("http://127.0.0.1:{port}/health/live")).await?;
    let client = connect(&format!("http://127.0.0.1:{port}/mcp")).await?;
    Ok((child, pid, client))
}

pub async fn measure(server_bin: &std::path::Path, docs: usize) -> anyhow::Result<Figures> {
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
                    let body = serde_json::json!({
                        "title": format!("Note {i} {}", text(i + 7, 3)),
                        "content": text(i, 120),
                        "category": "",
                    });
                    let note: serde_json::Value = http
                        .post(format!("{base}/index.php/apps/notes/api/v1/notes"))
                        .basic_auth(USER, Some(PASSWORD))
                        .json(&body)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    Ok(note["id"].as_u64())
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

    let dir = std::env::temp_dir().join(format!("ncmcp-bench-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut child, pid, client) = start(server_bin, &base, &dir).await?;
    let rss_before_kib = rss_kib(pid)?;
    let first_sync = search(&client, "budget meeting").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after_kib = rss_kib(pid)?;
    let rss_peak_kib = hwm_kib(pid)?;
    let disk_bytes = size_of(&dir);

    let mut latencies = Vec::new();
    for i in 0..200 {
        let query = format!(
            "{} {}",
            WORDS[i % WORDS.len()],
            WORDS[(i * 7 + 3) % WORDS.len()]
        );
        latencies.push(search(&client, &query).await?);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];

    // 1 % of the documents change (notes edited), then one query.
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

    // A restart on the same folder: the first query resumes from disk.
    let (mut child, pid, client) = start(server_bin, &base, &dir).await?;
    let restart_query = search(&client, "budget meeting").await?;
    let restart_rss_kib = rss_kib(pid)?;
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
        restart_query,
        restart_rss_kib,
        query_p50: at(0.5),
        query_p99: at(0.99),
        resync,
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
        "| search, keyword query incl. change check, p50 / p99 | {:.1} / {:.1} ms |",
        ms(f.query_p50),
        ms(f.query_p99)
    );
    println!(
        "| search, first query after 1 % of documents changed | {:.0} ms |",
        ms(f.resync)
    );
    println!(
        "| search, first query after a restart on the same folder (RSS then) | {:.0} ms ({:.1} MB) |",
        ms(f.restart_query),
        f.restart_rss_kib as f64 / 1024.0
    );
}
