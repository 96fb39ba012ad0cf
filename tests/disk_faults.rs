//! Disks that fail as disks do, in both simulated worlds: a node whose files were damaged at
//! rest refuses to start and the cluster keeps every promise without it; a power loss in the
//! middle of saves, on disks that tear writes, leaves a node that starts again and rejoins.

use ballot_harness::history::EventKind;
use ballot_harness::run::run_in;
use ballot_harness::world::WorldName;
use ballot_harness::{Schedule, Verdict};

const WORLDS: [WorldName; 2] = [WorldName::Turmoil, WorldName::Events];

fn schedule(seed: u64, disk: &str, steps: &str) -> Schedule {
    let json = format!(
        r#"{{"format": 1, "seed": {seed}, "cluster": {{"nodes": 3}}, "disk": {disk},
            "duration_ms": 6000, "steps": [{steps}]}}"#
    );
    Schedule::from_json(&json).expect("a valid schedule")
}

/// What node `n` did after its last restart: `Some(error)` if it stopped, `None` if it ran.
fn stopped_after_restart(run: &ballot_harness::run::Run, n: usize) -> Option<String> {
    let events = run.history.events();
    let restart = events.iter().rposition(|e| e.node == Some(n) && e.kind == EventKind::Restart)?;
    events[restart..].iter().find_map(|e| match &e.kind {
        EventKind::Stopped { error } if e.node == Some(n) => Some(error.clone()),
        _ => None,
    })
}

/// Node 2's files damaged while it is down (a bit flipped, or a file cut short): it refuses
/// to start, naming the damage, and the other two elect a leader and keep every promise.
#[test]
fn a_node_whose_disk_was_damaged_refuses_to_start_and_the_cluster_goes_on() {
    for world in WORLDS {
        for seed in 1..=6 {
            for what in ["bitflip", "truncate"] {
                let steps = format!(
                    r#"{{"at_ms": 600, "op": "propose", "node": "leader", "value": "a"}},
                       {{"at_ms": 700, "op": "propose", "node": "leader", "value": "b"}},
                       {{"at_ms": 1000, "op": "crash", "node": 2}},
                       {{"at_ms": 1100, "op": "corrupt", "node": 2, "what": "{what}"}},
                       {{"at_ms": 1200, "op": "restart", "node": 2}}"#
                );
                let run = run_in(&schedule(seed, "{}", &steps), world).unwrap();
                let at = format!("{world:?} seed {seed} {what}");
                let error =
                    stopped_after_restart(&run, 2).unwrap_or_else(|| panic!("{at}: started"));
                assert!(
                    error.contains("is corrupt") && error.contains("refusing"),
                    "{at}: {error}"
                );
                assert_eq!(
                    run.summary.verdict,
                    Verdict::Pass,
                    "{at}: {:?}",
                    run.summary.violations
                );
                assert!(run.summary.checked["liveness"] > 0.0, "{at}: liveness judged");
            }
        }
    }
}

/// A power loss of the leader right after it took a write, on a slow disk that tears what
/// was in flight: it starts again from what its disk kept (whatever part of the unsynced
/// save), and the run keeps every promise, `recovers` judged.
#[test]
fn a_power_loss_in_the_middle_of_saves_leaves_a_node_that_starts_again() {
    let disk = r#"{"write_ms": [1, 5], "sync_ms": [5, 20], "torn_writes": 1.0}"#;
    for world in WORLDS {
        for seed in 1..=12 {
            let steps = r#"{"at_ms": 600, "op": "propose", "node": "leader", "value": "a"},
                {"at_ms": 603, "op": "power_loss", "node": "leader"},
                {"at_ms": 900, "op": "restart", "node": 0},
                {"at_ms": 900, "op": "restart", "node": 1},
                {"at_ms": 900, "op": "restart", "node": 2},
                {"at_ms": 1500, "op": "propose", "node": "leader", "value": "b"},
                {"at_ms": 1520, "op": "power_loss", "node": "follower"},
                {"at_ms": 2000, "op": "restart", "node": 0},
                {"at_ms": 2000, "op": "restart", "node": 1},
                {"at_ms": 2000, "op": "restart", "node": 2}"#;
            let run = run_in(&schedule(seed, disk, steps), world).unwrap();
            let at = format!("{world:?} seed {seed}");
            for n in 0..3 {
                assert_eq!(stopped_after_restart(&run, n), None, "{at}: node {n}");
            }
            assert_eq!(run.summary.verdict, Verdict::Pass, "{at}: {:?}", run.summary.violations);
            assert!(run.summary.checked["recovers"] > 0.0, "{at}");
        }
    }
}
