//! # ballot-raft-rs-03: TiKV's `raft` crate 0.3.x behind ballot's [`ElectionCore`]
//!
//! The same adapter as `ballot-raft-rs` (read its crate doc: one tick per millisecond with
//! deadlines read from raft-rs's counters, election timeouts re-drawn from the node's seed on
//! every timer reset, ids shifted by one, protobuf bytes on the wire, messages no peer sends
//! refused, the LeaseBased lease until the next check-quorum round), written against the
//! older API of raft-rs 0.3:
//!
//! - 0.3's `Ready` has no `persisted_messages`: every message leaves after the write, as its
//!   documentation asks of followers and candidates.
//! - 0.3 keeps the leader's heartbeat counter private, so the adapter counts the ticks since
//!   the node became leader itself (raft-rs resets the counter then, and every
//!   `heartbeat_timeout` ticks after).
//!
//! It is built only in the fixture builds under `fixtures/` (raft-rs 0.3.0 carries the bug of
//! raft-rs PR #84, 0.3.1 its fix), each pinning one release.

#![warn(missing_docs)]

use ballot_core::{
    Config, ConfigError, Entry, HardState, InitError, LogIndex, LogWrite, Millis, NodeId, Payload,
    ProposeError, RaftOptions, Role, SoftState, Term, TransferError,
};
use ballot_node::{Batch, ElectionCore, Envelope, MessageKind};
use protobuf::Message as _;
use raft::eraftpb::{Entry as RsEntry, EntryType, HardState as RsHardState, Message, MessageType};
use raft::storage::MemStorage;
use raft::{RawNode, ReadOnlyOption, StateRole};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// TiKV's raft-rs 0.3.x as an [`ElectionCore`].
pub struct RaftRs03 {
    node: RawNode<MemStorage>,
    rng: StdRng,
    timeout_range: (u64, u64),
    /// The largest proposal accepted, bytes (`Config::max_proposal_bytes`): raft-rs sends an
    /// entry alone however large, so one that cannot fit a datagram is refused here.
    max_proposal_bytes: usize,
    /// The local time of the last tick raft-rs was given, milliseconds.
    ticked_to: Millis,
    /// Ticks since the node last became leader (raft-rs's private heartbeat counter is this
    /// modulo the heartbeat timeout).
    ticks_as_leader: u64,
    /// Role and term when the adapter last looked: a change means raft-rs reset its timer.
    seen: (StateRole, u64),
    /// The Ready handed out and not yet advanced.
    in_flight: Option<raft::Ready>,
    published: SoftState,
    persisted: (u64, u64),
}

fn rs_id(id: NodeId) -> u64 {
    id.0 + 1
}

fn ballot_id(id: u64) -> Option<NodeId> {
    id.checked_sub(1).map(NodeId)
}

/// raft-rs's `max_size_per_msg` for ballot's byte budget per AppendEntries. raft-rs counts
/// each entry's protobuf size but not the bytes that frame it in the message (a tag and a
/// length, never more than the entry itself), so half the budget keeps every batch within it.
fn max_size_per_msg(config: &Config) -> u64 {
    (config.max_bytes_per_message / 2) as u64
}

fn read_only_option(check_quorum: bool) -> ReadOnlyOption {
    // raft-rs allows lease-based reads only with check-quorum.
    if check_quorum {
        ReadOnlyOption::LeaseBased
    } else {
        ReadOnlyOption::Safe
    }
}

fn role(state: StateRole) -> Role {
    match state {
        StateRole::Follower => Role::Follower,
        StateRole::PreCandidate => Role::PreCandidate,
        StateRole::Candidate => Role::Candidate,
        StateRole::Leader => Role::Leader,
    }
}

fn to_ballot_entry(e: &RsEntry) -> Entry {
    let payload = if e.data.is_empty() { Payload::Noop } else { Payload::Data(e.data.clone()) };
    Entry { index: e.index, term: Term(e.term), payload }
}

fn to_rs_entry(e: &Entry) -> RsEntry {
    let mut rs = RsEntry::new();
    rs.set_entry_type(EntryType::EntryNormal);
    rs.index = e.index;
    rs.term = e.term.0;
    if let Payload::Data(data) = &e.payload {
        rs.data = data.clone();
    }
    rs
}

