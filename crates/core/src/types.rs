//! Identifiers and small value types shared by every module.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of one cluster member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A Raft term: a logical clock that only rises, and the fencing token handed to applications.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Term(pub u64);

impl Term {
    /// The term after this one.
    pub fn next(self) -> Term {
        Term(self.0 + 1)
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// A position in the replicated log; the first entry has index 1, and 0 means "before the log".
pub type LogIndex = u64;

/// A node's local monotonic time in milliseconds, as handed in by the driver.
pub type Millis = u64;

/// The role a node plays in the election protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Follows a leader (or waits for one) and grants votes.
    Follower,
    /// Asks, without changing its term, whether it could win an election (pre-vote).
    PreCandidate,
    /// Has raised its term, voted for itself and asks for votes.
    Candidate,
    /// Won an election: replicates the log and sends heartbeats.
    Leader,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre_candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_short_and_stable() {
        assert_eq!(NodeId(3).to_string(), "n3");
        assert_eq!(Term(7).to_string(), "t7");
        let roles = [Role::Follower, Role::PreCandidate, Role::Candidate, Role::Leader];
        let shown: Vec<String> = roles.iter().map(Role::to_string).collect();
        assert_eq!(shown, ["follower", "pre_candidate", "candidate", "leader"]);
    }
}
