//! Split-vote backoff: a campaign that cannot be won is retried soon, in an order the rival
//! candidates agree on, and a stalled one does not wait a whole election timeout.

use super::*;
use crate::Role;

/// Node 1 of `n` nodes without pre-vote, campaigning in term 2 from `LATER` on; returns the
/// node and the time its campaign started.
fn candidate(n: u64, backoff: bool) -> (Raft, u64) {
    let config = Config { split_vote_backoff: backoff, ..no_pre_vote() };
    candidate_with(n, config, 42)
}

/// As [`candidate`], with its configuration and RNG seed.
fn candidate_with(n: u64, config: Config, seed: u64) -> (Raft, u64) {
    let hard_state = HardState { term: Term(1), voted_for: None };
    let persisted = PersistedState { hard_state, entries: entries(&[1]) };
    let options = crate::RaftOptions {
        id: NodeId(1),
        members: members(n),
        config,
        persisted,
        seed,
        now_ms: 0,
        applied: 0,
    };
    let mut r = Raft::new(options).expect("valid node");
    let t = r.status().election_deadline.expect("a follower's timer").max(LATER);
    r.tick(t);
    assert_eq!((r.role(), r.term()), (Role::Candidate, Term(2)));
    let _ = take(&mut r);
    (r, t)
}

fn deadline(r: &Raft) -> u64 {
    r.status().election_deadline.expect("not leader")
}

/// A vote split between rivals (every other live node campaigns too, having voted for
/// itself): nobody can win this term, so the candidate retries within a few vote round trips,
/// not one election timeout (150–300 ms) after it started.
#[test]
fn a_split_vote_is_retried_after_a_backoff() {
    for backoff in [true, false] {
        let (mut r, t) = candidate(5, backoff);
        let before = deadline(&r);
        for rival in 2..=4 {
            r.step(vote_request(rival, 2, 1, 1), t + 5).unwrap();
            r.step(vote_response(rival, 2, false), t + 10).unwrap();
        }
        if backoff {
            // Rank among rivals with the same log: at most 3 slots of 10 ms, and jitter
            // within a quarter of 2 × 10 ms.
            assert!(deadline(&r) <= t + 10 + 30 + 5, "{} vs start {t}", deadline(&r));
        } else {
            assert_eq!(deadline(&r), before, "off: the timer stays as drawn");
            assert!(before >= t + 150);
        }
    }
}

/// Refused with no rival in sight: the candidate's log may be behind, and retrying soon would
/// only raise the term again and again. It waits an election timeout from its campaign's
/// start, from a range widened for the next time.
#[test]
fn a_vote_refused_without_rivals_waits_a_widened_timeout() {
    let (mut r, t) = candidate(5, true);
    for voter in 2..=4 {
        r.step(vote_response(voter, 2, false), t + 10).unwrap();
    }
    let retry = deadline(&r);
    assert!((t + 150..=t + 300).contains(&retry), "{retry} vs start {t}");
}

/// A vote request of the candidate's own term comes from a rival, which voted for itself: a
/// refusal known before its answer arrives.
#[test]
fn a_rival_counts_as_a_refusal() {
    let (mut r, t) = candidate(3, true);
    let before = deadline(&r);
    r.step(vote_request(2, 2, 1, 1), t + 4).unwrap();
    assert_eq!(deadline(&r), before, "one rival of two voters: still winnable");
    r.step(vote_response(3, 2, false), t + 9).unwrap();
    assert!(deadline(&r) < t + 150, "lost: retried early ({} vs start {t})", deadline(&r));
    // The rival's own answer, a refusal, changes nothing more and is no duplicate.
    let retry = deadline(&r);
    r.step(vote_response(2, 2, false), t + 12).unwrap();
    assert_eq!(deadline(&r), retry);
    assert!(!take(&mut r).marks.contains(&crate::Mark::DuplicateVoteResponse));
}

/// Rivals of one term rank themselves alike: better logs first, then an order mixed by the
/// term, so that no node always goes first.
#[test]
fn rivals_agree_on_their_order() {
    use crate::timeout::SplitVoteBackoff;
    let log = (Term(1), 1);
    let rank_of = |me: u64, rival: u64, mine: (Term, u64), theirs: (Term, u64), term: u64| {
        let mut b = SplitVoteBackoff::default();
        b.campaign(0, 0);
        b.rival(NodeId(rival), theirs);
        b.rank(NodeId(me), mine, Term(term))
    };
    let mut firsts = std::collections::BTreeSet::new();
    for term in 2..20 {
        let (a, b) = (rank_of(1, 2, log, log, term), rank_of(2, 1, log, log, term));
        assert_eq!(a + b, 1, "exactly one goes first in term {term}");
        firsts.insert(if a == 0 { 1 } else { 2 });
        assert_eq!(rank_of(1, 2, (Term(1), 2), log, term), 0, "a longer log goes first");
        assert_eq!(rank_of(1, 2, log, (Term(2), 1), term), 1, "a newer log goes first");
    }
    assert_eq!(firsts.len(), 2, "the order changes from term to term");
}

