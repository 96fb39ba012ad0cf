//! # ballot-worlds: where schedules run
//!
//! A schedule (`ballot-schedule`) runs in a world: real ballot nodes on turmoil's simulated
//! network and disk ([`Cluster`], full fidelity), the same cores and driver contract on an
//! event queue ([`world::EventCluster`], breadth), or real node processes behind a fault
//! proxy ([`world::processes`]). The runner ([`run()`]) applies the schedule's steps at their
//! times, starts the liveness phase after the last one, records a history and hands it to
//! the judge (`ballot-judge`); [`report`] writes what a failed run leaves behind. Start with
//! [`run()`] and [`Cluster`].

#![warn(missing_docs)]

pub mod cores;
#[cfg(test)]
mod diagnose_tests;
pub mod report;
pub mod run;
mod seed;
pub mod world;

pub use cores::CoreName;
pub use run::{liveness_steps, phase_bounds, run, Run};
pub use seed::derive_seed;
pub use world::{Cluster, ClusterBuilder, WorldName};
