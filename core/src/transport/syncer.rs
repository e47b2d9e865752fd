//! A worker that keeps a replica in sync with its peers: a round with each every interval,
//! backoff with jitter after a failure, a wake-up on demand, and a status per peer.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sync::{Replication, RoundReport, SyncLink};

/// How often to sync, and how far to back off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncerConfig {
    /// Time between rounds with a peer that answers.
    pub interval_ms: u64,
    /// Longest wait after failures (the wait doubles per failure from `interval_ms`).
    pub backoff_max_ms: u64,
}

impl Default for SyncerConfig {
    fn default() -> Self {
        SyncerConfig { interval_ms: 5_000, backoff_max_ms: 300_000 }
    }
}

/// What the worker knows of one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStatus {
    pub peer: String,
    /// Rounds that completed.
    pub rounds: u64,
    /// Failures since the last completed round (0 when the peer answers).
    pub failures: u32,
    /// The last completed round.
    pub last_round: Option<RoundReport>,
    /// The last failure's code and message.
    pub last_error: Option<(String, String)>,
}

struct State {
    stop: bool,
    wake: bool,
    status: Vec<PeerStatus>,
}

/// Wakes a [`Syncer`] (cheap to clone; does nothing once the syncer stopped).
#[derive(Clone)]
pub struct SyncerWaker {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl SyncerWaker {
    /// Runs a round with every peer now.
    pub fn wake(&self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).wake = true;
        cv.notify_all();
    }
}

/// A thread running [`Replication::sync_with`] against each peer.
pub struct Syncer {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the worker; the first round with each peer runs at once.
    pub fn start(replication: Replication, links: Vec<Box<dyn SyncLink + Send>>, config: SyncerConfig) -> Result<Syncer> {
        if config.interval_ms == 0 || config.backoff_max_ms < config.interval_ms {
            return Err(Error::InvalidArgument(format!(
                "syncer: interval_ms must be > 0 and backoff_max_ms >= interval_ms (got {} and {})",
                config.interval_ms, config.backoff_max_ms
            )));
        }
        let status = links.iter().map(|l| PeerStatus { peer: l.peer(), ..PeerStatus::default() }).collect();
        let shared = Arc::new((Mutex::new(State { stop: false, wake: false, status }), Condvar::new()));
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("aisle-syncer".into())
            .spawn(move || run(&replication, links, config, &sh))
            .map_err(|e| Error::InvalidArgument(format!("syncer: cannot start its thread: {e}")))?;
        Ok(Syncer { shared, thread: Some(thread) })
    }

    /// Each peer's status.
    pub fn status(&self) -> Vec<PeerStatus> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner()).status.clone()
    }

    /// Runs a round with every peer now (backoff included), e.g. after a local write that
    /// should travel at once or when the network comes back.
    pub fn sync_now(&self) {
        self.waker().wake();
    }

    /// A handle that can wake this syncer from another thread (e.g. a [`super::HubWatch`]).
    pub fn waker(&self) -> SyncerWaker {
        SyncerWaker { shared: self.shared.clone() }
    }

    /// Stops after the round in progress, if any.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(replication: &Replication, mut links: Vec<Box<dyn SyncLink + Send>>, config: SyncerConfig, shared: &(Mutex<State>, Condvar)) {
    let (lock, cv) = shared;
    let mut due: Vec<Instant> = vec![Instant::now(); links.len()];
    let mut rng = fastrand::Rng::new();
    loop {
        {
            let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if st.stop {
                    return;
                }
                if st.wake {
                    st.wake = false;
                    due.iter_mut().for_each(|d| *d = Instant::now());
                }
                let now = Instant::now();
                let Some(next) = due.iter().min().copied() else {
                    st = cv.wait(st).unwrap_or_else(|p| p.into_inner());
                    continue;
                };
                if next <= now {
                    break;
                }
                st = cv.wait_timeout(st, next - now).unwrap_or_else(|p| p.into_inner()).0;
            }
        }
        let now = Instant::now();
        for (i, link) in links.iter_mut().enumerate() {
            if due[i] > now {
                continue;
            }
            let outcome = replication.sync_with(link.as_mut());
            let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
            let s = &mut st.status[i];
            let wait_ms = match outcome {
                Ok(r) => {
                    s.rounds += 1;
                    s.failures = 0;
                    s.last_round = Some(r);
                    config.interval_ms
                }
                Err(e) => {
                    s.failures = s.failures.saturating_add(1);
                    s.last_error = Some((e.code().to_owned(), e.to_string()));
                    let exp = config.interval_ms.saturating_mul(1 << s.failures.min(20)).min(config.backoff_max_ms);
                    // ±25 % jitter, so a fleet that lost its hub does not come back in step.
                    exp - exp / 4 + rng.u64(0..=exp / 2)
                }
            };
            due[i] = Instant::now() + Duration::from_millis(wait_ms);
        }
    }
}
