//! `partition_oneway`: drop every message from one node to another (an asymmetric link).

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
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

impl Fault for PartitionOneway {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("from".into(), &mut self.from), ("to".into(), &mut self.to)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        super::distinct(at, self.from, self.to)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let (from, to) = (index(self.from), index(self.to));
        if from == to {
            return false;
        }
        c.blocked.insert((from, to));
        true
    }
}
