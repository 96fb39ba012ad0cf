//! # ballot-harness: the `ballot` command
//!
//! Command-line parsing and output ([`cli`]) over the harness's layers, and those layers
//! re-exported under one name for tests and scripts. Each layer is a crate of its own, and
//! each depends only on those before it:
//!
//! ```text
//! ballot-core ─▶ ballot-node                      the election core; the async node
//!      │              │
//!      ▼              │
//! ballot-schedule ────┼──▶ ballot-judge            the schedule format and its faults;
//!      │              │         │                  the history, its views, the properties,
//!      ▼              ▼         ▼                  diagnosis
//!         ballot-worlds                            turmoil, the event queue, processes;
//!               │                                  the runner, artifacts
//!               ▼
//!         ballot-explore                           generator, shrinker, chaos, benchmarks
//!               │
//!               ▼
//!         ballot-harness (this crate)              the `ballot` command
//! ```
//!
//! A schedule ([`schedule`], its faults in [`faults`]) runs in a world ([`world`],
//! [`run()`]), which records a [`History`]; the judge derives [`Views`] once and judges
//! every property ([`check`]) into a [`Summary`], or explains it ([`diagnose`]); [`report`]
//! saves what failed; [`explore`] generates, shrinks and campaigns; [`bench`](mod@bench)
//! measures.
//!
//! Guide pages in the repository: `docs/simulator.md` (scenario tests, and this pipeline),
//! `docs/hunting.md` (chaos, marks, shards), `docs/worlds.md` and `docs/processes.md` (where a
//! schedule runs), `docs/properties.md`, `docs/schedule.md`, `docs/failures.md`,
//! `docs/diagnose.md` and `docs/cli.md` (the `ballot` command).

#![warn(missing_docs)]

pub mod cli;

pub use ballot_explore as explore;
pub use ballot_explore::bench;
pub use ballot_judge::{check, diagnose, history};
pub use ballot_schedule as schedule;
pub use ballot_schedule::faults;
pub use ballot_worlds::{cores, report, world};

pub use ballot_worlds::derive_seed;
pub use ballot_worlds::run::{self, liveness_steps, phase_bounds, run, Run};
pub use check::{Class, Violation, PROPERTIES};
pub use cores::CoreName;
pub use history::{Event, EventKind, History, Views};
pub use report::{Artifact, Summary, Verdict};
pub use schedule::{Schedule, ScheduleError};
pub use world::{Cluster, ClusterBuilder};
