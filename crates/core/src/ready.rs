//! What the core hands to its driver: state to persist, messages to send, entries committed.

use crate::log::{Entry, LogWrite};
use crate::mark::Mark;
use crate::message::Message;
use crate::types::{NodeId, Role, Term};
use serde::{Deserialize, Serialize};

/// The state that must be durable before any message that depends on it leaves the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The current term.
    pub term: Term,
    /// The candidate this node voted for in `term`, if any.
    pub voted_for: Option<NodeId>,
}

/// Everything a node persisted: what it restarts from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistedState {
    /// Term and vote.
    pub hard_state: HardState,
    /// The log, contiguous from index 1.
    pub entries: Vec<Entry>,
}

/// Who leads, as this node sees it: volatile, published to applications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftState {
    /// This node's role.
    pub role: Role,
    /// This node's current term.
    pub term: Term,
    /// The leader this node knows of in `term`, if any.
    pub leader: Option<NodeId>,
}

/// One batch of work for the driver. Handle it in this order:
///
/// 1. make `hard_state` and `log_write` durable (fsync);
/// 2. send `messages` (allowed at any time, even before step 1) and `persisted_messages`
///    (only after step 1: they announce votes, terms or entries that must not be forgotten);
/// 3. hand `committed` to the application;
/// 4. call [`crate::Raft::advance`].
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "a Ready must be persisted, sent and then acknowledged with advance()"]
pub struct Ready {
    /// Role, term or leader changed since the previous Ready.
    pub soft_state: Option<SoftState>,
    /// Term or vote changed: persist it.
    pub hard_state: Option<HardState>,
    /// Log entries to persist (replacing any stored suffix).
    pub log_write: Option<LogWrite>,
    /// Messages that depend on nothing unpersisted: send them at once.
    pub messages: Vec<Message>,
    /// Messages to send only after `hard_state` and `log_write` are durable.
    pub persisted_messages: Vec<Message>,
    /// Entries newly known committed and durable here, in log order.
    pub committed: Vec<Entry>,
    /// Rare situations met since the previous Ready (for test coverage; nothing to do).
    pub marks: Vec<Mark>,
}

impl Ready {
    /// Whether this Ready carries nothing at all.
    pub fn is_empty(&self) -> bool {
        self.soft_state.is_none()
            && self.hard_state.is_none()
            && self.log_write.is_none()
            && self.messages.is_empty()
            && self.persisted_messages.is_empty()
            && self.committed.is_empty()
            && self.marks.is_empty()
    }
}
