//! # ballot-core: a deterministic, sans-IO Raft leader-election core
//!
//! [`Raft`] is one node's state machine: roles Follower, PreCandidate, Candidate and Leader;
//! randomized election timeouts; RequestVote with the log up-to-date rule; a small replicated
//! log with heartbeats and commitment; pre-vote, check-quorum, a leader lease, leadership
//! transfer, a split-vote backoff (rival candidates retry a split vote in an order they agree
//! on, soon, instead of a whole election timeout later), staggered election timeouts (the
//! followers of a leader time out in turns, each within its own slice of the range) and an
//! optional adaptive election timeout. It touches no network, no disk and no clock: time
//! arrives as milliseconds in every input, randomness from a seed.
//!
//! Guide pages in the repository: `docs/core.md` (driving the core under your own I/O, and
//! what it does), `docs/application.md` (the node that drives it for applications),
//! `docs/properties.md` (what the harness checks of it).
//!
//! ## Driving it
//!
//! A driver owns the network and the disk and loops:
//!
//! 1. Feed inputs: [`Raft::tick`] when [`Raft::next_deadline`] has passed, [`Raft::step`]
//!    for every message received, and application requests: [`Raft::propose`],
//!    [`Raft::transfer_leadership`] and [`Raft::abort_transfer`], [`Raft::campaign`],
//!    [`Raft::set_config`] (pre-vote or check-quorum switched on a live node).
//! 2. Take a [`Ready`] from [`Raft::ready`].
//! 3. Persist [`Ready::hard_state`] and [`Ready::log_write`] durably (fsync).
//! 4. Send [`Ready::messages`] (these could have gone before step 3) and
//!    [`Ready::persisted_messages`] (these must not: a vote or term announced before it is
//!    durable can be forgotten in a crash, and a node that forgets its vote can elect two
//!    leaders in one term).
//! 5. Apply [`Ready::committed`], publish [`Ready::soft_state`], then call [`Raft::advance`].
//!
//! After a crash, rebuild the node with [`Raft::new`] from the [`PersistedState`] on disk,
//! and hand back the index the application has applied ([`RaftOptions::applied`]) so that
//! those entries are not delivered again.
//!
//! [`Raft::advance`] takes no argument on purpose: the driver moves the parts of a `Ready` to
//! different places (the disk, the network, the application), and the core hands out no
//! second `Ready` until `advance`, so there is exactly one batch it can acknowledge.
//!
//! [`Raft::status`] reports everything the node knows in one value: role, term, leader, vote,
//! commit and applied index, each follower's progress, the vote tally, lease expiry, transfer
//! target and election deadline.
//!
//! ## Testing code that uses it
//!
//! With the `testnet` feature, [`testnet::TestNet`] runs whole clusters on a seeded
//! in-memory network (delays, loss, duplicates, isolation, crashes and restarts) and checks
//! election safety, durability before announcement and leader completeness as it goes.
//!
//! ```
//! use ballot_core::{Config, NodeId, PersistedState, Raft, RaftOptions, Role};
//!
//! let mut node = Raft::new(RaftOptions {
//!     id: NodeId(1),
//!     members: vec![NodeId(1)],
//!     config: Config::default(),
//!     persisted: PersistedState::default(),
//!     seed: 7,
//!     now_ms: 0,
//!     applied: 0,
//! })
//! .expect("valid configuration");
//! let mut disk = PersistedState::default();
//! let mut now = 0;
//! while node.role() != Role::Leader {
//!     now = node.next_deadline();
//!     node.tick(now);
//!     while let Some(ready) = node.ready() {
//!         if let Some(hs) = ready.hard_state {
//!             disk.hard_state = hs; // a real driver writes and fsyncs here
//!         }
//!         assert!(ready.messages.is_empty() && ready.persisted_messages.is_empty());
//!         node.advance();
//!     }
//! }
//! assert!(now >= 150 && now <= 300, "a lone node elects itself after one election timeout");
//! assert_eq!(disk.hard_state.voted_for, Some(NodeId(1)));
//! ```

#![warn(missing_docs)]

mod config;
mod election;
mod error;
mod leader;
pub mod limits;
mod log;
mod mark;
mod message;
mod progress;
mod raft;
mod ready;
mod replication;
mod status;
mod timeout;
mod types;

#[cfg(any(test, feature = "testnet"))]
pub mod testnet;
#[cfg(test)]
mod tests;

pub use config::{Config, ConfigError};
pub use error::{InitError, ProposeError, StepError, TransferError};
pub use log::{Entry, LogWrite, Payload, ENTRY_OVERHEAD_BYTES};
pub use mark::Mark;
pub use message::{Body, Message};
pub use raft::{Raft, RaftOptions};
pub use ready::{HardState, PersistedState, Ready, SoftState};
pub use status::{FollowerProgress, Status};
pub use types::{LogIndex, Millis, NodeId, Role, Term};
