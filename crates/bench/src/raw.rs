//! A minimal MCP client over plain HTTP: JSON-RPC bodies posted with reqwest and the answer
//! read from either a JSON body or an SSE stream.
//!
//! The rmcp client adds its own JSON-RPC and SSE machinery to every measured call (in the
//! same process as the emulator, on the same two cores). Timing the server with this thin
//! client instead isolates what the server adds, for both protocol generations.

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Which protocol generation the client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `2025-11-25`: `initialize`, then every request carries `Mcp-Session-Id`.
    Session,
    /// `2026-07-28`: no session; each request carries its protocol version and capabilities.
    Stateless,
}

pub struct RawClient {
    http: reqwest::Client,
    url: String,
    protocol: Protocol,
    session_id: Option<String>,
}

const SESSION_VERSION: &str = "2025-11-25";
const STATELESS_VERSION: &str = "2026-07-28";

impl RawClient {
    /// Connects; for [`Protocol::Session`] this performs the `initialize` handshake.
    pub async fn connect(url: &str, protocol: Protocol) -> anyhow::Result<Self> {
        let mut client = Self {
            http: reqwest::Client::new(),
            url: url.to_string(),
            protocol,
            session_id: None,
        };
        if protocol == Protocol::Session {
            let body = json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize_params()
            });
            let resp = client.post(&body, "initialize", None).send().await?;
            client.session_id = Some(
                resp.headers()
                    .get("mcp-session-id")
                    .context("initialize answered without Mcp-Session-Id")?
                    .to_str()?
                    .to_string(),
            );
            read_answer(resp).await?;
            let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            client
                .post(&initialized, "notifications/initialized", None)
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(client)
    }

    fn post(&self, body: &Value, method: &str, name: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .json(body);
        match self.protocol {
            Protocol::Session => {
                if let Some(id) = &self.session_id {
                    req = req
                        .header("mcp-session-id", id)
                        .header("mcp-protocol-version", SESSION_VERSION);
                }
            }
            Protocol::Stateless => {
                req = req
                    .header("mcp-protocol-version", STATELESS_VERSION)
                    .header("mcp-method", method);
                if let Some(name) = name {
                    req = req.header("mcp-name", name);
                }
            }
        }
        req
    }

    /// Sends one request and returns its `result`.
    pub async fn request(
        &self,
        id: u64,
        method: &str,
        name: Option<&str>,
        mut params: Value,
    ) -> anyhow::Result<Value> {
        if self.protocol == Protocol::Stateless {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "bench-raw", "version": "0"}
            });
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let resp = self.post(&body, method, name).send().await?;
        read_answer(resp).await
    }

    /// A request the server answers without asking Nextcloud (`resources/templates/list`;
    /// `ping` no longer exists in 2026-07-28): the transport's own round trip.
    pub async fn no_backend(&self, id: u64) -> anyhow::Result<()> {
        self.request(id, "resources/templates/list", None, json!({}))
            .await
            .map(drop)
    }

    /// `ping` (2025-11-25 only): the cheapest request a server answers.
    pub async fn ping(&self, id: u64) -> anyhow::Result<()> {
        self.request(id, "ping", None, json!({})).await.map(drop)
    }

    pub async fn call_tool(&self, id: u64, name: &str, arguments: Value) -> anyhow::Result<()> {
        let result = self
            .request(
                id,
                "tools/call",
                Some(name),
                tool_call_params(name, arguments),
            )
            .await?;
        tool_succeeded(name, &result)
    }
}

/// The JSON-RPC `result` of a response, whether it came as JSON or as an SSE stream.
async fn read_answer(resp: reqwest::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {text}");
    }
    let message: Value = if sse {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .context("the event stream carried no JSON-RPC response")?
    } else {
        serde_json::from_str(&text)?
    };
    result_of(message)
}

/// The `params` of this client's `initialize` request.
fn initialize_params() -> Value {
    json!({
        "protocolVersion": SESSION_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "bench-raw", "version": "0"}
    })
}

fn tool_call_params(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

/// A tool answering with `isError` is a failed measurement, not a sample.
fn tool_succeeded(name: &str, result: &Value) -> anyhow::Result<()> {
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        bail!("{name} failed: {result}");
    }
    Ok(())
}

/// A JSON-RPC response's `result`, or its `error` as an error.
fn result_of(mut message: Value) -> anyhow::Result<Value> {
    match message.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => bail!("JSON-RPC error: {}", message["error"]),
    }
}

/// The same thin client over stdio, the shape a desktop app runs: one JSON-RPC message per
/// line on the server's stdin, answers read line by line from its stdout.
pub struct StdioClient {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl StdioClient {
    /// Spawns `command` (already set up with its arguments and environment) and performs the
    /// `initialize` handshake.
    pub async fn spawn(mut command: tokio::process::Command) -> anyhow::Result<Self> {
        use std::process::Stdio;
        use tokio::io::AsyncBufReadExt;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut client = Self {
            child,
            stdin,
            stdout: tokio::io::BufReader::new(stdout).lines(),
        };
        client.request(0, "initialize", initialize_params()).await?;
        client
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(client)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// Sends one request and returns its `result`, skipping notifications and log lines.
    pub async fn request(&mut self, id: u64, method: &str, params: Value) -> anyhow::Result<Value> {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        loop {
            let line = self
                .stdout
                .next_line()
                .await?
                .context("the server closed stdout")?;
            let message: Value = serde_json::from_str(&line)?;
            if message.get("id") != Some(&json!(id)) {
                continue;
            }
            return result_of(message);
        }
    }

    pub async fn call_tool(&mut self, id: u64, name: &str, arguments: Value) -> anyhow::Result<()> {
        let result = self
            .request(id, "tools/call", tool_call_params(name, arguments))
            .await?;
        tool_succeeded(name, &result)
    }
}
