//! proptest strategies for whole schedules: cluster size and core options, network, and a
//! sequence of faults drawn from every op and the shapes Jepsen uses, with proposals mixed
//! in. Schedules are plain data, so proptest can shrink them.

use crate::schedule::{ClusterSpec, NetworkSpec, NodeRef, Op, Schedule, Step, FORMAT};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

/// A fault shape: one or more steps that apply at the same instant, and how long it lasts.
#[derive(Clone, Debug)]
enum Shape {
    IsolateOne(usize),
    IsolateLeader,
    MajorityMinority(usize),
    MajoritiesRing,
    Bridge,
    Asymmetric(usize, usize),
    Flapping(usize, usize),
    Crash(NodeRef),
    CrashRestart(NodeRef),
    Pause(NodeRef),
    Clock(usize, f64),
    Loss(f64),
    Duplicate(f64),
    Latency(u64, u64),
    Proposals(NodeRef, u8, u64),
    /// The classic divergence (Raft paper, Figures 7 and 8): a minority keeps its leader and
    /// takes writes it cannot commit, the majority elects another and commits writes, then
    /// the partition heals as the new leader dies, and the logs must be reconciled.
    DivergentLogs(usize),
}

fn node_ref(n: usize) -> impl Strategy<Value = NodeRef> {
    prop_oneof![(0..n).prop_map(NodeRef::Index), Just(NodeRef::Leader), Just(NodeRef::Follower),]
}

/// Every kind of fault shape, one strategy each.
fn shape_kinds(n: usize) -> Vec<BoxedStrategy<Shape>> {
    vec![
        (0..n).prop_map(Shape::IsolateOne).boxed(),
        Just(Shape::IsolateLeader).boxed(),
        (0..n).prop_map(Shape::MajorityMinority).boxed(),
        Just(Shape::MajoritiesRing).boxed(),
        Just(Shape::Bridge).boxed(),
        (0..n, 0..n).prop_map(|(a, b)| Shape::Asymmetric(a, b)).boxed(),
        (0..n, 0..n).prop_map(|(a, b)| Shape::Flapping(a, b)).boxed(),
        node_ref(n).prop_map(Shape::Crash).boxed(),
        node_ref(n).prop_map(Shape::CrashRestart).boxed(),
        node_ref(n).prop_map(Shape::Pause).boxed(),
        (0..n, prop_oneof![Just(0.5), Just(0.98), Just(1.02), Just(1.5), Just(3.0)])
            .prop_map(|(a, r)| Shape::Clock(a, r))
            .boxed(),
        prop_oneof![Just(0.05), Just(0.2), Just(0.5)].prop_map(Shape::Loss).boxed(),
        prop_oneof![Just(0.1), Just(0.5)].prop_map(Shape::Duplicate).boxed(),
        (0u64..50, 0u64..150).prop_map(|(a, b)| Shape::Latency(a, a + b)).boxed(),
        (node_ref(n), 1u8..8, 10u64..120)
            .prop_map(|(to, count, gap)| Shape::Proposals(to, count, gap))
            .boxed(),
        (0..n).prop_map(Shape::DivergentLogs).boxed(),
    ]
}

/// Swarm testing (as TigerBeetle's simulator does): each schedule enables only the shapes
/// whose bit is set in `mix`, so that rare combinations get runs of their own instead of
/// being drowned by every other fault.
fn swarm_shape(n: usize, mix: u32) -> impl Strategy<Value = Shape> {
    let kinds = shape_kinds(n);
    let enabled: Vec<_> = kinds
        .iter()
        .enumerate()
        .filter(|(i, _)| mix & (1 << i) != 0)
        .map(|(_, k)| k.clone())
        .collect();
    proptest::strategy::Union::new(if enabled.is_empty() { kinds } else { enabled })
}

