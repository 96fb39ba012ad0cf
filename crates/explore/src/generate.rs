//! proptest strategies for whole schedules: cluster size and core options, network, and a
//! sequence of fault shapes (one file a fault in [`crate::shapes`] says which it draws: Jepsen's
//! partitions, crashes, pauses, drift, loss, proposals), under a swarm mix per schedule.
//! Schedules are plain data, so proptest can shrink them.

use super::shapes::{self, Shape};
use ballot_schedule::faults::{Clock, Disk, Heal, Restart};
use ballot_schedule::{ClusterSpec, DiskSpec, NetworkSpec, NodeRef, Op, Schedule, Step, FORMAT};
use ballot_worlds::derive_seed;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

/// Swarm testing (as TigerBeetle's simulator does): each schedule enables only the shapes
/// whose bit is set in `mix`, so that rare combinations get runs of their own instead of
/// being drowned by every other fault. The shapes come from [`crate::shapes`].
fn swarm_shape(n: usize, mix: u64) -> impl Strategy<Value = Shape> {
    let kinds = shapes::all(n);
    assert!(kinds.len() <= 64, "a swarm mix has a bit for each of 64 shapes at most");
    let enabled: Vec<_> = kinds
        .iter()
        .enumerate()
        .filter(|(i, _)| mix & (1 << i) != 0)
        .map(|(_, k)| k.clone())
        .collect();
    proptest::strategy::Union::new(if enabled.is_empty() { kinds } else { enabled })
}

/// Election timeout ranges drawn, milliseconds: the default most of the time, and the rows of
/// the Raft paper's Figure 16 (narrow ranges, where timers of different nodes fire close
/// together) and of the thesis's WAN figure (§9.4), which users deploy.
const TIMEOUTS_MS: [[u64; 2]; 8] = [
    [150, 300],
    [150, 300],
    [150, 300],
    [150, 300],
    [150, 155],
    [150, 175],
    [150, 200],
    [300, 600],
];

/// Disks drawn for the fault phase (a `disk` step at 0 ms; the liveness phase restores the
/// baseline, instant disk): `(write_ms, sync_ms)` ranges, from instant (as most of the time,
/// since the old corpus was found on instant disks) to a sync of tens of milliseconds, so that
/// crashes land between what a node sent and the sync it should have waited for.
const DISKS_MS: [([u64; 2], [u64; 2]); 5] =
    [([0, 0], [0, 0]), ([0, 0], [0, 0]), ([0, 1], [1, 5]), ([0, 2], [2, 10]), ([1, 5], [5, 20])];

/// Torn-write probabilities drawn for the run's disk (`disk.torn_writes`): none most of the
/// time, and disks on which a crash or power loss in the middle of a write keeps part of it.
const TORN_WRITES: [f64; 4] = [0.0, 0.0, 0.5, 1.0];

/// Byte budgets per AppendEntries drawn, bytes: the default most of the time, and small ones
/// that cut a catch-up into many batches with payloads a disk rewrites quickly.
const BUDGETS_BYTES: [usize; 5] = [48 * 1024, 48 * 1024, 48 * 1024, 16 * 1024, 4 * 1024];

/// Entry counts per AppendEntries drawn: the default most of the time, and small ones that
/// make a follower catch up over a divergent suffix in several batches (Figure 8).
const BATCH_ENTRIES: [usize; 5] = [64, 64, 64, 4, 1];

/// Heartbeat intervals drawn, milliseconds: the default, a fast one, and the slowest the
/// configuration allows (half the minimum timeout), where one lost heartbeat starts an
/// election.
const HEARTBEATS_MS: [u64; 4] = [50, 50, 20, u64::MAX];

/// Clock-drift bounds drawn (the share the lease is shortened by): the default, none at all
/// (a lease as long as the followers' promise), and a generous one.
const DRIFT_BOUNDS: [f64; 4] = [0.05, 0.05, 0.0, 0.2];

/// The core's options drawn for one schedule: each `Config` field that changes behaviour.
#[derive(Clone, Debug)]
struct Options {
    /// Pre-vote, check-quorum, adaptive timeout.
    flags: (bool, bool, bool),
    /// Split-vote backoff and staggered timeouts: ballot's defences, on or off, so that the
    /// situations they make rare (rival candidates of one term, repeated split votes) come back.
    defences: (bool, bool),
    /// Indexes into the tables above: timeouts, heartbeat, drift bound, byte budget, batch
    /// entries, disk; and whether the adaptive cap is the maximum timeout (no stretching).
    picks: (usize, usize, usize, usize, usize, usize, bool),
    /// An index into [`TORN_WRITES`].
    torn: usize,
}

