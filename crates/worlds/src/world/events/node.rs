//! One node of the event world: the driver's contract ([`NodeMachine`]) run as the async
//! node's loop runs it, turn by turn (timers, queued requests, flush, then one datagram and
//! the backlog behind it), with the production storage over the event world's disk. A save
//! that takes time leaves the node waiting, as the async node awaits its disk.

use super::disk::{EventFs, Journal, Stop};
use crate::world::local_clock::{ClockCell, NodeTime};
use crate::world::recorder::Recorder;
use ballot_core::{Millis, NodeId};
use ballot_judge::history::{EventKind, History};
use ballot_node::{
    complete_now, Datagram, ElectionCore, FileStorage, Flush, NodeConfig, NodeMachine, Owner,
    Storage,
};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Most datagrams one turn takes before it flushes (the async node's `RECEIVE_BATCH`).
const RECEIVE_BATCH: usize = 64;

/// Most datagrams a node's socket holds before it drops what arrives (turmoil's
/// `udp_capacity`, 64; a kernel's receive buffer plays this part on a real host). Without
/// it, a core that answers a refusal with an immediate resend on a duplicating network
/// multiplies its messages without end while it waits for its disk.
const SOCKET_CAPACITY: usize = 64;

/// A request an application made of the node.
#[derive(Clone, Debug)]
pub(crate) enum Request {
    Propose(Vec<u8>),
    Transfer(NodeId),
}

/// Simulated time (shared by the whole world) and one node's clock.
pub(crate) struct EventTime {
    pub(crate) now_ms: Arc<AtomicU64>,
    pub(crate) clock: ClockCell,
}

impl NodeTime for EventTime {
    fn sim_ms(&self) -> f64 {
        self.now_ms.load(Ordering::Relaxed) as f64
    }

    fn local_ms(&self) -> f64 {
        self.clock.get().local_at(self.sim_ms())
    }

    fn sim_ms_at(&self, local: Millis) -> f64 {
        self.clock.get().sim_at(local)
    }
}

/// What a node is waiting for after its turn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Next {
    /// Its timer: wake at this simulated time (ms, may be infinite).
    Timer(f64),
    /// Its disk: the save completes after this many milliseconds.
    Disk(u64),
    /// Nothing: it is paused, crashed or stopped.
    Nothing,
}

/// A node that the event world drives, whichever core it runs.
pub(crate) trait EventNode {
    /// Starts (or restarts) from what the disk holds.
    fn start(&mut self, incarnation: u64);
    /// Stops `how` (a crash loses whatever the disk had not synced; a power loss any part of
    /// it), at simulated time `now_ms`.
    fn crash(&mut self, how: Stop, now_ms: f64);
    /// Damages its (stopped) disk's files at rest.
    fn damage(&mut self, what: ballot_schedule::faults::Damage);
    /// A datagram arrived (it waits in the socket until the node takes it, dropped if the
    /// socket is full).
    fn arrive(&mut self, from: SocketAddr, bytes: Vec<u8>);
    /// An application request arrived.
    fn request(&mut self, request: Request);
    /// Freezes or thaws the node.
    fn set_paused(&mut self, paused: bool);
    /// Changes the node's clock rate from simulated time `sim_ms` on.
    fn set_clock_rate(&mut self, sim_ms: f64, rate: f64);
    /// Its disk's latencies from now on.
    fn set_disk(&mut self, disk: ballot_schedule::DiskSpec);
    /// Runs the node until it waits; datagrams it sends go to `out`.
    fn turn(&mut self, out: &mut Vec<Datagram>) -> Next;
    /// The save it waited for is durable: carries on with its turn.
    fn disk_done(&mut self, out: &mut Vec<Datagram>) -> Next;
}

/// What a node is made of, whichever core it runs.
pub(crate) struct NodeParts {
    /// Its index in the cluster.
    pub(crate) index: usize,
    /// Its cluster and core settings (the seed is each incarnation's, from `seed_of`).
    pub(crate) config: NodeConfig,
    /// Derives an incarnation's core seed.
    pub(crate) seed_of: Box<dyn Fn(u64) -> u64 + Send>,
    /// The run's history.
    pub(crate) history: Arc<Mutex<History>>,
    /// Simulated time and the node's clock.
    pub(crate) time: Arc<EventTime>,
    /// Its disk.
    pub(crate) fs: EventFs,
}

