//! # ballot-raft-rs: TiKV's `raft` crate behind ballot's [`ElectionCore`]
//!
//! [`RaftRs`] wraps a `raft::RawNode` (raft-rs 0.7) so that ballot's node driver, and with it
//! the whole harness (schedules, faults, checkers, chaos, shrinking, the failover benchmark),
//! runs TiKV's Raft exactly as it runs ballot's own core. The adapter never changes raft-rs;
//! it translates:
//!
//! The guide page for testing another core, with this adapter as the worked example:
//! `docs/testing-another-raft.md` in the repository; what the harness found in raft-rs:
//! `docs/raft-rs.md`.
//!
//! - **Time.** raft-rs counts ticks; one tick is one millisecond of the node's clock, so the
//!   same `election_timeout_ms` and `heartbeat_ms` mean the same thing for both cores. The
//!   adapter does not wake every millisecond: [`ElectionCore::next_deadline`] reads raft-rs's
//!   tick counters and names the tick at which something fires, and `tick` (or any input)
//!   catches up on the ticks that passed, one `RawNode::tick` each, in order.
//! - **Randomness.** raft-rs draws each randomized election timeout from `thread_rng`. Every
//!   time raft-rs resets its timer (on becoming follower, candidate or leader) the adapter
//!   overrides the draw with one from the node's seeded RNG, so every run is deterministic.
//! - **Ids.** raft-rs reserves id 0; ballot's `NodeId(n)` is raft-rs's `n + 1`.
//! - **Messages** travel as raft-rs's own protobuf bytes. Messages a peer never sends to
//!   another in this setup (local ones, forwarded proposals, reads and transfers, term 0)
//!   are refused before raft-rs sees them: raft-rs trusts its peers and panics on some.
//! - **Persistence.** Term, vote and entries go to the driver's disk (the same state file as
//!   ballot's core) and are mirrored in raft-rs's `MemStorage`; `persisted_messages` leave
//!   only after the write, as raft-rs asks. The commit index is not persisted: after a
//!   restart committed entries are delivered again, as with ballot's core started with
//!   `applied: 0`.
//! - **The lease**, as raft-rs means it under `ReadOnlyOption::LeaseBased` (which raft-rs
//!   allows only with check-quorum): a leader answers lease reads for as long as it is leader,
//!   and it only steps down at its next check-quorum round. The adapter reports that round as
//!   the lease's end, and a new one after each round the leader survives.
//!
//! - **Message size.** raft-rs's `max_size_per_msg` is half of ballot's
//!   `max_bytes_per_message` (raft-rs does not count the bytes framing each entry), so every
//!   AppendEntries fits the node's datagram; a proposal larger than one message carries is
//!   refused with `ProposeError::TooLarge`, since raft-rs would send it alone and it could
//!   never arrive.
//!
//! Settings raft-rs has no equivalent for (`adaptive_timeout`) are refused at start with
//! [`ConfigError::Unsupported`]; `set_config` can switch pre-vote and check-quorum on a live
//! node (raft-rs keeps both as plain fields) but not the timing.

#![warn(missing_docs)]

mod convert;

use ballot_core::{
    Config, ConfigError, InitError, LogIndex, Millis, NodeId, ProposeError, RaftOptions, Role,
    SoftState, Term, TransferError,
};
use ballot_node::{Batch, ElectionCore, Envelope};
use raft::eraftpb::{ConfState, Entry as RsEntry, HardState as RsHardState, Message};
use raft::storage::MemStorage;
use raft::{RawNode, ReadOnlyOption, StateRole};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use convert::{decode, encode, envelope};

