//! What a real node's own file shows of a cause, with no fault record: its stalls (timers
//! that fired late), how long its saves took, what it sent to and heard from each member
//! (`peers` summaries), and the terms it campaigned in. Each reader returns the evidence to
//! quote (node, time, numbers), or nothing; a simulated history, which has none of these
//! events, gives nothing here and is diagnosed from its fault record.

use crate::history::{Event, EventKind, PeerTraffic, Views};
use ballot_core::Role;

/// The events of `node`, in order.
fn events_of<'v>(views: &'v Views, node: usize) -> impl Iterator<Item = &'v Event> {
    views.history().events().iter().filter(move |e| e.node == Some(node))
}

/// A stall a node recorded: its timers fired `late_ms` late at `t_ms` (it was paused or
/// starved from about `t_ms - late_ms` on).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Stall {
    pub(super) t_ms: f64,
    pub(super) late_ms: f64,
}

/// The longest stall of `node` that overlapped `[from, to]`.
pub(super) fn stall(views: &Views, node: usize, from: f64, to: f64) -> Option<Stall> {
    events_of(views, node)
        .filter_map(|e| match e.kind {
            EventKind::Stall { late_ms } => Some(Stall { t_ms: e.t_ms, late_ms }),
            _ => None,
        })
        .filter(|s| s.t_ms >= from && s.t_ms - s.late_ms <= to)
        .max_by(|a, b| a.late_ms.total_cmp(&b.late_ms))
}

/// The saves the nodes recorded within `[from, to]`: the slowest (node, when it ended, how
/// long it took) and the median of them all, milliseconds.
pub(super) fn saves(views: &Views, from: f64, to: f64) -> Option<((usize, f64, f64), f64)> {
    let mut saves: Vec<(usize, f64, f64)> = views
        .history()
        .events()
        .iter()
        .filter(|e| e.t_ms >= from && e.t_ms <= to)
        .filter_map(|e| match e.kind {
            EventKind::Persist { save_ms: Some(ms), .. } => Some((e.node?, e.t_ms, ms)),
            _ => None,
        })
        .collect();
    saves.sort_by(|a, b| a.2.total_cmp(&b.2));
    Some((*saves.last()?, saves[saves.len() / 2].2))
}

/// The `peers` summaries of `node` whose period overlapped `[from, to]`, or came within
/// `slack` periods of it: (end, period, traffic).
fn summaries<'v>(
    views: &'v Views,
    node: usize,
    (from, to): (f64, f64),
    slack: f64,
) -> impl Iterator<Item = (f64, f64, &'v [PeerTraffic])> {
    events_of(views, node).filter_map(move |e| match &e.kind {
        EventKind::Peers { period_ms: p, peers, .. }
            if e.t_ms + slack * p >= from && e.t_ms - p - slack * p <= to =>
        {
            Some((e.t_ms, *p, &peers[..]))
        }
        _ => None,
    })
}

/// Messages lost around `[from, to]`, as the leaders' summaries count them (the periods that
/// overlap it, and two on each side: loss is a condition of the network, and a short window
/// holds few messages). A leader's summary says, for one period, how many messages it sent
/// each member (heartbeats and entries, each answered) and how many it heard back: the share
/// heard back is the round trip's, `(1 - loss)` squared. A member that went silent (nothing
/// heard in the period, none for half of it at its end, or none for an election timeout) was
/// cut off, paused or dead, not lossy, and is left out. Loss is then the median over the
/// summaries, so that one period a member died in does not pass for it. (fraction lost one
/// way, messages sent), when enough were sent to say.
pub(super) fn loss(views: &Views, from: f64, to: f64) -> Option<(f64, u64)> {
    let cut_ms = views.setup().timing.election_timeout_max_ms as f64;
    // Whether `node` led at some time in the period that ended at `end`.
    let led = |node: usize, end: f64, period: f64| {
        views.leadership_of(node).any(|s| s.from_ms <= end && end - period <= s.to_ms)
    };
    let mut per_summary = Vec::new();
    let mut total = 0;
    for node in 0..views.history().size() {
        // A leader's, whose messages ask for an answer each; a follower answers what it
        // hears, so its own counts match whatever the loss.
        let led_then =
            summaries(views, node, (from, to), 2.0).filter(|(end, p, _)| led(node, *end, *p));
        for (_, period, peers) in led_then {
            let (mut sent, mut heard) = (0, 0);
            let alive = |p: &&PeerTraffic| {
                p.heard > 0
                    && p.longest_silence_ms < cut_ms
                    && p.last_heard_ms.is_some_and(|ms| ms < period / 2.0)
            };
            for p in peers.iter().filter(alive) {
                sent += p.sent;
                heard += p.heard.min(p.sent);
            }
            if sent >= MIN_MESSAGES_A_SUMMARY {
                per_summary.push(1.0 - (heard as f64 / sent as f64).sqrt());
                total += sent;
            }
        }
    }
    per_summary.sort_by(f64::total_cmp);
    let median = per_summary.get(per_summary.len() / 2).copied()?;
    (total >= MIN_MESSAGES_FOR_LOSS).then_some((median, total))
}

