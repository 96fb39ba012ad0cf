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
    let mut grow = heartbeat(2, 1, (3, 1), 0);
    if let Body::AppendEntries { entries, .. } = &mut grow.body {
        *entries = vec![
            Entry { index: 4, term: Term(1), payload: Payload::Noop },
            Entry { index: 5, term: Term(1), payload: Payload::Noop },
        ];
    }
    r.step(grow, LATER + 1).unwrap();
    let in_flight = r.ready().expect("a write of entries 4 and 5");
    assert_eq!(in_flight.log_write.map(|w| w.first_index), Some(4));
    let mut replace = heartbeat(3, 2, (3, 1), 4);
    if let Body::AppendEntries { entries, .. } = &mut replace.body {
        *entries = vec![Entry { index: 4, term: Term(2), payload: Payload::Noop }];
    }
    r.step(replace, LATER + 2).unwrap();
    r.advance();
    let next = r.ready().expect("the write of the new entry 4");
    assert_eq!(next.log_write.as_ref().map(|w| w.first_index), Some(4));
    let committed: Vec<u64> = next.committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, [1, 2, 3], "entry 4 is not durable yet");
    r.advance();
    let last = take(&mut r);
    assert_eq!(last.committed.iter().map(|e| e.index).collect::<Vec<_>>(), [4]);
}
