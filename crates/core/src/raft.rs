//! The election state machine: its state, its inputs, and the Ready/advance handshake.

use crate::config::{Config, ConfigError};
use crate::error::{InitError, StepError};
use crate::log::{Entry, Log};
use crate::mark::Mark;
use crate::message::{Body, Message};
use crate::progress::LeaderState;
use crate::ready::{HardState, PersistedState, Ready, SoftState};
use crate::timeout::{draw_timeout, turn_key, turn_range, AdaptiveTimeout, SplitVoteBackoff};
use crate::types::{LogIndex, Millis, NodeId, Role, Term};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;

/// Everything [`Raft::new`] needs, by name (so that a seed and a time cannot be swapped).
#[derive(Clone, Debug)]
pub struct RaftOptions {
    /// This node.
    pub id: NodeId,
    /// Every member of the cluster, this node included.
    pub members: Vec<NodeId>,
    /// The election core's configuration.
    pub config: Config,
    /// What the node's disk holds (`PersistedState::default()` for a new node).
    pub persisted: PersistedState,
    /// Seeds the node's own RNG (its election timeouts).
    pub seed: u64,
    /// The node's local time now, milliseconds.
    pub now_ms: Millis,
    /// Highest log index the application has applied, from the application's own durable
    /// state (`0` for a new node, or to have every committed entry delivered again). Entries
    /// up to it count as committed and are not handed out again in [`Ready::committed`]; it
    /// must not exceed the persisted log.
    pub applied: LogIndex,
}

/// One node's Raft election core. Deterministic: the same inputs give the same outputs.
///
/// Inputs are [`Raft::tick`], [`Raft::step`], [`Raft::propose`] and
/// [`Raft::transfer_leadership`], each with the node's local time in milliseconds; outputs
/// are collected in a [`Ready`] (see [`Raft::ready`]).
#[derive(Debug)]
pub struct Raft {
    pub(crate) id: NodeId,
    /// Every member, this node included, sorted.
    pub(crate) members: Vec<NodeId>,
    pub(crate) config: Config,
    pub(crate) rng: StdRng,
    /// Latest local time seen, milliseconds.
    pub(crate) now: Millis,
    /// When this incarnation started: it may have heard from a leader just before a crash.
    pub(crate) started_at: Millis,

    pub(crate) term: Term,
    pub(crate) voted_for: Option<NodeId>,
    pub(crate) role: Role,
    pub(crate) leader: Option<NodeId>,
    pub(crate) log: Log,

    pub(crate) election_deadline: Millis,
    /// Responses to the current (pre-)campaign, one per voter, this node included.
    pub(crate) votes: BTreeMap<NodeId, bool>,
    /// Last time a valid AppendEntries arrived from the current leader.
    pub(crate) last_leader_contact: Option<Millis>,
    /// The AppendEntries of a term's leader that dates that leader's clock best: the term,
    /// its send time on the leader's clock and its arrival on this node's (milliseconds).
    /// Kept while this node campaigns in the same term (see `leader_clock_now`).
    pub(crate) leader_clock: Option<(Term, Millis, Millis)>,
    pub(crate) adaptive: AdaptiveTimeout,
    pub(crate) backoff: SplitVoteBackoff,
    /// Present exactly while this node is leader.
    pub(crate) leading: Option<LeaderState>,

    hard_state_dirty: bool,
    hard_state_in_flight: bool,
    awaiting_advance: bool,
    messages: Vec<Message>,
    persisted_messages: Vec<Message>,
    marks: Vec<Mark>,
    reported_soft: SoftState,
    reported_commit: LogIndex,
}

