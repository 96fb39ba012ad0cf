//! `partition`: only nodes in the same group can talk; nodes in no group are isolated. Also
//! the shapes built on it: majority/minority splits and divergent logs.

use super::draw::length;
use super::{index, Conditions, Crash, Fault, Heal, Op, Propose, Shape};
use crate::schedule::{NodeRef, ScheduleError};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// Only nodes in the same group can talk; nodes in no group are isolated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Disjoint groups of nodes.
    pub groups: Vec<Vec<NodeRef>>,
}

/// A minority of `(n − 1) / 2` nodes starting at `offset` around the ring, and the rest.
fn split(n: usize, offset: usize) -> (Vec<NodeRef>, Vec<NodeRef>) {
    let minority: Vec<NodeRef> =
        (0..(n - 1) / 2).map(|i| NodeRef::Index((i + offset) % n)).collect();
    let majority = (0..n).map(NodeRef::Index).filter(|r| !minority.contains(r)).collect();
    (majority, minority)
}

impl Fault for Partition {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        let mut out = Vec::new();
        for (g, group) in self.groups.iter_mut().enumerate() {
            for (i, node) in group.iter_mut().enumerate() {
                out.push((format!("groups[{g}][{i}]"), node));
            }
        }
        out
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        let mut seen = Vec::new();
        for node in self.groups.iter().flatten() {
            if seen.contains(node) {
                return Err(ScheduleError::new(
                    format!("{at}.groups"),
                    format!("node {node} is in two groups"),
                ));
            }
            seen.push(*node);
        }
        Ok(())
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let groups: Vec<Vec<usize>> =
            self.groups.iter().map(|g| g.iter().copied().map(index).collect()).collect();
        // Names resolved to one node twice ("leader" and its index): a partition that cannot be.
        let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
        all.sort_unstable();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return false;
        }
        c.blocked.clear();
        let group_of = |n: usize| groups.iter().position(|g| g.contains(&n));
        for a in 0..c.size() {
            for b in a + 1..c.size() {
                if group_of(a).is_none() || group_of(a) != group_of(b) {
                    c.cut(a, b);
                }
            }
        }
        true
    }

    /// Fewer groups (the last one dropped: its nodes become isolated).
    fn simpler(&self) -> Vec<Partition> {
        match self.groups.len() {
            0 | 1 => Vec::new(),
            k => vec![Partition { groups: self.groups[..k - 1].to_vec() }],
        }
    }

    /// The partition with `gone` left out of its group.
    fn without_node(&self, gone: NodeRef) -> Option<Partition> {
        let groups = self.groups.iter().map(|g| g.iter().copied().filter(|&r| r != gone).collect());
        Some(Partition { groups: groups.collect() })
    }

    /// A majority/minority split, and the classic divergence (Raft paper, Figures 7 and 8): a
    /// minority keeps its leader and takes writes it cannot commit, the majority elects
    /// another and commits writes, then the partition heals as the new leader dies.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![
            (0..n, length())
                .prop_map(move |(offset, len)| {
                    let (majority, minority) = split(n, offset);
                    vec![
                        (0, Partition { groups: vec![majority, minority] }.into()),
                        (len, Heal {}.into()),
                    ]
                })
                .boxed(),
            (0..n, length(), any::<u16>(), prop_oneof![Just(3u64), 70u64..200])
                .prop_map(move |(offset, len, tag, early)| {
                    // `early` writes reach whichever leader the minority keeps, and later ones
                    // the majority's: a few, or more than one AppendEntries carries, so that
                    // healed followers catch up in batches over a divergent suffix.
                    let (majority, minority) = split(n, offset);
                    let mut shape: Shape =
                        vec![(0, Partition { groups: vec![majority, minority] }.into())];
                    let late = if early > 3 { early } else { 1 };
                    let (early_writes, late_writes) = (format!("d{tag}e"), format!("d{tag}l"));
                    let writes = Propose::burst(NodeRef::Leader, early_writes, None, early, 2);
                    shape.push((10, writes.into()));
                    let writes = Propose::burst(NodeRef::Leader, late_writes, None, late, 2);
                    shape.push((len / 2 + 400, writes.into()));
                    let heal = len + 500 + 2 * late;
                    shape.push((heal, Op::from(Crash { node: NodeRef::Leader })));
                    shape.push((heal, Op::from(Heal {})));
                    shape
                })
                .boxed(),
        ]
    }
}
