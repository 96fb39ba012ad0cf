//! Pre-vote, leases, check-quorum, leadership transfer, timers and the adaptive timeout.

use super::*;
use crate::{Role, TransferError};

fn pre_vote_request(from: u64, term: u64, transfer: bool) -> Message {
    let body =
        Body::RequestVote { pre_vote: true, transfer, last_log_index: 0, last_log_term: Term(0) };
    msg(from, term, body)
}

fn answer_to(ready: &Ready, to: u64) -> Option<(Term, bool)> {
    sent(ready).into_iter().find(|m| m.to == NodeId(to)).and_then(|m| match m.body {
        Body::RequestVoteResponse { granted, .. } => Some((m.term, granted)),
        _ => None,
    })
}

/// Thesis §9.6: a pre-vote asks for term + 1 but changes neither side's term or vote.
#[test]
fn pre_vote_changes_no_term_and_no_vote() {
    let mut r = node(3, Config::default(), 2, Some(3), &[]);
    r.tick(r.status().election_deadline.expect("not leader"));
    assert_eq!((r.role(), r.term()), (Role::PreCandidate, Term(2)));
    let ready = take(&mut r);
    assert!(ready.hard_state.is_none(), "a pre-candidate persists nothing");
    assert!(sent(&ready)
        .iter()
        .all(|m| m.term == Term(3) && matches!(m.body, Body::RequestVote { pre_vote: true, .. })));

    let mut voter = node(3, Config::default(), 2, Some(3), &[]);
    voter.step(pre_vote_request(2, 3, false), LATER).unwrap();
    assert_eq!(voter.hard_state(), HardState { term: Term(2), voted_for: Some(NodeId(3)) });
    let ready = take(&mut voter);
    assert!(ready.hard_state.is_none());
    assert_eq!(answer_to(&ready, 2), Some((Term(3), true)));
}

/// Thesis §9.6: a pre-candidate with a majority of pre-votes campaigns for real; a rejection
/// from a higher term makes it a follower of that term.
#[test]
fn pre_vote_outcomes() {
    let pre_granted =
        |from| msg(from, 3, Body::RequestVoteResponse { pre_vote: true, granted: true });
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.tick(r.status().election_deadline.expect("not leader"));
    r.step(pre_granted(2), LATER).unwrap();
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(3)));

    let mut r = node(3, Config::default(), 2, None, &[]);
    r.tick(r.status().election_deadline.expect("not leader"));
    r.step(msg(2, 7, Body::RequestVoteResponse { pre_vote: true, granted: false }), LATER).unwrap();
    assert_eq!((r.role(), r.term()), (Role::Follower, Term(7)));
}

/// Thesis §9.6 with check-quorum: within the minimum election timeout of hearing from a live
/// leader, (pre-)vote requests are ignored and the term stays; after it, they are answered;
/// a campaign started by a leadership transfer is exempt.
#[test]
fn a_node_in_lease_refuses_votes() {
    struct Case {
        name: &'static str,
        since_heartbeat: u64,
        request: fn() -> Message,
        answered: Option<bool>,
    }
    let cases = [
        Case {
            name: "pre-vote within lease",
            since_heartbeat: 149,
            request: || pre_vote_request(3, 3, false),
            answered: None,
        },
        Case {
            name: "vote within lease",
            since_heartbeat: 100,
            request: || vote_request(3, 3, 0, 0),
            answered: None,
        },
        Case {
            name: "pre-vote after lease",
            since_heartbeat: 150,
            request: || pre_vote_request(3, 3, false),
            answered: Some(true),
        },
        Case {
            name: "vote after lease",
            since_heartbeat: 150,
            request: || vote_request(3, 3, 0, 0),
            answered: Some(true),
        },
        Case {
            name: "transfer vote within lease",
            since_heartbeat: 10,
            request: || {
                msg(
                    3,
                    3,
                    Body::RequestVote {
                        pre_vote: false,
                        transfer: true,
                        last_log_index: 0,
                        last_log_term: Term(0),
                    },
                )
            },
            answered: Some(true),
        },
    ];
    for c in cases {
        let mut r = node(3, Config::default(), 2, None, &[]);
        r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
        let _ = take(&mut r);
        r.step((c.request)(), LATER + c.since_heartbeat).unwrap();
        let ready = take(&mut r);
        assert_eq!(answer_to(&ready, 3).map(|(_, g)| g), c.answered, "{}", c.name);
        let expected_term =
            if c.answered == Some(true) && !c.name.starts_with("pre") { 3 } else { 2 };
        assert_eq!(r.term(), Term(expected_term), "{}", c.name);
    }
}

