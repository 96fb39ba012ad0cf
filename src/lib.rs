//! # ballot
//!
//! Raft leader election you can trust: a deterministic, sans-IO election core
//! ([`core`], the `ballot-core` crate), with the harness that proves it growing around it.
//! This facade re-exports the pieces so that applications depend on one crate.

pub use ballot_core as core;

/// The README's code examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
