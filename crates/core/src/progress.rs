//! What a leader keeps about its followers while it leads: each one's progress, the transfer
//! under way, and the acknowledgements its lease rests on.

use crate::types::{LogIndex, Millis, NodeId};
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// The leader's view of one follower.
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// Highest index known to match the leader's log.
    pub(crate) match_index: LogIndex,
    /// Next index to send.
    pub(crate) next_index: LogIndex,
    /// Send time (leader clock) of the latest AppendEntries the follower answered.
    pub(crate) acked_sent_at: Option<Millis>,
}

/// A leadership transfer under way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transfer {
    pub(crate) target: NodeId,
    /// Local time at which the transfer is abandoned, milliseconds.
    pub(crate) deadline: Millis,
    pub(crate) timeout_now_sent: bool,
}

/// State that exists only while a node is leader.
#[derive(Clone, Debug)]
pub(crate) struct LeaderState {
    /// When this node became leader.
    pub(crate) since: Millis,
    pub(crate) heartbeat_due: Millis,
    pub(crate) progress: BTreeMap<NodeId, Progress>,
    pub(crate) transfer: Option<Transfer>,
    /// Set once a TimeoutNow went out: another node may win this term's successor at any
    /// moment, so this leadership may never claim a lease again.
    pub(crate) lease_revoked: bool,
    /// Followers whose acknowledgement, with the leader's own, makes a majority.
    followers_needed: usize,
    /// The latest send time (leader clock) that `followers_needed` followers have each
    /// acknowledged, kept as acknowledgements arrive; `None` until that many have.
    followers_acked: Option<Millis>,
}

impl LeaderState {
    pub(crate) fn new(
        peers: &[NodeId],
        last_index: LogIndex,
        now: Millis,
        quorum: usize,
    ) -> LeaderState {
        let progress = peers
            .iter()
            .map(|&p| {
                (p, Progress { match_index: 0, next_index: last_index + 1, acked_sent_at: None })
            })
            .collect();
        LeaderState {
            since: now,
            heartbeat_due: now,
            progress,
            transfer: None,
            lease_revoked: false,
            followers_needed: quorum - 1,
            followers_acked: None,
        }
    }

    /// Records that `peer` answered an AppendEntries sent at `sent_at` (leader clock, between
    /// `since` and now).
    pub(crate) fn record_ack(&mut self, peer: NodeId, sent_at: Millis) {
        let Some(progress) = self.progress.get_mut(&peer) else { return };
        progress.acked_sent_at = progress.acked_sent_at.max(Some(sent_at));
        // An ack no later than the quorum's cannot move it: the acks above it are unchanged.
        if self.followers_needed > 0 && Some(sent_at) > self.followers_acked {
            let mut acks: Vec<Option<Millis>> =
                self.progress.values().map(|p| p.acked_sent_at).collect();
            acks.sort_by_key(|&a| Reverse(a));
            self.followers_acked = acks[self.followers_needed - 1];
        }
    }

    /// The latest send time that a majority (the leader counting itself as of `own`, its
    /// clock now or later) has acknowledged. With `grace`, followers not heard from yet count
    /// as of `since`. Every acknowledgement is of a send between `since` and now, so the
    /// leader's own is the latest and the rest is the followers' kept figure.
    pub(crate) fn quorum_ack(&self, own: Millis, grace: bool) -> Option<Millis> {
        if self.followers_needed == 0 {
            return Some(own);
        }
        self.followers_acked.or(grace.then_some(self.since))
    }

    /// Whether a majority acknowledged a heartbeat sent less than `window_ms` ago.
    pub(crate) fn quorum_active(&self, now: Millis, window_ms: u64) -> bool {
        self.quorum_ack(now, true).is_some_and(|t| now.saturating_sub(t) < window_ms)
    }
}
