//! `isolate`: cut one node off from every other node.

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// Cut the node off from every other node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Isolate {
    /// The node.
    pub node: NodeRef,
}

impl Fault for Isolate {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        for other in (0..c.size()).filter(|&o| o != n) {
            c.cut(n, other);
        }
        true
    }
}
