//! The lock per app: an apply, destroy or rollback holds it from before its
//! first read that leads to a write until after its last write, so two of
//! them never change one app at the same time.
//!
//! # The primitive
//!
//! Each backend offers one exclusive step: creating generation `n` of an
//! app's lock succeeds for exactly one caller (on AWS, CreateRepository of
//! the ECR repository `berth_lock/<app>/g<n>`, which fails with
//! RepositoryAlreadyExistsException for everyone else; on the sim, a
//! hard link to `<state>.locks/<app>/g<n>.json`, which fails when the name
//! exists). The record carries the holder (`user@host pid N`), since when,
//! and an expiry in wall-clock seconds (never the sim's virtual clock:
//! locks are about real processes).
//!
//! # The algorithm
//!
//! Acquire: list the app's generations; if any is unexpired, someone holds
//! the lock (refuse, or poll until `wait` runs out). Otherwise create
//! generation `max + 1`. Losing that create means someone else won the same
//! generation at the same moment: they hold it (unless the record carries
//! this run's random token: a retried create whose first attempt had
//! succeeded, which ECR answers "already exists"). Winning it, list again: if
//! another unexpired generation exists besides ours (a racer that listed
//! before ours existed and created a different generation), delete ours and
//! treat the lock as held — both may back off, never both proceed. Then
//! delete the expired older generations (left by holders that crashed) and
//! proceed. While working, the holder pushes its expiry forward every
//! `refresh_every` (default 30 s of a 2 minute TTL), so a long deployment
//! keeps it; a killed holder stops refreshing, and its lock expires within
//! the TTL. Release deletes the generation, on success and on failure.
//!
//! # Why it is safe
//!
//! Two runs can only both proceed if both created a generation and neither
//! saw the other's unexpired generation afterwards. Creating the *same*
//! generation is exclusive. Creating *different* ones means one of them
//! (say B) created its generation after the other (A) had created its own;
//! B's second listing starts after its create, so after A's, and sees A's
//! generation, unexpired — B backs off. (This relies on a listing showing a
//! repository whose creation completed before the listing started, which
//! ECR's DescribeRepositories does.) Expiry is the one way a lock is taken
//! from a live holder, so it assumes the holder's and the contender's clocks
//! agree to well within `ttl - refresh_every` (90 s by default; NTP keeps
//! them within milliseconds) and that a holder is not frozen (SIGSTOP, a
//! suspended laptop) for longer than that; a holder that finds its lock
//! gone when refreshing says so loudly. Like every lease, it cannot stop
//! the AWS calls of a holder that is frozen past its expiry and then wakes.

use std::future::Future;
use std::time::Duration;

use berth_provider::{LockRecord, Provider, ProviderError};
use futures::future::{BoxFuture, Either};

/// Wall-clock time for locks, and a way to wait on it.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now_secs(&self) -> u64;
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

#[derive(Debug, Clone)]
pub struct LockOptions {
    /// `user@host pid N`: shown to whoever finds the lock held.
    pub holder: String,
    /// How long a lock holds without a refresh.
    pub ttl: Duration,
    /// How often a holder refreshes its lock.
    pub refresh_every: Duration,
    /// How long to wait for a held lock; `None` refuses at once.
    pub wait: Option<Duration>,
    /// How often to look again while waiting.
    pub poll: Duration,
}

/// The default lifetime of a lock that is not refreshed.
pub const DEFAULT_TTL: Duration = Duration::from_secs(120);

impl LockOptions {
    pub fn new(holder: impl Into<String>) -> Self {
        LockOptions { holder: holder.into(), ttl: DEFAULT_TTL, refresh_every: DEFAULT_TTL / 4, wait: None, poll: Duration::from_secs(3) }
    }

    /// The TTL, with refreshes at a quarter of it (at least every second).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self.refresh_every = (self.ttl / 4).max(Duration::from_millis(250));
        self.poll = self.poll.min(self.ttl / 2).max(Duration::from_millis(250));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock (after waiting, when asked to wait).
    #[error("app {} is locked by {}", holder.app, holder.holder)]
    Held { holder: LockRecord, now: u64 },
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// A held lock. Release it with [`Lock::release`]; dropped without that (a
/// panic), it expires as a crashed holder's does.
#[derive(Debug)]
pub struct Lock {
    record: LockRecord,
    opts: LockOptions,
}

/// The generation that holds the lock among `records` at `now` (the oldest
/// unexpired one), other than `except`.
fn holder(records: &[LockRecord], now: u64, except: Option<u64>) -> Option<LockRecord> {
    records.iter().filter(|r| r.live_at(now) && Some(r.generation) != except).min_by_key(|r| r.generation).cloned()
}

/// A value no other run picks (std's hasher keys are random per process and per instance).
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    format!("{:016x}", h.finish())
}

fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// One attempt: the lock, or who holds it.
pub async fn try_acquire(provider: &dyn Provider, clock: &dyn Clock, app: &str, opts: &LockOptions) -> Result<Lock, LockError> {
    let now = clock.now_secs();
    let records = provider.lock_list(app).await?;
    if let Some(h) = holder(&records, now, None) {
        return Err(LockError::Held { holder: h, now });
    }
    let generation = records.iter().map(|r| r.generation).max().unwrap_or(0) + 1;
    claim(provider, clock, app, opts, generation).await
}

/// Creates `generation` and keeps it if no other unexpired generation exists.
async fn claim(provider: &dyn Provider, clock: &dyn Clock, app: &str, opts: &LockOptions, generation: u64) -> Result<Lock, LockError> {
    claim_as(provider, clock, app, opts, generation, token()).await
}

async fn claim_as(
    provider: &dyn Provider,
    clock: &dyn Clock,
    app: &str,
    opts: &LockOptions,
    generation: u64,
    token: String,
) -> Result<Lock, LockError> {
    let now = clock.now_secs();
    let mine =
        LockRecord { app: app.to_string(), generation, holder: opts.holder.clone(), since: now, expires: now + secs(opts.ttl), token };
    if !provider.lock_create(&mine).await? {
        let now = clock.now_secs();
        let records = provider.lock_list(app).await?;
        let found = records.iter().find(|r| r.generation == generation).cloned();
        // Ours after all: an earlier attempt of a retried create had made it.
        let ours = found.as_ref().is_some_and(|r| r.token == mine.token);
        if !ours {
            // Someone created this very generation first: theirs.
            let h = found.or_else(|| holder(&records, now, None));
            return Err(LockError::Held {
                // Released already: still theirs at the moment we tried.
                holder: h.unwrap_or(LockRecord { holder: "another run (released since)".into(), ..mine }),
                now,
            });
        }
    }
    let now = clock.now_secs();
    let records = match provider.lock_list(app).await {
        Ok(r) => r,
        Err(e) => {
            let _ = provider.lock_delete(&mine).await;
            return Err(e.into());
        }
    };
    if let Some(h) = holder(&records, now, Some(generation)) {
        // A racer made another generation: neither may proceed on it. Back off.
        provider.lock_delete(&mine).await?;
        return Err(LockError::Held { holder: h, now });
    }
    for stale in records.iter().filter(|r| r.generation < generation && !r.live_at(now)) {
        // Left by a holder that crashed; best effort (a racer may delete it too).
        let _ = provider.lock_delete(stale).await;
    }
    Ok(Lock { record: mine, opts: opts.clone() })
}

/// The lock, waiting up to `opts.wait` for a holder to release it;
/// `waiting` is told each time berth finds it held and will look again.
pub async fn acquire(
    provider: &dyn Provider,
    clock: &dyn Clock,
    app: &str,
    opts: &LockOptions,
    waiting: &mut (dyn FnMut(&LockRecord, u64) + Send),
) -> Result<Lock, LockError> {
    let start = clock.now_secs();
    let deadline = opts.wait.map(|w| start + secs(w));
    loop {
        match try_acquire(provider, clock, app, opts).await {
            Err(LockError::Held { holder, now }) if deadline.is_some_and(|d| now < d) => {
                waiting(&holder, now);
                let left = Duration::from_secs(deadline.unwrap_or(now) - now);
                clock.sleep(opts.poll.min(left)).await;
            }
            other => return other,
        }
    }
}

impl Lock {
    pub fn record(&self) -> &LockRecord {
        &self.record
    }

    /// Runs `work` while refreshing the lock every `refresh_every`; `warn`
    /// hears of a refresh that failed (the lock is lost if it is gone).
    pub async fn hold<F: Future>(&self, provider: &dyn Provider, clock: &dyn Clock, work: F, warn: &(dyn Fn(String) + Sync)) -> F::Output {
        let refresh = async {
            loop {
                clock.sleep(self.opts.refresh_every).await;
                let now = clock.now_secs();
                let next = LockRecord { expires: now + secs(self.opts.ttl), ..self.record.clone() };
                match provider.lock_refresh(&next).await {
                    Ok(()) => {}
                    Err(ProviderError::NotFound { .. }) => {
                        warn(format!(
                            "the lock of app {} ({}) is gone: it expired and another run may have taken it; this run goes on without it",
                            self.record.app,
                            self.record.resource_name()
                        ));
                        break;
                    }
                    Err(e) => warn(format!("could not refresh the lock of app {} (will retry): {e}", self.record.app)),
                }
            }
            futures::future::pending::<()>().await
        };
        let work = std::pin::pin!(work);
        let refresh = std::pin::pin!(refresh);
        match futures::future::select(work, refresh).await {
            Either::Left((out, _)) => out,
            Either::Right(((), work)) => work.await,
        }
    }