fn options() -> impl Strategy<Value = Options> {
    let picks = (
        0..TIMEOUTS_MS.len(),
        0..HEARTBEATS_MS.len(),
        0..DRIFT_BOUNDS.len(),
        0..BUDGETS_BYTES.len(),
        0..BATCH_ENTRIES.len(),
        0..DISKS_MS.len(),
        any::<bool>(),
    );
    (any::<(bool, bool, bool)>(), any::<(bool, bool)>(), picks, 0..TORN_WRITES.len())
        .prop_map(|(flags, defences, picks, torn)| Options { flags, defences, picks, torn })
}

/// Whole schedules: 3–7 nodes, every core option on and off, election timeouts, heartbeats,
/// batch limits, disks, latency and loss, and 0–8 fault shapes drawn from this schedule's own
/// swarm mix, ending (usually) in a heal and restarts so that liveness is checked.
pub fn schedule() -> impl Strategy<Value = Schedule> {
    (3usize..=7, any::<u64>(), options(), 0u64..5, 1u64..30, 0u8..4, any::<u64>())
        .prop_flat_map(|(n, seed, options, lat_min, lat_span, lossy, mix)| {
            let faults = proptest::collection::vec((swarm_shape(n, mix), 100u64..1_500), 0..8);
            (Just((n, seed, options, lat_min, lat_span, lossy)), faults, any::<bool>())
        })
        .prop_map(|((n, seed, options, lat_min, lat_span, lossy), faults, end_clean)| {
            let disk = DISKS_MS[options.picks.5];
            let mut schedule = build(
                cluster(n, &options),
                seed,
                [lat_min, lat_min + lat_span],
                lossy,
                &faults,
                end_clean,
            );
            schedule.disk.torn_writes = TORN_WRITES[options.torn];
            if disk != ([0, 0], [0, 0]) {
                // A slow disk is a fault of the fault phase, a shape of its own from the
                // start: the liveness phase restores the baseline (instant) disk.
                let id = schedule.steps.iter().filter_map(|s| s.shape).max().map_or(0, |m| m + 1);
                let slow = Disk { write_ms: disk.0, sync_ms: disk.1 };
                schedule.steps.insert(0, Step { at_ms: 0, op: slow.into(), shape: Some(id) });
            }
            keep_the_liveness_promise(&mut schedule);
            schedule
        })
}

/// Schedules in which randomized elections cannot be shown to converge after the faults (a
/// timeout range narrower than a vote round trip, slow saves included, without the split-vote
/// backoff) promise no liveness, and a campaign of them says nothing about it. One in
/// [`PROMISE_NOTHING_ONE_IN`] is kept as drawn, so that such configurations still run (for
/// safety, and for the situations they make common: every vote split); the others get the
/// backoff, which makes elections converge however narrow the range. Decided from the
/// schedule's seed, so that the draws of every other field stay as they were.
fn keep_the_liveness_promise(schedule: &mut Schedule) {
    let promise_nothing =
        derive_seed(schedule.seed, "promise nothing").is_multiple_of(PROMISE_NOTHING_ONE_IN);
    if !promises_liveness(schedule) && !promise_nothing {
        schedule.cluster.split_vote_backoff = true;
    }
}

/// Whether elections can be shown to converge after the faults of `schedule`: on its
/// baseline network and disk, which the liveness phase restores.
fn promises_liveness(schedule: &Schedule) -> bool {
    let timing = schedule.cluster.timing().with_disk(&schedule.disk);
    timing.elections_converge(schedule.network.latency_ms[1])
}

/// One generated schedule in this many may keep a configuration that promises no liveness.
pub const PROMISE_NOTHING_ONE_IN: u64 = 32;

/// The cluster of a generated schedule.
fn cluster(nodes: usize, options: &Options) -> ClusterSpec {
    let (pre_vote, check_quorum, adaptive_timeout) = options.flags;
    let (split_vote_backoff, staggered_timeouts) = options.defences;
    let (timeouts, heartbeat, drift, budget, entries, _, capped) = options.picks;
    let election_timeout_ms = TIMEOUTS_MS[timeouts];
    ClusterSpec {
        nodes,
        pre_vote,
        check_quorum,
        adaptive_timeout,
        adaptive_timeout_cap_ms: (adaptive_timeout && capped).then_some(election_timeout_ms[1]),
        split_vote_backoff,
        staggered_timeouts,
        heartbeat_ms: HEARTBEATS_MS[heartbeat].min(election_timeout_ms[0] / 2),
        clock_drift_bound: DRIFT_BOUNDS[drift],
        election_timeout_ms,
        max_bytes_per_message: BUDGETS_BYTES[budget],
        max_entries_per_message: BATCH_ENTRIES[entries],
        core: Default::default(),
    }
}

