//! Persist before acknowledging: an AppendEntries success covered only entries that were on
//! the node's disk when it answered (the leader counts the answer towards a commit; an entry
//! the node then loses in a crash may be a committed entry lost).

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use std::collections::BTreeMap;

/// An AppendEntries success up to index I from node N was sent when N's durable log (what
/// its persists, and its start from disk, say it held) had at least I entries.
pub(crate) fn ack_durable(v: &Views) -> Vec<Violation> {
    let mut durable_len: BTreeMap<usize, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        match &e.kind {
            EventKind::Start { log_len, .. } => {
                durable_len.insert(n, *log_len);
            }
            EventKind::Persist { first_index: Some(first), terms: Some(terms), .. } => {
                durable_len.insert(n, first.saturating_sub(1) + terms.len() as u64);
            }
            &EventKind::AppendAck { leader, term, index } => {
                let durable = durable_len.get(&n).copied().unwrap_or(0);
                if index > durable {
                    out.push(violation(
                        "ack-durable",
                        e.t_ms,
                        vec![n, leader],
                        format!(
                            "node {n} told leader {leader} (term {term}) it holds entries up to \
                             {index} while only {durable} were on its disk"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
