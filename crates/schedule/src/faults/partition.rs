//! `partition`: only nodes in the same group can talk; nodes in no group are isolated. Also
//! the shapes built on it: majority/minority splits and divergent logs.

use super::{index, Conditions, Fault};
use crate::{NodeRef, ScheduleError};
use serde::{Deserialize, Serialize};

/// Only nodes in the same group can talk; nodes in no group are isolated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Disjoint groups of nodes.
    pub groups: Vec<Vec<NodeRef>>,
}

impl Fault for Partition {
    fn nodes_mut(&mut self) -> Vec<(String, &mut NodeRef)> {
        let mut out = Vec::new();
        for (g, group) in self.groups.iter_mut().enumerate() {
            for (i, node) in group.iter_mut().enumerate() {
                out.push((format!("groups[{g}][{i}]"), node));
            }
        }
        out
    }

    fn validate(&self, at: &str) -> Result<(), ScheduleError> {
        let mut seen = Vec::new();
        for node in self.groups.iter().flatten() {
            if seen.contains(node) {
                return Err(ScheduleError::new(
                    format!("{at}.groups"),
                    format!("node {node} is in two groups"),
                ));
            }
            seen.push(*node);
        }
        Ok(())
    }

    fn apply(&self, c: &mut Conditions) -> bool {
        let groups: Vec<Vec<usize>> =
            self.groups.iter().map(|g| g.iter().copied().map(index).collect()).collect();
        // Names resolved to one node twice ("leader" and its index): a partition that cannot be.
        let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
        all.sort_unstable();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return false;
        }
        c.blocked.clear();
        let group_of = |n: usize| groups.iter().position(|g| g.contains(&n));
        for a in 0..c.size() {
            for b in a + 1..c.size() {
                if group_of(a).is_none() || group_of(a) != group_of(b) {
                    c.cut(a, b);
                }
            }
        }
        true
    }

    /// Fewer groups (the last one dropped: its nodes become isolated).
    fn simpler(&self) -> Vec<Partition> {
        match self.groups.len() {
            0 | 1 => Vec::new(),
            k => vec![Partition { groups: self.groups[..k - 1].to_vec() }],
        }
    }

    /// The partition with `gone` left out of its group.
    fn without_node(&self, gone: NodeRef) -> Option<Partition> {
        let groups = self.groups.iter().map(|g| g.iter().copied().filter(|&r| r != gone).collect());
        Some(Partition { groups: groups.collect() })
    }
}
