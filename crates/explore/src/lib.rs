//! # ballot-explore: looking for election bugs
//!
//! The schedule generator ([`generate`], drawing the fault [`shapes`]), the shrinker
//! ([`shrink`]), chaos campaigns that run generated schedules in a world, shrink what fails
//! and save it ([`chaos`], with [`mutate`] for guided campaigns), the merge of a campaign's
//! shards ([`merge`]), and the benchmarks of failover latency and simulator speed
//! ([`bench`](mod@bench)). It runs schedules through `ballot-worlds` and reads verdicts from
//! `ballot-judge`; the `ballot` command drives it. Start with [`chaos::chaos`] and
//! [`shrink`].

#![warn(missing_docs)]

pub mod bench;
pub mod chaos;
pub mod generate;
mod guide;
pub mod merge;
pub mod mutate;
pub mod shapes;
pub mod shrink;
