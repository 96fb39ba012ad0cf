//! Liveness after the last step, and stability while the cluster is healthy.

use super::{violation, CheckContext, Violation};
use crate::history::{EventKind, History};
use ballot_core::Role;

/// Spans in which `node` was leader, from the history.
fn leadership_spans(h: &History, node: usize, end: f64) -> Vec<(f64, f64)> {
    let mut spans = Vec::new();
    let mut since = None;
    for e in h.events().iter().filter(|e| e.node == Some(node)) {
        let leads = match &e.kind {
            EventKind::Role { role, .. } => *role == Role::Leader,
            EventKind::Crash | EventKind::Stopped { .. } | EventKind::Start { .. } => false,
            _ => continue,
        };
        match (since, leads) {
            (None, true) => since = Some(e.t_ms),
            (Some(from), false) => {
                spans.push((from, e.t_ms));
                since = None;
            }
            _ => {}
        }
    }
    spans.extend(since.map(|from| (from, end)));
    spans
}

/// SPEC.md liveness: when the run ends with a healthy majority (a `liveness_window` event),
/// one of its nodes leads by the deadline and keeps leading to the end, and from the deadline
/// on no other node of the majority still believes it leads (a stale leader has stepped down).
pub(crate) fn liveness(h: &History, _: &CheckContext) -> Vec<Violation> {
    let Some((nodes, from, deadline, until)) =
        h.events().iter().rev().find_map(|e| match &e.kind {
            EventKind::LivenessWindow { nodes, from_ms, deadline_ms, until_ms } => {
                Some((nodes.clone(), *from_ms, *deadline_ms, *until_ms))
            }
            _ => None,
        })
    else {
        return Vec::new();
    };
    let leads_throughout = |n: usize| {
        leadership_spans(h, n, until).iter().any(|&(start, end)| start <= deadline && end >= until)
    };
    if let Some(leader) = nodes.iter().copied().find(|&n| leads_throughout(n)) {
        let rival = nodes.iter().copied().find(|&n| {
            n != leader && leadership_spans(h, n, until).iter().any(|&(_, end)| end > deadline)
        });
        return match rival {
            None => Vec::new(),
            Some(r) => vec![violation(
                "liveness",
                deadline,
                vec![leader, r],
                format!("node {r} still believes it leads after {deadline:.0} ms, beside leader {leader}"),
            )],
        };
    }
    let message = format!(
        "no node of {nodes:?} led from {deadline:.0} ms ({:.0} ms after the last step) to the end at {until:.0} ms",
        deadline - from
    );
    vec![violation("liveness", deadline, nodes, message)]
}

/// Stability: no node starts a new term while the cluster has been healthy (see the
/// `health` events) for longer than the settling time.
pub(crate) fn stability(h: &History, ctx: &CheckContext) -> Vec<Violation> {
    let mut healthy_since: Option<f64> = Some(0.0);
    let mut out = Vec::new();
    for e in h.events() {
        match e.kind {
            EventKind::Health { healthy } => {
                healthy_since = match (healthy, healthy_since) {
                    (true, Some(since)) => Some(since),
                    (true, None) => Some(e.t_ms),
                    (false, _) => None,
                };
            }
            EventKind::Role { role: Role::Candidate, term, .. } => {
                if let Some(since) = healthy_since.filter(|s| e.t_ms - s > ctx.settle_ms()) {
                    let n = e.node.unwrap_or_default();
                    out.push(violation(
                        "stability",
                        e.t_ms,
                        vec![n],
                        format!(
                            "node {n} started term {term} although the cluster was healthy since {since:.0} ms"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
