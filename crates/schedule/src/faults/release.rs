//! `release`: deliver what a held link holds, oldest first, then let it flow as usual.

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

/// Deliver the held messages of the link from `from` to `to`, oldest first, then let
/// messages flow as usual (drawn by [`super::Hold`]'s shapes; `heal` releases every link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Sender side.
    pub from: NodeRef,
    /// Receiver side.
    pub to: NodeRef,
}

impl Fault for Release {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("from".into(), &mut self.from), ("to".into(), &mut self.to)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        super::distinct(at, self.from, self.to)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        c.held.remove(&(index(self.from), index(self.to)))
    }
}
