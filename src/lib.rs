//! # ballot
//!
//! Raft leader election you can trust: a deterministic, sans-IO election core ([`core`], the
//! `ballot-core` crate) and the async node that runs it over UDP and a durable state file
//! ([`node`], `ballot-node`). This facade re-exports both so that applications depend on one
//! crate.
//!
//! The guide, one page per task, is in the repository's `docs/`: `docs/application.md` (using
//! the node in an application), `docs/core.md` (driving the core yourself),
//! `docs/testing-another-raft.md` (testing another Raft core with the harness), and the rest
//! listed in the README.

#![warn(missing_docs)]

pub use ballot_core as core;
pub use ballot_node as node;

/// The README's code examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The code examples of the guide's pages, compiled and run as doc tests.
#[cfg(doctest)]
pub mod guide {
    /// docs/application.md
    #[doc = include_str!("../docs/application.md")]
    pub struct Application;
    /// docs/core.md
    #[doc = include_str!("../docs/core.md")]
    pub struct Core;
    /// docs/simulator.md
    #[doc = include_str!("../docs/simulator.md")]
    pub struct Simulator;
    /// docs/testing-another-raft.md
    #[doc = include_str!("../docs/testing-another-raft.md")]
    pub struct TestingAnotherRaft;
}
