//! The shapes the generator draws with `power_loss` (see [`PowerLoss`]).

use super::{length, Shape};
use ballot_schedule::faults::{Op, PowerLoss, Propose, Restart};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A power loss of a node by index, and its restart: the leader's in the middle of
/// taking writes (its saves in flight), or any node's.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![(0..n, 0u64..40, length(), any::<u16>())
        .prop_map(|(k, after, len, tag)| {
            let node = NodeRef::Index(k);
            let write = Propose::new(NodeRef::Leader, format!("p{tag}"));
            vec![
                (0, Op::from(write)),
                (after, PowerLoss { node }.into()),
                (after + len, Restart { node }.into()),
            ]
        })
        .boxed()]
}
