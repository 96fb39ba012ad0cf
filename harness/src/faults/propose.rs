//! `propose`: a client write sent to a node. Not a fault of the world but a client action;
//! it applies only to a node that runs and is not paused.

use super::draw::node_ref;
use super::{index, Conditions, Fault, Shape};
use crate::schedule::NodeRef;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// A client write sent to the node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propose {
    /// The node.
    pub node: NodeRef,
    /// What to write.
    pub value: String,
}

impl Fault for Propose {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node)]
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let n = index(self.node);
        c.up[n] && !c.paused[n]
    }

    /// A burst of writes to one node.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![(node_ref(n), 1u64..8, 10u64..120, any::<u16>())
            .prop_map(|(node, count, gap, tag)| {
                (0..count)
                    .map(|i| (i * gap, Propose { node, value: format!("v{tag}-{i}") }.into()))
                    .collect()
            })
            .boxed()]
    }
}
