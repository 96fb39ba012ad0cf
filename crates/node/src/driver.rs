//! The node's task: feeds the core with time, messages and requests, and carries out its
//! Ready: persist, then send, then report.

use crate::api::{Command, Committed, Leadership, NodeHandle, NodeStats, RequestError};
use crate::clock::Clock;
use crate::core::{Batch, ElectionCore, MessageKind};
use crate::events::{NodeEvent, Observer};
use crate::storage::{Storage, StorageError};
use crate::transport::Transport;
use crate::wire::{self, MAX_DATAGRAM};
use ballot_core::{
    Config, InitError, LogIndex, NodeId, ProposeError, Raft, RaftOptions, Term, TransferError,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn, Instrument};

/// Most datagrams taken in one turn of the node's loop before it flushes (and checks its
/// timers again).
const RECEIVE_BATCH: usize = 64;

/// Everything a node needs to know to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node.
    pub id: NodeId,
    /// Datagrams of any other cluster id are dropped.
    pub cluster_id: u64,
    /// Every member (this node included) and its datagram address.
    pub members: BTreeMap<NodeId, SocketAddr>,
    /// The election core's settings.
    pub core: Config,
    /// Seed of the core's RNG (its election timeouts).
    pub seed: u64,
}

/// Why a node could not start, or had to stop.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The configuration or the persisted state is unusable.
    #[error(transparent)]
    Init(#[from] InitError),
    /// Storage failed; the node stopped before anything unpersisted could leave it.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A running election node: the core (ballot's own unless another [`ElectionCore`] is
/// named), a transport, a storage and a clock.
pub struct Node<T, S, C: ElectionCore = Raft> {
    core: C,
    config: NodeConfig,
    addresses: BTreeMap<SocketAddr, NodeId>,
    transport: T,
    storage: S,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn Observer>,
    commands: mpsc::UnboundedReceiver<Command>,
    leadership: watch::Sender<Leadership>,
    stats: Arc<Mutex<NodeStats>>,
    pending: BTreeMap<LogIndex, (Term, oneshot::Sender<Result<Committed, RequestError>>)>,
}

impl<T: Transport, S: Storage> Node<T, S> {
    /// Loads the persisted state and builds a node of ballot's core; [`Node::run`] starts it.
    pub fn new(
        config: NodeConfig,
        transport: T,
        storage: S,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn Observer>,
    ) -> Result<(Node<T, S>, NodeHandle), NodeError> {
        Node::with_core(config, transport, storage, clock, observer)
    }
}

impl<T: Transport, S: Storage, C: ElectionCore> Node<T, S, C> {
    /// Loads the persisted state and builds a node of core `C`; [`Node::run`] starts it.
    pub fn with_core(
        config: NodeConfig,
        transport: T,
        mut storage: S,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn Observer>,
    ) -> Result<(Node<T, S, C>, NodeHandle), NodeError> {
        wire::check_budget(&config.core).map_err(InitError::Config)?;
        let persisted = storage.load()?;
        let (hard_state, log_len) = (persisted.hard_state, persisted.entries.len() as u64);
        let core = C::start(RaftOptions {
            id: config.id,
            members: config.members.keys().copied().collect(),
            config: config.core.clone(),
            persisted,
            seed: config.seed,
            now_ms: clock.now_ms(),
            applied: 0,
        })?;
        observer.event(config.id, &NodeEvent::Started { hard_state, log_len });
        let soft = core.soft_state();
        let (leadership, rx) = watch::channel(Leadership {
            node: config.id,
            role: soft.role,
            term: soft.term,
            leader: soft.leader,
            lease_until: None,
            stopped: false,
        });
        let (tx, commands) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(NodeStats::default()));
        let handle =
            NodeHandle { commands: tx, leadership: rx, clock: clock.clone(), stats: stats.clone() };
        let addresses = config.members.iter().map(|(&id, &addr)| (addr, id)).collect();
        let node = Node {
            core,
            config,
            addresses,
            transport,
            storage,
            clock,
            observer,
            commands,
            leadership,
            stats,
            pending: BTreeMap::new(),
        };
        Ok((node, handle))
    }

    /// Runs until shut down, inside a `node` tracing span carrying its id (each batch of
    /// work in a `term` span).
    ///
    /// Runs until shut down (`Ok`) or until it cannot go on safely (`Err`, after publishing
    /// `stopped` and reporting [`NodeEvent::Stopped`]).
    pub async fn run(mut self) -> Result<(), NodeError> {
        let span = tracing::info_span!("node", id = self.config.id.0);
        let result = self.run_loop().instrument(span).await;
        if let Err(e) = &result {
            warn!(node = self.config.id.0, error = %e, "node stopped");
            self.observer.event(self.config.id, &NodeEvent::Stopped { error: e.to_string() });
        }
        self.leadership.send_modify(|l| l.stopped = true);
        for (_, (_, reply)) in std::mem::take(&mut self.pending) {
            let _ = reply.send(Err(RequestError::Stopped));
        }
        result
    }

    async fn run_loop(&mut self) -> Result<(), NodeError> {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        let mut commands_open = true;
        loop {
            let now = self.clock.now_ms();
            if now >= self.core.next_deadline() {
                self.core.tick(now);
            }
            // Every request that queued up (while the disk was busy, say) is taken now and
            // persisted in one write, so that a burst of proposals neither costs a sync each
            // nor keeps the node from hearing its peers.
            while commands_open {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) => return Ok(()),
                    Ok(command) => self.handle_command(command),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => commands_open = false,
                }
            }
            let term = self.core.soft_state().term.0;
            self.flush().instrument(tracing::info_span!("term", term)).await?;
            // Never sleep zero: a deadline the core left in the past must not spin the loop.
            let wake = self.core.next_deadline().max(self.clock.now_ms() + 1);
            let sleep = self.clock.sleep_until(wake);
            // `biased`: tokio's random branch choice is not seeded, and must not decide
            // anything in a simulation. Timers and requests cannot starve: they are taken
            // above, at every turn.
            tokio::select! {
                biased;
                received = self.transport.recv_from(&mut buf) => match received {
                    Ok((len, from)) => {
                        if self.receive(&buf[..len], from) {
                            self.receive_backlog(&mut buf);
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "receive failed");
                        self.count_drop("recv_error");
                    }
                },
                command = self.commands.recv(), if commands_open => match command {
                    Some(Command::Shutdown) => return Ok(()),
                    Some(command) => self.handle_command(command),
                    None => commands_open = false,
                },
                () = sleep => {}
            }
        }
    }

    fn handle_command(&mut self, command: Command) {
        let now = self.clock.now_ms();
        match command {
            Command::Propose(data, reply) => match self.core.propose(data.clone(), now) {
                Ok(index) => {
                    let term = self.core.soft_state().term;
                    let event = NodeEvent::Proposed { index, term, data };
                    self.observer.event(self.config.id, &event);
                    self.pending.insert(index, (term, reply));
                }
                Err(e) => {
                    let error = match e {
                        ProposeError::NotLeader { leader } => RequestError::NotLeader { leader },
                        ProposeError::TransferInProgress(_) => RequestError::TransferInProgress,
                        ProposeError::TooLarge { bytes, max } => {
                            RequestError::TooLarge { bytes, max }
                        }
                    };
                    let event =
                        NodeEvent::ProposeRefused { bytes: data.len(), error: error.clone() };
                    self.observer.event(self.config.id, &event);
                    let _ = reply.send(Err(error));
                }
            },
            Command::Transfer(target, reply) => {
                let result = self.core.transfer_leadership(target, now);
                let _ = reply.send(result.map_err(|e| match e {
                    TransferError::NotLeader { leader } => RequestError::NotLeader { leader },
                    TransferError::UnknownNode(id) => RequestError::UnknownNode(id),
                    TransferError::InProgress(_) | TransferError::AlreadyHandedOver(_) => {
                        RequestError::TransferInProgress
                    }
                }));
            }
            Command::Reconfigure(core, reply) => {
                let result = wire::check_budget(&core).and_then(|()| self.core.set_config(core));
                let _ = reply.send(result.map_err(|e| RequestError::InvalidConfig(e.to_string())));
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    /// Hands one datagram to the core; returns whether more of a backlog may be taken in the
    /// same turn (see [`Node::receive_backlog`]).
    fn receive(&mut self, datagram: &[u8], from: SocketAddr) -> bool {
        let msg = match wire::decode::<C>(self.config.cluster_id, datagram) {
            Ok(msg) => msg,
            Err(e) => {
                self.count_drop(e.kind());
                return true;
            }
        };
        let envelope = C::envelope(&msg);
        if self.addresses.get(&from) != Some(&envelope.from) {
            self.count_drop("wrong_source");
            return true;
        }
        let from = envelope.from;
        let append_entries = envelope.kind == MessageKind::AppendEntries;
        if let Err(e) = self.core.step(msg, self.clock.now_ms()) {
            warn!(error = %e, "message refused");
            self.count_drop("refused");
            return true;
        }
        self.stats.lock().expect("stats lock").received += 1;
        let from_leader = self.core.soft_state().leader == Some(from);
        let event = NodeEvent::Received { from, append_entries, from_leader };
        self.observer.event(self.config.id, &event);
        matches!(envelope.kind, MessageKind::AppendEntries | MessageKind::AppendAnswer { .. })
    }

    /// Takes what else has already arrived (up to [`RECEIVE_BATCH`] datagrams), so that one
    /// flush, and at most one write to the disk, answers a backlog of replication traffic: a
    /// node whose disk is slow must not hear its peers one datagram per write. The turn ends
    /// after anything else (a vote request, say), so that its answer leaves, and is recorded,
    /// before whatever arrived after it is handled.
    fn receive_backlog(&mut self, buf: &mut [u8]) {
        for _ in 1..RECEIVE_BATCH {
            match self.transport.try_recv_from(buf) {
                Ok(Some((len, from))) => {
                    if !self.receive(&buf[..len], from) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    warn!(error = %e, "receive failed");
                    self.count_drop("recv_error");
                    break;
                }
            }
        }
    }

    fn count_drop(&mut self, reason: &'static str) {
        *self.stats.lock().expect("stats lock").dropped.entry(reason).or_default() += 1;
        self.observer.event(self.config.id, &NodeEvent::Dropped { reason });
    }

    /// Carries out every pending Ready: send what may go at once, persist, send the rest,
    /// report commits, advance.
    async fn flush(&mut self) -> Result<(), NodeError> {
        while let Some(ready) = self.core.ready() {
            let Batch {
                soft_state,
                hard_state,
                log_write,
                messages,
                persisted_messages,
                committed,
                marks,
            } = ready;
            for mark in marks {
                self.observer.event(self.config.id, &NodeEvent::Mark(mark));
            }
            if let Some(soft) = soft_state {
                info!(role = %soft.role, term = soft.term.0, leader = ?soft.leader.map(|l| l.0), "role");
                let event =
                    NodeEvent::Role { role: soft.role, term: soft.term, leader: soft.leader };
                self.observer.event(self.config.id, &event);
            }
            self.send_all(messages).await;
            if hard_state.is_some() || log_write.is_some() {
                self.storage.save(hard_state, log_write.as_ref()).await?;
                let entries =
                    log_write.map(|w| (w.first_index, w.entries.iter().map(|e| e.term).collect()));
                self.observer.event(self.config.id, &NodeEvent::Persisted { hard_state, entries });
            }
            self.send_all(persisted_messages).await;
            for entry in committed {
                let (index, term) = (entry.index, entry.term);
                self.observer.event(self.config.id, &NodeEvent::Committed { index, term });
                if let Some((proposed, reply)) = self.pending.remove(&index) {
                    let outcome = if proposed == term {
                        Ok(Committed { index, term })
                    } else {
                        Err(RequestError::Superseded { index, by: term })
                    };
                    let _ = reply.send(outcome);
                }
            }
            self.core.advance();
        }
        self.publish();
        Ok(())
    }

    async fn send_all(&mut self, messages: Vec<C::Message>) {
        for msg in messages {
            let envelope = C::envelope(&msg);
            let to = envelope.to;
            match envelope.kind {
                MessageKind::VoteAnswer { term, granted, pre_vote } => {
                    let event = NodeEvent::Vote { term, candidate: to, granted, pre_vote };
                    self.observer.event(self.config.id, &event);
                }
                MessageKind::AppendAnswer { term, success, index } => {
                    let event = NodeEvent::AppendAnswered { leader: to, term, success, index };
                    self.observer.event(self.config.id, &event);
                }
                MessageKind::AppendEntries | MessageKind::Other => {}
            }
            let Some(&addr) = self.config.members.get(&to) else { continue };
            match wire::encode::<C>(self.config.cluster_id, &msg) {
                Ok(bytes) => {
                    if let Err(e) = self.transport.send_to(&bytes, addr).await {
                        warn!(error = %e, to = to.0, "send failed");
                    }
                }
                Err(e) => {
                    warn!(error = %e, to = to.0, "message not encodable");
                    self.count_drop("unencodable");
                }
            }
            self.stats.lock().expect("stats lock").sent += 1;
            self.observer.event(self.config.id, &NodeEvent::Sent { to });
        }
    }

    /// Publishes leadership; watchers wake only when role, term or leader changed.
    fn publish(&mut self) {
        let soft = self.core.soft_state();
        let lease_until = self.core.lease_expires_at();
        if lease_until != self.leadership.borrow().lease_until {
            self.observer.event(self.config.id, &NodeEvent::Lease { until: lease_until });
        }
        self.leadership.send_if_modified(|l| {
            let changed = (l.role, l.term, l.leader) != (soft.role, soft.term, soft.leader);
            l.role = soft.role;
            l.term = soft.term;
            l.leader = soft.leader;
            l.lease_until = lease_until;
            changed
        });
    }
}
