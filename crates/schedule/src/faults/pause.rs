//! `pause`: freeze a node (no timers, no message handling; messages to it queue).

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// Freeze the node: no timers, no message handling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// The node.
    pub node: NodeRef,
}

impl Fault for Pause {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        c.up[n] && !std::mem::replace(&mut c.paused[n], true)
    }
}
