//! Named properties, one per file, each a pure function of a history's [`Views`]: what counts
//! as correct, kept apart from how a run is produced. Each property also says over how many
//! simulated milliseconds it was judged, so that a vacuous pass shows.

mod ack_durable;
mod committed_durable;
mod election_safety;
mod leader_completeness;
mod lease_safety;
mod lease_vote;
mod liveness;
mod log_matching;
mod no_disruption;
mod quorum_step_down;
mod recovers;
mod replication;
pub use replication::last_deadline_ms as last_catch_up_deadline_ms;
mod stability;
mod term_monotonic;
mod vote_durable;
mod vote_once;

#[cfg(test)]
mod tests;

use crate::history::Views;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Whether a violated property is about safety (exit 1) or liveness (exit 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Something bad happened.
    Safety,
    /// Something good did not happen (in time).
    Liveness,
}

/// A named property, its checker, and how long a run judged it.
pub struct Property {
    /// Its name.
    pub name: &'static str,
    /// Safety or liveness.
    pub class: Class,
    /// The checker.
    pub check: fn(&Views) -> Vec<Violation>,
    /// Simulated milliseconds over which the run judged it.
    pub judged_ms: fn(&Views) -> f64,
    /// The situation a run must reach for the property to say anything (`None`: every run
    /// with a liveness phase judges it).
    pub needs: Option<&'static str>,
}

/// Safety properties that hold at every instant are judged over the whole run.
fn whole_run(v: &Views) -> f64 {
    v.end_ms()
}

macro_rules! safety {
    ($name:literal, $module:ident) => {
        Property {
            name: $name,
            class: Class::Safety,
            check: $module::$module,
            judged_ms: whole_run,
            needs: None,
        }
    };
}

/// Every property ballot checks, in a fixed order.
pub const PROPERTIES: &[Property] = &[
    safety!("election-safety", election_safety),
    safety!("vote-once", vote_once),
    safety!("vote-durable", vote_durable),
    safety!("ack-durable", ack_durable),
    safety!("term-monotonic", term_monotonic),
    safety!("log-matching", log_matching),
    safety!("leader-completeness", leader_completeness),
    safety!("committed-durable", committed_durable),
    Property {
        name: "recovers",
        class: Class::Safety,
        check: recovers::recovers,
        judged_ms: recovers::judged_ms,
        needs: Some("a node crashed (or lost power) and started again"),
    },
    Property {
        name: "lease-safety",
        class: Class::Safety,
        check: lease_safety::lease_safety,
        judged_ms: lease_safety::judged_ms,
        needs: Some("check-quorum on (no node holds a lease without it)"),
    },
    Property {
        name: "lease-vote",
        class: Class::Safety,
        check: lease_vote::lease_vote,
        judged_ms: lease_vote::judged_ms,
        needs: Some("check-quorum on"),
    },
    Property {
        name: "quorum-step-down",
        class: Class::Liveness,
        check: quorum_step_down::quorum_step_down,
        judged_ms: quorum_step_down::judged_ms,
        needs: Some("check-quorum on and a leader cut off from every majority"),
    },
    Property {
        name: "no-disruption",
        class: Class::Liveness,
        check: no_disruption::no_disruption,
        judged_ms: no_disruption::judged_ms,
        needs: Some("pre-vote and check-quorum on and a leader with a working majority for three maximum election timeouts"),
    },
    Property {
        name: "liveness",
        class: Class::Liveness,
        check: liveness::liveness,
        judged_ms: liveness::judged_ms,
        needs: Some("a liveness phase in which a majority runs (not counting nodes that refused their damaged disks) and elections can converge: an election timeout range wider than a vote round trip (both hops at the highest latency, a save on each side), or ballot's split-vote backoff"),
    },
    Property {
        name: "replication",
        class: Class::Liveness,
        check: replication::replication,
        judged_ms: replication::judged_ms,
        needs: Some("a leader in the liveness phase and a node whose catch-up allowance ends before the run does"),
    },
    Property {
        name: "stability",
        class: Class::Liveness,
        check: stability::stability,
        judged_ms: stability::judged_ms,
        needs: Some("a healthy stretch: a round trip, the disk's saves included, below the minimum election timeout"),
    },
];

/// The property called `name`.
pub fn property(name: &str) -> Option<&'static Property> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// The class of the property called `name`.
pub fn class_of(name: &str) -> Option<Class> {
    property(name).map(|p| p.class)
}

/// What every checker found: violations in time order, and the simulated milliseconds each
/// property was judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// Every violation, in time order.
    pub violations: Vec<Violation>,
    /// Per property, simulated milliseconds judged (0: the run said nothing about it).
    pub checked: BTreeMap<String, f64>,
}

/// Runs every checker.
pub fn check_all(views: &Views) -> Judgement {
    let mut violations: Vec<Violation> = PROPERTIES.iter().flat_map(|p| (p.check)(views)).collect();
    violations.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms).then_with(|| a.property.cmp(&b.property)));
    // `+ 0.0` turns the -0.0 that an empty f64 sum gives into 0.0 (no "-0.0" in JSON).
    let checked =
        PROPERTIES.iter().map(|p| (p.name.to_string(), (p.judged_ms)(views) + 0.0)).collect();
    Judgement { violations, checked }
}
