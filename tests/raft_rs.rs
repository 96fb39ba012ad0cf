//! TiKV's raft-rs 0.7 under the same harness: deterministic, judged by every property, and
//! each finding under `tests/regressions/raft-rs/` still failing on it (and passing on
//! ballot's core, so the finding is about raft-rs, not the schedule).

use ballot_harness::check::class_of;
use ballot_harness::explore::generate::generate;
use ballot_harness::{derive_seed, run, Artifact, Class, CoreName, Verdict, PROPERTIES};
use std::path::{Path, PathBuf};

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

/// Generated schedules on raft-rs: every safety property but the lease's holds (raft-rs's
/// lease outlives its check-quorum and its transfers, a late TimeoutNow ignores the lease,
/// and a term raised by a response forgets the lease promised: known findings, saved below
/// and in docs/raft-rs.md), and every property every run can judge is judged.
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
            .filter(|v| !["lease-safety", "lease-vote"].contains(&v.property.as_str()))
            .filter(|v| class_of(&v.property) == Some(Class::Safety))
            .collect();
        assert!(broken.is_empty(), "case {i}: {broken:?}\n{}", schedule.to_json());
        for p in PROPERTIES.iter().filter(|p| p.needs.is_none()) {
            assert!(result.summary.checked[p.name] > 0.0, "case {i}: {} not checked", p.name);
        }
    }
}

/// Every saved raft-rs finding, in name order, with its artifact read as data: a fixture's
/// core is not in this build, so the artifact cannot be validated (and run) here.
fn saved_findings() -> Vec<(PathBuf, Artifact)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/raft-rs");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/regressions/raft-rs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no raft-rs findings saved");
    paths
        .into_iter()
        .map(|path| {
            let artifact = Artifact::read_unvalidated(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, artifact)
        })
        .collect()
}

/// Every saved raft-rs finding still fails on raft-rs with the property it recorded, and the
/// same schedule passes on ballot's core.
#[test]
fn every_raft_rs_finding_still_fails_on_raft_rs_and_passes_on_ballot() {
    for (path, artifact) in saved_findings() {
        let recorded = &artifact.summary.violations[0].property;
        if !artifact.schedule.cluster.core.available() {
            continue; // a fixture release: replayed by the fixture test below (`make test`)
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

/// The release that fixed each fixture's findings: 0.3.1 fixed PR #84; 0.3.1's own finding (a
/// restarted node with an empty log bootstraps again, see docs/raft-rs.md) is gone in 0.7,
/// whose `RawNode::new` no longer bootstraps.
fn fixed_in(core: CoreName) -> Option<CoreName> {
    match core {
        CoreName::RaftRs030 => Some(CoreName::RaftRs031),
        CoreName::RaftRs031 => Some(CoreName::RaftRs),
        _ => None,
    }
}

/// The `ballot` binary `make fixtures` built for `core`.
fn fixture_binary(core: CoreName) -> PathBuf {
    let dir = std::env::var_os("BALLOT_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/bin"),
        PathBuf::from,
    );
    let path = dir.join(core.name());
    assert!(path.is_file(), "{} is missing: run `make fixtures`", path.display());
    path
}

/// Runs a fixture binary and returns its one JSON document.
fn fixture_json(core: CoreName, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(fixture_binary(core)).args(args).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{core} {args:?}: {e}\n{}", String::from_utf8_lossy(&out.stderr))
    })
}

/// Every finding saved for a fixture release still fails there with the property it
/// recorded, and the release that fixed it does not fail that property on the same
/// schedule. Needs `make fixtures` (`make test` builds them first).
#[test]
#[ignore = "needs the fixture builds: make fixtures"]
fn every_fixture_finding_fails_on_its_release_and_not_on_the_fix() {
    let mut replayed = 0;
    for (path, artifact) in saved_findings() {
        let core = artifact.schedule.cluster.core;
        let Some(fixed) = fixed_in(core) else { continue };
        let recorded = &artifact.summary.violations[0].property;
        let path_text = path.to_str().unwrap();
        let again = fixture_json(core, &["repro", path_text, "--json"]);
        let reproduced = again["reproduced"].as_array().unwrap();
        assert!(reproduced.contains(&recorded.as_str().into()), "{path_text} on {core}: {again}");
        let on_fix = artifact.schedule.clone().on_core(fixed);
        let violated: Vec<String> = if fixed.available() {
            run(&on_fix).summary.violations.into_iter().map(|v| v.property).collect()
        } else {
            let file = std::env::temp_dir().join(format!("ballot-fix-{}.json", std::process::id()));
            std::fs::write(&file, on_fix.to_json()).unwrap();
            let fixed_run = fixture_json(fixed, &["run", file.to_str().unwrap(), "--json"]);
            let violations = fixed_run["violations"].as_array().unwrap().clone();
            violations.iter().map(|v| v["property"].as_str().unwrap().to_string()).collect()
        };
        assert!(!violated.contains(recorded), "{path_text}: {fixed} fails {recorded} too");
        replayed += 1;
    }
    assert!(replayed > 0, "no fixture finding saved");
}

/// A few generated schedules on each fixture release: they run, deterministically enough to
/// count, and break no safety property but the lease one every raft-rs release breaks.
#[test]
#[ignore = "needs the fixture builds: make fixtures"]
fn fixture_releases_keep_election_safety_on_generated_schedules() {
    for core in [CoreName::RaftRs030, CoreName::RaftRs031] {
        let out =
            std::env::temp_dir().join(format!("ballot-fixture-{core}-{}", std::process::id()));
        let out = out.to_str().unwrap();
        let args = ["chaos", "--runs", "6", "--seed", "2", "--jobs", "1", "--json", "--out", out];
        let summary = fixture_json(core, &[&args[..], &["--known", "lease-safety"]].concat());
        assert_eq!(summary["runs"], 6, "{core}: {summary}");
        let failed = summary["first_runs"].as_object().cloned().unwrap_or_default();
        for property in failed.keys().filter(|p| *p != "lease-safety") {
            assert_ne!(class_of(property), Some(Class::Safety), "{core} broke {property}");
        }
        let _ = std::fs::remove_dir_all(out);
    }
}
