//! `transfer`: an application asks a node (normally the leader) to hand leadership to `to`
//! (thesis §3.10). A client action, like `propose`: it applies to a node that runs and is
//! not paused; a node that does not lead refuses it, as the core says.

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

/// Asks `node` to hand leadership to `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The node asked (the leader, to have an effect).
    pub node: NodeRef,
    /// The node that should lead next.
    pub to: NodeRef,
}

impl Fault for Transfer {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("node".into(), &mut self.node), ("to".into(), &mut self.to)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        if self.node == self.to && matches!(self.node, NodeRef::Index(_)) {
            let problem = format!("node {} cannot hand leadership to itself", self.node);
            return Err(ScheduleError::new(at, problem));
        }
        Ok(())
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let (n, to) = (index(self.node), index(self.to));
        n != to && c.up[n] && !c.paused[n]
    }
}
