//! `ballot bench failover` and `ballot bench sim`.

use super::{
    bad_input, check_outputs, fixture, jobs_or_cores, parse_core, parse_jobs, simulated_world, Out,
};
use crate::bench::{failover, sim};
use crate::explore::chaos::{self, ChaosConfig, Reporter};
use crate::report::write_atomic;
use crate::world::WorldName;
use crate::CoreName;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The benchmarks.
#[derive(clap::Subcommand)]
pub(crate) enum Bench {
    /// Time from a leader crash to a new leader, per election-timeout configuration (Raft
    /// paper, Figure 16).
    Failover {
        /// Trials per row.
        #[arg(long, default_value_t = 1000)]
        trials: usize,
        /// Print `{"rows": [...]}` as JSON (and nothing else on stdout).
        #[arg(long)]
        json: bool,
        /// Where to draw the CDFs.
        #[arg(long, default_value = "target/bench/failover.svg")]
        svg: PathBuf,
        /// Worker threads (default: every core).
        #[arg(long, value_parser = parse_jobs)]
        jobs: Option<usize>,
        /// The election core the nodes run: ballot, raft-rs, raft-rs-0.3.0, raft-rs-0.3.1,
        /// openraft-0.9.24, openraft-0.9.25 (turmoil only).
        #[arg(long, default_value = "ballot", value_parser = parse_core)]
        core: CoreName,
        /// Where the trials run: turmoil or events.
        #[arg(long, default_value = "turmoil", value_parser = simulated_world)]
        world: WorldName,
    },
    /// Simulated seconds per wall second, ours and turmoil's floor, and chaos runs per second.
    Sim {
        /// Print `{"rows": [...]}` as JSON (and nothing else on stdout).
        #[arg(long)]
        json: bool,
        /// Simulated seconds per measurement, repeated until at least half a wall second has passed.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Chaos runs per measurement of runs per second.
        #[arg(long, default_value_t = 300)]
        chaos_runs: u64,
        /// The election core the nodes run: ballot, raft-rs, raft-rs-0.3.0, raft-rs-0.3.1,
        /// openraft-0.9.24, openraft-0.9.25 (turmoil only).
        #[arg(long, default_value = "ballot", value_parser = parse_core)]
        core: CoreName,
        /// Where the clusters run: turmoil (measured beside a bare turmoil program) or events
        /// (measured beside turmoil running the same cluster).
        #[arg(long, default_value = "turmoil", value_parser = simulated_world)]
        world: WorldName,
    },
}

/// Runs the chosen benchmark.
pub(crate) fn bench(which: Bench) -> ExitCode {
    match which {
        Bench::Failover { trials, json, svg, jobs, core, world } => {
            bench_failover(trials, Out { json }, svg, jobs, core, world)
        }
        Bench::Sim { json, seconds, chaos_runs, core, world } => {
            bench_sim(Out { json }, seconds, chaos_runs, core, world)
        }
    }
}

fn bench_failover(
    trials: usize,
    out: Out,
    svg: PathBuf,
    jobs: Option<usize>,
    core: CoreName,
    world: WorldName,
) -> ExitCode {
    if let Some(status) = fixture::hand_over(Some(core)) {
        return status;
    }
    if let Err(e) = check_outputs([Some(&svg)], &[]) {
        return bad_input(e);
    }
    out.info("seed: 1");
    out.info(&format!("world: {world}"));
    let jobs = jobs_or_cores(jobs);
    let mut results = Vec::new();
    if !out.json {
        println!(
            "{:>11} {:>3} {:>4} {:>5} {:>4} {:>7} {:>5} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>6}",
            "timeout ms",
            "hb",
            "pre",
            "lat",
            "down",
            "backoff",
            "turns",
            "trials",
            "min",
            "mean",
            "p50",
            "p90",
            "p99",
            "max",
            "multi",
            "bound",
            "p50/b"
        );
        println!("(milliseconds; multi: trials needing more than one election; capped trials count as 20 s)");
    }
    for row in failover::rows(core) {
        let r = failover::run_row(&row, trials, jobs, 1, world);
        if !out.json {
            println!(
                "{:>11} {:>3} {:>4} {:>5} {:>4} {:>7} {:>5} {:>6} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>6} {:>7.0} {:>6.2}",
                format!("{}-{}", r.election_timeout_ms[0], r.election_timeout_ms[1]),
                r.heartbeat_ms,
                if r.pre_vote { "on" } else { "off" },
                format!("{}-{}", r.latency_ms[0], r.latency_ms[1]),
                r.crashed,
                on_off(core, r.split_vote_backoff),
                on_off(core, r.staggered_timeouts),
                r.trials,
                r.min_ms,
                r.mean_ms,
                r.p50_ms,
                r.p90_ms,
                r.p99_ms,
                r.max_ms,
                r.multi_election_trials,
                r.bound_ms,
                r.p50_over_bound
            );
            if r.capped_trials > 0 {
                println!("{:>11} {} trials found no leader within 20 s", "", r.capped_trials);
            }
        }
        results.push(r);
    }
    match write_atomic(&svg, failover::cdf_svg(&results).as_bytes()) {
        Ok(()) => out.info(&format!("cdf: {}", svg.display())),
        Err(e) => eprintln!("could not write {}: {e}", svg.display()),
    }
    if out.json {
        out.json(&serde_json::json!({ "rows": results }));
    }
    ExitCode::SUCCESS
}

