//! The shapes the generator draws with `transfer` (see [`Transfer`]).

use super::Shape;
use ballot_schedule::faults::{Cut, Heal, Hold, Isolate, Op, PartitionOneway, Release, Transfer};
use ballot_schedule::NodeRef;
use proptest::prelude::*;

/// A transfer from the leader to one node; and a transfer whose messages both ways wait
/// in the network (`hold`) until after it expired, so that a late TimeoutNow meets a
/// leader that renewed its lease (raft-rs #234); and a transfer whose old leader is cut off
/// from every other node moments after TimeoutNow left, so that its target leads while
/// the old leader's transfer runs out on acknowledgements it had before the cut; and a
/// transfer whose TimeoutNow leaves late in its life (the target hears nothing until then)
/// and whose old leader is cut off right after, so that the transfer expires while the
/// old leader still holds acknowledgements recent enough for a lease; and a transfer
/// amid asymmetric links: leadership first handed to a known node `a` (so that later
/// steps can name the old leader), `a`'s messages to a third node `z` held, a transfer
/// from `a` to `y`, `y` and `z` cut from each other (so that `z` campaigns), then `a`'s
/// held messages released while `a` is cut from `y` one way: stale messages and answers
/// of other terms cross the new leader's lease (the two-lease bug of issue 39 needed
/// tens of thousands of runs without it).
pub(super) fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
    let leader = NodeRef::Leader;
    vec![
        (0..n)
            .prop_map(move |k| vec![(0, Transfer { node: leader, to: NodeRef::Index(k) }.into())])
            .boxed(),
        (0..n, 200u64..900, 0u64..600)
            .prop_map(move |(k, late, back)| {
                let to = NodeRef::Index(k);
                vec![
                    (0, Hold { from: leader, to }.into()),
                    (0, Hold { from: to, to: leader }.into()),
                    (1, Transfer { node: leader, to }.into()),
                    (late, Op::from(Release { from: leader, to })),
                    (late + back, Op::from(Release { from: to, to: leader })),
                ]
            })
            .boxed(),
        (0..n, 1u64..40, 100u64..800)
            .prop_map(move |(k, cut, back)| {
                let to = NodeRef::Index(k);
                vec![
                    (0, Transfer { node: leader, to }.into()),
                    (cut, Isolate { node: leader }.into()),
                    (cut + back, Heal {}.into()),
                ]
            })
            .boxed(),
        (0..n, 180u64..250, 1u64..25, 100u64..800)
            .prop_map(move |(k, late, cut, back)| {
                let to = NodeRef::Index(k);
                vec![
                    (0, Hold { from: leader, to }.into()),
                    (0, Hold { from: to, to: leader }.into()),
                    (1, Transfer { node: leader, to }.into()),
                    (late, Op::from(Release { from: leader, to })),
                    (late + cut, Isolate { node: leader }.into()),
                    (late + cut + back, Heal {}.into()),
                ]
            })
            .boxed(),
        (0..n, 1..n.max(2), 0..n, 50u64..300, 100u64..600, 300u64..1_000)
            .prop_map(move |(a, y_off, z_from, hold, cut, release)| {
                let y = (a + y_off) % n;
                let z = (0..n).map(|i| (z_from + i) % n).find(|&z| z != a && z != y);
                let (a, y, z) = (NodeRef::Index(a), NodeRef::Index(y), z.map(NodeRef::Index));
                let Some(z) = z else {
                    return vec![(0, Transfer { node: leader, to: y }.into())];
                };
                let t = 400 + hold;
                vec![
                    (0, Transfer { node: leader, to: a }.into()),
                    (400, Hold { from: a, to: z }.into()),
                    (t, Transfer { node: a, to: y }.into()),
                    (t + cut, Cut { a: y, b: z }.into()),
                    (t + cut + release, Release { from: a, to: z }.into()),
                    (t + cut + release, PartitionOneway { from: a, to: y }.into()),
                ]
            })
            .boxed(),
    ]
}
