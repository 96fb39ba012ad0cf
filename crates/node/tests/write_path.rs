//! The production write path, seen by the kernel. The simulated disks implement the same
//! primitives as `StdFileSystem`, and lose what was not made durable; but no world ever sees
//! the real calls. This test runs real saves of `FileStorage<StdFileSystem>` under `strace`
//! and checks the system calls against the protocol the simulated disks assume: a file's
//! writes are synced before the save that made them returns, a file is synced before it is
//! renamed, a rename (or a new file) is followed by a sync of its directory, and the state
//! file's mark is written only after the log records it marks are synced. The checker is
//! shown failing on traces with a forgotten sync, a directory not synced, and the mark
//! written first.
//!
//! Needs `strace` (Debian's package; `.ci/run` installs it).

use ballot_core::{Entry, HardState, LogWrite, NodeId, Payload, Term};
use ballot_node::{complete_now, FileStorage, Owner, StdFileSystem, Storage};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Set in the environment of the copy of this test binary that `strace` runs.
const CHILD: &str = "BALLOT_WRITE_PATH_CHILD";

/// The name the child opens (and fails to) between two saves: a save boundary in the trace.
const BOUNDARY: &str = "save-boundary";

fn entry(index: u64, term: u64) -> Entry {
    Entry { index, term: Term(term), payload: Payload::Data(vec![index as u8; 100]) }
}

/// The saves a node makes in its life, each followed by a boundary: a first save (a vote and
/// entries), an append, a vote alone, a conflicting suffix replaced, and another append.
fn saves(dir: &Path) {
    let boundary = || drop(std::fs::File::open(dir.join(BOUNDARY)));
    let now =
        |save: &mut FileStorage<StdFileSystem>, hs: Option<HardState>, log: Option<LogWrite>| {
            complete_now(save.save(hs, log.as_ref())).expect("never waits").expect("saved");
            boundary();
        };
    let mut s = FileStorage::new(StdFileSystem, dir.join("state"));
    s.load(Owner { cluster_id: 1, node: NodeId(1) }).expect("a new node");
    let vote = |term| Some(HardState { term: Term(term), voted_for: Some(NodeId(2)) });
    now(
        &mut s,
        vote(1),
        Some(LogWrite { first_index: 1, entries: vec![entry(1, 1), entry(2, 1)] }),
    );
    now(&mut s, None, Some(LogWrite { first_index: 3, entries: vec![entry(3, 1)] }));
    now(&mut s, vote(2), None);
    now(&mut s, None, Some(LogWrite { first_index: 2, entries: vec![entry(2, 2)] }));
    now(&mut s, vote(3), Some(LogWrite { first_index: 3, entries: vec![entry(3, 3)] }));
}

/// One system call of the trace that the protocol is about.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    /// `openat` of a path, returning a descriptor (`O_CREAT` or not).
    Open { path: String, fd: i64, create: bool },
    /// `write` or `pwrite64` on a descriptor.
    Write { fd: i64 },
    /// `fsync` or `fdatasync` of a descriptor.
    Sync { fd: i64 },
    /// `rename` (or `renameat`, `renameat2`) from a path to a path.
    Rename { from: String, to: String },
    /// The child's marker between two saves.
    Boundary,
}

/// The calls of an `strace -f` output that concern files under `dir` (and the boundaries).
fn parse(trace: &str, dir: &str) -> Vec<Call> {
    let quoted =
        |s: &str| -> Vec<String> { s.split('"').skip(1).step_by(2).map(str::to_string).collect() };
    let result =
        |line: &str| -> Option<i64> { line.rsplit("= ").next()?.split(' ').next()?.parse().ok() };
    let fd_of = |line: &str| -> Option<i64> {
        line.split('(').nth(1)?.split([',', ')']).next()?.trim().parse().ok()
    };
    let mut calls = Vec::new();
    for line in trace.lines() {
        let call = line.split_once(' ').map_or(line, |(_, rest)| rest).trim_start();
        let paths = quoted(call);
        if call.starts_with("openat(") {
            let Some(path) = paths.first() else { continue };
            if path.ends_with(BOUNDARY) {
                calls.push(Call::Boundary);
            } else if path.starts_with(dir) {
                if let Some(fd) = result(call).filter(|fd| *fd >= 0) {
                    calls.push(Call::Open {
                        path: path.clone(),
                        fd,
                        create: call.contains("O_CREAT"),
                    });
                }
            }
        } else if call.starts_with("write(") || call.starts_with("pwrite64(") {
            calls.extend(fd_of(call).map(|fd| Call::Write { fd }));
        } else if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            calls.extend(fd_of(call).map(|fd| Call::Sync { fd }));
        } else if call.starts_with("rename") && paths.len() == 2 && paths[1].starts_with(dir) {
            calls.push(Call::Rename { from: paths[0].clone(), to: paths[1].clone() });
        }
    }
    calls
}

fn parent(path: &str) -> String {
    Path::new(path).parent().map(|p| p.display().to_string()).unwrap_or_default()
}

