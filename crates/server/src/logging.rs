//! Logs go to stderr only: in stdio mode stdout carries the MCP protocol.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. `RUST_LOG`, when set, refines `level`.
pub fn init(level: &str, format: LogFormat) {
    let level = if level.eq_ignore_ascii_case("warning") {
        "warn"
    } else {
        level
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{level},tantivy=warn,hyper=warn,reqwest=warn"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init (tests, demo) keeps the first subscriber.
    let _ = result;
}
