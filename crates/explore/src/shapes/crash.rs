//! The shapes the generator draws with `crash` (see [`Crash`]).

use super::{length, node_ref, Shape};
use ballot_schedule::faults::{Crash, Op, Restart};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A crash for good; a crash with a restart (by index: a name may not resolve to the same
/// node twice); crashes timed against elections: a new leader dying within moments of
/// its win, and a voter crashing mid-election and coming back while the candidates of
/// that term still ask.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let leader = NodeRef::Leader;
    vec![
        (150u64..450)
            .prop_map(move |win| {
                vec![(0, Crash { node: leader }.into()), (win, Crash { node: leader }.into())]
            })
            .boxed(),
        (0..n, 100u64..300, 5u64..200)
            .prop_map(move |(k, mid, back)| {
                let node = NodeRef::Index(k);
                vec![
                    (0, Crash { node: leader }.into()),
                    (mid, Crash { node }.into()),
                    (mid + back, Op::from(Restart { node })),
                ]
            })
            .boxed(),
        node_ref(n).prop_map(|node| vec![(0, Crash { node }.into())]).boxed(),
        (node_ref(n), length())
            .prop_map(|(node, len)| {
                let mut shape: Shape = vec![(0, Crash { node }.into())];
                if let NodeRef::Index(_) = node {
                    shape.push((len, Op::from(Restart { node })));
                }
                shape
            })
            .boxed(),
    ]
}
