//! `power_loss`: a node's machine loses power. The node stops as at a crash, and what its disk
//! had not made durable is at the mercy of its cache: each write, rename or new file not yet
//! synced is lost, kept, or (a write in flight, on a disk with `torn_writes`) kept in part up
//! to a sector boundary, in any combination. A crash loses all of it; a power loss may keep
//! any part, so the order in which a node writes and syncs its files shows.

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// The node's machine loses power (see the module's documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerLoss {
    /// The node.
    pub node: NodeRef,
}

impl Fault for PowerLoss {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        let was_up = std::mem::replace(&mut c.up[n], false);
        if was_up {
            c.lost_power[n] = true;
        }
        was_up
    }
}
