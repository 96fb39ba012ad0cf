//! Tests of the core: election rules one message at a time, and whole clusters on the
//! in-memory network.

mod api;
mod backoff;
mod features;
mod marks;
mod mutants;
mod network;
mod payloads;
mod rules;
mod turns;

use crate::{
    Body, Config, Entry, HardState, Message, NodeId, Payload, PersistedState, Raft, Ready, Term,
};

/// The default configuration without pre-vote.
pub(crate) fn no_pre_vote() -> Config {
    Config { pre_vote: false, ..Config::default() }
}

/// A time well past the start-up lease, milliseconds.
pub(crate) const LATER: u64 = 1_000;

pub(crate) fn members(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

pub(crate) fn entries(terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| Entry { index: i as u64 + 1, term: Term(t), payload: Payload::Noop })
        .collect()
}

/// Node 1 of an `n`-node cluster, started at time 0 from the given term, vote and log.
pub(crate) fn node(n: u64, config: Config, term: u64, vote: Option<u64>, log: &[u64]) -> Raft {
    let hard_state = HardState { term: Term(term), voted_for: vote.map(NodeId) };
    let persisted = PersistedState { hard_state, entries: entries(log) };
    Raft::new(crate::RaftOptions {
        id: NodeId(1),
        members: members(n),
        config,
        persisted,
        seed: 42,
        now_ms: 0,
        applied: 0,
    })
    .expect("valid node")
}

/// Takes the pending Ready (or an empty one) and acknowledges it as the driver would.
pub(crate) fn take(r: &mut Raft) -> Ready {
    let ready = r.ready().unwrap_or_default();
    r.advance();
    ready
}

/// Every message of a Ready, in order.
pub(crate) fn sent(ready: &Ready) -> Vec<Message> {
    ready.messages.iter().chain(&ready.persisted_messages).cloned().collect()
}

pub(crate) fn msg(from: u64, term: u64, body: Body) -> Message {
    Message { from: NodeId(from), to: NodeId(1), term: Term(term), body }
}

pub(crate) fn vote_request(from: u64, term: u64, last_index: u64, last_term: u64) -> Message {
    let body = Body::RequestVote {
        pre_vote: false,
        transfer: false,
        last_log_index: last_index,
        last_log_term: Term(last_term),
    };
    msg(from, term, body)
}

pub(crate) fn pre_vote(from: u64, term: u64, last_index: u64, last_term: u64) -> Message {
    let body = Body::RequestVote {
        pre_vote: true,
        transfer: false,
        last_log_index: last_index,
        last_log_term: Term(last_term),
    };
    msg(from, term, body)
}

pub(crate) fn vote_response(from: u64, term: u64, granted: bool) -> Message {
    msg(from, term, Body::RequestVoteResponse { pre_vote: false, granted })
}

pub(crate) fn heartbeat(from: u64, term: u64, prev: (u64, u64), commit: u64) -> Message {
    let body = Body::AppendEntries {
        prev_log_index: prev.0,
        prev_log_term: Term(prev.1),
        entries: vec![],
        leader_commit: commit,
        sent_at_ms: 0,
        rtt_ms: 0,
    };
    msg(from, term, body)
}

/// A heartbeat (empty AppendEntries, nothing to match) sent at `sent_at` on the leader's clock.
pub(crate) fn heartbeat_sent_at(from: u64, term: u64, sent_at: u64) -> Message {
    let mut beat = heartbeat(from, term, (0, 0), 0);
    if let Body::AppendEntries { sent_at_ms, .. } = &mut beat.body {
        *sent_at_ms = sent_at;
    }
    beat
}

/// An AppendEntries carrying `entries` as (index, term) pairs.
pub(crate) fn append(
    from: u64,
    term: u64,
    prev: (u64, u64),
    entries: &[(u64, u64)],
    commit: u64,
) -> Message {
    let entries = entries
        .iter()
        .map(|&(index, term)| Entry { index, term: Term(term), payload: Payload::Noop })
        .collect();
    let body = Body::AppendEntries {
        prev_log_index: prev.0,
        prev_log_term: Term(prev.1),
        entries,
        leader_commit: commit,
        sent_at_ms: 0,
        rtt_ms: 0,
    };
    msg(from, term, body)
}

pub(crate) fn append_ok(from: u64, term: u64, index: u64, sent_at_ms: u64) -> Message {
    msg(from, term, Body::AppendEntriesResponse { success: true, index, sent_at_ms })
}

/// Drives node 1 of `n` to leadership of the next term, from its election timeout or `at`,
/// whichever is later, answering its pre-votes and votes; returns when it became leader.
pub(crate) fn elect(r: &mut Raft, n: u64, at: u64) -> u64 {
    let now = r.status().election_deadline.expect("not leader").max(at);
    r.tick(now);
    let majority = 2..=n / 2 + 1;
    if r.role() == crate::Role::PreCandidate {
        let next = r.term().0 + 1;
        for voter in majority.clone() {
            let granted = Body::RequestVoteResponse { pre_vote: true, granted: true };
            r.step(msg(voter, next, granted), now).unwrap();
        }
    }
    assert_eq!(r.role(), crate::Role::Candidate);
    let term = r.term().0;
    let _ = take(r);
    for voter in majority {
        r.step(vote_response(voter, term, true), now).unwrap();
    }
    assert_eq!(r.role(), crate::Role::Leader, "node 1 won term {term}");
    let _ = take(r);
    now
}
