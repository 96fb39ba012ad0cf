//! # ballot-harness: real ballot nodes on a simulated network
//!
//! [`ClusterBuilder`] starts a [`Cluster`] of production `ballot-node` drivers on turmoil's
//! simulated UDP and disk (unsynced writes are lost on a crash), all in simulated time and
//! seeded. The cluster's fault verbs crash, restart, partition, cut, isolate, pause, drift
//! clocks and change loss and latency; every node's driver reports into a [`History`].

mod cluster;
mod history;
mod recorder;
mod sim_io;

pub use cluster::{Cluster, ClusterBuilder};
pub use history::{Event, EventKind, History, NodeView};
mod schedule;
pub use schedule::*;
mod check;
pub use check::*;
mod nemesis;
mod runner;
pub use runner::{check_context, run, LeaderSpan, Run, Stats, Summary, Verdict};
mod artifact;
mod shrink;
pub use artifact::{write_atomic, Artifact};
pub use shrink::{shrink, shrink_with, size, still_fails, Shrunk};
pub mod bench;
pub mod chaos;
pub mod generate;
pub mod timeline;
