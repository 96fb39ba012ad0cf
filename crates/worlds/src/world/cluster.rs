//! A cluster of real ballot nodes on turmoil, and the fault verbs that act on it. Every verb
//! is a fault applied to the cluster's [`Conditions`] (the same code the history's views
//! replay), after which turmoil and the nodes' controls are made to match.

use super::recorder::Recorder;
use super::sim_io::{sim_now_ms, NetConditions, NodeControl, SimClock, SimFs, SimSocket};
use crate::seed::derive_seed;
use ballot_core::{Config, NodeId, Raft};
use ballot_judge::history::{EventKind, History};
use ballot_node::{ElectionCore, FileStorage, HistoryWriter, Node, NodeConfig, NodeHandle};
use ballot_schedule::faults::{self, Conditions, Op, Timing};
use ballot_schedule::CoreName;
use ballot_schedule::{DiskSpec, NetworkSpec, NodeRef, Step};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use turmoil::Sim;

/// The UDP port every node listens on.
const PORT: u16 = 7000;
/// Where each node keeps its state file on its simulated disk.
const STATE_DIR: &str = "/ballot";
/// The simulation's wall clock at its start, milliseconds since the Unix epoch.
const EPOCH_MS: f64 = 1_700_000_000_000.0;
/// Datagrams of other clusters are dropped.
const CLUSTER_ID: u64 = 0xba110;

/// Builds a [`Cluster`]: node count, core configuration, network and seed.
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    nodes: usize,
    election_core: CoreName,
    core: Config,
    /// Nodes that run another configuration than `core`, by index.
    node_cores: BTreeMap<usize, Config>,
    network: NetworkSpec,
    disk: DiskSpec,
    seed: u64,
    /// Where each node's own history file goes, if anywhere.
    node_files: Option<PathBuf>,
}

impl ClusterBuilder {
    /// A cluster of `nodes` nodes with default settings: the core's defaults, 1–10 ms latency,
    /// no loss, seed 0.
    pub fn new(nodes: usize) -> Self {
        ClusterBuilder {
            nodes,
            election_core: CoreName::default(),
            core: Config::default(),
            node_cores: BTreeMap::new(),
            network: NetworkSpec::default(),
            disk: DiskSpec::default(),
            seed: 0,
            node_files: None,
        }
    }

    /// The election core every node runs (ballot's own unless named).
    pub fn election_core(mut self, core: CoreName) -> Self {
        self.election_core = core;
        self
    }

    /// The election core's configuration for every node.
    pub fn core(mut self, core: Config) -> Self {
        self.core = core;
        self
    }

    /// Another configuration for node `index` only: a mixed cluster, such as one halfway
    /// through switching pre-vote on. The properties keep judging with the timing of
    /// [`ClusterBuilder::core`], so keep the timeouts, heartbeat and check-quorum the same.
    pub fn node_core(mut self, index: usize, core: Config) -> Self {
        self.node_cores.insert(index, core);
        self
    }

    /// The baseline network (which `heal` restores).
    pub fn network(mut self, network: NetworkSpec) -> Self {
        self.network = network;
        self
    }

    /// How long every node's disk takes to write and sync (instant unless given).
    pub fn disk(mut self, disk: DiskSpec) -> Self {
        self.disk = disk;
        self
    }

    /// One-way message latency range, milliseconds.
    pub fn latency_ms(mut self, min: u64, max: u64) -> Self {
        self.network.latency_ms = [min, max];
        self
    }

    /// Share of messages lost on every link (0..1).
    pub fn loss(mut self, rate: f64) -> Self {
        self.network.loss = rate;
        self
    }

    /// Seeds turmoil, every node's core and the loss RNG.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Has every node also write its own history file, `node-<i>-history.jsonl` in `dir`, as
    /// `ballot node` writes it (on the node's simulated clock, with the simulation's time as
    /// the wall clock): what a diagnosis from the nodes' files alone reads. The files are
    /// appended to across restarts, and must not exist before.
    pub fn node_files(mut self, dir: PathBuf) -> Self {
        self.node_files = Some(dir);
        self
    }

