//! A cluster of real ballot nodes on turmoil, and the fault verbs that act on it.

use crate::history::{EventKind, History};
use crate::recorder::Recorder;
use crate::sim_io::{NetConditions, NodeControl, SimClock, SimFs, SimSocket};
use ballot_core::{Config, NodeId};
use ballot_node::{FileStorage, Node, NodeConfig, NodeHandle};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use turmoil::Sim;

/// The UDP port every node listens on.
const PORT: u16 = 7000;
/// Where each node keeps its state file on its simulated disk.
const STATE_DIR: &str = "/ballot";
/// Datagrams of other clusters are dropped.
const CLUSTER_ID: u64 = 0xba110;

/// Builds a [`Cluster`]: node count, core configuration, network and seed.
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    nodes: usize,
    core: Config,
    latency_ms: (u64, u64),
    loss: f64,
    seed: u64,
}

impl ClusterBuilder {
    /// A cluster of `nodes` nodes with default settings: the core's defaults, 1–10 ms latency,
    /// no loss, seed 0.
    pub fn new(nodes: usize) -> Self {
        ClusterBuilder { nodes, core: Config::default(), latency_ms: (1, 10), loss: 0.0, seed: 0 }
    }

    /// The election core's configuration for every node.
    pub fn core(mut self, core: Config) -> Self {
        self.core = core;
        self
    }

    /// One-way message latency range, milliseconds.
    pub fn latency_ms(mut self, min: u64, max: u64) -> Self {
        self.latency_ms = (min, max);
        self
    }

    /// Share of messages lost on every link (0..1).
    pub fn loss(mut self, rate: f64) -> Self {
        self.loss = rate;
        self
    }

    /// Seeds turmoil, every node's core and the loss RNG.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Registers every node with a fresh simulation.
    pub fn build(self) -> Cluster {
        let mut builder = turmoil::Builder::new();
        builder
            .rng_seed(self.seed)
            .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .simulation_duration(Duration::from_secs(u64::MAX / 4))
            .tick_duration(Duration::from_millis(1))
            .min_message_latency(Duration::from_millis(self.latency_ms.0))
            .max_message_latency(Duration::from_millis(self.latency_ms.1));
        let mut sim = builder.build();
        let history = Arc::new(Mutex::new(History::new(self.nodes)));
        let net = Arc::new(NetConditions { loss: Mutex::new(self.loss), ..Default::default() });
        let names: Vec<String> = (0..self.nodes).map(|i| format!("n{i}")).collect();
        let members: BTreeMap<NodeId, SocketAddr> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (NodeId(i as u64), SocketAddr::new(sim.lookup(name.as_str()), PORT)))
            .collect();
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let loss_rng = StdRng::seed_from_u64(self.seed ^ (0x1055 + i as u64));
            let slot = Arc::new(NodeSlot {
                control: Arc::new(NodeControl::new(loss_rng)),
                handle: Mutex::new(None),
                incarnation: Mutex::new(0),
            });
            let host = HostSpec {
                index: i,
                slot: slot.clone(),
                members: members.clone(),
                core: self.core.clone(),
                seed: self.seed,
                net: net.clone(),
                history: history.clone(),
            };
            sim.host(name.as_str(), move || host.clone().run());
            nodes.push(slot);
        }
        Cluster {
            sim,
            nodes,
            names,
            history,
            net,
            crashed: vec![false; self.nodes],
            baseline: (self.latency_ms, self.loss),
            core: self.core,
            blocked: BTreeSet::new(),
            loss: self.loss,
            latency_ms: self.latency_ms,
            clock_rates: vec![1.0; self.nodes],
        }
    }
}

/// What the harness keeps of one node across its restarts.
struct NodeSlot {
    control: Arc<NodeControl>,
    handle: Mutex<Option<NodeHandle>>,
    incarnation: Mutex<u64>,
}

/// Everything a host needs to (re)start its node.
#[derive(Clone)]
struct HostSpec {
    index: usize,
    slot: Arc<NodeSlot>,
    members: BTreeMap<NodeId, SocketAddr>,
    core: Config,
    seed: u64,
    net: Arc<NetConditions>,
    history: Arc<Mutex<History>>,
}

