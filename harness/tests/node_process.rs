//! `ballot node` as operators and adversaries use it: signals with stdin open, bad lines on
//! stdin, two nodes on one directory, a directory given to another node, a port taken, and
//! damaged state files. Each is a clear line and a status (SPEC.md: 2 when the node cannot
//! start), never a panic, and never a node that starts on what it cannot trust.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `ballot node` as a one-node cluster on a free port, in `dir`, with `extra` flags.
fn node(dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ballot"));
    command.args(["node", "--id", "1", "--member", "1=127.0.0.1:0", "--dir"]).arg(dir);
    command.args(extra);
    command
}

/// Starts a node whose stdin stays open (piped), and waits for its first line.
fn start(dir: &Path, extra: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = node(dir, extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("node 1 of cluster"), "{first}");
    (child, out)
}

/// Reads stdout lines until one contains `text` (ten seconds at most).
fn wait_for(out: &mut BufReader<ChildStdout>, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains(text) {
            return line;
        }
    }
    panic!("no line with {text:?}");
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status();
    assert!(status.unwrap().success());
}

/// Waits for the process to end (ten seconds at most) and returns its output.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the node did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 and one line on stderr containing `expected`.
fn assert_refused(out: &Output, expected: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expected), "{err} lacks {expected}");
}

/// SIGTERM and SIGINT (Ctrl-C) stop a node at once though its stdin is still open, with
/// exit 0, its state saved and a `stop` event last in its history (a clean stop, which the
/// judge and `diagnose` tell from a crash).
#[test]
fn a_signal_stops_a_node_whose_stdin_is_open() {
    for sig in ["TERM", "INT"] {
        let dir = scratch(&format!("signal-{sig}"));
        let (child, mut out) = start(&dir, &[]);
        wait_for(&mut out, "leader node 1");
        signal(&child, sig);
        let start = Instant::now();
        let done = finish(child);
        assert_eq!(done.status.code(), Some(0), "SIG{sig}: {}", stderr(&done));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(std::fs::read(dir.join("state")).unwrap().len(), 64, "its state was saved");
        let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
        let last: serde_json::Value =
            serde_json::from_str(history.lines().last().unwrap()).unwrap();
        assert_eq!(last["kind"], "stop", "SIG{sig}: {history}");
    }
}

/// A node whose clock runs at twice real time says so in its `peers` summaries, measured
/// against the wall clock: what `diagnose` needs to name clock drift from a real node's file.
#[test]
fn a_node_measures_its_clock_rate_against_the_wall_clock() {
    let dir = scratch("clock-rate");
    let (mut child, mut out) = start(&dir, &[]);
    wait_for(&mut out, "leader node 1");
    let stdin = child.stdin.as_mut().unwrap();
    stdin.write_all(b"{\"clock_rate\": 2.0}\n").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1_800));
    signal(&child, "TERM");
    let done = finish(child);
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    let rates: Vec<f64> = history
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "peers")
        .filter_map(|e| e["clock_rate"].as_f64())
        .collect();
    assert!(rates.iter().any(|r| (1.8..2.2).contains(r)), "{rates:?} in {history}");
}

/// A bad line on stdin (not JSON, not UTF-8, far too long, a clock rate out of bounds) gets
/// one short error line, and the commands after it are taken as usual.
#[test]
fn bad_lines_on_stdin_are_skipped_with_a_short_error() {
    let dir = scratch("stdin");
    let (mut child, mut out) = start(&dir, &[]);
    wait_for(&mut out, "leader node 1");
    let stdin = child.stdin.as_mut().unwrap();
    stdin.write_all(b"\xff\xfe not utf-8\n").unwrap();
    stdin.write_all(&vec![b'{'; 200_000]).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.write_all(format!("{}\n", "z".repeat(10_000)).as_bytes()).unwrap();
    for rate in ["1e-20", "1e300", "0", "-1"] {
        stdin.write_all(format!("{{\"clock_rate\": {rate}}}\n").as_bytes()).unwrap();
    }
    stdin.write_all(b"{\"clock_rate\": 2}\n{\"propose\": \"after\"}\n").unwrap();
    stdin.flush().unwrap();
    wait_for(&mut out, "clock at 2 x real time");
    wait_for(&mut out, "committed at index");
    drop(child.stdin.take());
    signal(&child, "TERM");
    let done = finish(child);
    assert_eq!(done.status.code(), Some(0));
    let err = stderr(&done);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 7, "one line a bad line: {err}");
    assert!(lines[0].contains("stdin line 1: not UTF-8"), "{err}");
    assert!(lines[1].contains("stdin line 2: 200000 bytes, longer than"), "{err}");
    assert!(lines[2].contains("stdin line 3") && lines[2].len() < 300, "quoted short: {err}");
    for (line, rate) in lines[3..].iter().zip(["1e-20", "1e300", "0", "-1"]) {
        assert!(line.contains("is outside [0.01, 100]"), "{rate}: {err}");
    }
}

