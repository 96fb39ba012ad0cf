//! `pause`: freeze a node (no timers, no message handling; messages to it queue).

use super::draw::{length, node_ref};
use super::{index, Conditions, Fault, Heal, Op, Resume, Shape};
use crate::schedule::NodeRef;
use proptest::prelude::*;
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

    /// A pause and its end (a resume by index; a heal when the node was named by role).
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![(node_ref(n), length())
            .prop_map(|(node, len)| {
                let end = match node {
                    NodeRef::Index(_) => Op::from(Resume { node }),
                    _ => Op::from(Heal {}),
                };
                vec![(0, Pause { node }.into()), (len, end)]
            })
            .boxed()]
    }
}
