//! openraft 0.9's async nodes under the same harness (the `openraft-0.9.24` and
//! `openraft-0.9.25` fixtures, crates/openraft): real openraft nodes on turmoil, their RPCs on
//! the simulated network, their log and vote on the simulated disk; deterministic, judged
//! by every property that applies, and refused where the core or the world cannot follow.
//! Needs `make fixtures` (`make test` builds them first).

use ballot_harness::explore::generate::generate;
use ballot_harness::{derive_seed, CoreName};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CORES: [CoreName; 2] = [CoreName::OpenRaft0924, CoreName::OpenRaft0925];

fn fixture(core: CoreName, args: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/bin").join(core.name());
    Command::new(&bin).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-openraft-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Generated schedules on each release, each run twice (`--check-determinism`): never exit
/// 4. openraft draws its election timeout from the node's seeded RNG, and tokio's own RNG is
/// seeded by turmoil (the fixtures build tokio with `--cfg tokio_unstable`).
#[test]
#[ignore = "needs the fixture builds: make fixtures"]
fn openraft_runs_are_deterministic_on_generated_schedules() {
    let dir = scratch("determinism");
    for core in CORES {
        for seed in 0..10 {
            let schedule = generate(derive_seed(0x0f7, &format!("openraft {seed}"))).on_core(core);
            let path = dir.join(format!("{core}-{seed}.json"));
            std::fs::write(&path, schedule.to_json()).unwrap();
            let out = fixture(core, &["run", path.to_str().unwrap(), "--check-determinism"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{core} seed {seed}: {stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("deterministic: two runs gave the same history"), "{stdout}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A write, a node crashed and restarted, a partition and its heal: openraft elects, commits
/// the write on a majority and recovers the node, and every property that applies
/// to it holds; those that need what openraft lacks (pre-vote, check-quorum, a lease) say
/// so instead of passing.
#[test]
#[ignore = "needs the fixture builds: make fixtures"]
fn openraft_fails_over_and_every_property_holds() {
    let dir = scratch("failover");
    let path = dir.join("s.json");
    std::fs::write(
        &path,
        r#"{"format":1,"seed":4,"cluster":{"nodes":3,"core":"openraft-0.9.25","pre_vote":false,"check_quorum":false},
            "duration_ms":6000,"steps":[{"at_ms":800,"op":"propose","node":"leader","value":"a"},
            {"at_ms":1000,"op":"crash","node":0},{"at_ms":2000,"op":"restart","node":0},
            {"at_ms":2500,"op":"isolate","node":"follower"},{"at_ms":3500,"op":"heal"}]}"#,
    )
    .unwrap();
    let history = dir.join("h.jsonl");
    let out = fixture(
        CoreName::OpenRaft0925,
        &["run", path.to_str().unwrap(), "--json", "--history", history.to_str().unwrap()],
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{summary:#}");
    assert!(summary["stats"]["elections"].as_u64().unwrap() >= 2, "{summary:#}");
    for judged in ["election-safety", "vote-once", "log-matching", "committed-durable", "liveness"]
    {
        assert!(summary["checked"][judged].as_f64().unwrap() > 0.0, "{judged}: {summary:#}");
    }
    let text = std::fs::read_to_string(&history).unwrap();
    assert!(text.contains(r#""kind":"commit""#), "the write committed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A proposal larger than a datagram holds is refused at the node, as ballot's own node
/// refuses it (`propose_refused`), and the run goes on (it once retried a batch of one such
/// entry for ever, in no simulated time).
#[test]
#[ignore = "needs the fixture builds: make fixtures"]
fn a_proposal_larger_than_a_datagram_is_refused() {
    let dir = scratch("large");
    let path = dir.join("s.json");
    std::fs::write(
        &path,
        r#"{"format":1,"seed":2,"cluster":{"nodes":3,"core":"openraft-0.9.25","pre_vote":false,"check_quorum":false},
            "duration_ms":3000,"steps":[{"at_ms":800,"op":"propose","node":"leader","value":"x","size":71561},
            {"at_ms":900,"op":"propose","node":"leader","value":"y"}]}"#,
    )
    .unwrap();
    let history = dir.join("h.jsonl");
    let out = fixture(
        CoreName::OpenRaft0925,
        &["run", path.to_str().unwrap(), "--history", history.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let text = std::fs::read_to_string(&history).unwrap();
    assert!(text.contains(r#""kind":"propose_refused""#), "the large one refused");
    assert!(text.contains(r#""kind":"propose","index""#), "the small one proposed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What openraft 0.9 lacks is refused before anything runs (exit 2, one line): pre-vote and
/// check-quorum, a transfer, a pause; and the event world, which runs sans-IO cores only.
#[test]
#[ignore = "needs the fixture builds: make fixtures"]
fn what_openraft_cannot_run_is_bad_input() {
    let dir = scratch("refused");
    let cases = [
        (r#""pre_vote":false,"check_quorum":true"#, r#""steps":[]"#, "turmoil", "check_quorum"),
        (
            r#""pre_vote":false,"check_quorum":false"#,
            r#""steps":[{"at_ms":100,"op":"transfer","node":"leader","to":"follower"}]"#,
            "turmoil",
            "transfer",
        ),
        (
            r#""pre_vote":false,"check_quorum":false"#,
            r#""steps":[{"at_ms":100,"op":"pause","node":"leader"}]"#,
            "turmoil",
            "pause",
        ),
        (
            r#""pre_vote":false,"check_quorum":false"#,
            r#""steps":[]"#,
            "events",
            "turmoil world only",
        ),
    ];
    for (i, (cluster, steps, world, expected)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("{i}.json"));
        let text = format!(
            r#"{{"format":1,"seed":1,"cluster":{{"nodes":3,"core":"openraft-0.9.25",{cluster}}},"duration_ms":1000,{steps}}}"#
        );
        std::fs::write(&path, text).unwrap();
        let out =
            fixture(CoreName::OpenRaft0925, &["run", path.to_str().unwrap(), "--world", world]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stderr}");
        assert!(stderr.contains(expected) && stderr.lines().count() == 1, "case {i}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