/// Expands a shape starting at `at` and lasting `len` ms into steps.
fn expand(shape: &Shape, n: usize, at: u64, len: u64, counter: &mut u32) -> Vec<Step> {
    let step = |at_ms, op| Step { at_ms, op };
    let idx = NodeRef::Index;
    let end = at + len;
    let mut out = Vec::new();
    match *shape {
        Shape::IsolateOne(a) => {
            out.push(step(at, Op::Isolate { node: idx(a) }));
            out.push(step(end, Op::Heal));
        }
        Shape::IsolateLeader => {
            out.push(step(at, Op::Isolate { node: NodeRef::Leader }));
            out.push(step(end, Op::Heal));
        }
        Shape::MajorityMinority(offset) => {
            let minority: Vec<NodeRef> = (0..(n - 1) / 2).map(|i| idx((i + offset) % n)).collect();
            let majority = (0..n).map(idx).filter(|r| !minority.contains(r)).collect();
            out.push(step(at, Op::Partition { groups: vec![majority, minority] }));
            out.push(step(end, Op::Heal));
        }
        Shape::MajoritiesRing => {
            // Each node talks only to the k nearest on each side of a ring, k just large
            // enough that it sees a majority; no two nodes see the same one.
            let k = (n / 2).div_ceil(2);
            for a in 0..n {
                for b in a + 1..n {
                    if (b - a).min(n - (b - a)) > k {
                        out.push(step(at, Op::Cut { a: idx(a), b: idx(b) }));
                    }
                }
            }
            out.push(step(end, Op::Heal));
        }
        Shape::Bridge => {
            // Two halves that only node 0 connects.
            let half = n / 2;
            for a in 1..=half {
                for b in half + 1..n {
                    out.push(step(at, Op::Cut { a: idx(a), b: idx(b) }));
                }
            }
            out.push(step(end, Op::Heal));
        }
        Shape::Asymmetric(a, b) if a != b => {
            out.push(step(at, Op::PartitionOneway { from: idx(a), to: idx(b) }));
            out.push(step(end, Op::Heal));
        }
        Shape::Flapping(a, b) if a != b => {
            let mut t = at;
            while t + 100 <= end {
                out.push(step(t, Op::Cut { a: idx(a), b: idx(b) }));
                out.push(step(t + 50, Op::Heal));
                t += 100;
            }
        }
        Shape::Asymmetric(..) | Shape::Flapping(..) => {}
        Shape::Crash(node) => out.push(step(at, Op::Crash { node })),
        Shape::CrashRestart(node) => {
            out.push(step(at, Op::Crash { node }));
            if let NodeRef::Index(_) = node {
                out.push(step(end, Op::Restart { node }));
            }
        }
        Shape::Pause(node) => {
            out.push(step(at, Op::Pause { node }));
            let resume = match node {
                NodeRef::Index(_) => Op::Resume { node },
                _ => Op::Heal,
            };
            out.push(step(end, resume));
        }
        Shape::Clock(a, rate) => out.push(step(at, Op::Clock { node: idx(a), rate })),
        Shape::Loss(rate) => {
            out.push(step(at, Op::Loss { rate }));
            out.push(step(end, Op::Heal));
        }
        Shape::Duplicate(rate) => {
            out.push(step(at, Op::Duplicate { rate }));
            out.push(step(end, Op::Heal));
        }
        Shape::Latency(min, max) => {
            out.push(step(at, Op::Latency { ms: [min, max] }));
            out.push(step(end, Op::Heal));
        }
        Shape::DivergentLogs(offset) => {
            let minority: Vec<NodeRef> = (0..(n - 1) / 2).map(|i| idx((i + offset) % n)).collect();
            let majority = (0..n).map(idx).filter(|r| !minority.contains(r)).collect();
            out.push(step(at, Op::Partition { groups: vec![majority, minority] }));
            for (i, t) in [10, 30, 50, len / 2 + 400].into_iter().enumerate() {
                *counter += 1;
                let value = format!("d{counter}-{i}");
                out.push(step(at + t, Op::Propose { node: NodeRef::Leader, value }));
            }
            let heal_at = at + len + 500;
            out.push(step(heal_at, Op::Crash { node: NodeRef::Leader }));
            out.push(step(heal_at, Op::Heal));
        }
        Shape::Proposals(node, count, gap) => {
            for i in 0..u64::from(count) {
                *counter += 1;
                let value = format!("v{counter}");
                out.push(step(at + i * gap, Op::Propose { node, value }));
            }
        }
    }
    out
}

