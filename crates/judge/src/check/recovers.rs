//! A node recovers from a crash: started again, it starts from its disk and rejoins. One that
//! refuses to start (state it reads as damaged), or stops on its own, lost what its disk
//! promised to keep, unless the schedule damaged that disk at rest (`corrupt`): then refusing
//! is what it must do rather than serve what it read wrong. That it rejoins (catches up with
//! the leader of the liveness phase) is `replication`'s to judge.

use super::{violation, Violation};
use crate::history::{Event, EventKind, Views};
use ballot_schedule::faults::{index, Op};
use std::collections::BTreeSet;

/// The node a `corrupt` step damaged, if `e` is one that applied.
fn damaged(e: &Event) -> Option<usize> {
    match &e.kind {
        EventKind::Fault { step, skipped: false } => match &step.op {
            Op::Corrupt(c) => Some(index(c.node)),
            _ => None,
        },
        _ => None,
    }
}

/// Every node stopped by a crash or a power loss and started again starts from its disk and
/// keeps running; a node whose disk the schedule damaged may refuse.
pub(crate) fn recovers(v: &Views) -> Vec<Violation> {
    let mut damaged_nodes = BTreeSet::new();
    let mut restarted = BTreeSet::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        damaged_nodes.extend(damaged(e));
        match (&e.kind, e.node) {
            (EventKind::Restart, Some(n)) => {
                restarted.insert(n);
            }
            (EventKind::Start { .. } | EventKind::Role { .. }, Some(n)) => {
                restarted.remove(&n);
            }
            (EventKind::Stopped { error }, Some(n)) if !damaged_nodes.contains(&n) => {
                let what = if restarted.remove(&n) {
                    "refused to start from its disk after a restart"
                } else {
                    "stopped on its own"
                };
                out.push(violation(
                    "recovers",
                    e.t_ms,
                    vec![n],
                    format!("node {n} {what}: {error}"),
                ));
            }
            _ => {}
        }
    }
    out
}

/// Judged from the first restart of a node whose disk was not damaged to the end of the run
/// (a run that restarts nothing says nothing of recovery).
pub(crate) fn judged_ms(v: &Views) -> f64 {
    let mut damaged_nodes = BTreeSet::new();
    for e in v.history().events() {
        damaged_nodes.extend(damaged(e));
        if let (EventKind::Restart, Some(n)) = (&e.kind, e.node) {
            if !damaged_nodes.contains(&n) {
                return v.end_ms() - e.t_ms;
            }
        }
    }
    0.0
}
