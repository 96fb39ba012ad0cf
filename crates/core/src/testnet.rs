//! A deterministic in-memory network for the core's tests: seeded delivery delays, drops and duplicates,
//! isolation, crashes and restarts from what each node persisted. Every millisecond it
//! delivers due messages (some twice), ticks every node and drains every Ready; it checks election
//! safety, vote durability and leader completeness as it goes.

use crate::{Body, Config, Entry, Message, NodeId, PersistedState, Raft, Role, Term};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct TestNet {
    pub(crate) nodes: Vec<Option<Raft>>,
    pub(crate) disks: Vec<PersistedState>,
    pub(crate) config: Config,
    pub(crate) now: u64,
    /// Probability that a message is lost.
    pub(crate) drop_rate: f64,
    /// Probability that a delivered message is delivered a second time, later.
    pub(crate) duplicate_rate: f64,
    /// Highest one-way delay, milliseconds (each message takes 1..=this).
    pub(crate) max_latency_ms: u64,
    /// Every node seen leading each term.
    pub(crate) leaders_by_term: BTreeMap<Term, BTreeSet<NodeId>>,
    /// Entries some node reported committed: (index, term).
    pub(crate) committed: BTreeSet<(u64, Term)>,
    /// Messages sent so far.
    pub(crate) sent: u64,
    /// Times any node became candidate.
    pub(crate) elections: u64,
    members: Vec<NodeId>,
    seed: u64,
    incarnations: u64,
    rng: StdRng,
    in_flight: BTreeMap<(u64, u64), Message>,
    next_seq: u64,
    isolated: BTreeSet<NodeId>,
}

impl TestNet {
    pub(crate) fn new(n: usize, config: Config, seed: u64) -> TestNet {
        let members: Vec<NodeId> = (0..n as u64).map(NodeId).collect();
        let mut net = TestNet {
            nodes: Vec::new(),
            disks: vec![PersistedState::default(); n],
            config,
            now: 0,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            max_latency_ms: 5,
            leaders_by_term: BTreeMap::new(),
            committed: BTreeSet::new(),
            sent: 0,
            elections: 0,
            members,
            seed,
            incarnations: 0,
            rng: StdRng::seed_from_u64(seed),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            isolated: BTreeSet::new(),
        };
        net.nodes = (0..n).map(|i| Some(net.boot(i))).collect();
        net
    }

    fn boot(&mut self, i: usize) -> Raft {
        self.incarnations += 1;
        let seed = self.seed.wrapping_mul(1_000_003).wrapping_add(self.incarnations);
        let disk = self.disks[i].clone();
        Raft::new(crate::RaftOptions {
            id: NodeId(i as u64),
            members: self.members.clone(),
            config: self.config.clone(),
            persisted: disk,
            seed,
            now_ms: self.now,
        })
        .expect("valid node")
    }

    pub(crate) fn node(&self, id: u64) -> &Raft {
        self.nodes[id as usize].as_ref().expect("node is up")
    }

    pub(crate) fn node_mut(&mut self, id: u64) -> &mut Raft {
        self.nodes[id as usize].as_mut().expect("node is up")
    }