/// A node of core `C`.
pub(crate) struct CoreNode<C: ElectionCore> {
    index: usize,
    config: NodeConfig,
    /// Derives each incarnation's core seed.
    seed_of: Box<dyn Fn(u64) -> u64 + Send>,
    history: Arc<Mutex<History>>,
    time: Arc<EventTime>,
    fs: EventFs,
    storage: FileStorage<EventFs>,
    machine: Option<NodeMachine<C>>,
    inbox: VecDeque<(SocketAddr, Vec<u8>)>,
    requests: VecDeque<Request>,
    /// A batch whose write is on the disk, when (simulated ms) the save began, and the
    /// disk's journal of it.
    saving: Option<(Flush<C::Message>, f64, Journal)>,
    paused: bool,
}

/// Where a node keeps its state on its disk (as in the turmoil world).
const STATE_PATH: &str = "/ballot/state";

impl<C: ElectionCore> CoreNode<C> {
    /// A node of a cluster, not started.
    pub(crate) fn new(parts: NodeParts) -> CoreNode<C> {
        let NodeParts { index, config, seed_of, history, time, fs } = parts;
        let storage = FileStorage::new(fs.clone(), STATE_PATH);
        CoreNode {
            index,
            config,
            seed_of,
            history,
            time,
            fs,
            storage,
            machine: None,
            inbox: VecDeque::new(),
            requests: VecDeque::new(),
            saving: None,
            paused: false,
        }
    }

    fn local_now(&self) -> Millis {
        self.time.local_ms().max(0.0) as Millis
    }

    fn stop(&mut self, error: String) {
        self.machine = None;
        let t = self.time.sim_ms();
        self.history.lock().expect("history lock").record(
            t,
            Some(self.index),
            EventKind::Stopped { error },
        );
    }

    /// The async node's loop from its top, until it waits.
    fn run(&mut self, out: &mut Vec<Datagram>) -> Next {
        loop {
            let now = self.local_now();
            let Some(machine) = self.machine.as_mut() else { return Next::Nothing };
            machine.tick(now);
            self.handle_requests();
            if let Some(next) = self.flush(out) {
                return next;
            }
            if !self.select() {
                return self.wait();
            }
        }
    }

    /// The async node's `select!`, biased: a datagram (and its backlog) first, else the
    /// requests that came; `false` if neither (it sleeps until its timer).
    fn select(&mut self) -> bool {
        self.receive() || self.handle_requests()
    }

    /// Hands every queued request to the core; `false` if there was none.
    fn handle_requests(&mut self) -> bool {
        if self.paused || self.requests.is_empty() {
            return false;
        }
        let now = self.local_now();
        let Some(machine) = self.machine.as_mut() else { return false };
        while let Some(request) = self.requests.pop_front() {
            match request {
                Request::Propose(data) => drop(machine.propose(data, now)),
                Request::Transfer(to) => drop(machine.transfer(Some(to), now)),
            }
        }
        true
    }

    /// Carries out every pending batch; `Some` if the node now waits (for its disk).
    fn flush(&mut self, out: &mut Vec<Datagram>) -> Option<Next> {
        loop {
            let machine = self.machine.as_mut()?;
            let Some(mut flush) = machine.next_flush() else { break };
            out.append(&mut flush.first);
            if let Some(write) = &flush.write {
                self.fs.begin();
                let saved =
                    complete_now(self.storage.save(write.hard_state, write.log_write.as_ref()))
                        .expect("the event world's disk never waits");
                if let Err(e) = saved {
                    self.stop(e.to_string());
                    return Some(Next::Nothing);
                }
                let (bill, journal) = self.fs.take_bill();
                if bill > 0 {
                    self.saving = Some((flush, self.time.sim_ms(), journal));
                    return Some(Next::Disk(bill));
                }
                machine.persisted(write, 0);
            }
            let finished = machine.finish(flush);
            out.extend(finished.after);
        }
        self.machine.as_mut()?.publish();
        None
    }

    /// Takes one datagram and the replication backlog behind it; `false` if none waits (or
    /// the node is paused).
    fn receive(&mut self) -> bool {
        if self.paused || self.inbox.is_empty() {
            return false;
        }
        let now = self.local_now();
        let Some(machine) = self.machine.as_mut() else { return false };
        for _ in 0..RECEIVE_BATCH {
            let Some((from, bytes)) = self.inbox.pop_front() else { break };
            if !machine.receive(&bytes, from, now) {
                break;
            }
        }
        true
    }

