//! # ballot-schedule: what a run is asked to do
//!
//! The schedule file (SPEC.md): a cluster (size, core, timing), a network and a disk, a
//! duration and timed fault steps, read with serde and validated so that every mistake is
//! reported as one line naming the field; and, one file per fault under [`faults`], what each
//! step does to the world's [`faults::Conditions`]. Worlds run schedules, the judge replays
//! their steps from a history, the explorer generates and shrinks them; this crate depends on
//! none of them, only on serde and `ballot-core`'s configuration. Start with [`Schedule`] and
//! [`faults::Op`].

#![warn(missing_docs)]

mod cores;
pub mod faults;
mod world_name;

pub use crate::faults::Op;
use crate::faults::Timing;
use ballot_core::Config;
pub use cores::{declare_installed, CoreName};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;
pub use world_name::WorldName;

/// The schedule format this build reads and writes.
pub const FORMAT: u32 = 1;

/// The longest run (and liveness allowance) a schedule may ask for: one simulated day, ms.
pub const MAX_DURATION_MS: u64 = 86_400_000;

/// The most nodes a cluster may have.
pub const MAX_NODES: usize = 64;

/// A whole run: who, on what network, for how long, and what happens when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Format version; must be 1.
    pub format: u32,
    /// Seeds turmoil, every node and the loss RNG.
    pub seed: u64,
    /// The cluster.
    #[serde(default)]
    pub cluster: ClusterSpec,
    /// The baseline network.
    #[serde(default)]
    pub network: NetworkSpec,
    /// How long each node's disk takes to write and to sync (instant unless given).
    #[serde(default, skip_serializing_if = "is_default")]
    pub disk: DiskSpec,
    /// Length of the run, simulated milliseconds.
    pub duration_ms: u64,
    /// After the last step, how long a healthy majority may take to elect a leader, ms.
    #[serde(default = "default_liveness_ms")]
    pub liveness_ms: u64,
    /// Whether the runner starts the liveness phase after the last step (SPEC.md,
    /// "Phases"); `false` for schedules that study a lasting fault: safety only.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub liveness: bool,
    /// Faults and client requests, in time order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn default_liveness_ms() -> u64 {
    3_000
}

/// The cluster's size and the election core's options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSpec {
    /// Number of nodes, at least 2.
    pub nodes: usize,
    /// Election timeout range `[min, max]`, milliseconds.
    pub election_timeout_ms: [u64; 2],
    /// Heartbeat interval, milliseconds.
    pub heartbeat_ms: u64,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Check-quorum (and with it leader leases) on.
    pub check_quorum: bool,
    /// Adaptive election timeout on.
    pub adaptive_timeout: bool,
    /// Upper bound of the adaptive election timeout, milliseconds; absent, the core's default
    /// (1000) or the maximum election timeout, whichever is longer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive_timeout_cap_ms: Option<u64>,
    /// ballot's split-vote backoff on (other cores have none and ignore it).
    #[serde(skip_serializing_if = "is_true")]
    pub split_vote_backoff: bool,
    /// ballot's staggered election timeouts on (other cores have none and ignore it).
    #[serde(skip_serializing_if = "is_true")]
    pub staggered_timeouts: bool,
    /// Clock-drift bound the leader lease assumes, as a fraction.
    pub clock_drift_bound: f64,
    /// Most entries one AppendEntries carries, count.
    #[serde(skip_serializing_if = "is_default_entries")]
    pub max_entries_per_message: usize,
    /// Most bytes of entries one AppendEntries carries, bytes (a larger proposal is refused).
    #[serde(skip_serializing_if = "is_default_bytes")]
    pub max_bytes_per_message: usize,
    /// The election core every node runs (`ballot` unless named).
    #[serde(skip_serializing_if = "is_default")]
    pub core: CoreName,
}

fn is_default_entries(count: &usize) -> bool {
    *count == Config::default().max_entries_per_message
}

