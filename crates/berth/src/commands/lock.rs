//! The app lock around apply, destroy and rollback (the algorithm and why
//! it is safe: `berth_engine::lock`). `berth plan` and `status` only read
//! and do not lock.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_engine::lock::{short_duration, Clock, Lock, LockError, LockOptions};
use berth_provider::LockRecord;

use crate::cli::Cli;
use crate::commands::{Backend, Target};
use crate::{ExitStatus, Io};

/// Wall-clock time, on every backend (the sim's clock is virtual; locks
/// are about real processes).
struct WallClock;

impl Clock for WallClock {
    fn now_secs(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// The lock of this run, while it works.
pub struct Held {
    lock: Lock,
    /// Debug builds only: `BERTH_TEST_HOLD_LOCK_MS` keeps the lock this long
    /// before working, so tests can overlap runs on the (instant) sim.
    pause: Option<Duration>,
}

/// `user@host pid N`, or `BERTH_LOCK_HOLDER` when set (a CI run can name itself).
fn holder(io: &Io<'_>) -> String {
    if let Some(h) = io.env.get("BERTH_LOCK_HOLDER").filter(|h| !h.trim().is_empty()) {
        return h.trim().to_string();
    }
    let user = ["USER", "USERNAME", "LOGNAME"].iter().find_map(|k| io.env.get(*k).filter(|v| !v.is_empty())).cloned();
    let host = io
        .env
        .get("HOSTNAME")
        .filter(|v| !v.is_empty())
        .cloned()
        .or_else(|| ["/proc/sys/kernel/hostname", "/etc/hostname"].iter().find_map(|p| std::fs::read_to_string(p).ok()))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    format!("{}@{} pid {}", user.as_deref().unwrap_or("unknown"), host.as_deref().unwrap_or("unknown-host"), std::process::id())
}

fn options(io: &Io<'_>, wait: Option<Duration>) -> LockOptions {
    let mut opts = LockOptions::new(holder(io));
    if let Some(ttl) = io.env.get("BERTH_LOCK_TTL_SECS").and_then(|v| v.trim().parse::<u64>().ok()) {
        opts = opts.with_ttl(Duration::from_secs(ttl));
    }
    opts.wait = wait.filter(|w| !w.is_zero());
    opts
}

/// `alice@ci pid 4242 since 2026-12-01T08:30:00Z (expires in 1m50s)`.
fn describe(h: &LockRecord, now: u64) -> String {
    format!(
        "{} since {} (expires in {})",
        h.holder,
        berth_render::time::rfc3339(h.since.saturating_mul(1000)),
        short_duration(h.expires.saturating_sub(now))
    )
}

/// Takes the lock of the target's app before anything that writes; `None`
/// when someone else holds it (said on stderr; nothing was written, and the
/// caller must not save the backend). On the sim, the account is read
/// again once the lock is held: the state loaded before may predate the
/// previous holder's writes.
pub async fn acquire(
    cli: &Cli,
    io: &mut Io<'_>,
    target: &Target,
    backend: Backend,
    wait: Option<Duration>,
) -> anyhow::Result<Option<(Backend, Held)>> {
    let app = target.desired.app.clone();
    let opts = options(io, wait);
    let pause = if cfg!(debug_assertions) {
        io.env.get("BERTH_TEST_HOLD_LOCK_MS").and_then(|v| v.parse().ok()).map(Duration::from_millis)
    } else {
        None
    };
    let mut last: Option<(u64, String)> = None;
    let stderr = &mut *io.stderr;
    let mut waiting = |h: &LockRecord, now: u64| {
        if last.as_ref() != Some(&(h.generation, h.holder.clone())) {
            let _ = writeln!(stderr, "Waiting for the lock of app {}: held by {}", h.app, describe(h, now));
            last = Some((h.generation, h.holder.clone()));
        }
    };
    let acquired = berth_engine::lock::acquire(backend.provider(), &WallClock, &app, &opts, &mut waiting).await;
    let lock = match acquired {
        Ok(lock) => lock,
        Err(LockError::Held { holder, now }) => {
            let still = if opts.wait.is_some() { "still " } else { "" };
            writeln!(
                io.stderr,
                "error: app {app} is {still}locked by {}: another apply, destroy or rollback is running; nothing was changed",
                describe(&holder, now)
            )?;
            match opts.wait {
                Some(w) => writeln!(
                    io.stderr,
                    "  hint: waited {}; wait longer with --wait-for-lock (a killed holder's lock expires by itself)",
                    short_duration(w.as_secs())
                )?,
                None => writeln!(io.stderr, "  hint: wait for it, or pass --wait-for-lock 5m")?,
            }
            return Ok(None);
        }
        Err(LockError::Provider(e)) => return Err(anyhow::Error::new(e).context(format!("taking the lock of app {app}"))),
    };
    let backend = match backend {
        Backend::Sim { .. } => match Backend::open(cli, io, target).await {
            Ok(fresh) => fresh,
            Err(e) => {
                let _ = lock.release(backend.provider()).await;
                return Err(e);
            }
        },
        aws => aws,
    };
    Ok(Some((backend, Held { lock, pause })))
}

impl Held {
    /// Runs `work`, refreshing the lock meanwhile.
    pub async fn hold<F: Future>(&self, backend: &Backend, work: F) -> F::Output {
        let pause = self.pause;
        let work = async move {
            if let Some(p) = pause {
                tokio::time::sleep(p).await;
            }
            work.await
        };
        self.lock.hold(backend.provider(), &WallClock, work, &|w| eprintln!("warning: {w}")).await
    }

    /// Saves the backend (the sim's state file), then releases the lock —
    /// in that order, so the next holder reads what this run wrote.
    pub fn finish(
        self,
        rt: &tokio::runtime::Runtime,
        backend: &Backend,
        cli: &Cli,
        io: &mut Io<'_>,
        status: anyhow::Result<ExitStatus>,
    ) -> anyhow::Result<ExitStatus> {
        let saved = backend.finish(cli, io);
        let name = self.lock.record().resource_name();
        if let Err(e) = rt.block_on(self.lock.release(backend.provider())) {
            writeln!(io.stderr, "warning: could not release the lock {name} ({e}); it expires by itself")?;
        }
        saved?;
        status
    }
}