    /// Registers every node with a fresh simulation.
    pub fn build(self) -> Cluster {
        let [min, max] = self.network.latency_ms;
        let mut builder = turmoil::Builder::new();
        builder
            .rng_seed(self.seed)
            .epoch(UNIX_EPOCH + Duration::from_millis(EPOCH_MS as u64))
            .simulation_duration(Duration::from_secs(u64::MAX / 4))
            .tick_duration(Duration::from_millis(1))
            .min_message_latency(Duration::from_millis(min))
            .max_message_latency(Duration::from_millis(max));
        if self.disk.torn_writes > 0.0 {
            // turmoil tears every write a crash finds in flight (keeping 0 to all of its
            // sectors), rather than one in `torn_writes`.
            builder.fs().block_size(512);
        }
        let mut sim = builder.build();
        let history = Arc::new(Mutex::new(History::new(self.nodes)));
        let net =
            Arc::new(NetConditions { loss: Mutex::new(self.network.loss), ..Default::default() });
        let names: Vec<String> = (0..self.nodes).map(|i| format!("n{i}")).collect();
        let members: BTreeMap<NodeId, SocketAddr> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (NodeId(i as u64), SocketAddr::new(sim.lookup(name.as_str()), PORT)))
            .collect();
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let loss_rng =
                StdRng::seed_from_u64(derive_seed(self.seed, &format!("node {i} network")));
            let disk_rng = StdRng::seed_from_u64(derive_seed(self.seed, &format!("node {i} disk")));
            let slot = Arc::new(NodeSlot {
                control: Arc::new(NodeControl::new(loss_rng, self.disk.clone(), disk_rng)),
                handle: Mutex::new(None),
                incarnation: Mutex::new(0),
            });
            let host = HostSpec {
                index: i,
                slot: slot.clone(),
                members: members.clone(),
                election_core: self.election_core,
                core: self.node_cores.get(&i).unwrap_or(&self.core).clone(),
                seed: self.seed,
                net: net.clone(),
                history: history.clone(),
                node_file: self
                    .node_files
                    .as_ref()
                    .map(|d| d.join(format!("node-{i}-history.jsonl"))),
            };
            sim.host(name.as_str(), move || host.clone().run());
            nodes.push(slot);
        }
        let timing = Timing::of(&self.core).with_disk(&self.disk).on_core(self.election_core);
        let conditions = Conditions::new(self.nodes, self.network).with_disk(self.disk.clone());
        Cluster { sim, nodes, names, history, net, conditions, timing, disk: self.disk }
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
    election_core: CoreName,
    core: Config,
    seed: u64,
    net: Arc<NetConditions>,
    history: Arc<Mutex<History>>,
    /// The node's own history file, if the run keeps one.
    node_file: Option<PathBuf>,
}

