//! Group commit for durable appends: whoever finds no commit in progress becomes the leader,
//! takes every append queued so far (its own included), writes them in one transaction and
//! hands each appender its own result. Appends that arrive during a commit queue up for the
//! next one, so N concurrent writers pay about one fsync per commit instead of N, and nobody
//! is told "done" before the commit that holds their record.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{db, lock, now_ms};
use crate::edge::{Failure, Shared};
use crate::error::Result;

#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<Queue>,
    cv: Condvar,
    wait: Mutex<Duration>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    leader: bool,
    next_ticket: u64,
    done: HashMap<u64, Result<u64>>,
}

struct Pending {
    ticket: u64,
    stream: String,
    payload: Vec<u8>,
}

/// The most appends one commit takes; the rest wait for the next.
const MAX_GROUP: usize = 4096;

impl GroupCommit {
    pub(crate) fn set_wait(&self, wait: Duration) {
        *lock(&self.wait) = wait.min(Duration::from_millis(100));
    }

    pub(crate) fn append(&self, shared: &Shared, stream: &str, payload: &[u8]) -> Result<u64> {
        let ticket = self.enqueue(stream, payload);
        self.wait(shared, ticket)
    }

    /// Queues an append without waiting for its commit; [`GroupCommit::wait`] waits (and
    /// leads the commit if nobody else is).
    pub(crate) fn enqueue(&self, stream: &str, payload: &[u8]) -> u64 {
        let mut q = lock(&self.state);
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.pending.push(Pending { ticket, stream: stream.to_owned(), payload: payload.to_vec() });
        self.cv.notify_all();
        ticket
    }

    pub(crate) fn wait(&self, shared: &Shared, ticket: u64) -> Result<u64> {
        let mut q = lock(&self.state);
        loop {
            if let Some(r) = q.done.remove(&ticket) {
                return r;
            }
            if q.leader {
                q = self.cv.wait(q).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            q.leader = true;
            let wait = *lock(&self.wait);
            if !wait.is_zero() {
                let deadline = Instant::now() + wait;
                while q.pending.len() < MAX_GROUP {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    q = self.cv.wait_timeout(q, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
            let take = q.pending.len().min(MAX_GROUP);
            let group: Vec<Pending> = q.pending.drain(..take).collect();
            drop(q);
            let results = commit(shared, &group);
            q = lock(&self.state);
            for (p, r) in group.iter().zip(results) {
                q.done.insert(p.ticket, r);
            }
            q.leader = false;
            self.cv.notify_all();
        }
    }
}

/// Writes a group in one transaction. A record refused on its own (full, not JSON, no such
/// stream) fails alone; a failure of the file fails the whole group, none of it committed.
fn commit(shared: &Shared, group: &[Pending]) -> Vec<Result<u64>> {
    let mut each: Vec<Option<Result<u64>>> = Vec::with_capacity(group.len());
    let outcome = shared.write(|tx| {
        each.clear();
        let mut a = db::Appender::new(tx, now_ms());
        for p in group {
            match a.append(&p.stream, &p.payload) {
                Ok(seq) => each.push(Some(Ok(seq))),
                Err(Failure::Domain(e)) => each.push(Some(Err(e))),
                Err(sql) => return Err(sql),
            }
        }
        a.finish()?;
        Ok(())
    });
    match outcome {
        Ok(()) => each.into_iter().map(|r| r.unwrap_or_else(|| Err(crate::error::Error::Store("lost append".into())))).collect(),
        Err(e) => group.iter().map(|_| Err(e.clone())).collect(),
    }
}
