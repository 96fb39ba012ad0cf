//! Check-quorum deposes a leader cut off from every majority, in bounded time.

use super::{violation, Violation};
use crate::history::Views;

/// Each span in which a leader runs, unpaused, but cannot exchange messages with any
/// majority, with check-quorum on: `(node, term, from, to)`.
fn cut_off(v: &Views) -> Vec<(usize, u64, f64, f64)> {
    if !v.setup().timing.check_quorum {
        return Vec::new();
    }
    let mut out = Vec::new();
    for span in v.leaders() {
        let n = span.node;
        for (from, to) in v.intervals_where(span.from_ms, span.to_ms, |c| {
            c.up[n] && !c.paused[n] && !c.in_majority(n)
        }) {
            out.push((n, span.term, from, to));
        }
    }
    out
}

/// With check-quorum on, a leader that cannot reach a majority steps down within two of its
/// longest election timeouts, counted on its own clock from the moment it was cut off
/// (`Timing::step_down_bound_ms`); a leader still leading then, still cut off, is a
/// violation.
pub(crate) fn quorum_step_down(v: &Views) -> Vec<Violation> {
    let bound = v.setup().timing.step_down_bound_ms();
    let mut out = Vec::new();
    for (n, term, from, to) in cut_off(v) {
        let due = v.after_local_ms(n, from, bound);
        if due < to {
            out.push(violation(
                "quorum-step-down",
                due,
                vec![n],
                format!(
                    "node {n} still leads term {term} at {due:.0} ms, cut off from every majority since {from:.0} ms ({bound:.0} ms of its clock)"
                ),
            ));
        }
    }
    out
}

/// Simulated milliseconds in which some leader was cut off from every majority.
pub(crate) fn judged_ms(v: &Views) -> f64 {
    cut_off(v).iter().map(|(_, _, from, to)| to - from).sum()
}
