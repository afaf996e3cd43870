//! Discovery mode's tool finder over MCP: each task of the evaluation set
//! (`crates/server/tests/data/tool_search_eval.tsv`) sent to `nc_find_tools` of the server
//! binary in `--tool-mode discover`, with recall at 1 and 3 and the time of a find.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

const EVAL: &str = include_str!("../../server/tests/data/tool_search_eval.tsv");

/// What one run over the evaluation set measured.
pub struct Recall {
    pub tasks: usize,
    pub at1: f64,
    pub at3: f64,
    pub find_p50: Duration,
}

pub async fn measure(server_bin: &Path, env: &[(&str, String)]) -> anyhow::Result<Recall> {
    let cmd = tokio::process::Command::new(server_bin).configure(|c| {
        c.args(["run", "--transport", "stdio", "--tool-mode", "discover"]);
        for (k, v) in env {
            c.env(k, v);
        }
    });
    let client = ().serve(TokioChildProcess::new(cmd)?).await?;
    let (mut at1, mut at3, mut times) = (0usize, 0usize, Vec::new());
    let mut cases: Vec<(&str, &str)> = EVAL
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect();
    // Only tasks whose tool this server has (a single-user server has no `nc_auth_*`).
    let mut names: Vec<&str> = cases.iter().map(|(_, tool)| *tool).collect();
    names.sort();
    names.dedup();
    let mut unavailable = Vec::new();
    for chunk in names.chunks(20) {
        let args = serde_json::json!({"names": chunk});
        let described = client
            .call_tool(
                CallToolRequestParams::new("nc_describe_tools")
                    .with_arguments(args.as_object().cloned().unwrap_or_default()),
            )
            .await?
            .structured_content
            .context("nc_describe_tools returned no structured content")?;
        for missing in described["unavailable"].as_array().into_iter().flatten() {
            unavailable.extend(missing["name"].as_str().map(str::to_string));
        }
    }
    cases.retain(|(_, tool)| !unavailable.iter().any(|u| u == tool));
    for (task, expected) in &cases {
        let args = serde_json::json!({"task": task, "limit": 3});
        let started = Instant::now();
        let result = client
            .call_tool(
                CallToolRequestParams::new("nc_find_tools")
                    .with_arguments(args.as_object().cloned().unwrap_or_default()),
            )
            .await?;
        times.push(started.elapsed());
        let found = result
            .structured_content
            .context("nc_find_tools returned no structured content")?;
        let names: Vec<&str> = found["tools"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        if names.first() == Some(expected) {
            at1 += 1;
        }
        if names.contains(expected) {
            at3 += 1;
        }
    }
    let _ = client.cancel().await;
    times.sort();
    let n = cases.len().max(1) as f64;
    Ok(Recall {
        tasks: cases.len(),
        at1: at1 as f64 / n,
        at3: at3 as f64 / n,
        find_p50: times.get(times.len() / 2).copied().unwrap_or_default(),
    })
}
