//! The shapes the generator draws with `clock` (see [`Clock`]).

use super::Shape;
use ballot_schedule::faults::Clock;
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// Slow, slightly off and fast clocks; a drift lasts until the run's end (or the liveness
/// phase, which sets every clock back to 1.0).
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let rate = prop_oneof![Just(0.5), Just(0.98), Just(1.02), Just(1.5), Just(3.0)];
    vec![(0..n, rate)
        .prop_map(|(a, rate)| vec![(0, Clock { node: NodeRef::Index(a), rate }.into())])
        .boxed()]
}
