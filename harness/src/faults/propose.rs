//! `propose`: a client write sent to a node. Not a fault of the world but a client action;
//! it applies only to a node that runs and is not paused.

use super::draw::node_ref;
use super::{index, Conditions, Fault, Heal, Isolate, Shape};
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

    /// A burst of writes to one node; and a long log: a follower cut off while the leader
    /// takes more writes than one AppendEntries carries, then healed, so that it must catch
    /// up over several rounds.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![
            (node_ref(n), 1u64..8, 10u64..120, any::<u16>())
                .prop_map(|(node, count, gap, tag)| {
                    (0..count)
                        .map(|i| (i * gap, Propose { node, value: format!("v{tag}-{i}") }.into()))
                        .collect()
                })
                .boxed(),
            (0..n, 70u64..200, any::<u16>())
                .prop_map(|(k, count, tag)| {
                    let mut shape: Shape = vec![(0, Isolate { node: NodeRef::Index(k) }.into())];
                    shape.extend((0..count).map(|i| {
                        let value = format!("l{tag}-{i}");
                        (10 + 2 * i, Propose { node: NodeRef::Leader, value }.into())
                    }));
                    shape.push((20 + 2 * count, Heal {}.into()));
                    shape
                })
                .boxed(),
        ]
    }
}