impl HostSpec {
    async fn run(self) -> turmoil::Result {
        let incarnation = {
            let mut n = self.slot.incarnation.lock().expect("incarnation lock");
            *n += 1;
            *n
        };
        let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT);
        let socket = turmoil::net::UdpSocket::bind(bind).await?;
        turmoil::fs::shim::std::fs::create_dir_all(STATE_DIR)?;
        let config = NodeConfig {
            id: NodeId(self.index as u64),
            cluster_id: CLUSTER_ID,
            members: self.members,
            core: self.core,
            seed: self.seed ^ ((self.index as u64) << 32) ^ (incarnation << 48),
        };
        let transport = SimSocket { socket, control: self.slot.control.clone(), net: self.net };
        let storage = FileStorage::new(SimFs, format!("{STATE_DIR}/state"));
        let clock = Arc::new(SimClock(self.slot.control.clone()));
        let recorder = Arc::new(Recorder {
            history: self.history.clone(),
            control: self.slot.control.clone(),
        });
        match Node::new(config, transport, storage, clock, recorder) {
            Ok((node, handle)) => {
                *self.slot.handle.lock().expect("handle lock") = Some(handle);
                // A node that stops on a disk error has reported why; the host just ends.
                let _ = node.run().await;
            }
            Err(e) => {
                let t = crate::sim_io::sim_now_ms();
                let kind = EventKind::Stopped { error: e.to_string() };
                self.history.lock().expect("history lock").record(t, Some(self.index), kind);
            }
        }
        Ok(())
    }
}

/// Real ballot nodes on turmoil's network and disks, with fault verbs and a history.
pub struct Cluster {
    sim: Sim<'static>,
    nodes: Vec<Arc<NodeSlot>>,
    names: Vec<String>,
    history: Arc<Mutex<History>>,
    net: Arc<NetConditions>,
    crashed: Vec<bool>,
    baseline: ((u64, u64), f64),
    core: Config,
    /// Directed links that drop every message: (from, to).
    blocked: BTreeSet<(usize, usize)>,
    loss: f64,
    latency_ms: (u64, u64),
    clock_rates: Vec<f64>,
}

impl Cluster {
    /// Number of nodes.
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// Simulated time since the start, milliseconds.
    pub fn now_ms(&self) -> f64 {
        self.sim.elapsed().as_secs_f64() * 1e3
    }

