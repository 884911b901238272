//! One poll per round for every deployment apply waits on: the waits of a
//! 200-service rollout share rounds, each a batched read (DescribeServices
//! ten services a call), instead of each service polling on its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use berth_provider::{Provider, ProviderError, ServiceProgress};
use tokio::sync::Notify;

use crate::wait::PollPolicy;

#[derive(Default)]
struct Rounds {
    /// How many rounds have completed.
    round: u64,
    /// `(cluster, service)` → the cursor asked for, and the round it waits for.
    wanted: BTreeMap<(String, String), (u64, u64)>,
    /// The latest answer per service, with the round it came from.
    answers: BTreeMap<(String, String), (u64, Result<ServiceProgress, ProviderError>)>,
    /// A new waiter arrived: poll soon rather than after a long backoff.
    newcomer: bool,
    /// When each wait gives up (ms on the provider's clock): a round is
    /// polled then, so a timeout is seen at its time, not a backoff later.
    deadlines: BTreeMap<(String, String), u64>,
}

pub struct Poller {
    rounds: Mutex<Rounds>,
    round_done: Notify,
    /// A wait was asked for while none was pending.
    wake: Notify,
    stop_now: Notify,
    stopped: AtomicBool,
}

impl Default for Poller {
    fn default() -> Self {
        Self::new()
    }
}

impl Poller {
    pub fn new() -> Self {
        Poller {
            rounds: Mutex::new(Rounds::default()),
            round_done: Notify::new(),
            wake: Notify::new(),
            stop_now: Notify::new(),
            stopped: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rounds> {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The service's progress from the next round (events and stopped
    /// tasks after `cursor_ms`).
    pub async fn next(&self, cluster: &str, service: &str, cursor_ms: u64, deadline_ms: u64) -> Result<ServiceProgress, ProviderError> {
        let key = (cluster.to_string(), service.to_string());
        let target = {
            let mut r = self.lock();
            let target = r.round + 1;
            r.wanted.insert(key.clone(), (cursor_ms, target));
            // A wait that just started: poll soon, not after the backoff of the others.
            if r.deadlines.insert(key.clone(), deadline_ms).is_none() {
                r.newcomer = true;
            }
            target
        };
        self.wake.notify_one();
        loop {
            let done = self.round_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            {
                let mut r = self.lock();
                if let Some((round, _)) = r.answers.get(&key) {
                    if *round >= target {
                        if let Some((_, answer)) = r.answers.remove(&key) {
                            return answer;
                        }
                    }
                }
                if self.stopped.load(Ordering::SeqCst) {
                    return Err(ProviderError::Other("apply finished while a wait was pending".into()));
                }
            }
            done.await;
        }
    }

    /// The wait on `service` is over: its deadline no longer times rounds.
    pub fn forget(&self, cluster: &str, service: &str) {
        self.lock().deadlines.remove(&(cluster.to_string(), service.to_string()));
    }

    /// Rounds polled so far.
    pub fn rounds(&self) -> u64 {
        self.lock().round
    }

    /// Ends [`Poller::run`] once the waits are over.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.stop_now.notify_one();
        self.round_done.notify_waiters();
    }

    /// Polls in rounds while anyone waits: every service asked for since the
    /// last round, in batches per cluster; then sleeps the policy's delay
    /// (backing off, back to the first delay when a new wait starts).
    pub async fn run(&self, provider: &dyn Provider, policy: PollPolicy) {
        let mut delay = policy.first;
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let batch: Vec<((String, String), u64)> = {
                let mut r = self.lock();
                if std::mem::take(&mut r.newcomer) {
                    delay = policy.first;
                }
                std::mem::take(&mut r.wanted).into_iter().map(|(k, (cursor, _))| (k, cursor)).collect()
            };
            if batch.is_empty() {
                let woken = self.wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if self.stopped.load(Ordering::SeqCst) || !self.lock().wanted.is_empty() {
                    continue;
                }
                woken.await;
                continue;
            }
            let mut by_cluster: BTreeMap<&str, Vec<(String, u64)>> = BTreeMap::new();
            for ((cluster, service), cursor) in &batch {
                by_cluster.entry(cluster).or_default().push((service.clone(), *cursor));
            }
            let mut answers = Vec::new();
            for (cluster, services) in by_cluster {
                let got = provider.services_progress(cluster, &services).await;
                answers.extend(services.into_iter().map(|(s, _)| (cluster.to_string(), s)).zip(got));
            }
            {
                let mut r = self.lock();
                r.round += 1;
                let round = r.round;
                for (key, answer) in answers {
                    r.answers.insert(key, (round, answer));
                }
            }
            self.round_done.notify_waiters();
            // Let the waits read this round before the clock moves (on the
            // sim a sleep moves it as soon as it is polled).
            tokio::task::yield_now().await;
            // Sleep until the next round (or the first wait's deadline), unless the apply ends first.
            let now = provider.now_ms();
            let first_deadline = self.lock().deadlines.values().copied().filter(|d| *d > now).min();
            let pause = first_deadline.map_or(delay, |d| delay.min(Duration::from_millis(d - now)));
            let stop = self.stop_now.notified();
            tokio::pin!(stop);
            // Stop first: on the sim a sleep moves the clock each time it is polled.
            tokio::select! {
                biased;
                () = &mut stop => {}
                () = provider.sleep(pause) => {}
            }
            delay = Duration::from_secs_f64((delay.as_secs_f64() * policy.factor).min(policy.max.as_secs_f64()));
        }
    }
}
