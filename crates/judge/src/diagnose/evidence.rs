//! What a real node's own file shows of a cause, with no fault record: its stalls (timers
//! that fired late), how long its saves took, what it sent to and heard from each member
//! (`peers` summaries), and the terms it campaigned in. Each reader returns the evidence to
//! quote (node, time, numbers), or nothing; a simulated history, which has none of these
//! events, gives nothing here and is diagnosed from its fault record.

use crate::history::{EventKind, PeerTraffic, Views};
use ballot_core::Role;

/// A stall a node recorded: its timers fired `late_ms` late at `t_ms` (it was paused or
/// starved from about `t_ms - late_ms` on).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Stall {
    pub(super) node: usize,
    pub(super) t_ms: f64,
    pub(super) late_ms: f64,
}

/// The longest stall of `node` that overlapped `[from, to]`.
pub(super) fn stall(views: &Views, node: usize, from: f64, to: f64) -> Option<Stall> {
    views
        .history()
        .events()
        .iter()
        .filter(|e| e.node == Some(node))
        .filter_map(|e| match e.kind {
            EventKind::Stall { late_ms } => Some(Stall { node, t_ms: e.t_ms, late_ms }),
            _ => None,
        })
        .filter(|s| s.t_ms >= from && s.t_ms - s.late_ms <= to)
        .max_by(|a, b| a.late_ms.total_cmp(&b.late_ms))
}

/// The slowest save any node recorded within `[from, to]`: (node, when it ended, how long
/// it took), milliseconds.
pub(super) fn slowest_save(views: &Views, from: f64, to: f64) -> Option<(usize, f64, f64)> {
    views
        .history()
        .events()
        .iter()
        .filter(|e| e.t_ms >= from && e.t_ms <= to)
        .filter_map(|e| match e.kind {
            EventKind::Persist { save_ms: Some(ms), .. } => Some((e.node?, e.t_ms, ms)),
            _ => None,
        })
        .max_by(|a, b| a.2.total_cmp(&b.2))
}

/// The `peers` summaries of `node` whose period overlapped `[from, to]`, or came within
/// `slack` periods of it: (end, period, traffic).
fn summaries<'v>(
    views: &'v Views,
    node: usize,
    (from, to): (f64, f64),
    slack: f64,
) -> impl Iterator<Item = (f64, f64, &'v [PeerTraffic])> {
    views.history().events().iter().filter(move |e| e.node == Some(node)).filter_map(move |e| {
        match &e.kind {
            EventKind::Peers { period_ms: p, peers, .. }
                if e.t_ms + slack * p >= from && e.t_ms - p - slack * p <= to =>
            {
                Some((e.t_ms, *p, &peers[..]))
            }
            _ => None,
        }
    })
}

/// Messages lost between the nodes around `[from, to]`, as their summaries count them (the
/// periods that overlap it, and one on each side: loss is a condition of the network, and a
/// short window holds few messages): for each pair that both wrote summaries of those
/// periods, what one sent the other against what the other heard from it. (fraction lost,
/// messages sent), when enough were sent to say.
pub(super) fn loss(views: &Views, from: f64, to: f64) -> Option<(f64, u64)> {
    let n = views.history().size();
    let mut sent = vec![vec![0u64; n]; n];
    let mut heard = vec![vec![0u64; n]; n];
    let mut wrote = vec![false; n];
    for node in 0..n {
        for (_, _, peers) in summaries(views, node, (from, to), 1.0) {
            wrote[node] = true;
            for p in peers.iter().filter(|p| p.node < n) {
                sent[node][p.node] += p.sent;
                heard[p.node][node] += p.heard;
            }
        }
    }
    let (mut total_sent, mut total_heard) = (0, 0);
    for a in (0..n).filter(|&a| wrote[a]) {
        for b in (0..n).filter(|&b| b != a && wrote[b]) {
            total_sent += sent[a][b];
            total_heard += heard[a][b].min(sent[a][b]);
        }
    }
    (total_sent >= MIN_MESSAGES_FOR_LOSS)
        .then(|| (1.0 - total_heard as f64 / total_sent as f64, total_sent))
}

/// Fewer messages than this say nothing of loss (a period's edge moves a few).
const MIN_MESSAGES_FOR_LOSS: u64 = 40;

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
    views
        .history()
        .events()
        .iter()
        .filter(|e| e.node == Some(node))
        .filter_map(|e| match e.kind {
            EventKind::Peers { period_ms: p, clock_rate: Some(r), .. }
                if e.t_ms + p >= from && e.t_ms - 2.0 * p <= to && !(low..=high).contains(&r) =>
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
    views
        .history()
        .events()
        .iter()
        .filter(|e| e.node == Some(node) && e.t_ms <= t_ms)
        .filter_map(|e| match e.kind {
            EventKind::Role { role: Role::Candidate, term: t, .. } if t > term => Some(t),
            _ => None,
        })
        .collect()
}
