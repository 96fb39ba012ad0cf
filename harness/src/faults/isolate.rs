//! `isolate`: cut one node off from every other node.

use super::draw::length;
use super::{index, Conditions, Fault, Heal, Shape};
use crate::schedule::NodeRef;
use proptest::prelude::*;
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

    /// One node, or whichever node leads then, cut off and healed later.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        let node = prop_oneof![(0..n).prop_map(NodeRef::Index), Just(NodeRef::Leader)];
        vec![(node, length())
            .prop_map(|(node, len)| vec![(0, Isolate { node }.into()), (len, Heal {}.into())])
            .boxed()]
    }
}
