//! Hybrid logical clock: one per device, so every write gets a timestamp that is later than
//! everything the device has written or seen, close to wall-clock time, and never repeats.
//!
//! An [`Hlc`] packs milliseconds since the Unix epoch (upper 48 bits) and a logical counter
//! (lower 16 bits) in a `u64`, so timestamps compare as integers and travel as one varint. A
//! wall clock that jumps back does not make the clock go back (the counter advances); a remote
//! timestamp more than the allowed skew ahead is refused with `SYNC_CLOCK_SKEW` and leaves the
//! clock as it was, so one device with a wrong clock cannot drag every replica into the future.

use crate::error::Error;

/// Bits of the logical counter.
const LOGICAL_BITS: u32 = 16;

/// A hybrid logical timestamp. Totally ordered; `Hlc(0)` is "before everything".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc(pub u64);

impl Hlc {
    pub fn from_parts(wall_ms: u64, logical: u16) -> Hlc {
        Hlc((wall_ms << LOGICAL_BITS) | u64::from(logical))
    }

    /// The wall-clock part: milliseconds since the Unix epoch.
    pub fn wall_ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    pub fn logical(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.wall_ms(), self.logical())
    }
}

/// Default for how far ahead of our wall clock a remote timestamp may be: 5 minutes.
pub const DEFAULT_MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// The clock of one device. Pure: the caller passes the wall-clock reading, so tests can make
/// time jump.
#[derive(Clone, Debug)]
pub struct Clock {
    last: Hlc,
    max_skew_ms: u64,
}

impl Clock {
    /// A clock that continues after `last` (the highest timestamp this device used or saw).
    pub fn new(last: Hlc) -> Clock {
        Clock { last, max_skew_ms: DEFAULT_MAX_SKEW_MS }
    }

    pub fn with_max_skew_ms(mut self, ms: u64) -> Clock {
        self.max_skew_ms = ms;
        self
    }

    pub fn max_skew_ms(&self) -> u64 {
        self.max_skew_ms
    }

    /// The highest timestamp used or seen so far.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A new timestamp for a local event at wall time `now_ms`: later than every earlier one.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let wall = Hlc::from_parts(now_ms.min(u64::MAX >> LOGICAL_BITS), 0);
        self.last = if wall > self.last { wall } else { Hlc(self.last.0.saturating_add(1)) };
        self.last
    }

    /// Checks a timestamp received from `device` against the allowed skew, without changing
    /// the clock.
    pub fn check(&self, remote: Hlc, now_ms: u64, device: &str) -> Result<(), Error> {
        let limit = now_ms.saturating_add(self.max_skew_ms);
        if remote.wall_ms() > limit {
            return Err(Error::SyncClockSkew {
                device: device.to_owned(),
                ahead_ms: remote.wall_ms() - now_ms,
                max_ms: self.max_skew_ms,
            });
        }
        Ok(())
    }

    /// Takes in a remote timestamp (after [`Clock::check`] passed): later local ticks are after it.
    pub fn observe(&mut self, remote: Hlc) {
        if remote > self.last {
            self.last = remote;
        }
    }
}

/// Milliseconds since the Unix epoch from the system clock (0 if it is before 1970).
pub fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_when_the_wall_clock_jumps_back() {
        let mut c = Clock::new(Hlc(0));
        let a = c.tick(10_000);
        let b = c.tick(5_000); // NTP stepped the clock back
        let d = c.tick(5_000);
        assert!(a < b && b < d, "{a} {b} {d}");
        assert_eq!(b.wall_ms(), 10_000);
        let e = c.tick(20_000);
        assert_eq!(e, Hlc::from_parts(20_000, 0));
    }

    #[test]
    fn remote_too_far_ahead_is_refused_and_does_not_move_the_clock() {
        let mut c = Clock::new(Hlc(0)).with_max_skew_ms(1_000);
        let before = c.tick(50_000);
        let far = Hlc::from_parts(52_000, 0);
        let err = c.check(far, 50_000, "reg-2").unwrap_err();
        assert_eq!(err.code(), "SYNC_CLOCK_SKEW");
        assert_eq!(c.last(), before);
        let near = Hlc::from_parts(50_900, 3);
        c.check(near, 50_000, "reg-2").unwrap();
        c.observe(near);
        assert!(c.tick(50_000) > near);
    }
}