/// TiKV's raft-rs 0.7 as an [`ElectionCore`].
pub struct RaftRs {
    node: RawNode<MemStorage>,
    rng: StdRng,
    timeout_range: (u64, u64),
    /// The largest proposal accepted, bytes (`Config::max_proposal_bytes`): raft-rs sends an
    /// entry alone however large, so one that cannot fit a datagram is refused here.
    max_proposal_bytes: usize,
    /// The local time of the last tick raft-rs was given, milliseconds.
    ticked_to: Millis,
    /// Role and term when the adapter last looked: a change means raft-rs reset its timer.
    seen: (StateRole, u64),
    /// The Ready handed out and not yet advanced.
    in_flight: Option<raft::Ready>,
    /// What raft-rs released on the last advance, handed out with the next batch.
    after_advance: (Vec<Message>, Vec<RsEntry>),
    published: SoftState,
    persisted: (u64, u64),
}

impl RaftRs {
    /// raft-rs's configuration for ballot's `config`: one tick per millisecond.
    fn rs_config(id: NodeId, config: &Config) -> Result<raft::Config, ConfigError> {
        config.validate()?;
        if config.adaptive_timeout {
            return Err(ConfigError::Unsupported(
                "adaptive_timeout: raft-rs has no adaptive election timeout".into(),
            ));
        }
        let ticks = |ms: u64| usize::try_from(ms).map_err(|_| ConfigError::ZeroElectionTimeout);
        let rs = raft::Config {
            id: rs_id(id),
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
            self.reseed_timer();
        }
    }

    /// If raft-rs reset its election timer since the last look (it does on becoming
    /// follower, candidate or leader, never on becoming pre-candidate), replaces its
    /// `thread_rng` draw with one from the seeded RNG.
    fn reseed_timer(&mut self) {
        let now = (self.node.raft.state, self.node.raft.term);
        if now == self.seen {
            return;
        }
        self.seen = now;
        if now.0 != StateRole::PreCandidate {
            let (min, max) = self.timeout_range;
            let timeout = self.rng.random_range(min..=max) as usize;
            self.node.raft.set_randomized_election_timeout(timeout);
        }
    }

    /// Runs one input at local time `now` and looks for a timer reset after it.
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

impl ElectionCore for RaftRs {
    type Message = Message;

    fn start(options: RaftOptions) -> Result<Self, InitError> {
        let RaftOptions { id, members, config, persisted, seed, now_ms, applied: _ } = options;
        if !members.contains(&id) {
            return Err(InitError::NotAMember(id));
        }
        let rs_config = RaftRs::rs_config(id, &config)?;
        let voters: Vec<u64> = members.iter().map(|&m| rs_id(m)).collect();
        let storage = MemStorage::new_with_conf_state(ConfState::from((voters, vec![])));
        let hard_state = persisted.hard_state;
        let entries: Vec<RsEntry> = persisted.entries.iter().map(convert::to_rs_entry).collect();
        {
            let mut core = storage.wl();
            core.set_hardstate(RsHardState {
                term: hard_state.term.0,
                vote: hard_state.voted_for.map_or(0, rs_id),
                ..Default::default()
            });
            core.append(&entries)
                .map_err(|e| InitError::InconsistentState(format!("raft-rs storage: {e}")))?;
        }
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let node = RawNode::new(&rs_config, storage, &logger)
            .map_err(|e| InitError::InconsistentState(format!("raft-rs: {e}")))?;
        let mut core = RaftRs {
            node,
            rng: StdRng::seed_from_u64(seed),
            timeout_range: (config.election_timeout_min_ms, config.election_timeout_max_ms),
            max_proposal_bytes: config.max_proposal_bytes(),
            ticked_to: now_ms,
            seen: (StateRole::Leader, u64::MAX),
            in_flight: None,
            after_advance: (Vec::new(), Vec::new()),
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
            StateRole::Leader => (raft.heartbeat_timeout() - raft.heartbeat_elapsed())
                .min(raft.election_timeout().saturating_sub(raft.election_elapsed)),
            _ => raft.randomized_election_timeout().saturating_sub(raft.election_elapsed),
        };
        self.ticked_to + ticks.max(1) as u64
    }

