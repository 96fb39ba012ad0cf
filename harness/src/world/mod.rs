//! The simulated world: real ballot nodes on turmoil's network and disk, the fault verbs
//! that act on them, and the nemesis that turns schedule steps into those verbs.

mod cluster;
mod local_clock;
pub(crate) mod nemesis;
mod recorder;
mod sim_io;

pub use cluster::{serve, Cluster, ClusterBuilder, Host};
