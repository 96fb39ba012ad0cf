//! Garbage on the wire, a failing disk and a corrupt state file: clear errors, counted drops,
//! never a panic, and never a vote that was not persisted.

mod common;

use ballot_core::{Body, Config, Message, NodeId, Raft, Term};
use ballot_node::{
    wire, FileStorage, FileSystem, NoObserver, Node, NodeConfig, NodeError, StdFileSystem,
    StorageError, TokioClock,
};
use common::{temp_dir, UdpCluster};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_datagrams_are_counted_and_dropped_and_the_cluster_goes_on() {
    let dir = temp_dir("garbage");
    let cluster = UdpCluster::start(3, &dir).await;
    let target = cluster.members[&NodeId(1)];
    let attacker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for i in 0..300 {
        if i % 50 == 0 {
            // Let the node drain its socket: the kernel drops what overflows the buffer.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let len = rng.random_range(0..200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        attacker.send_to(&bytes, target).await.unwrap();
    }
    let vote = Message {
        from: NodeId(2),
        to: NodeId(1),
        term: Term(99),
        body: Body::RequestVote {
            pre_vote: false,
            transfer: false,
            last_log_index: 99,
            last_log_term: Term(99),
        },
    };
    let foreign = wire::encode::<Raft>(8, &vote).unwrap();
    attacker.send_to(&foreign, target).await.unwrap();
    let spoofed = wire::encode::<Raft>(7, &vote).unwrap();
    attacker.send_to(&spoofed, target).await.unwrap();
    let mut header_only = wire::encode::<Raft>(7, &vote).unwrap();
    header_only.truncate(14);
    attacker.send_to(&header_only, target).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let leader = cluster.agreed_leader(&[0, 1, 2], Duration::from_secs(10)).await;
    assert!(leader.is_some(), "the cluster still elects a leader");
    let stats = cluster.handles[0].stats();
    let dropped: u64 = stats.dropped.values().sum();
    assert!(dropped >= 303, "{stats:?}");
    for reason in ["bad_magic", "foreign_cluster", "wrong_source", "malformed"] {
        assert!(stats.dropped.contains_key(reason), "no {reason} drop in {stats:?}");
    }
    assert!(cluster.handles[0].leadership().term < Term(99), "the spoofed vote changed nothing");
}

/// A file system whose writes always fail.
struct BrokenDisk;

impl FileSystem for BrokenDisk {
    fn read(&self, _: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(None)
    }
    async fn write(&self, _: &Path, _: Vec<u8>) -> io::Result<()> {
        Err(io::Error::other("disk on fire"))
    }
    async fn append(&self, _: &Path, _: &[u8]) -> io::Result<()> {
        Err(io::Error::other("disk on fire"))
    }
    async fn overwrite(&self, _: &Path, _: &[u8]) -> io::Result<()> {
        Err(io::Error::other("disk on fire"))
    }
    async fn sync_file(&self, _: &Path) -> io::Result<()> {
        Err(io::Error::other("disk on fire"))
    }
    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        Err(io::Error::other("disk on fire"))
    }
    async fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Err(io::Error::other("disk on fire"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_disk_fails_stops_and_never_announces_the_vote() {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let node_addr = socket.local_addr().unwrap();
    let members: BTreeMap<_, _> = [
        (NodeId(1), node_addr),
        (NodeId(2), peer.local_addr().unwrap()),
        (NodeId(3), "127.0.0.1:9".parse().unwrap()),
    ]
    .into_iter()
    .collect();
    let config =
        NodeConfig { id: NodeId(1), cluster_id: 7, members, core: Config::default(), seed: 1 };
    let storage = FileStorage::new(BrokenDisk, "/nowhere/state");
    let (node, handle) =
        Node::new(config, socket, storage, Arc::new(TokioClock::new()), Arc::new(NoObserver))
            .unwrap();
    let task = tokio::spawn(node.run());

    tokio::time::sleep(Duration::from_millis(200)).await; // past the start-up lease
    let vote = Message {
        from: NodeId(2),
        to: NodeId(1),
        term: Term(5),
        body: Body::RequestVote {
            pre_vote: false,
            transfer: false,
            last_log_index: 0,
            last_log_term: Term(0),
        },
    };
    peer.send_to(&wire::encode::<Raft>(7, &vote).unwrap(), node_addr).await.unwrap();

    let result = tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    let Err(NodeError::Storage(StorageError::Io { source, .. })) = result else {
        panic!("expected a storage error, got {result:?}");
    };
    assert_eq!(source.to_string(), "disk on fire");
    assert!(handle.leadership().stopped);

    let mut buf = vec![0; 70_000];
    while let Ok(Ok((len, _))) =
        tokio::time::timeout(Duration::from_millis(300), peer.recv_from(&mut buf)).await
    {
        let msg = wire::decode::<Raft>(7, &buf[..len]).unwrap();
        let announces_state = match msg.body {
            Body::RequestVote { pre_vote, .. } => !pre_vote,
            Body::RequestVoteResponse { pre_vote, .. } => !pre_vote,
            _ => true,
        };
        assert!(!announces_state, "{msg:?} left a node whose disk failed");
    }
}

#[test]
fn a_corrupt_state_file_is_refused_at_start_up() {
    let dir = temp_dir("corrupt-start");
    let path = dir.join("state");
    std::fs::write(&path, b"BALLOTS1 this is not a state file").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let members = [(NodeId(1), socket.local_addr().unwrap())].into_iter().collect();
        let config =
            NodeConfig { id: NodeId(1), cluster_id: 7, members, core: Config::default(), seed: 1 };
        let storage = FileStorage::new(StdFileSystem, &path);
        let result =
            Node::new(config, socket, storage, Arc::new(TokioClock::new()), Arc::new(NoObserver));
        let Err(NodeError::Storage(err @ StorageError::Corrupt { .. })) = result else {
            panic!("a corrupt file must be refused");
        };
        assert!(err.to_string().contains("refusing to start"), "{err}");
    });
}

/// A byte budget per AppendEntries that one datagram could not carry is refused at start-up
/// and on a live node, never run with batches that could not be sent.
#[test]
fn a_batch_budget_larger_than_a_datagram_is_refused() {
    let dir = temp_dir("budget");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let too_large = Config { max_bytes_per_message: wire::MAX_ENTRY_BYTES + 1, ..Config::default() };
        let start = |core: Config| async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let members = [(NodeId(1), socket.local_addr().unwrap())].into_iter().collect();
            let config = NodeConfig { id: NodeId(1), cluster_id: 7, members, core, seed: 1 };
            let storage = FileStorage::new(StdFileSystem, dir.join("state"));
            Node::new(config, socket, storage, Arc::new(TokioClock::new()), Arc::new(NoObserver))
        };
        let Err(NodeError::Init(err)) = start(too_large.clone()).await else {
            panic!("a budget over the datagram must be refused");
        };
        assert!(err.to_string().contains("max_bytes_per_message"), "{err}");
        let (node, handle) = start(Config::default()).await.expect("the default budget fits");
        let task = tokio::spawn(node.run());
        let refused = handle.reconfigure(too_large).await.unwrap();
        assert!(matches!(refused, Err(ballot_node::RequestError::InvalidConfig(e)) if e.contains("datagram")));
        handle.shutdown();
        task.await.unwrap().unwrap();
    });
}
