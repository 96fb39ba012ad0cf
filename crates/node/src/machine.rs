//! The node's contract with its core, sans IO: what a node does with time, datagrams,
//! requests and the core's batches (persist before send, what it reports, what it drops),
//! leaving only the sending, the writing and the waiting to whoever runs it. The async
//! [`Node`](crate::Node) runs it over a transport and a disk; a simulator can run it on a
//! queue of events, and both then do exactly what a node does.

use crate::api::{Leadership, NodeStats, RequestError};
use crate::core::{Batch, ElectionCore, MessageKind};
use crate::events::{NodeEvent, Observer};
use crate::wire;
use ballot_core::{
    Config, HardState, InitError, LogIndex, LogWrite, Millis, NodeId, ProposeError, RaftOptions,
    Term, TransferError,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tracing::{info, warn};

/// What a node needs to know of its cluster to run its core.
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

/// One encoded datagram and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The addressee's address.
    pub to: SocketAddr,
    /// The bytes, header included.
    pub bytes: Vec<u8>,
}

/// What a node writes to its disk for one batch, before the batch's other messages leave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// Term and vote, if they changed.
    pub hard_state: Option<HardState>,
    /// Log entries (replacing any stored suffix from their first index).
    pub log_write: Option<LogWrite>,
}

/// One batch of the core's work, split at the disk: send `first`, make `write` durable, then
/// hand the batch back to [`NodeMachine::finish`] for what depends on the write.
#[derive(Debug)]
pub struct Flush<M> {
    /// Datagrams that may leave at once.
    pub first: Vec<Datagram>,
    /// What must be durable before the rest leaves; `None`: nothing to write.
    pub write: Option<Write>,
    persisted_messages: Vec<M>,
    committed: Vec<(LogIndex, Term)>,
}

/// What a batch left once its write was durable.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Finished {
    /// Datagrams that waited for the write.
    pub after: Vec<Datagram>,
    /// Entries newly committed here, in log order: index and term.
    pub committed: Vec<(LogIndex, Term)>,
}

/// A node's core and everything it reports, without IO: see the module's documentation.
pub struct NodeMachine<C: ElectionCore> {
    core: C,
    config: NodeConfig,
    addresses: BTreeMap<SocketAddr, NodeId>,
    observer: Arc<dyn Observer>,
    stats: Arc<Mutex<NodeStats>>,
    leadership: watch::Sender<Leadership>,
}

impl<C: ElectionCore> NodeMachine<C> {
    /// Starts core `C` from `persisted` at local time `now_ms` and reports
    /// [`NodeEvent::Started`].
    pub fn start(
        config: NodeConfig,
        persisted: ballot_core::PersistedState,
        now_ms: Millis,
        observer: Arc<dyn Observer>,
    ) -> Result<NodeMachine<C>, InitError> {
        wire::check_budget(&config.core).map_err(InitError::Config)?;
        let (hard_state, log_len) = (persisted.hard_state, persisted.entries.len() as u64);
        let mut log_terms: Vec<(Term, u64)> = Vec::new();
        for entry in &persisted.entries {
            match log_terms.last_mut() {
                Some((term, run)) if *term == entry.term => *run += 1,
                _ => log_terms.push((entry.term, 1)),
            }
        }
        let core = C::start(RaftOptions {
            id: config.id,
            members: config.members.keys().copied().collect(),
            config: config.core.clone(),
            persisted,
            seed: config.seed,
            now_ms,
            applied: 0,
        })?;
        observer.event(config.id, &NodeEvent::Started { hard_state, log_len, log_terms });
        let soft = core.soft_state();
        let (leadership, _) = watch::channel(Leadership {
            node: config.id,
            role: soft.role,
            term: soft.term,
            leader: soft.leader,
            lease_until: None,
            stopped: false,
        });
        let addresses = config.members.iter().map(|(&id, &addr)| (addr, id)).collect();
        let stats = Arc::new(Mutex::new(NodeStats::default()));
        Ok(NodeMachine { core, config, addresses, observer, stats, leadership })
    }

