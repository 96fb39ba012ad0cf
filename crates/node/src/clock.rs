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
