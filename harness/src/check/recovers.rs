//! A node recovers from a crash: started again, it starts from its disk and rejoins. One that
//! refuses to start (state it reads as damaged), or stops on its own, lost what its disk
//! promised to keep, unless the schedule damaged that disk at rest (`corrupt`): then refusing
//! is what it must do rather than serve what it read wrong. That it rejoins (catches up with
//! the leader of the liveness phase) is `replication`'s to judge.

use super::{violation, Violation};
use crate::faults::{index, Op};
use crate::history::{EventKind, Views};
use std::collections::BTreeSet;

/// Every node stopped by a crash or a power loss and started again starts from its disk and
/// keeps running; a node whose disk the schedule damaged may refuse.
pub(crate) fn recovers(v: &Views) -> Vec<Violation> {
    let mut damaged = BTreeSet::new();
    let mut restarted = BTreeSet::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        match (&e.kind, e.node) {
            (EventKind::Fault { step, skipped: false }, _) => {
                if let Op::Corrupt(c) = &step.op {
                    damaged.insert(index(c.node));
                }
            }
            (EventKind::Restart, Some(n)) => {
                restarted.insert(n);
            }
            (EventKind::Start { .. } | EventKind::Role { .. }, Some(n)) => {
                restarted.remove(&n);
            }
            (EventKind::Stopped { error }, Some(n)) if !damaged.contains(&n) => {
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
    let mut damaged = BTreeSet::new();
    for e in v.history().events() {
        match (&e.kind, e.node) {
            (EventKind::Fault { step, skipped: false }, _) => {
                if let Op::Corrupt(c) = &step.op {
                    damaged.insert(index(c.node));
                }
            }
            (EventKind::Restart, Some(n)) if !damaged.contains(&n) => {
                return v.end_ms() - e.t_ms;
            }
            _ => {}
        }
    }
    0.0
}
