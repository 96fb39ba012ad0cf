//! # ballot-harness: real ballot nodes on a simulated network, judged
//!
//! The harness runs production `ballot-node` drivers on turmoil's simulated UDP and disk
//! (unsynced writes are lost on a crash), injects faults, records a history of facts, derives
//! views from it once, judges named properties on those views, and shrinks and saves every
//! failure. The pipeline, and the folder of each step:
//!
//! Guide pages in the repository: `docs/simulator.md` (scenario tests, and this pipeline),
//! `docs/hunting.md` (chaos, marks, shards), `docs/worlds.md` and `docs/processes.md` (where a
//! schedule runs), `docs/properties.md`, `docs/schedule.md`, `docs/failures.md`,
//! `docs/diagnose.md` and `docs/cli.md` (the `ballot` command).
//!
//! ```text
//! schedule/ ──▶ world/ (cluster, nemesis) ──▶ history/ ──▶ history::Views ──▶ check/ ──▶ report/
//!   file          turmoil + real nodes          facts        derived once      properties   summary,
//!   format        faults/ change Conditions                                                 artifact,
//!                                                                                           timeline
//! explore/: generate schedules (shapes from faults/), shrink failures, chaos campaigns
//! bench/: failover latency and simulator speed          the `ballot` command: src/cli/
//! ```
//!
//! - [`schedule`]: the schedule file (SPEC.md) and its validation.
//! - [`faults`]: one file per fault: fields, validation, how it changes [`faults::Conditions`],
//!   the generator's shapes, the shrinker's simplifications.
//! - [`cores`]: the election cores a cluster can run ([`CoreName`]).
//! - [`world`]: [`Cluster`] of real nodes, its fault verbs, and the nemesis.
//! - [`run()`]: the runner: the fault phase (the schedule's steps), then the liveness phase.
//! - [`history`]: events (facts only) and [`Views`] (everything derived from them).
//! - [`check`]: one property per file, each saying over how long it was judged.
//! - [`report`]: [`Summary`] and the verdict rule, [`Artifact`], the timeline, atomic writes.
//! - [`explore`]: generator, shrinker, chaos. [`bench`](mod@bench): the benchmarks.

#![warn(missing_docs)]

pub mod bench;
pub mod check;
pub mod cli;
pub mod cores;
pub mod diagnose;
pub mod explore;
pub mod history;
pub mod report;
pub mod run;
mod seed;
pub mod world;

pub use ballot_schedule as schedule;
pub use ballot_schedule::faults;

pub use check::{Class, Violation, PROPERTIES};
pub use cores::CoreName;
pub use history::{Event, EventKind, History, Views};
pub use report::{Artifact, Summary, Verdict};
pub use run::{liveness_steps, phase_bounds, run, Run};
pub use schedule::{Schedule, ScheduleError};
pub use seed::derive_seed;
pub use world::{Cluster, ClusterBuilder};
