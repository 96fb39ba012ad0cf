//! `crash`: kill a node; its memory and its unsynced writes are lost.

use super::draw::{length, node_ref};
use super::{index, Conditions, Fault, Op, Restart, Shape};
use crate::schedule::NodeRef;
use proptest::prelude::*;
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

    /// A crash for good, and a crash with a restart (by index: a name may not resolve to the
    /// same node twice).
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![
            node_ref(n).prop_map(|node| vec![(0, Crash { node }.into())]).boxed(),
            (node_ref(n), length())
                .prop_map(|(node, len)| {
                    let mut shape: Shape = vec![(0, Crash { node }.into())];
                    if let NodeRef::Index(_) = node {
                        shape.push((len, Op::from(Restart { node })));
                    }
                    shape
                })
                .boxed(),
        ]
    }
}
