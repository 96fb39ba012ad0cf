//! TiKV's raft-rs 0.7 under the same harness: deterministic, judged by every property, and
//! each finding under `tests/regressions/raft-rs/` still failing on it (and passing on
//! ballot's core, so the finding is about raft-rs, not the schedule).

use ballot_harness::check::class_of;
use ballot_harness::explore::generate::generate;
use ballot_harness::{derive_seed, run, Artifact, Class, CoreName, Verdict, PROPERTIES};
use std::path::Path;

/// Fifty generated schedules on raft-rs, each run twice: identical histories. raft-rs draws
/// its election timeouts from `thread_rng`; this fails unless the adapter overrides each draw.
#[test]
fn raft_rs_runs_are_deterministic_on_fifty_generated_schedules() {
    for seed in 0..50 {
        let schedule =
            generate(derive_seed(0x7261, &format!("raft-rs {seed}"))).on_core(CoreName::RaftRs);
        let (a, b) = (run(&schedule), run(&schedule));
        assert!(a.history_jsonl() == b.history_jsonl(), "seed {seed}: two runs differ");
    }
}

/// Generated schedules on raft-rs: every safety property but the lease holds (raft-rs's
/// lease-based reads outlive its check-quorum, a known finding below), and every property
/// every run can judge is judged.
#[test]
fn raft_rs_keeps_election_safety_on_generated_schedules() {
    for i in 0..12 {
        let schedule =
            generate(derive_seed(0x7261, &format!("raft-rs safety {i}"))).on_core(CoreName::RaftRs);
        let result = run(&schedule);
        let broken: Vec<_> = result
            .summary
            .violations
            .iter()
            .filter(|v| v.property != "lease-safety")
            .filter(|v| class_of(&v.property) == Some(Class::Safety))
            .collect();
        assert!(broken.is_empty(), "case {i}: {broken:?}\n{}", schedule.to_json());
        for p in PROPERTIES.iter().filter(|p| p.needs.is_none()) {
            assert!(result.summary.checked[p.name] > 0.0, "case {i}: {} not checked", p.name);
        }
    }
}

/// Every saved raft-rs finding still fails on raft-rs with the property it recorded, and the
/// same schedule passes on ballot's core.
#[test]
fn every_raft_rs_finding_still_fails_on_raft_rs_and_passes_on_ballot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/raft-rs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/regressions/raft-rs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no raft-rs findings saved");
    for path in paths {
        let artifact = Artifact::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let recorded = &artifact.summary.violations[0].property;
        if !artifact.schedule.cluster.core.available() {
            continue; // a fixture release: replayed by `make fixtures-test`
        }
        let again = run(&artifact.schedule);
        assert!(
            again.summary.violations.iter().any(|v| &v.property == recorded),
            "{}: {recorded} did not come back: {:?}",
            path.display(),
            again.summary.violations
        );
        let on_ballot = run(&artifact.schedule.clone().on_core(CoreName::Ballot));
        assert_eq!(on_ballot.summary.verdict, Verdict::Pass, "{}", path.display());
    }
}
