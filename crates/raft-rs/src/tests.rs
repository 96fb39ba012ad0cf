//! The adapter on a small in-memory network: elections, determinism, persistence, refusals.

use super::*;
use ballot_core::{HardState, PersistedState};
use raft::eraftpb::MessageType;
use std::collections::BTreeMap;

fn options(id: u64, n: u64, seed: u64, persisted: PersistedState) -> RaftOptions {
    RaftOptions {
        id: NodeId(id),
        members: (0..n).map(NodeId).collect(),
        config: Config::default(),
        persisted,
        seed,
        now_ms: 0,
        applied: 0,
    }
}

/// Nodes, their disks and the messages in flight (delivered 1 ms after sending).
struct Net {
    nodes: Vec<RaftRs>,
    disks: Vec<PersistedState>,
    in_flight: Vec<(Millis, Message)>,
    now: Millis,
    /// Every (time, node, role, term) change, in order.
    log: Vec<(Millis, u64, Role, u64)>,
    /// A node whose messages, both ways, are lost.
    isolated: Option<u64>,
    /// The largest datagram any message needed, bytes.
    largest_datagram: usize,
}

impl Net {
    fn new(n: u64, seed: u64) -> Net {
        let nodes = (0..n).map(|i| RaftRs::start(options(i, n, seed + i, Default::default())));
        Net {
            nodes: nodes.map(|r| r.unwrap()).collect(),
            disks: vec![PersistedState::default(); n as usize],
            in_flight: Vec::new(),
            now: 0,
            log: Vec::new(),
            isolated: None,
            largest_datagram: 0,
        }
    }

    fn flush(&mut self, i: usize) {
        while let Some(batch) = self.nodes[i].ready() {
            if let Some(hs) = batch.hard_state {
                self.disks[i].hard_state = hs;
            }
            if let Some(write) = &batch.log_write {
                let disk = &mut self.disks[i].entries;
                disk.truncate(write.first_index as usize - 1);
                disk.extend(write.entries.iter().cloned());
            }
            if let Some(soft) = batch.soft_state {
                self.log.push((self.now, i as u64, soft.role, soft.term.0));
            }
            for msg in batch.messages.into_iter().chain(batch.persisted_messages) {
                let datagram = ballot_node::wire::encode::<RaftRs>(1, &msg).map(|d| d.len());
                self.largest_datagram = self.largest_datagram.max(datagram.unwrap_or(usize::MAX));
                let ends = [envelope(&msg).from.0, envelope(&msg).to.0];
                if !self.isolated.is_some_and(|cut| ends.contains(&cut)) {
                    self.in_flight.push((self.now + 1, msg));
                }
            }
            self.nodes[i].advance();
        }
    }

    /// Runs until `until` ms, delivering every message (bytes and all) 1 ms after it left.
    fn run_to(&mut self, until: Millis) {
        while self.now < until {
            self.now += 1;
            let (due, later) = std::mem::take(&mut self.in_flight)
                .into_iter()
                .partition(|(at, _)| *at <= self.now);
            self.in_flight = later;
            for (_, msg) in due {
                let mut bytes = Vec::new();
                encode(&msg, &mut bytes).unwrap();
                let msg = decode(&bytes).unwrap();
                let to = envelope(&msg).to.0 as usize;
                self.nodes[to].step(msg, self.now).unwrap();
                self.flush(to);
            }
            for i in 0..self.nodes.len() {
                if self.now >= self.nodes[i].next_deadline() {
                    self.nodes[i].tick(self.now);
                }
                self.flush(i);
            }
        }
    }

    fn leaders(&self) -> BTreeMap<u64, Vec<usize>> {
        let mut by_term: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let soft = node.soft_state();
            if soft.role == Role::Leader {
                by_term.entry(soft.term.0).or_default().push(i);
            }
        }
        by_term
    }
}

#[test]
fn three_nodes_elect_one_leader_within_the_timeout_bounds() {
    let mut net = Net::new(3, 1);
    net.run_to(1_000);
    let leaders = net.leaders();
    assert_eq!(leaders.len(), 1, "one leader: {leaders:?}");
    assert_eq!(leaders.values().next().unwrap().len(), 1);
    let first_leader = net.log.iter().find(|e| e.2 == Role::Leader).unwrap();
    // Pre-vote, then the vote: four 1 ms hops after the first timeout (150–300 ms).
    assert!((150..=310).contains(&first_leader.0), "elected at {} ms", first_leader.0);
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let run = |seed| {
        let mut net = Net::new(5, seed);
        net.run_to(2_000);
        net.log
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8), "the seed must reach raft-rs's election timeouts");
}

#[test]
fn election_timeouts_come_from_the_seed_and_stay_in_the_configured_range() {
    let timeouts = |seed| {
        let core = RaftRs::start(options(0, 3, seed, Default::default())).unwrap();
        core.node.raft.randomized_election_timeout()
    };
    let drawn: Vec<usize> = (0..50).map(timeouts).collect();
    assert!(drawn.iter().all(|t| (150..=300).contains(t)), "{drawn:?}");
    assert_eq!(drawn, (0..50).map(timeouts).collect::<Vec<_>>());
    assert!(drawn.iter().collect::<std::collections::BTreeSet<_>>().len() > 10);
}