    /// Deletes the lock (the refresh stopped when `hold` returned).
    pub async fn release(self, provider: &dyn Provider) -> Result<(), ProviderError> {
        provider.lock_delete(&self.record).await
    }
}

/// `1m50s`, `45s`.
pub fn short_duration(secs: u64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use berth_sim::Sim;

    use super::*;

    /// A clock that moves only when slept on (one yield per sleep, so
    /// concurrent futures get their turn).
    #[derive(Clone, Default)]
    struct FakeClock(Arc<AtomicU64>);

    impl Clock for FakeClock {
        fn now_secs(&self) -> u64 {
            1_000_000 + self.0.load(Ordering::SeqCst) / 1000
        }
        fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
            self.0.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
            Box::pin(async {
                let mut yielded = false;
                futures::future::poll_fn(move |cx| {
                    if yielded {
                        std::task::Poll::Ready(())
                    } else {
                        yielded = true;
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    }
                })
                .await
            })
        }
    }

    fn opts(holder: &str) -> LockOptions {
        LockOptions::new(holder)
    }

    fn held(r: Result<Lock, LockError>) -> LockRecord {
        match r {
            Err(LockError::Held { holder, .. }) => holder,
            other => panic!("expected held, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_the_second_learns_who() {
        let sim = Sim::new();
        let clock = FakeClock::default();
        let a = try_acquire(&sim, &clock, "shop", &opts("alice@ci pid 1")).await.expect("a gets it");
        assert_eq!(a.record().generation, 1);
        let h = held(try_acquire(&sim, &clock, "shop", &opts("bob@laptop pid 2")).await);
        assert_eq!(h.holder, "alice@ci pid 1");
        assert_eq!(h.since, clock.now_secs());
        // Another app has a lock of its own.
        let other = try_acquire(&sim, &clock, "blog", &opts("bob@laptop pid 2")).await.expect("blog is free");
        a.release(&sim).await.expect("release");
        let b = try_acquire(&sim, &clock, "shop", &opts("bob@laptop pid 2")).await.expect("free again");
        assert_eq!(b.record().generation, 1, "a released lock leaves no generation behind");
        b.release(&sim).await.expect("release");
        other.release(&sim).await.expect("release");
        assert!(sim.lock_list("shop").await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_crashed_holders_lock_expires_and_its_generation_is_cleaned_up() {
        let sim = Sim::new();
        let clock = FakeClock::default();
        let crashed = try_acquire(&sim, &clock, "shop", &opts("alice pid 1")).await.expect("a");
        std::mem::forget(crashed); // never released, never refreshed
        clock.sleep(DEFAULT_TTL).await;
        held(try_acquire(&sim, &clock, "shop", &opts("bob pid 2")).await);
        clock.sleep(Duration::from_secs(1)).await;
        let b = try_acquire(&sim, &clock, "shop", &opts("bob pid 2")).await.expect("expired");
        assert_eq!(b.record().generation, 2);
        let left = sim.lock_list("shop").await.expect("list");
        assert_eq!(left.iter().map(|r| r.generation).collect::<Vec<_>>(), vec![2], "the stale generation is deleted");
        b.release(&sim).await.expect("release");
    }

    #[tokio::test]
    async fn a_racer_that_made_another_generation_backs_off() {
        let sim = Sim::new();
        let clock = FakeClock::default();
        // Generation 5 was created by a racer after our first listing (which
        // saw only expired generations up to 6, so we claim 7).
        let now = clock.now_secs();
        let theirs = LockRecord {
            app: "shop".into(),
            generation: 5,
            holder: "carol pid 3".into(),
            since: now,
            expires: now + 100,
            token: "carol".into(),
        };
        assert!(sim.lock_create(&theirs).await.expect("create"));
        let h = held(claim(&sim, &clock, "shop", &opts("bob pid 2"), 7).await);
        assert_eq!(h.generation, 5);
        let left: Vec<u64> = sim.lock_list("shop").await.expect("list").iter().map(|r| r.generation).collect();
        assert_eq!(left, vec![5], "ours is deleted again");
        // And a claim that loses the create reports the winner.
        let h = held(claim(&sim, &clock, "shop", &opts("bob pid 2"), 5).await);
        assert_eq!(h.holder, "carol pid 3");
    }

    #[tokio::test]
    async fn a_create_that_succeeded_before_its_retry_is_ours() {
        let sim = Sim::new();
        let clock = FakeClock::default();
        // A retried CreateRepository whose first attempt had made it: the
        // retry says "already exists", and the token tells it is ours.
        let now = clock.now_secs();
        let first = LockRecord {
            app: "shop".into(),
            generation: 1,
            holder: "alice pid 1".into(),
            since: now,
            expires: now + 120,
            token: "t1".into(),
        };
        assert!(sim.lock_create(&first).await.expect("create"));
        let a = claim_as(&sim, &clock, "shop", &opts("alice pid 1"), 1, "t1".into()).await.expect("ours after all");
        assert_eq!(a.record().generation, 1);
        // Someone else's token: theirs.
        let h = held(claim_as(&sim, &clock, "shop", &opts("bob pid 2"), 1, "t2".into()).await);
        assert_eq!(h.holder, "alice pid 1");
        a.release(&sim).await.expect("release");
        assert!(sim.lock_list("shop").await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn waiting_for_a_holder_that_releases() {
        let sim = Sim::new();
        let clock = FakeClock::default();
        let a = try_acquire(&sim, &clock, "shop", &opts("alice pid 1")).await.expect("a");
        let mut seen = Vec::new();
        let waiter = LockOptions { wait: Some(Duration::from_secs(60)), ..opts("bob pid 2") };
        let release_later = async {
            clock.sleep(Duration::from_secs(10)).await;
            a.release(&sim).await.expect("release");
        };
        let mut note = |h: &LockRecord, _| seen.push(h.holder.clone());
        let (_, b) = futures::join!(release_later, acquire(&sim, &clock, "shop", &waiter, &mut note));
        let b = b.expect("acquired after the release");
        assert!(!seen.is_empty() && seen.iter().all(|h| h == "alice pid 1"), "{seen:?}");
        // Waiting gives up at the deadline, naming the holder.
        let short = LockOptions { wait: Some(Duration::from_secs(7)), ..opts("carol pid 3") };
        let start = clock.now_secs();
        let h = held(acquire(&sim, &clock, "shop", &short, &mut |_, _| {}).await);
        assert_eq!(h.holder, "bob pid 2");
        assert_eq!(clock.now_secs() - start, 7);
        b.release(&sim).await.expect("release");
    }

    #[tokio::test]
    async fn holding_refreshes_the_expiry_so_a_long_run_keeps_the_lock() {
        let sim = Sim::new();
        let clock = FakeClock::default();
        let a = try_acquire(&sim, &clock, "shop", &opts("alice pid 1")).await.expect("a");
        let warnings = std::sync::Mutex::new(Vec::new());
        let warn = |w: String| warnings.lock().expect("lock").push(w);
        // Ten minutes of work, five TTLs: nobody gets the lock meanwhile.
        let work = async {
            for _ in 0..20 {
                clock.sleep(Duration::from_secs(30)).await;
                held(try_acquire(&sim, &clock, "shop", &opts("bob pid 2")).await);
            }
            "done"
        };
        assert_eq!(a.hold(&sim, &clock, work, &warn).await, "done");
        assert!(warnings.lock().expect("lock").is_empty());
        let rec = &sim.lock_list("shop").await.expect("list")[0];
        assert!(rec.expires >= clock.now_secs() + 60, "refreshed: {rec:?}");
        // A lock deleted under its holder is reported, and the work goes on.
        sim.lock_delete(rec).await.expect("steal");
        let work = async {
            for _ in 0..4 {
                clock.sleep(Duration::from_secs(30)).await;
            }
            1
        };
        assert_eq!(a.hold(&sim, &clock, work, &warn).await, 1);
        assert!(warnings.lock().expect("lock").iter().any(|w| w.contains("is gone")), "{:?}", warnings.lock().expect("lock"));
        a.release(&sim).await.expect("releasing a lost lock is fine");
    }

    #[test]
    fn durations() {
        assert_eq!(short_duration(110), "1m50s");
        assert_eq!(short_duration(45), "45s");
        assert_eq!(short_duration(120), "2m");
    }
}
