//! What a node reports as it runs: for histories, metrics and logs.

use ballot_core::{HardState, LogIndex, Millis, NodeId, Role, Term};

/// Something that happened in a node, reported to its [`Observer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// The node started from persisted state.
    Started {
        /// Term and vote read from disk.
        hard_state: HardState,
        /// Number of log entries read from disk.
        log_len: u64,
        /// The log's terms in runs: `(term, entries)` from index 1 on (a history can then
        /// know a log that a power loss kept more of than was acknowledged).
        log_terms: Vec<(Term, u64)>,
    },
    /// Role, term or known leader changed.
    Role {
        /// New role.
        role: Role,
        /// Current term.
        term: Term,
        /// Known leader.
        leader: Option<NodeId>,
    },
    /// State was made durable.
    Persisted {
        /// Term and vote written, if they changed.
        hard_state: Option<HardState>,
        /// Log entries written: the first index (everything stored from there on was
        /// replaced) and the term of each entry written.
        entries: Option<(LogIndex, Vec<Term>)>,
        /// How long the write took, milliseconds of the node's clock.
        took_ms: Millis,
    },
    /// A vote or pre-vote request was answered (a vote after it was persisted).
    Vote {
        /// The term of the election (for a pre-vote, the term the candidate would run in).
        term: Term,
        /// Who asked.
        candidate: NodeId,
        /// Whether the vote was granted.
        granted: bool,
        /// It answers a pre-vote.
        pre_vote: bool,
    },
    /// An AppendEntries was answered (after whatever the answer depends on was persisted).
    AppendAnswered {
        /// The leader answered.
        leader: NodeId,
        /// The term of the answer.
        term: Term,
        /// Whether the entries were taken.
        success: bool,
        /// With `success`, the last index that now matches the leader's log.
        index: LogIndex,
    },
    /// An application proposal was appended to the leader's log.
    Proposed {
        /// Its index.
        index: LogIndex,
        /// Its term.
        term: Term,
        /// What it carries.
        data: Vec<u8>,
    },
    /// An application proposal was refused; nothing was appended.
    ProposeRefused {
        /// The proposal's size, bytes.
        bytes: usize,
        /// Why.
        error: crate::RequestError,
    },
    /// An entry is committed and durable here.
    Committed {
        /// Its index.
        index: LogIndex,
        /// Its term.
        term: Term,
    },
    /// The leader lease changed: it now holds until this local time (milliseconds), or not.
    Lease {
        /// End of the lease, local milliseconds; `None`: no lease.
        until: Option<ballot_core::Millis>,
    },
    /// A message arrived and the core accepted it.
    Received {
        /// Sender.
        from: NodeId,
        /// What kind of message it was.
        kind: crate::MessageKind,
        /// After handling it, the node follows the sender as its leader (an AppendEntries
        /// of a stale term, say, leaves it following no one).
        from_leader: bool,
    },
    /// A message left the node.
    Sent {
        /// Recipient.
        to: NodeId,
        /// What kind of message it was.
        kind: crate::MessageKind,
    },
    /// An incoming datagram was dropped.
    Dropped {
        /// Why, as a short stable name.
        reason: &'static str,
    },
    /// The node's timers fired late: it woke `late_ms` (milliseconds of its clock) after a
    /// deadline, more than a heartbeat: the process was paused, or starved of CPU.
    Stalled {
        /// How late.
        late_ms: Millis,
    },
    /// The core met a rare situation (coverage marks: for test harnesses).
    Mark(ballot_core::Mark),
    /// The node was shut down on request ([`crate::NodeHandle::shutdown`]): a clean stop,
    /// with everything it announced durable.
    Shutdown,
    /// The node stopped because it could not go on safely.
    Stopped {
        /// Why.
        error: String,
    },
}

/// Receives a node's events. Called on the node's task: keep it quick.
pub trait Observer: Send + Sync + 'static {
    /// One event.
    fn event(&self, node: NodeId, event: &NodeEvent);
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn event(&self, _: NodeId, _: &NodeEvent) {}
}
