//! Replication: in the liveness phase every running node catches up with what the leader
//! committed, in the time its lag, the batches that lag takes and the round trip allow. A
//! follower that never catches up (a batch that can never be sent, a leader that never finds
//! where its log matches) is a liveness failure even while elections succeed.

use super::{violation, Violation};
use crate::history::{DurableLogs, EventKind, LeaderSpan, LivenessPhase, Views};
use std::collections::BTreeMap;

/// The bound on one node's catch-up, and what it is made of.
#[derive(Clone, Debug, PartialEq)]
struct CatchUp {
    node: usize,
    /// When it could start: the phase's leader leads and the node runs, simulated ms.
    from_ms: f64,
    /// Entries in its durable log that match the leader's, then.
    matching: u64,
    /// Entries after those that do not (a divergent suffix the leader must walk back).
    divergent: u64,
    /// AppendEntries the missing entries take, cut as the cores cut them.
    batches: u64,
    /// The allowance, milliseconds.
    bound_ms: f64,
}

/// What the property judges in a run: the phase's leader, its commit index, its durable
/// log, and each other running node's catch-up allowance.
struct Plan<'v> {
    leader: &'v LeaderSpan,
    commit: u64,
    leader_log: Vec<u64>,
    catch_ups: Vec<CatchUp>,
}

/// The longest a message and its answer take in the liveness phase, milliseconds, at the
/// network's highest baseline latency (see [`ballot_schedule::faults::Timing::round_trip_ms`]).
fn round_trip_ms(v: &Views) -> f64 {
    let setup = v.setup();
    setup.timing.round_trip_ms(setup.network.latency_ms[1]) as f64
}

/// The AppendEntries that entries of these sizes (bytes of payload) take: cut by count and
/// by half the byte budget (what the raft-rs adapter gives raft-rs; ballot's core uses the
/// whole budget, so it needs no more), at least one entry each.
fn batches(sizes: &[usize], max_count: usize, max_bytes: usize) -> u64 {
    let budget = (max_bytes / 2).max(1);
    let (mut batches, mut count, mut bytes) = (0, 0, 0);
    for &size in sizes {
        let size = size + ballot_core::ENTRY_OVERHEAD_BYTES;
        if count == 0 || count == max_count || bytes + size > budget {
            batches += 1;
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    batches
}

/// The allowance for a node whose durable log, when it could start catching up, matched
/// the leader's for `matching` entries and then diverged for `divergent` more, to reach
/// `commit`: a heartbeat interval (twice, for a leader that only probes a node at its
/// heartbeats) before the first AppendEntries, a round trip per entry of the divergent
/// suffix walked back and one to find the end of a shorter log, a round trip per batch, and
/// one more round trip of slack.
fn allowance(v: &Views, divergent: u64, batches: u64) -> f64 {
    let heartbeat = v.setup().timing.heartbeat_ms as f64;
    2.0 * heartbeat + round_trip_ms(v) * (divergent + batches + 2) as f64
}

fn plan<'v>(v: &'v Views, phase: &LivenessPhase) -> Option<Plan<'v>> {
    let leader = v.phase_leader(phase)?;
    let events = v.history().events();
    let commit = events
        .iter()
        .filter(|e| e.node == Some(leader.node))
        .filter_map(|e| match e.kind {
            EventKind::Commit { index, .. } => Some(index),
            _ => None,
        })
        .max()?;
    let mut last_start: BTreeMap<usize, f64> = BTreeMap::new();
    // Each proposal's size by (index, term): leaders of different terms propose at the same
    // indexes, and only the entries of the leader's log count.
    let mut sizes: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for e in events {
        let Some(n) = e.node else { continue };
        match &e.kind {
            EventKind::Start { .. } => {
                last_start.insert(n, e.t_ms);
            }
            EventKind::Propose { index, term, value, bytes } => {
                let size = bytes.map_or(value.len(), |b| b as usize);
                sizes.insert((*index, *term), size);
            }
            _ => {}
        }
    }
    let starts: Vec<(usize, f64)> = phase
        .nodes
        .iter()
        .filter(|&&n| n != leader.node)
        .map(|&n| {
            let from =
                leader.from_ms.max(phase.from_ms).max(last_start.get(&n).copied().unwrap_or(0.0));
            (n, from)
        })
        .collect();
    // Each node's durable log at the moment it could start catching up, and every durable
    // log at the end (the leader's is what the others must reach).
    let mut replay = DurableLogs::default();
    let mut at_start: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for e in events {
        for &(n, from) in &starts {
            if e.t_ms > from && !at_start.contains_key(&n) {
                at_start.insert(n, replay.get(n).to_vec());
            }
        }
        if let Some(n) = e.node {
            replay.apply(n, &e.kind);
        }
    }
    let leader_log = replay.get(leader.node).to_vec();
    let (max_count, max_bytes) =
        (v.setup().timing.max_entries_per_message, v.setup().timing.max_bytes_per_message);
    let catch_ups = starts
        .into_iter()
        .map(|(node, from_ms)| {
            let log = at_start.remove(&node).unwrap_or_else(|| replay.get(node).to_vec());
            let matching = log.iter().zip(&leader_log).take_while(|(a, b)| a == b).count() as u64;
            let divergent = log.len() as u64 - matching;
            let missing: Vec<usize> = (matching + 1..=commit.max(matching))
                .map(|i| {
                    let term = leader_log.get(i as usize - 1).copied().unwrap_or(0);
                    sizes.get(&(i, term)).copied().unwrap_or(0)
                })
                .collect();
            let batches = batches(&missing, max_count, max_bytes);
            let bound_ms = allowance(v, divergent, batches);
            CatchUp { node, from_ms, matching, divergent, batches, bound_ms }
        })
        .collect();
    Some(Plan { leader, commit, leader_log, catch_ups })
}

