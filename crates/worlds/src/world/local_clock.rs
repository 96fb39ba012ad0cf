//! A node's own clock against simulated time: piecewise linear, running at `rate` × real time
//! since the last change of rate. Both worlds date a node's timers by it.

use ballot_core::Millis;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// A [`LocalClock`] read without a lock, for a world that runs on one thread (the event
/// world): a lock on every reading of the clock was 5 % of an idle cluster's run. Its figures
/// are stored one by one, so a reader on another thread could see half a change.
pub(crate) struct ClockCell([AtomicU64; 3]);

impl Default for ClockCell {
    fn default() -> Self {
        let cell = ClockCell(Default::default());
        cell.set(LocalClock::default());
        cell
    }
}

impl ClockCell {
    /// The clock as last set.
    pub(crate) fn get(&self) -> LocalClock {
        let [since, local, rate] =
            self.0.each_ref().map(|a| f64::from_bits(a.load(Ordering::Relaxed)));
        LocalClock { since_sim_ms: since, local_at_start: local, rate }
    }

    /// Replaces the clock.
    pub(crate) fn set(&self, clock: LocalClock) {
        let figures = [clock.since_sim_ms, clock.local_at_start, clock.rate];
        for (cell, figure) in self.0.iter().zip(figures) {
            cell.store(figure.to_bits(), Ordering::Relaxed);
        }
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
