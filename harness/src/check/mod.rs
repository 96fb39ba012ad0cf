//! Named properties, each a pure function of a history: what counts as correct, kept apart
//! from how a run is produced.

mod durability;
mod elections;
pub(crate) mod lease;
mod liveness;
mod logs;

#[cfg(test)]
mod tests;

use crate::history::History;
use serde::{Deserialize, Serialize};

/// A property that did not hold, where and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The property's name, like `election-safety`.
    pub property: String,
    /// When it was violated, simulated milliseconds.
    pub t_ms: f64,
    /// The nodes involved.
    #[serde(default)]
    pub nodes: Vec<usize>,
    /// What happened.
    pub message: String,
}

pub(crate) fn violation(
    property: &str,
    t_ms: f64,
    nodes: Vec<usize>,
    message: String,
) -> Violation {
    Violation { property: property.to_string(), t_ms, nodes, message }
}

/// What the checkers need to know beyond the history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckContext {
    /// Upper bound of the election timeout, milliseconds.
    pub election_timeout_max_ms: u64,
    /// The clock-drift bound the leader lease assumes, as a fraction.
    pub clock_drift_bound: f64,
}

impl CheckContext {
    /// How long a healthy cluster may take to settle (finish elections caused by earlier
    /// faults) before a new term counts against stability: three maximum election timeouts.
    pub fn settle_ms(&self) -> f64 {
        3.0 * self.election_timeout_max_ms as f64
    }
}

/// Whether a violated property is about safety (exit 1) or liveness (exit 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Something bad happened.
    Safety,
    /// Something good did not happen (in time).
    Liveness,
}

/// A named property and its checker.
pub struct Property {
    /// Its name.
    pub name: &'static str,
    /// Safety or liveness.
    pub class: Class,
    /// The checker.
    pub check: fn(&History, &CheckContext) -> Vec<Violation>,
}

/// Every property ballot checks, in a fixed order.
pub const PROPERTIES: &[Property] = &[
    Property { name: "election-safety", class: Class::Safety, check: elections::election_safety },
    Property { name: "vote-once", class: Class::Safety, check: elections::vote_once },
    Property { name: "vote-durable", class: Class::Safety, check: elections::vote_durable },
    Property { name: "term-monotonic", class: Class::Safety, check: elections::term_monotonic },
    Property { name: "log-matching", class: Class::Safety, check: logs::log_matching },
    Property {
        name: "leader-completeness",
        class: Class::Safety,
        check: logs::leader_completeness,
    },
    Property {
        name: "committed-durable",
        class: Class::Safety,
        check: durability::committed_durable,
    },
    Property { name: "lease-safety", class: Class::Safety, check: lease::lease_safety },
    Property { name: "liveness", class: Class::Liveness, check: liveness::liveness },
    Property { name: "stability", class: Class::Liveness, check: liveness::stability },
];

/// The class of the property called `name`.
pub fn class_of(name: &str) -> Option<Class> {
    PROPERTIES.iter().find(|p| p.name == name).map(|p| p.class)
}

/// Runs every checker; violations in time order.
pub fn check_all(history: &History, ctx: &CheckContext) -> Vec<Violation> {
    let mut out: Vec<Violation> = PROPERTIES.iter().flat_map(|p| (p.check)(history, ctx)).collect();
    out.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms).then_with(|| a.property.cmp(&b.property)));
    out
}