fn build(
    cluster: ClusterSpec,
    seed: u64,
    latency_ms: [u64; 2],
    lossy: u8,
    faults: &[(Shape, u64)],
    end_clean: bool,
) -> Schedule {
    let n = cluster.nodes;
    let loss = if lossy == 0 { 0.02 } else { 0.0 };
    let mut steps = Vec::new();
    let mut t = 500;
    for (id, (shape, gap)) in (0u32..).zip(faults) {
        t += gap;
        steps.extend(shape.iter().map(|(offset, op)| Step {
            at_ms: t + offset,
            op: op.clone(),
            shape: Some(id),
        }));
    }
    steps.sort_by_key(|s| s.at_ms);
    let last = steps.iter().map(Step::end_ms).max().unwrap_or(t);
    if end_clean {
        // The heal and restarts are a shape of their own: the shrinker drops them together.
        let (heal_at, id) = (last + 100, Some(faults.len() as u32));
        let mut end = |op: Op| steps.push(Step { at_ms: heal_at, op, shape: id });
        end(Heal {}.into());
        for node in (0..n).map(NodeRef::Index) {
            end(Restart { node }.into());
            end(Clock { node, rate: 1.0 }.into());
        }
    }
    let last = steps.iter().map(Step::end_ms).max().unwrap_or(0);
    Schedule {
        format: FORMAT,
        seed,
        cluster,
        network: NetworkSpec { latency_ms, loss },
        disk: DiskSpec::default(),
        duration_ms: last + 4_000,
        liveness_ms: 3_000,
        liveness: true,
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
        let mut torn = std::collections::BTreeSet::new();
        for seed in 0..300 {
            let s = generate(seed);
            s.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", s.to_json()));
            assert_eq!(generate(seed), s);
            torn.insert(s.disk.torn_writes.to_string());
            for step in &s.steps {
                let json = serde_json::to_value(step).unwrap();
                ops.insert(json["op"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(torn.len(), 3, "disks with and without torn writes: {torn:?}");
        let all = [
            "clock",
            "corrupt",
            "crash",
            "cut",
            "disk",
            "duplicate",
            "heal",
            "hold",
            "isolate",
            "latency",
            "loss",
            "partition",
            "partition_oneway",
            "pause",
            "power_loss",
            "propose",
            "release",
            "restart",
            "resume",
            "transfer",
        ];
        for op in all {
            assert!(ops.contains(op), "no generated schedule uses {op}: {ops:?}");
        }
    }

    /// Nearly every schedule promises liveness (elections converge after the faults), and a
    /// stated share is kept that promises none, the backoff off with a narrow range.
    #[test]
    fn few_schedules_promise_no_liveness() {
        let runs = 2_000;
        let nothing = (0..runs).map(generate).filter(|s| !promises_liveness(s)).count();
        let expected = runs as usize / PROMISE_NOTHING_ONE_IN as usize;
        assert!(nothing > 0 && nothing <= 2 * expected, "{nothing} of {runs}");
    }

    #[test]
    fn every_core_option_is_drawn_more_than_one_way() {
        let mut seen =
            std::collections::BTreeMap::<&str, std::collections::BTreeSet<String>>::new();
        for seed in 0..300 {
            // No `..`: a new cluster field fails to compile here until the swarm draws it.
            let ClusterSpec {
                nodes,
                election_timeout_ms,
                heartbeat_ms,
                pre_vote,
                check_quorum,
                adaptive_timeout,
                adaptive_timeout_cap_ms,
                split_vote_backoff,
                staggered_timeouts,
                clock_drift_bound,
                max_entries_per_message,
                max_bytes_per_message,
                core: _, // chosen by --core, not drawn
            } = generate(seed).cluster;
            let values = [
                ("nodes", nodes.to_string()),
                ("election_timeout_ms", format!("{election_timeout_ms:?}")),
                ("heartbeat_ms", heartbeat_ms.to_string()),
                ("pre_vote", pre_vote.to_string()),
                ("check_quorum", check_quorum.to_string()),
                ("adaptive_timeout", adaptive_timeout.to_string()),
                ("adaptive_timeout_cap_ms", format!("{adaptive_timeout_cap_ms:?}")),
                ("split_vote_backoff", split_vote_backoff.to_string()),
                ("staggered_timeouts", staggered_timeouts.to_string()),
                ("clock_drift_bound", clock_drift_bound.to_string()),
                ("max_entries_per_message", max_entries_per_message.to_string()),
                ("max_bytes_per_message", max_bytes_per_message.to_string()),
            ];
            for (field, value) in values {
                seen.entry(field).or_default().insert(value);
            }
        }
        for (field, values) in &seen {
            assert!(values.len() > 1, "{field} is always {values:?}");
        }
    }
}
