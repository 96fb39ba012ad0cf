//! Histories written by real nodes (`ballot_node::HistoryWriter`) on loopback UDP, read back
//! by `ballot check` and `ballot diagnose`: a leader killed and restarted.

use ballot_core::{Config, NodeId};
use ballot_node::{
    FileStorage, HistoryWriter, Node, NodeConfig, NodeHandle, StdFileSystem, TokioClock,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-real-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts node `id` of the cluster on `socket`, writing its state and history under `dir`.
fn start(
    id: u64,
    socket: UdpSocket,
    members: &BTreeMap<NodeId, SocketAddr>,
    dir: &Path,
) -> (NodeHandle, JoinHandle<()>) {
    let config = NodeConfig {
        id: NodeId(id),
        cluster_id: 7,
        members: members.clone(),
        core: Config::default(),
        seed: id,
    };
    let clock = Arc::new(TokioClock::new());
    let history = HistoryWriter::create(
        &dir.join(format!("node-{id}.jsonl")),
        &config,
        clock.clone(),
        1 << 20,
    )
    .expect("history file");
    let storage = FileStorage::new(StdFileSystem, dir.join(format!("node-{id}.state")));
    let (node, handle) =
        Node::new(config, socket, storage, clock, Arc::new(history)).expect("node starts");
    let task = tokio::spawn(async move {
        let _ = node.run().await;
    });
    (handle, task)
}

/// The leader all of `handles` agree on (other than `not`), within five seconds.
async fn agreed_leader(handles: &[&NodeHandle], not: Option<NodeId>) -> NodeId {
    for _ in 0..500 {
        let views: Vec<_> = handles.iter().map(|h| h.leadership()).collect();
        if let Some(leader) = views[0].leader.filter(|l| Some(*l) != not) {
            if views.iter().all(|v| v.leader == Some(leader) && v.term == views[0].term) {
                return leader;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no agreed leader in 5 s");
}

fn ballot(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ballot")).args(args).output().expect("ballot runs")
}

#[test]
fn a_killed_and_restarted_leader_checks_and_diagnoses_from_the_nodes_own_files() {
    let dir = scratch("kill");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut members = BTreeMap::new();
        let mut sockets = Vec::new();
        for id in 1..=3 {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            members.insert(NodeId(id), socket.local_addr().unwrap());
            sockets.push(socket);
        }
        let mut nodes: Vec<_> =
            sockets.into_iter().zip(1..).map(|(s, id)| start(id, s, &members, &dir)).collect();
        let leader = agreed_leader(&nodes.iter().map(|n| &n.0).collect::<Vec<_>>(), None).await;
        let l = leader.0 as usize - 1;
        nodes[l].0.propose(b"before the kill".to_vec()).await.expect("committed");
        nodes[l].1.abort(); // killed: no goodbye
        let _ = (&mut nodes[l].1).await;
        let others: Vec<&NodeHandle> =
            nodes.iter().enumerate().filter(|(i, _)| *i != l).map(|(_, n)| &n.0).collect();
        let next = agreed_leader(&others, Some(leader)).await;
        assert_ne!(next, leader);
        let socket = UdpSocket::bind(members[&leader]).await.unwrap();
        nodes[l] = start(leader.0, socket, &members, &dir);
        agreed_leader(&nodes.iter().map(|n| &n.0).collect::<Vec<_>>(), None).await;
        for (handle, task) in nodes {
            handle.shutdown();
            let _ = task.await;
        }
    });
    let files: Vec<String> =
        (1..=3).map(|id| dir.join(format!("node-{id}.jsonl")).display().to_string()).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = ballot(&[&["check", "--json"], &files[..]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr} {}", String::from_utf8_lossy(&out.stdout));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for judged in
        ["election-safety", "vote-once", "vote-durable", "term-monotonic", "leader-completeness"]
    {
        assert!(summary["checked"][judged].as_f64().unwrap() > 0.0, "{judged}: {summary}");
    }
    for unsupported in ["liveness", "stability", "lease-safety"] {
        assert_eq!(summary["checked"][unsupported], 0.0, "{summary}");
        assert!(summary["unsupported"][unsupported].is_string(), "{summary}");
    }
    assert!(summary["leaders"].as_array().unwrap().len() >= 2, "a leader before and after");
    assert!(stderr.contains("cluster 7: files of nodes [0, 1, 2] of 3"), "{stderr}");

    let out = ballot(&[&["diagnose", "--json"], &files[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings["findings"].is_array(), "{findings}");

    // A file of another cluster mixed in is refused.
    let text = std::fs::read_to_string(files[0]).unwrap();
    let foreign = dir.join("foreign.jsonl");
    std::fs::write(&foreign, text.replacen("\"cluster_id\":7", "\"cluster_id\":8", 1)).unwrap();
    let out = ballot(&["check", files[1], foreign.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a history of cluster 8"));
    // A last line cut off mid-write is what a killed node leaves: the history is read as
    // incomplete (an event lost), not refused.
    let torn = dir.join("torn.jsonl");
    std::fs::write(&torn, &text[..text.len() - 10]).unwrap();
    let out = ballot(&["check", files[1], files[2], torn.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("incomplete: the nodes dropped 1 events"), "{stdout}");
    // A file cut off inside its meta line, or with two events swapped, is refused, naming the
    // file and the line.
    let truncated = dir.join("truncated.jsonl");
    std::fs::write(&truncated, &text[..40]).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let last = lines.len() - 1;
    lines.swap(2, last);
    let swapped = dir.join("swapped.jsonl");
    std::fs::write(&swapped, lines.join("\n")).unwrap();
    for (bad, says) in [(&truncated, "truncated.jsonl: line 1"), (&swapped, "out of order")] {
        let out = ballot(&["check", files[1], files[2], bad.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says) && stderr.lines().count() == 1, "{stderr}");
    }
}

/// `ballot node` processes, killed on drop whatever happens to the test.
struct Processes(Vec<Option<std::process::Child>>);

impl Processes {
    /// SIGTERM for every node, each of which must exit 0; returns their history files (the
    /// nodes' directories are `dir/n<index>`).
    fn stop(&mut self, dir: &Path) -> Vec<String> {
        for child in self.0.iter_mut().flatten() {
            // SAFETY: kill(2) on a child this test started and has not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for child in self.0.iter_mut() {
            let status = child.take().unwrap().wait().unwrap();
            assert!(status.success(), "a SIGTERM'd node exits 0: {status:?}");
        }
        let files = (0..self.0.len()).map(|i| dir.join(format!("n{i}/history.jsonl")));
        files.map(|f| f.display().to_string()).collect()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `ballot node --id id` with `members`, its lines sent to `lines` as (id, line).
fn spawn_node(
    id: usize,
    members: &[String],
    dir: &Path,
    config: Option<&Path>,
    lines: std::sync::mpsc::Sender<(usize, String)>,
) -> std::process::Child {
    use std::io::BufRead;
    let mut args = vec!["node".to_string(), "--id".into(), id.to_string(), "--dir".into()];
    args.push(dir.join(format!("n{id}")).display().to_string());
    if let Some(config) = config {
        args.extend(["--config".to_string(), config.display().to_string()]);
    }
    for m in members {
        args.extend(["--member".to_string(), m.clone()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ballot node starts");
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send((id, line));
        }
    });
    child
}

/// Waits (at most 10 s) until every node in `ids` last said the same leader, other than
/// `not`; returns it.
fn await_leader(
    lines: &std::sync::mpsc::Receiver<(usize, String)>,
    said: &mut BTreeMap<usize, String>,
    ids: &[usize],
    not: Option<&str>,
) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let leaders: Vec<Option<&String>> = ids.iter().map(|i| said.get(i)).collect();
        if let Some(Some(first)) = leaders.first() {
            if leaders.iter().all(|l| *l == Some(*first)) && Some(first.as_str()) != not {
                return first.to_string();
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let (id, line) = lines.recv_timeout(left).expect("the nodes agree on a leader in 10 s");
        if let Some((_, leader)) = line.split_once(": leader node ") {
            said.insert(id, leader.to_string());
        } else if line.contains(": no leader") {
            said.remove(&id);
        }
    }
}

/// Three `ballot node`s on loopback (with `config`, if given), the leader killed (SIGKILL)
/// and restarted, SIGTERM for all (each must exit 0); returns their history files and the
/// killed leader.
fn kill_the_leader_of_three_processes(name: &str, config: Option<&str>) -> (Vec<String>, usize) {
    let dir = scratch(name);
    let config = config.map(|text| {
        let path = dir.join("config.json");
        std::fs::write(&path, text).unwrap();
        path
    });
    let config = config.as_deref();
    let ports: Vec<u16> = (0..3)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port())
        .collect();
    let members: Vec<String> =
        ports.iter().enumerate().map(|(i, p)| format!("{i}=127.0.0.1:{p}")).collect();
    let (tx, lines) = std::sync::mpsc::channel();
    let mut nodes = Processes(
        (0..3).map(|i| Some(spawn_node(i, &members, &dir, config, tx.clone()))).collect(),
    );
    let mut said = BTreeMap::new();
    let leader = await_leader(&lines, &mut said, &[0, 1, 2], None);
    let l: usize = leader.parse().unwrap();
    let mut killed = nodes.0[l].take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    said.remove(&l);
    let others: Vec<usize> = (0..3).filter(|&i| i != l).collect();
    await_leader(&lines, &mut said, &others, Some(&leader));
    nodes.0[l] = Some(spawn_node(l, &members, &dir, config, tx.clone()));
    await_leader(&lines, &mut said, &[0, 1, 2], None);
    (nodes.stop(&dir), l)
}

/// docs/diagnose.md's walk-through, as processes: the leader killed and restarted, then `ballot
/// check` and `ballot diagnose` on the three history files: a clean verdict and the failover
/// with its numbers.
#[test]
fn three_node_processes_a_killed_leader_and_the_failover_explained() {
    let (files, l) = kill_the_leader_of_three_processes("processes", None);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let dir = Path::new(files[0]).parent().unwrap().parent().unwrap().to_path_buf();
    let timeline = dir.join("timeline.html");
    let timeline = timeline.to_str().unwrap();
    let out = ballot(&[&["check", "--timeline", timeline], &files[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let page = std::fs::read_to_string(timeline).expect("a timeline of the real history");
    assert!(page.contains("<html") && page.contains("ballot check"), "{}", &page[..200]);
    let out = ballot(&[&["diagnose", "--json"], &files[..]].concat());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failover = &json["failovers"][0];
    assert_eq!(failover["leader"].as_u64(), Some(l as u64), "{json}");
    assert!(failover["took_ms"].as_f64().unwrap() > 0.0, "{json}");
    assert!(failover["allowed_ms"].as_f64().unwrap() > 0.0, "{json}");
}

/// The split-vote scenario on processes: timeouts 1 ms apart and no pre-vote, so that the
/// survivors of a killed leader split votes until the core's backoff separates them; the
/// histories check clean.
#[test]
fn three_node_processes_with_timeouts_one_millisecond_apart_elect_and_check_clean() {
    let config =
        r#"{"election_timeout_min_ms": 150, "election_timeout_max_ms": 151, "pre_vote": false}"#;
    let (files, _) = kill_the_leader_of_three_processes("split", Some(config));
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = ballot(&[&["check", "--json"], &files[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["checked"]["election-safety"].as_f64().unwrap() > 0.0, "{summary}");
}

/// The partition-heal scenario on processes: three `ballot node`s talking through the
/// harness's UDP proxy, the leader isolated until the others elect, then healed; every node
/// agrees again and the three histories check clean.
#[test]
fn three_node_processes_behind_a_proxy_survive_an_isolated_leader_and_check_clean() {
    use ballot_harness::world::proxy::Proxy;
    let dir = scratch("partition");
    let real: Vec<SocketAddr> = (0..3)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap())
        .collect();
    let proxy = Proxy::start(3, 1, None).unwrap();
    for (k, addr) in real.iter().enumerate() {
        proxy.set_address(k, *addr);
    }
    // Each node binds its real address and reaches the others through the proxy.
    let members = |me: usize| -> Vec<String> {
        (0..3).map(|k| format!("{k}={}", if k == me { real[k] } else { proxy.addrs[k] })).collect()
    };
    let (tx, lines) = std::sync::mpsc::channel();
    let mut nodes = Processes(
        (0..3).map(|i| Some(spawn_node(i, &members(i), &dir, None, tx.clone()))).collect(),
    );
    let mut said = BTreeMap::new();
    let leader = await_leader(&lines, &mut said, &[0, 1, 2], None);
    let l: usize = leader.parse().unwrap();
    proxy.isolate(l);
    let others: Vec<usize> = (0..3).filter(|&i| i != l).collect();
    await_leader(&lines, &mut said, &others, Some(&leader));
    proxy.heal();
    await_leader(&lines, &mut said, &[0, 1, 2], None);
    let files = nodes.stop(&dir);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = ballot(&[&["check", "--json"], &files[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["leaders"].as_array().unwrap().len() >= 2, "{summary}");
}
