//! `nextcloud-mcp demo`: a Nextcloud emulator with sample data plus the server on HTTP, so
//! every tool can be tried on a fresh machine without a Nextcloud. Only with the `demo` cargo
//! feature: the emulator is not linked into the shipped binary.

use std::net::SocketAddr;

use crate::cli::{DemoArgs, RunArgs};
use crate::config::Config;

pub const DEMO_USER: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo-app-password-0123456789";

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let emulator = nextcloud_emulator::Emulator::builder()
        .user(DEMO_USER, DEMO_PASSWORD)
        .sample_data()
        .bind(SocketAddr::from(([127, 0, 0, 1], args.nextcloud_port)))
        .start()
        .await?;
    let base = emulator.base_url();
    // The emulator starts afresh each time, so its search index is thrown away at the end:
    // kept in a folder of this process (a folder is one process's), never in the user's
    // data directory.
    let index_dir =
        std::env::temp_dir().join(format!("nextcloud-mcp-demo-index-{}", std::process::id()));
    // Only these flags: the demo ignores the environment and settings files.
    let mut settings = RunArgs::from_flags([
        "--transport=streamable-http",
        &format!("--port={}", args.port),
        &format!("--nextcloud-host={base}"),
        &format!("--nextcloud-username={DEMO_USER}"),
        &format!("--nextcloud-password={DEMO_PASSWORD}"),
        &format!("--search-index-dir={}", index_dir.display()),
    ])?;
    settings.presets = args.presets;
    let config = Config::resolve(settings)?;
    let url = format!("http://127.0.0.1:{}/mcp", args.port);
    eprintln!(
        "\nnextcloud-mcp demo\n\
         ------------------\n\
         Emulated Nextcloud: {base}  (user `{DEMO_USER}`, password `{DEMO_PASSWORD}`)\n\
         MCP endpoint:       {url}\n\n\
         Connect a client:\n\
         \x20 Claude Code:    claude mcp add --transport http nextcloud-demo {url}\n\
         \x20 MCP Inspector:  npx @modelcontextprotocol/inspector  (transport: Streamable HTTP, URL: {url})\n\n\
         Press Ctrl-C to stop.\n"
    );
    let result = crate::run(config).await;
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&index_dir);
    result
}
