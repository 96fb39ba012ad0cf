//! # ballot
//!
//! Raft leader election you can trust: a deterministic, sans-IO election core ([`core`], the
//! `ballot-core` crate) and the async node that runs it over UDP and a durable state file
//! ([`node`], `ballot-node`). This facade re-exports both so that applications depend on one
//! crate.

pub use ballot_core as core;
pub use ballot_node as node;

/// The README's code examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
