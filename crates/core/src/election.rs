//! Campaigns and votes: pre-vote, RequestVote, the up-to-date rule and the lease check.

use crate::log::Payload;
use crate::mark::Mark;
use crate::message::{Body, Message};
use crate::progress::LeaderState;
use crate::raft::Raft;
use crate::timeout::{draw_timeout, split_retry_ms};
use crate::types::Role;
use rand::Rng;

impl Raft {
    /// The election timer fired (or the application asked): ask for pre-votes first if
    /// configured, else campaign.
    pub(crate) fn start_campaign(&mut self) {
        match self.role {
            Role::PreCandidate => self.mark(Mark::PreVoteLost),
            Role::Candidate => self.mark(Mark::SplitVote),
            _ => {}
        }
        if matches!(self.role, Role::PreCandidate | Role::Candidate) {
            self.backoff.lost(self.now, self.poll_reached_majority());
        }
        if let Some(leader) = self.leader.filter(|&l| l != self.id) {
            self.backoff.leader_silent(leader);
        }
        // Drawn only with the backoff on, so that without it the timeouts stay as they were.
        let jitter =
            if self.config.split_vote_backoff { self.rng.random_range(0..=1000) } else { 0 };
        self.backoff.campaign(self.now, jitter);
        if self.config.pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate(false);
        }
    }

    /// Thesis §9.6: asks whether the others would vote for us in the next term, without
    /// raising our term or changing our vote, so that a node cut off from the cluster does
    /// not disrupt it when it comes back.
    fn become_pre_candidate(&mut self) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.leading = None;
        self.start_poll();
        if self.poll_won() {
            return self.become_candidate(false);
        }
        self.request_votes(true, false);
    }

    /// §5.2: raises the term, votes for itself and asks every peer for its vote. A campaign
    /// started by a leadership transfer (`transfer`) is exempt from the peers' lease check.
    pub(crate) fn become_candidate(&mut self, transfer: bool) {
        self.term = self.term.next();
        self.voted_for = Some(self.id);
        self.mark_hard_state_dirty();
        self.role = Role::Candidate;
        self.leader = None;
        self.leading = None;
        self.start_poll();
        if self.poll_won() {
            return self.become_leader();
        }
        self.request_votes(false, transfer);
    }

    fn become_leader(&mut self) {
        self.backoff.settled();
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.votes.clear();
        self.leading =
            Some(LeaderState::new(&self.peers(), self.log.last_index(), self.now, self.quorum()));
        if self.log.last_index() > self.log.commit() {
            self.mark(Mark::LeaderWithUncommittedOldEntries);
        }
        // §5.4.2: an entry of its own term lets the new leader commit earlier entries.
        self.log.append(self.term, Payload::Noop);
        self.broadcast_append();
    }

    fn start_poll(&mut self) {
        self.votes.clear();
        self.votes.insert(self.id, true);
        self.reset_election_timer();
    }

    fn poll_won(&self) -> bool {
        self.votes.values().filter(|&&granted| granted).count() >= self.quorum()
    }

    /// How long after the campaign was found lost to retry a vote split between rivals,
    /// milliseconds: the rivals agree on an order (better logs first), one slot of a vote
    /// round trip each (the best estimate so far, refined as answers arrive), plus a jitter
    /// that doubles with every campaign lost in a row.
    fn rank_delay(&self) -> u64 {
        let me = (self.log.last_term(), self.log.last_index());
        let rank = self.backoff.rank(self.id, me, self.term) as u64;
        let unit = self.vote_round_trip_ms();
        let (lost, permille) = (self.backoff.lost_in_a_row(), self.backoff.jitter_permille());
        split_retry_ms(rank, unit, lost, permille)
    }

    /// How much longer to wait before retrying a lost campaign when a rival may have won it,
    /// milliseconds: one vote round trip, time for the winner's first AppendEntries (sent
    /// after it saved its first entry) to arrive. Retrying sooner would depose a winner that
    /// has not announced itself yet, and the rivals could depose each other in turn for as
    /// long as their retries come first. Nothing when no rival can have won: the nodes that
    /// did not grant us, rivals aside, are too few to give any rival a majority.
    fn winner_grace_ms(&self) -> u64 {
        let granted = self.votes.values().filter(|&&g| g).count();
        let rivals = self.backoff.rivals();
        let others = self.members.len().saturating_sub(granted + rivals);
        if rivals > 0 && 1 + others >= self.quorum() {
            self.vote_round_trip_ms()
        } else {
            0
        }
    }

    /// A vote round trip, milliseconds: the slowest answer of a campaign, else the leader's
    /// heartbeat round trip, else the heartbeat interval.
    pub(crate) fn vote_round_trip_ms(&self) -> u64 {
        let measured = self.backoff.round_trip_ms().or(self.adaptive.srtt_ms());
        measured.unwrap_or(self.config.heartbeat_ms).max(1)
    }

    /// Enough voters refused (or are rival candidates of this term, or the silent leader)
    /// that this campaign cannot reach a majority.
    fn poll_lost(&self) -> bool {
        let refused = self.votes.values().filter(|&&granted| !granted).count()
            + self.backoff.presumed_refusals(&self.votes);
        self.members.len().saturating_sub(refused) < self.quorum()
    }

    /// Split-vote backoff. A vote split between rivals (candidates of this term, which voted
    /// for themselves) cannot be won by anyone: retry in the rivals' order soon, not a whole
    /// election timeout later. Refused without a rival, our log may be behind (retrying soon
    /// would only raise the term over and over), or a pre-vote may have met a live leader's
    /// lease: wait an election timeout from the campaign's start, from the widened range.
    fn after_poll(&mut self) {
        if !self.config.split_vote_backoff {
            return;
        }
        let rivals = self.role == Role::Candidate && self.backoff.has_rivals();
        if self.poll_lost() {
            let first = self.backoff.lost(self.now, self.poll_reached_majority());
            if rivals {
                self.election_deadline =
                    self.backoff.lost_at() + self.rank_delay() + self.winner_grace_ms();
            } else if first {
                let range = self.election_range();
                self.election_deadline =
                    self.backoff.campaign_started() + draw_timeout(&mut self.rng, range);
            }
        } else if rivals && self.poll_heard_majority() {
            // Stalled between rivals: a majority answered and we have not won, so the votes
            // we lack are with nodes that have not answered. A live one answers within about
            // the time the slowest answer took; wait that long again, then retry in the
            // rivals' order rather than after a whole election timeout.
            let waited = self.now.saturating_sub(self.backoff.campaign_started());
            let retry = self.now + waited + self.rank_delay();
            self.election_deadline = self.election_deadline.min(retry);
        }
    }

    /// A candidate whose log is behind ours asked for our vote: it cannot win, and we might,
    /// so however far lost campaigns have pushed our timer out, we time out within one
    /// ordinary election timeout. Never later than already set: a candidate that cannot win
    /// must not hold back one that can.
    fn stale_candidate_seen(&mut self) {
        if !self.config.split_vote_backoff {
            return;
        }
        let soon = self.now + draw_timeout(&mut self.rng, self.adaptive.range(&self.config));
        self.election_deadline = self.election_deadline.min(soon);
    }

    /// This campaign heard from a majority: answers (this node's included) and rivals'
    /// requests. Without that, a lost campaign may be a partition rather than a split vote.
    fn poll_reached_majority(&self) -> bool {
        self.votes.len() + self.backoff.rivals_besides(&self.votes) >= self.quorum()
    }

    /// A majority answered this campaign (this node included); a rival's request is no answer,
    /// and arrives in half the time one takes.
    fn poll_heard_majority(&self) -> bool {
        self.votes.len() >= self.quorum()
    }

    fn request_votes(&mut self, pre_vote: bool, transfer: bool) {
        let term = if pre_vote { self.term.next() } else { self.term };
        let body = Body::RequestVote {
            pre_vote,
            transfer,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.peers() {
            self.send(peer, term, body.clone());
        }
    }

    /// Whether this node heard from a live leader within the minimum election timeout (or,
    /// having just started, might have), and so refuses to help anyone else win (§9.6).
    /// Only with check-quorum, which is what makes a leader's silence meaningful.
    ///
    /// The promise is to the leader whose heartbeat this node acknowledged, and that leader
    /// counts on it for its lease whatever this node learns afterwards: a message of a higher
    /// term that makes this node forget the leader it follows does not end it.
    pub(crate) fn in_lease(&self) -> bool {
        if !self.config.check_quorum {
            return false;
        }
        if let Some(leading) = &self.leading {
            return leading.quorum_active(self.now, self.check_quorum_window());
        }
        let min = self.config.election_timeout_min_ms;
        let heard_recently =
            self.last_leader_contact.is_some_and(|t| self.now.saturating_sub(t) < min);
        heard_recently || self.now.saturating_sub(self.started_at) < min
    }

    /// §5.2, §5.4.1 and thesis §9.6. Requests in a term above ours have already made us a
    /// follower of that term, except pre-votes, which change nothing.
    pub(crate) fn handle_request_vote(&mut self, msg: Message) {
        let Body::RequestVote { pre_vote, transfer, last_log_index, last_log_term } = msg.body
        else {
            unreachable!("dispatched by body");
        };
        let up_to_date = self.log.is_up_to_date(last_log_term, last_log_index);
        // In this term: only for the candidate already voted for, or a first vote while no
        // leader is known.
        let free_in_term =
            self.voted_for == Some(msg.from) || (self.voted_for.is_none() && self.leader.is_none());
        if pre_vote {
            // "Would you vote for me in msg.term?": yes exactly when a real vote would be
            // granted, a term above ours clearing our vote, our own term keeping it.
            let would_vote = msg.term > self.term || (msg.term == self.term && free_in_term);
            let lease_holds = !transfer && self.in_lease();
            let granted = would_vote && up_to_date && !lease_holds;
            if would_vote && !up_to_date {
                self.mark(Mark::PreVoteRefusedStaleLog);
                if !lease_holds {
                    self.stale_candidate_seen();
                }
            } else if would_vote && lease_holds {
                self.mark(Mark::PreVoteRefusedInLease);
            }
            let term = if granted { msg.term } else { self.term };
            return self.send(msg.from, term, Body::RequestVoteResponse { pre_vote, granted });
        }
        if self.role == Role::Candidate && msg.term == self.term {
            self.backoff.rival(msg.from, (last_log_term, last_log_index));
            self.after_poll();
        }
        let may_vote = msg.term == self.term && free_in_term;
        if may_vote && !up_to_date {
            self.mark(Mark::VoteRefusedStaleLog);
            self.stale_candidate_seen();
        }
        // A request of a higher term was checked against the lease before it raised our
        // term; one of our own term (we reached it by another message) is checked here.
        let lease_holds = may_vote && !transfer && self.in_lease();
        if lease_holds {
            self.mark(Mark::VoteRefusedInLease);
        }
        let granted = may_vote && up_to_date && !lease_holds;
        if granted {
            if self.voted_for != Some(msg.from) {
                self.voted_for = Some(msg.from);
                self.mark_hard_state_dirty();
            }
            self.reset_election_timer();
        }
        self.send(msg.from, self.term, Body::RequestVoteResponse { pre_vote, granted });
    }

    /// Counts a (pre-)vote once per voter; responses to another campaign are ignored. A
    /// campaign without a majority stays open until the next timeout or a higher term.
    pub(crate) fn handle_vote_response(&mut self, msg: Message) {
        let Body::RequestVoteResponse { pre_vote, granted } = msg.body else {
            unreachable!("dispatched by body");
        };
        let current = match (pre_vote, self.role) {
            (true, Role::PreCandidate) => msg.term == self.term.next(),
            (false, Role::Candidate) => msg.term == self.term,
            _ => false,
        };
        if !current {
            self.mark(Mark::StaleVoteResponse);
            return;
        }
        self.backoff.answer(self.now);
        if self.votes.contains_key(&msg.from) {
            self.mark(Mark::DuplicateVoteResponse);
        }
        self.votes.entry(msg.from).or_insert(granted);
        self.after_poll();
        if self.poll_won() {
            if pre_vote {
                self.become_candidate(false);
            } else {
                self.become_leader();
            }
        }
    }

    /// The leader asks us to campaign now (thesis §3.10): skip pre-vote and leases. Not once
    /// the leader's clock may have passed the transfer's expiry: the leader may have
    /// abandoned it, and a delayed TimeoutNow must not depose it after all.
    pub(crate) fn handle_timeout_now(&mut self, msg: Message) {
        let Body::TimeoutNow { expires_at_ms } = msg.body else {
            unreachable!("dispatched by body");
        };
        // Reckoned on this node's clock since the best-dated heartbeat (the heartbeats after
        // TimeoutNow may be held up with it, and arrive after it), at the fastest pace the
        // drift bound allows that clock: declining a live transfer costs a retry, acting on a
        // dead one deposes a leader that took proposals back. The heartbeat's own latency is
        // in the margin the leader left before its deadline.
        let expired = self.leader_clock_at_most().is_some_and(|clock| clock >= expires_at_ms);
        let from_leader = self.role == Role::Follower && self.leader == Some(msg.from);
        if msg.term == self.term && from_leader && !expired {
            self.become_candidate(true);
        } else {
            self.mark(Mark::TimeoutNowIgnored);
        }
    }
}