fn is_default_bytes(bytes: &usize) -> bool {
    *bytes == Config::default().max_bytes_per_message
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Default for ClusterSpec {
    fn default() -> Self {
        let c = Config::default();
        ClusterSpec {
            nodes: 3,
            election_timeout_ms: [c.election_timeout_min_ms, c.election_timeout_max_ms],
            heartbeat_ms: c.heartbeat_ms,
            pre_vote: c.pre_vote,
            check_quorum: c.check_quorum,
            adaptive_timeout: c.adaptive_timeout,
            adaptive_timeout_cap_ms: None,
            split_vote_backoff: c.split_vote_backoff,
            staggered_timeouts: c.staggered_timeouts,
            clock_drift_bound: c.clock_drift_bound,
            max_entries_per_message: c.max_entries_per_message,
            max_bytes_per_message: c.max_bytes_per_message,
            core: CoreName::default(),
        }
    }
}

impl ClusterSpec {
    /// The core configuration every node runs with.
    pub fn core_config(&self) -> Config {
        Config {
            election_timeout_min_ms: self.election_timeout_ms[0],
            election_timeout_max_ms: self.election_timeout_ms[1],
            heartbeat_ms: self.heartbeat_ms,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            adaptive_timeout: self.adaptive_timeout,
            clock_drift_bound: self.clock_drift_bound,
            max_entries_per_message: self.max_entries_per_message,
            max_bytes_per_message: self.max_bytes_per_message,
            split_vote_backoff: self.split_vote_backoff,
            staggered_timeouts: self.staggered_timeouts,
            // A cap the schedule does not set follows its timeouts.
            adaptive_timeout_cap_ms: self.adaptive_timeout_cap_ms.unwrap_or(
                Config::default().adaptive_timeout_cap_ms.max(self.election_timeout_ms[1]),
            ),
        }
    }
}

impl ClusterSpec {
    /// The timing facts that health and the checkers depend on.
    pub fn timing(&self) -> Timing {
        Timing::of(&self.core_config()).on_core(self.core)
    }
}

/// The network every run starts with (and that `heal` restores).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency range `[min, max]`, milliseconds.
    pub latency_ms: [u64; 2],
    /// Share of messages lost on every link, 0..1.
    pub loss: f64,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec { latency_ms: [1, 10], loss: 0.0 }
    }
}

/// The simulated disks' latencies: every write and every sync (of a file, of a directory)
/// takes a time drawn uniformly from its range, per node from its own seeded RNG, so that a
/// crash can fall between what a node sent and the sync it should have waited for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskSpec {
    /// Time to write a file (not yet durable), `[min, max]` milliseconds.
    pub write_ms: [u64; 2],
    /// Time to sync a file or a directory, `[min, max]` milliseconds.
    pub sync_ms: [u64; 2],
    /// The probability (0 to 1) that a crash or a power loss in the middle of a write keeps
    /// part of it, up to a 512-byte sector boundary (the rest of what it added reads as
    /// zeros, as a power loss leaves a file whose length was written before its data). A
    /// property of the disk the run started with: the `disk` step changes latencies only.
    #[serde(skip_serializing_if = "is_zero")]
    pub torn_writes: f64,
}

/// Whether a probability is 0 (left out of the files written).
fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

/// The slowest disk operation a schedule may ask for, milliseconds.
pub const MAX_DISK_MS: u64 = 1_000;

impl DiskSpec {
    /// The slowest save, ms: a new node's first, which creates the state file and the log
    /// file whole (each a write and two syncs: the file's and the directory's) and then
    /// updates the state file in place (a write and a sync). (Most saves take less: a log
    /// append is a write and a sync of each file, and a new term or vote one of the state
    /// file.)
    pub fn slowest_save_ms(&self) -> u64 {
        3 * self.write_ms[1] + 5 * self.sync_ms[1]
    }

    /// Checks both ranges; `at` names where they are (`disk`, or a step's path).
    pub(crate) fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        if !(0.0..=1.0).contains(&self.torn_writes) {
            let p = self.torn_writes;
            return Err(bad(
                format!("{at}.torn_writes"),
                format!("{p} is not a probability (0 to 1)"),
            ));
        }
        for (name, [min, max]) in [("write_ms", self.write_ms), ("sync_ms", self.sync_ms)] {
            let field = format!("{at}.{name}");
            if min > max {
                return Err(bad(field, format!("[{min}, {max}]: the minimum exceeds the maximum")));
            }
            if max > MAX_DISK_MS {
                return Err(bad(field, format!("{max} ms is more than {MAX_DISK_MS}")));
            }
        }
        Ok(())
    }
}

