//! `nextcloud-mcp demo`: a Nextcloud emulator with sample data plus the server on HTTP, so
//! every tool can be tried on a fresh machine without a Nextcloud. Only with the `demo` cargo
//! feature: the emulator is not linked into the shipped binary.

use std::net::SocketAddr;

use crate::cli::{DemoArgs, LogFormat, RunArgs, Transport};
use crate::config::{Config, FileConfig};

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
    let config = Config::resolve(
        RunArgs {
            transport: Some(Transport::StreamableHttp),
            port: Some(args.port),
            nextcloud_host: Some(base.clone()),
            nextcloud_username: Some(DEMO_USER.into()),
            nextcloud_password: Some(DEMO_PASSWORD.into()),
            log_format: Some(LogFormat::Text),
            profile: args.profile,
            tool_mode: args.tool_mode,
            ..Default::default()
        },
        FileConfig::default(),
    )?;
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
    result
}
