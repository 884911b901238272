//! The sim's app locks. The account state is one JSON file that each berth
//! process loads at start and saves at the end, so a lock cannot live in
//! it: two processes would each see their own copy. Locks are files in a
//! directory beside the state file instead, `<state>.locks/<app>/g<n>.json`,
//! made the way the file system makes exactly one winner: the record is
//! written to a temporary file, then hard-linked to its name, which fails
//! when the name exists (an atomic exclusive create, and the record is
//! complete the moment it is visible). A sim without a state file keeps its
//! locks in memory.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use berth_provider::{LockRecord, ProviderError, Result};

pub(crate) struct Locks {
    /// `<state>.locks`, or `None` for an in-memory sim.
    dir: Option<PathBuf>,
    memory: Mutex<BTreeMap<(String, u64), LockRecord>>,
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> ProviderError {
    ProviderError::Other(format!("{what} {}: {e}", path.display()))
}

/// A lock file that cannot be read (not written by berth) is still a
/// lock: someone holds it until two minutes after it was last written.
const UNREADABLE_TTL_SECS: u64 = 120;

impl Locks {
    pub(crate) fn new(state: Option<&Path>) -> Self {
        let dir = state.map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "sim".into());
            p.with_file_name(format!("{name}.locks"))
        });
        Locks { dir, memory: Mutex::new(BTreeMap::new()) }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, u64), LockRecord>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn app_dir(&self, dir: &Path, app: &str) -> Result<PathBuf> {
        // App names are validated long before; never let one leave the directory.
        if app.is_empty() || !app.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(ProviderError::Invalid(format!("{app:?} cannot name a lock")));
        }
        Ok(dir.join(app))
    }

    pub(crate) fn list(&self, app: &str) -> Result<Vec<LockRecord>> {
        let Some(dir) = &self.dir else {
            return Ok(self.memory().values().filter(|r| r.app == app).cloned().collect());
        };
        let dir = self.app_dir(dir, app)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("cannot list the locks in", &dir, &e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(generation) = name.strip_prefix('g').and_then(|n| n.strip_suffix(".json")).and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            let path = entry.path();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // Released between the listing and the read.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("cannot read the lock", &path, &e)),
            };
            match serde_json::from_str::<LockRecord>(&text) {
                Ok(r) if r.app == app && r.generation == generation => out.push(r),
                _ => {
                    let written = entry
                        .metadata()
                        .ok()
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs());
                    out.push(LockRecord {
                        app: app.to_string(),
                        generation,
                        holder: format!("unknown (unreadable lock file {})", path.display()),
                        since: written,
                        expires: written + UNREADABLE_TTL_SECS,
                        token: String::new(),
                    });
                }
            }
        }
        out.sort_by_key(|r| r.generation);
        Ok(out)
    }

    pub(crate) fn create(&self, lock: &LockRecord) -> Result<bool> {
        let Some(dir) = &self.dir else {
            let mut m = self.memory();
            let key = (lock.app.clone(), lock.generation);
            if m.contains_key(&key) {
                return Ok(false);
            }
            m.insert(key, lock.clone());
            return Ok(true);
        };
        let dir = self.app_dir(dir, &lock.app)?;
        std::fs::create_dir_all(&dir).map_err(|e| io_error("cannot create the lock directory", &dir, &e))?;
        let tmp = write_temporary(&dir, lock)?;
        let target = dir.join(format!("g{}.json", lock.generation));
        let linked = std::fs::hard_link(&tmp, &target);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error("cannot create the lock", &target, &e)),
        }
    }

    pub(crate) fn refresh(&self, lock: &LockRecord) -> Result<()> {
        let gone = || ProviderError::NotFound { what: format!("the lock {}", lock.resource_name()) };
        let Some(dir) = &self.dir else {
            let mut m = self.memory();
            let r = m.get_mut(&(lock.app.clone(), lock.generation)).ok_or_else(gone)?;
            r.expires = lock.expires;
            return Ok(());
        };
        let dir = self.app_dir(dir, &lock.app)?;
        let target = dir.join(format!("g{}.json", lock.generation));
        if !target.exists() {
            return Err(gone());
        }
        // Replace the record whole (rename is atomic): readers see the old or the new one.
        let tmp = write_temporary(&dir, lock)?;
        std::fs::rename(&tmp, &target).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_error("cannot refresh the lock", &target, &e)
        })
    }

    pub(crate) fn delete(&self, lock: &LockRecord) -> Result<()> {
        let Some(dir) = &self.dir else {
            self.memory().remove(&(lock.app.clone(), lock.generation));
            return Ok(());
        };
        let target = self.app_dir(dir, &lock.app)?.join(format!("g{}.json", lock.generation));
        match std::fs::remove_file(&target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("cannot delete the lock", &target, &e)),
        }
    }
}

