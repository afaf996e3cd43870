//! Switches only tests may flip: a clock they can move forward (to expire codes, tokens and
//! flows without waiting) and Client ID Metadata Documents from loopback hosts (where the
//! tests serve them). They exist only with the `test-hooks` cargo feature, which the server
//! crate's own tests turn on; in a shipped build [`TestHooks`] is empty and answers with the
//! production behaviour.

#[cfg(feature = "test-hooks")]
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

#[cfg(feature = "test-hooks")]
use super::AuthorizationServer;

/// The test switches' state (nothing without `test-hooks`).
#[derive(Debug, Default)]
pub(super) struct TestHooks {
    #[cfg(feature = "test-hooks")]
    clock_offset: AtomicI64,
    #[cfg(feature = "test-hooks")]
    allow_private_metadata_hosts: AtomicBool,
}

/// A shipped build: the real clock, and public metadata hosts only, so a client id cannot
/// make this server probe its network.
#[cfg(not(feature = "test-hooks"))]
impl TestHooks {
    /// Seconds added to the real clock.
    pub(super) fn clock_offset(&self) -> i64 {
        0
    }

    /// Whether Client ID Metadata Documents may come from loopback/private hosts over http.
    pub(super) fn private_metadata_hosts_allowed(&self) -> bool {
        false
    }
}

#[cfg(feature = "test-hooks")]
impl TestHooks {
    pub(super) fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    pub(super) fn private_metadata_hosts_allowed(&self) -> bool {
        self.allow_private_metadata_hosts.load(Ordering::Relaxed)
    }
}

#[cfg(feature = "test-hooks")]
impl AuthorizationServer {
    /// Test hook: moves this server's clock forward, to expire codes, tokens and flows.
    pub fn advance_clock(&self, secs: i64) {
        self.hooks.clock_offset.fetch_add(secs, Ordering::Relaxed);
    }

    /// Test hook: lets Client ID Metadata Documents be fetched from loopback/private hosts
    /// over http.
    pub fn allow_private_metadata_hosts(&self) {
        self.hooks
            .allow_private_metadata_hosts
            .store(true, Ordering::Relaxed);
    }
}
