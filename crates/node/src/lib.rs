//! # ballot-node: a Raft election node for applications
//!
//! [`Node`] drives a [`ballot_core::Raft`] over a datagram [`Transport`] (UDP in production)
//! and a durable [`Storage`] (a checksummed state file and an append-only log), and hands
//! applications a [`NodeHandle`]: who leads and in which term (the fencing token), a watch of
//! changes, the leader lease, proposals that report when they commit, and leadership transfer.
//!
//! Guide pages in the repository: `docs/application.md` (using the node in an application),
//! `docs/diagnose.md` (its history, `ballot check` and `ballot diagnose`),
//! `docs/testing-another-raft.md` (running another core through [`ElectionCore`]).
//!
//! Persist before send: every vote, term and entry reaches the disk before any message that
//! announces it leaves. If the disk fails, the node stops rather than risk a vote it could
//! later forget.
//!
//! ```no_run
//! use ballot_node::{FileStorage, Node, NodeConfig, NoObserver, StdFileSystem, TokioClock};
//! use ballot_core::{Config, NodeId};
//! use std::sync::Arc;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let members = [(NodeId(1), "10.0.0.1:7000".parse()?),
//!                (NodeId(2), "10.0.0.2:7000".parse()?),
//!                (NodeId(3), "10.0.0.3:7000".parse()?)].into_iter().collect();
//! let config = NodeConfig { id: NodeId(1), cluster_id: 42, members, core: Config::default(), seed: 1 };
//! let socket = tokio::net::UdpSocket::bind("10.0.0.1:7000").await?;
//! let storage = FileStorage::new(StdFileSystem, "/var/lib/myapp/ballot.state");
//! let (node, handle) = Node::new(config, socket, storage, Arc::new(TokioClock::new()), Arc::new(NoObserver))?;
//! tokio::spawn(node.run());
//!
//! let mut changes = handle.watch();
//! loop {
//!     changes.changed().await?;
//!     if let Some(token) = handle.leader_token() {
//!         println!("leading in term {} (fence writes with it); lease valid: {}", token.term.0, token.lease_valid);
//!     }
//! }
//! # }
//! ```

#![warn(missing_docs)]

mod api;
mod clock;
mod core;
mod driver;
mod events;
mod history;
mod machine;
mod slow_disk;
mod storage;
mod transport;
pub mod wire;

pub use api::{Command, Committed, LeaderToken, Leadership, NodeHandle, NodeStats, RequestError};
pub use clock::{Clock, RateClock, Sleep, TokioClock, MAX_CLOCK_RATE, MIN_CLOCK_RATE};
pub use core::{Batch, ElectionCore, Envelope, MessageKind};
pub use driver::{Node, NodeError};
pub use events::{NoObserver, NodeEvent, Observer};
pub use history::{
    wall_ms, HistoryWriter, WallClock, HISTORY_FORMAT, PEERS_PERIOD_MS, VALUE_SHOWN_BYTES,
};
pub use machine::{Datagram, Finished, Flush, NodeConfig, NodeMachine, Write};
pub use slow_disk::{AddedLatency, DiskDelay, SlowDisk};
pub use storage::{
    complete_now, write_atomic, DirLock, FileStorage, FileSystem, Owner, StdFileSystem, Storage,
    StorageError,
};
pub use transport::{nothing_yet, Transport};
