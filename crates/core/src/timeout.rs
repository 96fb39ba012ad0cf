//! Randomized election timeouts, and the adaptive estimator that can stretch them.

use crate::config::Config;
use crate::types::{LogIndex, Millis, NodeId, Term};
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::BTreeMap;

/// Smoothed network measurements that scale the election timeout when `adaptive_timeout` is on.
///
/// The round-trip time is measured by the leader from heartbeat acknowledgements (the
/// AppendEntries carries the leader's send time and the response echoes it), smoothed as in
/// TCP (RFC 6298: α = 1/8, β = 1/4), and passed to followers inside heartbeats. Heartbeat loss
/// is measured by every follower from the gaps between the heartbeats it receives.
#[derive(Clone, Debug, Default)]
pub(crate) struct AdaptiveTimeout {
    /// Smoothed round-trip time, microseconds; `None` before the first sample.
    srtt_us: Option<u64>,
    /// Round-trip variation, microseconds.
    rttvar_us: u64,
    /// Smoothed share of heartbeats that did not arrive, per million.
    loss_ppm: u64,
    /// When the last heartbeat arrived.
    last_heartbeat: Option<Millis>,
}

/// Once the estimated chance of missing every heartbeat in a timeout falls below this (per
/// million), the timeout covers enough heartbeats.
const SPURIOUS_TIMEOUT_PPM: u64 = 1_000;

impl AdaptiveTimeout {
    /// Folds in one round-trip sample, milliseconds.
    pub fn observe_rtt(&mut self, sample_ms: u64) {
        let sample = sample_ms * 1000;
        match self.srtt_us {
            None => {
                self.srtt_us = Some(sample);
                self.rttvar_us = sample / 2;
            }
            Some(srtt) => {
                self.rttvar_us = (3 * self.rttvar_us + srtt.abs_diff(sample)) / 4;
                self.srtt_us = Some((7 * srtt + sample) / 8);
            }
        }
    }

    /// Adopts the leader's round-trip estimate carried by a heartbeat, milliseconds.
    pub fn adopt_rtt(&mut self, rtt_ms: u64) {
        if rtt_ms > 0 {
            self.observe_rtt(rtt_ms);
        }
    }

    /// Records a heartbeat arriving at `now`; gaps longer than the interval count as losses.
    pub fn observe_heartbeat(&mut self, now: Millis, heartbeat_ms: u64) {
        if let Some(last) = self.last_heartbeat {
            let gap = now.saturating_sub(last);
            let missed = ((gap + heartbeat_ms / 2) / heartbeat_ms).saturating_sub(1);
            let sample = missed * 1_000_000 / (missed + 1);
            self.loss_ppm = (7 * self.loss_ppm + sample) / 8;
        }
        self.last_heartbeat = Some(now);
    }

    /// Forgets the heartbeat history (the leader changed).
    pub fn reset_heartbeats(&mut self) {
        self.last_heartbeat = None;
    }

    /// Smoothed round-trip time, milliseconds, if measured.
    pub fn srtt_ms(&self) -> Option<u64> {
        self.srtt_us.map(|us| us.div_ceil(1000))
    }

    /// Smoothed heartbeat loss, as a fraction.
    pub fn loss(&self) -> f64 {
        self.loss_ppm as f64 / 1e6
    }

    /// The election timeout range, `[min, max]` milliseconds, under these measurements.
    ///
    /// The lower bound covers enough heartbeat intervals that losing all of them is unlikely
    /// at the measured loss, plus a round trip and four deviations. It never falls below the
    /// configured minimum, and the range keeps the configured width (so the timeout stays
    /// randomized) while its upper end never exceeds the cap.
    pub fn range(&self, config: &Config) -> (u64, u64) {
        let (min, max) = (config.election_timeout_min_ms, config.election_timeout_max_ms);
        if !config.adaptive_timeout {
            return (min, max);
        }
        let width = max - min;
        let mut missed_all_ppm = 1_000_000u64;
        let mut heartbeats = 0;
        while missed_all_ppm > SPURIOUS_TIMEOUT_PPM && heartbeats < 64 {
            missed_all_ppm = missed_all_ppm * self.loss_ppm / 1_000_000;
            heartbeats += 1;
        }
        let rtt_us = self.srtt_us.unwrap_or(0) + 4 * self.rttvar_us;
        let needed = (heartbeats + 1) * config.heartbeat_ms + rtt_us.div_ceil(1000);
        let highest_min = config.adaptive_timeout_cap_ms - width;
        let lower = needed.clamp(min, highest_min.max(min));
        (lower, lower + width)
    }
}