/// A node, by index or by the role it plays when the step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRef {
    /// Node `0..nodes`.
    Index(usize),
    /// The leader of the highest term at that instant.
    Leader,
    /// The lowest-index running node that is not that leader.
    Follower,
}

impl Serialize for NodeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeRef::Index(i) => s.serialize_u64(*i as u64),
            NodeRef::Leader => s.serialize_str("leader"),
            NodeRef::Follower => s.serialize_str("follower"),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = NodeRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node index, \"leader\" or \"follower\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NodeRef, E> {
                Ok(NodeRef::Index(v as usize))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NodeRef, E> {
                Err(E::custom(format!("node {v} is negative")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodeRef, E> {
                match v {
                    "leader" => Ok(NodeRef::Leader),
                    "follower" => Ok(NodeRef::Follower),
                    other => Err(E::custom(format!(
                        "unknown node name {other:?}, expected an index, \"leader\" or \"follower\""
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Index(i) => write!(f, "{i}"),
            NodeRef::Leader => f.write_str("leader"),
            NodeRef::Follower => f.write_str("follower"),
        }
    }
}

/// One timed step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// When it applies, simulated milliseconds from the start.
    pub at_ms: u64,
    /// What it does.
    #[serde(flatten)]
    pub op: Op,
    /// The generated shape this step belongs to (a number shared by the steps of one shape),
    /// so that the shrinker can drop a whole shape at once. Absent in hand-written schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<u32>,
}

impl Step {
    /// `op` at `at_ms`, in no shape.
    pub fn at(at_ms: u64, op: impl Into<Op>) -> Step {
        Step { at_ms, op: op.into(), shape: None }
    }

    /// When its last effect starts, ms: `at_ms`, or the last write of a burst of proposals.
    pub fn end_ms(&self) -> u64 {
        match &self.op {
            Op::Propose(p) => self.at_ms + p.span_ms(),
            _ => self.at_ms,
        }
    }
}

/// A schedule that cannot run, with the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct ScheduleError {
    /// Path of the field, like `steps[2].node`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ScheduleError {
    /// An error in `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> ScheduleError {
        ScheduleError { field: field.into(), problem: problem.into() }
    }
}

fn bad(field: impl Into<String>, problem: impl Into<String>) -> ScheduleError {
    ScheduleError::new(field, problem)
}

impl Schedule {
    /// Parses and validates a schedule file's text.
    pub fn from_json(text: &str) -> Result<Schedule, ScheduleError> {
        Schedule::from_json_on(text, None)
    }

    /// Parses a schedule file's text, puts it on `core` if one is named (`--core` overrides
    /// `cluster.core`), and validates it.
    pub fn from_json_on(text: &str, core: Option<CoreName>) -> Result<Schedule, ScheduleError> {
        let mut schedule: Schedule = parse_json(text, "schedule")?;
        if let Some(core) = core {
            schedule.cluster.core = core;
        }
        schedule.validate()?;
        Ok(schedule)
    }

    /// The timing facts that health and the checkers depend on, the disk's included.
    pub fn timing(&self) -> Timing {
        self.cluster.timing().with_disk(&self.disk)
    }

    /// The same schedule on another core (`--core`), with the options that core lacks
    /// (an adaptive election timeout; pre-vote and check-quorum) switched off and the steps
    /// it cannot run left out, so that a generated schedule always runs.
    pub fn on_core(mut self, core: CoreName) -> Schedule {
        self.cluster.core = core;
        self.cluster.adaptive_timeout &= core.has_adaptive_timeout();
        self.cluster.pre_vote &= core.has_pre_vote_and_check_quorum();
        self.cluster.check_quorum &= core.has_pre_vote_and_check_quorum();
        self.steps.retain(|s| core.refuses_step(s.op.name()).is_none());
        self
    }

    /// The steps as they run: each burst of writes (`propose` with a `count`) becomes one
    /// write a step, at its own time; steps of one instant keep their order.
    pub fn timed_steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            match &step.op {
                Op::Propose(p) if p.count.is_some() => {
                    steps.extend(p.writes().map(|(offset, w)| Step {
                        at_ms: step.at_ms + offset,
                        op: w.into(),
                        shape: step.shape,
                    }))
                }
                _ => steps.push(step.clone()),
            }
        }
        steps.sort_by_key(|s| s.at_ms);
        steps
    }

    /// When the last step's last effect starts (the fault phase's end), ms.
    pub fn last_step_ms(&self) -> u64 {
        self.steps.iter().map(Step::end_ms).max().unwrap_or(0)
    }

    /// The schedule as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("schedules serialize")
    }

    /// Checks everything serde cannot: ranges, order, disjoint groups.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.format != FORMAT {
            return Err(bad(
                "format",
                format!("{} is not supported (expected {FORMAT})", self.format),
            ));
        }
        let n = self.cluster.nodes;
        if !(2..=MAX_NODES).contains(&n) {
            return Err(bad(
                "cluster.nodes",
                format!("{n} nodes; a cluster needs 2 to {MAX_NODES}"),
            ));
        }
        let config = self.cluster.core_config();
        config.validate().map_err(|e| bad("cluster", e.to_string()))?;
        ballot_core::limits::check_budget(&config)
            .map_err(|e| bad("cluster.max_bytes_per_message", e.to_string()))?;
        let core = self.cluster.core;
        if !core.available() {
            return Err(bad(
                "cluster.core",
                format!("{core} is not in this build (the raft-rs 0.3 fixtures: `make fixtures`)"),
            ));
        }
        if let Some((field, why)) = core.refuses(&config) {
            return Err(bad(field, why));
        }
        crate::faults::check_rate("network.loss", self.network.loss)?;
        self.disk.validate("disk")?;
        crate::faults::check_latency("network.latency_ms", self.network.latency_ms)?;
        for (field, ms) in [("duration_ms", self.duration_ms), ("liveness_ms", self.liveness_ms)] {
            if ms == 0 {
                return Err(bad(field, "must be greater than 0"));
            }
            if ms > MAX_DURATION_MS {
                return Err(bad(
                    field,
                    format!("{ms} ms is more than {MAX_DURATION_MS} (one simulated day)"),
                ));
            }
        }
        let mut previous = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let at = format!("steps[{i}]");
            if step.at_ms < previous {
                return Err(bad(
                    format!("{at}.at_ms"),
                    format!("{} comes before the previous step's {previous}", step.at_ms),
                ));
            }
            if step.at_ms > self.duration_ms {
                return Err(bad(
                    format!("{at}.at_ms"),
                    format!("{} is after duration_ms {}", step.at_ms, self.duration_ms),
                ));
            }
            previous = step.at_ms;
            if step.end_ms() > self.duration_ms {
                return Err(bad(
                    format!("{at}.every_ms"),
                    format!(
                        "the burst's last write at {} is after duration_ms {}",
                        step.end_ms(),
                        self.duration_ms
                    ),
                ));
            }
            for (field, node) in step.op.clone().nodes_mut() {
                if let NodeRef::Index(k) = *node {
                    if k >= n {
                        return Err(bad(
                            format!("{at}.{field}"),
                            format!(
                                "node {k} is out of range: the cluster has nodes 0 to {}",
                                n - 1
                            ),
                        ));
                    }
                }
            }
            step.op.validate(&at)?;
            if let Some(why) = core.refuses_step(step.op.name()) {
                return Err(bad(format!("{at}.op"), why));
            }
        }
        Ok(())
    }
}

