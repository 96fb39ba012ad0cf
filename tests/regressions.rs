//! The regression corpus: every artifact under `tests/regressions/` once showed a bug; each
//! must now pass. Add one by copying a (shrunk) artifact here; see docs/failures.md.

use ballot_harness::run::run_in;
use ballot_harness::world::WorldName;
use ballot_harness::{Artifact, Verdict};
use std::path::Path;

#[test]
fn every_saved_failure_stays_fixed() {
    passes_in(WorldName::Turmoil);
}

/// The event world runs the same cores and driver contract: what is fixed there is fixed too.
#[test]
fn every_saved_failure_stays_fixed_in_the_event_world() {
    passes_in(WorldName::Events);
}

/// A failure found under one seed may come back under another (turmoil draws its timings
/// differently from the event world): every saved failure passes under more seeds too.
#[test]
fn every_saved_failure_stays_fixed_under_other_seeds() {
    for world in [WorldName::Events, WorldName::Turmoil] {
        for artifact in corpus() {
            for seed in OTHER_SEEDS {
                let schedule = ballot_harness::Schedule { seed, ..artifact.schedule.clone() };
                let result = run_in(&schedule, world).expect("ballot's core runs in every world");
                assert_eq!(
                    result.summary.verdict,
                    Verdict::Pass,
                    "{} fails again in the {world} world under seed {seed}: {:?}",
                    schedule.to_json(),
                    result.summary.violations
                );
            }
        }
    }
}

/// The seeds every saved failure is also run under, beside its own.
const OTHER_SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// Every artifact of the corpus, in name order.
fn corpus() -> Vec<Artifact> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/regressions exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "the corpus is empty");
    let read = |path: &std::path::PathBuf| {
        let artifact = Artifact::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!artifact.summary.violations.is_empty(), "{}: records no failure", path.display());
        artifact
    };
    paths.iter().map(read).collect()
}

fn passes_in(world: WorldName) {
    for artifact in corpus() {
        let path = &artifact.command;
        let result = run_in(&artifact.schedule, world).expect("ballot's core runs in every world");
        assert_eq!(
            result.summary.verdict,
            Verdict::Pass,
            "{path} fails again in the {world} world: {:?}",
            result.summary.violations
        );
    }
}
