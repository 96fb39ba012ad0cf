//! Coverage marks are an output: guided chaos steers by them, so each one is raised in its
//! situation and not in the situation next to it.

use super::*;
use crate::{Mark, Role};

/// The marks of the pending Ready (acknowledged, as a driver would).
fn marks(r: &mut Raft) -> Vec<Mark> {
    take(r).marks
}

fn raised(r: &mut Raft, mark: Mark) -> bool {
    marks(r).contains(&mark)
}

/// A candidate of term 2 (no pre-vote), its own Ready taken.
fn candidate(n: u64) -> Raft {
    let mut r = node(n, no_pre_vote(), 1, None, &[]);
    r.campaign(LATER);
    let _ = take(&mut r);
    r
}

#[test]
fn vote_response_marks() {
    let mut r = candidate(5);
    r.step(vote_response(2, 2, false), LATER).unwrap();
    assert!(!raised(&mut r, Mark::StaleVoteResponse), "a current response");
    assert!(!marks(&mut r).contains(&Mark::DuplicateVoteResponse));
    r.step(vote_response(2, 2, false), LATER).unwrap();
    assert!(raised(&mut r, Mark::DuplicateVoteResponse), "the same voter again");
    r.step(vote_response(3, 1, true), LATER).unwrap();
    assert!(raised(&mut r, Mark::StaleVoteResponse), "a response of an older term");
}

#[test]
fn lease_marks() {
    // A follower that just heard its leader ignores a vote and refuses a pre-vote...
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    let _ = take(&mut r);
    r.step(vote_request(3, 3, 0, 0), LATER + 1).unwrap();
    assert!(raised(&mut r, Mark::VoteIgnoredInLease));
    r.step(pre_vote(3, 3, 0, 0), LATER + 1).unwrap();
    assert!(raised(&mut r, Mark::PreVoteRefusedInLease));
    // ...and, once its lease ran out, answers without either mark.
    r.step(pre_vote(3, 3, 0, 0), LATER + 200).unwrap();
    let later = marks(&mut r);
    assert!(!later.contains(&Mark::PreVoteRefusedInLease), "{later:?}");
    r.step(vote_request(3, 3, 0, 0), LATER + 200).unwrap();
    assert!(!raised(&mut r, Mark::VoteIgnoredInLease));

    // Right after a restart, a same-term pre-vote meets the start-up lease.
    let mut r = node(3, Config::default(), 5, None, &[]);
    let _ = take(&mut r);
    r.step(pre_vote(2, 5, 0, 0), 10).unwrap();
    assert!(raised(&mut r, Mark::PreVoteRefusedInLease));
    // A pre-vote of an older term is refused for its term, not for the lease.
    r.step(pre_vote(2, 4, 0, 0), 10).unwrap();
    assert!(!raised(&mut r, Mark::PreVoteRefusedInLease));
}

#[test]
fn stale_log_marks() {
    let config = Config { check_quorum: false, ..Config::default() };
    let mut r = node(3, config.clone(), 2, None, &[1, 2]);
    let _ = take(&mut r);
    r.step(pre_vote(2, 3, 5, 1), LATER).unwrap();
    assert!(raised(&mut r, Mark::PreVoteRefusedStaleLog));
    r.step(pre_vote(2, 3, 2, 2), LATER).unwrap();
    assert!(!raised(&mut r, Mark::PreVoteRefusedStaleLog), "up to date");
    r.step(pre_vote(2, 1, 5, 1), LATER).unwrap();
    assert!(!raised(&mut r, Mark::PreVoteRefusedStaleLog), "an older term is not a log matter");

    r.step(vote_request(2, 3, 5, 1), LATER).unwrap();
    assert!(raised(&mut r, Mark::VoteRefusedStaleLog));
    let mut r = node(3, config, 3, Some(3), &[1, 2]);
    let _ = take(&mut r);
    r.step(vote_request(2, 3, 5, 1), LATER).unwrap();
    assert!(!raised(&mut r, Mark::VoteRefusedStaleLog), "refused for the vote, not the log");
}

#[test]
fn campaign_marks() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    r.campaign(LATER);
    let first = marks(&mut r);
    assert!(!first.contains(&Mark::PreVoteLost) && !first.contains(&Mark::SplitVote));
    r.campaign(LATER + 1);
    let again = marks(&mut r);
    assert!(again.contains(&Mark::PreVoteLost) && !again.contains(&Mark::SplitVote));

    let mut r = candidate(3);
    r.campaign(LATER + 1);
    let again = marks(&mut r);
    assert!(again.contains(&Mark::SplitVote) && !again.contains(&Mark::PreVoteLost));
}

#[test]
fn leadership_marks() {
    let mut follower = node(3, no_pre_vote(), 1, None, &[]);
    follower.step(vote_request(2, 2, 0, 0), LATER).unwrap();
    assert!(!raised(&mut follower, Mark::LeaderDeposed), "a follower has nothing to lose");

    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(vote_response(2, r.term().0, true), t).unwrap();
    assert!(!raised(&mut r, Mark::LeaderDeposed), "same term");
    r.step(vote_request(2, 9, 0, 0), t + 1).unwrap();
    assert!(raised(&mut r, Mark::LeaderDeposed));

    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.tick(t + 100);
    assert!(!raised(&mut r, Mark::CheckQuorumStepDown), "within the window");
    r.tick(t + 151);
    assert!(raised(&mut r, Mark::CheckQuorumStepDown));
    assert_eq!(r.role(), Role::Follower);
}

