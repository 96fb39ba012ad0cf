//! Lease safety: no two nodes hold a valid leader lease at the same instant.

use super::{violation, CheckContext, Violation};
use crate::history::{EventKind, History};
use crate::schedule::{NodeRef, Op};
use ballot_core::Role;
use std::collections::BTreeMap;

/// The span in which a node believed it held the lease, simulated milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) node: usize,
    pub(crate) from: f64,
    pub(crate) to: f64,
}

/// Every lease span in the history, in start order: from a `lease` event to its end, a newer
/// lease event, the loss of leadership, a crash or a stop, whichever comes first.
pub(crate) fn lease_spans(h: &History) -> Vec<Span> {
    let mut open: BTreeMap<usize, Span> = BTreeMap::new();
    let mut spans = Vec::new();
    for e in h.events() {
        let Some(n) = e.node else { continue };
        let ends_lease = match &e.kind {
            EventKind::Lease { .. } | EventKind::Crash | EventKind::Stopped { .. } => true,
            EventKind::Role { role, .. } => *role != Role::Leader,
            _ => false,
        };
        if !ends_lease {
            continue;
        }
        if let Some(mut span) = open.remove(&n) {
            span.to = span.to.min(e.t_ms);
            spans.push(span);
        }
        if let EventKind::Lease { until_ms: Some(until) } = e.kind {
            if until > e.t_ms {
                open.insert(n, Span { node: n, from: e.t_ms, to: until });
            }
        }
    }
    spans.extend(open.into_values());
    spans.sort_by(|a, b| a.from.total_cmp(&b.from));
    spans
}

/// Whether the clock rates the run applied stay within the drift bound the lease assumes
/// (the slowest clock at least `1 − bound` times the fastest). Beyond it, an overlap is the
/// assumption failing, not the code.
fn clocks_within_bound(h: &History, bound: f64) -> bool {
    let mut rates: BTreeMap<usize, f64> = BTreeMap::new();
    let (mut lowest, mut highest) = (1.0f64, 1.0f64);
    for e in h.events() {
        if let EventKind::Fault { step, skipped: false } = &e.kind {
            if let Op::Clock { node: NodeRef::Index(n), rate } = step.op {
                rates.insert(n, rate);
                lowest = lowest.min(rate);
                highest = highest.max(rate);
            }
        }
    }
    lowest >= highest * (1.0 - bound)
}

/// No two nodes both believe they hold a valid lease at one instant of simulated time,
/// checked when the applied clock rates respect the configured drift bound.
pub(crate) fn lease_safety(h: &History, ctx: &CheckContext) -> Vec<Violation> {
    if !clocks_within_bound(h, ctx.clock_drift_bound) {
        return Vec::new();
    }
    let spans = lease_spans(h);
    let mut out = Vec::new();
    for (i, a) in spans.iter().enumerate() {
        for b in spans[i + 1..].iter().take_while(|b| b.from < a.to) {
            if b.node != a.node {
                out.push(violation(
                    "lease-safety",
                    b.from,
                    vec![a.node, b.node],
                    format!(
                        "nodes {} and {} both hold a lease at {:.1} ms (until {:.1} and {:.1})",
                        a.node, b.node, b.from, a.to, b.to
                    ),
                ));
            }
        }
    }
    out
}