/// Deserializes `text`, naming the field at fault (`whole` when the fault is the text itself).
pub fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
    whole: &str,
) -> Result<T, ScheduleError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.trim_start().starts_with('{') {
        return Err(bad(whole, "expected a JSON object ({ ... })"));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path == "?" { whole.to_string() } else { path };
        bad(field, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| bad(whole, format!("text after the JSON object: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "format": 1,
      "seed": 7,
      "cluster": { "nodes": 3, "election_timeout_ms": [150, 300], "heartbeat_ms": 50,
                   "pre_vote": true, "check_quorum": true },
      "network": { "latency_ms": [1, 10], "loss": 0.0 },
      "duration_ms": 20000,
      "liveness_ms": 3000,
      "steps": [
        { "at_ms": 2000,  "op": "partition", "groups": [[0], [1, 2]] },
        { "at_ms": 4000,  "op": "heal" },
        { "at_ms": 5000,  "op": "crash", "node": "leader" },
        { "at_ms": 6000,  "op": "restart", "node": 1 }
      ]
    }"#;

    #[test]
    fn the_spec_example_parses_and_round_trips() {
        let s = Schedule::from_json(EXAMPLE).unwrap();
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[2].op, Op::Crash(crate::faults::Crash { node: NodeRef::Leader }));
        assert_eq!(Schedule::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn bursts_run_as_timed_writes_within_the_run() {
        let text = r#"{"format":1,"seed":1,"duration_ms":1000,"steps":[
            {"at_ms":100,"op":"propose","node":"leader","value":"w","count":3,"every_ms":200,"shape":4},
            {"at_ms":250,"op":"crash","node":1}]}"#;
        let s = Schedule::from_json(text).unwrap();
        assert_eq!(s.steps[0].shape, Some(4));
        assert_eq!(s.last_step_ms(), 500);
        let steps = s.timed_steps();
        let timed: Vec<(u64, &str)> = steps.iter().map(|st| (st.at_ms, st.op.name())).collect();
        assert_eq!(timed, [(100, "propose"), (250, "crash"), (300, "propose"), (500, "propose")]);
        let long = text.replace("\"every_ms\":200", "\"every_ms\":600");
        let err = Schedule::from_json(&long).unwrap_err();
        assert_eq!(err.field, "steps[0].every_ms");
        assert!(err.problem.contains("after duration_ms 1000"), "{err}");
    }

    #[test]
    fn a_byte_order_mark_and_long_timeouts_are_fine() {
        let text = "\u{feff}{\"format\":1,\"seed\":1,\"duration_ms\":100,\"cluster\":{\"election_timeout_ms\":[500,1500],\"heartbeat_ms\":100}}";
        let s = Schedule::from_json(text).unwrap();
        assert_eq!(s.cluster.election_timeout_ms, [500, 1500]);
        let adaptive =
            text.replace("\"heartbeat_ms\":100", "\"heartbeat_ms\":100,\"adaptive_timeout\":true");
        assert!(Schedule::from_json(&adaptive).is_ok(), "the cap follows the timeouts");
    }

    #[test]
    fn defaults_fill_optional_sections() {
        let s = Schedule::from_json(r#"{"format":1,"seed":1,"duration_ms":100}"#).unwrap();
        assert_eq!((s.cluster.nodes, s.liveness_ms, s.network.latency_ms), (3, 3000, [1, 10]));
    }

    /// Every way a schedule can be wrong names the field and the problem.
    #[test]
    fn each_mistake_names_its_field() {
        let with_step =
            |step: &str| format!(r#"{{"format":1,"seed":1,"duration_ms":9000,"steps":[{step}]}}"#);
        let cases = [
            (with_step(r#"{"at_ms":1,"op":"explode"}"#), "steps[0]", "unknown variant `explode`"),
            (with_step(r#"{"at_ms":1,"op":"crash","node":7}"#), "steps[0].node", "out of range"),
            (with_step(r#"{"at_ms":-5,"op":"heal"}"#), "steps[0].at_ms", "invalid value"),
            (
                with_step(r#"{"at_ms":9,"op":"heal"},{"at_ms":3,"op":"heal"}"#),
                "steps[1].at_ms",
                "before the previous",
            ),
            (
                with_step(r#"{"at_ms":1,"op":"partition","groups":[[0,1],[1,2]]}"#),
                "steps[0].groups",
                "in two groups",
            ),
            (with_step(r#"{"at_ms":1,"op":"loss","rate":1.5}"#), "steps[0].rate", "outside 0..1"),
            (with_step(r#"{"at_ms":1,"op":"clock","node":0,"rate":0}"#), "steps[0].rate", "[0.01, 100]"),
            (with_step(r#"{"at_ms":1,"op":"crash","node":"boss"}"#), "steps[0]", "unknown node name \"boss\""),
            (with_step(r#"{"at_ms":1,"op":"crash"}"#), "steps[0]", "missing field `node`"),
            (with_step(r#"{"at_ms":99999,"op":"heal"}"#), "steps[0].at_ms", "after duration_ms"),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"cluster":{"nodes":1}}"#.to_string(),
                "cluster.nodes",
                "2 to 64",
            ),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"cluster":{"election_timeout_ms":[300,150]}}"#
                    .to_string(),
                "cluster",
                "must not exceed",
            ),
            (r#"{"format":2,"seed":1,"duration_ms":9}"#.to_string(), "format", "not supported"),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"cluster":{"max_bytes_per_message":61440}}"#
                    .to_string(),
                "cluster.max_bytes_per_message",
                "would not fit one 61440-byte datagram",
            ),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"cluster":{"max_bytes_per_message":8}}"#
                    .to_string(),
                "cluster",
                "must be more than the 32 bytes",
            ),
            (with_step(r#"{"at_ms":1,"op":"propose","node":0,"value":"abc","size":2}"#), "steps[0].size", "shorter than"),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"disk":{"sync_ms":[5,2]}}"#.to_string(),
                "disk.sync_ms",
                "minimum exceeds",
            ),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"disk":{"write_ms":[0,5000]}}"#.to_string(),
                "disk.write_ms",
                "more than 1000",
            ),
            (r#"{"format":1,"seed":1,"duration_ms":9,"disk":{"fsync":1}}"#.to_string(), "disk.fsync", "unknown field"),
            (
                with_step(r#"{"at_ms":1,"op":"disk","write_ms":[0,1],"sync_ms":[9,2]}"#),
                "steps[0].sync_ms",
                "minimum exceeds",
            ),
            (
                with_step(r#"{"at_ms":1,"op":"disk","write_ms":[0,2000],"sync_ms":[0,0]}"#),
                "steps[0].write_ms",
                "more than 1000",
            ),
            (r#"{"format":1,"seed":1}"#.to_string(), "schedule", "missing field `duration_ms`"),
            (r#"{"format":1,"seed":1,"duration_ms":9,"colour":1}"#.to_string(), "colour", "unknown field"),
            ("not json".to_string(), "schedule", "expected a JSON object"),
            (format!("{} xyz", with_step(r#"{"at_ms":1,"op":"heal"}"#)), "schedule", "text after the JSON object"),
            (format!("{0}{0}", with_step(r#"{"at_ms":1,"op":"heal"}"#)), "schedule", "text after the JSON object"),
            ("[1, 7, {}, 100]".to_string(), "schedule", "expected a JSON object"),
            (with_step(r#"{"at_ms":1,"op":"heal","node":2}"#), "steps[0]", "unknown field `node`"),
            (
                with_step(r#"{"at_ms":1,"op":"partition","groups":[[0],[1,9]]}"#),
                "steps[0].groups[1][1]",
                "out of range",
            ),
            (
                with_step(r#"{"at_ms":1,"op":"partition_oneway","from":0,"to":5}"#),
                "steps[0].to",
                "out of range",
            ),
            (r#"{"format":1,"seed":1,"duration_ms":1000000000000}"#.to_string(), "duration_ms", "one simulated day"),
            (
                r#"{"format":1,"seed":1,"duration_ms":9,"liveness_ms":18446744073709551615}"#.to_string(),
                "liveness_ms",
                "one simulated day",
            ),
        ];
        for (text, field, problem) in cases {
            let err = Schedule::from_json(&text).expect_err(&text);
            assert_eq!(err.field, field, "{text} -> {err}");
            assert!(err.problem.contains(problem), "{text} -> {err}");
        }
    }
}
