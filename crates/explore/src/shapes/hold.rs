//! The shapes the generator draws with `hold` (see [`Hold`]).

use super::{length, Shape};
use ballot_schedule::faults::{Heal, Hold, Op, Release};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A link held while an election may happen, then released (its old-term messages
/// arrive late); and the leader's messages to one node held until a heal.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let link = (0..n, 0..n).prop_filter("two nodes", |(a, b)| a != b);
    vec![
        (link, length())
            .prop_map(|((a, b), len)| {
                let (from, to) = (NodeRef::Index(a), NodeRef::Index(b));
                vec![(0, Hold { from, to }.into()), (len, Op::from(Release { from, to }))]
            })
            .boxed(),
        (0..n, length())
            .prop_map(|(b, len)| {
                let hold = Hold { from: NodeRef::Leader, to: NodeRef::Index(b) };
                vec![(0, hold.into()), (len, Heal {}.into())]
            })
            .boxed(),
    ]
}
