//! `crash`: kill a node; its memory and its unsynced writes are lost.

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// Kill the node; unsynced writes to its disk are lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    /// The node.
    pub node: NodeRef,
}

impl Fault for Crash {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        std::mem::replace(&mut c.up[n], false)
    }
}
