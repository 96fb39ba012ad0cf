//! AppendEntries: heartbeats, log replication and the commit rule.

use crate::error::ProposeError;
use crate::log::{AppendRejection, Payload};
use crate::mark::Mark;
use crate::message::{Body, Message};
use crate::raft::Raft;
use crate::types::{LogIndex, Millis, NodeId, Role};

impl Raft {
    /// Appends an application's entry to the leader's log and starts replicating it; returns
    /// its index. Only the leader accepts proposals, not while it hands leadership over, and
    /// none larger than one AppendEntries carries (`Config::max_proposal_bytes`).
    pub fn propose(&mut self, data: Vec<u8>, now: Millis) -> Result<LogIndex, ProposeError> {
        self.set_now(now);
        let max = self.config.max_proposal_bytes();
        if data.len() > max {
            self.mark(Mark::ProposalTooLarge);
            return Err(ProposeError::TooLarge { bytes: data.len(), max });
        }
        if self.role != Role::Leader {
            return Err(ProposeError::NotLeader { leader: self.leader });
        }
        if let Some(target) = self.pending_transfer() {
            return Err(ProposeError::TransferInProgress(target));
        }
        let index = self.log.append(self.term, Payload::Data(data));
        // Followers that are caught up get it now; the others are still answering earlier
        // AppendEntries, and get it with the next one.
        let idle = self.leading.as_ref().map_or(Vec::new(), |l| {
            l.progress.iter().filter(|(_, p)| p.next_index == index).map(|(&id, _)| id).collect()
        });
        for peer in idle {
            self.send_append(peer);
        }
        Ok(index)
    }

    /// Sends every follower an AppendEntries (entries it lacks, or none: a heartbeat).
    pub(crate) fn broadcast_append(&mut self) {
        for peer in self.peers() {
            self.send_append(peer);
        }
        let next = self.now + self.config.heartbeat_ms;
        if let Some(leading) = self.leading.as_mut() {
            leading.heartbeat_due = next;
        }
    }

    pub(crate) fn send_append(&mut self, to: NodeId) {
        let Some(progress) = self.leading.as_ref().and_then(|l| l.progress.get(&to)) else {
            return;
        };
        let prev_log_index = progress.next_index - 1;
        let prev_log_term = self.log.term_at(prev_log_index).expect("next_index within the log");
        let (count, bytes) =
            (self.config.max_entries_per_message, self.config.max_bytes_per_message);
        let entries = self.log.batch_from(progress.next_index, count, bytes);
        if progress.next_index + (entries.len() as u64) <= self.log.last_index() {
            self.mark(Mark::CatchUpInBatches);
            if entries.len() < count {
                self.mark(Mark::BatchCutByBytes);
            }
        }
        let body = Body::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.log.commit(),
            sent_at_ms: self.now,
            rtt_ms: self.adaptive.srtt_ms().unwrap_or(0),
        };
        self.send(to, self.term, body);
    }

    /// §5.3 on a follower. Requests from an older term are refused with our term, which
    /// makes a stale leader step down.
    pub(crate) fn handle_append_entries(&mut self, msg: Message) {
        let Body::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
            sent_at_ms,
            rtt_ms,
        } = msg.body
        else {
            unreachable!("dispatched by body");
        };
        let reply = |success, index| Body::AppendEntriesResponse { success, index, sent_at_ms };
        if msg.term < self.term {
            self.mark(Mark::StaleAppendEntries);
            return self.send(msg.from, self.term, reply(false, self.log.last_index()));
        }
        match self.role {
            // Two leaders in one term: impossible unless a peer is broken. Do not obey it.
            Role::Leader => return,
            Role::PreCandidate | Role::Candidate => self.become_follower(msg.term, Some(msg.from)),
            Role::Follower if self.leader != Some(msg.from) => {
                self.become_follower(msg.term, Some(msg.from))
            }
            Role::Follower => {}
        }
        self.last_leader_contact = Some(self.now);
        self.backoff.settled();
        self.date_leader_clock(sent_at_ms);
        self.adaptive.observe_heartbeat(self.now, self.config.heartbeat_ms);
        self.adaptive.adopt_rtt(rtt_ms);
        self.reset_election_timer();
        let last_before = self.log.last_index();
        let conflict = entries
            .iter()
            .find(|e| e.index <= last_before && self.log.term_at(e.index) != Some(e.term))
            .map(|e| e.index);
        let body = match self.log.try_append(prev_log_index, prev_log_term, &entries) {
            Ok(last_new) => {
                if let Some(from) = conflict {
                    self.mark(Mark::TruncatedConflict);
                    self.withdraw_acks_from(from);
                }
                self.log.commit_to(leader_commit.min(last_new));
                reply(true, last_new)
            }
            Err(AppendRejection::Mismatch { hint }) => {
                self.mark(Mark::AppendMismatch);
                reply(false, hint)
            }
            Err(AppendRejection::WouldTruncateCommitted) => {
                self.mark(Mark::RefusedTruncatingCommitted);
                reply(false, self.log.commit())
            }
        };
        self.send(msg.from, self.term, body);
    }

    /// The leader learns how far a follower's log matches, and that it is still followed.
    pub(crate) fn handle_append_response(&mut self, msg: Message) {
        let Body::AppendEntriesResponse { success, index, sent_at_ms } = msg.body else {
            unreachable!("dispatched by body");
        };
        if self.role != Role::Leader || msg.term != self.term {
            self.mark(Mark::StaleAppendResponse);
            return;
        }
        let (now, last) = (self.now, self.log.last_index());
        let Some(leading) = self.leading.as_mut() else { return };
        let since = leading.since;
        if !leading.progress.contains_key(&msg.from) {
            return;
        }
        if (since..=now).contains(&sent_at_ms) {
            leading.record_ack(msg.from, sent_at_ms);
            self.adaptive.observe_rtt(now - sent_at_ms);
        }
        let Some(progress) = leading.progress.get_mut(&msg.from) else { return };
        if success {
            if index <= progress.match_index || index > last {
                // Nothing new to match, but a target heard from again may get the
                // TimeoutNow that a transfer waits to send.
                self.maybe_send_timeout_now(msg.from);
                return;
            }
            progress.match_index = index;
            progress.next_index = progress.next_index.max(index + 1);
            let more = progress.next_index <= last;
            self.maybe_commit();
            if !self.maybe_send_timeout_now(msg.from) && more {
                self.send_append(msg.from);
            }
        } else {
            let floor = progress.match_index + 1;
            progress.next_index = progress.next_index.saturating_sub(1).min(index + 1).max(floor);
            self.send_append(msg.from);
        }
    }

    /// §5.4.2 (Figure 8): commits the highest index stored on a majority, but only if its
    /// entry is of the current term. The leader counts only what it has itself made durable.
    pub(crate) fn maybe_commit(&mut self) {
        let Some(leading) = &self.leading else { return };
        let mut matched: Vec<LogIndex> = std::iter::once(self.log.stable())
            .chain(leading.progress.values().map(|p| p.match_index))
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let candidate = matched[self.quorum() - 1];
        let before = self.log.commit();
        let own_term = self.log.term_at(candidate) == Some(self.term);
        if own_term
            && self.log.commit_to(candidate)
            && self.log.term_at(before + 1).is_some_and(|t| t < self.term)
        {
            self.mark(Mark::CommittedOldTermEntries);
        }
    }
}
