//! Three ballot nodes over real UDP on 127.0.0.1, in one process: elect a leader, stop it,
//! watch another take over. Logs go to stderr; the state files live in a temporary directory
//! that is removed, once every node has stopped, whatever happened.
//!
//! ```sh
//! cargo run -p ballot-node --example udp_cluster
//! ```

use ballot_core::{Config, NodeId};
use ballot_node::{
    FileStorage, NoObserver, Node, NodeConfig, NodeHandle, StdFileSystem, TokioClock,
};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

type Running = Vec<(JoinHandle<Result<(), ballot_node::NodeError>>, NodeHandle)>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("ballot_node=info")
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let dir = std::env::temp_dir().join(format!("ballot-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut nodes = Running::new();
    let outcome = example(&dir, &mut nodes).await;
    for (task, handle) in nodes {
        handle.shutdown();
        task.abort();
        let _ = task.await;
    }
    std::fs::remove_dir_all(&dir)?;
    outcome
}

async fn example(dir: &Path, nodes: &mut Running) -> Result<(), Box<dyn std::error::Error>> {
    let mut sockets = Vec::new();
    let mut members = BTreeMap::new();
    for id in 1..=3 {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        members.insert(NodeId(id), socket.local_addr()?);
        sockets.push(socket);
    }
    for (socket, id) in sockets.into_iter().zip(1..) {
        let config = NodeConfig {
            id: NodeId(id),
            cluster_id: 1,
            members: members.clone(),
            core: Config::default(),
            seed: id,
        };
        let storage = FileStorage::new(StdFileSystem, dir.join(format!("node-{id}.state")));
        let clock = Arc::new(TokioClock::new());
        let (node, handle) = Node::new(config, socket, storage, clock, Arc::new(NoObserver))?;
        nodes.push((tokio::spawn(node.run()), handle));
    }

    let (leader, term) = nodes[0].1.wait_for_leader().await?;
    println!("leader: node {} in term {}", leader.0, term.0);
    let committed = nodes[leader.0 as usize - 1].1.propose(b"hello".to_vec()).await?;
    println!("committed entry {} in term {}", committed.index, committed.term.0);

    println!("stopping node {}", leader.0);
    nodes[leader.0 as usize - 1].0.abort();
    let survivor = &nodes.iter().find(|(_, h)| h.id() != leader).expect("two survivors").1;
    let mut watch = survivor.watch();
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        watch.wait_for(|l| l.leader.is_some_and(|l| l != leader)),
    )
    .await??;
    println!("new leader: node {} in term {}", next.leader.expect("set").0, next.term.0);
    Ok(())
}
