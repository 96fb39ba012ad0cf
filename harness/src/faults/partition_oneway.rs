//! `partition_oneway`: drop every message from one node to another (an asymmetric link).

use super::draw::length;
use super::{index, Conditions, Fault, Heal, Shape};
use crate::schedule::{NodeRef, ScheduleError};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// Drop every message from `from` to `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionOneway {
    /// Sender side.
    pub from: NodeRef,
    /// Receiver side.
    pub to: NodeRef,
}

/// A link needs two different nodes (checked when both are written as indexes).
pub(crate) fn distinct(at: &str, a: NodeRef, b: NodeRef) -> Result<(), ScheduleError> {
    if a == b && matches!(a, NodeRef::Index(_)) {
        return Err(ScheduleError::new(
            at,
            format!("a link needs two different nodes, got {a} twice"),
        ));
    }
    Ok(())
}

impl Fault for PartitionOneway {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("from".into(), &mut self.from), ("to".into(), &mut self.to)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        distinct(at, self.from, self.to)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let (from, to) = (index(self.from), index(self.to));
        if from == to {
            return false;
        }
        c.blocked.insert((from, to));
        true
    }

    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        vec![(0..n, 0..n, length())
            .prop_map(|(a, b, len)| {
                if a == b {
                    return Vec::new();
                }
                let link = PartitionOneway { from: NodeRef::Index(a), to: NodeRef::Index(b) };
                vec![(0, link.into()), (len, Heal {}.into())]
            })
            .boxed()]
    }
}
