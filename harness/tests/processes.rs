//! The processes world: the design document's scenarios (leader kill, election timeout, split
//! vote, partition heal) and `examples/spec.json` against real `ballot node` processes behind
//! the fault proxy, on the shipped core. Real time: the bounds are the scenarios' own, with
//! the slack that real scheduling needs said where it is taken. One scenario at a time, so
//! that they do not slow each other's processes down.

use ballot_core::Role;
use ballot_harness::faults::{Crash, Heal, Isolate};
use ballot_harness::schedule::NodeRef;
use ballot_harness::world::processes::{ProcessCluster, ProcessOptions};
use ballot_harness::world::World;
use ballot_harness::{EventKind, History, Schedule, PROPERTIES};
use std::process::Command;
use std::sync::Mutex;

/// One scenario at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A cluster of `n` real nodes with the default core configuration (`cluster` adds to it).
fn processes(n: usize, cluster: &str) -> ProcessCluster {
    let text = format!(
        r#"{{"format":1,"seed":1,"duration_ms":1000,"cluster":{{"nodes":{n}{cluster}}},"steps":[]}}"#
    );
    let schedule = Schedule::from_json(&text).unwrap();
    let options = ProcessOptions { binary: env!("CARGO_BIN_EXE_ballot").into(), record: None };
    ProcessCluster::start(&schedule, &options).unwrap()
}

fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// Runs until `group` agrees on a leader (at most `max_ms`) and returns it.
fn wait_for_leader(c: &mut ProcessCluster, group: &[usize], max_ms: u64) -> usize {
    c.run_until(max_ms, |h| h.agreed_leader(group).is_some())
        .unwrap_or_else(|| panic!("no agreed leader among {group:?} within {max_ms} ms"));
    c.history().agreed_leader(group).expect("just agreed")
}

/// Ends the scenario as every run ends and asserts that every property holds, and that each
/// one every run can judge was judged.
fn assert_every_property(c: &mut ProcessCluster) {
    let judged = c.finish(3_000);
    assert!(judged.violations.is_empty(), "violations: {:#?}", judged.violations);
    for p in PROPERTIES.iter().filter(|p| p.needs.is_none()) {
        assert!(judged.checked[p.name] > 0.0, "{} was not checked", p.name);
    }
    assert!(c.exited().is_empty(), "{:?}", c.exited());
}

/// The first time after `after_ms` that a node became `role`: (node, time).
fn first_became(h: &History, after_ms: f64, wanted: Role) -> Option<(usize, f64)> {
    h.events().iter().find_map(|e| match (e.node, &e.kind) {
        (Some(n), EventKind::Role { role, .. }) if e.t_ms > after_ms && *role == wanted => {
            Some((n, e.t_ms))
        }
        _ => None,
    })
}

/// Leader kill: 5 nodes elect one leader; kill it (SIGKILL); within 500 ms there is again
/// exactly one leader, another node.
#[test]
fn leader_kill_on_processes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = processes(5, "");
    let old = wait_for_leader(&mut c, &all(5), 3_000);
    c.apply(Crash { node: NodeRef::Index(old) }.into());
    let rest: Vec<usize> = (0..5).filter(|&n| n != old).collect();
    let took = c.run_until(500, |h| h.agreed_leader(&rest).is_some());
    assert!(took.is_some(), "no new leader within 500 ms");
    let new = c.history().agreed_leader(&rest).unwrap();
    assert_ne!(new, old);
    assert_eq!(c.history().leaders_now(), vec![new], "exactly one leader");
    assert_every_property(&mut c);
}

/// Election timeout: once the leader is killed, the first campaign starts 150-300 ms after the
/// last heartbeat its node heard. A real node's history records acknowledgements, not every
/// heartbeat, so the last one is bounded by the kill: it came at most one heartbeat interval
/// (50 ms) before it, plus a hop of at most 10 ms; 2 ms of slack for real scheduling.
#[test]
fn election_timeout_on_processes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = processes(3, "");
    let leader = wait_for_leader(&mut c, &all(3), 3_000);
    c.run_for(500);
    c.apply(Crash { node: NodeRef::Index(leader) }.into());
    let killed_at = c.history().events().last().unwrap().t_ms;
    let started = |h: &History| first_became(h, killed_at, Role::PreCandidate);
    c.run_until(1_000, |h| started(h).is_some()).expect("someone campaigns");
    let (node, at) = started(&c.history()).unwrap();
    let waited = at - killed_at;
    assert!((150.0 - 60.0 - 2.0..=300.0 + 2.0).contains(&waited), "node {node} waited {waited} ms");
    assert_every_property(&mut c);
}

/// Split vote: election timeouts 1 ms apart and no pre-vote, so that the survivors of a
/// killed leader time out together and split their votes until the core's backoff separates
/// them; a leader within two seconds, every property holding.
#[test]
fn split_vote_on_processes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = processes(3, r#","election_timeout_ms":[150,151],"pre_vote":false"#);
    let old = wait_for_leader(&mut c, &all(3), 3_000);
    c.apply(Crash { node: NodeRef::Index(old) }.into());
    let rest: Vec<usize> = (0..3).filter(|&n| n != old).collect();
    wait_for_leader(&mut c, &rest, 2_000);
    assert_every_property(&mut c);
}

