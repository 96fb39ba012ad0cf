//! openraft 0.9's async nodes behind ballot's node API: a node of openraft, on any datagram
//! transport and any file system ballot's node uses, reporting the same events as ballot's
//! node, served through the same [`ballot_node::NodeHandle`]. The `openraft-0.9.24` and
//! `openraft-0.9.25` fixtures run it on turmoil's hosts, under the same schedules, faults
//! and checkers as ballot's own core (docs/testing-another-raft.md).
//!
//! Start with [`run`]; [`TypeConfig`] is what openraft is instantiated with.

mod network;
mod node;
mod runtime;
mod store;

pub use node::{run, NodeParts};
pub use runtime::SeededRuntime;

use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// A client write: the bytes a schedule's `propose` step carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value(pub Vec<u8>);

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

openraft::declare_raft_types!(
    /// openraft as ballot runs it: byte values, nodes by ballot's ids, seeded randomness.
    pub TypeConfig:
        D = Value,
        R = (),
        NodeId = u64,
        Node = openraft::EmptyNode,
        AsyncRuntime = SeededRuntime,
);
