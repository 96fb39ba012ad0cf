//! The shapes the generator draws with `corrupt` (see [`Corrupt`]).

use super::{length, Shape};
use ballot_schedule::faults::{Corrupt, Crash, Damage, Op, PowerLoss, Restart};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A node stopped (a crash or a power loss), its files damaged, and started again: one
/// node only, so that a majority of good disks remains.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let what = prop_oneof![Just(Damage::Bitflip), Just(Damage::Truncate)];
    vec![(0..n, any::<bool>(), what, 1u64..200, length())
        .prop_map(|(k, power, what, at, len)| {
            let node = NodeRef::Index(k);
            let stop = if power { Op::from(PowerLoss { node }) } else { Crash { node }.into() };
            vec![
                (0, stop),
                (at, Corrupt { node, what }.into()),
                (at + len, Restart { node }.into()),
            ]
        })
        .boxed()]
}
