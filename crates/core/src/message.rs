//! The messages nodes exchange.

use crate::log::Entry;
use crate::types::{LogIndex, Millis, NodeId, Term};
use serde::{Deserialize, Serialize};

/// One message from one node to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Recipient.
    pub to: NodeId,
    /// The sender's term; for pre-vote requests, and granted pre-vote responses, the term the
    /// pre-candidate would campaign in.
    pub term: Term,
    /// What the message says.
    pub body: Body,
}

/// The payload of a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// Asks for a vote (Raft §5.2) or, with `pre_vote`, whether a vote would be granted.
    RequestVote {
        /// A pre-vote: the voter changes neither its term nor its vote.
        pre_vote: bool,
        /// The campaign was started by a leadership transfer, so leases do not apply.
        transfer: bool,
        /// Index of the candidate's last log entry.
        last_log_index: LogIndex,
        /// Term of the candidate's last log entry.
        last_log_term: Term,
    },
    /// Answers a [`Body::RequestVote`].
    RequestVoteResponse {
        /// Answers a pre-vote request.
        pre_vote: bool,
        /// The vote was granted.
        granted: bool,
    },
    /// Replicates entries and serves as the heartbeat (Raft §5.3).
    AppendEntries {
        /// Index of the entry just before `entries`.
        prev_log_index: LogIndex,
        /// Term of the entry at `prev_log_index`.
        prev_log_term: Term,
        /// Entries to store, possibly none.
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: LogIndex,
        /// The leader's local time when it sent this, echoed in the response, milliseconds.
        sent_at_ms: Millis,
        /// The leader's smoothed round-trip estimate, milliseconds (0: none yet).
        rtt_ms: u64,
    },
    /// Answers an [`Body::AppendEntries`].
    AppendEntriesResponse {
        /// The entries were stored: the follower's log matches the leader's up to `index`.
        success: bool,
        /// On success, the highest index known to match; on failure, a hint: the follower's
        /// log cannot match beyond this index.
        index: LogIndex,
        /// `sent_at_ms` of the request, echoed back, milliseconds of the leader's clock.
        sent_at_ms: Millis,
    },
    /// Tells the target of a leadership transfer to campaign at once (thesis §3.10).
    TimeoutNow {
        /// When the leader abandons this transfer, milliseconds of the leader's clock: a
        /// target that already heard a heartbeat sent at or after it ignores this message.
        expires_at_ms: Millis,
    },
}
