//! The event world: the same election cores and the same driver contract as the turmoil
//! world, driven on one thread from a queue of due events (deliveries, each node's timer, its
//! disk, the schedule's steps) in integer milliseconds, as turmoil's ticks. Nothing runs when
//! nothing is due, which makes it many times faster; turmoil stays the full-fidelity world
//! (the async node, its UDP socket and its disk). Faults come from the same `Conditions`.

mod agenda;
mod disk;
mod node;

use self::agenda::{Agenda, Key};
use self::disk::{EventFs, Stop};
use self::node::{CoreNode, EventNode, EventTime, Next, NodeParts, Request};
use super::local_clock::ClockCell;
use super::World;
use crate::seed::derive_seed;
use ballot_core::{Config, NodeId, Raft};
use ballot_judge::history::{EventKind, History};
use ballot_node::{Datagram, ElectionCore, NodeConfig};
use ballot_schedule::faults::{self, Conditions, Op, Timing};
use ballot_schedule::CoreName;
use ballot_schedule::{DiskSpec, NetworkSpec, Step};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Datagrams of other clusters are dropped (as in the turmoil world).
const CLUSTER_ID: u64 = 0xba110;

/// Something due at an instant.
#[derive(Debug)]
enum Due {
    /// A datagram reaches `to`, unless a partition began on its link since it left (`epoch`).
    Deliver { from: usize, to: usize, bytes: Vec<u8>, epoch: u64 },
    /// A node's timer.
    Wake { node: usize },
    /// A node takes what reached its socket: after every delivery of the same instant, as
    /// turmoil's node runs once a tick on all that arrived in it.
    Turn { node: usize },
    /// A node's save is durable, if the node has not restarted since (`incarnation`).
    Disk { node: usize, incarnation: u64 },
}

/// A cluster of election nodes in the event world.
pub struct EventCluster {
    now: Arc<AtomicU64>,
    queue: Agenda<Due>,
    nodes: Vec<Box<dyn EventNode + Send>>,
    addresses: Vec<SocketAddr>,
    /// Each node's pending timer: its key in the queue (a `Wake` of another key was
    /// replaced, and is skipped when it comes due).
    wakes: Vec<Option<Key>>,
    /// Which nodes have a turn queued at the present instant.
    turns_due: Vec<bool>,
    incarnations: Vec<u64>,
    history: Arc<Mutex<History>>,
    conditions: Conditions,
    timing: Timing,
    disk: DiskSpec,
    /// Per sending node: which datagrams are lost or duplicated.
    loss_rngs: Vec<StdRng>,
    /// Every datagram's latency.
    latency_rng: StdRng,
    /// Per directed link: bumped when a partition cuts it, dropping what is in flight.
    epochs: BTreeMap<(usize, usize), u64>,
    /// Per directed link: held datagrams, oldest first.
    waiting: BTreeMap<(usize, usize), VecDeque<Vec<u8>>>,
}

