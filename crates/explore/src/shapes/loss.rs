//! The shapes the generator draws with `loss` (see [`Loss`]).

use super::{length, Shape};
use ballot_schedule::faults::{Heal, Loss};
use proptest::prelude::*;

pub(super) fn shapes(_n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![(prop_oneof![Just(0.05), Just(0.2), Just(0.5)], length())
        .prop_map(|(rate, len)| vec![(0, Loss { rate }.into()), (len, Heal {}.into())])
        .boxed()]
}