/// Thesis §9.6: the promise a follower made by acknowledging a leader's heartbeat lasts one
/// minimum election timeout, whatever raises its term meanwhile. A response of a higher term
/// makes it a follower of that term with no leader known; a vote request of that same term
/// arriving within the lease must still be refused (a leader counts on the promise for its
/// lease), and answered once the lease is over. A transfer is exempt, as before.
#[test]
fn a_term_raised_by_a_response_keeps_the_lease_promise() {
    type Raiser = (&'static str, fn() -> Message);
    let raisers: [Raiser; 3] = [
        ("a vote response", || vote_response(2, 3, false)),
        ("an append response", || {
            msg(2, 3, Body::AppendEntriesResponse { success: false, index: 0, sent_at_ms: 0 })
        }),
        ("a pre-vote response", || {
            msg(2, 3, Body::RequestVoteResponse { pre_vote: true, granted: false })
        }),
    ];
    for (name, raise) in raisers {
        for (since_heartbeat, transfer, granted) in
            [(60, false, false), (149, false, false), (150, false, true), (60, true, true)]
        {
            let mut r = node(3, Config::default(), 2, None, &[]);
            r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
            r.step(raise(), LATER + 1).unwrap();
            let _ = take(&mut r);
            assert_eq!((r.term(), r.leader()), (Term(3), None), "{name}");
            let request = Body::RequestVote {
                pre_vote: false,
                transfer,
                last_log_index: 0,
                last_log_term: Term(0),
            };
            r.step(msg(3, 3, request), LATER + since_heartbeat).unwrap();
            let ready = take(&mut r);
            let case = format!("{name}, {since_heartbeat} ms, transfer {transfer}");
            assert_eq!(answer_to(&ready, 3), Some((Term(3), granted)), "{case}");
            assert_eq!(ready.marks.contains(&crate::Mark::VoteRefusedInLease), !granted, "{case}");
        }
    }
}

/// Without check-quorum there is no lease: votes are answered at once.
#[test]
fn without_check_quorum_no_lease_holds_votes_back() {
    let config = Config { check_quorum: false, ..Config::default() };
    let mut r = node(3, config, 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    r.step(vote_request(3, 3, 0, 0), LATER + 1).unwrap();
    assert_eq!(answer_to(&take(&mut r), 3), Some((Term(3), true)));
}

/// A node that just (re)started may have acknowledged a leader right before it went down, so
/// it keeps the lease for one minimum election timeout.
#[test]
fn a_restarted_node_keeps_the_lease_it_may_have_given() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(vote_request(3, 3, 0, 0), 149).unwrap();
    assert_eq!(answer_to(&take(&mut r), 3), None);
    r.step(vote_request(3, 3, 0, 0), 150).unwrap();
    assert_eq!(answer_to(&take(&mut r), 3), Some((Term(3), true)));
}

/// Check-quorum: a leader that hears from no majority for a minimum election timeout steps
/// down; acknowledgements keep it leader; without check-quorum it never steps down.
#[test]
fn check_quorum_steps_down_a_leader_without_a_majority() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let since = elect(&mut r, 3, LATER);
    r.tick(since + 149);
    assert_eq!(r.role(), Role::Leader);
    r.tick(since + 150);
    assert_eq!((r.role(), r.term(), r.leader()), (Role::Follower, Term(2), None));

    let mut r = node(3, Config::default(), 1, None, &[]);
    elect(&mut r, 3, LATER);
    for t in (since..since + 1_000).step_by(50) {
        r.step(append_ok(3, 2, 1, t), t + 5).unwrap();
        r.tick(t + 5);
    }
    assert_eq!(r.role(), Role::Leader, "one follower answering keeps a majority of 3");

    let config = Config { check_quorum: false, pre_vote: false, ..Config::default() };
    let mut r = node(3, config, 1, None, &[]);
    elect(&mut r, 3, LATER);
    r.tick(since + 10_000);
    assert_eq!(r.role(), Role::Leader);
}

