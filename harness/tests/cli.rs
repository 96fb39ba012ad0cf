//! The `ballot` command as SPEC.md fixes it: verdicts, exit statuses, artifacts, and the
//! output contract (`--json` is one JSON document on stdout; bad input is one line on stderr,
//! exit 2, nothing run).

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

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name)
}

fn spec_example() -> PathBuf {
    example("spec.json")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Exit 2, exactly one line on stderr containing `expected`, nothing on stdout.
fn assert_bad_input(out: &Output, expected: &str) {
    assert_eq!(out.status.code(), Some(2), "stdout: {} stderr: {}", stdout(out), stderr(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expected), "{err} lacks {expected}");
    assert!(out.stdout.is_empty(), "nothing ran: {}", stdout(out));
}

/// Stdout is exactly one JSON document.
fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", stdout(out)))
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
    let timeline = dir.join("t.html");
    let out = ballot(&[
        "run",
        spec_example().to_str().unwrap(),
        "--json",
        "--check-determinism",
        "--history",
        history.to_str().unwrap(),
        "--timeline",
        timeline.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json = json_of(&out);
    assert!(stderr(&out).starts_with("seed: 7\n"), "the seed goes to stderr");
    assert!(stderr(&out).contains("timeline:"), "paths written go to stderr");
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["seed"], 7);
    for field in ["elections", "max_term", "messages", "sim_ms"] {
        assert!(json["stats"][field].is_u64(), "stats.{field}");
    }
    for property in ["election-safety", "lease-safety", "liveness", "stability"] {
        assert!(json["checked"][property].as_f64().unwrap() > 0.0, "{property} judged");
    }
    assert!(json["leaders"][0]["term"].is_u64());
    let lines = std::fs::read_to_string(history).unwrap();
    let meta: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&meta["kind"], &meta["format"], &meta["source"]),
        (&"meta".into(), &1.into(), &"simulator".into())
    );
    assert_eq!(meta["schedule"]["seed"], 7);
    let first: serde_json::Value = serde_json::from_str(lines.lines().nth(1).unwrap()).unwrap();
    assert!(first["t_ms"].is_f64() && first["kind"].is_string());
    assert!(lines.contains(r#""kind":"fault","step":{"at_ms":5000,"op":"crash","node":"#));
    assert!(lines.contains(r#""kind":"liveness_phase""#));
}

#[test]
fn faults_example_judges_lease_safety_and_says_what_was_partly_judged() {
    let out = ballot(&["run", example("faults.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("judged for part of the run: lease-safety"), "{}", stdout(&out));
    let json = json_of(&ballot(&["run", example("faults.json").to_str().unwrap(), "--json"]));
    assert!(json["checked"]["lease-safety"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_run_without_the_liveness_phase_says_liveness_was_not_checked() {
    let dir = scratch("noliveness");
    let path =
        write(&dir, "s.json", r#"{"format":1,"seed":3,"duration_ms":2000,"liveness":false}"#);
    let out = ballot(&["run", &path]);
    assert_eq!(out.status.code(), Some(0));
    for p in
        ["liveness (needs a liveness phase", "replication (needs a leader in the liveness phase"]
    {
        assert!(stdout(&out).contains(&format!("not reached: {p}")), "{}", stdout(&out));
    }
}

#[test]
fn bad_schedules_exit_2_with_one_line_and_run_nothing() {
    let dir = scratch("bad");
    let with_step =
        |step: &str| format!(r#"{{"format":1,"seed":1,"duration_ms":9000,"steps":[{step}]}}"#);
    let cases = [
        (with_step(r#"{"at_ms":1,"op":"explode"}"#), "unknown variant"),
        (with_step(r#"{"at_ms":1,"op":"crash","node":9}"#), "steps[0].node"),
        (
            with_step(r#"{"at_ms":1,"op":"partition","groups":[[0],[1,9]]}"#),
            "steps[0].groups[1][1]",
        ),
        (with_step(r#"{"at_ms":1,"op":"partition_oneway","from":0,"to":3}"#), "steps[0].to"),
        (with_step(r#"{"at_ms":1,"op":"heal","node":1}"#), "unknown field `node`"),
        (
            r#"{"format":1,"seed":1,"duration_ms":9000,"cluster":{"nodes":1}}"#.into(),
            "cluster.nodes",
        ),
        (r#"{"format":1,"seed":1,"duration_ms":1000000000000}"#.into(), "duration_ms"),
        (r#"{"format":1,"seed":1,"duration_ms":18446744073709551615}"#.into(), "duration_ms"),
        (format!("{} xyz", with_step(r#"{"at_ms":1,"op":"heal"}"#)), "text after the JSON object"),
        ("[1, 2, {}, 9000]".into(), "expected a JSON object"),
        ("{not json".into(), "schedule"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = write(&dir, &format!("bad{i}.json"), text);
        assert_bad_input(&ballot(&["run", &path]), expected);
    }
    let missing = dir.join("missing.json");
    let out = ballot(&["run", missing.to_str().unwrap()]);
    assert_bad_input(&out, "missing.json");
    assert_eq!(stderr(&out).matches("missing.json").count(), 1, "the path is named once");
}

#[test]
fn a_byte_order_mark_and_long_election_timeouts_are_accepted() {
    let dir = scratch("bom");
    let text = "\u{feff}{\"format\":1,\"seed\":4,\"duration_ms\":3000,\
                \"cluster\":{\"election_timeout_ms\":[500,1500],\"heartbeat_ms\":100}}";
    let out = ballot(&["run", &write(&dir, "s.json", text)]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn names_resolving_to_one_node_twice_are_skipped_not_applied() {
    let dir = scratch("twice");
    let history = dir.join("h.jsonl");
    let path = write(
        &dir,
        "s.json",
        r#"{"format":1,"seed":2,"duration_ms":3000,"cluster":{"nodes":3},
            "steps":[{"at_ms":1000,"op":"partition","groups":[["leader"],[0,1,2]]}]}"#,
    );
    let out = ballot(&["run", &path, "--history", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let lines = std::fs::read_to_string(history).unwrap();
    assert!(
        lines.contains(r#""op":"partition""#) && lines.contains(r#""skipped":true"#),
        "{lines}"
    );
}

#[test]
fn unwritable_outputs_are_bad_input_before_anything_runs() {
    let spec = spec_example();
    let spec = spec.to_str().unwrap();
    for flag in ["--history", "--timeline", "--artifact"] {
        assert_bad_input(&ballot(&["run", spec, flag, "/proc/nope/out"]), "/proc/nope/out");
    }
    let dir = scratch("outdir");
    assert_bad_input(&ballot(&["run", spec, "--history", dir.to_str().unwrap()]), "is a directory");
    assert_bad_input(&ballot(&["chaos", "--runs", "1", "--out", "/proc/nope"]), "/proc/nope");
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let cases: [&[&str]; 6] = [
        &["run", "--no-such-flag", "x"],
        &["chaos", "--jobs", "0"],
        &["chaos", "--duration", "18446744073709552s"],
        &["chaos", "--shard", "3/2"],
        &["bench", "failover", "--jobs", "0"],
        &["frobnicate"],
    ];
    for args in cases {
        let out = ballot(args);
        assert_bad_input(&out, "error: ");
    }
}

/// An artifact of the spec example recording `properties` as violated (it passes now).
fn artifact(dir: &Path, name: &str, properties: &[&str]) -> String {
    let schedule: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec_example()).unwrap()).unwrap();
    let violations: Vec<_> = properties
        .iter()
        .map(|p| serde_json::json!({"property": p, "t_ms": 1.0, "message": "made up"}))
        .collect();
    let artifact = serde_json::json!({
        "schedule": schedule,
        "summary": { "verdict": "safety", "seed": 7, "violations": violations,
                     "stats": {"elections": 1, "max_term": 1, "messages": 1, "sim_ms": 1}, "leaders": [] },
        "command": "ballot repro x.json"
    });
    write(dir, name, &artifact.to_string())
}

#[test]
fn repro_says_once_whether_the_failure_came_back() {
    let dir = scratch("repro");
    let path = artifact(&dir, "fixed.json", &["stability", "stability", "election-safety"]);
    let out = ballot(&["repro", &path]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("not reproduced: stability, election-safety did not come back"),
        "{text}"
    );
    let verdict = text.lines().find(|l| l.contains("reproduced")).unwrap();
    assert_eq!(verdict.matches("stability").count(), 1, "{text}");
    let json = json_of(&ballot(&["repro", &path, "--json"]));
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["reproduced"], serde_json::json!([]));
    assert_bad_input(
        &ballot(&["repro", &artifact(&dir, "unknown.json", &["no-such"])]),
        "unknown property",
    );
    assert_bad_input(
        &ballot(&["repro", &artifact(&dir, "empty.json", &[])]),
        "records no violation",
    );
    std::fs::write(&path, "{}").unwrap();
    assert_bad_input(&ballot(&["repro", &path]), "artifact");
    let out = ballot(&["repro", "nope.json"]);
    assert_bad_input(&out, "nope.json");
    assert_eq!(stderr(&out).matches("nope.json").count(), 1, "{}", stderr(&out));
}

#[test]
fn shrink_refuses_an_artifact_that_no_longer_fails() {
    let dir = scratch("shrink");
    let path = artifact(&dir, "fixed.json", &["election-safety"]);
    let min = dir.join("min.json");
    let out = ballot(&["shrink", &path, "--out", min.to_str().unwrap(), "--budget", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not fail any more"), "{}", stderr(&out));
    assert!(!min.exists(), "no 'minimal' artifact of a passing schedule");
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

#[test]
fn chaos_json_is_one_document_with_checked_runs_and_a_progress_line() {
    let dir = scratch("chaos");
    let out =
        ballot(&["chaos", "--runs", "4", "--seed", "5", "--json", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(json["runs"], 4);
    assert_eq!(json["checked_runs"]["election-safety"], 4);
    let err = stderr(&out);
    assert!(err.starts_with("seed: 5\n"), "{err}");
    assert!(err.contains(" runs, "), "a progress line without a terminal: {err}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(written, json);
}

#[test]
fn bench_json_is_one_document_without_float_noise_or_leftovers() {
    let dir = scratch("bench");
    let svg = dir.join("f.svg");
    let out =
        ballot(&["bench", "failover", "--trials", "2", "--json", "--svg", svg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = json_of(&out);
    for row in json["rows"].as_array().unwrap() {
        for field in ["mean_ms", "p50_ms", "bound_ms"] {
            let text = row[field].to_string();
            assert!(text.split('.').nth(1).is_none_or(|d| d.len() <= 1), "{field}: {text}");
        }
    }
    let child = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(["bench", "sim", "--json", "--seconds", "1", "--chaos-runs", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_of(&out)["rows"].as_array().unwrap().len(), 3);
    for jobs in [1, 2] {
        let left = std::env::temp_dir().join(format!("ballot-bench-{pid}-{jobs}"));
        assert!(!left.exists(), "{} left behind", left.display());
    }
}

fn chaos_shard(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballot"));
    cmd.args(["chaos", "--runs", "2", "--seed", "9", "--json", "--out", dir.to_str().unwrap()]);
    cmd.args(args).env_remove("BALLOT_SHARD").env_remove("JOB_COMPLETION_INDEX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn shards_from_flags_or_an_indexed_job_merge_into_one_summary() {
    let dir = scratch("merge");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let first = chaos_shard(&a, &["--shard", "1/2"], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let env = [("JOB_COMPLETION_INDEX", "1"), ("BALLOT_SHARDS", "2")];
    let second = chaos_shard(&b, &[], &env);
    assert_eq!(json_of(&second)["shards"], serde_json::json!([[2, 2]]));
    let half = chaos_shard(&dir.join("c"), &[], &[("JOB_COMPLETION_INDEX", "0")]);
    assert_bad_input(&half, "BALLOT_SHARDS");
    // The same finding in both shards is one finding after the merge.
    for shard in [&a, &b] {
        let found = artifact(shard, "election-safety-00000000000000aa.json", &["election-safety"]);
        let mut summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shard.join("summary.json")).unwrap())
                .unwrap();
        summary["artifacts"] = serde_json::json!([found]);
        std::fs::write(shard.join("summary.json"), summary.to_string()).unwrap();
    }
    let merged = dir.join("merged");
    let out = ballot(&[
        "chaos",
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(json["runs"], 4);
    assert_eq!(json["shards"], serde_json::json!([[1, 2], [2, 2]]));
    assert_eq!(json["checked_runs"]["election-safety"], 4);
    assert_eq!(json["violations"], serde_json::json!({"election-safety": 1}));
    assert!(merged.join("election-safety-00000000000000aa.json").exists());
    let d = dir.join("d");
    let other =
        ballot(&["chaos", "--runs", "1", "--seed", "10", "--json", "--out", d.to_str().unwrap()]);
    assert_eq!(other.status.code(), Some(0));
    let mixed = ballot(&["chaos", "merge", a.to_str().unwrap(), dir.join("d").to_str().unwrap()]);
    assert_bad_input(&mixed, "not one campaign");
}

#[test]
fn core_picks_the_election_core_and_refuses_what_it_cannot_run() {
    let spec = spec_example();
    let spec = spec.to_str().unwrap();
    let out = ballot(&["run", spec, "--core", "raft-rs", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_of(&out)["verdict"], "pass");
    assert_bad_input(&ballot(&["run", spec, "--core", "raft"]), "unknown core \"raft\"");
    let unbuilt = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballot"));
        cmd.args(args).env("BALLOT_FIXTURES", scratch("no-fixtures")).output().unwrap()
    };
    for fixture in ["raft-rs-0.3.0", "raft-rs-0.3.1"] {
        assert_bad_input(&unbuilt(&["run", spec, "--core", fixture]), "make fixtures");
        assert_bad_input(&unbuilt(&["chaos", "--runs", "1", "--core", fixture]), "make fixtures");
    }
    let dir = scratch("core");
    let adaptive = r#"{"format":1,"seed":1,"duration_ms":3000,
        "cluster":{"adaptive_timeout":true,"core":"raft-rs"}}"#;
    assert_bad_input(
        &ballot(&["run", &write(&dir, "adaptive.json", adaptive)]),
        "cluster.adaptive_timeout: raft-rs has no adaptive election timeout",
    );
    let out = ballot(&[
        "chaos",
        "--runs",
        "2",
        "--seed",
        "3",
        "--core",
        "raft-rs",
        "--json",
        "--out",
        dir.join("chaos").to_str().unwrap(),
    ]);
    let summary = json_of(&out);
    assert_eq!(summary["runs"], 2);
    assert_eq!(summary["marks"], serde_json::json!({}), "raft-rs records no coverage marks");
}

#[test]
fn a_reader_that_goes_away_early_does_not_make_ballot_panic() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(["run", spec_example().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 4];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs `schedule` with `--history` and returns the run's JSON summary, its exit status and
/// the history file's path.
fn run_with_history(
    dir: &Path,
    schedule: &str,
    name: &str,
) -> (serde_json::Value, Option<i32>, String) {
    let history = dir.join(name).to_str().unwrap().to_string();
    let out = ballot(&["run", schedule, "--json", "--history", &history]);
    (json_of(&out), out.status.code(), history)
}

/// `ballot check` judges a history as `ballot run` judged the run that wrote it: the same
/// summary and exit status, passing or failing.
#[test]
fn check_gives_the_verdict_run_gave() {
    let dir = scratch("check");
    let artifact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example(
            "../tests/regressions/raft-rs/lease-outlives-check-quorum.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let failing = write(&dir, "failing.json", &artifact["schedule"].to_string());
    for (schedule, status) in [(spec_example().to_str().unwrap().to_string(), 0), (failing, 1)] {
        let (summary, run_status, history) = run_with_history(&dir, &schedule, "h.jsonl");
        assert_eq!(run_status, Some(status), "{summary}");
        let out = ballot(&["check", &history, "--json"]);
        assert_eq!(out.status.code(), Some(status), "{}", stderr(&out));
        assert_eq!(json_of(&out), summary);
        assert!(stderr(&out).starts_with("seed: "), "the seed first: {}", stderr(&out));
    }
}

/// A history changed after the fact is judged as written: a second leader slipped into a
/// term fails election safety, whatever the run that wrote it said.
#[test]
fn check_finds_a_second_leader_written_into_a_history() {
    let dir = scratch("check-tampered");
    let (_, status, history) = run_with_history(&dir, spec_example().to_str().unwrap(), "h.jsonl");
    assert_eq!(status, Some(0));
    let text = std::fs::read_to_string(&history).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let at = lines.iter().position(|l| l.contains(r#""role":"leader""#)).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&lines[at]).unwrap();
    let leader = event["node"].as_u64().unwrap();
    event["node"] = ((leader + 1) % 3).into();
    event["leader"] = event["node"].clone();
    lines.insert(at + 1, event.to_string());
    let tampered = write(&dir, "tampered.jsonl", &(lines.join("\n") + "\n"));
    let out = ballot(&["check", &tampered, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let json = json_of(&out);
    assert!(
        json["violations"].as_array().unwrap().iter().any(|v| v["property"] == "election-safety"),
        "{json}"
    );
}

/// What `ballot check` cannot trust is bad input: one line naming the file and the line, and
/// exit 2.
#[test]
fn check_refuses_histories_it_cannot_trust() {
    let dir = scratch("check-bad");
    let (_, _, history) = run_with_history(&dir, spec_example().to_str().unwrap(), "h.jsonl");
    let text = std::fs::read_to_string(&history).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let meta: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let with_meta = |meta: &serde_json::Value| {
        std::iter::once(meta.to_string())
            .chain(lines[1..].iter().map(|l| l.to_string()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut format_2 = meta.clone();
    format_2["format"] = 2.into();
    let mut foreign_node = lines.clone();
    let with_node = lines.iter().position(|l| l.contains(r#""node":0"#)).unwrap();
    let node_9 = lines[with_node].replace(r#""node":0"#, r#""node":9"#);
    foreign_node[with_node] = &node_9;
    let later = lines
        .iter()
        .rposition(|l| l.contains(r#""t_ms""#) && !l.contains(r#""t_ms":0.0"#))
        .unwrap();
    let mut reordered = lines.clone();
    reordered.swap(1, later);
    let with_vote = lines.iter().position(|l| l.contains(r#""candidate":"#)).unwrap();
    let mut vote: serde_json::Value = serde_json::from_str(lines[with_vote]).unwrap();
    vote["candidate"] = 9.into();
    let vote_9 = vote.to_string();
    let mut foreign_candidate = lines.clone();
    foreign_candidate[with_vote] = &vote_9;
    vote["candidate"] = 0.into();
    vote["t_ms"] = (-5.0).into();
    let negative = format!("{}\n{vote}", lines[0]);
    let cases = [
        ("empty.jsonl", String::new(), "empty"),
        ("garbage.jsonl", "\u{0}\u{1} not json".to_string(), "line 1: not JSON"),
        ("no-meta.jsonl", lines[1..].join("\n"), "starts with its meta line"),
        ("format-2.jsonl", with_meta(&format_2), "unknown history format 2"),
        ("reordered.jsonl", reordered.join("\n"), "out of order"),
        ("node-9.jsonl", foreign_node.join("\n"), "node 9, but the cluster has 3 nodes"),
        ("candidate-9.jsonl", foreign_candidate.join("\n"), "node 9, but the cluster has 3"),
        ("negative.jsonl", negative, "t_ms -5.0: a time is at least 0"),
        (
            "bad-event.jsonl",
            format!("{}\n{{\"t_ms\": 1.0, \"kind\": \"no_such_kind\"}}", lines[0]),
            "line 2",
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(&dir, name, &text);
        let out = ballot(&["check", &path]);
        assert_bad_input(&out, expected);
        assert!(stderr(&out).contains(name), "names the file: {}", stderr(&out));
    }
    assert_bad_input(&ballot(&["check", &history, &history]), "a simulator history is read alone");
    assert_bad_input(&ballot(&["check", "nope.jsonl"]), "nope.jsonl");
    // An endless line is refused after a bound, not read into memory.
    assert_bad_input(&ballot(&["check", "/dev/zero"]), "longer than 1048576 bytes");
    // An output that is an input would destroy it.
    let over = ballot(&["check", &history, "--timeline", &history]);
    assert_bad_input(&over, "is the input");
    assert_eq!(std::fs::read_to_string(&history).unwrap(), text, "the history is untouched");
    let schedule = spec_example();
    let copy = write(&dir, "s.json", &std::fs::read_to_string(schedule).unwrap());
    assert_bad_input(&ballot(&["run", &copy, "--history", &copy]), "is the input");
}

/// A real node's file: what a killed node leaves (a last line cut anywhere, even inside a
/// character) is one event dropped; a wall clock far out of range is refused.
#[test]
fn check_reads_what_a_killed_node_leaves_and_refuses_impossible_times() {
    let dir = scratch("node-file");
    let meta = r#"{"kind":"meta","format":1,"source":"node","cluster_id":1,"node":0,"members":[{"id":0,"addr":"127.0.0.1:1"}],"config":{},"wall_ms":1800000000000.0}"#;
    let start = r#"{"kind":"start","term":0,"voted_for":null,"log_len":0,"node":0,"t_ms":0.0,"wall_ms":1800000000000.0}"#;
    let leader = r#"{"kind":"role","role":"leader","term":1,"leader":0,"node":0,"t_ms":200.0,"wall_ms":1800000000200.0}"#;
    let proposed = r#"{"kind":"propose","index":1,"term":1,"value":"café","node":0,"t_ms":210.0,"wall_ms":1800000000210.0}"#;
    let whole = format!("{meta}\n{start}\n{leader}\n{proposed}\n");
    let cut = whole.find("caf").unwrap() + 4; // inside the two bytes of the é
    let file = dir.join("cut.jsonl");
    std::fs::write(&file, &whole.as_bytes()[..cut]).unwrap();
    let out = ballot(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("dropped 1 events"), "{}", stdout(&out));
    let far = leader.replace("1800000000200.0", "1e300");
    let file = write(&dir, "far.jsonl", &format!("{meta}\n{start}\n{far}\n"));
    assert_bad_input(&ballot(&["check", &file]), "wall_ms 1e300: a time is at least 0");
}

/// `ballot diagnose` prints one JSON document of findings (none on a healthy run, the
/// partition and its fix on a run made to have two leaders) and refuses what `check` refuses.
#[test]
fn diagnose_explains_two_leaders_and_nothing_on_a_healthy_run() {
    let dir = scratch("diagnose");
    let healthy = write(
        &dir,
        "healthy.json",
        r#"{"format":1,"seed":3,"cluster":{"nodes":3},"duration_ms":6000,"steps":[]}"#,
    );
    let split = write(
        &dir,
        "split.json",
        r#"{"format":1,"seed":3,"cluster":{"nodes":3,"check_quorum":false},"duration_ms":8000,
            "steps":[{"at_ms":2000,"op":"isolate","node":"leader"},{"at_ms":4000,"op":"heal"}]}"#,
    );
    let (_, _, healthy) = run_with_history(&dir, &healthy, "healthy.jsonl");
    let out = ballot(&["diagnose", &healthy, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["findings"], serde_json::json!([]));
    assert!(stdout(&ballot(&["diagnose", &healthy])).starts_with("seed: 3\nnothing to diagnose"));
    let (_, _, split) = run_with_history(&dir, &split, "split.jsonl");
    let json = json_of(&ballot(&["diagnose", &split, "--json"]));
    let finding = &json["findings"][0];
    assert_eq!(finding["symptom"], "two_leaders", "{json}");
    assert_eq!(finding["causes"][0]["name"], "partition_without_check_quorum", "{json}");
    assert!(finding["causes"][0]["fix"].as_str().unwrap().contains("check-quorum on"));
    let text = stdout(&ballot(&["diagnose", &split]));
    assert!(
        text.contains("two leaders, ") && text.contains("    fix: turn check-quorum on"),
        "{text}"
    );
    assert_bad_input(&ballot(&["diagnose", &write(&dir, "empty.jsonl", "")]), "empty");
}

/// `ballot node` refuses a configuration it cannot run, before binding anything.
#[test]
fn node_refuses_a_bad_configuration() {
    let dir = scratch("node-bad");
    let d = dir.to_str().unwrap();
    assert_bad_input(
        &ballot(&["node", "--id", "4", "--member", "1=127.0.0.1:9", "--dir", d]),
        "not one of the members",
    );
    assert_bad_input(
        &ballot(&["node", "--id", "1", "--member", "1:127.0.0.1:9", "--dir", d]),
        "ID=HOST:PORT",
    );
    let config = write(
        &dir,
        "c.json",
        r#"{"election_timeout_min_ms": 300, "election_timeout_max_ms": 150}"#,
    );
    assert_bad_input(
        &ballot(&[
            "node",
            "--id",
            "1",
            "--member",
            "1=127.0.0.1:9",
            "--dir",
            d,
            "--config",
            &config,
        ]),
        "core configuration",
    );
}

/// `run --record DIR` in the turmoil world keeps each node's own history file, as `ballot
/// node` writes it, on the simulated clocks: the same bytes on every run of a seed (a second
/// run replaces the first's files, it does not append to them), and `ballot diagnose` on
/// them alone names what the schedule did. The event world runs no node files: bad input.
#[test]
fn a_simulated_run_keeps_each_nodes_own_file() {
    let dir = scratch("record");
    let schedule = write(
        &dir,
        "s.json",
        r#"{"format":1,"seed":1,"cluster":{"nodes":3},"duration_ms":6000,
            "steps":[{"at_ms":2000,"op":"pause","node":"leader"},{"at_ms":3500,"op":"heal"}]}"#,
    );
    let files = |record: &Path| -> Vec<String> {
        (0..3)
            .map(|n| {
                std::fs::read_to_string(record.join(format!("node-{n}-history.jsonl"))).unwrap()
            })
            .collect()
    };
    let (first, second) = (dir.join("first"), dir.join("second"));
    for record in [&first, &second, &second] {
        let out = ballot(&["run", &schedule, "--record", record.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    }
    assert_eq!(files(&first), files(&second), "the same seed, the same node files");
    let meta: serde_json::Value =
        serde_json::from_str(files(&first)[0].lines().next().unwrap()).unwrap();
    assert_eq!((meta["kind"].as_str(), meta["source"].as_str()), (Some("meta"), Some("node")));
    let paths: Vec<String> = (0..3)
        .map(|n| first.join(format!("node-{n}-history.jsonl")).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["diagnose", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let found = json_of(&ballot(&args));
    let findings = found["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{found:#}");
    for f in findings {
        let causes: Vec<&str> =
            f["causes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert!(causes.contains(&"paused_leader"), "{found:#}");
    }
    // A slow disk: the failover's causes name it, and the refused pre-votes carry the
    // voters' own reasons.
    let disk = dir.join("disk");
    let slow = example("slow-disk.json");
    ballot(&["run", slow.to_str().unwrap(), "--record", disk.to_str().unwrap()]);
    let paths: Vec<String> = (0..3)
        .map(|n| disk.join(format!("node-{n}-history.jsonl")).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["diagnose", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let found = json_of(&ballot(&args));
    let causes: Vec<&serde_json::Value> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["causes"].as_array().unwrap())
        .collect();
    assert!(causes.iter().any(|c| c["name"] == "slow_disk"), "{found:#}");
    let refusals = causes.iter().find(|c| c["name"] == "pre_vote_refusals").expect("refusals");
    assert!(refusals["detail"].as_str().unwrap().contains("by the voters' own files"), "{found:#}");
    let events =
        ballot(&["run", &schedule, "--world", "events", "--record", first.to_str().unwrap()]);
    assert_bad_input(&events, "--record is for the turmoil and processes worlds");
    let _ = std::fs::remove_dir_all(&dir);
}