/// Partition heal: isolate the leader; the majority elects another; heal; the old leader
/// steps down, one leader remains and every term converges.
#[test]
fn partition_heal_on_processes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = processes(5, "");
    let old = wait_for_leader(&mut c, &all(5), 3_000);
    c.apply(Isolate { node: NodeRef::Index(old) }.into());
    let rest: Vec<usize> = (0..5).filter(|&n| n != old).collect();
    let new = wait_for_leader(&mut c, &rest, 2_000);
    assert_ne!(new, old);
    c.apply(Heal {}.into());
    let leader = wait_for_leader(&mut c, &all(5), 2_000);
    let h = c.history();
    assert_eq!(h.leaders_now(), vec![leader]);
    assert_ne!(h.views()[old].role, Role::Leader);
    let terms: Vec<_> = h.terms().into_iter().flatten().collect();
    assert!(terms.windows(2).all(|w| w[0] == w[1]), "terms {terms:?}");
    assert_every_property(&mut c);
}

/// `examples/spec.json` through the command: every property holds, the output and the
/// timeline say the world is processes (not deterministic), and nothing is left in the
/// temporary directory.
#[test]
fn the_example_schedule_passes_on_processes_and_leaves_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/spec.json");
    let timeline = std::env::temp_dir().join(format!("ballot-spec-{}.html", std::process::id()));
    let child = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(["run", spec, "--world", "processes", "--json", "--timeline"])
        .arg(&timeline)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let run_dirs = format!("ballot-processes-{}-", child.id());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("not deterministic"), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["world"], "processes");
    assert!(summary["stats"]["messages"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(left_behind(&run_dirs), (Vec::<String>::new(), Vec::<String>::new()));
    let page = std::fs::read_to_string(&timeline).unwrap();
    assert!(page.contains("ballot run on processes, seed 7"), "the timeline's title");
    let _ = std::fs::remove_file(timeline);
}

/// Sends `sig` to process `pid`.
fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a process this test started (or its cluster did).
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
}

/// Directories in the temporary directory, and processes, whose names or command lines
/// contain `run_dirs`.
fn left_behind(run_dirs: &str) -> (Vec<String>, Vec<String>) {
    let dirs = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains(run_dirs))
        .collect();
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(run_dirs))
        .collect();
    (dirs, processes)
}

/// A node that cannot start is an error that names it, and leaves no directory behind; a
/// node killed by someone else is reported as having exited on its own.
#[test]
fn a_node_that_will_not_start_or_dies_on_its_own_is_reported() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let schedule =
        Schedule::from_json(r#"{"format":1,"seed":1,"duration_ms":1000,"steps":[]}"#).unwrap();
    let options = ProcessOptions { binary: "/bin/false".into(), record: None };
    let error = ProcessCluster::start(&schedule, &options).err().expect("/bin/false is no node");
    assert!(error.contains("node 0 exited at start"), "{error}");
    let ours = format!("ballot-processes-{}-", std::process::id());
    assert_eq!(left_behind(&ours).0, Vec::<String>::new());

    let mut c = processes(3, "");
    wait_for_leader(&mut c, &all(3), 3_000);
    let pid = c.pids()[1].expect("node 1 runs");
    signal(pid, libc::SIGKILL);
    c.run_for(200);
    assert!(
        c.exited().iter().any(|e| e.starts_with("node 1 exited on its own")),
        "{:?}",
        c.exited()
    );
    drop(c);
    assert_eq!(left_behind(&ours), (Vec::<String>::new(), Vec::<String>::new()));
}

