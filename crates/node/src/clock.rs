//! The node's local clock: the only place time enters the node.

use ballot_core::Millis;
use std::future::Future;
use std::pin::Pin;

/// A sleep handed back by [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A monotonic local clock in milliseconds, and a way to wait for it.
pub trait Clock: Send + Sync + 'static {
    /// Local time now, milliseconds since the clock's own origin.
    fn now_ms(&self) -> Millis;
    /// Completes once local time reaches `deadline` (at once if it already has).
    fn sleep_until(&self, deadline: Millis) -> Sleep;
    /// Local milliseconds per real millisecond now (1.0 for an exact clock): how a history
    /// moves a lease's end, given on this clock, onto real time.
    fn rate(&self) -> f64 {
        1.0
    }
}

/// Tokio's monotonic clock (simulated time when the runtime's time is paused or simulated).
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        TokioClock { origin: tokio::time::Instant::now() }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> Millis {
        self.origin.elapsed().as_millis() as Millis
    }

    fn sleep_until(&self, deadline: Millis) -> Sleep {
        let at = self.origin + std::time::Duration::from_millis(deadline);
        Box::pin(tokio::time::sleep_until(at))
    }
}

pub use ballot_core::limits::{MAX_CLOCK_RATE, MIN_CLOCK_RATE};

/// Where a [`RateClock`] stood when its rate last changed, and the rate since.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// Real milliseconds since the clock's origin when the rate changed.
    real_ms: f64,
    /// What the clock read then, milliseconds.
    local_ms: f64,
    /// Local milliseconds per real millisecond.
    rate: f64,
}

impl Segment {
    fn local_at(&self, real_ms: f64) -> f64 {
        self.local_ms + (real_ms - self.real_ms) * self.rate
    }

    fn real_at(&self, local_ms: f64) -> f64 {
        self.real_ms + (local_ms - self.local_ms) / self.rate
    }
}

/// Tokio's monotonic clock run at a rate that can be changed while the node runs (1.0 is
/// exact): a drifting clock on demand, for fault injection on real processes. A change of
/// rate wakes every sleep so that it ends when the clock, at its new rate, reaches it.
#[derive(Debug)]
pub struct RateClock {
    origin: tokio::time::Instant,
    segment: tokio::sync::watch::Sender<Segment>,
}

impl RateClock {
    /// An exact clock whose origin is now.
    pub fn new() -> Self {
        let segment = Segment { real_ms: 0.0, local_ms: 0.0, rate: 1.0 };
        RateClock {
            origin: tokio::time::Instant::now(),
            segment: tokio::sync::watch::Sender::new(segment),
        }
    }

    fn real_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1e3
    }

    /// Runs at `rate` × real time from now on; a rate outside [`MIN_CLOCK_RATE`,
    /// `MAX_CLOCK_RATE`] is refused and changes nothing.
    pub fn set_rate(&self, rate: f64) -> Result<(), String> {
        if !(MIN_CLOCK_RATE..=MAX_CLOCK_RATE).contains(&rate) {
            return Err(format!(
                "clock rate {rate} is outside [{MIN_CLOCK_RATE}, {MAX_CLOCK_RATE}] x real time"
            ));
        }
        let real_ms = self.real_ms();
        self.segment.send_modify(|s| {
            *s = Segment { real_ms, local_ms: s.local_at(real_ms), rate };
        });
        Ok(())
    }
}

impl Default for RateClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RateClock {
    fn now_ms(&self) -> Millis {
        self.segment.borrow().local_at(self.real_ms()) as Millis
    }

    fn sleep_until(&self, deadline: Millis) -> Sleep {
        let mut changes = self.segment.subscribe();
        let origin = self.origin;
        Box::pin(async move {
            if deadline == Millis::MAX {
                return std::future::pending().await;
            }
            loop {
                let segment = *changes.borrow_and_update();
                // A microsecond past the instant, so that the clock reads the deadline.
                // (At most a century away: a deadline past that is never, and Duration
                // must stay finite.)
                let real_ms = (segment.real_at(deadline as f64) + 1e-3).clamp(0.0, 3.2e12);
                let at = origin + std::time::Duration::from_secs_f64(real_ms / 1e3);
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => return,
                    changed = changes.changed() => if changed.is_err() {
                        return tokio::time::sleep_until(at).await;
                    },
                }
            }
        })
    }

    fn rate(&self) -> f64 {
        self.segment.borrow().rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At rate 2 the clock gains a millisecond per real half millisecond, and a sleep taken
    /// before the change ends when the clock, at its new rate, reaches the deadline.
    #[tokio::test(start_paused = true)]
    async fn a_rate_clock_runs_at_its_rate_and_wakes_its_sleeps_on_a_change() {
        let clock = std::sync::Arc::new(RateClock::new());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(clock.now_ms(), 100);
        let sleeping = clock.clone();
        let sleep = tokio::spawn(async move { sleeping.sleep_until(300).await });
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        clock.set_rate(2.0).unwrap();
        assert_eq!(clock.rate(), 2.0);
        let start = tokio::time::Instant::now();
        sleep.await.unwrap();
        // 199 ms of clock left at twice real time.
        let waited = start.elapsed().as_secs_f64() * 1e3;
        assert!((99.0..=100.5).contains(&waited), "{waited} ms");
        assert!(clock.now_ms() >= 300, "{}", clock.now_ms());
        for refused in [0.0, 1e-20, 0.009, 100.1, 1e300, f64::NAN, f64::INFINITY, -1.0] {
            let err = clock.set_rate(refused).unwrap_err();
            assert!(err.contains("outside [0.01, 100]"), "{err}");
        }
        assert_eq!(clock.rate(), 2.0, "a refused rate changes nothing");
        // The bounds themselves run: a sleep at the slowest rate ends, and a far deadline
        // neither panics nor spins.
        clock.set_rate(MIN_CLOCK_RATE).unwrap();
        let now = clock.now_ms();
        let start = tokio::time::Instant::now();
        clock.sleep_until(now + 2).await;
        assert!(start.elapsed() >= std::time::Duration::from_millis(100));
        clock.set_rate(MAX_CLOCK_RATE).unwrap();
        let far = tokio::time::timeout(
            std::time::Duration::from_secs(3600),
            clock.sleep_until(u64::MAX - 1),
        );
        assert!(far.await.is_err(), "a deadline centuries away is not reached in an hour");
    }
}
