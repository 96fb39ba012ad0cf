//! Where schedules run: real ballot nodes on turmoil's network and disk ([`Cluster`], full
//! fidelity), or the same cores and driver contract on an event queue ([`EventCluster`],
//! breadth); the fault verbs that act on them, and the nemesis that turns schedule steps into
//! those verbs. [`processes`] runs a schedule against real node processes, with [`proxy`] the
//! network between them on loopback.

mod cluster;
mod events;
mod local_clock;
pub(crate) mod nemesis;
pub mod processes;
pub mod proxy;
mod recorder;
mod sim_io;
pub mod volatile;

pub use cluster::{
    install_async, serve, Cluster, ClusterBuilder, HandleSlot, Host, HostParts, Serve,
};
pub use sim_io::{SimFs, SimSocket};

/// Makes `core`, implemented by `C`, runnable in every simulated world.
pub(crate) fn install<C: ballot_node::ElectionCore>(core: ballot_schedule::CoreName) {
    cluster::install::<C>(core);
    events::install::<C>(core);
}
pub use events::EventCluster;

use ballot_judge::history::{EventKind, History};
use ballot_schedule::faults::{Conditions, Op};
pub use ballot_schedule::WorldName;

/// turmoil's latency law, which every world follows: the minimum plus the range times an
/// Exp(5) draw, capped at the maximum (most messages near the minimum, a long tail),
/// milliseconds.
pub(crate) fn draw_latency_ms(rng: &mut impl rand::Rng, [min, max]: [u64; 2]) -> f64 {
    let exp = -(1.0 - rng.random::<f64>()).ln() / 5.0;
    (min as f64 + max.saturating_sub(min) as f64 * exp).min(max.max(min) as f64)
}

/// What the runner needs of a world: time, the faults' conditions, and the history.
pub trait World {
    /// Number of nodes.
    fn size(&self) -> usize;
    /// Simulated time since the start, milliseconds.
    fn now_ms(&self) -> f64;
    /// Runs until simulated time reaches `ms` milliseconds since the start.
    fn run_to(&mut self, ms: u64);
    /// Runs for `ms` more milliseconds (from now rounded to the millisecond: turmoil's
    /// elapsed time in floating point can read a hair under a whole tick).
    fn run_for(&mut self, ms: u64) {
        self.run_to(self.now_ms().round() as u64 + ms);
    }
    /// Runs a millisecond at a time until `done` holds of the history, at most `max_ms`;
    /// how long that took, or `None` if it never held.
    fn run_until(&mut self, max_ms: u64, done: impl Fn(&History) -> bool) -> Option<f64> {
        let start = self.now_ms();
        loop {
            if self.with_history(&done) {
                return Some(self.now_ms() - start);
            }
            if self.now_ms() - start >= max_ms as f64 {
                return None;
            }
            self.run_for(1);
        }
    }
    /// `f` of the history so far (without copying it).
    fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> R;
    /// A snapshot of the history so far.
    fn history(&self) -> History {
        self.with_history(History::clone)
    }
    /// The leader of the highest term now, as the history says.
    fn leader_now(&self) -> Option<usize> {
        self.with_history(History::leader_now)
    }
    /// Where the faults have put the world now.
    fn conditions(&self) -> &Conditions;
    /// Appends an event to the history at the current simulated time.
    fn record_event(&self, node: Option<usize>, kind: EventKind);
    /// Applies a fault (every node named by index), records it in the history (as skipped if
    /// it cannot apply now) and returns whether it applied.
    fn apply(&mut self, op: Op) -> bool;
}

/// A cluster in either world, built from one description.
#[allow(clippy::large_enum_variant)] // one per run, held where it runs, never in bulk
pub enum AnyWorld {
    /// Real async nodes on turmoil.
    Turmoil(Cluster),
    /// The same cores on the event queue.
    Events(EventCluster),
}

/// What a cluster is: its size, core and settings, network, disk and seed.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    /// Number of nodes.
    pub nodes: usize,
    /// The election core they run.
    pub core: ballot_schedule::CoreName,
    /// The core's settings.
    pub config: ballot_core::Config,
    /// The network at the start.
    pub network: ballot_schedule::NetworkSpec,
    /// The disks' latencies.
    pub disk: ballot_schedule::DiskSpec,
    /// The seed everything random derives from.
    pub seed: u64,
}

impl AnyWorld {
    /// Builds `spec` in a simulated `world`; `None` if this build cannot run its core there,
    /// or for the processes world (see [`processes::ProcessCluster`]).
    pub fn build(world: WorldName, spec: WorldSpec) -> Option<AnyWorld> {
        let WorldSpec { nodes, core, config, network, disk, seed } = spec;
        Some(match world {
            WorldName::Processes => return None,
            WorldName::Turmoil => {
                if !core.available() {
                    return None;
                }
                let cluster = ClusterBuilder::new(nodes)
                    .election_core(core)
                    .core(config)
                    .network(network)
                    .disk(disk)
                    .seed(seed)
                    .build();
                AnyWorld::Turmoil(cluster)
            }
            WorldName::Events => {
                AnyWorld::Events(EventCluster::build(nodes, core, config, network, disk, seed)?)
            }
        })
    }
}

/// Calls the same method of whichever world it is.
macro_rules! either {
    ($self:expr, $w:ident => $call:expr) => {
        match $self {
            AnyWorld::Turmoil($w) => $call,
            AnyWorld::Events($w) => $call,
        }
    };
}

impl World for AnyWorld {
    fn size(&self) -> usize {
        either!(self, w => w.size())
    }

    fn now_ms(&self) -> f64 {
        either!(self, w => World::now_ms(w))
    }

    fn run_to(&mut self, ms: u64) {
        either!(self, w => World::run_to(w, ms))
    }

    fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> R {
        either!(self, w => w.with_history(f))
    }

    fn conditions(&self) -> &Conditions {
        either!(self, w => World::conditions(w))
    }

    fn record_event(&self, node: Option<usize>, kind: EventKind) {
        either!(self, w => World::record_event(w, node, kind))
    }

    fn apply(&mut self, op: Op) -> bool {
        either!(self, w => World::apply(w, op))
    }
}