    /// Runs the simulation for `ms` milliseconds.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.sim.elapsed() + Duration::from_millis(ms);
        while self.sim.elapsed() < until {
            self.sim.step().expect("hosts never fail");
        }
    }

    /// Runs until simulated time reaches `ms` milliseconds since the start.
    pub fn run_to(&mut self, ms: u64) {
        let until = Duration::from_millis(ms);
        while self.sim.elapsed() < until {
            self.sim.step().expect("hosts never fail");
        }
    }

    /// Runs until `done` holds of the history, for at most `max_ms`; returns how long it took.
    pub fn run_until(&mut self, max_ms: u64, done: impl Fn(&History) -> bool) -> Option<f64> {
        let start = self.now_ms();
        loop {
            if done(&self.history.lock().expect("history lock")) {
                return Some(self.now_ms() - start);
            }
            if self.now_ms() - start >= max_ms as f64 {
                return None;
            }
            self.sim.step().expect("hosts never fail");
        }
    }

    /// A snapshot of the history so far.
    pub fn history(&self) -> History {
        self.history.lock().expect("history lock").clone()
    }

    /// Whether node `n` is crashed.
    pub fn is_crashed(&self, n: usize) -> bool {
        self.crashed[n]
    }

    /// Whether node `n` is paused.
    pub fn is_paused(&self, n: usize) -> bool {
        self.nodes[n].control.is_paused()
    }

    /// Appends an event to the history at the current simulated time.
    pub fn record_event(&self, node: Option<usize>, kind: EventKind) {
        let t = self.now_ms();
        self.history.lock().expect("history lock").record(t, node, kind);
    }

    /// Kills node `n`: its memory and its unsynced writes are lost.
    pub fn crash(&mut self, n: usize) {
        self.sim.crash(self.names[n].as_str());
        self.crashed[n] = true;
        self.nodes[n].handle.lock().expect("handle lock").take();
        self.record_event(Some(n), EventKind::Crash);
    }

    /// Starts crashed node `n` again from its disk.
    pub fn restart(&mut self, n: usize) {
        self.sim.bounce(self.names[n].as_str());
        self.crashed[n] = false;
        self.record_event(Some(n), EventKind::Restart);
    }

    /// Only nodes in the same group can talk; nodes in no group are isolated.
    pub fn partition(&mut self, groups: &[Vec<usize>]) {
        self.repair_links();
        let group_of = |n: usize| groups.iter().position(|g| g.contains(&n));
        for a in 0..self.size() {
            for b in a + 1..self.size() {
                if group_of(a).is_none() || group_of(a) != group_of(b) {
                    self.cut(a, b);
                }
            }
        }
    }

    /// Drops every message from `from` to `to`.
    pub fn partition_oneway(&mut self, from: usize, to: usize) {
        self.sim.partition_oneway(self.names[from].as_str(), self.names[to].as_str());
        self.blocked.insert((from, to));
    }

    /// Drops messages both ways between `a` and `b` only.
    pub fn cut(&mut self, a: usize, b: usize) {
        self.sim.partition(self.names[a].as_str(), self.names[b].as_str());
        self.blocked.insert((a, b));
        self.blocked.insert((b, a));
    }

    /// Cuts node `n` off from every other node.
    pub fn isolate(&mut self, n: usize) {
        for other in (0..self.size()).filter(|&o| o != n) {
            self.cut(n, other);
        }
    }

    fn repair_links(&mut self) {
        self.blocked.clear();
        for a in 0..self.size() {
            for b in 0..self.size() {
                if a != b {
                    let (x, y) = (self.names[a].as_str(), self.names[b].as_str());
                    self.sim.repair_oneway(x, y);
                    self.sim.repair(x, y);
                }
            }
        }
    }

    /// Repairs every link, ends every pause, restores baseline loss and latency.
    pub fn heal(&mut self) {
        self.repair_links();
        for n in 0..self.size() {
            self.resume(n);
        }
        let ((min, max), loss) = self.baseline;
        self.set_loss(loss);
        self.set_duplicate(0.0);
        self.set_latency(min, max);
    }

    /// Freezes node `n`: no timers, no message handling; messages to it queue.
    pub fn pause(&mut self, n: usize) {
        self.nodes[n].control.set_paused(true);
    }

    /// Lets paused node `n` go on.
    pub fn resume(&mut self, n: usize) {
        self.nodes[n].control.set_paused(false);
    }

    /// Drops that share of messages on every link from now on.
    pub fn set_loss(&mut self, rate: f64) {
        self.loss = rate;
        *self.net.loss.lock().expect("loss lock") = rate;
    }

    /// Delivers that share of messages twice from now on.
    pub fn set_duplicate(&mut self, rate: f64) {
        *self.net.duplicate.lock().expect("duplicate lock") = rate;
    }

    /// Message latency range (one way, milliseconds) from now on.
    pub fn set_latency(&mut self, min: u64, max: u64) {
        self.latency_ms = (min, max);
        for a in 0..self.size() {
            for b in a + 1..self.size() {
                let (x, y) = (self.names[a].as_str(), self.names[b].as_str());
                self.sim.set_link_latency(x, y, Duration::from_millis(min));
                self.sim.set_link_max_message_latency(x, y, Duration::from_millis(max));
            }
        }
    }

    /// Node `n`'s clock runs at `rate` × real time from now on.
    pub fn set_clock_rate(&mut self, n: usize, rate: f64) {
        let now = self.now_ms();
        self.nodes[n].control.set_clock_rate(now, rate);
        self.clock_rates[n] = rate;
    }

    /// Sends a client write to node `n`; `false` if the node is down or paused. Its fate is in
    /// the history (a `propose` event if a leader took it, then `commit` events).
    pub fn propose(&mut self, n: usize, value: &str) -> bool {
        if self.crashed[n] || self.is_paused(n) {
            return false;
        }
        let handle = self.nodes[n].handle.lock().expect("handle lock").clone();
        handle.is_some_and(|h| {
            drop(h.submit(value.as_bytes().to_vec()));
            true
        })
    }

    /// The nodes that are up and unpaused, if they are a majority, can all reach each other
    /// and lose no messages: the ones that must elect a leader (SPEC.md liveness).
    pub fn live_majority(&self) -> Option<Vec<usize>> {
        let live: Vec<usize> =
            (0..self.size()).filter(|&n| !self.crashed[n] && !self.is_paused(n)).collect();
        let connected =
            live.iter().all(|&a| live.iter().all(|&b| a == b || !self.blocked.contains(&(a, b))));
        (live.len() > self.size() / 2 && connected && self.loss == 0.0).then_some(live)
    }

    /// Healthy: every node up and unpaused, every link working, no loss, a round trip well
    /// inside the minimum election timeout, and clocks within the drift bound.
    pub fn is_healthy(&self) -> bool {
        let round_trip = 2 * self.latency_ms.1 + self.core.heartbeat_ms;
        self.live_majority().is_some_and(|live| live.len() == self.size())
            && self.blocked.is_empty()
            && round_trip < self.core.election_timeout_min_ms
            && self.clocks_within_bound()
    }

    /// Whether every node's clock rate is within the configured drift bound of real time.
    pub fn clocks_within_bound(&self) -> bool {
        let bound = self.core.clock_drift_bound;
        self.clock_rates.iter().all(|r| (1.0 - bound..=1.0 + bound).contains(r))
    }

    /// The leadership handle of running node `n`, as an application would hold it.
    pub fn handle(&self, n: usize) -> Option<NodeHandle> {
        if self.crashed[n] {
            return None;
        }
        self.nodes[n].handle.lock().expect("handle lock").clone()
    }
}
