//! Where schedules run: real ballot nodes on turmoil's network and disk ([`Cluster`], full
//! fidelity), or the same cores and driver contract on an event queue ([`EventCluster`],
//! breadth); the fault verbs that act on them, and the nemesis that turns schedule steps into
//! those verbs.

mod cluster;
mod events;
mod local_clock;
pub(crate) mod nemesis;
mod recorder;
mod sim_io;

pub use cluster::{serve, Cluster, ClusterBuilder, Host};
pub use events::EventCluster;

use crate::faults::{Conditions, Op};
use crate::history::{EventKind, History};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the runner needs of a world: time, the faults' conditions, and the history.
pub trait World {
    /// Number of nodes.
    fn size(&self) -> usize;
    /// Simulated time since the start, milliseconds.
    fn now_ms(&self) -> f64;
    /// Runs until simulated time reaches `ms` milliseconds since the start.
    fn run_to(&mut self, ms: u64);
    /// A snapshot of the history so far.
    fn history(&self) -> History;
    /// The leader of the highest term now, as the history says.
    fn leader_now(&self) -> Option<usize>;
    /// Where the faults have put the world now.
    fn conditions(&self) -> &Conditions;
    /// Appends an event to the history at the current simulated time.
    fn record_event(&self, node: Option<usize>, kind: EventKind);
    /// Applies a fault (every node named by index), records it in the history (as skipped if
    /// it cannot apply now) and returns whether it applied.
    fn apply(&mut self, op: Op) -> bool;
}

/// The worlds a schedule can run in (SPEC.md, `--world`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorldName {
    /// Real async nodes on turmoil's network and disk.
    #[default]
    Turmoil,
    /// The same cores and driver contract on an event queue.
    Events,
}

impl fmt::Display for WorldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorldName::Turmoil => "turmoil",
            WorldName::Events => "events",
        })
    }
}

impl FromStr for WorldName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "turmoil" => Ok(WorldName::Turmoil),
            "events" => Ok(WorldName::Events),
            other => Err(format!("unknown world {other:?}: turmoil or events")),
        }
    }
}
