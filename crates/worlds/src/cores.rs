//! The election cores the worlds run, by the names schedules (`cluster.core`) and `--core`
//! use (SPEC.md, and [`CoreName`]).
//!
//! `ballot` is always built in, `raft-rs` (raft-rs 0.7) with the default feature `raft-rs`.
//! The known-bug fixtures (raft-rs 0.3.0 and 0.3.1) cannot share a build with raft-rs 0.7:
//! Cargo unifies their protobuf versions. Each is built apart (`make fixtures`) as a `ballot`
//! binary of its own, which [`install`]s its core (in every world) and then runs the same
//! command line as the main build; the main binary hands any command naming a fixture to
//! that binary.

use ballot_node::ElectionCore;
pub use ballot_schedule::CoreName;

/// Makes `core`, implemented by `C`, runnable in this process, in every world: a fixture
/// build calls it before it runs its command line.
pub fn install<C: ElectionCore>(core: CoreName) {
    ballot_schedule::declare_installed(core);
    crate::world::install::<C>(core);
}
