//! The election rules of the Raft paper, one message at a time. Each test names the section
//! it checks.

use super::*;
use crate::{Role, StepError};

/// §5.2 and §5.4.1, as a table: a vote is granted only for a term at least ours, when we have
/// not voted for someone else in it, and for a log at least as up to date as ours.
#[test]
fn request_vote_table() {
    struct Case {
        name: &'static str,
        term: u64,
        vote: Option<u64>,
        log: &'static [u64],
        request: (u64, u64, u64, u64), // candidate, term, last index, last term
        granted: bool,
        term_after: u64,
    }
    let cases = [
        Case {
            name: "§5.2 higher term, empty logs",
            term: 1,
            vote: None,
            log: &[],
            request: (2, 2, 0, 0),
            granted: true,
            term_after: 2,
        },
        Case {
            name: "§5.2 already voted for another in this term",
            term: 2,
            vote: Some(3),
            log: &[],
            request: (2, 2, 0, 0),
            granted: false,
            term_after: 2,
        },
        Case {
            name: "§5.2 a repeated request from our candidate",
            term: 2,
            vote: Some(2),
            log: &[],
            request: (2, 2, 0, 0),
            granted: true,
            term_after: 2,
        },
        Case {
            name: "§5.1 stale term is refused and our term kept",
            term: 3,
            vote: None,
            log: &[],
            request: (2, 2, 0, 0),
            granted: false,
            term_after: 3,
        },
        Case {
            name: "§5.4.1 shorter log, same last term",
            term: 2,
            vote: None,
            log: &[1, 2],
            request: (2, 3, 1, 2),
            granted: false,
            term_after: 3,
        },
        Case {
            name: "§5.4.1 longer log, same last term",
            term: 2,
            vote: None,
            log: &[1, 2],
            request: (2, 3, 3, 2),
            granted: true,
            term_after: 3,
        },
        Case {
            name: "§5.4.1 later last term beats a longer log",
            term: 3,
            vote: None,
            log: &[1, 1, 1, 2],
            request: (2, 4, 2, 3),
            granted: true,
            term_after: 4,
        },
        Case {
            name: "§5.4.1 earlier last term loses to a shorter log",
            term: 3,
            vote: None,
            log: &[1, 3],
            request: (2, 4, 5, 2),
            granted: false,
            term_after: 4,
        },
        Case {
            name: "§5.2 a vote in an old term does not bind a new one",
            term: 2,
            vote: Some(3),
            log: &[],
            request: (2, 3, 0, 0),
            granted: true,
            term_after: 3,
        },
    ];
    for c in cases {
        let mut r = node(3, no_pre_vote(), c.term, c.vote, c.log);
        let (candidate, term, last_index, last_term) = c.request;
        r.step(vote_request(candidate, term, last_index, last_term), LATER).unwrap();
        assert_eq!(r.term(), Term(c.term_after), "{}: term", c.name);
        let ready = take(&mut r);
        let answer = sent(&ready).into_iter().find(|m| m.to == NodeId(candidate));
        let Some(Message { body: Body::RequestVoteResponse { granted, .. }, term, .. }) = answer
        else {
            panic!("{}: no answer", c.name)
        };
        assert_eq!(granted, c.granted, "{}: granted", c.name);
        assert_eq!(term, Term(c.term_after), "{}: answered with our term", c.name);
        if c.granted {
            assert_eq!(r.hard_state().voted_for, Some(NodeId(candidate)), "{}", c.name);
        }
    }
}

/// §5.1: any message with a higher term makes a node a follower of that term first.
#[test]
fn higher_term_in_any_message_makes_a_follower() {
    let bodies = [vote_response(2, 9, false), append_ok(2, 9, 0, 0), heartbeat(2, 9, (0, 0), 0)];
    for m in bodies {
        let mut leader = node(3, no_pre_vote(), 1, None, &[]);
        elect(&mut leader, 3, LATER);
        leader.step(m.clone(), LATER + 1).unwrap();
        assert_eq!((leader.role(), leader.term()), (Role::Follower, Term(9)), "{m:?}");
        assert_eq!(leader.hard_state().voted_for, None, "a new term starts without a vote");
    }
}

