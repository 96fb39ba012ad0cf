//! The shapes the generator draws with `partition` (see [`Partition`]).

use super::{length, Shape};
use ballot_schedule::faults::{Crash, Heal, Op, Partition, Propose};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A majority/minority split, and the classic divergence (Raft paper, Figures 7 and 8): a
/// minority keeps its leader and takes writes it cannot commit, the majority elects
/// another and commits writes, then the partition heals as the new leader dies.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
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

/// A minority of `(n − 1) / 2` nodes starting at `offset` around the ring, and the rest.
fn split(n: usize, offset: usize) -> (Vec<NodeRef>, Vec<NodeRef>) {
    let minority: Vec<NodeRef> =
        (0..(n - 1) / 2).map(|i| NodeRef::Index((i + offset) % n)).collect();
    let majority = (0..n).map(NodeRef::Index).filter(|r| !minority.contains(r)).collect();
    (majority, minority)
}
