//! Turns schedule steps into faults on the cluster, resolving "leader" and "follower" at the
//! instant the step runs. No randomness here.

use super::World;
use ballot_judge::history::EventKind;
use ballot_schedule::{NodeRef, Step};

/// Resolves a node name at this instant: the leader of the highest term, or the lowest-index
/// running node that is not that leader.
fn resolve(world: &impl World, leader: Option<usize>, node: NodeRef) -> Option<usize> {
    match node {
        NodeRef::Index(i) => Some(i),
        NodeRef::Leader => leader,
        NodeRef::Follower => {
            (0..world.size()).find(|&n| world.conditions().up[n] && Some(n) != leader)
        }
    }
}

/// Applies one step, every name resolved first; a step naming a node that does not exist now
/// is recorded as skipped.
pub(crate) fn apply(world: &mut impl World, step: &Step) {
    let leader = world.leader_now();
    let mut unresolved = false;
    let op = step.op.map_nodes(|r| {
        resolve(world, leader, r).map(NodeRef::Index).unwrap_or_else(|| {
            unresolved = true;
            r
        })
    });
    if unresolved {
        let skipped = Step::at(step.at_ms, op);
        world.record_event(None, EventKind::Fault { step: skipped, skipped: true });
    } else {
        world.apply(op);
    }
}