/// §5.1: terms only rise; a message from an old term changes nothing.
#[test]
fn lower_term_never_lowers_ours() {
    let mut r = node(3, no_pre_vote(), 5, None, &[]);
    r.step(heartbeat(2, 3, (0, 0), 0), LATER).unwrap();
    assert_eq!((r.term(), r.leader()), (Term(5), None));
    let answer = sent(&take(&mut r)).pop().expect("stale leader is told our term");
    assert!(matches!(answer.body, Body::AppendEntriesResponse { success: false, .. }));
    assert_eq!(answer.term, Term(5));
}

/// §5.2: each voter counts once, however often its grant arrives; responses from older
/// terms are ignored.
#[test]
fn votes_are_counted_once_and_only_for_the_current_term() {
    let mut r = node(5, no_pre_vote(), 3, None, &[]);
    r.tick(r.status().election_deadline.expect("not leader"));
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(4)));
    let _ = take(&mut r);
    for _ in 0..3 {
        r.step(vote_response(2, 4, true), LATER).unwrap();
    }
    r.step(vote_response(3, 3, true), LATER).unwrap();
    assert_eq!(r.role(), Role::Candidate, "self + node 2 is not a majority of 5");
    r.step(vote_response(3, 4, true), LATER).unwrap();
    assert_eq!(r.role(), Role::Leader);
}

/// §5.2: a candidate without a majority stays candidate until its next timeout, then starts
/// a new election in a new term.
#[test]
fn a_candidate_short_of_a_majority_waits_for_its_timeout() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    let started = r.status().election_deadline.expect("not leader");
    r.tick(started);
    let _ = take(&mut r);
    r.step(vote_response(2, 2, false), started + 5).unwrap();
    r.step(vote_response(3, 2, false), started + 5).unwrap();
    assert_eq!(
        (r.role(), r.term()),
        (Role::Candidate, Term(2)),
        "rejected by all, still candidate"
    );
    let deadline = r.status().election_deadline.expect("not leader");
    r.tick(deadline - 1);
    assert_eq!(r.term(), Term(2));
    r.tick(deadline);
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(3)));
}

/// §5.2 with persistence: a vote, and the term it is in, are handed out for persisting in the
/// same Ready that releases the response, and the response waits for the disk.
#[test]
fn a_granted_vote_is_released_only_after_it_is_persisted() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    r.step(vote_request(2, 2, 0, 0), LATER).unwrap();
    let ready = r.ready().expect("work to do");
    assert!(ready.messages.is_empty(), "nothing may leave before the vote is durable");
    assert_eq!(ready.hard_state, Some(HardState { term: Term(2), voted_for: Some(NodeId(2)) }));
    assert!(matches!(
        ready.persisted_messages[..],
        [Message { body: Body::RequestVoteResponse { granted: true, .. }, .. }]
    ));
    // Until advance(), even a message that changes nothing waits for that disk write.
    r.step(vote_request(2, 2, 0, 0), LATER).unwrap();
    assert!(r.ready().is_none(), "no second Ready before advance");
    r.advance();
    let again = r.ready().expect("the repeated answer");
    assert!(again.hard_state.is_none() && again.messages.is_empty());
    assert_eq!(again.persisted_messages.len(), 1);
}

/// §5.2 across a restart: a node that restarts from what it persisted does not vote twice in
/// one term.
#[test]
fn a_restarted_node_does_not_vote_twice_in_a_term() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    r.step(vote_request(2, 2, 0, 0), LATER).unwrap();
    let disk = take(&mut r).hard_state.expect("vote persisted");
    let persisted = PersistedState { hard_state: disk, entries: vec![] };
    let mut restarted = Raft::new(crate::RaftOptions {
        id: NodeId(1),
        members: members(3),
        config: no_pre_vote(),
        persisted,
        seed: 43,
        now_ms: LATER,
        applied: 0,
    })
    .unwrap();
    restarted.step(vote_request(3, 2, 5, 1), LATER * 2).unwrap();
    let answer = sent(&take(&mut restarted)).pop().unwrap();
    assert!(matches!(answer.body, Body::RequestVoteResponse { granted: false, .. }));
    assert_eq!(restarted.hard_state().voted_for, Some(NodeId(2)));
}

