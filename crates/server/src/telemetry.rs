//! OpenTelemetry traces over OTLP/HTTP, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//! (docs/OBSERVABILITY.md).
//!
//! Spans are ordinary `tracing` spans with their own targets ([`SPAN_TARGET`] here,
//! `nextcloud::span` in the client crate), which the log output never shows: one per HTTP
//! request to the MCP endpoint, one per tool call, one per request sent to Nextcloud. Only the
//! OpenTelemetry layer listens to them, so without an endpoint they cost next to nothing.
//!
//! W3C trace context: an incoming `traceparent` continues the caller's trace, and every
//! Nextcloud request carries the `traceparent` of its own span (through the client's
//! [`nextcloud::RequestObserver::inject_headers`] hook).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The target of this crate's trace spans; the log output filters it out.
pub const SPAN_TARGET: &str = "nextcloud_mcp::span";
/// The target of the client crate's spans (one per Nextcloud request).
pub const CLIENT_SPAN_TARGET: &str = "nextcloud::span";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (an OTLP endpoint is configured and the exporter is running).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Makes `span` a child of the trace named by `headers`' `traceparent`, if any.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    imp::continue_trace(span, headers)
}

/// Writes the current span's `traceparent` (and `tracestate`) into `headers`.
pub fn inject_current(headers: &mut http::HeaderMap) {
    imp::inject_current(headers)
}

/// The client's request observer, wrapped so that every Nextcloud request also carries the
/// trace context when traces are exported.
pub fn nextcloud_observer(
    inner: Arc<dyn nextcloud::RequestObserver>,
) -> Arc<dyn nextcloud::RequestObserver> {
    if enabled() {
        Arc::new(Propagating(inner))
    } else {
        inner
    }
}

struct Propagating(Arc<dyn nextcloud::RequestObserver>);

impl nextcloud::RequestObserver for Propagating {
    fn finished(&self, app: &'static str, status: Option<u16>, elapsed: Duration) {
        self.0.finished(app, status, elapsed);
    }

    fn inject_headers(&self, headers: &mut http::HeaderMap) {
        self.0.inject_headers(headers);
        inject_current(headers);
    }
}

/// Axum middleware: one span per HTTP request, continuing the caller's trace. The request's
/// `traceparent` is replaced by this span's, so the handlers behind rmcp (which run in other
/// tasks) can make their spans its children from the request headers they are given.
pub async fn trace_request(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "http request",
        otel.name = format_args!("{} {}", request.method(), request.uri().path()),
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = request.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    continue_trace(&span, request.headers());
    span.in_scope(|| inject_current(request.headers_mut()));
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}

/// The exporter's handle: [`Telemetry::shutdown`] sends the spans still buffered.
#[derive(Default)]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporter (blocks up to its export timeout). Call it outside the
    /// async runtime, after the server stopped.
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("nextcloud-mcp: could not send the last trace spans: {e}");
        }
    }
}

#[cfg(feature = "otel")]
pub use imp::layer;

#[cfg(feature = "otel")]
mod imp {
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::Targets;

    use super::{CLIENT_SPAN_TARGET, ENABLED, SPAN_TARGET, Telemetry};

    /// The OpenTelemetry layer exporting to `endpoint` (the OTLP base URL; spans go to its
    /// `/v1/traces`, as `OTEL_EXPORTER_OTLP_ENDPOINT` means), listening to the trace spans
    /// only, and the handle that flushes it.
    pub fn layer(
        endpoint: &url::Url,
    ) -> anyhow::Result<(
        Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>,
        Telemetry,
    )> {
        let traces = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the OTLP trace exporter: {e}"))?;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("nextcloud-mcp")
                    .build(),
            )
            .build();
        let tracer = provider.tracer("nextcloud-mcp");
        let only_trace_spans = Targets::new()
            .with_target(SPAN_TARGET, tracing::Level::TRACE)
            .with_target(CLIENT_SPAN_TARGET, tracing::Level::TRACE);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(only_trace_spans)
            .boxed();
        ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok((
            layer,
            Telemetry {
                provider: Some(provider),
            },
        ))
    }

    struct Headers<'a>(&'a http::HeaderMap);

    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(http::HeaderName::as_str).collect()
        }
    }

    struct HeadersMut<'a>(&'a mut http::HeaderMap);

    impl Injector for HeadersMut<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(key.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }

    pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
        if !super::enabled() || !headers.contains_key("traceparent") {
            return;
        }
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        // Fails only when the span is disabled: then there is nothing to continue.
        let _ = span.set_parent(parent);
    }

    pub fn inject_current(headers: &mut http::HeaderMap) {
        if !super::enabled() {
            return;
        }
        let context = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&context, &mut HeadersMut(headers));
    }
}

#[cfg(not(feature = "otel"))]
mod imp {
    pub fn continue_trace(_span: &tracing::Span, _headers: &http::HeaderMap) {}

    pub fn inject_current(_headers: &mut http::HeaderMap) {}
}
