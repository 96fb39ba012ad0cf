//! The same seed and the same faults give the same history, byte for byte.

mod common;

use common::*;

fn run(seed: u64) -> Vec<u8> {
    let mut c = cluster(5, seed);
    c.run_for(1_000);
    c.isolate(1);
    c.set_clock_rate(2, 1.3);
    c.run_for(700);
    if let Some(leader) = c.history().leader_now() {
        c.propose(leader, "x");
        c.crash(leader);
    }
    c.set_loss(0.1);
    c.pause(3);
    c.run_for(900);
    c.heal();
    for n in 0..5 {
        if c.is_crashed(n) {
            c.restart(n);
        }
    }
    c.run_for(2_000);
    let mut out = Vec::new();
    c.history().write_jsonl(&mut out).unwrap();
    out
}

#[test]
fn same_seed_same_history() {
    for seed in SEEDS {
        let (a, b) = (run(seed), run(seed));
        assert!(a.len() > 2_000, "seed {seed}: a real history");
        assert!(a == b, "seed {seed}: two runs differ");
    }
    assert_ne!(run(1), run(2), "different seeds explore different runs");
}

/// Twenty generated schedules, each run twice: identical histories.
#[test]
fn generated_schedules_are_deterministic() {
    for seed in 0..20 {
        let schedule = ballot_harness::explore::generate::generate(seed);
        let (a, b) = (ballot_harness::run(&schedule), ballot_harness::run(&schedule));
        assert!(a.history_jsonl() == b.history_jsonl(), "seed {seed}: two runs differ");
    }
}

/// The same in the event world, and ballot's core elects and commits there as in turmoil:
/// both worlds agree on every verdict of these twenty schedules.
#[test]
fn the_event_world_is_deterministic_and_agrees_with_turmoil() {
    use ballot_harness::run::run_in;
    use ballot_harness::world::WorldName;
    for seed in 0..20 {
        let schedule = ballot_harness::explore::generate::generate(seed);
        let events = |s| run_in(s, WorldName::Events).expect("ballot's core runs there");
        let (a, b) = (events(&schedule), events(&schedule));
        assert!(a.history_jsonl() == b.history_jsonl(), "seed {seed}: two runs differ");
        let turmoil = ballot_harness::run(&schedule);
        assert_eq!(a.summary.verdict, turmoil.summary.verdict, "seed {seed}");
        assert!(a.summary.stats.elections > 0, "seed {seed}: nobody was elected");
    }
}
