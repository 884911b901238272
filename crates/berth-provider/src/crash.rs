//! A test hook for crash safety: with `BERTH_CRASH_AT=<n>` in a debug
//! build, the process dies — as `kill -9` would, with no cleanup — right
//! before its n-th write to the account. Tests enumerate n over every write
//! of an apply and check that re-runs converge with nothing duplicated or
//! orphaned. Release builds ignore the variable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms the hook.
pub const CRASH_AT_VAR: &str = "BERTH_CRASH_AT";

/// A process dies once, so the hook is per process.
static BEFORE_WRITE: OnceLock<u64> = OnceLock::new();
static WRITES: AtomicU64 = AtomicU64::new(0);

/// Arms the hook from the variable's value (debug builds only; a process
/// is armed at most once).
pub fn arm(value: Option<&str>) {
    if let Some(n) = value.and_then(|v| v.trim().parse::<u64>().ok()).filter(|n| *n > 0 && cfg!(debug_assertions)) {
        let _ = BEFORE_WRITE.set(n);
    }
}

/// Counts `operation` if it writes; true when the process must die before
/// sending it. The caller persists what a real account would have kept
/// (the sim its state file), then calls [`die`].
pub fn due(operation: &str) -> bool {
    let Some(n) = BEFORE_WRITE.get() else { return false };
    is_write(operation) && WRITES.fetch_add(1, Ordering::SeqCst) + 1 >= *n
}

/// Dies as `kill -9` would: no destructors, no cleanup.
pub fn die(operation: &str) -> ! {
    eprintln!("{CRASH_AT_VAR}: dying before write {} ({operation})", WRITES.load(Ordering::SeqCst));
    std::process::abort()
}

/// Whether an API operation writes to the account.
pub fn is_write(operation: &str) -> bool {
    let op = operation.rsplit(':').next().unwrap_or(operation);
    ["Create", "Delete", "Update", "Register", "Deregister", "Modify", "Set", "Put", "Tag", "Untag"].iter().any(|p| op.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_told_from_reads() {
        assert!(is_write("ecs:RegisterTaskDefinition") && is_write("DeleteRule") && is_write("CreatePrivateDnsNamespace"));
        assert!(!is_write("DescribeServices") && !is_write("ecs:ListTagsForResource") && !is_write("Observe"));
        // Not armed in tests: nothing ever dies.
        assert!(!due("CreateService"));
    }
}
