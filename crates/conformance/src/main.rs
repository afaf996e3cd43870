//! `nextcloud-mcp-conformance run ...`: `nextcloud-mcp run` with the conformance suite's
//! fixtures added. It takes the product's settings (flags, environment, `--config` file).

use nextcloud_mcp::cli::{Cli, Command};
use nextcloud_mcp::config::Config;
use nextcloud_mcp::settings::{self, SettingsError};
use nextcloud_mcp_conformance::Conformance;

fn main() -> std::process::ExitCode {
    let result = match settings::parse_cli() {
        Ok(cli) => start(cli),
        Err(SettingsError::Usage(e)) => e.exit(),
        Err(e) => Err(e.into()),
    };
    match result {
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
    let config = Config::resolve(*args)?;
    let telemetry = nextcloud_mcp::logging::init(&config.log)?;
    let done =
        tokio::runtime::Runtime::new()?.block_on(nextcloud_mcp::run_with(config, Conformance::new));
    telemetry.shutdown();
    done
}
