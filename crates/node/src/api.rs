//! What applications use: who leads, in which term, watch for changes, propose, hand over.

use crate::clock::Clock;
use ballot_core::{Config, LogIndex, Millis, NodeId, Role, Term};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};

/// Leadership as one node sees it; published on every change of role, term or leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leadership {
    /// This node.
    pub node: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term: the fencing token of whoever leads in it.
    pub term: Term,
    /// The leader it knows of in `term`.
    pub leader: Option<NodeId>,
    /// Local time (milliseconds) until which this node's leader lease holds, if it has one.
    pub lease_until: Option<Millis>,
    /// The node stopped (disk failure or shutdown) and no longer takes part.
    pub stopped: bool,
}

/// Proof of leadership handed to an application: attach `term` to every write to shared
/// resources, so that they can refuse writes from older leaders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderToken {
    /// The fencing token: the term this node leads.
    pub term: Term,
    /// Whether the leader lease is valid now: no other node can be leader at this instant.
    pub lease_valid: bool,
}

/// A proposal that committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Its log index.
    pub index: LogIndex,
    /// The term it was proposed in.
    pub term: Term,
}

/// Why a proposal, or a transfer, did not go through.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RequestError {
    /// Only the leader accepts it.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader this node knows of: retry there.
        leader: Option<NodeId>,
    },
    /// A leadership transfer is under way.
    #[error("leadership transfer in progress")]
    TransferInProgress,
    /// The proposal is larger than one message carries; it was not taken.
    #[error("proposal of {bytes} bytes is larger than the {max} bytes one message carries")]
    TooLarge {
        /// The proposal's size, bytes.
        bytes: usize,
        /// The largest proposal accepted, bytes.
        max: usize,
    },
    /// A new leader overwrote the entry before it committed; it will never commit.
    #[error("entry {index} was superseded by a leader of {by}")]
    Superseded {
        /// Index of the lost entry.
        index: LogIndex,
        /// Term of the entry that took its place.
        by: Term,
    },
    /// The target node is not a member.
    #[error("node {0} is not a member")]
    UnknownNode(NodeId),
    /// The node has stopped.
    #[error("node stopped")]
    Stopped,
    /// The configuration was refused; the node keeps its old one.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// What a [`NodeHandle`] asks of the node it is a handle on: what the node's task serves
/// (ballot's driver, or an adapter over another Raft library, see [`NodeHandle::served`]).
#[derive(Debug)]
pub enum Command {
    /// Propose this value; the reply when it committed (or cannot).
    Propose(Vec<u8>, oneshot::Sender<Result<Committed, RequestError>>),
    /// Hand leadership to this member (the most up-to-date follower when `None`); the reply
    /// when the transfer started.
    Transfer(Option<NodeId>, oneshot::Sender<Result<(), RequestError>>),
    /// Switch to this core configuration.
    Reconfigure(Config, oneshot::Sender<Result<(), RequestError>>),
    /// Stop.
    Shutdown,
}

/// Counters a node keeps: messages in and out, drops by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Messages sent.
    pub sent: u64,
    /// Messages received and handed to the core.
    pub received: u64,
    /// Datagrams dropped, by reason: incoming ones refused, outgoing ones that could not be
    /// encoded (`unencodable`).
    pub dropped: BTreeMap<&'static str, u64>,
}

/// A cheap, cloneable handle on a running node.
#[derive(Clone)]
pub struct NodeHandle {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) leadership: watch::Receiver<Leadership>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) stats: Arc<Mutex<NodeStats>>,
}

impl NodeHandle {
    /// A handle on a node that another task serves (an adapter over another Raft library):
    /// the handle, the commands it sends, and where that task publishes leadership as it
    /// changes (starting from `leadership`). Its clock reads a lease's end.
    pub fn served(
        leadership: Leadership,
        clock: Arc<dyn Clock>,
    ) -> (NodeHandle, mpsc::UnboundedReceiver<Command>, watch::Sender<Leadership>) {
        let (commands, requests) = mpsc::unbounded_channel();
        let (publish, watched) = watch::channel(leadership);
        let stats = Arc::default();
        (NodeHandle { commands, leadership: watched, clock, stats }, requests, publish)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.leadership.borrow().node
    }

    /// Leadership as this node sees it now.
    pub fn leadership(&self) -> Leadership {
        *self.leadership.borrow()
    }

    /// A receiver that wakes on every change of role, term or leader.
    pub fn watch(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// `Some` while this node is leader: its fencing token and whether its lease is valid now.
    pub fn leader_token(&self) -> Option<LeaderToken> {
        let l = self.leadership();
        (l.role == Role::Leader && !l.stopped).then(|| LeaderToken {
            term: l.term,
            lease_valid: l.lease_until.is_some_and(|until| self.clock.now_ms() < until),
        })
    }

    /// Waits until some leader is known (by this node) and returns it with its term.
    pub async fn wait_for_leader(&self) -> Result<(NodeId, Term), RequestError> {
        let mut rx = self.watch();
        let seen = rx
            .wait_for(|l| l.stopped || l.leader.is_some())
            .await
            .map_err(|_| RequestError::Stopped)?;
        match (seen.stopped, seen.leader) {
            (false, Some(leader)) => Ok((leader, seen.term)),
            _ => Err(RequestError::Stopped),
        }
    }

    /// Proposes `data`; completes when it commits (or cannot).
    pub async fn propose(&self, data: Vec<u8>) -> Result<Committed, RequestError> {
        self.submit(data).await.unwrap_or(Err(RequestError::Stopped))
    }

    /// Proposes `data` without waiting; the receiver gets the outcome.
    pub fn submit(&self, data: Vec<u8>) -> oneshot::Receiver<Result<Committed, RequestError>> {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Command::Propose(data, tx));
        rx
    }

    /// Hands leadership to `target`; completes once the transfer has started.
    pub async fn transfer_leadership(&self, target: NodeId) -> Result<(), RequestError> {
        self.transfer(Some(target)).await
    }

    /// Gives leadership up to the most up-to-date follower.
    pub async fn resign(&self) -> Result<(), RequestError> {
        self.transfer(None).await
    }

    async fn transfer(&self, target: Option<NodeId>) -> Result<(), RequestError> {
        self.start_transfer(target).await.unwrap_or(Err(RequestError::Stopped))
    }

    /// Asks for a leadership transfer to `target` (to the most up-to-date follower when
    /// `None`) without waiting; the receiver gets whether it started.
    pub fn start_transfer(
        &self,
        target: Option<NodeId>,
    ) -> oneshot::Receiver<Result<(), RequestError>> {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Command::Transfer(target, tx));
        rx
    }

    /// Switches the running node's core to `core` (pre-vote or check-quorum switched on one
    /// node at a time, as in etcd's rolling migration) without waiting; the receiver gets the
    /// outcome. A restart starts again from the configuration the node was built with.
    pub fn reconfigure(&self, core: Config) -> oneshot::Receiver<Result<(), RequestError>> {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Command::Reconfigure(core, tx));
        rx
    }

    /// Asks the node to stop.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }

    /// Message counters so far.
    pub fn stats(&self) -> NodeStats {
        self.stats.lock().expect("stats lock").clone()
    }
}
