//! The lock record: one generation of an app's lock, as the provider keeps
//! it (an ECR repository with tags on AWS, a file beside the sim's state).
//! The algorithm that uses it lives in `berth_engine::lock`.

/// The first segment of every lock's resource name. It holds an underscore,
/// which an app name cannot (app names are lowercase letters, digits and
/// hyphens), so `berth_lock/...` never collides with an app's own
/// repositories (`<app>/<service>`), and the app named `berth` (whose
/// repositories start `berth/`) does not see it either.
pub const LOCK_PREFIX: &str = "berth_lock";

/// Tag keys of a lock repository. Deliberately not `berth:app` or
/// `berth:managed`: observing an app must never plan its lock.
pub const TAG_LOCK: &str = "berth:lock";
pub const TAG_LOCK_HOLDER: &str = "berth:lock-holder";
pub const TAG_LOCK_SINCE: &str = "berth:lock-since";
pub const TAG_LOCK_EXPIRES: &str = "berth:lock-expires";
pub const TAG_LOCK_TOKEN: &str = "berth:lock-token";

/// One generation of an app's lock: who holds it, since when, until when
/// (wall-clock seconds since the epoch, on every backend).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockRecord {
    pub app: String,
    /// Generation `n` of the lock is named `berth_lock/<app>/g<n>`.
    pub generation: u64,
    /// `user@host pid N`.
    pub holder: String,
    pub since: u64,
    pub expires: u64,
    /// Unique to the run that made it: tells a run its own lock from
    /// another's when a create was retried after it had succeeded (a
    /// timeout or 5xx on the way back), which ECR answers "already exists".
    #[serde(default)]
    pub token: String,
}

impl LockRecord {
    /// `berth_lock/<app>/g<n>`: the ECR repository name on AWS.
    pub fn resource_name(&self) -> String {
        lock_name(&self.app, self.generation)
    }

    /// Whether the lock still holds at `now` (seconds since the epoch).
    /// Inclusive: with whole seconds, a lock made at 100.9 s with a 1 s TTL
    /// (`expires` 101) still holds at 101.5 s, so it never lasts less than
    /// its TTL (up to a second more).
    pub fn live_at(&self, now: u64) -> bool {
        self.expires >= now
    }
}

/// `berth_lock/<app>/g<n>`.
pub fn lock_name(app: &str, generation: u64) -> String {
    format!("{LOCK_PREFIX}/{app}/g{generation}")
}

/// The generation of a lock of `app` named `name`, if it is one.
pub fn parse_lock_name(app: &str, name: &str) -> Option<u64> {
    let rest = name.strip_prefix(LOCK_PREFIX)?.strip_prefix('/')?.strip_prefix(app)?.strip_prefix("/g")?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_never_match_another_app() {
        assert_eq!(lock_name("shop", 3), "berth_lock/shop/g3");
        assert_eq!(parse_lock_name("shop", "berth_lock/shop/g3"), Some(3));
        assert_eq!(parse_lock_name("shop", "berth_lock/shop-eu/g3"), None);
        assert_eq!(parse_lock_name("shop-eu", "berth_lock/shop/g3"), None);
        assert_eq!(parse_lock_name("shop", "berth_lock/shop/g"), None);
        assert_eq!(parse_lock_name("shop", "berth_lock/shop/g3x"), None);
        assert_eq!(parse_lock_name("shop", "shop/g3"), None);
    }
}
