//! A node's own clock against simulated time: piecewise linear, running at `rate` × real time
//! since the last change of rate. Both worlds date a node's timers by it.

use ballot_core::Millis;

/// A node's clock: where it stood when its rate last changed, and the rate since.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalClock {
    since_sim_ms: f64,
    local_at_start: f64,
    rate: f64,
}

impl Default for LocalClock {
    fn default() -> Self {
        LocalClock { since_sim_ms: 0.0, local_at_start: 0.0, rate: 1.0 }
    }
}

impl LocalClock {
    /// What the clock reads at simulated time `sim_ms`.
    pub(crate) fn local_at(&self, sim_ms: f64) -> f64 {
        self.local_at_start + (sim_ms - self.since_sim_ms) * self.rate
    }

    /// The simulated time at which the clock reads `local` ms, at its current rate (never,
    /// for `Millis::MAX`).
    pub(crate) fn sim_at(&self, local: Millis) -> f64 {
        if local == Millis::MAX {
            return f64::INFINITY;
        }
        self.since_sim_ms + (local as f64 - self.local_at_start) / self.rate
    }

    /// Runs at `rate` × real time from simulated time `sim_ms` on.
    pub(crate) fn set_rate(&mut self, sim_ms: f64, rate: f64) {
        *self = LocalClock { since_sim_ms: sim_ms, local_at_start: self.local_at(sim_ms), rate };
    }

    /// The current rate.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }
}

/// Where a node's events are dated: simulated time, and the node's own clock.
pub(crate) trait NodeTime: Send + Sync {
    /// Simulated time now, milliseconds since the start.
    fn sim_ms(&self) -> f64;
    /// The node's clock now, milliseconds.
    fn local_ms(&self) -> f64;
    /// The simulated time at which the node's clock reads `local` ms.
    fn sim_ms_at(&self, local: Millis) -> f64;
}