impl HostSpec {
    async fn run(self) -> turmoil::Result {
        let incarnation = {
            let mut n = self.slot.incarnation.lock().expect("incarnation lock");
            *n += 1;
            *n
        };
        let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT);
        let socket = Arc::new(turmoil::net::UdpSocket::bind(bind).await?);
        turmoil::fs::shim::std::fs::create_dir_all(STATE_DIR)?;
        self.slot.control.take_fs();
        let peers: Vec<SocketAddr> = self.members.values().copied().collect();
        let config = NodeConfig {
            id: NodeId(self.index as u64),
            cluster_id: CLUSTER_ID,
            members: self.members.clone(),
            core: self.core.clone(),
            seed: derive_seed(
                self.seed,
                &format!("node {} core, incarnation {incarnation}", self.index),
            ),
        };
        let (control, net) = (self.slot.control.clone(), self.net.clone());
        tokio::spawn(SimSocket::deliver_released(
            socket.clone(),
            self.index,
            peers.clone(),
            control,
            net,
        ));
        let transport = SimSocket {
            socket,
            index: self.index,
            peers,
            control: self.slot.control.clone(),
            net: self.net.clone(),
        };
        let storage =
            FileStorage::new(SimFs(self.slot.control.clone()), format!("{STATE_DIR}/state"));
        let clock = Arc::new(SimClock(self.slot.control.clone()));
        let node_file = match &self.node_file {
            Some(path) => Some(HistoryWriter::create_simulated(
                path,
                &config,
                clock.clone(),
                Arc::new(|| EPOCH_MS + sim_now_ms()),
            )?),
            None => None,
        };
        let recorder = Arc::new(Recorder {
            history: self.history.clone(),
            time: self.slot.control.clone(),
            last_ack: Mutex::new(None),
            node_file,
        });
        let core = self.election_core;
        let host = Host { spec: self, config, transport, storage, clock, recorder };
        match core {
            CoreName::Ballot => serve::<Raft>(host).await,
            #[cfg(feature = "raft-rs")]
            CoreName::RaftRs => serve::<ballot_raft_rs::RaftRs>(host).await,
            other => match installed(other) {
                Some(serve) => serve(host).await,
                None => unreachable!("{other} is not available in this build (validated)"),
            },
        }
        Ok(())
    }
}

/// Starts a node on one core: `|host| Box::pin(serve::<C>(host))` for that core's `C`.
pub type Serve = fn(Host) -> Pin<Box<dyn Future<Output = ()>>>;

/// Cores a fixture build installed, by name, and how to start a node on each.
static INSTALLED: Mutex<BTreeMap<CoreName, Serve>> = Mutex::new(BTreeMap::new());

/// Makes `core`, implemented by `C`, runnable on turmoil (see [`crate::cores::install`]).
pub(crate) fn install<C: ElectionCore>(core: CoreName) {
    let serve: Serve = |host| Box::pin(serve::<C>(host));
    INSTALLED.lock().expect("installed cores").insert(core, serve);
}

/// How to start a node on `core` on turmoil, if a fixture build installed it.
fn installed(core: CoreName) -> Option<Serve> {
    INSTALLED.lock().expect("installed cores").get(&core).copied()
}

/// A node about to start on a simulated host, whichever core it will run: its settings,
/// socket, disk, clock and history recorder. A fixture build hands it to [`serve`] with the
/// core it links (see [`crate::cores::install`]).
pub struct Host {
    spec: HostSpec,
    config: NodeConfig,
    transport: SimSocket,
    storage: FileStorage<SimFs>,
    clock: Arc<SimClock>,
    recorder: Arc<Recorder>,
}

/// What a node built on another Raft library (an async one, which the driver of
/// [`ElectionCore`]s cannot run) is given to run on a simulated host: see
/// [`install_async`].
pub struct HostParts {
    /// The node's settings: id, members and their addresses, core configuration, seed.
    pub config: NodeConfig,
    /// Its datagram socket on the simulated network, every fault of the schedule applied.
    pub transport: SimSocket,
    /// Its simulated disk: latencies, and a crash loses what was not synced.
    pub fs: SimFs,
    /// The directory on that disk its files belong in.
    pub dir: std::path::PathBuf,
    /// Its local clock (drifting at the schedule's rate, stopped while paused).
    pub clock: Arc<dyn ballot_node::Clock>,
    /// Where it reports its events, which become the run's history.
    pub observer: Arc<dyn ballot_node::Observer>,
    /// Where it publishes the handle the harness proposes through.
    pub handle: HandleSlot,
}

/// Where a node on a simulated host publishes its [`NodeHandle`] once it runs.
pub struct HandleSlot(Arc<NodeSlot>);

