//! The run summary of SPEC.md and the one verdict rule that `run`, `repro` and `chaos` share.

use crate::check::{class_of, Class, Judgement, Violation};
use crate::history::{LeaderSpan, Views};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcome of a run, or of a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every property held.
    Pass,
    /// Only liveness properties were violated.
    Liveness,
    /// A safety property was violated.
    Safety,
    /// The same seed and schedule gave two different histories.
    Nondeterminism,
}

impl Verdict {
    /// The verdict for violations of these properties: safety wins over liveness.
    pub fn of<'a>(violated: impl IntoIterator<Item = &'a str>) -> Verdict {
        violated.into_iter().fold(Verdict::Pass, |verdict, p| {
            let this = match class_of(p) {
                Some(Class::Liveness) => Verdict::Liveness,
                _ => Verdict::Safety,
            };
            verdict.max(this)
        })
    }

    /// The process exit status SPEC.md gives this verdict.
    pub fn exit_code(self) -> u8 {
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
    /// Per property, the simulated milliseconds over which it was judged (0: not checked).
    #[serde(default)]
    pub checked: BTreeMap<String, f64>,
    /// Every term that had a leader, in term order.
    pub leaders: Vec<LeaderSpan>,
    /// How many times the nodes met each rare situation (coverage marks), by name.
    #[serde(default)]
    pub marks: BTreeMap<String, u64>,
    /// Properties the history could not support, and why (a real cluster's: no fault
    /// record, clocks not comparable); absent for the simulator's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported: BTreeMap<String, String>,
    /// `processes` for a run on real node processes: its milliseconds are real time, and
    /// the same schedule may not give the same history again. Absent for the simulator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<ballot_schedule::WorldName>,
    /// Nodes that exited without being crashed (the processes world), each with when and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exited: Vec<String>,
}

impl Summary {
    /// Builds the summary of a finished run.
    pub fn of(seed: u64, views: &Views, judgement: Judgement) -> Summary {
        let verdict = Verdict::of(judgement.violations.iter().map(|v| v.property.as_str()));
        let stats = Stats {
            elections: views.elections_between(0.0, f64::INFINITY),
            max_term: views.max_term(),
            messages: views.history().messages,
            sim_ms: views.end_ms() as u64,
        };
        Summary {
            verdict,
            seed,
            violations: judgement.violations,
            stats,
            checked: judgement.checked,
            leaders: views.leaders().to_vec(),
            marks: views.marks(),
            unsupported: BTreeMap::new(),
            world: None,
            exited: Vec::new(),
        }
    }

    /// Marks `property` as one the history cannot support: not checked (whatever its checker
    /// said), for `reason`.
    pub fn unsupported(&mut self, property: &str, reason: &str) {
        self.checked.insert(property.to_string(), 0.0);
        self.violations.retain(|v| v.property != property);
        self.unsupported.insert(property.to_string(), reason.to_string());
        self.verdict = Verdict::of(self.violations.iter().map(|v| v.property.as_str()));
    }

    /// Whether the run violated `property`.
    pub fn violates(&self, property: &str) -> bool {
        self.violations.iter().any(|v| v.property == property)
    }

    /// Properties the run judged for no time at all: a pass says nothing about them.
    pub fn not_checked(&self) -> Vec<&str> {
        self.checked.iter().filter(|(_, ms)| **ms <= 0.0).map(|(p, _)| p.as_str()).collect()
    }
}