/// The round trip the nodes measured around `[from, to]` (their summaries over it and two
/// periods on each side): the median of the members' median round trips, milliseconds, and
/// how many went into it. Every node's summaries count, a follower's too: a follower that
/// campaigned sent AppendEntries when it led.
pub(super) fn round_trip(views: &Views, from: f64, to: f64) -> Option<(f64, usize)> {
    let mut medians: Vec<f64> = (0..views.history().size())
        .flat_map(|node| summaries(views, node, (from, to), 2.0))
        .flat_map(|(_, _, peers)| peers.iter().filter_map(|p| p.round_trip_ms))
        .map(|rtt| rtt.median)
        .collect();
    medians.sort_by(f64::total_cmp);
    medians.get(medians.len() / 2).map(|m| (*m, medians.len()))
}

/// Fewer messages than this say nothing of loss (a period's edge moves a few).
const MIN_MESSAGES_FOR_LOSS: u64 = 20;

/// A summary of fewer messages sent says nothing of loss on its own.
const MIN_MESSAGES_A_SUMMARY: u64 = 5;

/// Loss below this is a period's edge, not the network.
pub(super) const LOSS_WORTH_NAMING: f64 = 0.1;

/// The longest `node` heard from no majority of the cluster (itself and the members it
/// heard from), within `[from, to]`, by its summaries: how long, and the summary's end.
pub(super) fn cut_off_from_majority(
    views: &Views,
    node: usize,
    from: f64,
    to: f64,
) -> Option<(f64, f64)> {
    let quorum = views.history().size() / 2 + 1;
    summaries(views, node, (from, to), 0.0)
        .filter_map(|(end, period, peers)| {
            // Members silent for the whole period: it heard nothing from them in it.
            let heard = peers.iter().filter(|p| p.longest_silence_ms < period).count();
            (heard + 1 < quorum).then_some((period, end))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The rate `node`'s clock ran at against the wall clock around `[from, to]`, by its
/// summaries, when it was outside `[low, high]`: the one farthest out, and the summary's end.
pub(super) fn clock_rate(
    views: &Views,
    node: usize,
    (from, to): (f64, f64),
    (low, high): (f64, f64),
) -> Option<(f64, f64)> {
    events_of(views, node)
        .filter_map(|e| match e.kind {
            // The period is on the node's clock: at rate `r` it lasted `p / r` of real time.
            // A summary up to two periods after the window still tells of its clock then.
            EventKind::Peers { period_ms: p, clock_rate: Some(r), .. }
                if e.t_ms + p / r >= from
                    && e.t_ms - 3.0 * p / r <= to
                    && !(low..=high).contains(&r) =>
            {
                Some((r, e.t_ms))
            }
            _ => None,
        })
        .max_by(|a, b| (a.0 - 1.0).abs().total_cmp(&(b.0 - 1.0).abs()))
}

/// The terms above `term` that `node` campaigned in (became a candidate) before `t_ms`, in
/// order: a node that campaigns again and again hears no leader.
pub(super) fn campaigns(views: &Views, node: usize, term: u64, t_ms: f64) -> Vec<u64> {
    events_of(views, node)
        .filter(|e| e.t_ms <= t_ms)
        .filter_map(|e| match e.kind {
            EventKind::Role { role: Role::Candidate, term: t, .. } if t > term => Some(t),
            _ => None,
        })
        .collect()
}