    fn step(&mut self, msg: Message, now: Millis) -> Result<(), String> {
        convert::check_from_peer(&msg, self.node.raft.id)?;
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
            // The most up-to-date follower, the lowest id among equals.
            None => match raft
                .prs()
                .iter()
                .filter(|(&id, _)| id != raft.id)
                .max_by_key(|(&id, pr)| (pr.matched, std::cmp::Reverse(id)))
            {
                Some((&id, _)) => id,
                None => return Ok(()),
            },
        };
        if !raft.prs().conf().voters().contains(target) {
            return Err(TransferError::UnknownNode(NodeId(target.wrapping_sub(1))));
        }
        self.input(now, |node| node.transfer_leader(target));
        Ok(())
    }

    fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        RaftRs::rs_config(NodeId(self.node.raft.id - 1), &config)?;
        let raft = &mut self.node.raft;
        let timing = (config.election_timeout_min_ms, config.election_timeout_max_ms);
        if timing != self.timeout_range || config.heartbeat_ms != raft.heartbeat_timeout() as u64 {
            return Err(ConfigError::Unsupported(
                "raft-rs cannot change its election timeout or heartbeat on a running node".into(),
            ));
        }
        raft.pre_vote = config.pre_vote;
        raft.check_quorum = config.check_quorum;
        raft.max_msg_size = max_size_per_msg(&config);
        self.max_proposal_bytes = config.max_proposal_bytes();
        // No read is ever pending (the adapter issues none), so the option can simply change.
        raft.read_only.option = read_only_option(config.check_quorum);
        Ok(())
    }

    fn ready(&mut self) -> Option<Batch<Message>> {
        assert!(self.in_flight.is_none(), "ready() called again before advance()");
        let (mut messages, committed) = std::mem::take(&mut self.after_advance);
        let mut committed: Vec<_> = committed.iter().map(convert::to_ballot_entry).collect();
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
            messages.extend(ready.take_messages());
            let entries = ready.take_entries();
            if let Some(first) = entries.first() {
                batch.log_write = Some(ballot_core::LogWrite {
                    first_index: first.index,
                    entries: entries.iter().map(convert::to_ballot_entry).collect(),
                });
                let appended = self.node.mut_store().wl().append(&entries);
                appended.expect("raft-rs hands out entries that fit its own log");
            }
            if let Some(hs) = ready.hs().cloned() {
                if (hs.term, hs.vote) != self.persisted {
                    self.persisted = (hs.term, hs.vote);
                    batch.hard_state = Some(ballot_core::HardState {
                        term: Term(hs.term),
                        voted_for: ballot_id(hs.vote),
                    });
                }
                self.node.mut_store().wl().set_hardstate(hs);
            }
            committed.extend(ready.take_committed_entries().iter().map(convert::to_ballot_entry));
            batch.persisted_messages = ready.take_persisted_messages();
            self.in_flight = Some(ready);
        }
        batch.messages = messages;
        batch.committed = committed;
        let soft = self.soft_state();
        if soft != self.published {
            self.published = soft;
            batch.soft_state = Some(soft);
        }
        let empty = self.in_flight.is_none()
            && batch.soft_state.is_none()
            && batch.messages.is_empty()
            && batch.committed.is_empty();
        (!empty).then_some(batch)
    }

    fn advance(&mut self) {
        let Some(ready) = self.in_flight.take() else { return };
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.node.mut_store().wl().mut_hard_state().commit = commit;
        }
        self.after_advance = (light.take_messages(), light.take_committed_entries());
        self.node.advance_apply();
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
            let left = raft.election_timeout().saturating_sub(raft.election_elapsed);
            self.ticked_to + left as u64
        })
    }

    fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), String> {
        encode(msg, out)
    }

    fn decode(bytes: &[u8]) -> Result<Message, String> {
        decode(bytes)
    }

    fn envelope(msg: &Message) -> Envelope {
        envelope(msg)
    }
}

#[cfg(test)]
mod tests;
