//! Stability: no new term while the cluster has been healthy for the settling time.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use ballot_core::Role;
use std::collections::BTreeMap;

/// No node starts a new term (becomes candidate) in a stretch where the conditions have been
/// healthy and unchanged for three maximum election timeouts and a leader has been elected,
/// and no leader steps down there in its own term (a check-quorum false alarm). Judged in runs
/// with a liveness phase only: a run that studies a lasting fault is checked for safety alone.
///
/// What stability forbids is a node that follows a live leader of a healthy cluster and still
/// times out. So these are no disruption: the target of a `transfer` while the transfer lives
/// (the leader asked it to); a candidate in a term no higher than a leader already elected (a
/// straggler of that election, which cannot win); a node that followed no leader when its
/// timer fired within one maximum election timeout of the leader's election (the timer was
/// set before the leader's first heartbeat could reach it: narrow timeouts and long latencies
/// make that race common); and a campaign while no live leader leads (electing one is
/// liveness's business, and what removed the last one was judged). A node that still follows
/// no one later, and campaigns, is unstable: the leader does not reach it.
pub(crate) fn stability(v: &Views) -> Vec<Violation> {
    let settled = settled(v);
    let judged_since =
        |t: f64| settled.iter().find(|(from, to)| *from <= t && t < *to).map(|&(since, _)| since);
    let mut out = Vec::new();
    // Per node: its role, term and whether it follows a leader, as of its last role event.
    let mut state: BTreeMap<usize, (Role, u64, bool)> = BTreeMap::new();
    for e in v.history().events() {
        let (EventKind::Role { role, term, leader }, Some(n)) = (&e.kind, e.node) else {
            continue;
        };
        let before = state.insert(n, (*role, *term, leader.is_some()));
        let Some(since) = judged_since(e.t_ms) else { continue };
        if let Some((Role::Leader, was_term, _)) = before {
            if *role != Role::Leader && *term == was_term {
                out.push(violation(
                    "stability",
                    e.t_ms,
                    vec![n],
                    format!("leader {n} stepped down in term {term} although the cluster was healthy and led since {since:.0} ms"),
                ));
            }
            continue;
        }
        if *role != Role::Candidate || v.transfer_to(n, e.t_ms) {
            continue;
        }
        let live = v.conditions_at(e.t_ms).live();
        let leading = v
            .leaders()
            .iter()
            .filter(|s| s.node != n && live.contains(&s.node))
            .find(|s| s.from_ms <= e.t_ms && e.t_ms < s.to_ms);
        let Some(leading) = leading else { continue };
        // A node that follows no one may have set its timer before this leader was elected,
        // if it was elected within one maximum election timeout; later, it should follow.
        let was_following = before.is_some_and(|(_, _, following)| following);
        let max_timeout = v.setup().timing.election_timeout_max_ms as f64;
        let racing = !was_following && e.t_ms - leading.from_ms <= max_timeout;
        let elected_already = v.leaders().iter().any(|s| s.term >= *term && s.from_ms <= e.t_ms);
        if racing || elected_already {
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
