//! `hold`: messages from one node to another wait in the network (not dropped) until
//! `release`: delay and reordering, so that a message of an older term can arrive in a newer
//! one.

use super::draw::length;
use super::{index, Conditions, Fault, Heal, Op, Release, Shape};
use crate::schedule::{NodeRef, ScheduleError};
use proptest::prelude::*;
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
        super::partition_oneway::distinct(at, self.from, self.to)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let (from, to) = (index(self.from), index(self.to));
        from != to && c.held.insert((from, to))
    }

    /// A link held while an election may happen, then released (its old-term messages
    /// arrive late); and the leader's messages to one node held until a heal.
    fn shapes(n: usize) -> Vec<BoxedStrategy<Shape>> {
        let link = (0..n, 0..n).prop_filter("two nodes", |(a, b)| a != b);
        vec![
            (link, length())
                .prop_map(|((a, b), len)| {
                    let (from, to) = (NodeRef::Index(a), NodeRef::Index(b));
                    vec![(0, Hold { from, to }.into()), (len, Op::from(Release { from, to }))]
                })
                .boxed(),
            (0..n, length())
                .prop_map(|(b, len)| {
                    let hold = Hold { from: NodeRef::Leader, to: NodeRef::Index(b) };
                    vec![(0, hold.into()), (len, Heal {}.into())]
                })
                .boxed(),
        ]
    }
}