/// Split-vote backoff: how many campaigns in a row ended without a winner since a leader was
/// last heard, and how slowly their votes came back, to widen the next timeout's range.
#[derive(Clone, Debug, Default)]
pub(crate) struct SplitVoteBackoff {
    /// Campaigns lost in a row since a leader was last heard (or this node led), of those
    /// that heard from a majority.
    lost: u32,
    /// When the current campaign started, local milliseconds.
    campaign_started: Millis,
    /// The current campaign is counted in `lost` already.
    counted: bool,
    /// When the current campaign was found lost, local milliseconds.
    lost_at: Millis,
    /// This campaign's share of its retry jitter, per mille (drawn once per campaign).
    jitter_permille: u64,
    /// Slowest vote answer of the current campaign, milliseconds after it started.
    slowest_answer_ms: Option<u64>,
    /// Slowest vote answer of the last lost campaign that got one, milliseconds.
    round_trip_ms: Option<u64>,
    /// Other candidates of the current campaign's term, with their logs' (last term, last
    /// index): each voted for itself, so each is a refusal before its answer arrives.
    rivals: BTreeMap<NodeId, (Term, LogIndex)>,
    /// The leader whose silence started these campaigns, while it stays silent: most likely
    /// down, so its vote is not waited for.
    silent_leader: Option<NodeId>,
}

/// Most doublings of the backoff range: 2^5 round trips.
const MAX_DOUBLINGS: u32 = 5;

impl SplitVoteBackoff {
    /// A campaign starts at `now`; `jitter_permille` is its share of the retry jitter.
    pub fn campaign(&mut self, now: Millis, jitter_permille: u64) {
        self.campaign_started = now;
        self.jitter_permille = jitter_permille.min(1000);
        self.counted = false;
        self.slowest_answer_ms = None;
        self.rivals.clear();
    }

    /// A candidate of the current campaign's term, with `log` its (last term, last index),
    /// asked for our vote.
    pub fn rival(&mut self, candidate: NodeId, log: (Term, LogIndex)) {
        self.rivals.insert(candidate, log);
    }

    /// This node's election timer fired while it followed `leader`.
    pub fn leader_silent(&mut self, leader: NodeId) {
        self.silent_leader = Some(leader);
    }

    /// A message from `node` arrived: if it is the silent leader, it is not down after all.
    pub fn heard_from(&mut self, node: NodeId) {
        if self.silent_leader == Some(node) {
            self.silent_leader = None;
        }
    }

    /// Our place among the rivals of `term` and us (0 first): better logs first, then the
    /// order of the term's turns.
    pub fn rank(&self, me: NodeId, my_log: (Term, LogIndex), term: Term) -> usize {
        let key = |id: NodeId, log: (Term, LogIndex)| (std::cmp::Reverse(log), turn_key(id, term));
        let mine = key(me, my_log);
        self.rivals.iter().filter(|(&id, &log)| key(id, log) < mine).count()
    }

    /// Campaigns lost in a row.
    pub fn lost_in_a_row(&self) -> u32 {
        self.lost
    }

    /// When the current campaign was found lost, local milliseconds.
    pub fn lost_at(&self) -> Millis {
        self.lost_at
    }

    /// This campaign's share of its retry jitter, per mille.
    pub fn jitter_permille(&self) -> u64 {
        self.jitter_permille
    }

    /// The vote round trip measured (in the last lost campaign, else in this one), if any,
    /// milliseconds.
    pub fn round_trip_ms(&self) -> Option<u64> {
        self.round_trip_ms.or(self.slowest_answer_ms)
    }

    /// Another candidate of this campaign's term asked for our vote.
    pub fn has_rivals(&self) -> bool {
        !self.rivals.is_empty()
    }

    /// How many other candidates of this campaign's term asked for our vote.
    pub fn rivals(&self) -> usize {
        self.rivals.len()
    }

    /// Refusals presumed before their answers arrive, none of them among `answered`: the
    /// rivals (each voted for itself) and the silent leader.
    pub fn presumed_refusals(&self, answered: &BTreeMap<NodeId, bool>) -> usize {
        let silent = self.silent_leader.filter(|l| !self.rivals.contains_key(l));
        self.rivals.keys().chain(silent.as_ref()).filter(|n| !answered.contains_key(n)).count()
    }

    /// When the current campaign started, local milliseconds.
    pub fn campaign_started(&self) -> Millis {
        self.campaign_started
    }

