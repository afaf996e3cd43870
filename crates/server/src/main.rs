use nextcloud_mcp::cli::{Cli, Command, DemoArgs, Transport};
use nextcloud_mcp::config::Config;
use nextcloud_mcp::settings::{self, SettingsError};

fn main() -> std::process::ExitCode {
    let cli = match settings::parse_cli() {
        Ok(cli) => cli,
        // --help, --version, or a mistyped flag: clap prints it (and the usage).
        Err(SettingsError::Usage(e)) => e.exit(),
        Err(e) => return fail(e.into()),
    };
    match start(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// One line that names the problem; details are in the log.
fn fail(e: anyhow::Error) -> std::process::ExitCode {
    eprintln!("nextcloud-mcp: {e:#}");
    std::process::ExitCode::FAILURE
}

/// Resolves the configuration first: how many worker threads the runtime gets depends on it.
fn start(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => {
            let config = Config::resolve(*args)?;
            let one_client = config.transport == Transport::Stdio;
            let runtime = runtime(config.worker_threads, one_client)?;
            let telemetry = nextcloud_mcp::logging::init(&config.log)?;
            let done = runtime.block_on(nextcloud_mcp::run(config));
            // Blocking work still running (a document being parsed for a request that was
            // cut off at shutdown) must not keep the process alive.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            telemetry.shutdown();
            done
        }
        Command::RotateKeys(args) => {
            let config = Config::resolve(*args)?;
            let _telemetry = nextcloud_mcp::logging::init(&config.log)?;
            runtime(config.worker_threads, true)?.block_on(async {
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
    let telemetry = nextcloud_mcp::logging::init(&args.log)?;
    let done = runtime(None, false)?.block_on(nextcloud_mcp::demo::run(args));
    telemetry.shutdown();
    done
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
/// worker per core. `--worker-threads` (`TOKIO_WORKER_THREADS`) overrides both. Blocking work
/// (document extraction) runs on the blocking pool either way.
fn runtime(workers: Option<usize>, one_client: bool) -> anyhow::Result<tokio::runtime::Runtime> {
    let workers = workers.unwrap_or_else(|| {
        if one_client {
            1
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    });
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}