    /// What the node waits for between turns: its timer, unless paused.
    fn wait(&self) -> Next {
        let Some(machine) = self.machine.as_ref() else { return Next::Nothing };
        if self.paused {
            return Next::Nothing;
        }
        // Never sleep zero (as the async node): at least the next millisecond of its clock.
        let wake = machine.next_deadline().max(self.local_now() + 1);
        Next::Timer(self.time.sim_ms_at(wake))
    }
}

impl<C: ElectionCore> EventNode for CoreNode<C> {
    fn start(&mut self, incarnation: u64) {
        let recorder = Arc::new(Recorder {
            history: self.history.clone(),
            time: self.time.clone(),
            last_ack: Mutex::new(None),
            node_file: None,
        });
        let config = NodeConfig { seed: (self.seed_of)(incarnation), ..self.config.clone() };
        let owner = Owner { cluster_id: config.cluster_id, node: config.id };
        let started = self.storage.load(owner).map_err(|e| e.to_string()).and_then(|persisted| {
            NodeMachine::start(config, persisted, self.local_now(), recorder)
                .map_err(|e| e.to_string())
        });
        match started {
            Ok(machine) => self.machine = Some(machine),
            Err(error) => self.stop(error),
        }
    }

    fn crash(&mut self, how: Stop, now_ms: f64) {
        let in_save = self
            .saving
            .take()
            .map(|(_, started, journal)| ((now_ms - started).max(0.0) as u64, journal));
        self.fs.stop(how, in_save);
        self.storage = FileStorage::new(self.fs.clone(), STATE_PATH);
        self.machine = None;
        self.inbox.clear();
        self.requests.clear();
    }

    fn damage(&mut self, what: ballot_schedule::faults::Damage) {
        self.fs.damage(what);
    }

    fn arrive(&mut self, from: SocketAddr, bytes: Vec<u8>) {
        if self.machine.is_some() && self.inbox.len() < SOCKET_CAPACITY {
            self.inbox.push_back((from, bytes));
        }
    }

    fn request(&mut self, request: Request) {
        if self.machine.is_some() {
            self.requests.push_back(request);
        }
    }

    fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    fn set_disk(&mut self, disk: ballot_schedule::DiskSpec) {
        self.fs.set_spec(disk);
    }

    fn set_clock_rate(&mut self, sim_ms: f64, rate: f64) {
        let mut clock = self.time.clock.get();
        clock.set_rate(sim_ms, rate);
        self.time.clock.set(clock);
    }

    fn turn(&mut self, out: &mut Vec<Datagram>) -> Next {
        if self.saving.is_some() || self.paused || self.machine.is_none() {
            return Next::Nothing; // the disk's completion, a resume or a restart goes on
        }
        self.select();
        self.run(out)
    }

    fn disk_done(&mut self, out: &mut Vec<Datagram>) -> Next {
        let Some((flush, began, _)) = self.saving.take() else { return Next::Nothing };
        let Some(machine) = self.machine.as_mut() else { return Next::Nothing };
        if let Some(write) = &flush.write {
            machine.persisted(write, (self.time.sim_ms() - began).max(0.0).round() as Millis);
        }
        let finished = machine.finish(flush);
        out.extend(finished.after);
        if let Some(next) = self.flush(out) {
            return next;
        }
        if self.paused || !self.select() {
            return self.wait();
        }
        self.run(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_core::{Config, Raft};
    use ballot_schedule::DiskSpec;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    /// A paused node's socket fills and drops what comes after, as turmoil's and a kernel's do.
    #[test]
    fn a_full_socket_drops_what_arrives() {
        let address: SocketAddr = "10.0.0.1:7000".parse().unwrap();
        let parts = NodeParts {
            index: 0,
            config: NodeConfig {
                id: NodeId(0),
                cluster_id: 1,
                members: BTreeMap::from([(NodeId(0), address)]),
                core: Config::default(),
                seed: 0,
            },
            seed_of: Box::new(|_| 7),
            history: Arc::new(Mutex::new(History::new(1))),
            time: Arc::new(EventTime {
                now_ms: Arc::new(AtomicU64::new(0)),
                clock: ClockCell::default(),
            }),
            fs: EventFs::new(DiskSpec::default(), StdRng::seed_from_u64(1)),
        };
        let mut node = CoreNode::<Raft>::new(parts);
        node.start(1);
        node.set_paused(true);
        for i in 0..SOCKET_CAPACITY + 10 {
            node.arrive(address, vec![i as u8]);
        }
        assert_eq!(node.inbox.len(), SOCKET_CAPACITY);
        assert_eq!(node.inbox.back().map(|(_, b)| b[0]), Some(SOCKET_CAPACITY as u8 - 1));
    }
}