/// One directory, one node: a second process on it is refused while the first runs; the
/// directory of another node, or of another cluster, is refused; a misspelt configuration
/// field, a port taken and a missing flag are refused with a line that names them.
#[test]
fn what_a_node_cannot_start_on_is_refused() {
    let dir = scratch("refused");
    let (child, mut out) = start(&dir, &[]);
    wait_for(&mut out, "leader node 1");
    assert_refused(&node(&dir, &[]).output().unwrap(), "another process holds this directory");
    signal(&child, "TERM");
    assert_eq!(finish(child).status.code(), Some(0));

    let other = |id: &str, cluster: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ballot"));
        command.args(["node", "--id", id, "--member", &format!("{id}=127.0.0.1:0"), "--dir"]);
        command.arg(&dir).args(["--cluster-id", cluster]).stdin(Stdio::null());
        command.output().unwrap()
    };
    assert_refused(&other("2", "1"), "belongs to node 1 of cluster 1, not to node 2 of cluster 1");
    assert_refused(&other("1", "9"), "belongs to node 1 of cluster 1, not to node 1 of cluster 9");

    let config = dir.join("c.json");
    std::fs::write(&config, r#"{"election_timout_min_ms": 500}"#).unwrap();
    let misspelt = node(&dir, &["--config", config.to_str().unwrap()]).output().unwrap();
    assert_refused(&misspelt, "unknown field `election_timout_min_ms`");

    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ballot"));
    command.args(["node", "--id", "1", "--member", &format!("1={port}"), "--dir"]);
    let bound = command.arg(scratch("taken")).stdin(Stdio::null()).output().unwrap();
    assert_refused(&bound, &format!("bind {port}"));

    let missing = Command::new(env!("CARGO_BIN_EXE_ballot")).args(["node"]).output().unwrap();
    assert_refused(&missing, "--id");
    assert!(stderr(&missing).contains("--dir"), "every missing flag named: {}", stderr(&missing));
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    assert_refused(&node(&file, &[]).output().unwrap(), "a-file");
}

/// A node whose state file or log was damaged at rest refuses to start, with a line that
/// says which file and what to do; one whose state file was deleted beside its log, too.
#[test]
fn a_node_refuses_to_start_on_damaged_state() {
    let dir = scratch("damaged");
    let (mut child, mut out) = start(&dir, &[]);
    wait_for(&mut out, "leader node 1");
    let stdin = child.stdin.as_mut().unwrap();
    for k in 0..20 {
        writeln!(stdin, "{{\"propose\": \"value {k}\"}}").unwrap();
    }
    stdin.flush().unwrap();
    for _ in 0..20 {
        wait_for(&mut out, "committed at index");
    }
    signal(&child, "TERM");
    assert_eq!(finish(child).status.code(), Some(0));
    let (state, log) = (dir.join("state"), dir.join("state.log"));
    let (good_state, good_log) = (std::fs::read(&state).unwrap(), std::fs::read(&log).unwrap());
    let cases: Vec<(&Path, Option<Vec<u8>>, &str)> = vec![
        // A bit of the second record's length: it runs past the end, as a torn append's
        // would, but the state file says the log is longer.
        (&log, Some(flip(&good_log, 8 + 8 + 3 + 2, 6)), "state.log is corrupt"),
        (&log, Some(good_log[..good_log.len() - 5].to_vec()), "truncated"),
        (&log, None, "missing, where the state file says"),
        (&state, Some(flip(&good_state, 40, 0)), "state is corrupt (checksum mismatch)"),
        (&state, None, "the state file is missing beside a log file"),
    ];
    for (file, bytes, expected) in cases {
        match bytes {
            Some(bytes) => std::fs::write(file, bytes).unwrap(),
            None => std::fs::remove_file(file).unwrap(),
        }
        let refused = node(&dir, &[]).stdin(Stdio::null()).output().unwrap();
        assert_refused(&refused, expected);
        assert!(stderr(&refused).contains("move the directory aside"), "{}", stderr(&refused));
        std::fs::write(&state, &good_state).unwrap();
        std::fs::write(&log, &good_log).unwrap();
    }
    let (child, mut out) = start(&dir, &[]);
    wait_for(&mut out, "leader node 1");
    signal(&child, "TERM");
    assert_eq!(finish(child).status.code(), Some(0), "starts again on the good files");
}

fn flip(bytes: &[u8], at: usize, bit: u8) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[at] ^= 1 << bit;
    bytes
}

/// A node killed at any moment (SIGKILL, in the middle of saves under a stream of writes)
/// starts again from its files, never refusing them, with every entry it reported committed.
#[test]
fn a_node_killed_at_any_moment_starts_again_with_what_it_committed() {
    let dir = scratch("killed");
    let mut committed = 0u64;
    for round in 0..8u64 {
        let (mut child, mut out) = start(&dir, &[]);
        wait_for(&mut out, "leader node 1");
        let stdin = child.stdin.as_mut().unwrap();
        for k in 0..300 {
            writeln!(stdin, "{{\"propose\": \"round {round} write {k}\"}}").unwrap();
        }
        stdin.flush().unwrap();
        let (lines, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::sleep(Duration::from_millis(3 + 11 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in seen.try_iter() {
            let index = line.strip_prefix("committed at index ").and_then(|r| r.split(' ').next());
            if let Some(index) = index.and_then(|i| i.parse::<u64>().ok()) {
                committed = committed.max(index);
            }
        }
        // The next start reads what the kill left.
        let (child, mut out) = start(&dir, &[]);
        wait_for(&mut out, "leader node 1");
        signal(&child, "TERM");
        assert_eq!(finish(child).status.code(), Some(0), "round {round}");
        let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
        let last_start = history
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| e["kind"] == "start")
            .unwrap();
        let log_len = last_start["log_len"].as_u64().unwrap();
        assert!(log_len >= committed, "round {round}: {log_len} entries, {committed} committed");
    }
    assert!(committed > 0, "some writes committed before a kill");
}