    /// The node woke at `now` for a deadline at `deadline` (local milliseconds): more than a
    /// heartbeat late is a stall, reported as [`NodeEvent::Stalled`].
    pub fn woke(&self, deadline: Millis, now: Millis) {
        let late_ms = now.saturating_sub(deadline);
        if late_ms > self.config.core.heartbeat_ms {
            self.observer.event(self.config.id, &NodeEvent::Stalled { late_ms });
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The core, for reading its state.
    pub fn core(&self) -> &C {
        &self.core
    }

    /// Leadership as last published, for watchers.
    pub fn watch(&self) -> watch::Receiver<Leadership> {
        self.leadership.subscribe()
    }

    /// Counters shared with the node's handles.
    pub fn stats(&self) -> Arc<Mutex<NodeStats>> {
        self.stats.clone()
    }

    /// The earliest local time at which [`NodeMachine::tick`] has work, milliseconds.
    pub fn next_deadline(&self) -> Millis {
        self.core.next_deadline()
    }

    /// Fires the core's timers if one is due at local time `now`.
    pub fn tick(&mut self, now: Millis) {
        if now >= self.core.next_deadline() {
            self.core.tick(now);
        }
    }

    /// An application's proposal: its index and term once appended, reported as
    /// [`NodeEvent::Proposed`] or [`NodeEvent::ProposeRefused`].
    pub fn propose(
        &mut self,
        data: Vec<u8>,
        now: Millis,
    ) -> Result<(LogIndex, Term), RequestError> {
        match self.core.propose(data.clone(), now) {
            Ok(index) => {
                let term = self.core.soft_state().term;
                self.observer.event(self.config.id, &NodeEvent::Proposed { index, term, data });
                Ok((index, term))
            }
            Err(e) => {
                let error = match e {
                    ProposeError::NotLeader { leader } => RequestError::NotLeader { leader },
                    ProposeError::TransferInProgress(_) => RequestError::TransferInProgress,
                    ProposeError::TooLarge { bytes, max } => RequestError::TooLarge { bytes, max },
                };
                let event = NodeEvent::ProposeRefused { bytes: data.len(), error: error.clone() };
                self.observer.event(self.config.id, &event);
                Err(error)
            }
        }
    }

    /// Hands leadership to `target` (or the most up-to-date follower).
    pub fn transfer(&mut self, target: Option<NodeId>, now: Millis) -> Result<(), RequestError> {
        self.core.transfer_leadership(target, now).map_err(|e| match e {
            TransferError::NotLeader { leader } => RequestError::NotLeader { leader },
            TransferError::UnknownNode(id) => RequestError::UnknownNode(id),
            TransferError::InProgress(_) | TransferError::AlreadyHandedOver(_) => {
                RequestError::TransferInProgress
            }
        })
    }

    /// Switches the running core's configuration (refused if its messages could outgrow a
    /// datagram).
    pub fn reconfigure(&mut self, core: Config) -> Result<(), RequestError> {
        wire::check_budget(&core)
            .and_then(|()| self.core.set_config(core))
            .map_err(|e| RequestError::InvalidConfig(e.to_string()))
    }

    /// Hands one datagram from `from` to the core at local time `now`, or drops it (counted,
    /// and reported as [`NodeEvent::Dropped`]). Returns whether more of a backlog may be
    /// taken before the next flush: replication traffic may, anything else (a vote request,
    /// say) ends the turn, so that its answer leaves before what arrived after it is handled.
    pub fn receive(&mut self, datagram: &[u8], from: SocketAddr, now: Millis) -> bool {
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
        if let Err(e) = self.core.step(msg, now) {
            warn!(error = %e, "message refused");
            self.count_drop("refused");
            return true;
        }
        self.stats.lock().expect("stats lock").received += 1;
        let from_leader = self.core.soft_state().leader == Some(from);
        let event = NodeEvent::Received { from, kind: envelope.kind, from_leader };
        self.observer.event(self.config.id, &event);
        matches!(envelope.kind, MessageKind::AppendEntries | MessageKind::AppendAnswer { .. })
    }

    /// Counts and reports a datagram dropped for `reason` (a receive error, say).
    pub fn count_drop(&mut self, reason: &'static str) {
        *self.stats.lock().expect("stats lock").dropped.entry(reason).or_default() += 1;
        self.observer.event(self.config.id, &NodeEvent::Dropped { reason });
    }

    /// Takes the core's next batch, if any: reports its marks and role change, and encodes
    /// what may leave at once. The caller sends `first`, makes `write` durable (then calls
    /// [`NodeMachine::persisted`]) and hands the batch to [`NodeMachine::finish`]; none other
    /// comes until then.
    pub fn next_flush(&mut self) -> Option<Flush<C::Message>> {
        let Batch {
            soft_state,
            hard_state,
            log_write,
            messages,
            persisted_messages,
            committed,
            marks,
        } = self.core.ready()?;
        for mark in marks {
            self.observer.event(self.config.id, &NodeEvent::Mark(mark));
        }
        if let Some(soft) = soft_state {
            info!(role = %soft.role, term = soft.term.0, leader = ?soft.leader.map(|l| l.0), "role");
            let event = NodeEvent::Role { role: soft.role, term: soft.term, leader: soft.leader };
            self.observer.event(self.config.id, &event);
        }
        let first = self.encode_all(messages);
        let write = (hard_state.is_some() || log_write.is_some())
            .then_some(Write { hard_state, log_write });
        let committed = committed.iter().map(|e| (e.index, e.term)).collect();
        Some(Flush { first, write, persisted_messages, committed })
    }

    /// Reports a batch's write durable ([`NodeEvent::Persisted`]), after `took_ms` of the
    /// node's clock.
    pub fn persisted(&mut self, write: &Write, took_ms: Millis) {
        let entries = write
            .log_write
            .as_ref()
            .map(|w| (w.first_index, w.entries.iter().map(|e| e.term).collect()));
        let event = NodeEvent::Persisted { hard_state: write.hard_state, entries, took_ms };
        self.observer.event(self.config.id, &event);
    }

    /// Ends a batch whose write (if any) is durable: encodes what waited for it, reports the
    /// commits and acknowledges the batch to the core.
    pub fn finish(&mut self, flush: Flush<C::Message>) -> Finished {
        let after = self.encode_all(flush.persisted_messages);
        for &(index, term) in &flush.committed {
            self.observer.event(self.config.id, &NodeEvent::Committed { index, term });
        }
        self.core.advance();
        Finished { after, committed: flush.committed }
    }

    /// Publishes leadership once no batch is pending; watchers wake only when role, term or
    /// leader changed. Reports a changed lease ([`NodeEvent::Lease`]).
    pub fn publish(&mut self) {
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

    /// Publishes that the node stopped.
    pub fn stop(&mut self) {
        self.leadership.send_modify(|l| l.stopped = true);
    }

    /// Encodes messages in order, reporting each answer and each send as it goes (a message
    /// to a node outside the cluster is skipped; one that cannot be encoded is dropped).
    fn encode_all(&mut self, messages: Vec<C::Message>) -> Vec<Datagram> {
        let mut out = Vec::with_capacity(messages.len());
        let mut sent = 0;
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
                MessageKind::AppendEntries
                | MessageKind::VoteRequest { .. }
                | MessageKind::Other => {}
            }
            let Some(&addr) = self.config.members.get(&to) else { continue };
            match wire::encode::<C>(self.config.cluster_id, &msg) {
                Ok(bytes) => out.push(Datagram { to: addr, bytes }),
                Err(e) => {
                    warn!(error = %e, to = to.0, "message not encodable");
                    self.count_drop("unencodable");
                }
            }
            sent += 1;
            self.observer.event(self.config.id, &NodeEvent::Sent { to, kind: envelope.kind });
        }
        self.stats.lock().expect("stats lock").sent += sent;
        out
    }
}
