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
    let history = HistoryWriter::create(&dir.join(format!("node-{id}.jsonl")), &config, 1 << 20)
        .expect("history file");
    let storage = FileStorage::new(StdFileSystem, dir.join(format!("node-{id}.state")));
    let (node, handle) =
        Node::new(config, socket, storage, Arc::new(TokioClock::new()), Arc::new(history))
            .expect("node starts");
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
}