/// Whole schedules: 3–7 nodes, core options on and off, latency and loss, and 0–8 fault
/// shapes drawn from this schedule's own swarm mix, ending (usually) in a heal and restarts
/// so that liveness is checked.
pub fn schedule() -> impl Strategy<Value = Schedule> {
    (3usize..=7, any::<u64>(), any::<(bool, bool, bool)>(), 0u64..5, 1u64..30, 0u8..4, any::<u32>())
        .prop_flat_map(|(n, seed, options, lat_min, lat_span, lossy, mix)| {
            let faults =
                proptest::collection::vec((swarm_shape(n, mix), 100u64..1_500, 50u64..1_500), 0..8);
            (Just((n, seed, options, lat_min, lat_span, lossy)), faults, any::<bool>())
        })
        .prop_map(
            |(
                (n, seed, (pre_vote, check_quorum, adaptive), lat_min, lat_span, lossy),
                faults,
                end_clean,
            )| {
                build(
                    n,
                    seed,
                    (pre_vote, check_quorum, adaptive),
                    [lat_min, lat_min + lat_span],
                    lossy,
                    &faults,
                    end_clean,
                )
            },
        )
}

fn build(
    n: usize,
    seed: u64,
    (pre_vote, check_quorum, adaptive_timeout): (bool, bool, bool),
    latency_ms: [u64; 2],
    lossy: u8,
    faults: &[(Shape, u64, u64)],
    end_clean: bool,
) -> Schedule {
    let cluster = ClusterSpec {
        nodes: n,
        pre_vote,
        check_quorum,
        adaptive_timeout,
        ..ClusterSpec::default()
    };
    let loss = if lossy == 0 { 0.02 } else { 0.0 };
    let mut steps = Vec::new();
    let mut t = 500;
    let mut counter = 0;
    for (shape, gap, len) in faults {
        t += gap;
        steps.extend(expand(shape, n, t, *len, &mut counter));
    }
    steps.sort_by_key(|s| s.at_ms);
    let last = steps.last().map_or(t, |s| s.at_ms);
    if end_clean {
        let heal_at = last + 100;
        steps.push(Step { at_ms: heal_at, op: Op::Heal });
        for node in 0..n {
            steps.push(Step { at_ms: heal_at, op: Op::Restart { node: NodeRef::Index(node) } });
            steps.push(Step {
                at_ms: heal_at,
                op: Op::Clock { node: NodeRef::Index(node), rate: 1.0 },
            });
        }
    }
    let last = steps.last().map_or(0, |s| s.at_ms);
    Schedule {
        format: FORMAT,
        seed,
        cluster,
        network: NetworkSpec { latency_ms, loss },
        duration_ms: last + 4_000,
        liveness_ms: 3_000,
        steps,
    }
}

/// The schedule that seed `seed` generates: how chaos runs draw theirs, reproducibly.
pub fn generate(seed: u64) -> Schedule {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(RunnerConfig::default(), rng);
    schedule().new_tree(&mut runner).expect("the strategy never rejects").current()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_schedules_are_valid_and_reproducible() {
        let mut ops = std::collections::BTreeSet::new();
        for seed in 0..300 {
            let s = generate(seed);
            s.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", s.to_json()));
            assert_eq!(generate(seed), s);
            for step in &s.steps {
                let json = serde_json::to_value(step).unwrap();
                ops.insert(json["op"].as_str().unwrap().to_string());
            }
        }
        let all = [
            "clock",
            "crash",
            "cut",
            "heal",
            "isolate",
            "latency",
            "loss",
            "partition",
            "partition_oneway",
            "pause",
            "propose",
            "restart",
            "resume",
        ];
        for op in all {
            assert!(ops.contains(op), "no generated schedule uses {op}: {ops:?}");
        }
    }
}
