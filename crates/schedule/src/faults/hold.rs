//! `hold`: messages from one node to another wait in the network (not dropped) until
//! `release`: delay and reordering, so that a message of an older term can arrive in a newer
//! one.

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

/// Hold (do not drop) every message from `from` to `to`: they wait in the network. Held
/// messages are delivered by the sender's node when released; a sender that is down then
/// delivers them when it restarts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// Sender side.
    pub from: NodeRef,
    /// Receiver side.
    pub to: NodeRef,
}

impl Fault for Hold {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("from".into(), &mut self.from), ("to".into(), &mut self.to)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        super::distinct(at, self.from, self.to)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let (from, to) = (index(self.from), index(self.to));
        from != to && c.held.insert((from, to))
    }
}