/// §5.3: a follower's commit index follows the leader's, but only as far as this request
/// proved the logs match.
#[test]
fn follower_commit_is_bounded_by_what_the_request_verified() {
    let mut r = node(3, no_pre_vote(), 2, None, &[1, 1, 1]);
    r.step(heartbeat(2, 2, (1, 1), 3), LATER).unwrap();
    assert_eq!(r.status().commit_index, 1, "entries 2 and 3 are not known to match the leader's");
    r.step(heartbeat(2, 2, (3, 1), 3), LATER).unwrap();
    assert_eq!(r.status().commit_index, 3);
}

/// §5.4.2 (Figure 8): a leader does not commit an entry of an earlier term by counting
/// replicas; only an entry of its own term commits, and with it everything before.
#[test]
fn only_entries_of_the_current_term_commit_by_counting() {
    let mut r = node(3, no_pre_vote(), 3, None, &[1, 2]);
    elect(&mut r, 3, LATER);
    assert_eq!(r.entries().len(), 3, "a new leader appends a no-op");
    assert_eq!(r.entries()[2].payload, Payload::Noop);
    r.step(append_ok(2, 4, 2, LATER), LATER + 1).unwrap();
    assert_eq!(
        r.status().commit_index,
        0,
        "entry 2 of term 2 is on a majority but must not commit"
    );
    r.step(append_ok(2, 4, 3, LATER), LATER + 2).unwrap();
    assert_eq!(r.status().commit_index, 3, "the no-op of term 4 commits, and entry 2 with it");
    let committed: Vec<u64> = take(&mut r).committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, [1, 2, 3]);
}

/// §5.3: the leader commits only what it has made durable itself.
#[test]
fn the_leader_counts_itself_only_after_persisting() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    elect(&mut r, 3, LATER);
    let index = r.propose(b"x".to_vec(), LATER).unwrap();
    r.step(append_ok(2, 2, index, LATER), LATER + 1).unwrap();
    assert_eq!(
        r.status().commit_index,
        index - 1,
        "the entry is on node 2 but not yet on our disk"
    );
    let ready = take(&mut r);
    assert_eq!(ready.log_write.map(|w| w.first_index), Some(index));
    assert_eq!(r.status().commit_index, index, "durable here and on node 2: a majority of 3");
}

/// §5.3: proposals go to the leader only.
#[test]
fn only_the_leader_accepts_proposals() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    r.step(heartbeat(2, 1, (0, 0), 0), LATER).unwrap();
    let err = r.propose(b"x".to_vec(), LATER).unwrap_err();
    assert_eq!(err, crate::ProposeError::NotLeader { leader: Some(NodeId(2)) });
}

#[test]
fn messages_from_strangers_or_for_others_are_refused() {
    let mut r = node(3, no_pre_vote(), 1, None, &[]);
    let stranger = vote_request(9, 5, 0, 0);
    assert_eq!(r.step(stranger, LATER), Err(StepError::UnknownSender(NodeId(9))));
    let mut misrouted = vote_request(2, 5, 0, 0);
    misrouted.to = NodeId(3);
    assert!(matches!(r.step(misrouted, LATER), Err(StepError::WrongRecipient { .. })));
    assert_eq!(r.term(), Term(1), "refused messages change nothing");
}

#[test]
fn inconsistent_persisted_state_is_refused() {
    let bad_vote = PersistedState {
        hard_state: HardState { term: Term(1), voted_for: Some(NodeId(7)) },
        entries: vec![],
    };
    let log_ahead = PersistedState { hard_state: HardState::default(), entries: entries(&[2]) };
    for persisted in [bad_vote, log_ahead] {
        let err = Raft::new(crate::RaftOptions {
            id: NodeId(1),
            members: members(3),
            config: Config::default(),
            persisted,
            seed: 1,
            now_ms: 0,
            applied: 0,
        });
        assert!(matches!(err, Err(crate::InitError::InconsistentState(_))), "{err:?}");
    }
    let err = Raft::new(crate::RaftOptions {
        id: NodeId(4),
        members: members(3),
        config: Config::default(),
        persisted: PersistedState::default(),
        seed: 1,
        now_ms: 0,
        applied: 0,
    });
    assert!(matches!(err, Err(crate::InitError::NotAMember(NodeId(4)))));
}
