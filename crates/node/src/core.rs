//! The election core a node drives, behind one small sans-IO trait: the same driver (and the
//! harness that runs it) can run ballot's core or an adapter around another Raft library.

use ballot_core::{
    Body, Config, ConfigError, Entry, HardState, InitError, LogIndex, LogWrite, Mark, Message,
    Millis, NodeId, ProposeError, Raft, RaftOptions, Ready, SoftState, Term, TransferError,
};

/// One batch of work from a core, in the order the driver carries it out (see
/// [`ballot_core::Ready`], of which this is the message-generic form).
#[derive(Debug)]
pub struct Batch<M> {
    /// Role, term or leader changed.
    pub soft_state: Option<SoftState>,
    /// Term or vote changed: persist it.
    pub hard_state: Option<HardState>,
    /// Log entries to persist (replacing any stored suffix).
    pub log_write: Option<LogWrite>,
    /// Messages that may leave at once.
    pub messages: Vec<M>,
    /// Messages that may leave only once `hard_state` and `log_write` are durable.
    pub persisted_messages: Vec<M>,
    /// Entries newly committed and durable here, in log order.
    pub committed: Vec<Entry>,
    /// Coverage marks met (nothing to do).
    pub marks: Vec<Mark>,
}

/// What the driver needs to know of a message to route it and record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The addressee.
    pub to: NodeId,
    /// What kind of message it is, as far as the history cares.
    pub kind: MessageKind,
}

/// The kinds of message the history records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A leader's AppendEntries (heartbeat or entries).
    AppendEntries,
    /// A candidate's request for a vote, or a pre-candidate's for a pre-vote.
    VoteRequest {
        /// The term it asks in (for a pre-vote, the term the candidate would run in).
        term: Term,
        /// Whether it asks for a pre-vote.
        pre_vote: bool,
    },
    /// An answer to a (pre-)vote request.
    VoteAnswer {
        /// The term the answer carries.
        term: Term,
        /// Whether the vote (or pre-vote) was granted.
        granted: bool,
        /// Whether it answers a pre-vote.
        pre_vote: bool,
    },
    /// A follower's answer to an AppendEntries.
    AppendAnswer {
        /// The term the answer carries.
        term: Term,
        /// Whether the entries were taken (the log now matches the leader's through `index`).
        success: bool,
        /// The index the answer speaks of: with `success`, the last one that matches.
        index: LogIndex,
    },
    /// Anything else.
    Other,
}

/// A sans-IO Raft election core, as the node driver runs it. Time is local milliseconds in
/// every input; outputs come in [`Batch`]es, acknowledged with `advance`. Implemented by
/// [`ballot_core::Raft`]; an adapter for another library implements it in its own crate.
pub trait ElectionCore: Sized + Send + 'static {
    /// The messages cores of this kind exchange.
    type Message: Send + 'static;

    /// Builds the core, or restarts it from what the node persisted.
    fn start(options: RaftOptions) -> Result<Self, InitError>;
    /// Advances time and fires whatever timer is due.
    fn tick(&mut self, now: Millis);
    /// The earliest local time at which `tick` has something to do, milliseconds.
    fn next_deadline(&self) -> Millis;
    /// Handles one received message; an error says why it was refused.
    fn step(&mut self, msg: Self::Message, now: Millis) -> Result<(), String>;
    /// Proposes an entry; the leader answers with its index.
    fn propose(&mut self, data: Vec<u8>, now: Millis) -> Result<LogIndex, ProposeError>;
    /// Hands leadership to `target`, or to the most up-to-date follower when `None`.
    fn transfer_leadership(
        &mut self,
        target: Option<NodeId>,
        now: Millis,
    ) -> Result<(), TransferError>;
    /// Switches configuration on the running core.
    fn set_config(&mut self, config: Config) -> Result<(), ConfigError>;
    /// Takes the pending batch, if any; none other until `advance`.
    fn ready(&mut self) -> Option<Batch<Self::Message>>;
    /// Acknowledges the last batch: persisted, sent, applied.
    fn advance(&mut self);
    /// Role, term and leader.
    fn soft_state(&self) -> SoftState;
    /// While leader, when its lease ends (local milliseconds); `None` if it holds none.
    fn lease_expires_at(&self) -> Option<Millis>;
    /// Appends the message's bytes on the wire to `out` (which holds the node's datagram
    /// header).
    fn encode(msg: &Self::Message, out: &mut Vec<u8>) -> Result<(), String>;
    /// A message from its bytes; never panics on garbage.
    fn decode(bytes: &[u8]) -> Result<Self::Message, String>;
    /// Sender, addressee and kind.
    fn envelope(msg: &Self::Message) -> Envelope;
}

impl ElectionCore for Raft {
    type Message = Message;

    fn start(options: RaftOptions) -> Result<Self, InitError> {
        Raft::new(options)
    }

    fn tick(&mut self, now: Millis) {
        Raft::tick(self, now)
    }

    fn next_deadline(&self) -> Millis {
        Raft::next_deadline(self)
    }

    fn step(&mut self, msg: Message, now: Millis) -> Result<(), String> {
        Raft::step(self, msg, now).map_err(|e| e.to_string())
    }

    fn propose(&mut self, data: Vec<u8>, now: Millis) -> Result<LogIndex, ProposeError> {
        Raft::propose(self, data, now)
    }

    fn transfer_leadership(
        &mut self,
        target: Option<NodeId>,
        now: Millis,
    ) -> Result<(), TransferError> {
        match target {
            Some(target) => Raft::transfer_leadership(self, target, now),
            None => self.resign(now).map(|_| ()),
        }
    }

    fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        Raft::set_config(self, config)
    }

    fn ready(&mut self) -> Option<Batch<Message>> {
        let Ready {
            soft_state,
            hard_state,
            log_write,
            messages,
            persisted_messages,
            committed,
            marks,
        } = Raft::ready(self)?;
        Some(Batch {
            soft_state,
            hard_state,
            log_write,
            messages,
            persisted_messages,
            committed,
            marks,
        })
    }

    fn advance(&mut self) {
        Raft::advance(self)
    }

    fn soft_state(&self) -> SoftState {
        Raft::soft_state(self)
    }

    fn lease_expires_at(&self) -> Option<Millis> {
        Raft::lease_expires_at(self)
    }

    fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), String> {
        *out = postcard::to_extend(msg, std::mem::take(out)).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Message, String> {
        let (msg, rest) = postcard::take_from_bytes::<Message>(bytes).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err(format!("{} trailing bytes", rest.len()));
        }
        Ok(msg)
    }

    fn envelope(msg: &Message) -> Envelope {
        let kind = match msg.body {
            Body::AppendEntries { .. } => MessageKind::AppendEntries,
            Body::RequestVote { pre_vote, .. } => {
                MessageKind::VoteRequest { term: msg.term, pre_vote }
            }
            Body::RequestVoteResponse { pre_vote, granted } => {
                MessageKind::VoteAnswer { term: msg.term, granted, pre_vote }
            }
            Body::AppendEntriesResponse { success, index, .. } => {
                MessageKind::AppendAnswer { term: msg.term, success, index }
            }
            Body::TimeoutNow { .. } => MessageKind::Other,
        };
        Envelope { from: msg.from, to: msg.to, kind }
    }
}