impl HandleSlot {
    /// The harness sends this node's proposals and transfers through `handle` from now on.
    pub fn publish(&self, handle: NodeHandle) {
        *self.0.handle.lock().expect("handle lock") = Some(handle);
    }
}

impl Host {
    /// The host's parts, for a node of another library.
    pub fn into_parts(self) -> HostParts {
        let Host { spec, config, transport, storage: _, clock, recorder } = self;
        HostParts {
            config,
            transport,
            fs: SimFs(spec.slot.control.clone()),
            dir: STATE_DIR.into(),
            clock,
            observer: recorder,
            handle: HandleSlot(spec.slot.clone()),
        }
    }
}

/// Makes `core` runnable on turmoil by `serve`, which runs one node on a host's parts until
/// it is crashed: for a core that is not an [`ElectionCore`] (an async Raft library). The
/// event world cannot run such a core.
pub fn install_async(core: CoreName, serve: Serve) {
    ballot_schedule::declare_installed(core);
    INSTALLED.lock().expect("installed cores").insert(core, serve);
}

/// Runs `host`'s node on core `C` until it is crashed (or stops on a disk error).
pub async fn serve<C: ElectionCore>(host: Host) {
    let Host { spec, config, transport, storage, clock, recorder } = host;
    match Node::<_, _, C>::with_core(config, transport, storage, clock, recorder) {
        Ok((node, handle)) => {
            *spec.slot.handle.lock().expect("handle lock") = Some(handle);
            // A node that stops on a disk error has reported why; the host just ends.
            let _ = node.run().await;
        }
        Err(e) => {
            let kind = EventKind::Stopped { error: e.to_string() };
            spec.history.lock().expect("history lock").record(sim_now_ms(), Some(spec.index), kind);
        }
    }
}

/// Real ballot nodes on turmoil's network and disks, with fault verbs and a history.
pub struct Cluster {
    sim: Sim<'static>,
    nodes: Vec<Arc<NodeSlot>>,
    names: Vec<String>,
    history: Arc<Mutex<History>>,
    net: Arc<NetConditions>,
    conditions: Conditions,
    timing: Timing,
    disk: DiskSpec,
}

impl Cluster {
    /// The disks' latencies.
    pub fn disk(&self) -> &DiskSpec {
        &self.disk
    }

