//! Three real nodes over UDP on 127.0.0.1 in one process, driven through the public API.

mod common;

use ballot_core::NodeId;
use common::{temp_dir, UdpCluster};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_is_elected_and_replaced_after_it_stops() {
    let dir = temp_dir("failover");
    let cluster = UdpCluster::start(3, &dir).await;
    let first = cluster.agreed_leader(&[0, 1, 2], LIMIT).await.expect("a leader");
    let leader_idx = first.0 as usize - 1;
    let token = cluster.handles[leader_idx].leader_token().expect("the leader has a token");
    assert_eq!(token.term, cluster.handles[leader_idx].leadership().term);

    cluster.tasks[leader_idx].abort();
    let rest: Vec<usize> = (0..3).filter(|&i| i != leader_idx).collect();
    let second = cluster.agreed_leader(&rest, LIMIT).await.expect("a new leader");
    assert_ne!(second, first);
    let new_term = cluster.handles[second.0 as usize - 1].leadership().term;
    assert!(new_term > token.term, "the fencing token rises: {new_term:?} > {:?}", token.term);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_commit_and_leadership_moves_on_request() {
    let dir = temp_dir("api");
    let cluster = UdpCluster::start(3, &dir).await;
    let leader = cluster.agreed_leader(&[0, 1, 2], LIMIT).await.expect("a leader");
    let handle = &cluster.handles[leader.0 as usize - 1];
    let follower = cluster.handles.iter().find(|h| h.id() != leader).unwrap();

    let committed = handle.propose(b"hello".to_vec()).await.expect("commits");
    assert_eq!(committed.term, handle.leadership().term);
    let refused = follower.propose(b"nope".to_vec()).await;
    assert_eq!(refused, Err(ballot_node::RequestError::NotLeader { leader: Some(leader) }));

    // Real payloads over real UDP: a 40 KB write and a burst of 1 KB ones commit; a write
    // larger than one datagram carries is refused at once, never taken and then stuck.
    let large = handle.propose(vec![7; 40 * 1024]).await.expect("a 40 KB write commits");
    assert_eq!(large.term, handle.leadership().term);
    let burst: Vec<_> = (0..100u8).map(|i| handle.submit(vec![i; 1024])).collect();
    for reply in burst {
        reply.await.expect("answered").expect("each 1 KB write commits");
    }
    let max = ballot_core::Config::default().max_proposal_bytes();
    let too_large = handle.propose(vec![0; 70 * 1024]).await;
    assert_eq!(too_large, Err(ballot_node::RequestError::TooLarge { bytes: 70 * 1024, max }));

    let target = follower.id();
    let mut watch = follower.watch();
    handle.transfer_leadership(target).await.expect("transfer starts");
    tokio::time::timeout(LIMIT, watch.wait_for(|l| l.leader == Some(target)))
        .await
        .expect("the target leads")
        .unwrap();
    assert_eq!(cluster.agreed_leader(&[0, 1, 2], LIMIT).await, Some(target));

    let new_handle = &cluster.handles[target.0 as usize - 1];
    let mut watch = new_handle.watch();
    new_handle.resign().await.expect("resign starts a transfer");
    tokio::time::timeout(LIMIT, watch.wait_for(|l| l.leader.is_some_and(|l| l != target)))
        .await
        .expect("another node leads")
        .unwrap();
    let next = cluster.agreed_leader(&[0, 1, 2], LIMIT).await.expect("a leader");
    assert_ne!(next, target);
    let unknown = cluster.handles[next.0 as usize - 1].transfer_leadership(NodeId(9)).await;
    assert_eq!(unknown, Err(ballot_node::RequestError::UnknownNode(NodeId(9))));
}
