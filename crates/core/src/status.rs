//! One snapshot of a node's state, for applications, tests and dashboards.

use crate::progress::LeaderState;
use crate::raft::Raft;
use crate::types::{LogIndex, Millis, NodeId, Role, Term};
use std::collections::BTreeMap;

/// What one node knows and intends, at one instant (see [`Raft::status`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// This node.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// The leader it knows of in `term`.
    pub leader: Option<NodeId>,
    /// Whom it voted for in `term`.
    pub voted_for: Option<NodeId>,
    /// Index of its last log entry, durable or not.
    pub last_index: LogIndex,
    /// Highest index it knows committed.
    pub commit_index: LogIndex,
    /// Highest index handed to the application in [`crate::Ready::committed`] (or given back
    /// as [`crate::RaftOptions::applied`] at restart).
    pub applied_index: LogIndex,
    /// While leader: each follower's replication progress. Empty otherwise.
    pub progress: BTreeMap<NodeId, FollowerProgress>,
    /// While (pre-)campaigning: the answers counted so far, this node's own included. Empty
    /// otherwise.
    pub votes: BTreeMap<NodeId, bool>,
    /// While leader: when its lease ends, local milliseconds (see
    /// [`Raft::lease_expires_at`]).
    pub lease_expires_at: Option<Millis>,
    /// While leader: the target of the leadership transfer under way.
    pub transfer: Option<NodeId>,
    /// While not leader: when the election timer fires, local milliseconds.
    pub election_deadline: Option<Millis>,
    /// The range the next election timeout is drawn from, `[min, max]` milliseconds (wider
    /// than configured when the adaptive timeout stretched it).
    pub election_timeout_range_ms: (u64, u64),
    /// Smoothed round-trip time, milliseconds, measured from heartbeat acknowledgements (or
    /// adopted from the leader); `None` before the first measurement.
    pub rtt_estimate_ms: Option<u64>,
    /// Smoothed share of the leader's heartbeats that did not arrive here, 0 to 1.
    pub heartbeat_loss_estimate: f64,
}

/// The leader's view of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// Highest index known to match the leader's log.
    pub match_index: LogIndex,
    /// Next index the leader sends it.
    pub next_index: LogIndex,
    /// Send time (leader clock, milliseconds) of the latest AppendEntries it acknowledged.
    pub acked_sent_at: Option<Millis>,
}

impl Raft {
    /// Everything this node knows and intends now, in one value (raft-rs's `Status`).
    pub fn status(&self) -> Status {
        let leading: Option<&LeaderState> = self.leading.as_ref();
        let progress = leading
            .map(|l| {
                l.progress
                    .iter()
                    .map(|(&id, p)| {
                        let progress = FollowerProgress {
                            match_index: p.match_index,
                            next_index: p.next_index,
                            acked_sent_at: p.acked_sent_at,
                        };
                        (id, progress)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Status {
            id: self.id,
            role: self.role,
            term: self.term,
            leader: self.leader,
            voted_for: self.voted_for,
            last_index: self.log.last_index(),
            commit_index: self.log.commit(),
            applied_index: self.reported_commit(),
            progress,
            votes: self.votes.clone(),
            lease_expires_at: self.lease_expires_at(),
            transfer: self.pending_transfer(),
            election_deadline: leading.is_none().then_some(self.election_deadline),
            election_timeout_range_ms: self.adaptive.range(&self.config),
            rtt_estimate_ms: self.adaptive.srtt_ms(),
            heartbeat_loss_estimate: self.adaptive.loss(),
        }
    }
}
