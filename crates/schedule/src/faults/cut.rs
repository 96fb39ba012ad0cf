//! `cut`: drop messages both ways between two nodes only (a non-transitive partition). Also
//! the shapes built from cuts: a ring of overlapping majorities, a bridge, a flapping link.

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

/// Drop messages both ways between `a` and `b` only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cut {
    /// One end.
    pub a: NodeRef,
    /// The other end.
    pub b: NodeRef,
}

impl Fault for Cut {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        vec![("a".into(), &mut self.a), ("b".into(), &mut self.b)]
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        super::distinct(at, self.a, self.b)
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let (a, b) = (index(self.a), index(self.b));
        a != b && {
            c.cut(a, b);
            true
        }
    }
}
