//! A judged run: a history, what its views need to read it, and the summary of every
//! property; and how a history file read back is judged.

use crate::check::check_all;
use crate::history::{file, History, Setup, Views};
use crate::summary::Summary;
use ballot_schedule::faults::Timing;
use ballot_schedule::{CoreName, DiskSpec, NetworkSpec, Schedule, WorldName};

/// A finished run: its history, what the views need to read it, and its summary.
#[derive(Clone, Debug)]
pub struct Run {
    /// Everything that happened.
    pub history: History,
    /// The run's timing, network and length.
    pub setup: Setup,
    /// The verdict and numbers.
    pub summary: Summary,
}

impl Run {
    /// Derives the views of `history` and judges every property.
    pub fn judge(history: History, setup: Setup, seed: u64) -> Run {
        let views = Views::new(&history, setup.clone());
        let summary = Summary::of(seed, &views, check_all(&views));
        Run { history, setup, summary }
    }

    /// The views of this run's history.
    pub fn views(&self) -> Views<'_> {
        Views::new(&self.history, self.setup.clone())
    }

    /// The history as JSON lines.
    pub fn history_jsonl(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.history.write_jsonl(&mut out).expect("writing to memory");
        out
    }

    /// The history file of this run of `schedule` in `world`: its meta line, then the
    /// events (what `ballot check` reads back).
    pub fn history_file(&self, schedule: &Schedule, world: WorldName) -> Vec<u8> {
        let meta = file::Meta {
            kind: file::MetaKind::Meta,
            format: file::FORMAT,
            source: if world.simulated() {
                file::Source::Simulator
            } else {
                file::Source::Processes
            },
            world,
            schedule: schedule.clone(),
            end_ms: self.setup.end_ms,
            messages: self.history.messages,
        };
        let mut out = Vec::new();
        file::write(&meta, &self.history, &mut out).expect("writing to memory");
        out
    }

    /// Judges a history read back: a simulator's as the run that wrote it was judged; a real
    /// cluster's with every property its history supports, the rest marked unsupported.
    pub fn of_file(read: file::HistoryFile) -> Run {
        match read.origin {
            file::Origin::Simulator(meta) => {
                let setup = setup_of(&meta.schedule, meta.end_ms);
                let mut run = Run::judge(read.history, setup, meta.schedule.seed);
                // Real processes: real time, and no promise that the schedule repeats.
                run.summary.world = (!meta.world.simulated()).then_some(meta.world);
                run
            }
            file::Origin::Cluster(cluster) => {
                let setup = Setup {
                    timing: Timing::of(&cluster.config).on_core(CoreName::Ballot),
                    network: NetworkSpec::default(),
                    disk: DiskSpec::default(),
                    liveness_ms: 0,
                    end_ms: cluster.end_ms,
                };
                let mut run = Run::judge(read.history, setup, 0);
                for (properties, reason) in UNSUPPORTED_BY_A_CLUSTER {
                    for property in properties {
                        run.summary.unsupported(property, reason);
                    }
                }
                run
            }
        }
    }
}

/// What a real cluster's merged histories cannot support, and why.
const UNSUPPORTED_BY_A_CLUSTER: [(&[&str], &str); 3] = [
    (
        &["recovers"],
        "a real node that cannot start writes nothing to its history: a restart it refused is not in the files",
    ),
    (
        &["liveness", "stability", "no-disruption", "quorum-step-down", "replication"],
        "a real cluster's history has no record of faults: when the network was healthy is unknown",
    ),
    (
        &["lease-safety", "lease-vote"],
        "files merged by wall clock cannot show the nodes' clocks within the drift bound that leases assume",
    ),
];

/// What the views need to read a run of `schedule` that ended at `end_ms`.
pub fn setup_of(schedule: &Schedule, end_ms: f64) -> Setup {
    Setup {
        timing: schedule.timing(),
        network: schedule.network.clone(),
        disk: schedule.disk.clone(),
        liveness_ms: schedule.liveness_ms,
        end_ms,
    }
}
