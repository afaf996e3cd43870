use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::ProbedApp;

/// Told about every HTTP request the client sends to Nextcloud (each attempt, retries
/// included), so an application can count them without this crate knowing how.
pub trait RequestObserver: Send + Sync {
    /// `app` names the API the request went to (`notes`, `files`, `calendars`, `cloud`, ...;
    /// `other` when unknown); `status` is `None` when no answer came (timeout, refused, reset).
    fn finished(&self, app: &'static str, status: Option<u16>, elapsed: Duration);

    /// Adds headers to a request about to be sent, e.g. W3C `traceparent` for distributed
    /// tracing. Called inside the request's `tracing` span (target `nextcloud::span`), so an
    /// application can read that span's context; this crate knows no tracing system.
    fn inject_headers(&self, _headers: &mut http::HeaderMap) {}
}

/// How the shared HTTP client talks to one Nextcloud instance.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL of the instance, e.g. `https://cloud.example.com` (a sub-path install is fine).
    pub base_url: url::Url,
    /// Time allowed to open a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub request_timeout: Duration,
    /// `false` accepts any TLS certificate; for test instances only.
    pub verify_tls: bool,
    /// Extra PEM bundle of trusted roots, for instances behind a private CA.
    pub ca_bundle: Option<PathBuf>,
    pub retry: RetryPolicy,
    /// How long fetched capabilities are trusted before they are asked for again.
    pub capabilities_ttl: Duration,
    pub user_agent: String,
    /// Told about every request sent; `None` = nobody is.
    pub observer: Option<Arc<dyn RequestObserver>>,
    /// Capability-less apps whose API is asked, with the capabilities, whether it is
    /// installed (all by default; a server offering none of their tools asks none).
    pub probed_apps: BTreeSet<ProbedApp>,
}

impl std::fmt::Debug for dyn RequestObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestObserver")
    }
}

impl ClientConfig {
    pub fn new(base_url: url::Url) -> Self {
        Self {
            base_url,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            verify_tls: true,
            ca_bundle: None,
            retry: RetryPolicy::default(),
            capabilities_ttl: Duration::from_secs(300),
            user_agent: concat!("nextcloud-mcp/", env!("CARGO_PKG_VERSION")).to_string(),
            observer: None,
            probed_apps: ProbedApp::ALL.into(),
        }
    }
}

/// Retries for transient failures: 429 (honouring `Retry-After`), 423 Locked, and connection
/// resets. Only idempotent requests are retried; a reset is retried only for safe methods,
/// since a reset PUT may already have been applied.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// First back-off; doubles with each retry, with jitter.
    pub initial_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the caller gets the 429.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_wait: Duration::from_secs(10),
        }
    }
}
