//! What only a leader does: heartbeats, check-quorum, the lease and leadership transfer.

use crate::error::TransferError;
use crate::mark::Mark;
use crate::message::Body;
use crate::progress::{LeaderState, Transfer};
use crate::raft::Raft;
use crate::types::{Millis, NodeId, Role};
use std::cmp::Reverse;

impl Raft {
    /// Heartbeats, check-quorum and the transfer's expiry.
    pub(crate) fn tick_leader(&mut self) {
        let (now, window) = (self.now, self.check_quorum_window());
        let Some(leading) = self.leading.as_mut() else { return };
        if self.config.check_quorum && !leading.quorum_active(now, window) {
            let term = self.term;
            self.mark(Mark::CheckQuorumStepDown);
            return self.become_follower(term, None);
        }
        if leading.transfer.is_some_and(|t| now >= t.deadline) {
            leading.transfer = None;
        }
        if now >= leading.heartbeat_due {
            self.broadcast_append();
        }
    }

    /// How long a leader may go without a majority's acknowledgement before it steps down,
    /// milliseconds: the lower end of the election timeout range, stretched (when adaptive)
    /// by the round trips it measures. Only liveness depends on it; the lease does not.
    pub(crate) fn check_quorum_window(&self) -> u64 {
        self.adaptive.range(&self.config).0
    }

    /// The earliest time the leader's tick has work: a heartbeat, a check-quorum expiry or a
    /// transfer's deadline.
    pub(crate) fn leader_deadline(&self, leading: &LeaderState) -> Millis {
        let mut due = leading.heartbeat_due;
        if self.config.check_quorum {
            if let Some(t) = leading.quorum_ack(self.now, true) {
                due = due.min(t + self.check_quorum_window());
            }
        }
        if let Some(t) = leading.transfer {
            due = due.min(t.deadline);
        }
        due
    }

    /// Leader lease: whether, at local time `now` (milliseconds), no other node can be
    /// leader, so that reads may be served locally. See [`Raft::lease_expires_at`].
    pub fn lease_valid(&self, now: Millis) -> bool {
        self.lease_expires_at().is_some_and(|expiry| now < expiry)
    }

    /// The local time (milliseconds) at which the leader lease ends, if this node holds one.
    ///
    /// Assumption: no node's clock runs slower than any other's by more than
    /// `clock_drift_bound`. A follower that acknowledged a heartbeat refuses to vote for
    /// `election_timeout_min_ms` of its clock after it received it; the leader trusts the
    /// lease for `election_timeout_min_ms × (1 − clock_drift_bound)` of its own clock after it
    /// *sent* the latest heartbeat a majority acknowledged. Needs check-quorum (it is what
    /// makes followers keep the lease), and ends for good once a transfer sent TimeoutNow.
    pub fn lease_expires_at(&self) -> Option<Millis> {
        let leading = self.leading.as_ref()?;
        if !self.config.check_quorum || leading.transfer.is_some() || leading.lease_revoked {
            return None;
        }
        // The leader's own acknowledgement never expires: alone, it is a majority of one.
        let acked = leading.quorum_ack(Millis::MAX, false)?;
        Some(acked.saturating_add(self.config.lease_ms()))
    }

    /// Hands leadership to `target` (thesis §3.10): stops accepting proposals, brings the
    /// target's log up to date, then tells it to campaign at once. Gives up after one maximum
    /// election timeout.
    pub fn transfer_leadership(
        &mut self,
        target: NodeId,
        now: Millis,
    ) -> Result<(), TransferError> {
        self.set_now(now);
        let deadline = self.now + self.config.election_timeout_max_ms;
        let leader = self.leader;
        let Some(leading) = self.leading.as_mut() else {
            return Err(TransferError::NotLeader { leader });
        };
        if target == self.id {
            return self.abort_transfer();
        }
        if !leading.progress.contains_key(&target) {
            return Err(TransferError::UnknownNode(target));
        }
        if let Some(t) = leading.transfer {
            return Err(TransferError::InProgress(t.target));
        }
        leading.transfer = Some(Transfer { target, deadline, timeout_now_sent: false });
        if !self.maybe_send_timeout_now(target) {
            self.send_append(target);
        }
        Ok(())
    }

    /// Calls off the leadership transfer under way, if any, so that proposals are accepted
    /// again (`transfer_leadership` to this node itself does the same, as in etcd). Too late
    /// once TimeoutNow went out: the target may already be campaigning, so the transfer is
    /// left to run out and [`TransferError::AlreadyHandedOver`] says so. Without a transfer
    /// there is nothing to call off, and that is `Ok`.
    pub fn abort_transfer(&mut self) -> Result<(), TransferError> {
        let leader = self.leader;
        let Some(leading) = self.leading.as_mut() else {
            return Err(TransferError::NotLeader { leader });
        };
        match leading.transfer {
            Some(t) if t.timeout_now_sent => Err(TransferError::AlreadyHandedOver(t.target)),
            _ => {
                leading.transfer = None;
                Ok(())
            }
        }
    }

    /// Gives leadership up to the follower whose log matches the most (lowest id on ties);
    /// returns the chosen successor.
    pub fn resign(&mut self, now: Millis) -> Result<NodeId, TransferError> {
        let best = self.leading.as_ref().and_then(|l| {
            l.progress.iter().max_by_key(|(&id, p)| (p.match_index, Reverse(id))).map(|(&id, _)| id)
        });
        let Some(target) = best else {
            return Err(TransferError::NotLeader { leader: self.leader });
        };
        self.transfer_leadership(target, now).map(|()| target)
    }

    /// How long before the transfer's deadline its TimeoutNow expires, milliseconds: half a
    /// minimum election timeout (at least a heartbeat interval). The target dates the
    /// leader's clock from the last heartbeat it received, which lags by that heartbeat's
    /// one-way latency: with this margin, a target acts on TimeoutNow only while the leader
    /// still waits for it, at any latency under which elections work at all (a round trip
    /// inside the minimum election timeout).
    fn transfer_margin_ms(&self) -> Millis {
        self.config.heartbeat_ms.max(self.config.election_timeout_min_ms / 2)
    }

    /// Sends TimeoutNow if `peer` is the transfer target, its log is complete, and it
    /// answered an AppendEntries sent within the transfer margin: a target that has not
    /// been heard from lately may sit behind a link that holds messages, and would get
    /// TimeoutNow after the transfer was given up.
    pub(crate) fn maybe_send_timeout_now(&mut self, peer: NodeId) -> bool {
        let last = self.log.last_index();
        let margin = self.transfer_margin_ms();
        let heard_since = self.now.saturating_sub(margin);
        let Some(leading) = self.leading.as_mut() else { return false };
        let Some(transfer) = leading.transfer.as_mut() else { return false };
        let ready = leading.progress.get(&peer).is_some_and(|p| {
            p.match_index == last && p.acked_sent_at.is_some_and(|sent| sent >= heard_since)
        });
        if transfer.target != peer || transfer.timeout_now_sent || !ready {
            return false;
        }
        transfer.timeout_now_sent = true;
        leading.lease_revoked = true;
        let expires_at_ms = transfer.deadline.saturating_sub(margin);
        let term = self.term;
        self.send(peer, term, Body::TimeoutNow { expires_at_ms });
        true
    }

    /// The target of the leadership transfer under way, if this node leads and hands over.
    pub fn pending_transfer(&self) -> Option<NodeId> {
        debug_assert_eq!(self.leading.is_some(), self.role == Role::Leader);
        self.leading.as_ref().and_then(|l| l.transfer).map(|t| t.target)
    }
}