/// The record in a file of its own, named so no other writer (process or
/// thread) picks the same name and listings skip it.
fn write_temporary(dir: &Path, lock: &LockRecord) -> Result<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(".g{}.{}.{}.tmp", lock.generation, std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let text = serde_json::to_string_pretty(lock).unwrap_or_default();
    std::fs::write(&tmp, text).map_err(|e| io_error("cannot write the lock", &tmp, &e))?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(app: &str, generation: u64, holder: &str) -> LockRecord {
        LockRecord { app: app.into(), generation, holder: holder.into(), since: 100, expires: 200, token: holder.into() }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-sim-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn file_locks_are_exclusive_across_instances_and_threads() {
        let dir = scratch("exclusive");
        let state = dir.join("sim.json");
        // Sixteen openers of the same state, racing for generation 1: one wins.
        let winners: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let state = state.clone();
                    s.spawn(move || Locks::new(Some(&state)).create(&record("shop", 1, &format!("t{i}"))).expect("create"))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        assert_eq!(winners.iter().filter(|w| **w).count(), 1, "{winners:?}");
        let other = Locks::new(Some(&state));
        let listed = other.list("shop").expect("list");
        assert_eq!(listed.len(), 1);
        assert!(listed[0].holder.starts_with('t'));
        assert!(other.list("shop-eu").expect("list").is_empty(), "another app's locks are its own");
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.join("sim.json.locks/shop"))
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["g1.json".to_string()]);

        let mut refreshed = listed[0].clone();
        refreshed.expires = 999;
        other.refresh(&refreshed).expect("refresh");
        assert_eq!(Locks::new(Some(&state)).list("shop").expect("list")[0].expires, 999);
        other.delete(&refreshed).expect("delete");
        other.delete(&refreshed).expect("deleting twice is fine");
        assert!(other.list("shop").expect("list").is_empty());
        assert!(matches!(other.refresh(&refreshed), Err(ProviderError::NotFound { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_lock_file_still_counts_as_held() {
        let dir = scratch("unreadable");
        let state = dir.join("sim.json");
        std::fs::create_dir_all(dir.join("sim.json.locks/shop")).expect("mkdir");
        std::fs::write(dir.join("sim.json.locks/shop/g4.json"), "{").expect("write");
        let listed = Locks::new(Some(&state)).list("shop").expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].generation, 4);
        assert!(listed[0].holder.contains("unreadable"), "{listed:?}");
        assert_eq!(listed[0].expires, listed[0].since + UNREADABLE_TTL_SECS);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn memory_locks() {
        let locks = Locks::new(None);
        assert!(locks.create(&record("shop", 1, "a")).expect("create"));
        assert!(!locks.create(&record("shop", 1, "b")).expect("create"));
        assert_eq!(locks.list("shop").expect("list")[0].holder, "a");
        locks.delete(&record("shop", 1, "a")).expect("delete");
        assert!(locks.list("shop").expect("list").is_empty());
    }

    #[test]
    fn app_names_cannot_leave_the_lock_directory() {
        let dir = scratch("names");
        let locks = Locks::new(Some(&dir.join("sim.json")));
        assert!(locks.list("../x").is_err());
        assert!(locks.create(&record("a/b", 1, "x")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
