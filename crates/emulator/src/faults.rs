//! Fault injection: latency, error statuses and dropped connections, applied before routing so
//! clients can be tested against an unreliable Nextcloud.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A fault plan. Tests install one with [`crate::EmulatorHandle::set_faults`] or
/// `PUT /__emulator/faults`; it replaces the previous plan.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Faults {
    /// Only requests whose path starts with this are affected (`None` = all).
    pub path_prefix: Option<String>,
    /// Added to every affected request.
    pub latency_ms: u64,
    /// Answer affected requests with this status (e.g. 503) ...
    pub error_status: Option<u16>,
    /// ... and this `Retry-After` header (use with 429).
    pub retry_after_secs: Option<u64>,
    /// Close the TCP connection without any response.
    pub drop_connection: bool,
    /// How many requests the error/drop applies to (`None` = until cleared); latency ignores it.
    pub remaining: Option<u32>,
}

/// What the front door must do with one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultAction {
    pub latency: Option<Duration>,
    pub outcome: FaultOutcome,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum FaultOutcome {
    #[default]
    Pass,
    Error {
        status: u16,
        retry_after: Option<u64>,
    },
    Drop,
}

/// The active plan plus its countdown.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    plan: Option<Faults>,
}

impl FaultState {
    pub fn set(&mut self, faults: Faults) {
        self.plan = Some(faults);
    }

    pub fn clear(&mut self) {
        self.plan = None;
    }

    /// Decides the fate of a request to `path`, consuming one unit of `remaining` when an error
    /// or drop is applied. Control endpoints (`/__emulator/`) are never affected.
    pub fn decide(&mut self, path: &str) -> FaultAction {
        if path.starts_with("/__emulator/") {
            return FaultAction::default();
        }
        let Some(plan) = self.plan.as_mut() else {
            return FaultAction::default();
        };
        if let Some(prefix) = &plan.path_prefix
            && !path.starts_with(prefix.as_str())
        {
            return FaultAction::default();
        }
        let latency = (plan.latency_ms > 0).then(|| Duration::from_millis(plan.latency_ms));
        let wants_fault = plan.drop_connection || plan.error_status.is_some();
        let budget_left = plan.remaining.is_none_or(|n| n > 0);
        let outcome = if wants_fault && budget_left {
            if let Some(n) = plan.remaining.as_mut() {
                *n -= 1;
            }
            if plan.drop_connection {
                FaultOutcome::Drop
            } else {
                FaultOutcome::Error {
                    status: plan.error_status.unwrap_or(503),
                    retry_after: plan.retry_after_secs,
                }
            }
        } else {
            FaultOutcome::Pass
        };
        FaultAction { latency, outcome }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_counts_down_and_prefix_filters() {
        let mut st = FaultState::default();
        st.set(Faults {
            path_prefix: Some("/ocs/".into()),
            error_status: Some(429),
            retry_after_secs: Some(7),
            remaining: Some(2),
            latency_ms: 5,
            ..Default::default()
        });
        assert_eq!(st.decide("/status.php"), FaultAction::default());
        assert_eq!(st.decide("/__emulator/faults"), FaultAction::default());
        for _ in 0..2 {
            let a = st.decide("/ocs/v2.php/cloud/user");
            assert_eq!(
                a.outcome,
                FaultOutcome::Error {
                    status: 429,
                    retry_after: Some(7)
                }
            );
        }
        let a = st.decide("/ocs/v2.php/cloud/user");
        assert_eq!(a.outcome, FaultOutcome::Pass);
        assert_eq!(a.latency, Some(Duration::from_millis(5)));
    }
}
