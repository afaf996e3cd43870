use clap::Parser;

use nextcloud_mcp::cli::{Cli, Command, DemoArgs, Transport};
use nextcloud_mcp::config::{Config, FileConfig};

fn main() -> std::process::ExitCode {
    match start(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line that names the problem; details are in the log.
            eprintln!("nextcloud-mcp: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves the configuration first: how many worker threads the runtime gets depends on it.
fn start(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    match cli.command {
        Command::Run(args) => {
            let config = Config::resolve(*args, file)?;
            let one_client = config.transport == Transport::Stdio;
            runtime(one_client)?.block_on(async {
                nextcloud_mcp::logging::init(&config.log_level, config.log_format);
                nextcloud_mcp::run(config).await
            })
        }
        Command::RotateKeys(args) => {
            let config = Config::resolve(*args, file)?;
            runtime(true)?.block_on(async {
                nextcloud_mcp::logging::init(&config.log_level, config.log_format);
                let n = nextcloud_mcp::rotate_keys(config).await?;
                eprintln!("nextcloud-mcp: re-encrypted {n} stored secret(s) under the current key");
                Ok(())
            })
        }
        Command::Demo(args) => demo(args),
    }
}

/// `nextcloud-mcp demo`: the emulator with sample data plus the server.
#[cfg(feature = "demo")]
fn demo(args: DemoArgs) -> anyhow::Result<()> {
    runtime(false)?.block_on(async {
        nextcloud_mcp::logging::init("info", nextcloud_mcp::cli::LogFormat::Text);
        nextcloud_mcp::demo::run(args).await
    })
}

/// Builds without the emulator (the default, what is shipped) say how to get the demo.
#[cfg(not(feature = "demo"))]
fn demo(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no demo: it is built only with the `demo` cargo feature, which adds \
         the Nextcloud emulator. From the source tree, run: cargo run --release --features demo -- demo"
    )
}

/// The async runtime. A process serving one client (stdio: one desktop app) gets a single
/// worker thread: with more, every task hand-off wakes an idle worker on another core, which
/// the benchmark measured at about 9 context switches per tool call instead of 2 and a quarter
/// more latency, with no client to use the parallelism. Servers for many clients get one
/// worker per core. `TOKIO_WORKER_THREADS` overrides both. Blocking work (document
/// extraction) runs on the blocking pool either way.
fn runtime(one_client: bool) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if one_client && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    builder
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}
