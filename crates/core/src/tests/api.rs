//! What an application and a test author reach for: same-term pre-votes, aborting a
//! transfer, campaigning on demand, one status, the applied index, live reconfiguration.

use super::*;
use crate::testnet::TestNet;
use crate::{InitError, Role, TransferError};

/// Thesis §9.6: a pre-vote asks "would you vote for me in this term?", so it is granted
/// exactly when a real vote would be (etcd's TestRecvMsgPreVote), including for the
/// receiver's own term, and it changes nothing on the receiver.
#[test]
fn pre_vote_table() {
    struct Case {
        name: &'static str,
        term: u64,
        vote: Option<u64>,
        knows_leader: bool,
        request: (u64, u64, u64), // term, last index, last term
        granted: bool,
    }
    let cases = [
        Case {
            name: "next term, up to date",
            term: 5,
            vote: Some(3),
            knows_leader: false,
            request: (6, 1, 5),
            granted: true,
        },
        Case {
            name: "same term, no vote, no leader",
            term: 5,
            vote: None,
            knows_leader: false,
            request: (5, 1, 5),
            granted: true,
        },
        Case {
            name: "same term, already voted for the asker",
            term: 5,
            vote: Some(2),
            knows_leader: false,
            request: (5, 1, 5),
            granted: true,
        },
        Case {
            name: "same term, voted for another",
            term: 5,
            vote: Some(3),
            knows_leader: false,
            request: (5, 1, 5),
            granted: false,
        },
        Case {
            name: "same term, a leader is known",
            term: 5,
            vote: None,
            knows_leader: true,
            request: (5, 1, 5),
            granted: false,
        },
        Case {
            name: "same term, log behind",
            term: 5,
            vote: None,
            knows_leader: false,
            request: (5, 0, 0),
            granted: false,
        },
        Case {
            name: "next term, log behind",
            term: 5,
            vote: None,
            knows_leader: false,
            request: (6, 1, 4),
            granted: false,
        },
        Case {
            name: "older term",
            term: 5,
            vote: None,
            knows_leader: false,
            request: (4, 1, 5),
            granted: false,
        },
    ];
    // Without check-quorum no lease holds the vote back; the lease rule has its own tests.
    let config = Config { check_quorum: false, ..Config::default() };
    for c in cases {
        let mut r = node(3, config.clone(), c.term, c.vote, &[5]);
        if c.knows_leader {
            r.step(heartbeat(3, c.term, (1, 5), 0), LATER).unwrap();
        }
        let _ = take(&mut r);
        let before = (r.hard_state(), r.role(), r.leader());
        let (term, last_index, last_term) = c.request;
        r.step(pre_vote(2, term, last_index, last_term), LATER).unwrap();
        assert_eq!((r.hard_state(), r.role(), r.leader()), before, "{}: changed state", c.name);
        let ready = take(&mut r);
        assert!(ready.hard_state.is_none(), "{}: persisted something", c.name);
        let answer = sent(&ready).into_iter().find(|m| m.to == NodeId(2)).expect(c.name);
        let Body::RequestVoteResponse { pre_vote: true, granted } = answer.body else {
            panic!("{}: answered {answer:?}", c.name)
        };
        assert_eq!(granted, c.granted, "{}: granted", c.name);
        let expected_term = if granted { term } else { c.term };
        assert_eq!(answer.term, Term(expected_term), "{}: answer's term", c.name);
    }
}

/// The case that made same-term pre-votes matter: a node at term 4 and a node at term 5 that
/// has not voted, the third down. The node at term 4 campaigns and wins within two round
/// trips (pre-vote, then vote); before, it was refused, adopted term 5, and needed a whole
/// second election timeout.
#[test]
fn a_node_one_term_behind_wins_in_one_campaign() {
    let config = Config { check_quorum: false, ..Config::default() };
    for seed in 0..20 {
        let mut net = TestNet::new(3, config.clone(), seed);
        for id in 0..3 {
            net.crash(id);
        }
        net.disks[0].hard_state = HardState { term: Term(4), voted_for: None };
        net.disks[1].hard_state = HardState { term: Term(5), voted_for: None };
        net.restart(0);
        net.restart(1);
        let now = net.now;
        assert!(net.node_mut(0).campaign(now));
        net.drain(0);
        let two_round_trips = 4 * net.max_latency_ms;
        let took = net.run_until(two_round_trips, |net| !net.leaders().is_empty());
        assert!(took.is_some(), "seed {seed}: no leader within two round trips");
        assert_eq!((net.leaders(), net.node(0).term()), (vec![0], Term(5)), "seed {seed}");
        net.assert_election_safety();
    }
}