    /// A vote answer of the current campaign arrived at `now`.
    pub fn answer(&mut self, now: Millis) {
        let ms = now.saturating_sub(self.campaign_started);
        self.slowest_answer_ms = Some(self.slowest_answer_ms.map_or(ms, |s| s.max(ms)));
    }

    /// The current campaign cannot be won (too many refusals) or its time ran out; returns
    /// whether this is news (each campaign is counted once). Only a campaign that
    /// `reached_majority` (heard from a majority: answers and rivals' requests) counts
    /// towards the backoff: one that did not cannot tell a split vote from a partition, and
    /// widening the timeout for it would only delay the first campaign after the heal.
    pub fn lost(&mut self, now: Millis, reached_majority: bool) -> bool {
        if std::mem::replace(&mut self.counted, true) {
            return false;
        }
        self.lost_at = now;
        if reached_majority {
            self.lost = self.lost.saturating_add(1);
            if let Some(slowest) = self.slowest_answer_ms {
                self.round_trip_ms = Some(slowest);
            }
        }
        true
    }

    /// Rivals of this campaign whose own answer is not among `answered`.
    pub fn rivals_besides(&self, answered: &BTreeMap<NodeId, bool>) -> usize {
        self.rivals.keys().filter(|n| !answered.contains_key(n)).count()
    }

    /// A leader was heard, or this node leads: the split is over.
    pub fn settled(&mut self) {
        self.lost = 0;
        self.silent_leader = None;
    }

    /// `range` widened after lost campaigns: its upper end at least 2^k vote round trips
    /// (`unit`, milliseconds) above its lower end, k lost in a row.
    pub fn widen(&self, range: (u64, u64), unit: u64) -> (u64, u64) {
        if self.lost == 0 {
            return range;
        }
        let width = unit << self.lost.min(MAX_DOUBLINGS);
        (range.0, range.1.max(range.0.saturating_add(width)))
    }
}

