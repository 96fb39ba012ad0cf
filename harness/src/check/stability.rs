//! Stability: no new term while the cluster has been healthy for the settling time.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use ballot_core::Role;

/// No node starts a new term (becomes candidate) in a stretch where the conditions have been
/// healthy and unchanged for three maximum election timeouts and a leader has been elected.
/// Judged in runs with a liveness phase only: a run that studies a lasting fault is checked
/// for safety alone. The target of a `transfer` may campaign while the transfer lives: the
/// leader asked it to. A candidate in a term no higher than a leader already elected is a
/// straggler of that election (its timer fired before the winner's request reached it): it
/// cannot win and deposes no one.
pub(crate) fn stability(v: &Views) -> Vec<Violation> {
    let settled = settled(v);
    let mut out = Vec::new();
    for e in v.history().events() {
        let EventKind::Role { role: Role::Candidate, term, .. } = e.kind else { continue };
        let Some(&(since, _)) = settled.iter().find(|(from, to)| *from <= e.t_ms && e.t_ms < *to)
        else {
            continue;
        };
        let n = e.node.unwrap_or_default();
        let elected_already = v.leaders().iter().any(|s| s.term >= term && s.from_ms <= e.t_ms);
        if v.transfer_to(n, e.t_ms) || elected_already {
            continue;
        }
        out.push(violation(
            "stability",
            e.t_ms,
            vec![n],
            format!("node {n} started term {term} although the cluster was healthy and led since {since:.0} ms"),
        ));
    }
    out
}

fn settled(v: &Views) -> Vec<(f64, f64)> {
    if v.liveness_phase().is_none() {
        return Vec::new();
    }
    v.settled_healthy()
}

/// Simulated milliseconds in which the cluster was healthy and settled.
pub(crate) fn judged_ms(v: &Views) -> f64 {
    settled(v).iter().map(|(from, to)| to - from).sum()
}