    /// The election timing every node runs with.
    pub fn timing(&self) -> Timing {
        self.timing
    }

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
        super::World::run_for(self, ms)
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
        super::World::run_until(self, max_ms, done)
    }

    /// A snapshot of the history so far.
    pub fn history(&self) -> History {
        self.history.lock().expect("history lock").clone()
    }

    /// Where the faults have put the world now.
    pub fn conditions(&self) -> &Conditions {
        &self.conditions
    }

    /// Whether node `n` is crashed.
    pub fn is_crashed(&self, n: usize) -> bool {
        !self.conditions.up[n]
    }

    /// Whether node `n` is paused.
    pub fn is_paused(&self, n: usize) -> bool {
        self.conditions.paused[n]
    }

    /// Appends an event to the history at the current simulated time.
    pub(crate) fn record_event(&self, node: Option<usize>, kind: EventKind) {
        let t = self.now_ms();
        self.history.lock().expect("history lock").record(t, node, kind);
    }

    /// Applies a fault (every node named by index), records it in the history (as skipped if
    /// it cannot apply now) and returns whether it applied.
    pub fn apply(&mut self, op: Op) -> bool {
        let before = self.conditions.clone();
        let applied = op.apply(&mut self.conditions);
        let step = Step::at(self.now_ms() as u64, op);
        self.record_event(None, EventKind::Fault { step: step.clone(), skipped: !applied });
        if applied {
            self.sync(&before);
            match &step.op {
                Op::Corrupt(c) => {
                    self.nodes[faults::index(c.node)].control.damage(STATE_DIR, c.what);
                }
                Op::Propose(p) => self.submit(faults::index(p.node), p.payload()),
                Op::Transfer(t) => {
                    if let Some(h) = self.handle(faults::index(t.node)) {
                        drop(h.start_transfer(Some(NodeId(faults::index(t.to) as u64))));
                    }
                }
                _ => {}
            }
        }
        applied
    }

    /// Makes turmoil, the nodes' controls and the shared network knobs match the conditions.
    fn sync(&mut self, before: &Conditions) {
        let now = self.now_ms();
        let after = self.conditions.clone();
        for n in 0..self.size() {
            let name = self.names[n].as_str();
            match (before.up[n], after.up[n]) {
                (true, false) => {
                    if after.lost_power[n] {
                        self.nodes[n].control.write_back_at_random(STATE_DIR);
                    }
                    self.sim.crash(name);
                    self.nodes[n].handle.lock().expect("handle lock").take();
                    self.record_event(Some(n), EventKind::Crash);
                }
                (false, true) => {
                    self.sim.bounce(name);
                    self.record_event(Some(n), EventKind::Restart);
                }
                _ => {}
            }
            if before.paused[n] != after.paused[n] {
                self.nodes[n].control.set_paused(after.paused[n]);
            }
            if before.clock_rates[n] != after.clock_rates[n] {
                self.nodes[n].control.set_clock_rate(now, after.clock_rates[n]);
            }
            if before.disk != after.disk {
                self.nodes[n].control.set_disk(after.disk.clone());
            }
        }
        for &(a, b) in before.blocked.difference(&after.blocked) {
            self.sim.repair_oneway(self.names[a].as_str(), self.names[b].as_str());
        }
        for &(a, b) in after.blocked.difference(&before.blocked) {
            self.sim.partition_oneway(self.names[a].as_str(), self.names[b].as_str());
        }
        if before.held != after.held {
            *self.net.holding.lock().expect("holding lock") = after.held.clone();
            for &(from, _) in before.held.difference(&after.held) {
                self.nodes[from].control.released.notify_one();
            }
        }
        *self.net.loss.lock().expect("loss lock") = after.loss;
        *self.net.duplicate.lock().expect("duplicate lock") = after.duplicate;
        if before.latency_ms != after.latency_ms {
            let [min, max] = after.latency_ms;
            for a in 0..self.size() {
                for b in a + 1..self.size() {
                    let (x, y) = (self.names[a].as_str(), self.names[b].as_str());
                    self.sim.set_link_latency(x, y, Duration::from_millis(min));
                    self.sim.set_link_max_message_latency(x, y, Duration::from_millis(max));
                }
            }
        }
    }

    /// Kills node `n`: its memory and its unsynced writes are lost.
    pub fn crash(&mut self, n: usize) -> bool {
        self.apply(faults::Crash { node: NodeRef::Index(n) }.into())
    }

    /// Starts crashed node `n` again from its disk.
    pub fn restart(&mut self, n: usize) -> bool {
        self.apply(faults::Restart { node: NodeRef::Index(n) }.into())
    }

    /// Only nodes in the same group can talk; nodes in no group are isolated.
    pub fn partition(&mut self, groups: &[Vec<usize>]) -> bool {
        let groups =
            groups.iter().map(|g| g.iter().copied().map(NodeRef::Index).collect()).collect();
        self.apply(faults::Partition { groups }.into())
    }

    /// Drops every message from `from` to `to`.
    pub fn partition_oneway(&mut self, from: usize, to: usize) -> bool {
        let (from, to) = (NodeRef::Index(from), NodeRef::Index(to));
        self.apply(faults::PartitionOneway { from, to }.into())
    }

    /// Drops messages both ways between `a` and `b` only.
    pub fn cut(&mut self, a: usize, b: usize) -> bool {
        self.apply(faults::Cut { a: NodeRef::Index(a), b: NodeRef::Index(b) }.into())
    }

    /// Holds every message from `from` to `to` in the network until released.
    pub fn hold(&mut self, from: usize, to: usize) -> bool {
        let (from, to) = (NodeRef::Index(from), NodeRef::Index(to));
        self.apply(faults::Hold { from, to }.into())
    }

    /// Delivers what the link from `from` to `to` holds, oldest first, then lets it flow.
    pub fn release(&mut self, from: usize, to: usize) -> bool {
        let (from, to) = (NodeRef::Index(from), NodeRef::Index(to));
        self.apply(faults::Release { from, to }.into())
    }

    /// Cuts node `n` off from every other node.
    pub fn isolate(&mut self, n: usize) -> bool {
        self.apply(faults::Isolate { node: NodeRef::Index(n) }.into())
    }

    /// Repairs every link, ends every pause, restores baseline loss and latency.
    pub fn heal(&mut self) -> bool {
        self.apply(faults::Heal {}.into())
    }

    /// Freezes node `n`: no timers, no message handling; messages to it queue.
    pub fn pause(&mut self, n: usize) -> bool {
        self.apply(faults::Pause { node: NodeRef::Index(n) }.into())
    }

    /// Lets paused node `n` go on.
    pub fn resume(&mut self, n: usize) -> bool {
        self.apply(faults::Resume { node: NodeRef::Index(n) }.into())
    }

    /// Drops that share of messages on every link from now on.
    pub fn set_loss(&mut self, rate: f64) -> bool {
        self.apply(faults::Loss { rate }.into())
    }

    /// Delivers that share of messages twice from now on.
    pub fn set_duplicate(&mut self, rate: f64) -> bool {
        self.apply(faults::Duplicate { rate }.into())
    }

    /// Message latency range (one way, milliseconds) from now on.
    pub fn set_latency(&mut self, min: u64, max: u64) -> bool {
        self.apply(faults::Latency { ms: [min, max] }.into())
    }

    /// Node `n`'s clock runs at `rate` × real time from now on.
    pub fn set_clock_rate(&mut self, n: usize, rate: f64) -> bool {
        self.apply(faults::Clock { node: NodeRef::Index(n), rate }.into())
    }

    /// Sends a client write to node `n`; `false` if the node is down or paused. Its fate is in
    /// the history (a `propose` event if a leader took it, then `commit` events).
    pub fn propose(&mut self, n: usize, value: &str) -> bool {
        self.apply(faults::Propose::new(NodeRef::Index(n), value).into())
    }

    /// Asks node `n` to hand leadership to node `to`; `false` if `n` is down or paused. The
    /// history shows what came of it (a TimeoutNow, a campaign, a new leader).
    pub fn transfer(&mut self, n: usize, to: usize) -> bool {
        let (node, to) = (NodeRef::Index(n), NodeRef::Index(to));
        self.apply(faults::Transfer { node, to }.into())
    }

    fn submit(&self, n: usize, payload: Vec<u8>) {
        if let Some(h) = self.handle(n) {
            drop(h.submit(payload));
        }
    }

    /// The leadership handle of running node `n`, as an application would hold it.
    pub fn handle(&self, n: usize) -> Option<NodeHandle> {
        if self.is_crashed(n) {
            return None;
        }
        self.nodes[n].handle.lock().expect("handle lock").clone()
    }
}

impl super::World for Cluster {
    fn size(&self) -> usize {
        Cluster::size(self)
    }

    fn now_ms(&self) -> f64 {
        Cluster::now_ms(self)
    }

    fn run_to(&mut self, ms: u64) {
        Cluster::run_to(self, ms)
    }

    fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> R {
        f(&self.history.lock().expect("history lock"))
    }

    fn conditions(&self) -> &Conditions {
        Cluster::conditions(self)
    }

    fn record_event(&self, node: Option<usize>, kind: EventKind) {
        Cluster::record_event(self, node, kind)
    }

    fn apply(&mut self, op: Op) -> bool {
        Cluster::apply(self, op)
    }
}