impl EventCluster {
    /// A cluster of `nodes` nodes of `core` (ballot's or raft-rs 0.7) configured by `config`,
    /// on `network` and `disk`, every random choice derived from `seed`; `None` for a core
    /// this build cannot run in the event world (the raft-rs 0.3 fixtures, for now).
    pub fn build(
        nodes: usize,
        core: CoreName,
        config: Config,
        network: NetworkSpec,
        disk: DiskSpec,
        seed: u64,
    ) -> Option<EventCluster> {
        let now = Arc::new(AtomicU64::new(0));
        let history = Arc::new(Mutex::new(History::new(nodes)));
        let addresses: Vec<SocketAddr> = (0..nodes)
            .map(|i| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1)), 7000))
            .collect();
        let members: BTreeMap<NodeId, SocketAddr> =
            addresses.iter().enumerate().map(|(i, &a)| (NodeId(i as u64), a)).collect();
        let mut boxed: Vec<Box<dyn EventNode + Send>> = Vec::new();
        for i in 0..nodes {
            let node_config = NodeConfig {
                id: NodeId(i as u64),
                cluster_id: CLUSTER_ID,
                members: members.clone(),
                core: config.clone(),
                seed: 0,
            };
            let seed_of: Box<dyn Fn(u64) -> u64 + Send> = Box::new(move |inc| {
                derive_seed(seed, &format!("node {i} core, incarnation {inc}"))
            });
            let time = Arc::new(EventTime { now_ms: now.clone(), clock: ClockCell::default() });
            let disk_rng = StdRng::seed_from_u64(derive_seed(seed, &format!("node {i} disk")));
            let fs = EventFs::new(disk.clone(), disk_rng);
            let parts = NodeParts {
                index: i,
                config: node_config,
                seed_of,
                history: history.clone(),
                time,
                fs,
            };
            boxed.push(match core {
                CoreName::Ballot => new_node::<Raft>(parts),
                #[cfg(feature = "raft-rs")]
                CoreName::RaftRs => new_node::<ballot_raft_rs::RaftRs>(parts),
                #[allow(unreachable_patterns)]
                other => installed(other)?(parts),
            });
        }
        let loss_rngs = (0..nodes)
            .map(|i| StdRng::seed_from_u64(derive_seed(seed, &format!("node {i} network"))))
            .collect();
        let timing = Timing::of(&config).with_disk(&disk).on_core(core);
        let mut cluster = EventCluster {
            now,
            queue: Agenda::default(),
            nodes: boxed,
            addresses,
            wakes: vec![None; nodes],
            turns_due: vec![false; nodes],
            incarnations: vec![0; nodes],
            history,
            conditions: Conditions::new(nodes, network).with_disk(disk.clone()),
            timing,
            disk,
            loss_rngs,
            latency_rng: StdRng::seed_from_u64(derive_seed(seed, "event network")),
            epochs: BTreeMap::new(),
            waiting: BTreeMap::new(),
        };
        for n in 0..nodes {
            cluster.start(n);
        }
        Some(cluster)
    }

    /// The election timing every node runs with.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The disks' latencies.
    pub fn disk(&self) -> &DiskSpec {
        &self.disk
    }

    fn now(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    fn schedule(&mut self, at: u64, due: Due) -> Key {
        self.queue.push(at, due)
    }

    /// Sets node `n`'s timer to `at` (none: no timer), replacing the one it had.
    fn set_wake(&mut self, n: usize, at: Option<u64>) {
        if self.wakes[n].map(|(t, _)| t) == at {
            return;
        }
        self.wakes[n] = at.map(|at| self.schedule(at, Due::Wake { node: n }));
    }

    fn start(&mut self, n: usize) {
        self.incarnations[n] += 1;
        self.nodes[n].start(self.incarnations[n]);
        self.turn(n);
    }

    /// Lets node `n` act, then routes what it sent and schedules what it waits for.
    fn turn(&mut self, n: usize) {
        let mut out = Vec::new();
        let next = self.nodes[n].turn(&mut out);
        self.settle(n, out, next);
    }

    fn settle(&mut self, n: usize, out: Vec<Datagram>, next: Next) {
        for datagram in out {
            self.send(n, datagram);
        }
        let now = self.now();
        match next {
            Next::Timer(at) if at.is_finite() => {
                self.set_wake(n, Some((at.ceil() as u64).max(now + 1)));
            }
            Next::Disk(ms) => {
                self.set_wake(n, None);
                let incarnation = self.incarnations[n];
                self.schedule(now + ms, Due::Disk { node: n, incarnation });
            }
            Next::Timer(_) | Next::Nothing => self.set_wake(n, None),
        }
    }

    /// Sends one datagram from node `from` as the turmoil world's socket does: lost or
    /// duplicated as the conditions say, held on a held link (or behind what it holds), dropped
    /// on a cut one, else delivered after a latency drawn from the conditions' range.
    fn send(&mut self, from: usize, datagram: Datagram) {
        let Some(to) = self.addresses.iter().position(|a| *a == datagram.to) else { return };
        let (loss, duplicate) = (self.conditions.loss, self.conditions.duplicate);
        let rng = &mut self.loss_rngs[from];
        let lost = loss > 0.0 && rng.random_bool(loss);
        let twice = duplicate > 0.0 && rng.random_bool(duplicate);
        if lost {
            return;
        }
        let copies = if twice { 2 } else { 1 };
        let link = (from, to);
        let queue = self.waiting.entry(link).or_default();
        if self.conditions.held.contains(&link) || !queue.is_empty() {
            queue.extend(std::iter::repeat_n(datagram.bytes, copies));
            return;
        }
        if twice {
            self.transmit(from, to, datagram.bytes.clone());
        }
        self.transmit(from, to, datagram.bytes);
    }

    /// Puts a datagram on the wire, unless its link is cut.
    fn transmit(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        if self.conditions.blocked.contains(&(from, to)) {
            return;
        }
        // In whole milliseconds, as turmoil delivers.
        let latency =
            super::draw_latency_ms(&mut self.latency_rng, self.conditions.latency_ms) as u64;
        // turmoil runs its hosts in order once a tick, each taking what was due before it ran:
        // a datagram with no latency reaches a later host in the same tick, an earlier one
        // (or itself) in the next. So no exchange goes back and forth within one instant.
        let latency = if latency == 0 && to <= from { 1 } else { latency };
        let epoch = self.epochs.get(&(from, to)).copied().unwrap_or_default();
        let at = self.now() + latency;
        self.schedule(at, Due::Deliver { from, to, bytes, epoch });
    }

    fn handle(&mut self, key: Key, due: Due) {
        match due {
            Due::Deliver { from, to, bytes, epoch } => {
                let current = self.epochs.get(&(from, to)).copied().unwrap_or_default();
                if epoch != current || !self.conditions.up[to] {
                    return;
                }
                self.nodes[to].arrive(self.addresses[from], bytes);
                if !self.turns_due[to] {
                    self.turns_due[to] = true;
                    self.schedule(self.now(), Due::Turn { node: to });
                }
            }
            Due::Turn { node } => {
                self.turns_due[node] = false;
                self.turn(node);
            }
            Due::Wake { node } => {
                if self.wakes[node] == Some(key) {
                    self.wakes[node] = None;
                    self.turn(node);
                }
            }
            Due::Disk { node, incarnation } => {
                if self.incarnations[node] == incarnation && self.conditions.up[node] {
                    let mut out = Vec::new();
                    let next = self.nodes[node].disk_done(&mut out);
                    self.settle(node, out, next);
                }
            }
        }
    }

    /// Makes the nodes and the network match the conditions after a fault.
    fn sync(&mut self, before: &Conditions) {
        let now = self.now();
        let after = self.conditions.clone();
        for n in 0..self.size() {
            match (before.up[n], after.up[n]) {
                (true, false) => {
                    let how = if after.lost_power[n] { Stop::PowerLoss } else { Stop::Crash };
                    self.nodes[n].crash(how, now as f64);
                    self.incarnations[n] += 1;
                    self.set_wake(n, None);
                    self.record_event(Some(n), EventKind::Crash);
                }
                (false, true) => {
                    self.record_event(Some(n), EventKind::Restart);
                    self.start(n);
                }
                _ => {}
            }
            if before.clock_rates[n] != after.clock_rates[n] {
                self.nodes[n].set_clock_rate(now as f64, after.clock_rates[n]);
                self.turn(n);
            }
            if before.paused[n] != after.paused[n] {
                self.nodes[n].set_paused(after.paused[n]);
                self.turn(n);
            }
            if before.disk != after.disk {
                self.nodes[n].set_disk(after.disk.clone());
            }
        }
        for &link in after.blocked.difference(&before.blocked) {
            *self.epochs.entry(link).or_default() += 1;
        }
        for &(from, to) in before.held.difference(&after.held) {
            let released = self.waiting.remove(&(from, to)).unwrap_or_default();
            for bytes in released {
                self.transmit(from, to, bytes);
            }
        }
    }
}

