//! Terms only rise: a node's term never goes down while it runs, and a restart never forgets
//! a term that was durable or that it announced.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use std::collections::BTreeMap;

/// A node's term never goes down within one run of it, and it restarts in at least the
/// highest term it had made durable or announced (in a vote answer or an AppendEntries
/// success). A term it only held in memory (a timeout raised it, a crash came before the
/// write completed) may be forgotten: persist before send kept every message that carried it
/// from leaving. (Within one run vote answers are not compared: one batch of work may answer
/// a request of the term it had before a timeout raised it.)
pub(crate) fn term_monotonic(v: &Views) -> Vec<Violation> {
    let mut running: BTreeMap<usize, u64> = BTreeMap::new();
    let mut kept: BTreeMap<usize, u64> = BTreeMap::new();
    let keep = |kept: &mut BTreeMap<usize, u64>, n: usize, term: u64| {
        let k = kept.entry(n).or_default();
        *k = (*k).max(term);
    };
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        let (term, floor, what) = match e.kind {
            EventKind::Vote { term, pre_vote: false, .. } | EventKind::AppendAck { term, .. } => {
                keep(&mut kept, n, term);
                continue;
            }
            EventKind::Start { term, .. } => {
                let floor = kept.get(&n).copied().unwrap_or(0);
                running.insert(n, 0);
                (term, floor, "restarted in")
            }
            EventKind::Role { term, .. } => {
                (term, running.get(&n).copied().unwrap_or(0), "went back to")
            }
            EventKind::Persist { term: Some(term), .. } => {
                let floor = running.get(&n).copied().unwrap_or(0);
                keep(&mut kept, n, term);
                (term, floor, "went back to")
            }
            _ => continue,
        };
        if term < floor {
            out.push(violation(
                "term-monotonic",
                e.t_ms,
                vec![n],
                format!("node {n} {what} term {term} after term {floor}"),
            ));
        }
        let seen = running.entry(n).or_default();
        *seen = (*seen).max(term);
    }
    out
}
