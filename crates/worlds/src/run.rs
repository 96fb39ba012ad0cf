//! From a schedule to a verdict: build the cluster, apply the steps at their times (the fault
//! phase), start the liveness phase after the last one (SPEC.md, "Phases"), run to the end,
//! derive the views and judge every property.

use crate::world::processes::{ProcessCluster, ProcessOptions};
use crate::world::{nemesis, AnyWorld, Cluster, World, WorldName, WorldSpec};
use ballot_judge::check::{check_all, last_catch_up_deadline_ms, Judgement};
use ballot_judge::history::{EventKind, History, Setup, Views};
pub use ballot_judge::{setup_of, Run};
use ballot_schedule::faults::Timing;
use ballot_schedule::faults::{self, Conditions};
use ballot_schedule::{DiskSpec, NodeRef, Op, Schedule};

/// When the liveness phase starts (right after the last step) and when the run ends: at
/// `duration_ms`, or later if the phase would otherwise be shorter than `liveness_ms` plus
/// the settling time that stability needs.
pub fn phase_bounds(schedule: &Schedule) -> (u64, u64) {
    let start = schedule.last_step_ms();
    if !schedule.liveness {
        return (start, schedule.duration_ms);
    }
    let settle = schedule.timing().settle_ms() as u64;
    (start, schedule.duration_ms.max(start + schedule.liveness_ms + settle))
}

/// The runner's own steps that begin the liveness phase: repair every link, resume paused
/// nodes, no loss or duplication, baseline latency, exact clocks, and restart the
/// lowest-index crashed nodes until a majority runs (the rest stay down: a failover must
/// work with nodes missing), those whose disks were not damaged first.
pub fn liveness_steps(c: &Conditions) -> Vec<Op> {
    let mut steps = Vec::new();
    let mut healed = c.clone();
    healed.heal();
    if healed != *c {
        steps.push(faults::Heal {}.into());
    }
    if healed.loss != 0.0 {
        steps.push(faults::Loss { rate: 0.0 }.into());
    }
    for (n, rate) in c.clock_rates.iter().enumerate() {
        if *rate != 1.0 {
            steps.push(faults::Clock { node: NodeRef::Index(n), rate: 1.0 }.into());
        }
    }
    // A node whose disk was damaged may refuse to start: it counts for nothing, and is
    // restarted only when the others cannot make a majority.
    let running = (0..c.size()).filter(|&n| c.up[n] && !c.corrupted[n]).count();
    let missing = (c.size() / 2 + 1).saturating_sub(running);
    let mut crashed: Vec<usize> = (0..c.size()).filter(|&n| !c.up[n]).collect();
    crashed.sort_by_key(|&n| c.corrupted[n]);
    steps.extend(
        crashed
            .into_iter()
            .take(missing)
            .map(|n| faults::Restart { node: NodeRef::Index(n) }.into()),
    );
    steps
}

fn start_liveness_phase(world: &mut impl World) {
    world.record_event(None, EventKind::LivenessPhase);
    for op in liveness_steps(world.conditions()) {
        world.apply(op);
    }
}

/// Ends a hand-driven scenario the way the runner ends every run: starts the liveness phase
/// now, runs it for `liveness_ms` plus the settling time, and judges every property over the
/// whole history (nodes of `timing` on disks of `disk`).
fn finish(world: &mut impl World, timing: Timing, disk: DiskSpec, liveness_ms: u64) -> Judgement {
    start_liveness_phase(world);
    world.run_for(liveness_ms + timing.settle_ms() as u64);
    let history = world.history();
    let setup = Setup {
        timing,
        network: world.conditions().baseline.clone(),
        disk,
        liveness_ms,
        end_ms: world.now_ms(),
    };
    check_all(&Views::new(&history, setup))
}

impl Cluster {
    /// Ends a hand-driven scenario as the runner ends every run (see `finish`).
    pub fn finish(&mut self, liveness_ms: u64) -> Judgement {
        let (timing, disk) = (self.timing(), self.disk().clone());
        finish(self, timing, disk, liveness_ms)
    }
}

impl ProcessCluster {
    /// Ends a hand-driven scenario on processes as the runner ends every run (see `finish`).
    pub fn finish(&mut self, liveness_ms: u64) -> Judgement {
        let schedule = self.schedule().clone();
        finish(self, schedule.timing(), schedule.disk, liveness_ms)
    }
}

/// The most a run goes on past its end so that a long catch-up can be judged, ms.
pub const MAX_CATCH_UP_EXTENSION_MS: u64 = 60_000;

