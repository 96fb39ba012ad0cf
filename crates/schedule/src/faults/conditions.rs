//! The state the faults put the world in: which nodes run, which are paused, which links drop
//! messages, loss, duplication, latency and every clock's rate. Pure data: the live cluster
//! keeps one and makes turmoil match it; the history's views replay one from `fault` events.

use crate::{DiskSpec, NetworkSpec};
use std::collections::BTreeSet;

/// What the harness knows of the nodes' core configuration: the timing that health depends
/// on (milliseconds) and the options that some properties promise something about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Lower bound of the election timeout, milliseconds.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the election timeout, milliseconds.
    pub election_timeout_max_ms: u64,
    /// Heartbeat interval, milliseconds.
    pub heartbeat_ms: u64,
    /// How much slower one clock may run than another, as a fraction (0.05 = 5 %).
    pub clock_drift_bound: f64,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Check-quorum (and with it the leader lease) on.
    pub check_quorum: bool,
    /// The longest election timeout the core may use, milliseconds of its clock: the
    /// adaptive cap when the adaptive timeout is on, else the maximum election timeout.
    pub longest_timeout_ms: u64,
    /// Most entries one AppendEntries carries, count.
    pub max_entries_per_message: usize,
    /// Most bytes of entries one AppendEntries carries, bytes.
    pub max_bytes_per_message: usize,
    /// The slowest save a node's disk makes (a write and two syncs), milliseconds: a node
    /// answers only after it, so it is part of every round trip that carries entries.
    pub slowest_save_ms: u64,
    /// The core's split-vote backoff on (ballot's core only): it widens the election timeout
    /// range after a lost campaign, so elections converge however narrow the range.
    pub split_vote_backoff: bool,
}

impl Timing {
    /// The timing of a core configuration.
    pub fn of(core: &ballot_core::Config) -> Timing {
        Timing {
            election_timeout_min_ms: core.election_timeout_min_ms,
            election_timeout_max_ms: core.election_timeout_max_ms,
            heartbeat_ms: core.heartbeat_ms,
            clock_drift_bound: core.clock_drift_bound,
            pre_vote: core.pre_vote,
            check_quorum: core.check_quorum,
            max_entries_per_message: core.max_entries_per_message,
            max_bytes_per_message: core.max_bytes_per_message,
            slowest_save_ms: 0,
            split_vote_backoff: core.split_vote_backoff,
            longest_timeout_ms: if core.adaptive_timeout {
                core.adaptive_timeout_cap_ms.max(core.election_timeout_max_ms)
            } else {
                core.election_timeout_max_ms
            },
        }
    }

    /// The same timing on nodes whose disks are `disk`.
    pub fn with_disk(self, disk: &crate::DiskSpec) -> Timing {
        Timing { slowest_save_ms: disk.slowest_save_ms(), ..self }
    }

    /// The same timing on nodes that run `core` (only ballot's has a split-vote backoff).
    pub fn on_core(self, core: crate::CoreName) -> Timing {
        let split_vote_backoff = self.split_vote_backoff && core.has_split_vote_backoff();
        Timing { split_vote_backoff, ..self }
    }

    /// Whether randomized elections converge at a one-way latency of at most `latency_ms`
    /// (Raft's timing requirement, §5.6): the election timeout range is wider than a vote
    /// round trip (both hops, a save on each side), so that one node's timer can fire far
    /// enough ahead of the others' for its vote requests to reach them first; or the core's
    /// split-vote backoff widens the range itself. Narrower, every vote may split for ever
    /// (docs/raft-rs.md, finding 8), a matter of configuration rather than of the core.
    pub fn elections_converge(&self, latency_ms: u64) -> bool {
        let spread = self.election_timeout_max_ms - self.election_timeout_min_ms;
        self.split_vote_backoff || spread > self.round_trip_ms(latency_ms)
    }

    /// The longest a message and its answer take at a one-way latency of at most
    /// `latency_ms`, milliseconds: a hop each way (plus a millisecond of simulator step each)
    /// and a save at the slowest disk on each side (the sender's before it sends what
    /// depends on it, the receiver's before it answers).
    pub fn round_trip_ms(&self, latency_ms: u64) -> u64 {
        2 * (latency_ms + 1) + 2 * self.slowest_save_ms
    }

    /// How long a leader cut off from every majority may keep leading, milliseconds of its
    /// own clock: its check-quorum window is at most the longest election timeout, counted
    /// from the last acknowledgement, which can be up to one more such timeout old when a
    /// heartbeat is lost in flight. Two longest election timeouts cover both.
    pub fn step_down_bound_ms(&self) -> f64 {
        2.0 * self.longest_timeout_ms as f64
    }

    /// How long a healthy cluster may take to settle (finish elections caused by earlier
    /// faults) before a new term counts against stability: three maximum election timeouts.
    pub fn settle_ms(&self) -> f64 {
        3.0 * self.election_timeout_max_ms as f64
    }

    /// How long a lease or an in-lease vote refusal taken under drifting clocks can outlive
    /// the drift: two maximum election timeouts (covers clocks down to a quarter of real time).
    pub fn drift_grace_ms(&self) -> f64 {
        2.0 * self.election_timeout_max_ms as f64
    }
}

