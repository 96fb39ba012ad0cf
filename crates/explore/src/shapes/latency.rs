//! The shapes the generator draws with `latency` (see [`Latency`]).

use super::{length, Shape};
use ballot_schedule::faults::{Heal, Latency};
use proptest::prelude::*;

pub(super) fn shapes(_n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![(0u64..50, 0u64..150, length())
        .prop_map(|(a, b, len)| vec![(0, Latency { ms: [a, a + b] }.into()), (len, Heal {}.into())])
        .boxed()]
}