/// Makes an event-world node of core `C` (see [`EventNodeFn`]).
pub(crate) fn new_node<C: ElectionCore>(parts: NodeParts) -> Box<dyn EventNode + Send> {
    Box::new(CoreNode::<C>::new(parts))
}

/// Makes an event-world node of one core.
type EventNodeFn = fn(NodeParts) -> Box<dyn EventNode + Send>;

/// Cores a fixture build installed, by name, and how to make a node of each.
static INSTALLED: Mutex<BTreeMap<CoreName, EventNodeFn>> = Mutex::new(BTreeMap::new());

/// Makes `core`, implemented by `C`, runnable in the event world (see
/// [`crate::cores::install`]).
pub(crate) fn install<C: ElectionCore>(core: CoreName) {
    INSTALLED.lock().expect("installed cores").insert(core, new_node::<C>);
}

/// How to make a node on `core` in the event world, if a fixture build installed it.
fn installed(core: CoreName) -> Option<EventNodeFn> {
    INSTALLED.lock().expect("installed cores").get(&core).copied()
}

impl World for EventCluster {
    fn size(&self) -> usize {
        self.nodes.len()
    }

    fn now_ms(&self) -> f64 {
        self.now() as f64
    }

    fn run_to(&mut self, ms: u64) {
        while let Some((key, due)) = self.queue.pop_before(ms) {
            self.now.store(key.0.max(self.now()), Ordering::Relaxed);
            self.handle(key, due);
        }
        self.now.store(ms.max(self.now()), Ordering::Relaxed);
    }

    fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> R {
        f(&self.history.lock().expect("history lock"))
    }

    fn conditions(&self) -> &Conditions {
        &self.conditions
    }

    fn record_event(&self, node: Option<usize>, kind: EventKind) {
        let t = self.now_ms();
        self.history.lock().expect("history lock").record(t, node, kind);
    }

