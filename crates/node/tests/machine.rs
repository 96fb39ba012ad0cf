//! The node's contract without IO ([`NodeMachine`]): a vote leaves only after the write that
//! records it, garbage and wrong senders are dropped and counted, and what the node reports
//! comes in the order it happened.

use ballot_core::{Body, Config, HardState, Message, NodeId, PersistedState, Raft, Role, Term};
use ballot_node::{wire, NodeConfig, NodeEvent, NodeMachine, Observer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const CLUSTER: u64 = 7;

#[derive(Default)]
struct Events(Mutex<Vec<NodeEvent>>);

impl Observer for Events {
    fn event(&self, _: NodeId, event: &NodeEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

fn addr(i: u64) -> SocketAddr {
    format!("10.0.0.{i}:7000").parse().unwrap()
}

fn machine(events: Arc<Events>) -> NodeMachine<Raft> {
    let members: BTreeMap<NodeId, SocketAddr> = (1..=3).map(|i| (NodeId(i), addr(i))).collect();
    let config = NodeConfig {
        id: NodeId(1),
        cluster_id: CLUSTER,
        members,
        core: Config::default(),
        seed: 1,
    };
    NodeMachine::start(config, PersistedState::default(), 0, events).unwrap()
}

fn vote_request(from: u64, term: u64) -> Vec<u8> {
    let msg = Message {
        from: NodeId(from),
        to: NodeId(1),
        term: Term(term),
        body: Body::RequestVote {
            last_log_index: 0,
            last_log_term: Term(0),
            pre_vote: false,
            transfer: false,
        },
    };
    wire::encode::<Raft>(CLUSTER, &msg).unwrap()
}

#[test]
fn a_vote_leaves_only_after_the_write_that_records_it() {
    let events = Arc::new(Events::default());
    let mut m = machine(events.clone());
    while let Some(flush) = m.next_flush() {
        m.finish(flush);
    }
    assert!(!m.receive(&vote_request(2, 5), addr(2), 1_000), "a vote request ends the turn");
    let flush = m.next_flush().expect("the vote makes a batch");
    assert!(flush.first.is_empty(), "nothing may leave before the vote is durable");
    let write = flush.write.clone().expect("term and vote to write");
    assert_eq!(write.hard_state, Some(HardState { term: Term(5), voted_for: Some(NodeId(2)) }));
    m.persisted(&write, 0);
    let finished = m.finish(flush);
    assert_eq!(finished.after.len(), 1);
    assert_eq!(finished.after[0].to, addr(2));
    let answer = wire::decode::<Raft>(CLUSTER, &finished.after[0].bytes).unwrap();
    assert!(matches!(answer.body, Body::RequestVoteResponse { granted: true, .. }));
    assert!(m.next_flush().is_none());
    m.publish();
    assert_eq!((m.watch().borrow().role, m.watch().borrow().term), (Role::Follower, Term(5)));

    let seen = events.0.lock().unwrap().clone();
    let persisted = seen.iter().position(|e| matches!(e, NodeEvent::Persisted { .. })).unwrap();
    let voted =
        seen.iter().position(|e| matches!(e, NodeEvent::Vote { granted: true, .. })).unwrap();
    let sent =
        seen.iter().rposition(|e| matches!(e, NodeEvent::Sent { to: NodeId(2), .. })).unwrap();
    assert!(persisted < voted && voted < sent, "{seen:?}");
}

#[test]
fn garbage_and_wrong_senders_are_dropped_and_counted() {
    let events = Arc::new(Events::default());
    let mut m = machine(events.clone());
    assert!(m.receive(b"not a datagram", addr(2), 10));
    assert!(m.receive(&vote_request(2, 5), addr(3), 10), "node 2's message from node 3's address");
    assert!(m.receive(&vote_request(2, 5), addr(9), 10), "from outside the cluster");
    let stats = m.stats();
    let stats = stats.lock().unwrap();
    assert_eq!(stats.received, 0);
    assert_eq!(stats.dropped.values().sum::<u64>(), 3, "{:?}", stats.dropped);
    assert_eq!(stats.dropped.get("wrong_source"), Some(&2));
    assert_eq!(m.core().soft_state().term, Term(0), "nothing reached the core");
}

/// Waking more than a heartbeat (50 ms) after a deadline is a stall, reported with how late;
/// a heartbeat or less is not.
#[test]
fn waking_more_than_a_heartbeat_late_is_a_stall() {
    let events = Arc::new(Events::default());
    let m = machine(events.clone());
    events.0.lock().unwrap().clear();
    m.woke(1_000, 990);
    m.woke(1_000, 1_050);
    assert_eq!(*events.0.lock().unwrap(), []);
    m.woke(1_000, 3_020);
    assert_eq!(*events.0.lock().unwrap(), [NodeEvent::Stalled { late_ms: 2_020 }]);
}