/// A majority answered without a win and one voter is silent (maybe the crashed leader): the
/// candidate retries after waiting as long again as the answers took (12 ms), then one slot
/// (its rival's log is longer) of the slowest answer (12 ms) and at most 3 ms of jitter.
#[test]
fn a_stalled_vote_is_retried_early() {
    let (mut r, t) = candidate(5, true);
    r.step(vote_response(2, 2, true), t + 6).unwrap();
    r.step(vote_request(3, 2, 2, 1), t + 7).unwrap();
    let before = deadline(&r);
    r.step(vote_response(4, 2, false), t + 12).unwrap();
    assert_eq!(r.role(), Role::Candidate, "two of five votes");
    let stalled = deadline(&r);
    assert!(stalled < before, "{stalled} vs {before}");
    assert!((t + 36..=t + 39).contains(&stalled), "{stalled} (start {t})");
    // The silent voter answers after all: the campaign is won.
    r.step(vote_response(5, 2, true), t + 20).unwrap();
    assert_eq!(r.role(), Role::Leader);
}

/// Campaigns lost in a row widen the range to 2^k vote round trips, up to 2^5, and hearing a
/// leader ends the backoff; the round trip is the slowest answer of the last lost campaign.
#[test]
fn lost_campaigns_widen_the_range_until_a_leader_is_heard() {
    use crate::timeout::SplitVoteBackoff;
    let mut b = SplitVoteBackoff::default();
    assert_eq!(b.widen((150, 155), 75), (150, 155));
    b.campaign(0, 0);
    assert_eq!(b.widen((150, 155), 75), (150, 155), "not lost yet");
    assert!(b.lost(0, true));
    assert!(!b.lost(0, true), "a campaign is counted once");
    assert_eq!(b.round_trip_ms(), None, "no answer came back");
    assert_eq!(b.widen((150, 155), 75), (150, 300), "2^1 × 75 ms");
    b.campaign(1_000, 0);
    b.answer(1_005);
    b.answer(1_012);
    assert!(b.lost(1_012, true));
    assert_eq!(b.round_trip_ms(), Some(12), "the slowest answer");
    assert_eq!(b.widen((150, 155), 12), (150, 198), "2^2 × 12 ms");
    assert_eq!(b.widen((150, 300), 12), (150, 300), "never narrower than configured");
    for k in 0..10 {
        b.campaign(2_000 + k, 0);
        b.lost(2_000 + k, true);
    }
    assert_eq!(b.widen((150, 155), 12), (150, 150 + 12 * 32), "at most 2^5");
    b.settled();
    assert_eq!(b.widen((150, 155), 12), (150, 155));
}

/// A campaign that heard from no majority (a partition, not a split vote) is not counted:
/// campaigns in a minority for seconds leave the range as configured, so the first campaign
/// after the heal comes within an ordinary election timeout. One that heard from a majority,
/// a rival's request included, is counted.
#[test]
fn campaigns_that_reach_no_majority_do_not_widen_the_range() {
    let config = Config { split_vote_backoff: true, ..no_pre_vote() };
    // 5 nodes: node 1 hears only node 2's grant, campaign after campaign.
    let (mut r, mut t) = candidate_with(5, config.clone(), 7);
    for _ in 0..20 {
        r.step(vote_response(2, r.term().0, true), t + 40).unwrap();
        t = deadline(&r);
        r.tick(t);
        let _ = take(&mut r);
        assert_eq!(r.role(), Role::Candidate);
    }
    let (lo, hi) = r.election_range();
    assert_eq!((lo, hi), (150, 300), "a minority's campaigns widen nothing");
    // With a rival and another answer, it heard from a majority of 5: a split, counted.
    let (mut r, t) = candidate_with(5, config, 7);
    r.step(vote_request(3, 2, 1, 1), t + 5).unwrap();
    r.step(vote_response(2, 2, false), t + 40).unwrap();
    let t = deadline(&r);
    r.tick(t);
    assert_eq!(r.backoff.lost_in_a_row(), 1);
}