impl RaftRs03 {
    /// raft-rs's configuration for ballot's `config`: one tick per millisecond.
    fn rs_config(
        id: NodeId,
        members: &[NodeId],
        config: &Config,
    ) -> Result<raft::Config, ConfigError> {
        config.validate()?;
        if config.adaptive_timeout {
            return Err(ConfigError::Unsupported(
                "adaptive_timeout: raft-rs has no adaptive election timeout".into(),
            ));
        }
        let ticks = |ms: u64| usize::try_from(ms).map_err(|_| ConfigError::ZeroElectionTimeout);
        let rs = raft::Config {
            id: rs_id(id),
            peers: members.iter().map(|&m| rs_id(m)).collect(),
            election_tick: ticks(config.election_timeout_min_ms)?,
            min_election_tick: ticks(config.election_timeout_min_ms)?,
            max_election_tick: ticks(config.election_timeout_max_ms)? + 1,
            heartbeat_tick: ticks(config.heartbeat_ms)?,
            check_quorum: config.check_quorum,
            pre_vote: config.pre_vote,
            read_only_option: read_only_option(config.check_quorum),
            max_size_per_msg: max_size_per_msg(config),
            max_inflight_msgs: 256,
            ..Default::default()
        };
        rs.validate().map_err(|e| ConfigError::Unsupported(format!("raft-rs refuses it: {e}")))?;
        Ok(rs)
    }

    /// Catches raft-rs up with local time `now`, one tick per elapsed millisecond.
    fn catch_up(&mut self, now: Millis) {
        while self.ticked_to < now {
            self.node.tick();
            self.ticked_to += 1;
            self.ticks_as_leader += 1;
            self.reseed_timer();
        }
    }

    /// If raft-rs reset its election timer since the last look (on becoming follower,
    /// candidate or leader, never on becoming pre-candidate), replaces its `thread_rng` draw
    /// with one from the seeded RNG.
    fn reseed_timer(&mut self) {
        let now = (self.node.raft.state, self.node.raft.term);
        if now == self.seen {
            return;
        }
        self.seen = now;
        if now.0 == StateRole::Leader {
            self.ticks_as_leader = 0;
        }
        if now.0 != StateRole::PreCandidate {
            let (min, max) = self.timeout_range;
            let timeout = self.rng.random_range(min..=max) as usize;
            self.node.raft.set_randomized_election_timeout(timeout);
        }
    }

    fn input<R>(&mut self, now: Millis, f: impl FnOnce(&mut RawNode<MemStorage>) -> R) -> R {
        self.catch_up(now);
        let result = f(&mut self.node);
        self.reseed_timer();
        result
    }

    fn leader(&self) -> Option<NodeId> {
        ballot_id(self.node.raft.leader_id)
    }
}

/// Refuses what no peer sends in this setup before raft-rs (which panics on some) sees it.
fn check_from_peer(msg: &Message, me: u64) -> Result<(), String> {
    let kind = msg.get_msg_type();
    if matches!(
        kind,
        MessageType::MsgHup
            | MessageType::MsgBeat
            | MessageType::MsgUnreachable
            | MessageType::MsgSnapStatus
            | MessageType::MsgCheckQuorum
            | MessageType::MsgPropose
            | MessageType::MsgReadIndex
            | MessageType::MsgTransferLeader
    ) {
        return Err(format!("{kind:?} never comes from a peer in this setup"));
    }
    if msg.term == 0 {
        return Err(format!("{kind:?} without a term"));
    }
    if msg.to != me {
        return Err(format!("message for raft-rs id {} delivered to {me}", msg.to));
    }
    if msg.from == 0 || msg.from == me {
        return Err(format!("message from raft-rs id {}", msg.from));
    }
    Ok(())
}

impl ElectionCore for RaftRs03 {
    type Message = Message;

