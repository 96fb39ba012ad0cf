//! The shapes the generator draws with `propose` (see [`Propose`]).

use super::{node_ref, Shape};
use ballot_schedule::faults::{Heal, Isolate, Op, Propose};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A burst of writes to one node, of one drawn size (empty, typical, large, near the
/// per-message limit or over it); a long log: a follower cut off while the leader takes
/// more writes than one AppendEntries carries, then healed, so that it must catch up over
/// several rounds; and large writes in a burst while a follower lags, so that its
/// catch-up is cut by bytes rather than by count.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    // A size below the value's own length (an empty write) carries no value at all.
    let burst = |node, value: String, size: Option<usize>, count, every| {
        let value = if size.is_some_and(|s| s < value.len()) { String::new() } else { value };
        Op::from(Propose::burst(node, value, size, count, every))
    };
    vec![
        (node_ref(n), 1u64..8, 10u64..120, any::<u16>(), payload_size())
            .prop_map(move |(node, count, gap, tag, size)| {
                vec![(0, burst(node, format!("v{tag}"), size, count, gap))]
            })
            .boxed(),
        (0..n, 70u64..200, any::<u16>(), long_log_size())
            .prop_map(move |(k, count, tag, size)| {
                vec![
                    (0, Isolate { node: NodeRef::Index(k) }.into()),
                    (10, burst(NodeRef::Leader, format!("l{tag}"), size, count, 2)),
                    (20 + 2 * count, Heal {}.into()),
                ]
            })
            .boxed(),
        (0..n, 5u64..20, any::<u16>(), 4096usize..=40_960)
            .prop_map(move |(k, count, tag, size)| {
                vec![
                    (0, Isolate { node: NodeRef::Index(k) }.into()),
                    (10, burst(NodeRef::Leader, format!("b{tag}"), Some(size), count, 5)),
                    (100 + 5 * count, Heal {}.into()),
                ]
            })
            .boxed(),
    ]
}

/// Payload sizes the generator draws, bytes: empty, typical application writes, large
/// ones, ones near the default per-message limit (`Config::max_proposal_bytes`, 48 KiB less
/// the entry overhead) and ones over it, which the leader must refuse.
fn payload_size() -> impl Strategy<Value = Option<usize>> {
    let near_limit = ballot_core::Config::default().max_proposal_bytes();
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        3 => (16usize..=1024).prop_map(Some),
        2 => (4096usize..=16_384).prop_map(Some),
        1 => (near_limit - 64..=near_limit).prop_map(Some),
        1 => (near_limit + 1..=72 * 1024).prop_map(Some),
    ]
}

/// A size for the entries of a long log, bytes: small to a couple of KB, so that a log of
/// a few hundred entries is one the simulated disks rewrite quickly.
fn long_log_size() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (256usize..=2048).prop_map(Some)]
}
