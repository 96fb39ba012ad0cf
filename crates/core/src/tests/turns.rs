//! Staggered election timeouts: the followers of a leader take turns, so that the first to
//! time out after the leader fails usually reaches the others before their timers fire.

use super::*;
use crate::timeout::{turn_key, turn_range};

/// Follower `id` of five nodes, that heard leader 5 in `term` at `LATER` (its heartbeat
/// carrying the leader's round trip, `rtt_ms`); returns its election timeout, milliseconds.
fn timeout_after_heartbeat(id: u64, term: u64, rtt_ms: u64, staggered: bool, seed: u64) -> u64 {
    let hard_state = HardState { term: Term(term), voted_for: None };
    let config = Config { staggered_timeouts: staggered, ..Config::default() };
    let mut r = Raft::new(crate::RaftOptions {
        id: NodeId(id),
        members: members(5),
        config,
        persisted: PersistedState { hard_state, entries: vec![] },
        seed,
        now_ms: 0,
        applied: 0,
    })
    .expect("valid node");
    let mut beat = heartbeat(5, term, (0, 0), 0);
    beat.to = NodeId(id);
    if let Body::AppendEntries { rtt_ms: rtt, .. } = &mut beat.body {
        *rtt = rtt_ms;
    }
    r.step(beat, LATER).unwrap();
    assert_eq!(r.status().leader, Some(NodeId(5)));
    r.status().election_deadline.expect("a follower's timer") - LATER
}

/// The lowest and highest timeout of follower `id` over 200 seeds.
fn spread(id: u64, term: u64, rtt_ms: u64, staggered: bool) -> (u64, u64) {
    let draws = (0..200).map(|seed| timeout_after_heartbeat(id, term, rtt_ms, staggered, seed));
    draws.fold((u64::MAX, 0), |(lo, hi), d| (lo.min(d), hi.max(d)))
}

/// With 150–300 ms timeouts and four followers, each draws from its own 37 ms slice; the
/// slices tile the range, and which follower goes first changes with the term.
#[test]
fn followers_draw_from_their_own_turn() {
    let mut firsts = std::collections::BTreeSet::new();
    for term in 2..=6 {
        let mut slices: Vec<(u64, u64)> = (1..=4).map(|id| spread(id, term, 0, true)).collect();
        let first = slices.iter().position(|s| s.0 < 187).expect("someone goes first");
        let lowest_key = (1..=4).min_by_key(|&id| turn_key(NodeId(id), Term(term)));
        assert_eq!(Some(first as u64 + 1), lowest_key, "term {term}: the lowest key goes first");
        firsts.insert(first);
        slices.sort();
        for (k, &(lo, hi)) in slices.iter().enumerate() {
            let start = 150 + 37 * k as u64;
            assert!(lo >= start && lo <= start + 4, "term {term}, turn {k}: {lo}..{hi}");
            assert!(hi <= start + 37 && hi + 4 >= start + 37, "term {term}, turn {k}: {lo}..{hi}");
        }
    }
    assert!(firsts.len() >= 3, "first turns in five terms went to {firsts:?}");
}

/// A turn lasts at least half the leader's round trip: with a 100 ms round trip, turns of
/// 50 ms, and the fourth follower's turn is the range's upper end.
#[test]
fn a_turn_lasts_at_least_a_one_way_trip() {
    let mut slices: Vec<(u64, u64)> = (1..=4).map(|id| spread(id, 2, 100, true)).collect();
    slices.sort();
    assert_eq!(slices[3], (300, 300), "{slices:?}");
    assert!(slices[0].0 <= 152 && slices[0].1 >= 198 && slices[0].1 <= 200, "{slices:?}");
}

/// Off, every follower draws from the whole range.
#[test]
fn off_every_follower_draws_from_the_whole_range() {
    for id in 1..=4 {
        let (lo, hi) = spread(id, 2, 0, false);
        assert!(lo < 160 && hi > 290, "follower {id}: {lo}..{hi}");
    }
}

/// The slices' arithmetic: equal turns, never shorter than a one-way trip, clamped to the
/// range; a range without width stays as it is.
#[test]
fn turn_range_arithmetic() {
    assert_eq!(turn_range((150, 300), 0, 4, 0), (150, 187));
    assert_eq!(turn_range((150, 300), 3, 4, 0), (261, 298));
    assert_eq!(turn_range((12, 24), 1, 4, 5), (17, 22));
    assert_eq!(turn_range((12, 24), 2, 4, 5), (22, 24));
    assert_eq!(turn_range((12, 24), 3, 4, 5), (24, 24));
    assert_eq!(turn_range((150, 150), 2, 4, 5), (150, 150));
    assert_eq!(turn_range((150, 300), 0, 0, 0), (150, 300), "no followers: one turn");
}

/// The turns' order is SplitMix64's finalizer over the id xor the term (rotated into the high
/// half): the first three outputs of SplitMix64 seeded with 0, from the golden-ratio
/// increments. In the third, id and term share bits, so that two ids (node ids are any u64)
/// differing only where the term has bits still get different keys.
#[test]
fn turn_key_is_splitmix64() {
    assert_eq!(turn_key(NodeId(0x7F4A_7C15), Term(0x9E37_79B9)), 0xE220_A839_7B1D_CDAF);
    assert_eq!(turn_key(NodeId(0xFE94_F82A), Term(0x3C6E_F372)), 0x6E78_9E6A_A1B9_65F4);
    assert_eq!(turn_key(NodeId(0x2559_92D3_7DDF_743F), Term(0xFFFF_FFFF)), 0x06C4_5D18_8009_454F);
}