    fn start(options: RaftOptions) -> Result<Self, InitError> {
        let RaftOptions { id, members, config, persisted, seed, now_ms, applied: _ } = options;
        if !members.contains(&id) {
            return Err(InitError::NotAMember(id));
        }
        let rs_config = RaftRs03::rs_config(id, &members, &config)?;
        let storage = MemStorage::new();
        let hard_state = persisted.hard_state;
        let entries: Vec<RsEntry> = persisted.entries.iter().map(to_rs_entry).collect();
        {
            let mut core = storage.wl();
            let mut hs = RsHardState::new();
            hs.term = hard_state.term.0;
            hs.vote = hard_state.voted_for.map_or(0, rs_id);
            core.set_hardstate(hs);
            core.append(&entries)
                .map_err(|e| InitError::InconsistentState(format!("raft-rs storage: {e}")))?;
        }
        let node = RawNode::new(&rs_config, storage, Vec::new())
            .map_err(|e| InitError::InconsistentState(format!("raft-rs: {e}")))?;
        let mut core = RaftRs03 {
            node,
            rng: StdRng::seed_from_u64(seed),
            timeout_range: (config.election_timeout_min_ms, config.election_timeout_max_ms),
            max_proposal_bytes: config.max_proposal_bytes(),
            ticked_to: now_ms,
            ticks_as_leader: 0,
            seen: (StateRole::Leader, u64::MAX),
            in_flight: None,
            published: SoftState { role: Role::Follower, term: Term(0), leader: None },
            persisted: (hard_state.term.0, hard_state.voted_for.map_or(0, rs_id)),
        };
        core.reseed_timer();
        core.published = core.soft_state();
        Ok(core)
    }

    fn tick(&mut self, now: Millis) {
        self.catch_up(now);
    }

    fn next_deadline(&self) -> Millis {
        let raft = &self.node.raft;
        let ticks = match raft.state {
            StateRole::Leader => {
                let heartbeat = raft.get_heartbeat_timeout() as u64;
                (heartbeat - self.ticks_as_leader % heartbeat)
                    .min(raft.get_election_timeout().saturating_sub(raft.election_elapsed) as u64)
            }
            _ => {
                raft.get_randomized_election_timeout().saturating_sub(raft.election_elapsed) as u64
            }
        };
        self.ticked_to + ticks.max(1)
    }

    fn step(&mut self, msg: Message, now: Millis) -> Result<(), String> {
        check_from_peer(&msg, self.node.raft.id)?;
        self.input(now, |node| node.step(msg)).map_err(|e| e.to_string())
    }

    fn propose(&mut self, data: Vec<u8>, now: Millis) -> Result<LogIndex, ProposeError> {
        self.catch_up(now);
        if self.node.raft.state != StateRole::Leader {
            return Err(ProposeError::NotLeader { leader: self.leader() });
        }
        if let Some(target) = self.node.raft.lead_transferee.and_then(ballot_id) {
            return Err(ProposeError::TransferInProgress(target));
        }
        if data.len() > self.max_proposal_bytes {
            return Err(ProposeError::TooLarge { bytes: data.len(), max: self.max_proposal_bytes });
        }
        self.input(now, |node| node.propose(Vec::new(), data))
            .map_err(|_| ProposeError::NotLeader { leader: None })?;
        Ok(self.node.raft.raft_log.last_index())
    }

    fn transfer_leadership(
        &mut self,
        target: Option<NodeId>,
        now: Millis,
    ) -> Result<(), TransferError> {
        self.catch_up(now);
        let raft = &self.node.raft;
        if raft.state != StateRole::Leader {
            return Err(TransferError::NotLeader { leader: self.leader() });
        }
        if let Some(pending) = raft.lead_transferee.and_then(ballot_id) {
            return Err(TransferError::InProgress(pending));
        }
        let target = match target {
            Some(target) => rs_id(target),
            None => match raft
                .prs()
                .voters()
                .iter()
                .filter(|(&id, _)| id != raft.id)
                .max_by_key(|(&id, pr)| (pr.matched, std::cmp::Reverse(id)))
            {
                Some((&id, _)) => id,
                None => return Ok(()),
            },
        };
        if !raft.prs().voters().contains_key(&target) {
            return Err(TransferError::UnknownNode(NodeId(target.wrapping_sub(1))));
        }
        self.input(now, |node| node.transfer_leader(target));
        Ok(())
    }

    fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        let id = NodeId(self.node.raft.id - 1);
        RaftRs03::rs_config(id, &[id], &config)?;
        let raft = &mut self.node.raft;
        let timing = (config.election_timeout_min_ms, config.election_timeout_max_ms);
        if timing != self.timeout_range
            || config.heartbeat_ms != raft.get_heartbeat_timeout() as u64
        {
            return Err(ConfigError::Unsupported(
                "raft-rs cannot change its election timeout or heartbeat on a running node".into(),
            ));
        }
        raft.pre_vote = config.pre_vote;
        raft.check_quorum = config.check_quorum;
        raft.max_msg_size = max_size_per_msg(&config);
        self.max_proposal_bytes = config.max_proposal_bytes();
        raft.read_only.option = read_only_option(config.check_quorum);
        Ok(())
    }

    fn ready(&mut self) -> Option<Batch<Message>> {
        assert!(self.in_flight.is_none(), "ready() called again before advance()");
        let mut batch = Batch {
            soft_state: None,
            hard_state: None,
            log_write: None,
            messages: Vec::new(),
            persisted_messages: Vec::new(),
            committed: Vec::new(),
            marks: Vec::new(),
        };
        if self.node.has_ready() {
            let mut ready = self.node.ready();
            if let Some(first) = ready.entries.first() {
                batch.log_write = Some(LogWrite {
                    first_index: first.index,
                    entries: ready.entries.iter().map(to_ballot_entry).collect(),
                });
                let appended = self.node.mut_store().wl().append(&ready.entries);
                appended.expect("raft-rs hands out entries that fit its own log");
            }
            if let Some(hs) = ready.hs.clone() {
                if (hs.term, hs.vote) != self.persisted {
                    self.persisted = (hs.term, hs.vote);
                    batch.hard_state =
                        Some(HardState { term: Term(hs.term), voted_for: ballot_id(hs.vote) });
                }
                self.node.mut_store().wl().set_hardstate(hs);
            }
            let committed = ready.committed_entries.take().unwrap_or_default();
            batch.committed = committed.iter().map(to_ballot_entry).collect();
            batch.persisted_messages = std::mem::take(&mut ready.messages);
            self.in_flight = Some(ready);
        }
        let soft = self.soft_state();
        if soft != self.published {
            self.published = soft;
            batch.soft_state = Some(soft);
        }
        (self.in_flight.is_some() || batch.soft_state.is_some()).then_some(batch)
    }

    fn advance(&mut self) {
        let Some(ready) = self.in_flight.take() else { return };
        self.node.advance(ready);
        self.reseed_timer();
    }

    fn soft_state(&self) -> SoftState {
        let raft = &self.node.raft;
        SoftState { role: role(raft.state), term: Term(raft.term), leader: self.leader() }
    }

    fn lease_expires_at(&self) -> Option<Millis> {
        let raft = &self.node.raft;
        let leads = raft.in_lease() && raft.read_only.option == ReadOnlyOption::LeaseBased;
        leads.then(|| {
            let left = raft.get_election_timeout().saturating_sub(raft.election_elapsed);
            self.ticked_to + left as u64
        })
    }

    fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), String> {
        msg.write_to_vec(out).map_err(|e| e.to_string())
    }

    fn decode(bytes: &[u8]) -> Result<Message, String> {
        protobuf::parse_from_bytes::<Message>(bytes).map_err(|e| e.to_string())
    }

    fn envelope(msg: &Message) -> Envelope {
        let vote_answer = |pre_vote| MessageKind::VoteAnswer {
            term: Term(msg.term),
            granted: !msg.reject,
            pre_vote,
        };
        let kind = match msg.get_msg_type() {
            MessageType::MsgAppend | MessageType::MsgHeartbeat | MessageType::MsgSnapshot => {
                MessageKind::AppendEntries
            }
            MessageType::MsgRequestVote => {
                MessageKind::VoteRequest { term: Term(msg.term), pre_vote: false }
            }
            MessageType::MsgRequestPreVote => {
                MessageKind::VoteRequest { term: Term(msg.term), pre_vote: true }
            }
            MessageType::MsgRequestVoteResponse => vote_answer(false),
            MessageType::MsgRequestPreVoteResponse => vote_answer(true),
            MessageType::MsgAppendResponse => MessageKind::AppendAnswer {
                term: Term(msg.term),
                success: !msg.reject,
                index: msg.index,
            },
            _ => MessageKind::Other,
        };
        let id = |id: u64| ballot_id(id).unwrap_or(NodeId(u64::MAX));
        Envelope { from: id(msg.from), to: id(msg.to), kind }
    }
}
