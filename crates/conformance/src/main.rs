//! `nextcloud-mcp-conformance run ...`: `nextcloud-mcp run` with the conformance suite's
//! fixtures added. It takes the product's settings (flags, environment, `--config` file).

use clap::Parser;

use nextcloud_mcp::cli::{Cli, Command};
use nextcloud_mcp::config::{Config, FileConfig};
use nextcloud_mcp_conformance::Conformance;

fn main() -> std::process::ExitCode {
    match start(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nextcloud-mcp-conformance: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start(cli: Cli) -> anyhow::Result<()> {
    let Command::Run(args) = cli.command else {
        anyhow::bail!("only `run` serves the conformance fixtures");
    };
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let config = Config::resolve(*args, file)?;
    tokio::runtime::Runtime::new()?.block_on(async {
        nextcloud_mcp::logging::init(&config.log_level, config.log_format);
        nextcloud_mcp::run_with(config, Conformance::new).await
    })
}
