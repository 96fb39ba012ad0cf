//! Holes that `make mutants` found: each test here kills mutants that the rest of the suite
//! and a chaos budget let live (docs/mutants.md names them).

use super::*;
use crate::Role;

/// `Config::validate`: an adaptive cap equal to the maximum timeout is allowed.
#[test]
fn an_adaptive_cap_equal_to_the_maximum_is_valid() {
    let c = Config { adaptive_timeout: true, adaptive_timeout_cap_ms: 300, ..Config::default() };
    assert_eq!(c.validate(), Ok(()));
}

/// A transfer that sent TimeoutNow voids the lease for the rest of the term: a later transfer
/// that expires without sending one does not bring it back (the first target may still
/// campaign on a delayed TimeoutNow).
#[test]
fn the_lease_stays_void_after_a_later_transfer_expires() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, t), t + 1).unwrap();
    r.transfer_leadership(NodeId(2), t + 2).unwrap();
    assert!(sent(&take(&mut r)).iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })));
    // Heartbeats answered by whoever is not the transfer's target, to keep a majority.
    let acks = |r: &mut Raft, at: u64| {
        let bystander = if r.pending_transfer() == Some(NodeId(3)) { 2 } else { 3 };
        r.step(append_ok(bystander, 2, 1, at), at + 1).unwrap();
        r.tick(at + 1);
        let _ = take(r);
    };
    acks(&mut r, t + 100);
    acks(&mut r, t + 200);
    r.tick(t + 302);
    assert_eq!((r.role(), r.pending_transfer()), (Role::Leader, None), "first transfer expired");
    // Node 3 lags behind a new entry: the second transfer waits for it and never hands over.
    r.propose(b"x".to_vec(), t + 303).unwrap();
    r.transfer_leadership(NodeId(3), t + 303).unwrap();
    let handed = sent(&take(&mut r));
    assert!(!handed.iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })), "{handed:?}");
    acks(&mut r, t + 400);
    acks(&mut r, t + 500);
    r.tick(t + 603);
    assert_eq!((r.role(), r.pending_transfer()), (Role::Leader, None), "second one expired");
    r.step(append_ok(2, 2, 1, t + 600), t + 604).unwrap();
    r.step(append_ok(3, 2, 1, t + 600), t + 604).unwrap();
    assert_eq!(r.lease_expires_at(), None);
    assert!(!r.lease_valid(t + 605));
}

/// A leader wakes for its check-quorum expiry when that comes before its next heartbeat.
#[test]
fn the_leader_wakes_for_check_quorum_before_its_next_heartbeat() {
    let config = Config { heartbeat_ms: 70, ..Config::default() };
    let mut r = node(3, config, 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, t), t + 1).unwrap();
    let _ = take(&mut r);
    assert_eq!(r.next_deadline(), t + 70, "the next heartbeat comes first");
    r.tick(t + 140);
    let _ = take(&mut r);
    assert_eq!(r.next_deadline(), t + 150, "the acknowledgement of t expires before t + 210");
    r.tick(t + 150);
    assert_eq!(r.role(), Role::Follower);
}

/// Only the transfer's target gets TimeoutNow, once; a caught-up bystander does not.
#[test]
fn timeout_now_goes_to_the_target_only_once() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.transfer_leadership(NodeId(2), t + 1).unwrap();
    let _ = take(&mut r);
    r.step(append_ok(3, 2, 1, t + 1), t + 2).unwrap();
    let to_bystander = sent(&take(&mut r));
    assert!(!to_bystander.iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })));
    r.step(append_ok(2, 2, 1, t + 1), t + 3).unwrap();
    let handed = sent(&take(&mut r));
    assert_eq!(handed.iter().filter(|m| matches!(m.body, Body::TimeoutNow { .. })).count(), 1);
    r.step(append_ok(2, 2, 1, t + 3), t + 4).unwrap();
    let again = sent(&take(&mut r));
    assert!(!again.iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })), "{again:?}");
}

/// A TimeoutNow from the leader of a term above ours: we follow it into that term, and obey.
#[test]
fn a_timeout_now_of_a_higher_term_is_obeyed() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    let _ = take(&mut r);
    r.step(msg(2, 4, Body::TimeoutNow { expires_at_ms: 300 }), LATER).unwrap();
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(5)));
}

/// The leader hands out an entry as soon as a majority stores it, in a Ready of its own:
/// nothing else has to happen first.
#[test]
fn a_commit_alone_makes_a_ready() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    let index = r.propose(b"x".to_vec(), t).unwrap();
    let _ = take(&mut r);
    r.step(append_ok(2, 2, index, t), t + 1).unwrap();
    let ready = r.ready().expect("the commit is news");
    let committed: Vec<u64> = ready.committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, [1, 2]);
    assert!(ready.soft_state.is_none() && sent(&ready).is_empty());
}