#[test]
fn votes_are_durable_before_they_leave_and_survive_a_restart() {
    let mut net = Net::new(3, 3);
    net.run_to(1_000);
    let leader = net.leaders().into_values().next().unwrap()[0];
    for (i, disk) in net.disks.iter().enumerate() {
        assert_eq!(disk.hard_state.term, net.nodes[i].soft_state().term, "node {i}");
        assert!(disk.hard_state.voted_for.is_some(), "node {i} voted and persisted it");
        assert!(!disk.entries.is_empty(), "node {i} holds the leader's no-op");
    }
    // A vote answer is never among the messages that may leave before the write.
    let mut core = RaftRs::start(options(1, 3, 9, Default::default())).unwrap();
    let mut ask = Message::default();
    ask.set_msg_type(MessageType::MsgRequestVote);
    (ask.from, ask.to, ask.term) = (1, 2, 1);
    core.step(ask, 0).unwrap();
    let batch = core.ready().unwrap();
    assert_eq!(batch.hard_state, Some(HardState { term: Term(1), voted_for: Some(NodeId(0)) }));
    assert!(batch.messages.is_empty());
    assert_eq!(batch.persisted_messages.len(), 1);
    // Restarted from its disk, a node keeps its term, its vote and its log.
    let disk = net.disks[leader].clone();
    let restarted = RaftRs::start(options(leader as u64, 3, 11, disk.clone())).unwrap();
    assert_eq!(restarted.soft_state().term, disk.hard_state.term);
    assert_eq!(restarted.node.raft.vote, disk.hard_state.voted_for.map_or(0, rs_id));
    assert_eq!(restarted.node.raft.raft_log.last_index(), disk.entries.len() as u64);
}

#[test]
fn messages_no_peer_sends_are_refused_before_raft_rs_sees_them() {
    let mut core = RaftRs::start(options(0, 3, 1, Default::default())).unwrap();
    let msg = |kind: MessageType, from: u64, to: u64, term: u64| {
        let mut m = Message::default();
        m.set_msg_type(kind);
        (m.from, m.to, m.term) = (from, to, term);
        m
    };
    let refused = [
        msg(MessageType::MsgHup, 2, 1, 1),
        msg(MessageType::MsgPropose, 2, 1, 1),
        msg(MessageType::MsgTransferLeader, 2, 1, 1),
        msg(MessageType::MsgHeartbeat, 2, 1, 0),
        msg(MessageType::MsgHeartbeat, 2, 3, 1),
        msg(MessageType::MsgHeartbeat, 0, 1, 1),
    ];
    for m in refused {
        let what = format!("{m:?}");
        assert!(core.step(m, 0).is_err(), "{what} was accepted");
    }
    assert!(core.step(msg(MessageType::MsgHeartbeat, 2, 1, 1), 0).is_ok());
    assert!(decode(&[0xff, 0xff, 0xff]).is_err());
}

#[test]
fn settings_raft_rs_has_no_equivalent_for_are_refused() {
    let mut opts = options(0, 3, 1, Default::default());
    opts.config.adaptive_timeout = true;
    assert!(matches!(RaftRs::start(opts), Err(InitError::Config(ConfigError::Unsupported(_)))));
    let mut core = RaftRs::start(options(0, 3, 1, Default::default())).unwrap();
    let slower = Config { heartbeat_ms: 60, ..Config::default() };
    assert!(matches!(core.set_config(slower), Err(ConfigError::Unsupported(_))));
    let no_pre_vote = Config { pre_vote: false, check_quorum: false, ..Config::default() };
    core.set_config(no_pre_vote).unwrap();
    assert!(!core.node.raft.pre_vote && !core.node.raft.check_quorum);
    assert_eq!(core.node.raft.read_only.option, ReadOnlyOption::Safe);
}

/// A follower a hundred 1 KB entries behind catches up, in messages that each fit one
/// datagram (raft-rs's `max_size_per_msg` set from ballot's byte budget); a proposal larger
/// than one message carries is refused, since raft-rs would send it alone and it could never
/// arrive.
#[test]
fn large_entries_go_in_datagram_sized_batches_and_oversized_proposals_are_refused() {
    let mut net = Net::new(3, 2);
    net.run_to(1_000);
    let leader = net.leaders().into_values().next().unwrap()[0];
    let laggard = (leader + 1) % 3;
    net.isolated = Some(laggard as u64);
    for i in 0..100u8 {
        net.nodes[leader].propose(vec![i; 1024], net.now).unwrap();
        net.flush(leader);
        let until = net.now + 2;
        net.run_to(until);
    }
    net.isolated = None;
    net.run_to(net.now + 1_000);
    let last = |net: &Net, i: usize| net.nodes[i].node.raft.raft_log.last_index();
    assert_eq!(last(&net, laggard), last(&net, leader), "the laggard caught up");
    assert!(net.largest_datagram <= ballot_node::wire::MAX_DATAGRAM, "{}", net.largest_datagram);
    assert!(net.largest_datagram > 20 * 1024, "batches of many entries: {}", net.largest_datagram);
    let max = Config::default().max_proposal_bytes();
    let err = net.nodes[leader].propose(vec![0; max + 1], net.now).unwrap_err();
    assert_eq!(err, ProposeError::TooLarge { bytes: max + 1, max });
    assert_eq!(net.nodes[leader].propose(vec![0; max], net.now).map(|_| ()), Ok(()));
}

#[test]
fn a_leader_holds_a_lease_until_its_next_check_quorum_round() {
    let mut net = Net::new(3, 5);
    net.run_to(1_000);
    let leader = net.leaders().into_values().next().unwrap()[0];
    let until = net.nodes[leader].lease_expires_at().expect("leader with check-quorum");
    assert!(until > net.now && until <= net.now + 150, "lease until {until} at {}", net.now);
    let follower = (leader + 1) % 3;
    assert_eq!(net.nodes[follower].lease_expires_at(), None);
}
