//! Logs go to stderr only: in stdio mode stdout carries the MCP protocol. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, trace spans also go to an OpenTelemetry collector
//! (see [`crate::telemetry`]).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

use crate::cli::{LogArgs, LogFormat};
use crate::telemetry::{CLIENT_SPAN_TARGET, SPAN_TARGET, Telemetry};

/// Installs the global subscriber. `--log-filter` (`RUST_LOG`), when set, replaces the filter
/// built from `--log-level`. Returns the trace exporter's handle, to flush it at exit.
pub fn init(settings: &LogArgs) -> anyhow::Result<Telemetry> {
    let filter = settings
        .log_filter
        .as_deref()
        .and_then(|d| EnvFilter::try_new(format!("{d},{}", no_trace_spans())).ok())
        .unwrap_or_else(|| filter(&settings.log_level));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let fmt = match settings.log_format {
        LogFormat::Text => fmt.with_ansi(false).with_filter(filter).boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_filter(filter).boxed(),
    };
    let mut layers = vec![fmt];
    let telemetry = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let (otel, telemetry) = otel_layer(endpoint)?;
            layers.push(otel);
            telemetry
        }
        None => Telemetry::default(),
    };
    // A second init (tests, demo) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layers).try_init();
    if settings.otlp_endpoint.is_some() {
        tracing::info!("exporting traces over OTLP/HTTP");
    }
    Ok(telemetry)
}

type BoxedLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

#[cfg(feature = "otel")]
fn otel_layer(endpoint: &url::Url) -> anyhow::Result<(BoxedLayer, Telemetry)> {
    crate::telemetry::layer(endpoint)
}

#[cfg(not(feature = "otel"))]
fn otel_layer(_endpoint: &url::Url) -> anyhow::Result<(BoxedLayer, Telemetry)> {
    anyhow::bail!(
        "OTEL_EXPORTER_OTLP_ENDPOINT is set but this build has no OpenTelemetry support (cargo feature `otel`): rebuild with it or unset it"
    )
}

/// The trace spans are for the OpenTelemetry exporter only, never log lines.
fn no_trace_spans() -> String {
    format!("{SPAN_TARGET}=off,{CLIENT_SPAN_TARGET}=off")
}

/// The filter for `--log-level`. Libraries speak only of problems unless the operator asks
/// for debug output: rmcp in particular logs the life of every stateless request's service at
/// info (four lines per call, one with the client's whole capabilities), which at the default
/// level would bury the server's own single line per tool call and cost a write per line.
fn filter(level: &str) -> EnvFilter {
    let level = if level.eq_ignore_ascii_case("warning") {
        "warn"
    } else {
        level
    };
    let verbose = ["debug", "trace"]
        .iter()
        .any(|l| level.eq_ignore_ascii_case(l));
    let mut directives = format!(
        "{level},tantivy=warn,hyper=warn,reqwest=warn,{}",
        no_trace_spans()
    );
    if !verbose {
        directives.push_str(",rmcp=warn");
    }
    EnvFilter::new(directives)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What a subscriber with [`filter`]`(level)` writes for one info and one debug event
    /// from rmcp and from this crate.
    fn logged_at(level: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(level))
            .with_writer(move || Capture(sink.clone()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "rmcp::service", "rmcp info");
            tracing::debug!(target: "rmcp::service", "rmcp debug");
            tracing::info!(target: "nextcloud_mcp::mcp", "own info");
            tracing::debug!(target: "nextcloud_mcp::mcp", "own debug");
        });
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn info_keeps_own_lines_and_drops_rmcp_chatter() {
        let log = logged_at("info");
        assert!(log.contains("own info"), "{log}");
        assert!(!log.contains("rmcp info"), "{log}");
        assert!(!log.contains("debug"), "{log}");
    }

    #[test]
    fn debug_shows_rmcp_too() {
        let log = logged_at("DEBUG");
        for line in ["rmcp info", "rmcp debug", "own info", "own debug"] {
            assert!(log.contains(line), "{line} missing: {log}");
        }
    }
}