    pub(crate) fn run_for(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step_ms();
        }
    }

    /// Runs until `done` holds, for at most `max_ms`; returns how long it took.
    pub(crate) fn run_until(
        &mut self,
        max_ms: u64,
        done: impl Fn(&TestNet) -> bool,
    ) -> Option<u64> {
        let start = self.now;
        while self.now - start < max_ms {
            if done(self) {
                return Some(self.now - start);
            }
            self.step_ms();
        }
        done(self).then(|| self.now - start)
    }

    /// Runs until one leader is followed by every connected node (at most `max_ms`); returns it.
    pub(crate) fn wait_for_leader(&mut self, max_ms: u64) -> u64 {
        self.run_until(max_ms, |net| net.stable_leader().is_some())
            .unwrap_or_else(|| panic!("seed {}: no stable leader within {max_ms} ms", self.seed));
        self.stable_leader().expect("just found")
    }

    /// Live nodes that are leader right now.
    pub(crate) fn leaders(&self) -> Vec<u64> {
        self.live().filter(|r| r.role() == Role::Leader).map(|r| r.id().0).collect()
    }

    /// The single live leader that every other live, connected node follows, if there is one.
    pub(crate) fn stable_leader(&self) -> Option<u64> {
        let leaders = self.leaders();
        let [leader] = leaders[..] else { return None };
        let term = self.node(leader).term();
        let connected = |r: &&Raft| !self.isolated.contains(&r.id());
        self.live()
            .filter(connected)
            .all(|r| r.leader() == Some(NodeId(leader)) && r.term() == term)
            .then_some(leader)
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = &Raft> {
        self.nodes.iter().flatten()
    }

    pub(crate) fn max_term(&self) -> Term {
        self.live().map(|r| r.term()).max().unwrap_or_default()
    }

    pub(crate) fn isolate(&mut self, id: u64) {
        self.isolated.insert(NodeId(id));
    }

    pub(crate) fn heal(&mut self) {
        self.isolated.clear();
    }

    /// Stops a node; what it persisted survives, messages to it are lost.
    pub(crate) fn crash(&mut self, id: u64) {
        self.nodes[id as usize] = None;
    }

    /// Starts a crashed node again from its disk.
    pub(crate) fn restart(&mut self, id: u64) {
        if self.nodes[id as usize].is_none() {
            self.nodes[id as usize] = Some(self.boot(id as usize));
        }
    }

    pub(crate) fn propose(&mut self, id: u64, data: &[u8]) -> bool {
        let now = self.now;
        let ok = self.node_mut(id).propose(data.to_vec(), now).is_ok();
        self.drain(id as usize);
        ok
    }

    /// Panics if any term had two leaders.
    pub(crate) fn assert_election_safety(&self) {
        for (term, leaders) in &self.leaders_by_term {
            assert!(leaders.len() <= 1, "seed {}: {term} had leaders {leaders:?}", self.seed);
        }
    }

    fn step_ms(&mut self) {
        self.now += 1;
        let now = self.now;
        let due: Vec<(u64, u64)> = self.in_flight.range(..(now + 1, 0)).map(|(k, _)| *k).collect();
        for key in due {
            let msg = self.in_flight.remove(&key).expect("present");
            let to = msg.to.0 as usize;
            if let Some(node) = self.nodes[to].as_mut() {
                node.step(msg, now).expect("well-formed message");
                self.drain(to);
            }
        }
        for i in 0..self.nodes.len() {
            if let Some(node) = self.nodes[i].as_mut() {
                node.tick(now);
                self.drain(i);
            }
        }
    }

    /// Plays the driver for node `i`: send what may go at once, persist, send the rest,
    /// advance. Every message is checked against what is on disk when it leaves.
    pub(crate) fn drain(&mut self, i: usize) {
        while let Some(ready) = self.nodes[i].as_mut().and_then(|n| n.ready()) {
            for msg in ready.messages {
                self.transmit(i, msg);
            }
            if let Some(hs) = ready.hard_state {
                let old = self.disks[i].hard_state;
                assert!(hs.term >= old.term, "term went back on disk: {old:?} -> {hs:?}");
                if hs.term == old.term && old.voted_for.is_some() {
                    assert_eq!(hs.voted_for, old.voted_for, "vote changed within {}", hs.term);
                }
                self.disks[i].hard_state = hs;
            }
            if let Some(write) = ready.log_write {
                let disk = &mut self.disks[i].entries;
                disk.truncate(write.first_index as usize - 1);
                disk.extend(write.entries);
            }
            for msg in ready.persisted_messages {
                self.transmit(i, msg);
            }
            if let Some(soft) = ready.soft_state {
                match soft.role {
                    Role::Leader => self.became_leader(i, soft.term),
                    Role::Candidate => self.elections += 1,
                    _ => {}
                }
            }
            for e in ready.committed {
                self.committed.insert((e.index, e.term));
            }
            self.nodes[i].as_mut().expect("up").advance();
        }
    }

    /// Persist before send: a message may only announce a term, or a vote, that is on disk.
    fn check_durable(&self, i: usize, msg: &Message) {
        let disk = self.disks[i].hard_state;
        let ok = match msg.body {
            Body::RequestVote { pre_vote: true, .. } => msg.term <= disk.term.next(),
            // It carries the asker's proposed term, and promises nothing.
            Body::RequestVoteResponse { pre_vote: true, granted: true } => true,
            Body::RequestVoteResponse { granted: true, .. } => {
                disk.term == msg.term && disk.voted_for == Some(msg.to)
            }
            _ => msg.term <= disk.term,
        };
        assert!(ok, "{msg:?} left node {i} before {disk:?} was updated");
    }

    /// Leader completeness (§5.4): a new leader holds every entry committed so far.
    fn became_leader(&mut self, i: usize, term: Term) {
        self.leaders_by_term.entry(term).or_default().insert(NodeId(i as u64));
        let log: &[Entry] = self.nodes[i].as_ref().expect("up").entries();
        for &(index, t) in &self.committed {
            let held = log.get(index as usize - 1).map(|e| e.term);
            assert_eq!(
                held,
                Some(t),
                "seed {}: leader {i} of {term} lacks committed {index}",
                self.seed
            );
        }
    }

    fn transmit(&mut self, from: usize, msg: Message) {
        self.check_durable(from, &msg);
        self.sent += 1;
        if self.isolated.contains(&msg.from) || self.isolated.contains(&msg.to) {
            return;
        }
        if self.drop_rate > 0.0 && self.rng.random_bool(self.drop_rate) {
            return;
        }
        let copies = if self.rng.random_bool(self.duplicate_rate) { 2 } else { 1 };
        for _ in 0..copies {
            let at = self.now + self.rng.random_range(1..=self.max_latency_ms);
            self.in_flight.insert((at, self.next_seq), msg.clone());
            self.next_seq += 1;
        }
    }
}
