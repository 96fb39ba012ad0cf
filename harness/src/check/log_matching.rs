//! Log Matching (Raft Figure 3), over each node's durable log.

use super::{violation, Violation};
use crate::history::{DurableLogs, Views};

/// Where two logs first differ, if some later index has the same term in both: a
/// counterexample to Log Matching (same index and term, different prefixes).
fn mismatch(a: &[u64], b: &[u64]) -> Option<(usize, usize)> {
    let common = a.len().min(b.len());
    let first_diff = (0..common).find(|&i| a[i] != b[i])?;
    (first_diff + 1..common).rev().find(|&i| a[i] == b[i]).map(|same| (first_diff + 1, same + 1))
}

/// Raft Figure 3, Log Matching: if two logs hold an entry with the same index and term, they
/// are identical up to it.
pub(crate) fn log_matching(v: &Views) -> Vec<Violation> {
    let mut logs = DurableLogs::default();
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        let Some(log) = logs.apply(n, &e.kind).map(<[u64]>::to_vec) else { continue };
        for (&other, other_log) in logs.nodes().filter(|(&o, _)| o != n) {
            if let Some((differ, same)) = mismatch(&log, other_log) {
                out.push(violation(
                    "log-matching",
                    e.t_ms,
                    vec![n, other],
                    format!(
                        "nodes {n} and {other} agree on entry {same} (term {}) but differ at {differ}",
                        log[same - 1]
                    ),
                ));
            }
        }
    }
    out
}
