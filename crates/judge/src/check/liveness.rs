//! Liveness: in the liveness phase, a majority elects a leader in time and keeps it.

use super::{violation, Violation};
use crate::history::Views;

/// SPEC.md liveness: in the liveness phase, one of the running nodes leads by the deadline
/// (`liveness_ms` after the phase began) and keeps leading to the end, and from the deadline
/// on no other running node still believes it leads (a stale leader has stepped down).
pub(crate) fn liveness(v: &Views) -> Vec<Violation> {
    let Some(phase) = judged_phase(v) else { return Vec::new() };
    let (deadline, end) = (phase.deadline_ms, v.end_ms());
    // If two lead throughout, the one of the higher term is the leader; the other is stale.
    let leader = v.phase_leader(&phase).map(|s| s.node);
    let Some(leader) = leader else {
        let message = format!(
            "no node of {:?} led from {deadline:.0} ms ({:.0} ms into the liveness phase) to the end at {end:.0} ms",
            phase.nodes,
            deadline - phase.from_ms
        );
        return vec![violation("liveness", deadline, phase.nodes, message)];
    };
    let rival = phase
        .nodes
        .iter()
        .copied()
        .find(|&n| n != leader && v.leadership_of(n).any(|s| s.to_ms > deadline));
    rival
        .map(|r| {
            violation(
                "liveness",
                deadline,
                vec![leader, r],
                format!("node {r} still believes it leads after {deadline:.0} ms, beside leader {leader}"),
            )
        })
        .into_iter()
        .collect()
}

/// The liveness phase, if the run has one in which elections can converge (see
/// [`ballot_schedule::faults::Timing::elections_converge`]: a configuration whose timeout range is
/// narrower than a vote round trip, without a split-vote backoff, may split every vote) and
/// whose nodes are a majority (nodes whose damaged disks they refused to start on are not).
fn judged_phase(v: &Views) -> Option<crate::history::LivenessPhase> {
    let phase = v.liveness_phase()?;
    let latency = v.conditions_at(phase.from_ms).latency_ms[1];
    let majority = phase.nodes.len() > v.history().size() / 2;
    (majority && v.setup().timing.elections_converge(latency)).then_some(phase)
}

/// Simulated milliseconds of the judged liveness phase (0 when the run had none).
pub(crate) fn judged_ms(v: &Views) -> f64 {
    judged_phase(v).map_or(0.0, |p| v.end_ms() - p.from_ms)
}