/// The rivals' order sets the retry, counted from when the rivals made the vote unwinnable
/// (their requests, at 5 ms): behind three rivals with longer logs, three slots of the round
/// trip measured since (10 ms) and a jitter of at most a quarter of two; ahead of them, the
/// jitter alone.
#[test]
fn the_retry_waits_one_round_trip_per_better_rival() {
    for (rival_log, slots) in [((2, 1), 3), ((0, 0), 0)] {
        let (mut r, t) = candidate(5, true);
        for rival in 2..=4 {
            r.step(vote_request(rival, 2, rival_log.0, rival_log.1), t + 5).unwrap();
        }
        for voter in 2..=4 {
            r.step(vote_response(voter, 2, false), t + 10).unwrap();
        }
        let wait = deadline(&r) - (t + 5);
        assert!((slots * 10..=slots * 10 + 5).contains(&wait), "{wait} ms, {slots} slots");
    }
}

/// Lost without rivals, the next draw comes from the widened range: with 150–155 ms timeouts
/// and a 10 ms round trip, 150–170 ms after the campaign started.
#[test]
fn a_lost_vote_without_rivals_redraws_from_the_widened_range() {
    let config = Config { election_timeout_max_ms: 155, split_vote_backoff: true, ..no_pre_vote() };
    let mut beyond = 0;
    for seed in 0..40 {
        let (mut r, t) = candidate_with(3, config.clone(), seed);
        for voter in 2..=3 {
            r.step(vote_response(voter, 2, false), t + 10).unwrap();
        }
        let after = deadline(&r) - t;
        assert!((150..=170).contains(&after), "seed {seed}: {after} ms");
        beyond += usize::from(after > 155);
    }
    assert!(beyond > 10, "the range was widened: {beyond} of 40 draws beyond 155 ms");
}

/// The retry's arithmetic: rank slots of the round trip, then a jitter share of a quarter of
/// 2^k round trips for k campaigns lost in a row (at most 2^5).
#[test]
fn split_retry_arithmetic() {
    use crate::timeout::split_retry_ms;
    assert_eq!(split_retry_ms(3, 10, 1, 500), 30 + 2);
    assert_eq!(split_retry_ms(0, 12, 3, 1000), 24);
    assert_eq!(split_retry_ms(2, 7, 0, 1000), 14 + 1);
    assert_eq!(split_retry_ms(1, 8, 9, 1000), 8 + 64);
    assert_eq!(split_retry_ms(1, 8, 9, 0), 8);
}

/// A second split in a row doubles the jitter: retries of the next campaign spread over a
/// quarter of 2^2 round trips, not 2^1.
#[test]
fn each_split_in_a_row_doubles_the_jitter() {
    let mut jitters = Vec::new();
    for seed in 0..30 {
        let (mut r, t) =
            candidate_with(3, Config { split_vote_backoff: true, ..no_pre_vote() }, seed);
        r.step(vote_request(2, 2, 0, 0), t + 5).unwrap();
        r.step(vote_response(3, 2, false), t + 10).unwrap();
        let t2 = deadline(&r);
        r.tick(t2);
        assert_eq!((r.role(), r.term()), (Role::Candidate, Term(3)), "seed {seed}");
        r.step(vote_request(2, 3, 0, 0), t2 + 5).unwrap();
        r.step(vote_response(3, 3, false), t2 + 10).unwrap();
        // Ahead of the rival (an empty log): no slot, jitter only, 10 ms round trip, after
        // a round trip's grace: node 3 refused, so the rival may have won.
        jitters.push(deadline(&r) - (t2 + 10) - 10);
    }
    assert!(jitters.iter().all(|&j| j <= 10), "{jitters:?}");
    assert!(jitters.iter().any(|&j| j > 5), "{jitters:?}");
}

/// A rival that may have won (three nodes: the third refused us, so it may have voted for
/// the rival) gets a vote round trip to announce itself before the retry: retrying first
/// would depose it, and two rivals could depose each other in turn (found by chaos: a
/// 3-node cluster on a slow disk electing and deposing leaders for seconds). When no rival
/// can have a majority (five nodes, three rivals), the retry needs no such grace.
#[test]
fn a_rival_that_may_have_won_gets_time_to_announce_itself() {
    let config = Config { split_vote_backoff: true, ..no_pre_vote() };
    for seed in 0..20 {
        let (mut r, t) = candidate_with(3, config.clone(), seed);
        r.step(vote_request(2, 2, 0, 0), t + 5).unwrap();
        r.step(vote_response(3, 2, false), t + 10).unwrap();
        // Ahead of the rival (its log is empty): no slot; a jitter within a quarter of
        // 2 × 10 ms; and the grace of one 10 ms round trip.
        let wait = deadline(&r) - (t + 10);
        assert!((10..=15).contains(&wait), "seed {seed}: {wait}");
        // Its AppendEntries arriving within the grace ends the campaign: no new term when
        // the retry would have come.
        let retry = deadline(&r);
        r.step(heartbeat(2, 2, (0, 0), 0), t + 10 + 9).unwrap();
        r.tick(retry);
        assert_eq!((r.role(), r.term()), (Role::Follower, Term(2)), "seed {seed}");
    }
}