/// etcd's TestLeaderTransferBack: a transfer to a node that cannot catch up is called off
/// (by `abort_transfer`, or by transferring to the leader itself); proposals are taken again
/// and the target, caught up later, never gets TimeoutNow. Once TimeoutNow went out, it is
/// too late, and the error says so.
#[test]
fn a_transfer_can_be_called_off_until_timeout_now_goes_out() {
    for abort_by_self_transfer in [false, true] {
        let mut r = node(3, Config::default(), 1, None, &[]);
        let t = elect(&mut r, 3, LATER);
        r.transfer_leadership(NodeId(2), t + 1).unwrap();
        assert_eq!(r.pending_transfer(), Some(NodeId(2)));
        assert_eq!(r.status().transfer, Some(NodeId(2)));
        if abort_by_self_transfer {
            r.transfer_leadership(NodeId(1), t + 2).unwrap();
        } else {
            r.abort_transfer().unwrap();
        }
        assert_eq!(r.pending_transfer(), None);
        assert!(r.propose(b"x".to_vec(), t + 3).is_ok(), "proposals taken again");
        let _ = take(&mut r);
        r.step(append_ok(2, 2, 2, t + 3), t + 4).unwrap();
        let after = sent(&take(&mut r));
        assert!(!after.iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })), "{after:?}");
        assert_eq!(r.role(), Role::Leader);
    }

    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, t), t + 1).unwrap();
    r.transfer_leadership(NodeId(2), t + 2).unwrap();
    let handed = sent(&take(&mut r));
    // TimeoutNow expires half a minimum election timeout before the leader gives the
    // transfer up: the target's reckoning of the leader's clock lags by a heartbeat's latency.
    let c = Config::default();
    let expiry = t + 2 + c.election_timeout_max_ms - c.election_timeout_min_ms / 2;
    assert!(handed.iter().any(|m| m.body == Body::TimeoutNow { expires_at_ms: expiry }));
    assert_eq!(r.abort_transfer(), Err(TransferError::AlreadyHandedOver(NodeId(2))));
    assert_eq!(r.pending_transfer(), Some(NodeId(2)), "an error changes nothing");

    let mut follower = node(3, Config::default(), 1, None, &[]);
    assert_eq!(follower.abort_transfer(), Err(TransferError::NotLeader { leader: None }));
    let mut leader = node(3, Config::default(), 1, None, &[]);
    elect(&mut leader, 3, LATER);
    assert_eq!(leader.abort_transfer(), Ok(()), "nothing to call off");
}

/// A caught-up target not heard from within the transfer margin (half a minimum election
/// timeout) gets TimeoutNow only once it answers again: its link may be holding messages,
/// and TimeoutNow would arrive after the transfer was given up.
#[test]
fn timeout_now_waits_for_a_target_heard_from_lately() {
    let mut r = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut r, 3, LATER);
    r.step(append_ok(2, 2, 1, t), t + 1).unwrap();
    let margin = Config::default().election_timeout_min_ms / 2;
    r.transfer_leadership(NodeId(2), t + margin + 1).unwrap();
    let held_back = sent(&take(&mut r));
    assert!(!held_back.iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })), "{held_back:?}");
    r.step(append_ok(2, 2, 1, t + margin + 1), t + margin + 2).unwrap();
    let handed = sent(&take(&mut r));
    assert!(handed.iter().any(|m| matches!(m.body, Body::TimeoutNow { .. })), "{handed:?}");
}

