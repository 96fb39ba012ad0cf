//! Persist before send: a granted vote was on disk when it was announced.

use super::{violation, Violation};
use crate::history::{EventKind, Views};
use std::collections::BTreeMap;

/// Persist before send: a vote granted in term T was durable when announced: the disk held
/// (T, that candidate), or already a later term (in which case T can never be voted in again).
pub(crate) fn vote_durable(v: &Views) -> Vec<Violation> {
    let mut disk: BTreeMap<usize, (u64, Option<usize>)> = BTreeMap::new();
    let mut out = Vec::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        match e.kind {
            EventKind::Start { term, voted_for, .. } => {
                disk.insert(n, (term, voted_for));
            }
            EventKind::Persist { term: Some(term), voted_for, .. } => {
                disk.insert(n, (term, voted_for));
            }
            EventKind::Vote { term, candidate, granted: true, pre_vote: false, .. } => {
                let (on_disk, vote) = disk.get(&n).copied().unwrap_or((0, None));
                if on_disk < term || (on_disk == term && vote != Some(candidate)) {
                    out.push(violation(
                        "vote-durable",
                        e.t_ms,
                        vec![n, candidate],
                        format!(
                            "node {n} granted its term-{term} vote to {candidate} while its disk \
                             held term {on_disk}, vote {vote:?}"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