/// The leader whose silence started the election is presumed down: with one vote and two
/// rivals among five, a candidate that followed leader 5 knows at once that it cannot win and
/// retries within its rivals' order (slots of the 6 ms round trip); a word from the leader
/// ends the presumption, and then the candidate waits for its vote as before.
#[test]
fn the_silent_leader_is_not_waited_for() {
    for leader_spoke in [false, true] {
        let mut r = node(5, no_pre_vote(), 1, None, &[1]);
        r.step(heartbeat(5, 1, (1, 1), 0), LATER).unwrap();
        let t = deadline(&r);
        r.tick(t);
        assert_eq!((r.role(), r.term()), (Role::Candidate, Term(2)));
        let drawn = deadline(&r);
        if leader_spoke {
            r.step(heartbeat(5, 1, (1, 1), 0), t + 2).unwrap();
        }
        r.step(vote_response(2, 2, true), t + 6).unwrap();
        r.step(vote_request(3, 2, 1, 1), t + 7).unwrap();
        r.step(vote_request(4, 2, 1, 1), t + 8).unwrap();
        if leader_spoke {
            assert_eq!(deadline(&r), drawn, "the leader's vote may still come");
        } else {
            let retry = deadline(&r);
            assert!(retry <= t + 8 + 2 * 6 + 3, "{retry} (campaign started at {t})");
        }
    }
}

/// A node whose lost campaigns pushed its timer far out (2^5 round trips of 100 ms), asked
/// for its vote by a candidate with an older log, times out within one ordinary election
/// timeout: it can win, the asker cannot. A stale request never pushes a timer out.
#[test]
fn a_stale_candidate_pulls_in_a_backed_off_timer() {
    let mut far = 0;
    for seed in 0..20 {
        let config = Config { split_vote_backoff: true, ..no_pre_vote() };
        let (mut r, mut t) = candidate_with(3, config, seed);
        for _ in 0..6 {
            let term = r.term().0;
            for voter in 2..=3 {
                r.step(vote_response(voter, term, false), t + 100).unwrap();
            }
            t = deadline(&r);
            r.tick(t);
            let _ = take(&mut r);
        }
        let (now, before) = (t + 1, deadline(&r));
        far += usize::from(before > now + 300);
        r.step(vote_request(2, r.term().0 + 1, 0, 0), now).unwrap();
        assert_eq!(r.role(), Role::Follower);
        let pulled = deadline(&r);
        assert!(pulled <= before && pulled <= now + 300, "seed {seed}: {pulled} (now {now})");
        r.step(vote_request(3, r.term().0, 0, 0), now + 5).unwrap();
        assert!(deadline(&r) <= pulled, "seed {seed}: pushed out");
    }
    assert!(far >= 15, "the backoff had pushed the timer beyond 300 ms in {far} of 20 seeds");
}

/// The same rule for a stale candidate's *pre*-vote (thesis §9.6): refused for its log, out
/// of lease, it pulls a backed-off timer in as a real vote request does.
#[test]
fn a_stale_pre_candidate_pulls_in_a_backed_off_timer() {
    let mut far = 0;
    for seed in 0..20 {
        let config = Config { split_vote_backoff: true, ..no_pre_vote() };
        let (mut r, mut t) = candidate_with(3, config, seed);
        for _ in 0..6 {
            let term = r.term().0;
            for voter in 2..=3 {
                r.step(vote_response(voter, term, false), t + 100).unwrap();
            }
            t = deadline(&r);
            r.tick(t);
            let _ = take(&mut r);
        }
        let (now, before) = (t + 1, deadline(&r));
        far += usize::from(before > now + 300);
        let body = Body::RequestVote {
            pre_vote: true,
            transfer: false,
            last_log_index: 0,
            last_log_term: Term(0),
        };
        r.step(msg(2, r.term().0 + 1, body), now).unwrap();
        let pulled = deadline(&r);
        assert!(pulled <= before && pulled <= now + 300, "seed {seed}: {pulled} (now {now})");
    }
    assert!(far >= 15, "the backoff had pushed the timer beyond 300 ms in {far} of 20 seeds");
}
