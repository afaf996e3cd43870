use clap::Parser;

use nextcloud_mcp::cli::{Cli, Command};
use nextcloud_mcp::config::{Config, FileConfig};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nextcloud-mcp: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line that names the problem; details are in the log.
            eprintln!("nextcloud-mcp: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    match cli.command {
        Command::Run(args) => {
            let config = Config::resolve(*args, file)?;
            nextcloud_mcp::logging::init(&config.log_level, config.log_format);
            nextcloud_mcp::run(config).await
        }
        Command::RotateKeys(args) => {
            let config = Config::resolve(*args, file)?;
            nextcloud_mcp::logging::init(&config.log_level, config.log_format);
            let n = nextcloud_mcp::rotate_keys(config).await?;
            eprintln!("nextcloud-mcp: re-encrypted {n} stored secret(s) under the current key");
            Ok(())
        }
        Command::Demo(args) => {
            nextcloud_mcp::logging::init("info", nextcloud_mcp::cli::LogFormat::Text);
            nextcloud_mcp::demo::run(args).await
        }
    }
}
