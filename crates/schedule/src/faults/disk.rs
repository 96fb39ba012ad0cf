//! `disk`: every node's disk latencies from now on. The schedule's `disk` is the baseline,
//! which `heal` (and with it the liveness phase) restores, as the network's latency is: a disk
//! slow during the faults is a fault, and the promises after them are judged on the baseline.

use super::{Conditions, Fault};
use crate::{DiskSpec, ScheduleError};
use serde::{Deserialize, Serialize};

/// Disk latencies from now on, on every node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disk {
    /// Time to write a file (not yet durable), `[min, max]` milliseconds.
    pub write_ms: [u64; 2],
    /// Time to sync a file or a directory, `[min, max]` milliseconds.
    pub sync_ms: [u64; 2],
}

impl Disk {
    /// The latencies as a disk specification (torn writes as the run's disk has them).
    pub fn spec(&self, torn_writes: f64) -> DiskSpec {
        DiskSpec { write_ms: self.write_ms, sync_ms: self.sync_ms, torn_writes }
    }
}

impl Fault for Disk {
    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        self.spec(0.0).validate(at)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        c.disk = self.spec(c.baseline_disk.torn_writes);
        true
    }

    /// Half the latencies.
    fn simpler(&self) -> Vec<Disk> {
        if self.write_ms[1] == 0 && self.sync_ms[1] == 0 {
            return Vec::new();
        }
        let half = |[a, b]: [u64; 2]| [a / 2, b / 2];
        vec![Disk { write_ms: half(self.write_ms), sync_ms: half(self.sync_ms) }]
    }
}