/// Messages that depend on nothing unpersisted leave at once, not after the next fsync.
#[test]
fn a_heartbeat_with_nothing_to_persist_leaves_at_once() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.tick(t + 50);
    let ready = take(&mut r);
    assert_eq!(ready.messages.len(), 2, "{ready:?}");
    assert!(ready.persisted_messages.is_empty() && ready.hard_state.is_none());
}

/// A conflicting suffix truncated while its write is still being persisted: the new entry
/// counts as durable only once its own write is acknowledged, so it is not reported
/// committed before.
#[test]
fn a_truncation_during_a_write_keeps_the_new_entry_undurable() {
    let mut r = node(3, Config::default(), 1, None, &[1, 1, 1]);
    r.step(heartbeat(2, 1, (3, 1), 0), LATER).unwrap();
    let _ = take(&mut r);
    r.step(append(2, 1, (3, 1), &[(4, 1), (5, 1)], 0), LATER + 1).unwrap();
    let in_flight = r.ready().expect("a write of entries 4 and 5");
    assert_eq!(in_flight.log_write.map(|w| w.first_index), Some(4));
    r.step(append(3, 2, (3, 1), &[(4, 2)], 4), LATER + 2).unwrap();
    r.advance();
    let next = r.ready().expect("the write of the new entry 4");
    assert_eq!(next.log_write.as_ref().map(|w| w.first_index), Some(4));
    let committed: Vec<u64> = next.committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, [1, 2, 3], "entry 4 is not durable yet");
    r.advance();
    let last = take(&mut r);
    assert_eq!(last.committed.iter().map(|e| e.index).collect::<Vec<_>>(), [4]);
}

/// `Ready::is_empty` is true exactly when every part is empty.
#[test]
fn a_ready_is_empty_only_when_every_part_is() {
    assert!(Ready::default().is_empty());
    let parts: [fn(&mut Ready); 7] = [
        |r| {
            r.soft_state =
                Some(crate::SoftState { role: Role::Leader, term: Term(1), leader: None })
        },
        |r| r.hard_state = Some(HardState::default()),
        |r| r.log_write = Some(crate::LogWrite { first_index: 1, entries: vec![] }),
        |r| r.messages.push(heartbeat(2, 1, (0, 0), 0)),
        |r| r.persisted_messages.push(heartbeat(2, 1, (0, 0), 0)),
        |r| r.committed = entries(&[1]),
        |r| r.marks.push(crate::Mark::SplitVote),
    ];
    for (i, fill) in parts.iter().enumerate() {
        let mut ready = Ready::default();
        fill(&mut ready);
        assert!(!ready.is_empty(), "part {i} filled");
    }
}

/// A new leader's clock is not the old one's: a TimeoutNow from the leader of a new term is
/// judged against the new leader's heartbeats only.
#[test]
fn the_leaders_clock_is_forgotten_when_the_leader_changes() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat_sent_at(2, 2, 1_000), LATER).unwrap();
    r.step(heartbeat(3, 3, (0, 0), 0), LATER + 1).unwrap();
    r.step(msg(3, 3, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 2).unwrap();
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(4)));
}

/// Heartbeats from one leader are gaps of one series: with the adaptive timeout, two missed
/// heartbeats show as loss.
#[test]
fn gaps_between_one_leaders_heartbeats_count_as_loss() {
    let config = Config { adaptive_timeout: true, ..Config::default() };
    let mut r = node(3, config, 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    r.step(heartbeat(2, 2, (0, 0), 0), LATER + 150).unwrap();
    assert!(r.status().heartbeat_loss_estimate > 0.0);
}

/// A new leader's heartbeats start a series of their own: the gap since the old leader's last
/// heartbeat is a change of leader, not loss.
#[test]
fn a_change_of_leader_starts_a_new_heartbeat_series() {
    let config = Config { adaptive_timeout: true, ..Config::default() };
    let mut r = node(3, config, 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    r.step(heartbeat(3, 3, (0, 0), 0), LATER + 150).unwrap();
    assert_eq!(r.status().heartbeat_loss_estimate, 0.0);
}

/// A proposal goes at once to every follower that has nothing in flight.
#[test]
fn a_proposal_goes_at_once_to_idle_followers() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, t), t + 1).unwrap();
    r.step(append_ok(3, 2, 1, t), t + 1).unwrap();
    let _ = take(&mut r);
    let index = r.propose(b"x".to_vec(), t + 2).unwrap();
    let out = sent(&take(&mut r));
    let carrying: Vec<u64> = out
        .iter()
        .filter(|m| matches!(&m.body, Body::AppendEntries { entries, .. } if entries.iter().any(|e| e.index == index)))
        .map(|m| m.to.0)
        .collect();
    assert_eq!(carrying, [2, 3]);
}