/// The lease runs from the send time of the latest heartbeat a majority acknowledged, for the
/// minimum election timeout shortened by the drift bound.
#[test]
fn the_lease_follows_majority_acknowledgements() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t0 = elect(&mut r, 3, LATER);
    assert!(!r.lease_valid(t0), "no acknowledgement yet");
    r.step(append_ok(2, 2, 1, t0 + 10), t0 + 20).unwrap();
    let lease = r.config().lease_ms();
    assert_eq!(lease, 142, "150 ms × (1 − 0.05)");
    assert!(r.lease_valid(t0 + 10 + lease - 1));
    assert!(!r.lease_valid(t0 + 10 + lease));

    let config = Config { check_quorum: false, pre_vote: false, ..Config::default() };
    let mut r = node(3, config, 1, None, &[]);
    elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, t0), t0 + 1).unwrap();
    assert!(!r.lease_valid(t0 + 2), "no lease without check-quorum");
}

/// Thesis §3.10: the leader stops taking proposals, brings the target up to date, then sends
/// it TimeoutNow; its lease ends. A transfer that does not finish in time is abandoned.
#[test]
fn leadership_transfer_catches_the_target_up_first() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(3, 2, 1, t), t + 1).unwrap();
    assert!(r.lease_valid(t + 2));
    assert_eq!(r.transfer_leadership(NodeId(9), t + 2), Err(TransferError::UnknownNode(NodeId(9))));
    r.transfer_leadership(NodeId(2), t + 2).unwrap();
    assert!(!r.lease_valid(t + 2), "no lease while handing over");
    assert_eq!(
        r.propose(b"x".to_vec(), t + 2),
        Err(crate::ProposeError::TransferInProgress(NodeId(2)))
    );
    assert_eq!(r.transfer_leadership(NodeId(3), t + 2), Err(TransferError::InProgress(NodeId(2))));
    let first = sent(&take(&mut r));
    assert!(matches!(first[..], [Message { body: Body::AppendEntries { .. }, .. }]), "{first:?}");
    r.step(append_ok(2, 2, 1, t + 2), t + 3).unwrap();
    let second = sent(&take(&mut r));
    assert!(matches!(second[..], [Message { body: Body::TimeoutNow { .. }, to: NodeId(2), .. }]));

    r.step(append_ok(3, 2, 1, t + 290), t + 295).unwrap();
    r.tick(t + 2 + 300);
    assert_eq!(r.role(), Role::Leader, "transfer abandoned, still leader");
    assert!(r.propose(b"x".to_vec(), t + 303).is_ok(), "proposals accepted again");
    r.step(append_ok(3, 2, 1, t + 303), t + 304).unwrap();
    assert!(!r.lease_valid(t + 305), "TimeoutNow went out: the lease stays void this term");
}

/// Thesis §3.10: the target campaigns at once, skipping pre-vote, and tells voters to skip
/// their lease check.
#[test]
fn timeout_now_starts_a_transfer_campaign() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    let _ = take(&mut r);
    r.step(msg(3, 2, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 1).unwrap();
    assert_eq!(r.role(), Role::Follower, "only the current leader can ask");
    r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 1).unwrap();
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(3)));
    let requests = sent(&take(&mut r));
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|m| matches!(m.body, Body::RequestVote { pre_vote: false, transfer: true, .. })));
}

