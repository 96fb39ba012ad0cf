//! The shapes the generator draws with `duplicate` (see [`Duplicate`]).

use super::{length, Shape};
use ballot_schedule::faults::{Duplicate, Heal};
use proptest::prelude::*;

pub(super) fn shapes(_n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![(prop_oneof![Just(0.1), Just(0.5)], length())
        .prop_map(|(rate, len)| vec![(0, Duplicate { rate }.into()), (len, Heal {}.into())])
        .boxed()]
}
