//! The shapes the generator draws with `partition_oneway` (see [`PartitionOneway`]).

use super::{length, Shape};
use ballot_schedule::faults::{
    Crash, Heal, Hold, Latency, Op, Partition, PartitionOneway, Propose, Release, Transfer,
};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![
        (0..n, 0..n, length())
            .prop_map(|(a, b, len)| {
                if a == b {
                    return Vec::new();
                }
                let link = PartitionOneway { from: NodeRef::Index(a), to: NodeRef::Index(b) };
                vec![(0, link.into()), (len, Heal {}.into())]
            })
            .boxed(),
        // Twice: in two bits of the swarm's mix, and twice among the shapes a schedule
        // draws from. Every one of its timings must land for it to show anything, and it
        // is the rarest scenario the swarm must reach (with one entry, seed 1 did not
        // reach it in 3,000 turmoil runs once the disk faults joined the shapes).
        figure_8(n),
        figure_8(n),
    ]
}

/// The Raft paper's Figure 8, made by a generator. Of `n` nodes, a group `ga` of `n − m`
/// (`m` a majority) led by `a` takes writes it cannot commit; `b` campaigns among the other
/// `m − 1`, whose answers wait in the network (`hold`) so that they cannot elect anyone else,
/// on a slow network; once they are released, `b`'s messages to them are cut one way at a
/// drawn moment that often falls after its vote requests arrived and before its first
/// AppendEntries does, so that `b` leads an intermediate term with an entry (its no-op)
/// that nobody else holds. Then everyone but `b` is joined: a node of `ga` wins and catches
/// the others up across its suffix in batches (large writes, so that bytes cut them too),
/// and the leader crashes at a drawn moment of that catch-up. A leader that commits an entry
/// of an earlier term by counting replicas (§5.4.2) has by then reported it committed, and
/// `b`, which the liveness phase rejoins, wins without it.
fn figure_8(n: usize) -> BoxedStrategy<Shape> {
    let writes = (20u64..80, 4096usize..=8192);
    let timing_ms = (20u64..80, 300u64..800, 0u64..3_000, 300u64..900, (10u64..50, 600u64..1_400));
    (0..n, any::<u16>(), writes, timing_ms)
        .prop_map(move |(a, tag, (count, size), (slow, held, delta, join, (fast, crash)))| {
            if n < 3 {
                return Vec::new();
            }
            // `ga` holds `a` and the nodes after it, `b` comes next, the rest are the voters.
            let ring = |i: usize| NodeRef::Index((a + i) % n);
            let majority = n / 2 + 1;
            let ga: Vec<NodeRef> = (0..n - majority).map(ring).collect();
            let b = ring(n - majority);
            let voters: Vec<NodeRef> = (n - majority + 1..n).map(ring).collect();
            let mut b_and_voters = vec![b];
            b_and_voters.extend(&voters);
            let mut shape: Shape = vec![
                (0, Transfer { node: NodeRef::Leader, to: ring(0) }.into()),
                (300, Partition { groups: vec![ga.clone(), b_and_voters] }.into()),
                (300, Latency { ms: [slow, slow] }.into()),
                (310, Propose::burst(ring(0), format!("f{tag}"), Some(size), count, 2).into()),
            ];
            // Nothing a voter says reaches `b` until the release, nor another voter until the
            // liveness phase releases every link, so that no voter gathers votes of its own.
            for &v in &voters {
                let listeners = voters.iter().copied().filter(|&w| w != v).chain([b]);
                shape.extend(listeners.map(|to| (300, Hold { from: v, to }.into())));
            }
            let release = 300 + held;
            shape.extend(voters.iter().map(|&v| (release, Release { from: v, to: b }.into())));
            // The cut lands between a vote request's arrival and the first AppendEntries'
            // (each a hop of `slow`; a cut drops what is in flight): within two hops of the
            // release without pre-vote, two to four hops after it with pre-vote.
            let cut = release + delta % (4 * slow);
            shape.extend(voters.iter().map(|&to| (cut, PartitionOneway { from: b, to }.into())));
            let join = cut + join;
            let everyone_else: Vec<NodeRef> = ga.into_iter().chain(voters).collect();
            shape.push((join, Partition { groups: vec![everyone_else, vec![b]] }.into()));
            shape.push((join, Latency { ms: [fast, fast] }.into()));
            shape.push((join + crash, Op::from(Crash { node: NodeRef::Leader })));
            shape
        })
        .boxed()
}