/// In the liveness phase, every running node's durable log holds the entries the phase's
/// leader committed (as the leader's own durable log has them) within the allowance that
/// its lag gives it, counted from when it could start (the leader leads and it runs).
/// Nodes whose allowance runs past the end of the run are not judged.
pub(crate) fn replication(v: &Views) -> Vec<Violation> {
    let Some(phase) = v.liveness_phase() else { return Vec::new() };
    let Some(plan) = plan(v, &phase) else { return Vec::new() };
    let Some(target) = plan.leader_log.get(..plan.commit as usize) else {
        return Vec::new(); // the leader's own durable log lacks what it committed: not ours to judge
    };
    let mut logs = DurableLogs::default();
    let mut reached: BTreeMap<usize, f64> = BTreeMap::new();
    for e in v.history().events() {
        let Some(n) = e.node else { continue };
        if let Some(log) = logs.apply(n, &e.kind) {
            if log.len() >= target.len() && log[..target.len()] == *target {
                reached.entry(n).or_insert(e.t_ms);
            } else {
                reached.remove(&n);
            }
        }
    }
    let mut out = Vec::new();
    for c in &plan.catch_ups {
        let deadline = c.from_ms + c.bound_ms;
        if deadline > v.end_ms() {
            continue;
        }
        if reached.get(&c.node).is_some_and(|&t| t <= deadline) {
            continue;
        }
        let held = logs.get(c.node).iter().zip(target).take_while(|(a, b)| a == b).count();
        out.push(violation(
            "replication",
            deadline,
            vec![c.node, plan.leader.node],
            format!(
                "node {} held {held} of the {} entries leader {} committed, {:.0} ms after it \
                 could start catching up at {:.0} ms (allowed {:.0} ms: {} missing in {} \
                 batches, {} divergent, {:.0} ms round trip)",
                c.node,
                plan.commit,
                plan.leader.node,
                v.end_ms() - c.from_ms,
                c.from_ms,
                c.bound_ms,
                plan.commit.saturating_sub(c.matching),
                c.batches,
                c.divergent,
                round_trip_ms(v),
            ),
        ));
    }
    out
}

/// When the last catch-up allowance of the liveness phase ends, simulated ms: the runner
/// lets a run go on until then, so that a long catch-up is judged rather than cut off.
pub fn last_deadline_ms(v: &Views) -> Option<f64> {
    let plan = plan(v, &v.liveness_phase()?)?;
    plan.catch_ups.iter().map(|c| c.from_ms + c.bound_ms).reduce(f64::max)
}

/// Simulated milliseconds of the liveness phase, when at least one node's catch-up could be
/// judged in it (0 otherwise).
pub(crate) fn judged_ms(v: &Views) -> f64 {
    let Some(phase) = v.liveness_phase() else { return 0.0 };
    let judged = plan(v, &phase)
        .is_some_and(|p| p.catch_ups.iter().any(|c| c.from_ms + c.bound_ms <= v.end_ms()));
    if judged {
        v.end_ms() - phase.from_ms
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_are_cut_by_count_and_by_half_the_budget() {
        let o = ballot_core::ENTRY_OVERHEAD_BYTES;
        assert_eq!(batches(&[], 64, 48 * 1024), 0);
        assert_eq!(batches(&[0; 64], 64, 48 * 1024), 1);
        assert_eq!(batches(&[0; 65], 64, 48 * 1024), 2);
        assert_eq!(batches(&[1024 - o; 100], 64, 48 * 1024), 5, "24 of 1 KB a batch");
        assert_eq!(batches(&[70_000, 0], 64, 48 * 1024), 2, "an entry alone over it");
    }
}
