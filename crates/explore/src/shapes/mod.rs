//! The fault shapes the generator draws: one file per fault that has any, each a set of
//! proptest strategies for short runs of steps built around that fault (a crash and its
//! restart, a partition timed against an election, a write raced against a transfer).
//! A fault's fields, validation and meaning live in the schedule's `faults/`; how the
//! generator combines it with others lives here, so that the schedule format needs no
//! proptest.

use ballot_schedule::faults::Op;
use ballot_schedule::NodeRef;
use proptest::prelude::*;

mod clock;
mod corrupt;
mod crash;
mod cut;
mod duplicate;
mod hold;
mod isolate;
mod latency;
mod loss;
mod partition;
mod partition_oneway;
mod pause;
mod power_loss;
mod propose;
mod transfer;

/// A fault shape the generator draws: steps at offsets (milliseconds) from the moment the
/// shape starts. Plain data, so proptest can shrink it.
pub type Shape = Vec<(u64, Op)>;

/// Every shape the generator can draw for a cluster of `n` nodes, fault by fault in the
/// order of the schedule format's table of ops (the order is part of what a seed means).
pub fn all(n: usize) -> Vec<BoxedStrategy<Shape>> {
    [
        crash::shapes(n),
        partition::shapes(n),
        partition_oneway::shapes(n),
        isolate::shapes(n),
        cut::shapes(n),
        pause::shapes(n),
        loss::shapes(n),
        latency::shapes(n),
        clock::shapes(n),
        propose::shapes(n),
        duplicate::shapes(n),
        hold::shapes(n),
        transfer::shapes(n),
        power_loss::shapes(n),
        corrupt::shapes(n),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A node by index, or "leader"/"follower" resolved when the step runs.
fn node_ref(n: usize) -> impl Strategy<Value = NodeRef> {
    prop_oneof![(0..n).prop_map(NodeRef::Index), Just(NodeRef::Leader), Just(NodeRef::Follower)]
}

/// How long a fault lasts, milliseconds.
fn length() -> impl Strategy<Value = u64> {
    50u64..1_500
}
