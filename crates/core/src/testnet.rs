//! A deterministic in-memory network for tests of the core, yours included (feature
//! `testnet`): seeded delivery delays, drops and duplicates, isolation, crashes and restarts
//! from what each node persisted. Every millisecond it delivers due messages (some twice),
//! ticks every node and drains every Ready as a careful driver would; as it goes it checks
//! election safety, that votes and terms are durable before they are announced, and leader
//! completeness, and panics (naming the seed) when one breaks.
//!
//! ```
//! use ballot_core::testnet::TestNet;
//! use ballot_core::Config;
//!
//! let mut net = TestNet::new(5, Config::default(), 7); // nodes 0..5, seed 7
//! let first = net.wait_for_leader(3_000);
//! net.crash(first);
//! let second = net.wait_for_leader(3_000);
//! assert_ne!(first, second);
//! assert!(net.propose(second, b"x"));
//! net.run_for(100);
//! net.assert_election_safety();
//! ```

use crate::{Body, Config, Entry, Message, NodeId, PersistedState, Raft, Role, Term};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

/// A cluster of nodes `0..n` on one simulated network, driven one millisecond at a time.
pub struct TestNet {
    /// Each node, `None` while crashed.
    pub nodes: Vec<Option<Raft>>,
    /// What each node has persisted: what it restarts from. Edit it while a node is down to
    /// start it from another state.
    pub disks: Vec<PersistedState>,
    /// The configuration each node (re)starts with; see [`TestNet::set_config`].
    pub configs: Vec<Config>,
    /// Simulated time, milliseconds.
    pub now: u64,
    /// Probability that a message is lost.
    pub drop_rate: f64,
    /// Probability that a delivered message is delivered a second time, later.
    pub duplicate_rate: f64,
    /// Highest one-way delay, milliseconds (each message takes 1..=this).
    pub max_latency_ms: u64,
    /// Largest AppendEntries delivered, bytes of entries (as [`Entry::size_bytes`] counts
    /// them); larger ones are lost, as a datagram too large for its transport is. 60 KB, a
    /// ballot node's datagram, unless set.
    pub max_message_bytes: usize,
    /// Every node seen leading each term.
    pub leaders_by_term: BTreeMap<Term, BTreeSet<NodeId>>,
    /// Entries some node reported committed: (index, term).
    pub committed: BTreeSet<(u64, Term)>,
    /// Messages sent so far.
    pub sent: u64,
    /// Times any node became candidate.
    pub elections: u64,
    members: Vec<NodeId>,
    seed: u64,
    incarnations: u64,
    rng: StdRng,
    in_flight: BTreeMap<(u64, u64), Message>,
    next_seq: u64,
    isolated: BTreeSet<NodeId>,
}

impl TestNet {
    /// `n` nodes (ids `0..n`) with one configuration, booted at time 0; `seed` drives
    /// every delay, drop and election timeout.
    pub fn new(n: usize, config: Config, seed: u64) -> TestNet {
        let members: Vec<NodeId> = (0..n as u64).map(NodeId).collect();
        let mut net = TestNet {
            nodes: Vec::new(),
            disks: vec![PersistedState::default(); n],
            configs: vec![config; n],
            now: 0,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            max_latency_ms: 5,
            max_message_bytes: 60 * 1024,
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
            config: self.configs[i].clone(),
            persisted: disk,
            seed,
            now_ms: self.now,
            applied: 0,
        })
        .expect("valid node")
    }

    /// Node `id`; panics if it is down.
    pub fn node(&self, id: u64) -> &Raft {
        self.nodes[id as usize].as_ref().expect("node is up")
    }

    /// Node `id`, to feed it inputs directly; panics if it is down. Call
    /// [`TestNet::drain`] afterwards so that what it produced is delivered.
    pub fn node_mut(&mut self, id: u64) -> &mut Raft {
        self.nodes[id as usize].as_mut().expect("node is up")
    }

    /// Runs `ms` simulated milliseconds.
    pub fn run_for(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step_ms();
        }
    }

    /// Runs until `done` holds, for at most `max_ms`; returns how long it took.
    pub fn run_until(&mut self, max_ms: u64, done: impl Fn(&TestNet) -> bool) -> Option<u64> {
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
    pub fn wait_for_leader(&mut self, max_ms: u64) -> u64 {
        self.run_until(max_ms, |net| net.stable_leader().is_some())
            .unwrap_or_else(|| panic!("seed {}: no stable leader within {max_ms} ms", self.seed));
        self.stable_leader().expect("just found")
    }

    /// Live nodes that are leader right now.
    pub fn leaders(&self) -> Vec<u64> {
        self.live().filter(|r| r.role() == Role::Leader).map(|r| r.id().0).collect()
    }

    /// The single live leader that every other live, connected node follows, if there is one.
    pub fn stable_leader(&self) -> Option<u64> {
        let leaders = self.leaders();
        let [leader] = leaders[..] else { return None };
        let term = self.node(leader).term();
        let connected = |r: &&Raft| !self.isolated.contains(&r.id());
        self.live()
            .filter(connected)
            .all(|r| r.leader() == Some(NodeId(leader)) && r.term() == term)
            .then_some(leader)
    }

    /// The nodes that are up.
    pub fn live(&self) -> impl Iterator<Item = &Raft> {
        self.nodes.iter().flatten()
    }

    /// The highest term of any live node.
    pub fn max_term(&self) -> Term {
        self.live().map(|r| r.term()).max().unwrap_or_default()
    }

    /// Cuts node `id` off from everyone (both directions) until [`TestNet::heal`].
    pub fn isolate(&mut self, id: u64) {
        self.isolated.insert(NodeId(id));
    }

    /// Reconnects every isolated node.
    pub fn heal(&mut self) {
        self.isolated.clear();
    }

    /// Stops a node; what it persisted survives, messages to it are lost.
    pub fn crash(&mut self, id: u64) {
        self.nodes[id as usize] = None;
    }

    /// Starts a crashed node again from its disk.
    pub fn restart(&mut self, id: u64) {
        if self.nodes[id as usize].is_none() {
            self.nodes[id as usize] = Some(self.boot(id as usize));
        }
    }

    /// Proposes `data` at node `id`; returns whether it was accepted.
    pub fn propose(&mut self, id: u64, data: &[u8]) -> bool {
        let now = self.now;
        let ok = self.node_mut(id).propose(data.to_vec(), now).is_ok();
        self.drain(id as usize);
        ok
    }

    /// Switches node `id` to `config`, live if it is up (see [`Raft::set_config`]) and at
    /// every restart; panics if the configuration is invalid.
    pub fn set_config(&mut self, id: u64, config: Config) {
        if let Some(node) = self.nodes[id as usize].as_mut() {
            node.set_config(config.clone()).expect("valid configuration");
        }
        self.configs[id as usize] = config;
    }

    /// Panics if any term had two leaders.
    pub fn assert_election_safety(&self) {
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
    pub fn drain(&mut self, i: usize) {
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
        if let Body::AppendEntries { entries, .. } = &msg.body {
            if entries.iter().map(Entry::size_bytes).sum::<usize>() > self.max_message_bytes {
                return;
            }
        }
        let copies = if self.rng.random_bool(self.duplicate_rate) { 2 } else { 1 };
        for _ in 0..copies {
            let at = self.now + self.rng.random_range(1..=self.max_latency_ms);
            self.in_flight.insert((at, self.next_seq), msg.clone());
            self.next_seq += 1;
        }
    }
}
