//! The `ballot` command: verdicts, exit statuses and artifacts as SPEC.md fixes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ballot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballot")).args(args).output().expect("ballot runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/spec.json")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_spec_example_passes_and_prints_the_seed_first() {
    let out = ballot(&["run", spec_example().to_str().unwrap(), "--check-determinism"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("seed: 7\n"), "{text}");
    assert!(text.contains("deterministic") && text.contains("verdict: Pass"), "{text}");
}

#[test]
fn json_summary_and_history_have_the_spec_shape() {
    let dir = scratch("json");
    let history = dir.join("h.jsonl");
    let out = ballot(&[
        "run",
        spec_example().to_str().unwrap(),
        "--json",
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let json: serde_json::Value = serde_json::from_str(&text).expect("stdout is one JSON document");
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("seed: 7\n"),
        "the seed goes to stderr"
    );
    assert_eq!(json["verdict"], "pass");
    for property in ["election-safety", "lease-safety", "liveness", "stability"] {
        assert!(json["checked"][property].as_f64().unwrap() > 0.0, "{property} judged");
    }
    assert_eq!(json["seed"], 7);
    for field in ["elections", "max_term", "messages", "sim_ms"] {
        assert!(json["stats"][field].is_u64(), "stats.{field}");
    }
    assert!(json["leaders"][0]["term"].is_u64());
    let lines = std::fs::read_to_string(history).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(first["t_ms"].is_f64() && first["kind"].is_string());
    assert!(lines.contains(r#""kind":"fault","step":{"at_ms":5000,"op":"crash","node":"#));
}

#[test]
fn bad_schedules_exit_2_with_one_line_and_run_nothing() {
    let dir = scratch("bad");
    let cases = [
        (
            r#"{"format":1,"seed":1,"duration_ms":9000,"steps":[{"at_ms":1,"op":"explode"}]}"#,
            "unknown variant",
        ),
        (
            r#"{"format":1,"seed":1,"duration_ms":9000,"steps":[{"at_ms":1,"op":"crash","node":9}]}"#,
            "steps[0].node",
        ),
        (r#"{"format":1,"seed":1,"duration_ms":9000,"cluster":{"nodes":1}}"#, "cluster.nodes"),
        ("{not json", "schedule"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.json"));
        std::fs::write(&path, text).unwrap();
        let out = ballot(&["run", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(out.stdout.is_empty(), "nothing ran: {}", stdout(&out));
    }
    let missing = ballot(&["run", dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(ballot(&["run", "--no-such-flag", "x"]).status.code(), Some(2));
}

#[test]
fn repro_and_shrink_work_on_an_artifact() {
    let dir = scratch("repro");
    // An artifact whose failure is gone: repro says so and exits 0.
    let schedule: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec_example()).unwrap()).unwrap();
    let artifact = serde_json::json!({
        "schedule": schedule,
        "summary": { "verdict": "safety", "seed": 7,
                     "violations": [{"property": "election-safety", "t_ms": 1.0, "message": "two leaders"}],
                     "stats": {"elections": 1, "max_term": 1, "messages": 1, "sim_ms": 1}, "leaders": [] },
        "command": "ballot repro x.json"
    });
    let path = dir.join("fixed.json");
    std::fs::write(&path, artifact.to_string()).unwrap();
    let out = ballot(&["repro", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("not reproduced"), "{}", stdout(&out));
    // Shrinking a schedule whose property no longer fails keeps it as it is.
    let min = dir.join("min.json");
    let out = ballot(&[
        "shrink",
        path.to_str().unwrap(),
        "--out",
        min.to_str().unwrap(),
        "--budget",
        "3",
    ]);
    assert!(
        stdout(&out).contains("4 steps, 3 nodes, 20000 ms -> 4 steps, 3 nodes, 20000 ms"),
        "{}",
        stdout(&out)
    );
    assert!(min.exists());
    // A broken artifact is bad input.
    std::fs::write(&path, "{}").unwrap();
    assert_eq!(ballot(&["repro", path.to_str().unwrap()]).status.code(), Some(2));
}

#[test]
fn generate_prints_a_runnable_schedule() {
    let out = ballot(&["generate", "--seed", "5"]);
    assert_eq!(out.status.code(), Some(0));
    let dir = scratch("gen");
    let path = dir.join("g.json");
    std::fs::write(&path, &out.stdout).unwrap();
    let run = ballot(&["run", path.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
}