/// A TimeoutNow that arrives after a heartbeat showed the leader's clock past the transfer's
/// expiry is stale: the leader gave the transfer up, and the target does not campaign. One
/// that arrives in time is obeyed.
#[test]
fn a_stale_timeout_now_is_ignored() {
    for (sent_at, expires_at_ms, campaigns) in [(299, 300, true), (300, 300, false)] {
        let mut r = node(3, Config::default(), 2, None, &[]);
        r.step(heartbeat_sent_at(2, 2, sent_at), LATER).unwrap();
        r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms }), LATER).unwrap();
        let role = if campaigns { Role::Candidate } else { Role::Follower };
        assert_eq!(r.role(), role, "heartbeat sent at {sent_at}");
    }
}

/// A TimeoutNow held up in the network together with every heartbeat after it arrives with
/// nothing newer from the leader to date it: the target reckons the leader's clock on its
/// own since the last heartbeat (at most 105 % of its own elapsed time, the drift bound)
/// and ignores it once that may have passed the expiry.
#[test]
fn a_timeout_now_held_up_with_the_heartbeats_is_dated_by_the_local_clock() {
    // Heartbeat sent at 0 (leader's clock), received at LATER; expiry 300 on the leader's
    // clock: 284 ms here is 299 there at the fastest (rounded up), 285 ms is 300.
    for (arrives, campaigns) in [(LATER + 284, true), (LATER + 285, false)] {
        let mut r = node(3, Config::default(), 2, None, &[]);
        r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
        r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms: 300 }), arrives).unwrap();
        let role = if campaigns { Role::Candidate } else { Role::Follower };
        assert_eq!(r.role(), role, "TimeoutNow arriving at {arrives}");
    }
    // The heartbeats held up with it arrive first: they are old news, and the node (which
    // campaigned meanwhile, without a leader) still dates the leader's clock by the last
    // heartbeat that arrived in time.
    let mut r = node(3, Config::default(), 2, None, &[]);
    r.step(heartbeat(2, 2, (0, 0), 0), LATER).unwrap();
    let deadline = r.status().election_deadline.expect("a follower waits for its leader");
    r.tick(deadline);
    assert_eq!(r.role(), Role::PreCandidate);
    r.step(heartbeat_sent_at(2, 2, 10), LATER + 400).unwrap();
    assert_eq!((r.role(), r.leader()), (Role::Follower, Some(NodeId(2))));
    r.step(msg(2, 2, Body::TimeoutNow { expires_at_ms: 300 }), LATER + 400).unwrap();
    assert_eq!(r.role(), Role::Follower, "the transfer ended about 100 ms ago");
}

/// `campaign(now)` starts an election at once, with pre-vote when configured; a leader
/// ignores it.
#[test]
fn campaign_starts_an_election_now() {
    let mut r = node(3, Config::default(), 2, None, &[]);
    let deadline = r.status().election_deadline.expect("follower");
    assert!(r.campaign(LATER.min(deadline - 1)));
    assert_eq!((r.role(), r.term()), (Role::PreCandidate, Term(2)));
    let requests = sent(&take(&mut r));
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|m| m.term == Term(3) && matches!(m.body, Body::RequestVote { pre_vote: true, .. })));

    let mut r = node(3, Config { pre_vote: false, ..Config::default() }, 2, None, &[]);
    assert!(r.campaign(0));
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(3)));

    let mut leader = node(3, Config::default(), 1, None, &[]);
    let t = elect(&mut leader, 3, LATER);
    let term = leader.term();
    assert!(!leader.campaign(t + 1));
    assert_eq!((leader.role(), leader.term()), (Role::Leader, term));
}