/// The leader's view of a follower: a partial acknowledgement moves it forward and sends the
/// rest at once; a stale one never moves it back; a refusal's hint sets where to resend.
#[test]
fn follower_progress_follows_acknowledgements_and_hints() {
    let config = Config { max_entries_per_message: 2, ..Config::default() };
    let mut r = node(3, config, 1, None, &[1, 1, 1, 1]);
    r.campaign(LATER);
    let next = r.term().0 + 1;
    for voter in [2, 3] {
        let granted = Body::RequestVoteResponse { pre_vote: true, granted: true };
        r.step(msg(voter, next, granted), LATER).unwrap();
    }
    r.step(vote_response(2, 2, true), LATER).unwrap();
    assert_eq!(r.role(), Role::Leader);
    let _ = take(&mut r);
    let progress = |r: &Raft, id| r.status().progress[&NodeId(id)];
    let refuse =
        |hint| Body::AppendEntriesResponse { success: false, index: hint, sent_at_ms: LATER };
    r.step(msg(2, 2, refuse(2)), LATER + 1).unwrap();
    assert_eq!(progress(&r, 2).next_index, 3, "the hint: nothing matches beyond 2");
    let resent = sent(&take(&mut r));
    assert!(matches!(
        resent[..],
        [Message { body: Body::AppendEntries { prev_log_index: 2, .. }, .. }]
    ));
    r.step(append_ok(2, 2, 4, LATER + 1), LATER + 2).unwrap();
    assert_eq!((progress(&r, 2).match_index, progress(&r, 2).next_index), (4, 5));
    let rest = sent(&take(&mut r));
    assert!(
        matches!(&rest[..], [Message { body: Body::AppendEntries { prev_log_index: 4, .. }, .. }]),
        "the rest goes at once: {rest:?}"
    );
    r.step(append_ok(2, 2, 2, LATER), LATER + 3).unwrap();
    assert_eq!(progress(&r, 2).match_index, 4, "a stale acknowledgement");
}

/// `committed-old-term-entries` is about the entries newly committed, not the ones before.
#[test]
fn an_old_entry_committed_before_does_not_mark_a_new_commit() {
    let persisted = PersistedState {
        hard_state: HardState { term: Term(1), voted_for: None },
        entries: entries(&[1]),
    };
    let mut r = Raft::new(crate::RaftOptions {
        id: NodeId(1),
        members: members(3),
        config: Config { pre_vote: false, ..Config::default() },
        persisted,
        seed: 1,
        now_ms: 0,
        applied: 1,
    })
    .unwrap();
    r.campaign(LATER);
    r.step(vote_response(2, 2, true), LATER).unwrap();
    let _ = take(&mut r);
    r.step(append_ok(2, 2, 2, LATER), LATER + 1).unwrap();
    let ready = take(&mut r);
    assert_eq!(ready.committed.iter().map(|e| e.index).collect::<Vec<_>>(), [2]);
    assert!(!ready.marks.contains(&crate::Mark::CommittedOldTermEntries));
}

/// A leader whose followers are all busy still persists a new entry at once: a log write
/// alone makes a Ready.
#[test]
fn a_log_write_alone_makes_a_ready() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    elect(&mut r, 3, LATER);
    let ready = r.ready();
    assert!(ready.is_none(), "the no-op went out with the election: {ready:?}");
    let index = r.propose(b"x".to_vec(), LATER + 1).unwrap();
    let ready = r.ready().expect("the new entry must be persisted");
    assert_eq!(ready.log_write.as_ref().map(|w| w.first_index), Some(index));
    assert!(sent(&ready).is_empty(), "followers are still answering the no-op");
}

/// `Raft::date_leader_clock`: a newer heartbeat dates the leader's clock afresh (so a
/// TimeoutNow past its expiry by that heartbeat is ignored at once) ...
#[test]
fn a_newer_heartbeat_dates_the_leader_clock() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat_sent_at(2, 2, 0), LATER).unwrap();
    r.step(heartbeat_sent_at(2, 2, 300), LATER + 1).unwrap();
    r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 1).unwrap();
    assert_eq!(r.role(), Role::Follower, "the second heartbeat showed the leader at 300");
}

/// ... while one that says no more than the node already reckoned leaves the reckoning alone:
/// starting it again from a whole millisecond would lose the fraction already counted.
#[test]
fn a_heartbeat_that_says_nothing_new_keeps_the_reckoning() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat_sent_at(2, 2, 0), LATER).unwrap();
    // 21 ms later the leader's clock is at least 19.95, so 19; a heartbeat of 19 adds nothing.
    r.step(heartbeat_sent_at(2, 2, 19), LATER + 21).unwrap();
    // 22 ms after the first: at least 20.9, so 20 (from the second: 19 + 0.95, only 19).
    r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms: 20 }), LATER + 22).unwrap();
    assert_eq!(r.role(), Role::Follower, "the leader's clock had reached 20");
}
