//! Lease safety: no two nodes hold a valid leader lease at one instant, judged wherever the
//! clocks respect the drift bound the lease assumes.

use super::{violation, Violation};
use crate::history::Views;

/// No two nodes both believe they hold a valid lease at one instant of simulated time, in
/// every interval where the clocks are within the drift bound (beyond it, an overlap is the
/// assumption failing, not the code).
pub(crate) fn lease_safety(v: &Views) -> Vec<Violation> {
    let judged = v.drift_in_bound();
    let spans = v.leases();
    let mut out = Vec::new();
    for (i, a) in spans.iter().enumerate() {
        for b in spans[i + 1..].iter().take_while(|b| b.from < a.to) {
            if b.node == a.node {
                continue;
            }
            let (from, to) = (b.from, a.to.min(b.to));
            let Some(at) =
                judged.iter().find(|(j0, j1)| *j0 < to && from < *j1).map(|j| j.0.max(from))
            else {
                continue;
            };
            out.push(violation(
                "lease-safety",
                at,
                vec![a.node, b.node],
                format!(
                    "nodes {} and {} both hold a lease at {at:.1} ms (until {:.1} and {:.1})",
                    a.node, b.node, a.to, b.to
                ),
            ));
        }
    }
    out
}

/// Simulated milliseconds in which the clocks respected the drift bound.
pub(crate) fn judged_ms(v: &Views) -> f64 {
    // Without check-quorum no node holds a lease: nothing to judge.
    if !v.setup().timing.check_quorum {
        return 0.0;
    }
    v.drift_in_bound().iter().map(|(from, to)| to - from).sum()
}