/// `status()` holds what each role knows: a candidate's tally; a leader's per-follower
/// progress, lease and transfer; a follower's election deadline.
#[test]
fn status_reports_what_each_role_knows() {
    let mut r = node(5, Config { pre_vote: false, ..Config::default() }, 1, None, &[1]);
    let follower = r.status();
    assert_eq!((follower.role, follower.term, follower.last_index), (Role::Follower, Term(1), 1));
    assert!(follower.election_deadline.is_some() && follower.progress.is_empty());
    assert_eq!(follower.election_timeout_range_ms, (150, 300));

    r.campaign(LATER);
    r.step(vote_response(2, 2, true), LATER).unwrap();
    r.step(vote_response(3, 2, false), LATER).unwrap();
    let candidate = r.status();
    assert_eq!(candidate.voted_for, Some(NodeId(1)));
    let tally: Vec<(u64, bool)> = candidate.votes.iter().map(|(id, &g)| (id.0, g)).collect();
    assert_eq!(tally, [(1, true), (2, true), (3, false)]);

    r.step(vote_response(4, 2, true), LATER).unwrap();
    let _ = take(&mut r);
    r.step(append_ok(2, 2, 2, LATER), LATER + 5).unwrap();
    r.step(append_ok(3, 2, 2, LATER), LATER + 6).unwrap();
    let leader = r.status();
    assert_eq!(leader.role, Role::Leader);
    assert_eq!((leader.last_index, leader.commit_index, leader.applied_index), (2, 2, 0));
    assert_eq!(leader.progress[&NodeId(2)].match_index, 2);
    assert_eq!(leader.progress[&NodeId(4)].match_index, 0);
    assert_eq!(leader.progress[&NodeId(3)].acked_sent_at, Some(LATER));
    assert_eq!(leader.lease_expires_at, r.lease_expires_at());
    assert!(leader.lease_expires_at.is_some() && leader.election_deadline.is_none());
    assert!(leader.votes.is_empty() && leader.transfer.is_none());
    let _ = take(&mut r);
    assert_eq!(r.status().applied_index, 2, "handed out in Ready::committed");
}

/// An application that hands back its applied index at restart is not given those entries
/// again; one past the log is refused.
#[test]
fn entries_up_to_the_applied_index_are_not_delivered_again() {
    let persisted = PersistedState {
        hard_state: HardState { term: Term(2), voted_for: None },
        entries: entries(&[1, 2, 2]),
    };
    let options = |applied| crate::RaftOptions {
        id: NodeId(1),
        members: members(3),
        config: Config::default(),
        persisted: persisted.clone(),
        seed: 1,
        now_ms: 0,
        applied,
    };
    let mut r = Raft::new(options(2)).unwrap();
    let status = r.status();
    assert_eq!((status.commit_index, status.applied_index), (2, 2));
    r.step(heartbeat(2, 2, (3, 2), 3), LATER).unwrap();
    let committed: Vec<u64> = take(&mut r).committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, [3], "entries 1 and 2 were applied before the restart");

    let err = Raft::new(options(4)).unwrap_err();
    assert!(matches!(err, InitError::InconsistentState(ref m) if m.contains("applied index 4")));
}

/// A live node switches configuration; an invalid one is refused and the old one kept.
#[test]
fn configuration_switches_on_a_live_node() {
    let mut r = node(3, Config { pre_vote: false, ..Config::default() }, 1, None, &[]);
    let bad = Config { heartbeat_ms: 0, ..Config::default() };
    assert!(r.set_config(bad).is_err());
    assert!(!r.config().pre_vote, "old configuration kept");
    r.set_config(Config::default()).unwrap();
    r.campaign(LATER);
    assert_eq!(r.role(), Role::PreCandidate, "the next campaign asks for pre-votes");
}

/// etcd#8501's rolling migration: pre-vote and check-quorum switched on one node at a time,
/// the leader crashed and restarted between steps. Mixed clusters keep electing one leader
/// per term throughout.
#[test]
fn a_rolling_pre_vote_migration_keeps_electing_leaders() {
    let off = Config { pre_vote: false, check_quorum: false, ..Config::default() };
    for seed in 0..20 {
        let mut net = TestNet::new(5, off.clone(), seed);
        net.max_latency_ms = 10;
        for id in 0..5 {
            let leader = net.wait_for_leader(5_000);
            net.set_config(id, Config::default());
            net.crash(leader);
            let next = net.wait_for_leader(5_000);
            assert_ne!(next, leader, "seed {seed}, step {id}");
            net.restart(leader);
            net.run_for(500);
        }
        assert!(net.configs.iter().all(|c| c.pre_vote && c.check_quorum));
        net.wait_for_leader(5_000);
        net.assert_election_safety();
    }
}
