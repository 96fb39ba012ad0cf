//! Helpers for the node's tests: clusters of real nodes on 127.0.0.1.

#![allow(dead_code)]

use ballot_core::{Config, NodeId, Role};
use ballot_node::{
    FileStorage, NoObserver, Node, NodeConfig, NodeError, NodeHandle, StdFileSystem, TokioClock,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// A fresh directory for one test's state files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Real nodes on loopback UDP, each in its own task.
pub struct UdpCluster {
    pub members: BTreeMap<NodeId, std::net::SocketAddr>,
    pub handles: Vec<NodeHandle>,
    pub tasks: Vec<JoinHandle<Result<(), NodeError>>>,
}

impl UdpCluster {
    pub async fn start(n: u64, dir: &std::path::Path) -> UdpCluster {
        let mut sockets = Vec::new();
        let mut members = BTreeMap::new();
        for id in 1..=n {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            members.insert(NodeId(id), socket.local_addr().unwrap());
            sockets.push(socket);
        }
        let mut cluster =
            UdpCluster { members: members.clone(), handles: Vec::new(), tasks: Vec::new() };
        for (socket, id) in sockets.into_iter().zip(1..) {
            let config = NodeConfig {
                id: NodeId(id),
                cluster_id: 7,
                members: members.clone(),
                core: Config::default(),
                seed: id,
            };
            let storage = FileStorage::new(StdFileSystem, dir.join(format!("node-{id}.state")));
            let (node, handle) = Node::new(
                config,
                socket,
                storage,
                Arc::new(TokioClock::new()),
                Arc::new(NoObserver),
            )
            .unwrap();
            cluster.tasks.push(tokio::spawn(node.run()));
            cluster.handles.push(handle);
        }
        cluster
    }

    /// The node every running node agrees leads, once they all agree (within `limit`).
    pub async fn agreed_leader(&self, running: &[usize], limit: Duration) -> Option<NodeId> {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            let views: Vec<_> = running.iter().map(|&i| self.handles[i].leadership()).collect();
            let leader = views[0].leader;
            let leaders = views.iter().filter(|v| v.role == Role::Leader).count();
            if leader.is_some()
                && leaders == 1
                && views.iter().all(|v| v.leader == leader && v.term == views[0].term)
            {
                return leader;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}