/// Where the faults have put the world.
#[derive(Clone, Debug, PartialEq)]
pub struct Conditions {
    /// Running (not crashed), per node.
    pub up: Vec<bool>,
    /// Frozen by `pause`, per node.
    pub paused: Vec<bool>,
    /// Directed links that drop every message: (from, to).
    pub blocked: BTreeSet<(usize, usize)>,
    /// Directed links whose messages wait in the network until released: (from, to).
    pub held: BTreeSet<(usize, usize)>,
    /// Probability per message of being lost.
    pub loss: f64,
    /// Probability per message of being delivered twice.
    pub duplicate: f64,
    /// One-way latency `[min, max]`, milliseconds.
    pub latency_ms: [u64; 2],
    /// Each node's clock rate (1.0 is real time).
    pub clock_rates: Vec<f64>,
    /// The network the run started with, which `heal` restores.
    pub baseline: NetworkSpec,
    /// Every node's disk latencies now.
    pub disk: DiskSpec,
    /// The disks the run started with, which `heal` restores.
    pub baseline_disk: DiskSpec,
    /// Down by a power loss (not a crash), per node: its disk kept any part of what it had
    /// not synced (`power_loss`).
    pub lost_power: Vec<bool>,
    /// Its files were damaged at rest (`corrupt`), per node: it may refuse to start, for good.
    pub corrupted: Vec<bool>,
}

impl Conditions {
    /// The start of a run: every node up, the baseline network, exact clocks.
    pub fn new(nodes: usize, baseline: NetworkSpec) -> Conditions {
        Conditions {
            up: vec![true; nodes],
            paused: vec![false; nodes],
            blocked: BTreeSet::new(),
            held: BTreeSet::new(),
            loss: baseline.loss,
            duplicate: 0.0,
            latency_ms: baseline.latency_ms,
            clock_rates: vec![1.0; nodes],
            baseline,
            disk: DiskSpec::default(),
            baseline_disk: DiskSpec::default(),
            lost_power: vec![false; nodes],
            corrupted: vec![false; nodes],
        }
    }

    /// The same start on disks of `disk` latencies (the baseline `heal` restores).
    pub fn with_disk(self, disk: DiskSpec) -> Conditions {
        Conditions { disk: disk.clone(), baseline_disk: disk, ..self }
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        self.up.len()
    }

    /// Drops messages both ways between `a` and `b`.
    pub(crate) fn cut(&mut self, a: usize, b: usize) {
        self.blocked.insert((a, b));
        self.blocked.insert((b, a));
    }

    /// Whether messages from `a` to `b` are dropped or held.
    pub fn link_down(&self, a: usize, b: usize) -> bool {
        self.blocked.contains(&(a, b)) || self.held.contains(&(a, b))
    }

    /// Every link works again (held messages are released), every pause ends, loss,
    /// latency and the disks return to the baseline, duplication stops.
    pub fn heal(&mut self) {
        self.disk = self.baseline_disk.clone();
        self.blocked.clear();
        self.held.clear();
        self.paused.iter_mut().for_each(|p| *p = false);
        self.loss = self.baseline.loss;
        self.duplicate = 0.0;
        self.latency_ms = self.baseline.latency_ms;
    }

    /// Nodes that run and are not paused.
    pub fn live(&self) -> Vec<usize> {
        (0..self.size()).filter(|&n| self.up[n] && !self.paused[n]).collect()
    }

    /// Whether every pair of `nodes` can reach each other both ways.
    pub fn connected(&self, nodes: &[usize]) -> bool {
        nodes.iter().all(|&a| nodes.iter().all(|&b| a == b || !self.link_down(a, b)))
    }

    /// Whether the slowest clock runs at least `1 − bound` times as fast as the fastest: the
    /// assumption the leader lease rests on.
    pub fn clocks_within(&self, bound: f64) -> bool {
        let lowest = self.clock_rates.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = self.clock_rates.iter().copied().fold(0.0, f64::max);
        lowest >= highest * (1.0 - bound)
    }

    /// Nodes that can exchange messages with `n` both ways (no link between them dropped or
    /// held), `n` included (none if `n` is down or paused).
    pub fn reach(&self, n: usize) -> Vec<usize> {
        if !self.up[n] || self.paused[n] {
            return Vec::new();
        }
        let live = self.live();
        live.into_iter()
            .filter(|&m| m == n || (!self.link_down(n, m) && !self.link_down(m, n)))
            .collect()
    }

    /// Whether node `n` runs and can exchange messages with a majority (itself included).
    pub fn in_majority(&self, n: usize) -> bool {
        self.reach(n).len() > self.size() / 2
    }

    /// Messages arrive reliably and in time: no loss, a round trip (twice the maximum
    /// latency, a heartbeat, and the slowest save on each side, at the disks' latencies now)
    /// below the minimum election timeout, clocks within the bound.
    pub fn timely(&self, t: &Timing) -> bool {
        let save = t.slowest_save_ms.max(self.disk.slowest_save_ms());
        let round_trip = 2 * self.latency_ms[1] + t.heartbeat_ms + 2 * save;
        self.loss == 0.0
            && round_trip < t.election_timeout_min_ms
            && self.clocks_within(t.clock_drift_bound)
    }

    /// Healthy: the live nodes are a majority, all connected, no loss or duplication, a
    /// round trip well inside the minimum election timeout, clocks within the drift bound.
    /// Crashed nodes may stay down: a majority must manage without them.
    pub fn healthy(&self, t: &Timing) -> bool {
        let live = self.live();
        live.len() > self.size() / 2
            && self.connected(&live)
            && self.duplicate == 0.0
            && self.timely(t)
    }
}