/// A node's place in the order of `term`'s turns: every node computes it alike, and it
/// changes from term to term so that no node always goes first.
pub(crate) fn turn_key(id: NodeId, term: Term) -> u64 {
    // SplitMix64's finalizer: every bit of the id and the term moves every bit of the key.
    let mut z = id.0 ^ term.0.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The slice of `range` (milliseconds) that a follower draws its election timeout from in
/// turn `turn` of `turns`: turns of equal length, but at least `one_way_ms` long, so that a
/// vote request of the turn before can arrive first; turns past the end share its bound.
pub(crate) fn turn_range(range: (u64, u64), turn: u64, turns: u64, one_way_ms: u64) -> (u64, u64) {
    let width = range.1.saturating_sub(range.0);
    let length = (width / turns.max(1)).max(one_way_ms);
    let at = |k: u64| range.0 + length.saturating_mul(k).min(width);
    (at(turn), at(turn + 1))
}

/// The wait before retrying a vote split between rivals, milliseconds: `rank` slots of `unit`
/// (a vote round trip, milliseconds), then a jitter of up to a quarter of 2^`lost` units (`lost`
/// campaigns lost in a row, at most 2^5), of which `permille` per mille.
pub(crate) fn split_retry_ms(rank: u64, unit: u64, lost: u32, permille: u64) -> u64 {
    rank * unit + (unit << lost.min(MAX_DOUBLINGS)) / 4 * permille / 1000
}

/// Draws an election timeout uniformly from `range` (inclusive), milliseconds.
pub(crate) fn draw_timeout(rng: &mut StdRng, range: (u64, u64)) -> u64 {
    rng.random_range(range.0..=range.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn adaptive() -> Config {
        Config { adaptive_timeout: true, ..Config::default() }
    }

    #[test]
    fn off_by_default_and_then_the_configured_range() {
        let mut a = AdaptiveTimeout::default();
        a.observe_rtt(400);
        assert_eq!(a.range(&Config::default()), (150, 300));
    }

    #[test]
    fn a_quiet_fast_network_keeps_the_configured_range() {
        let mut a = AdaptiveTimeout::default();
        for _ in 0..20 {
            a.observe_rtt(2);
        }
        assert_eq!(a.range(&adaptive()), (150, 300));
    }

    #[test]
    fn slow_round_trips_stretch_the_range_but_keep_its_width() {
        let mut a = AdaptiveTimeout::default();
        for ms in [180, 220, 200, 190, 210] {
            a.observe_rtt(ms);
        }
        let (lo, hi) = a.range(&adaptive());
        assert!(lo > 150 + 200, "lower bound {lo} must cover a heartbeat and the rtt");
        assert_eq!(hi - lo, 150);
    }

    #[test]
    fn heartbeat_loss_stretches_the_range() {
        let mut a = AdaptiveTimeout::default();
        // every other heartbeat lost: gaps of 100 ms at a 50 ms interval
        for i in 0..40 {
            a.observe_heartbeat(i * 100, 50);
        }
        assert!(a.loss() > 0.45, "loss {}", a.loss());
        let (lo, _) = a.range(&adaptive());
        assert!(lo >= 11 * 50, "0.5^10 > 1e-3, so at least 11 heartbeats: {lo}");
    }

    #[test]
    fn range_is_capped_and_still_randomized() {
        let mut a = AdaptiveTimeout::default();
        a.observe_rtt(5_000);
        for i in 0..40 {
            a.observe_heartbeat(i * 500, 50);
        }
        let (lo, hi) = a.range(&adaptive());
        assert_eq!((lo, hi), (850, 1000));
        let mut rng = StdRng::seed_from_u64(1);
        let draws: Vec<u64> = (0..200).map(|_| draw_timeout(&mut rng, (lo, hi))).collect();
        assert!(draws.iter().all(|d| (lo..=hi).contains(d)));
        assert!(draws.iter().min() < Some(&880) && draws.iter().max() > Some(&970));
    }

    /// RFC 6298, exactly: the first sample sets srtt and half of it as the variation; later
    /// ones move srtt by 1/8 and the variation by 1/4 of the difference.
    #[test]
    fn round_trips_are_smoothed_as_rfc_6298_says() {
        let mut a = AdaptiveTimeout::default();
        a.adopt_rtt(0);
        assert_eq!(a.srtt_us, None, "0 means the leader has no estimate yet");
        a.adopt_rtt(10);
        assert_eq!((a.srtt_us, a.rttvar_us), (Some(10_000), 5_000));
        a.observe_rtt(18);
        assert_eq!((a.srtt_us, a.rttvar_us), (Some(11_000), 5_750));
        assert_eq!(a.srtt_ms(), Some(11));
    }

    /// A gap is rounded to whole heartbeat intervals; each one beyond the first is a loss,
    /// smoothed by 1/8. A reset (new leader) starts the gaps afresh.
    #[test]
    fn heartbeat_gaps_count_losses_exactly() {
        let mut a = AdaptiveTimeout::default();
        a.observe_heartbeat(0, 50);
        a.observe_heartbeat(74, 50);
        assert_eq!(a.loss_ppm, 0, "74 ms rounds to one interval");
        a.observe_heartbeat(149, 50);
        assert_eq!(a.loss_ppm, 500_000 / 8, "75 ms rounds to two: one of two lost");
        a.observe_heartbeat(299, 50);
        assert_eq!(a.loss_ppm, (7 * 62_500 + 666_666) / 8, "three intervals, two lost");
        assert_eq!(a.loss(), a.loss_ppm as f64 / 1e6);
        let before = a.loss_ppm;
        a.reset_heartbeats();
        a.observe_heartbeat(5_000, 50);
        assert_eq!(a.loss_ppm, before, "no gap across a change of leader");
    }

    /// The lower bound: enough heartbeats that missing all of them has a chance of at most
    /// one in a thousand, one more, and the round trip with four deviations.
    #[test]
    fn the_range_arithmetic() {
        let estimate = |loss_ppm, srtt_us, rttvar_us| AdaptiveTimeout {
            srtt_us,
            rttvar_us,
            loss_ppm,
            last_heartbeat: None,
        };
        // 10 % loss: 1, 0.1, 0.01, 0.001 after three heartbeats; (3 + 1) × 50 ms.
        assert_eq!(estimate(100_000, None, 0).range(&adaptive()), (200, 350));
        // Plus srtt and four deviations, rounded up to whole milliseconds.
        assert_eq!(estimate(100_000, Some(10_000), 2_001).range(&adaptive()), (219, 369));
        // Every heartbeat lost: at most 64 of them are counted.
        let wide = Config { adaptive_timeout_cap_ms: 10_000, ..adaptive() };
        assert_eq!(estimate(1_000_000, None, 0).range(&wide), (65 * 50, 65 * 50 + 150));
    }

    #[test]
    fn draws_cover_the_whole_range_uniformly() {
        let mut rng = StdRng::seed_from_u64(9);
        let mut buckets = [0u32; 5];
        for _ in 0..10_000 {
            let d = draw_timeout(&mut rng, (150, 300));
            assert!((150..=300).contains(&d));
            buckets[((d - 150) * 5 / 151) as usize] += 1;
        }
        for b in buckets {
            assert!((1_800..2_200).contains(&b), "bucket {b} of 10000 draws");
        }
    }
}
