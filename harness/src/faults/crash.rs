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

    /// A crash for good; a crash with a restart (by index: a name may not resolve to the same
    /// node twice); crashes timed against elections: a new leader dying within moments of
    /// its win, and a voter crashing mid-election and coming back while the candidates of
    /// that term still ask.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        let leader = NodeRef::Leader;
        vec![
            (150u64..450)
                .prop_map(move |win| {
                    vec![(0, Crash { node: leader }.into()), (win, Crash { node: leader }.into())]
                })
                .boxed(),
            (0..n, 100u64..300, 5u64..200)
                .prop_map(move |(k, mid, back)| {
                    let node = NodeRef::Index(k);
                    vec![
                        (0, Crash { node: leader }.into()),
                        (mid, Crash { node }.into()),
                        (mid + back, Op::from(Restart { node })),
                    ]
                })
                .boxed(),
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