/// Checks the calls against the protocol (see the module's documentation); every breach,
/// with the save it was in.
fn breaches(calls: &[Call]) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: BTreeMap<i64, String> = BTreeMap::new();
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    // Within a save: where the log last became durable (a sync of it, or a synced file
    // renamed onto it), and where the state file last changed.
    let (mut log_durable_at, mut state_changed_at): (Option<usize>, Option<usize>) = (None, None);
    let mut save = 1;
    for (at, call) in calls.iter().enumerate() {
        match call {
            Call::Open { path, fd, create } => {
                open.insert(*fd, path.clone());
                if *create {
                    dirty.insert(parent(path));
                }
            }
            Call::Write { fd } => {
                let Some(path) = open.get(fd) else { continue };
                if path.ends_with("/state") {
                    state_changed_at = Some(at);
                }
                dirty.insert(path.clone());
            }
            Call::Sync { fd } => {
                let Some(path) = open.get(fd) else { continue };
                if path.ends_with("/state.log") && dirty.contains(path) {
                    log_durable_at = Some(at);
                }
                dirty.remove(path);
            }
            Call::Rename { from, to } => {
                if dirty.remove(from) {
                    out.push(format!("save {save}: {from} renamed before its writes were synced"));
                }
                if to.ends_with("/state.log") {
                    log_durable_at = Some(at);
                }
                if to.ends_with("/state") {
                    state_changed_at = Some(at);
                }
                dirty.insert(parent(to));
            }
            Call::Boundary => {
                for path in &dirty {
                    out.push(format!("save {save}: returned with {path} not synced"));
                }
                if log_durable_at.is_some() && state_changed_at < log_durable_at {
                    out.push(format!(
                        "save {save}: the state file's mark was not written after the log records it marks"
                    ));
                }
                dirty.clear();
                (log_durable_at, state_changed_at) = (None, None);
                save += 1;
            }
        }
    }
    out
}

#[test]
fn the_real_write_path_syncs_what_the_simulated_disks_assume() {
    if std::env::var_os(CHILD).is_some() {
        return; // the traced copy is `the_child_saves`
    }
    let dir = std::env::temp_dir().join(format!("ballot-write-path-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.txt");
    let traced = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "the_child_saves", "--test-threads", "1", "--quiet"])
        .env(CHILD, &dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("strace could not run ({e}): install it (apt-get install strace)")
        });
    assert!(traced.status.success(), "{}", String::from_utf8_lossy(&traced.stderr));
    let calls = parse(&std::fs::read_to_string(&trace).unwrap(), dir.to_str().unwrap());
    assert_eq!(calls.iter().filter(|c| **c == Call::Boundary).count(), 5, "five saves: {calls:?}");
    let syncs = calls.iter().filter(|c| matches!(c, Call::Sync { .. })).count();
    assert!(syncs >= 12, "the saves synced files and the directory: {calls:?}");
    assert_eq!(breaches(&calls), Vec::<String>::new(), "{calls:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The saves, traced: runs only in the copy of this binary that the test above starts.
#[test]
fn the_child_saves() {
    if let Some(dir) = std::env::var_os(CHILD) {
        saves(Path::new(&dir));
    }
}

/// The checker on hand-written traces: the protocol passes; a forgotten sync, a rename
/// before the sync, a directory not synced after a rename, and the mark written before the
/// log each fail.
#[test]
fn the_checker_finds_every_breach_of_the_protocol() {
    let dir = "/d";
    let trace = |lines: &[&str]| parse(&lines.join("\n"), dir);
    let good = [
        r#"1 openat(AT_FDCWD, "/d/state.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3"#,
        r#"1 write(3, "BALLOTS3"..., 64) = 64"#,
        r#"1 openat(AT_FDCWD, "/d/state.tmp", O_RDONLY|O_CLOEXEC) = 4"#,
        r#"1 fsync(4) = 0"#,
        r#"1 rename("/d/state.tmp", "/d/state") = 0"#,
        r#"1 openat(AT_FDCWD, "/d", O_RDONLY|O_CLOEXEC) = 5"#,
        r#"1 fsync(5) = 0"#,
        r#"1 openat(AT_FDCWD, "/d/save-boundary", O_RDONLY|O_CLOEXEC) = -1 ENOENT"#,
        r#"1 openat(AT_FDCWD, "/d/state.log", O_WRONLY|O_APPEND|O_CLOEXEC) = 6"#,
        r#"1 write(6, "..."..., 120) = 120"#,
        r#"1 openat(AT_FDCWD, "/d/state.log", O_RDONLY|O_CLOEXEC) = 7"#,
        r#"1 fsync(7) = 0"#,
        r#"1 openat(AT_FDCWD, "/d/state", O_WRONLY|O_CLOEXEC) = 8"#,
        r#"1 pwrite64(8, "BALLOTS3"..., 64, 0) = 64"#,
        r#"1 openat(AT_FDCWD, "/d/state", O_RDONLY|O_CLOEXEC) = 9"#,
        r#"1 fsync(9) = 0"#,
        r#"1 openat(AT_FDCWD, "/d/save-boundary", O_RDONLY|O_CLOEXEC) = -1 ENOENT"#,
    ];
    assert_eq!(breaches(&trace(&good)), Vec::<String>::new());
    let without = |skip: &[usize]| -> Vec<&str> {
        good.iter().enumerate().filter(|(k, _)| !skip.contains(k)).map(|(_, l)| *l).collect()
    };
    let found = |lines: Vec<&str>| breaches(&trace(&lines)).join("; ");
    assert!(found(without(&[3])).contains("/d/state.tmp renamed before its writes were synced"));
    assert!(found(without(&[6])).contains("save 1: returned with /d not synced"));
    assert!(found(without(&[15])).contains("save 2: returned with /d/state not synced"));
    assert!(found(without(&[11])).contains("save 2: returned with /d/state.log not synced"));
    // The mark first: the state file written, then the log appended and synced.
    let mut mark_first = good[..8].to_vec();
    mark_first.extend_from_slice(&good[12..16]);
    mark_first.extend_from_slice(&good[8..12]);
    mark_first.push(good[16]);
    assert!(
        found(mark_first).contains("save 2: the state file's mark was not written after the log")
    );
}