#[test]
fn old_entry_marks() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    r.campaign(LATER);
    r.step(vote_response(2, 2, true), LATER).unwrap();
    assert!(!raised(&mut r, Mark::LeaderWithUncommittedOldEntries), "an empty log");

    let mut r = node(3, no_pre_vote(), 1, None, &[1]);
    r.campaign(LATER);
    r.step(vote_response(2, 2, true), LATER).unwrap();
    assert!(raised(&mut r, Mark::LeaderWithUncommittedOldEntries));
    r.step(append_ok(2, 2, 2, LATER), LATER + 1).unwrap();
    assert!(raised(&mut r, Mark::CommittedOldTermEntries), "entry 1 commits through entry 2");
    r.propose(b"x".to_vec(), LATER + 2).unwrap();
    let _ = take(&mut r);
    r.step(append_ok(2, 2, 3, LATER + 2), LATER + 3).unwrap();
    assert!(!raised(&mut r, Mark::CommittedOldTermEntries), "only its own term's entry");
}

#[test]
fn append_marks() {
    let mut r = node(3, no_pre_vote(), 2, None, &[1, 1]);
    let _ = take(&mut r);
    r.step(append(2, 1, (0, 0), &[], 0), LATER).unwrap();
    assert!(raised(&mut r, Mark::StaleAppendEntries));
    r.step(append(2, 2, (5, 1), &[], 0), LATER).unwrap();
    assert!(raised(&mut r, Mark::AppendMismatch));
    r.step(append(2, 2, (1, 1), &[(2, 1)], 0), LATER).unwrap();
    let same = marks(&mut r);
    assert!(!same.contains(&Mark::TruncatedConflict) && !same.contains(&Mark::AppendMismatch));
    r.step(append(2, 2, (1, 1), &[(2, 2)], 0), LATER).unwrap();
    assert!(raised(&mut r, Mark::TruncatedConflict));

    let persisted = PersistedState {
        hard_state: HardState { term: Term(2), voted_for: None },
        entries: entries(&[1, 1]),
    };
    let mut r = Raft::new(crate::RaftOptions {
        id: NodeId(1),
        members: members(3),
        config: no_pre_vote(),
        persisted,
        seed: 1,
        now_ms: 0,
        applied: 2,
    })
    .unwrap();
    let _ = take(&mut r);
    r.step(append(2, 2, (1, 1), &[(2, 2)], 0), LATER).unwrap();
    assert!(raised(&mut r, Mark::RefusedTruncatingCommitted));
}

#[test]
fn replication_marks() {
    let config = Config { max_entries_per_message: 2, ..no_pre_vote() };
    let mut r = node(3, config, 1, None, &[1]);
    r.campaign(LATER);
    r.step(vote_response(2, 2, true), LATER).unwrap();
    assert!(!raised(&mut r, Mark::CatchUpInBatches), "one entry to send: entry 2");
    r.propose(b"x".to_vec(), LATER).unwrap();
    r.step(
        msg(2, 2, Body::AppendEntriesResponse { success: false, index: 0, sent_at_ms: LATER }),
        LATER + 1,
    )
    .unwrap();
    // One Ready holds both answers: asking `raised` twice would judge the second on an empty one.
    let catch_up = marks(&mut r);
    assert!(catch_up.contains(&Mark::CatchUpInBatches), "entries 1 to 3 take two messages");
    assert!(!catch_up.contains(&Mark::BatchCutByBytes), "cut by count: {catch_up:?}");

    r.step(append_ok(3, 2, 1, LATER), LATER + 2).unwrap();
    assert!(!raised(&mut r, Mark::StaleAppendResponse));
    r.step(append_ok(3, 1, 1, LATER), LATER + 2).unwrap();
    assert!(raised(&mut r, Mark::StaleAppendResponse), "of an older term");
    let mut follower = node(3, no_pre_vote(), 2, None, &[]);
    follower.step(append_ok(3, 2, 1, LATER), LATER).unwrap();
    assert!(raised(&mut follower, Mark::StaleAppendResponse), "to a node that does not lead");
}

#[test]
fn payload_marks() {
    let config = Config { max_bytes_per_message: 1024, ..no_pre_vote() };
    let mut r = node(3, config.clone(), 1, None, &[1]);
    r.campaign(LATER);
    r.step(vote_response(2, 2, true), LATER).unwrap();
    let _ = take(&mut r);
    let max = config.max_proposal_bytes();
    assert!(r.propose(vec![0; max + 1], LATER).is_err());
    assert!(raised(&mut r, Mark::ProposalTooLarge));
    r.propose(vec![0; 600], LATER).unwrap();
    r.propose(vec![0; 600], LATER).unwrap();
    assert!(!raised(&mut r, Mark::ProposalTooLarge), "proposals that fit");
    let refuse = Body::AppendEntriesResponse { success: false, index: 0, sent_at_ms: LATER };
    r.step(msg(2, 2, refuse), LATER + 1).unwrap();
    assert!(raised(&mut r, Mark::BatchCutByBytes), "two 600-byte entries exceed 1 KiB");
}

#[test]
fn restart_and_transfer_marks() {
    assert!(raised(&mut node(3, no_pre_vote(), 2, Some(3), &[]), Mark::RestartAfterVote));
    assert!(!raised(&mut node(3, no_pre_vote(), 2, None, &[]), Mark::RestartAfterVote));

    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    let _ = take(&mut r);
    r.step(msg(3, 2, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 1).unwrap();
    assert!(raised(&mut r, Mark::TimeoutNowIgnored), "not from the leader");
    r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 1).unwrap();
    assert!(!raised(&mut r, Mark::TimeoutNowIgnored));
}