impl Raft {
    /// Creates (or restarts) a node from what it persisted; see [`RaftOptions`]. A
    /// restarted node refuses votes for one minimum election timeout, since it may have
    /// acknowledged a leader's lease just before it stopped.
    pub fn new(options: RaftOptions) -> Result<Raft, InitError> {
        let RaftOptions { id, members, config, persisted, seed, now_ms: now, applied } = options;
        config.validate()?;
        let mut sorted = members;
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(InitError::DuplicateMember(w[0]));
        }
        if !sorted.contains(&id) {
            return Err(InitError::NotAMember(id));
        }
        let HardState { term, voted_for } = persisted.hard_state;
        if let Some(v) = voted_for.filter(|v| !sorted.contains(v)) {
            return Err(InitError::InconsistentState(format!("voted for non-member {v}")));
        }
        let mut log = Log::restore(persisted.entries).map_err(InitError::InconsistentState)?;
        if applied > log.last_index() {
            return Err(InitError::InconsistentState(format!(
                "applied index {applied} is past the log's last index {}",
                log.last_index()
            )));
        }
        log.commit_to(applied);
        if log.last_term() > term {
            return Err(InitError::InconsistentState(format!(
                "log holds an entry of {} but the term is only {term}",
                log.last_term()
            )));
        }
        let mut raft = Raft {
            id,
            members: sorted,
            config,
            rng: StdRng::seed_from_u64(seed),
            now,
            started_at: now,
            term,
            voted_for,
            role: Role::Follower,
            leader: None,
            log,
            election_deadline: now,
            votes: BTreeMap::new(),
            last_leader_contact: None,
            leader_clock: None,
            adaptive: AdaptiveTimeout::default(),
            backoff: SplitVoteBackoff::default(),
            leading: None,
            hard_state_dirty: false,
            hard_state_in_flight: false,
            awaiting_advance: false,
            messages: Vec::new(),
            persisted_messages: Vec::new(),
            marks: Vec::new(),
            reported_soft: SoftState { role: Role::Follower, term, leader: None },
            reported_commit: applied,
        };
        raft.reset_election_timer();
        if voted_for.is_some() {
            raft.mark(Mark::RestartAfterVote);
        }
        Ok(raft)
    }

    /// Advances time to `now` (milliseconds) and fires whatever timer is due: an election
    /// timeout, a heartbeat, a check-quorum step-down or a transfer's expiry.
    pub fn tick(&mut self, now: Millis) {
        self.set_now(now);
        if self.role == Role::Leader {
            self.tick_leader();
        } else if self.now >= self.election_deadline {
            self.start_campaign();
        }
    }

    /// Starts an election at `now` (milliseconds), with pre-vote if configured, as if the
    /// election timer had fired: for tests, and for an operator who knows the leader is gone.
    /// Peers still apply every rule (a lease they keep refuses it). A leader ignores it;
    /// returns whether a campaign started.
    pub fn campaign(&mut self, now: Millis) -> bool {
        self.set_now(now);
        if self.role == Role::Leader {
            return false;
        }
        self.start_campaign();
        true
    }

    /// Switches to another configuration on a live node, such as pre-vote or check-quorum on
    /// (etcd's rolling migration: nodes with and without pre-vote elect leaders together).
    /// Timeouts change at the next timer reset. An invalid configuration is refused and the
    /// old one kept.
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Handles one message received at `now` (milliseconds).
    pub fn step(&mut self, msg: Message, now: Millis) -> Result<(), StepError> {
        self.set_now(now);
        if msg.to != self.id {
            return Err(StepError::WrongRecipient { to: msg.to, me: self.id });
        }
        if msg.from == self.id || !self.members.contains(&msg.from) {
            return Err(StepError::UnknownSender(msg.from));
        }
        self.backoff.heard_from(msg.from);
        if msg.term > self.term && self.role == Role::Leader {
            self.mark(Mark::LeaderDeposed);
        }
        if msg.term > self.term {
            match msg.body {
                // Thesis §9.6: a node that hears from a live leader neither updates its term
                // nor votes, unless leadership is being handed over on purpose.
                Body::RequestVote { transfer: false, pre_vote, .. } if self.in_lease() => {
                    self.mark(if pre_vote {
                        Mark::PreVoteRefusedInLease
                    } else {
                        Mark::VoteIgnoredInLease
                    });
                    return Ok(());
                }
                // A pre-vote carries the term the sender *would* campaign in.
                Body::RequestVote { pre_vote: true, .. } => {}
                Body::RequestVoteResponse { pre_vote: true, granted: true } => {}
                Body::AppendEntries { .. } | Body::TimeoutNow { .. } => {
                    self.become_follower(msg.term, Some(msg.from))
                }
                _ => self.become_follower(msg.term, None),
            }
        }
        match msg.body {
            Body::RequestVote { .. } => self.handle_request_vote(msg),
            Body::RequestVoteResponse { .. } => self.handle_vote_response(msg),
            Body::AppendEntries { .. } => self.handle_append_entries(msg),
            Body::AppendEntriesResponse { .. } => self.handle_append_response(msg),
            Body::TimeoutNow { .. } => self.handle_timeout_now(msg),
        }
        Ok(())
    }

    /// Whether a [`Ready`] is waiting to be taken.
    pub fn has_ready(&self) -> bool {
        !self.awaiting_advance
            && (self.hard_state_dirty
                || self.log.has_unpersisted()
                || !self.messages.is_empty()
                || !self.persisted_messages.is_empty()
                || !self.marks.is_empty()
                || self.soft_state() != self.reported_soft
                || self.committable() > self.reported_commit)
    }

    /// Takes the pending work, if any. Until [`Raft::advance`] is called no further Ready is
    /// handed out; inputs may still arrive in between.
    pub fn ready(&mut self) -> Option<Ready> {
        if !self.has_ready() {
            return None;
        }
        let soft = self.soft_state();
        let soft_state = (soft != self.reported_soft).then_some(soft);
        self.reported_soft = soft;
        let hard_state = std::mem::take(&mut self.hard_state_dirty).then(|| self.hard_state());
        self.hard_state_in_flight = hard_state.is_some();
        let upto = self.committable();
        let committed = self.log.range(self.reported_commit, upto).to_vec();
        self.reported_commit = self.reported_commit.max(upto);
        self.awaiting_advance = true;
        Some(Ready {
            soft_state,
            hard_state,
            log_write: self.log.take_write(),
            messages: std::mem::take(&mut self.messages),
            persisted_messages: std::mem::take(&mut self.persisted_messages),
            committed,
            marks: std::mem::take(&mut self.marks),
        })
    }

    /// Acknowledges the last [`Ready`]: its state is durable and its messages are sent.
    pub fn advance(&mut self) {
        self.awaiting_advance = false;
        self.hard_state_in_flight = false;
        self.log.persisted();
        if self.role == Role::Leader {
            self.maybe_commit();
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// This node's current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// The leader this node knows of in its current term.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The configuration this node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Role, term and leader.
    pub fn soft_state(&self) -> SoftState {
        SoftState { role: self.role, term: self.term, leader: self.leader }
    }

    /// Term and vote, as they must be persisted.
    pub(crate) fn hard_state(&self) -> HardState {
        HardState { term: self.term, voted_for: self.voted_for }
    }

    /// The whole log, durable or not.
    pub fn entries(&self) -> &[Entry] {
        self.log.entries()
    }

    /// Leader failure detector: milliseconds since the last valid heartbeat from the current
    /// leader, or `None` if this node follows no leader.
    pub fn leader_silence_ms(&self, now: Millis) -> Option<u64> {
        match (self.role, self.leader) {
            (Role::Follower, Some(_)) => self.last_leader_contact.map(|t| now.saturating_sub(t)),
            _ => None,
        }
    }

    /// The earliest local time at which [`Raft::tick`] has something to do, milliseconds.
    pub fn next_deadline(&self) -> Millis {
        match &self.leading {
            Some(leading) => self.leader_deadline(leading),
            None => self.election_deadline,
        }
    }

    /// Records a rare situation (coverage only: it changes nothing).
    pub(crate) fn mark(&mut self, mark: Mark) {
        self.marks.push(mark);
    }

    /// How far the clock of this term's leader has certainly got by now, milliseconds: an
    /// AppendEntries of it was sent at `sent` (its clock), and since that arrived here the
    /// leader's clock has run at least `1 − clock_drift_bound` times as fast as this one.
    /// `None` before any AppendEntries of this term's leader.
    pub(crate) fn leader_clock_now(&self) -> Option<Millis> {
        let (sent, since) = self.leader_clock_dated()?;
        Some(sent.saturating_add((since * (1.0 - self.config.clock_drift_bound)).floor() as Millis))
    }

    /// How far the clock of this term's leader may have got by now, at most, milliseconds:
    /// as [`Raft::leader_clock_now`], at `1 + clock_drift_bound` times this clock's pace.
    /// Add the one-way latency of the AppendEntries that dated it, which this node cannot
    /// know. `None` before any AppendEntries of this term's leader.
    pub(crate) fn leader_clock_at_most(&self) -> Option<Millis> {
        let (sent, since) = self.leader_clock_dated()?;
        Some(sent.saturating_add((since * (1.0 + self.config.clock_drift_bound)).ceil() as Millis))
    }

    /// The leader's clock when its best-dated AppendEntries of this term left, and this
    /// node's milliseconds since it arrived.
    fn leader_clock_dated(&self) -> Option<(Millis, f64)> {
        let (_, sent, arrived) = self.leader_clock.filter(|c| c.0 == self.term)?;
        Some((sent, self.now.saturating_sub(arrived) as f64))
    }

    /// Dates the leader's clock with an AppendEntries sent at `sent_at_ms` (its clock) that
    /// arrives now, if that says more than what this node already knew. Messages held up in
    /// the network arrive late: an old one must not make the leader's clock look younger.
    pub(crate) fn date_leader_clock(&mut self, sent_at_ms: Millis) {
        if self.leader_clock_now().is_none_or(|known| sent_at_ms > known) {
            self.leader_clock = Some((self.term, sent_at_ms, self.now));
        }
    }

    pub(crate) fn set_now(&mut self, now: Millis) {
        self.now = self.now.max(now);
    }

    pub(crate) fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    pub(crate) fn peers(&self) -> Vec<NodeId> {
        self.members.iter().copied().filter(|&m| m != self.id).collect()
    }

    /// Highest index handed out in [`Ready::committed`].
    pub(crate) fn reported_commit(&self) -> LogIndex {
        self.reported_commit
    }

    /// Highest index both committed and durable here: what may be reported as committed.
    fn committable(&self) -> LogIndex {
        self.log.commit().min(self.log.stable())
    }

    /// Whether some state is not yet durable, so a message now may depend on it.
    fn has_unpersisted(&self) -> bool {
        self.hard_state_dirty || self.hard_state_in_flight || self.log.has_unpersisted()
    }

    pub(crate) fn mark_hard_state_dirty(&mut self) {
        self.hard_state_dirty = true;
    }

    /// Queues a message; it waits for persistence if anything it may depend on is not durable.
    pub(crate) fn send(&mut self, to: NodeId, term: Term, body: Body) {
        let msg = Message { from: self.id, to, term, body };
        if self.has_unpersisted() {
            self.persisted_messages.push(msg);
        } else {
            self.messages.push(msg);
        }
    }

    /// Drops the AppendEntries successes still waiting for persistence that cover index
    /// `from` or later: a conflicting suffix from there on was just truncated, so the write
    /// they wait for will not hold those entries, and an answer claiming them would let an
    /// older leader count entries this node never made durable towards a commit.
    pub(crate) fn withdraw_acks_from(&mut self, from: LogIndex) {
        self.persisted_messages.retain(|m| {
            !matches!(m.body, Body::AppendEntriesResponse { success: true, index, .. } if index >= from)
        });
    }

    pub(crate) fn reset_election_timer(&mut self) {
        let range = self.my_turn(self.election_range());
        self.election_deadline = self.now + draw_timeout(&mut self.rng, range);
    }

    /// The range the next election timeout is drawn from, milliseconds: the configured (or
    /// adaptive) one, widened by the split-vote backoff after lost campaigns.
    pub(crate) fn election_range(&self) -> (u64, u64) {
        let range = self.adaptive.range(&self.config);
        if self.config.split_vote_backoff {
            self.backoff.widen(range, self.vote_round_trip_ms())
        } else {
            range
        }
    }

    /// Staggered timeouts: a follower of a known leader draws from its turn's slice of
    /// `range`. The turns go to the leader's followers in the term's order, each at least
    /// half the leader's heartbeat round trip long.
    fn my_turn(&self, range: (u64, u64)) -> (u64, u64) {
        let following = self.role == Role::Follower && self.config.staggered_timeouts;
        let Some(leader) = self.leader.filter(|_| following) else {
            return range;
        };
        let key = |id: NodeId| turn_key(id, self.term);
        let followers = self.members.iter().filter(|&&m| m != leader);
        let turns = followers.clone().count() as u64;
        let turn = followers.filter(|&&m| key(m) < key(self.id)).count() as u64;
        let one_way = self.adaptive.srtt_ms().unwrap_or(0) / 2;
        turn_range(range, turn, turns, one_way)
    }

    /// Becomes a follower of `term` (raising the term, and forgetting the vote, if it is
    /// higher) that knows `leader`.
    ///
    /// The election timer keeps running (§5.2: only a leader's AppendEntries or a granted vote
    /// reset it), except for a leader, whose timer was not running. Resetting it on every
    /// higher term would let a candidate that cannot win (its log is behind) keep every
    /// up-to-date node from ever timing out.
    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.mark_hard_state_dirty();
        }
        if leader != self.leader {
            self.adaptive.reset_heartbeats();
        }
        let was_leader = self.role == Role::Leader;
        self.role = Role::Follower;
        self.leader = leader;
        self.leading = None;
        self.votes.clear();
        if was_leader {
            self.reset_election_timer();
        }
    }
}
