//! Turns schedule steps into fault verbs on the cluster, resolving "leader" and "follower" at
//! the instant the step runs. No randomness here.

use crate::cluster::Cluster;
use crate::history::EventKind;
use crate::schedule::{NodeRef, Op, Step};

/// Resolves a node name at this instant: the leader of the highest term, or the lowest-index
/// running node that is not that leader.
fn resolve(cluster: &Cluster, node: NodeRef) -> Option<usize> {
    let leader = cluster.history().leader_now();
    match node {
        NodeRef::Index(i) => Some(i),
        NodeRef::Leader => leader,
        NodeRef::Follower => {
            (0..cluster.size()).find(|&n| !cluster.is_crashed(n) && Some(n) != leader)
        }
    }
}

fn index(node: NodeRef) -> usize {
    match node {
        NodeRef::Index(i) => i,
        other => unreachable!("{other} resolved before use"),
    }
}

/// Applies one step (every name resolved first) and records it in the history, marked
/// skipped when it cannot apply now.
pub(crate) fn apply(cluster: &mut Cluster, step: &Step) {
    let mut unresolved = false;
    let op = step.op.map_nodes(|r| {
        resolve(cluster, r).map(NodeRef::Index).unwrap_or_else(|| {
            unresolved = true;
            r
        })
    });
    let applied = !unresolved && apply_op(cluster, &op);
    let resolved = Step { at_ms: step.at_ms, op };
    cluster.record_event(None, EventKind::Fault { step: resolved, skipped: !applied });
    let healthy = cluster.is_healthy();
    cluster.record_event(None, EventKind::Health { healthy });
}

/// Carries out a resolved operation; `false` if it does not apply now.
fn apply_op(c: &mut Cluster, op: &Op) -> bool {
    match op {
        Op::Crash { node } if !c.is_crashed(index(*node)) => c.crash(index(*node)),
        Op::Restart { node } if c.is_crashed(index(*node)) => c.restart(index(*node)),
        Op::Partition { groups } => {
            let groups: Vec<Vec<usize>> =
                groups.iter().map(|g| g.iter().copied().map(index).collect()).collect();
            c.partition(&groups);
        }
        Op::PartitionOneway { from, to } if from != to => {
            c.partition_oneway(index(*from), index(*to))
        }
        Op::Cut { a, b } if a != b => c.cut(index(*a), index(*b)),
        Op::Isolate { node } => c.isolate(index(*node)),
        Op::Heal => c.heal(),
        Op::Pause { node } if !c.is_crashed(index(*node)) && !c.is_paused(index(*node)) => {
            c.pause(index(*node))
        }
        Op::Resume { node } if c.is_paused(index(*node)) => c.resume(index(*node)),
        Op::Loss { rate } => c.set_loss(*rate),
        Op::Duplicate { rate } => c.set_duplicate(*rate),
        Op::Latency { ms: [min, max] } => c.set_latency(*min, *max),
        Op::Clock { node, rate } => c.set_clock_rate(index(*node), *rate),
        Op::Propose { node, value } => return c.propose(index(*node), value),
        _ => return false,
    }
    true
}
