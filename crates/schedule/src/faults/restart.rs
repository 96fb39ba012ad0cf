//! `restart`: start a crashed node again from what its disk holds.

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// Start a crashed node again from its disk (drawn by [`super::Crash`]'s shapes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// The node.
    pub node: NodeRef,
}

impl Fault for Restart {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        c.lost_power[n] = false;
        !std::mem::replace(&mut c.up[n], true)
    }
}
