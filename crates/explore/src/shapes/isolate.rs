//! The shapes the generator draws with `isolate` (see [`Isolate`]).

use super::{length, Shape};
use ballot_schedule::faults::{Crash, Heal, Isolate, Latency, Op, Propose};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// One node, or whichever node leads then, cut off and healed later; and a stale suffix
/// caught up by a leader that backs off over it.
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let node = prop_oneof![(0..n).prop_map(NodeRef::Index), Just(NodeRef::Leader)];
    vec![
        (node, length())
            .prop_map(|(node, len)| vec![(0, Isolate { node }.into()), (len, Heal {}.into())])
            .boxed(),
        stale_suffix_caught_up(),
    ]
}

/// A follower catching up over a stale suffix (the Raft paper's Figure 7, (c)–(f)): the
/// leader is cut off and takes writes it cannot commit; the others elect a leader that
/// commits writes of its own; as the old leader returns, that leader crashes, so that the
/// next one starts far above the old leader's log and backs off one entry per refusal, with
/// heartbeats and refusals crossing on a jittery network: an AppendEntries from below the
/// point where the logs part can then arrive before the one that truncates. A follower that
/// commits what the leader committed beyond what it knows matches reports its stale entries
/// committed.
fn stale_suffix_caught_up() -> BoxedStrategy<Shape> {
    (5u64..40, 1u64..8, 500u64..1_000, 200u64..600, 0u64..10, 10u64..60, any::<u16>())
        .prop_map(|(stale, fresh, elected, back, lat_min, jitter, tag)| {
            let leader = NodeRef::Leader;
            vec![
                (0, Isolate { node: leader }.into()),
                (10, Propose::burst(leader, format!("s{tag}"), None, stale, 2).into()),
                (elected, Propose::burst(leader, format!("c{tag}"), None, fresh, 2).into()),
                (elected + back, Op::from(Crash { node: leader })),
                (elected + back, Op::from(Heal {})),
                (elected + back, Op::from(Latency { ms: [lat_min, lat_min + jitter] })),
            ]
        })
        .boxed()
}