/// "on" or "off" for one of ballot's own options, "-" for a core that has none.
fn on_off(core: CoreName, on: bool) -> &'static str {
    match (core, on) {
        (CoreName::Ballot, true) => "on",
        (CoreName::Ballot, false) => "off",
        _ => "-",
    }
}

/// Chaos runs per second with `jobs` workers in `world`, artifacts (if any) in a directory
/// removed after.
fn chaos_rate(core: CoreName, jobs: usize, runs: u64, world: WorldName) -> f64 {
    let dir = std::env::temp_dir().join(format!("ballot-bench-{}-{jobs}", std::process::id()));
    let config = ChaosConfig {
        base_seed: 1,
        runs: Some(runs),
        duration: None,
        jobs,
        shard: (0, 1),
        out: dir.clone(),
        stop_on_violation: false,
        shrink_budget: 50,
        known: Vec::new(),
        guided: false,
        generation: chaos::GENERATION,
        core,
        world,
    };
    let quiet = Reporter { line: &|_| {}, progress: &|_| {} };
    let s = chaos::chaos(config, Arc::new(AtomicBool::new(false)), &quiet);
    let _ = std::fs::remove_dir_all(&dir);
    s.runs as f64 / s.wall_s
}

fn bench_sim(
    out: Out,
    seconds: u64,
    chaos_runs: u64,
    core: CoreName,
    world: WorldName,
) -> ExitCode {
    if let Some(status) = fixture::hand_over(Some(core)) {
        return status;
    }
    out.info("seed: 1");
    out.info(&format!("world: {world}"));
    let Some(rows) = sim::rows(core, seconds, world) else {
        return bad_input(format!("this build cannot run {core} in the {world} world"));
    };
    let one = chaos_rate(core, 1, chaos_runs, world);
    let two = chaos_rate(core, 2, chaos_runs, world);
    if out.json {
        let rate = |r: f64| (r * 10.0).round() / 10.0;
        out.json(&serde_json::json!({
            "rows": rows,
            "chaos_runs_per_s": { "jobs_1": rate(one), "jobs_2": rate(two), "speedup": (two / one * 100.0).round() / 100.0 }
        }));
        return ExitCode::SUCCESS;
    }
    println!(
        "{:>5} {:>14} {:>14} {:>6} {:>14} {:>8}",
        "nodes",
        format!("{core} sim/s"),
        "floor sim/s",
        "ratio",
        "turmoil sim/s",
        "x turmoil"
    );
    for r in &rows {
        let turmoil = r.turmoil_sim_s_per_wall_s.map_or("-".into(), |t| format!("{t:.0}"));
        let over = r.over_turmoil.map_or("-".into(), |x| format!("{x:.1}"));
        println!(
            "{:>5} {:>14.0} {:>14.0} {:>6.2} {:>14} {:>8}",
            r.nodes, r.sim_s_per_wall_s, r.floor_sim_s_per_wall_s, r.ratio, turmoil, over
        );
    }
    println!("chaos runs/s: {one:.1} with --jobs 1, {two:.1} with --jobs 2 ({:.2}x)", two / one);
    ExitCode::SUCCESS
}
