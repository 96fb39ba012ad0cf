//! `resume`: let a paused node go on.

use super::{index, Conditions, Fault};
use crate::NodeRef;
use serde::{Deserialize, Serialize};

/// Let a paused node go on (drawn by [`super::Pause`]'s shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// The node.
    pub node: NodeRef,
}

impl Fault for Resume {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        std::mem::replace(&mut c.paused[index(self.node)], false)
    }
}