    fn apply(&mut self, op: Op) -> bool {
        let before = self.conditions.clone();
        let applied = op.apply(&mut self.conditions);
        let step = Step::at(self.now(), op);
        self.record_event(None, EventKind::Fault { step: step.clone(), skipped: !applied });
        if applied {
            self.sync(&before);
            if let Op::Corrupt(c) = &step.op {
                self.nodes[faults::index(c.node)].damage(c.what);
            }
            let request = match &step.op {
                Op::Propose(p) => Some((faults::index(p.node), Request::Propose(p.payload()))),
                Op::Transfer(t) => Some((
                    faults::index(t.node),
                    Request::Transfer(NodeId(faults::index(t.to) as u64)),
                )),
                _ => None,
            };
            if let Some((n, request)) = request {
                self.nodes[n].request(request);
                self.turn(n);
            }
        }
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the world asks of it.
    struct Probe(Arc<Mutex<Vec<&'static str>>>);

    impl EventNode for Probe {
        fn start(&mut self, _: u64) {}
        fn crash(&mut self, _: Stop, _: f64) {}
        fn damage(&mut self, _: ballot_schedule::faults::Damage) {}
        fn arrive(&mut self, _: SocketAddr, _: Vec<u8>) {
            self.0.lock().unwrap().push("arrive");
        }
        fn request(&mut self, _: Request) {}
        fn set_paused(&mut self, _: bool) {}
        fn set_clock_rate(&mut self, _: f64, _: f64) {}
        fn set_disk(&mut self, _: DiskSpec) {}
        fn turn(&mut self, _: &mut Vec<Datagram>) -> Next {
            self.0.lock().unwrap().push("turn");
            Next::Nothing
        }
        fn disk_done(&mut self, _: &mut Vec<Datagram>) -> Next {
            Next::Nothing
        }
    }

    fn cluster(network: NetworkSpec) -> EventCluster {
        let disk = DiskSpec::default();
        EventCluster::build(3, CoreName::Ballot, Config::default(), network, disk, 1).unwrap()
    }

    /// As turmoil delivers a tick's datagrams before the node runs, so that a node answers a
    /// burst in one turn (one resend, not one per copy: a duplicating network would otherwise
    /// multiply refusal-and-resend exchanges without end).
    #[test]
    fn datagrams_of_the_same_instant_are_taken_in_one_turn() {
        let mut cluster = cluster(NetworkSpec::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        cluster.nodes[0] = Box::new(Probe(seen.clone()));
        let at = cluster.now() + 5;
        for from in [1, 2, 1] {
            cluster.schedule(at, Due::Deliver { from, to: 0, bytes: vec![1], epoch: 0 });
        }
        cluster.schedule(at + 1, Due::Deliver { from: 2, to: 0, bytes: vec![2], epoch: 0 });
        cluster.run_to(at + 2);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, ["arrive", "arrive", "arrive", "turn", "arrive", "turn"]);
    }

    /// A datagram with no latency reaches a later node in the same instant and an earlier
    /// one in the next, as turmoil's hosts run in order once a tick: an exchange cannot go
    /// back and forth without end inside one instant (it did, 200 times a millisecond, under
    /// a bug that answered every refusal with a resend).
    #[test]
    fn no_latency_reaches_only_later_nodes_in_the_same_instant() {
        let network = NetworkSpec { latency_ms: [0, 0], ..NetworkSpec::default() };
        let mut cluster = cluster(network);
        cluster.queue.clear();
        let now = cluster.now();
        for to in 0..3 {
            let to = cluster.addresses[to];
            cluster.send(1, Datagram { to, bytes: vec![0] });
        }
        let mut arrivals: Vec<(usize, u64)> = cluster
            .queue
            .entries()
            .filter_map(|((at, _), d)| match d {
                Due::Deliver { to, .. } => Some((*to, at - now)),
                _ => None,
            })
            .collect();
        arrivals.sort_by_key(|&(to, after)| (after, to));
        assert_eq!(arrivals, [(2, 0), (0, 1), (1, 1)]);
    }

    /// A timer a later turn replaced does not wake the node; the one that replaced it does,
    /// once (a replaced timer used to wake it too, one turn per replaced timer).
    #[test]
    fn a_replaced_timer_does_not_wake_the_node() {
        let mut cluster = cluster(NetworkSpec::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        cluster.nodes[0] = Box::new(Probe(seen.clone()));
        let now = cluster.now();
        cluster.set_wake(0, Some(now + 7));
        cluster.set_wake(0, Some(now + 9));
        cluster.run_to(now + 9);
        assert!(seen.lock().unwrap().is_empty(), "woken by the replaced timer");
        cluster.run_to(now + 10);
        assert_eq!(*seen.lock().unwrap(), ["turn"]);
        cluster.set_wake(0, Some(now + 12));
        cluster.set_wake(0, None);
        cluster.run_to(now + 20);
        assert_eq!(*seen.lock().unwrap(), ["turn"], "woken by a cancelled timer");
    }
}
