//! Handing freed memory back to the system.
//!
//! glibc keeps memory that was freed in its per-thread arenas, ready for the next allocation,
//! and returns it to the OS only when it happens to sit at the top of an arena. After a burst
//! of work (a load peak, a large document read) a server that then idles for hours would keep
//! that peak resident: the benchmark's HTTP server held 37 MB of anonymous memory after its
//! load phase against 6 MB before it. So the heap is trimmed once after start-up, and once
//! after each quiet period that follows some work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long the server must have served nothing before it trims. Long enough that the pauses
/// of an interactive session (a model thinking between two tool calls) rarely trigger it; a
/// trim costs a few milliseconds of one thread, off the request path.
pub const QUIET_PERIOD: Duration = Duration::from_secs(10);

/// Requests served so far; only its changes matter.
static ACTIVITY: AtomicU64 = AtomicU64::new(0);

/// Records that a request is being served, which postpones the next idle trim.
pub fn note_activity() {
    ACTIVITY.fetch_add(1, Ordering::Relaxed);
}

/// Returns the free pages of every malloc arena to the OS (glibc only; elsewhere a no-op).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the OS; it has no preconditions and
    // locks each arena while it works, so it is safe beside other threads' allocations.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims the heap once after every quiet period that follows some activity, for as long as
/// the runtime lives.
pub fn spawn_idle_trim(quiet: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(quiet);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watch = IdleWatch::new(ACTIVITY.load(Ordering::Relaxed));
        loop {
            ticks.tick().await;
            if watch.observe(ACTIVITY.load(Ordering::Relaxed)) {
                // On the blocking pool: walking the arenas must not hold up a worker thread.
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    })
}

/// Decides, from the activity counter read once per quiet period, when a trim is due.
#[derive(Debug)]
struct IdleWatch {
    /// The counter at the previous observation.
    previous: u64,
    /// The counter when the heap was last trimmed.
    trimmed_at: u64,
}

impl IdleWatch {
    fn new(activity: u64) -> Self {
        Self {
            previous: activity,
            trimmed_at: activity,
        }
    }

    /// True when nothing happened since the previous observation but something did since the
    /// last trim: the server has just gone quiet.
    fn observe(&mut self, activity: u64) -> bool {
        let due = activity == self.previous && activity != self.trimmed_at;
        self.previous = activity;
        if due {
            self.trimmed_at = activity;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_after_work_then_quiet() {
        let mut watch = IdleWatch::new(0);
        assert!(
            !watch.observe(0),
            "nothing served yet: nothing to give back"
        );
        assert!(!watch.observe(5), "still busy");
        assert!(!watch.observe(9), "still busy");
        assert!(watch.observe(9), "quiet after work: trim");
        assert!(!watch.observe(9), "already trimmed, still quiet");
        assert!(!watch.observe(10), "busy again");
        assert!(watch.observe(10), "quiet again: trim again");
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn trim_returns_memory_freed_on_another_thread() {
        // 40 MB in small blocks on a thread of its own (an arena other than the main one),
        // freed except every 16th block, which pins the holes so glibc cannot return them by
        // itself: the fragmentation a load peak leaves behind.
        let pinned = std::thread::spawn(|| {
            let blocks: Vec<Vec<u8>> = (0..20_000)
                .map(|i| vec![1 + (i % 200) as u8; 2048])
                .collect();
            blocks.into_iter().step_by(16).collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        let before = anonymous_kib();
        trim();
        let after = anonymous_kib();
        assert!(
            before.saturating_sub(after) > 20 * 1024,
            "trim gave back only {} KiB (anonymous {before} -> {after} KiB)",
            before.saturating_sub(after)
        );
        drop(pinned);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn anonymous_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}
