//! The shapes the generator draws with `pause` (see [`Pause`]).

use super::{length, node_ref, Shape};
use ballot_schedule::faults::{Heal, Op, Pause, Propose, Resume};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A pause and its end (a resume by index; a heal when the node was named by role); and
/// leader churn (Raft paper, Figure 8): again and again, a leader takes a write and is
/// frozen moments later, with the write on some followers only, while the others elect
/// a new leader; then it wakes. Logs end up holding uncommitted entries of several
/// earlier terms, which new leaders must neither lose nor commit by counting replicas.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let leader = NodeRef::Leader;
    let cycle = (0u64..15, 200u64..700);
    vec![
        (node_ref(n), length())
            .prop_map(|(node, len)| {
                let end = match node {
                    NodeRef::Index(_) => Op::from(Resume { node }),
                    _ => Op::from(Heal {}),
                };
                vec![(0, Pause { node }.into()), (len, end)]
            })
            .boxed(),
        (proptest::collection::vec(cycle, 2..6), any::<u16>())
            .prop_map(move |(cycles, tag)| {
                let mut shape: Shape = Vec::new();
                let mut t = 0;
                for (i, (freeze, len)) in cycles.into_iter().enumerate() {
                    let value = format!("f{tag}-{i}");
                    shape.push((t, Propose::new(leader, value).into()));
                    shape.push((t + freeze, Pause { node: leader }.into()));
                    shape.push((t + freeze + len, Heal {}.into()));
                    t += freeze + len + 50;
                }
                shape
            })
            .boxed(),
    ]
}