/// When the run must end instead of `setup.end_ms`, if later: once the liveness phase's last
/// catch-up allowance ended (`replication`), at most [`MAX_CATCH_UP_EXTENSION_MS`] after the
/// run's planned `end`.
fn catch_up_deadline(history: &History, setup: &Setup, end: u64) -> Option<u64> {
    let now = setup.end_ms as u64;
    let deadline = last_catch_up_deadline_ms(&Views::new(history, setup.clone()))?.ceil() as u64;
    let deadline = deadline.min(end + MAX_CATCH_UP_EXTENSION_MS);
    (deadline > now).then_some(deadline)
}

/// Runs a (validated) schedule in the turmoil world and checks every property.
pub fn run(schedule: &Schedule) -> Run {
    run_in(schedule, WorldName::Turmoil).expect("the turmoil world runs every core")
}

/// Runs a (validated) schedule in `world` and checks every property; `None` if that world
/// cannot run the schedule's core.
pub fn run_in(schedule: &Schedule, world: WorldName) -> Option<Run> {
    let spec = WorldSpec {
        nodes: schedule.cluster.nodes,
        core: schedule.cluster.core,
        config: schedule.cluster.core_config(),
        network: schedule.network.clone(),
        disk: schedule.disk.clone(),
        seed: schedule.seed,
    };
    Some(run_on(&mut AnyWorld::build(world, spec)?, schedule))
}

/// Runs a (validated) schedule in the turmoil world as [`run`] does, with every node also
/// writing its own history file into `dir` (`node-<i>-history.jsonl`, as `ballot node` writes
/// it; see [`ClusterBuilder::node_files`](crate::world::ClusterBuilder::node_files)); `None`
/// if this build cannot run the schedule's core.
pub fn run_recorded(schedule: &Schedule, dir: &std::path::Path) -> Option<Run> {
    let core = schedule.cluster.core;
    if !core.available() {
        return None;
    }
    let mut cluster = crate::world::ClusterBuilder::new(schedule.cluster.nodes)
        .election_core(core)
        .core(schedule.cluster.core_config())
        .network(schedule.network.clone())
        .disk(schedule.disk.clone())
        .seed(schedule.seed)
        .node_files(dir.to_path_buf())
        .build();
    Some(run_on(&mut cluster, schedule))
}

/// A run on real node processes: its judged history, and a line for each node that exited
/// on its own.
pub fn run_processes(
    schedule: &Schedule,
    options: &ProcessOptions,
) -> Result<(Run, Vec<String>), String> {
    let mut cluster = ProcessCluster::start(schedule, options)?;
    let run = run_on(&mut cluster, schedule);
    Ok((run, cluster.exited().to_vec()))
}

/// Applies the steps at their times, runs the liveness phase and judges the history.
fn run_on(world: &mut impl World, schedule: &Schedule) -> Run {
    for step in &schedule.timed_steps() {
        world.run_to(step.at_ms);
        nemesis::apply(world, step);
    }
    let (phase_start, end) = phase_bounds(schedule);
    if schedule.liveness {
        world.run_to(phase_start);
        start_liveness_phase(world);
    }
    world.run_to(end);
    let mut setup = setup_of(schedule, end as f64);
    // A leader still committing moves the deadline on: go on until it stays put.
    let mut history = world.history();
    while let Some(deadline) = catch_up_deadline(&history, &setup, end) {
        world.run_to(deadline);
        history = world.history();
        setup.end_ms = deadline as f64;
    }
    Run::judge(history, setup, schedule.seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower far behind, caught up one entry per AppendEntries over a slow network,
    /// needs longer than the liveness phase: the run goes on until its allowance ended, so
    /// that `replication` judges it instead of reporting it unreached.
    #[test]
    fn a_run_lasts_until_the_last_catch_up_allowance_ended() {
        let text = r#"{"format":1,"seed":3,"duration_ms":2000,"liveness_ms":1000,
            "cluster":{"nodes":3,"max_entries_per_message":1},
            "network":{"latency_ms":[20,20]},
            "steps":[{"at_ms":500,"op":"isolate","node":"follower"},
                     {"at_ms":510,"op":"propose","node":"leader","value":"w","count":150,"every_ms":1},
                     {"at_ms":700,"op":"heal"}]}"#;
        let schedule = Schedule::from_json(text).unwrap();
        let (_, end) = phase_bounds(&schedule);
        let result = run(&schedule);
        assert!(
            result.summary.stats.sim_ms > end,
            "{} ms, ends at {end}",
            result.summary.stats.sim_ms
        );
        assert!(result.summary.checked["replication"] > 0.0, "{:?}", result.summary.checked);
        assert!(result.summary.violations.is_empty(), "{:?}", result.summary.violations);
    }
}
