//! Log Matching (Raft Figure 3), over each node's durable log.

use super::{violation, Violation};
use crate::history::{DurableLogs, Views};
use std::collections::BTreeMap;

/// Raft Figure 3, Log Matching: if two logs hold an entry with the same index and term, they
/// are identical up to it. Judged after every durable write, against every other node's log,
/// from the prefix the two logs are known to share (kept as they change, so that a write
/// that appends costs what it appends, not the length of the log).
pub(crate) fn log_matching(v: &Views) -> Vec<Violation> {
    let mut logs = DurableLogs::default();
    // The length of the prefix each pair of nodes' logs share.
    let mut shared: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        let Some(first) = DurableLogs::first_changed(&e.kind) else { continue };
        if logs.apply(n, &e.kind).is_none() {
            continue;
        }
        let log = logs.get(n);
        for (&other, other_log) in logs.nodes().filter(|(&o, _)| o != n) {
            let end = log.len().min(other_log.len());
            let common = shared.entry((n.min(other), n.max(other))).or_insert(0);
            *common = (*common).min(first.saturating_sub(1) as usize).min(end);
            while *common < end && log[*common] == other_log[*common] {
                *common += 1;
            }
            // Past the shared prefix the logs differ: an agreement after that breaks it.
            let Some(same) = (*common + 1..end).rev().find(|&i| log[i] == other_log[i]) else {
                continue;
            };
            out.push(violation(
                "log-matching",
                e.t_ms,
                vec![n, other],
                format!(
                    "nodes {n} and {other} agree on entry {} (term {}) but differ at {}",
                    same + 1,
                    log[same],
                    *common + 1
                ),
            ));
        }
    }
    out
}