/// Ctrl-C (SIGINT to ballot alone) in the middle of a run kills every node, removes the run's
/// directory and exits 130.
#[test]
fn an_interrupted_run_leaves_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/spec.json");
    // Ctrl-C, and what a terminal or a supervisor sends: SIGHUP, SIGTERM.
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ballot"))
            .args(["run", spec, "--world", "processes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let run_dirs = format!("ballot-processes-{}-", child.id());
        let started = std::time::Instant::now();
        while left_behind(&run_dirs).1.len() < 3 {
            assert!(started.elapsed().as_secs() < 10, "the nodes never started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        signal(child.id(), sig);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "signal {sig}");
        let nothing = (Vec::<String>::new(), Vec::<String>::new());
        assert_eq!(left_behind(&run_dirs), nothing, "signal {sig}");
    }
}

/// Every verb acts on real processes (harness/tests/processes-verbs.json): a 2,000-byte write
/// reaches the leader and commits, a transfer hands leadership to the follower named, a clock
/// at twice real time shows in that node's leases, a paused (SIGSTOPped) node writes nothing
/// until resumed, and the proxy's log shows datagrams held, released, duplicated and lost.
#[test]
fn every_verb_acts_on_processes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("ballot-verbs-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let schedule = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/processes-verbs.json");
    let history = dir.join("history.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(["run", schedule, "--world", "processes", "--history"])
        .arg(&history)
        .arg("--record")
        .arg(dir.join("record"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&history)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |at: u64| {
        events
            .iter()
            .find(|e| e["kind"] == "fault" && e["step"]["at_ms"].as_u64().is_some_and(|t| t >= at))
            .map(|e| e["step"].clone())
            .unwrap()
    };
    let of = |kind: &'static str| events.iter().filter(move |e| e["kind"] == kind);
    let write = of("propose").find(|e| e["bytes"] == 2000).expect("the write was appended");
    let committed =
        |e: &serde_json::Value| e["node"] == write["node"] && e["index"] == write["index"];
    assert!(of("commit").any(committed), "{write}");
    let to = step(1200)["to"].clone();
    let led = of("role").any(|e| {
        e["node"] == to
            && e["role"] == "leader"
            && (1200.0..1500.0).contains(&e["t_ms"].as_f64().unwrap())
    });
    assert!(led, "node {to} did not lead after the transfer");
    let fast = step(1800)["node"].clone();
    let record = dir.join("record");
    let fast_history =
        std::fs::read_to_string(record.join(format!("node-{fast}-history.jsonl"))).unwrap();
    assert!(fast_history.contains(r#""clock_rate":2.0"#), "no lease at twice real time");
    let paused = step(2000)["node"].clone();
    let woke = step(2600)["t_ms"].as_f64().unwrap_or(2600.0);
    let during = events.iter().filter(|e| {
        e["node"] == paused && (2001.0..woke.min(2599.0)).contains(&e["t_ms"].as_f64().unwrap())
    });
    assert_eq!(during.count(), 0, "node {paused} wrote while paused");
    let proxy = std::fs::read_to_string(record.join("proxy.jsonl")).unwrap();
    for fate in
        [r#""fate":"held""#, r#""fate":"released""#, r#""fate":"duplicated""#, r#""reason":"loss""#]
    {
        assert!(proxy.contains(fate), "{fate} not in the proxy's log");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the processes world cannot do is bad input, before anything starts: another core, a
/// check of determinism; and the simulator's commands refuse it, as `run` refuses the
/// processes world's flags in a simulated world.
#[test]
fn the_processes_world_refuses_what_it_cannot_do() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/spec.json");
    let cases: [&[&str]; 5] = [
        &["run", spec, "--world", "processes", "--core", "raft-rs"],
        &["run", spec, "--world", "processes", "--check-determinism"],
        &["chaos", "--world", "processes", "--runs", "1"],
        &["bench", "sim", "--world", "processes"],
        &["run", spec, "--repeat", "2"],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_ballot")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("processes"), "{args:?}: {stderr}");
    }
}

/// Diagnosis from a real cluster's own files, with no fault record (the small version of
/// `make diagnose-matrix`): a paused leader, and a leader cut off without check-quorum, each
/// run on processes with `--record`, then `ballot diagnose` on the nodes' history files
/// alone names the cause the schedule set up, and nothing else.
#[test]
fn diagnose_names_the_cause_from_the_nodes_files_alone() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cases = [
        (
            r#"{"format":1,"seed":1,"cluster":{"nodes":3},"duration_ms":6000,
                "steps":[{"at_ms":2000,"op":"pause","node":"leader"},{"at_ms":3500,"op":"heal"}]}"#,
            "two_leaders",
            "paused_leader",
        ),
        (
            r#"{"format":1,"seed":1,"cluster":{"nodes":3,"check_quorum":false},"duration_ms":6000,
                "steps":[{"at_ms":2000,"op":"isolate","node":"leader"},{"at_ms":4000,"op":"heal"}]}"#,
            "two_leaders",
            "partition_without_check_quorum",
        ),
    ];
    for (i, (schedule, symptom, cause)) in cases.into_iter().enumerate() {
        let dir = std::env::temp_dir().join(format!("ballot-matrix-{}-{i}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("schedule.json");
        std::fs::write(&path, schedule).unwrap();
        let record = dir.join("record");
        let ran = Command::new(env!("CARGO_BIN_EXE_ballot"))
            .args(["run", path.to_str().unwrap(), "--world", "processes", "--record"])
            .arg(&record)
            .output()
            .unwrap();
        assert!(ran.status.code().is_some(), "{}", String::from_utf8_lossy(&ran.stderr));
        let files: Vec<_> =
            (0..3).map(|n| record.join(format!("node-{n}-history.jsonl"))).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_ballot"))
            .args(["diagnose", "--json"])
            .args(&files)
            .output()
            .unwrap();
        let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings = found["findings"].as_array().unwrap();
        let named = |f: &serde_json::Value| {
            f["causes"].as_array().unwrap().iter().any(|c| c["name"] == cause)
        };
        assert!(findings.iter().any(|f| f["symptom"] == symptom), "{cause}: {found:#}");
        assert!(findings.iter().all(named), "{cause}: {found:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