/// §5.2: the election timer is drawn from [min, max] by the node's own seeded RNG, and reset
/// by a valid heartbeat and by granting a vote, but not by refusing one.
#[test]
fn election_timer_is_randomized_and_reset_by_heartbeats_and_grants() {
    let deadlines: std::collections::BTreeSet<u64> = (0..200)
        .map(|seed| {
            Raft::new(crate::RaftOptions {
                id: NodeId(1),
                members: members(3),
                config: Config::default(),
                persisted: PersistedState::default(),
                seed,
                now_ms: 0,
                applied: 0,
            })
            .unwrap()
            .status()
            .election_deadline
            .expect("not leader")
        })
        .collect();
    assert!(deadlines.iter().all(|d| (150..=300).contains(d)), "{deadlines:?}");
    assert!(deadlines.len() > 80, "200 seeds gave only {} distinct timeouts", deadlines.len());

    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    assert!(
        (LATER + 150..=LATER + 300).contains(&r.status().election_deadline.expect("not leader"))
    );
    r.step(vote_request(3, 1, 0, 0), LATER + 400).unwrap();
    assert!(
        r.status().election_deadline.expect("not leader") <= LATER + 300,
        "a refused vote does not reset the timer"
    );
    let mut behind = node(3, Config::default(), 2, None, &[1, 2]);
    let deadline = behind.status().election_deadline.expect("not leader");
    behind.step(vote_request(3, 5, 0, 0), LATER).unwrap();
    assert_eq!(behind.term(), Term(5));
    assert_eq!(
        behind.status().election_deadline.expect("not leader"),
        deadline,
        "nor does a higher term it refuses"
    );
    r.step(vote_request(3, 3, 0, 0), LATER + 400).unwrap();
    assert_eq!(r.hard_state().voted_for, Some(NodeId(3)));
    assert!(
        (LATER + 550..=LATER + 700).contains(&r.status().election_deadline.expect("not leader"))
    );
}

/// Same seed and inputs, same outputs: the core has no hidden clock or RNG.
#[test]
fn the_core_is_a_deterministic_function_of_its_inputs() {
    let run = || {
        let mut r = node(5, Config::default(), 1, None, &[]);
        let mut out = Vec::new();
        for t in (0..3_000).step_by(7) {
            r.tick(t);
            if let Some(ready) = r.ready() {
                out.push(format!("{ready:?}"));
                r.advance();
            }
        }
        out
    };
    assert_eq!(run(), run());
}

/// The leader failure detector: time since the current leader's last heartbeat.
#[test]
fn followers_measure_the_leaders_silence() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    assert_eq!(r.leader_silence_ms(LATER), None, "no leader known");
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    assert_eq!(r.leader_silence_ms(LATER + 120), Some(120));
    r.step(heartbeat(2, 2, (0, 0), 0), LATER + 130).unwrap();
    assert_eq!(r.leader_silence_ms(LATER + 140), Some(10));
}

/// The adaptive timeout: the leader measures the round trip from acknowledgements and shares
/// it in heartbeats; a follower stretches its (still randomized, capped) timeout with it.
#[test]
fn adaptive_timeout_follows_measured_round_trips() {
    let config = Config { adaptive_timeout: true, ..Config::default() };
    let mut leader = node(3, config.clone(), 1, None, &[]);
    let t = elect(&mut leader, 3, LATER);
    leader.step(append_ok(2, 2, 1, t), t + 100).unwrap();
    assert_eq!(leader.status().rtt_estimate_ms, Some(100));
    leader.tick(t + 100);
    let carried = sent(&take(&mut leader)).into_iter().find_map(|m| match m.body {
        Body::AppendEntries { rtt_ms, .. } => Some(rtt_ms),
        _ => None,
    });
    assert_eq!(carried, Some(100));

    let mut follower = node(3, config, 2, None, &[]);
    assert_eq!(follower.status().election_timeout_range_ms, (150, 300));
    let mut slow = heartbeat(2, 2, (0, 0), 0);
    if let Body::AppendEntries { rtt_ms, .. } = &mut slow.body {
        *rtt_ms = 100;
    }
    follower.step(slow, LATER).unwrap();
    let (lo, hi) = follower.status().election_timeout_range_ms;
    assert!(lo >= 2 * 50 + 100 && hi == lo + 150 && hi <= 1_000, "({lo}, {hi})");
    assert!((LATER + lo..=LATER + hi)
        .contains(&follower.status().election_deadline.expect("not leader")));
}

/// Resigning hands leadership to the follower with the most of the log.
#[test]
fn resign_picks_the_most_up_to_date_follower() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    assert!(matches!(r.resign(LATER), Err(TransferError::NotLeader { .. })));
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(3, 2, 1, t), t + 1).unwrap();
    assert_eq!(r.resign(t + 2), Ok(NodeId(3)));
    let out = sent(&take(&mut r));
    assert!(matches!(out[..], [Message { body: Body::TimeoutNow { .. }, to: NodeId(3), .. }]));
}
