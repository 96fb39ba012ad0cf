//! Terms only rise: a node's term never goes down, across restarts.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use std::collections::BTreeMap;

/// A node's term never goes down, across restarts. (Vote answers are not counted: one batch
/// of work may answer a request of the term it had before a timeout raised it.)
pub(crate) fn term_monotonic(v: &Views) -> Vec<Violation> {
    let mut highest: BTreeMap<usize, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        let term = match e.kind {
            EventKind::Start { term, .. }
            | EventKind::Role { term, .. }
            | EventKind::Persist { term: Some(term), .. } => term,
            _ => continue,
        };
        let seen = highest.entry(n).or_default();
        if term < *seen {
            let what = if matches!(e.kind, EventKind::Start { .. }) {
                "restarted in"
            } else {
                "went back to"
            };
            out.push(violation(
                "term-monotonic",
                e.t_ms,
                vec![n],
                format!("node {n} {what} term {term} after term {seen}"),
            ));
        }
        *seen = (*seen).max(term);
    }
    out
}
