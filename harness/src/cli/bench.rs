//! `ballot bench failover` and `ballot bench sim`.

use super::jobs_or_cores;
use ballot_harness::report::write_atomic;
use std::path::Path;
use std::process::ExitCode;

/// The failover-latency benchmark (Raft paper, Figure 16).
pub(crate) fn failover(trials: usize, json: bool, svg: &Path, jobs: Option<usize>) -> ExitCode {
    use ballot_harness::bench::failover;
    super::info(json, "seed: 1");
    let jobs = jobs_or_cores(jobs);
    let mut results = Vec::new();
    if !json {
        println!(
            "{:>11} {:>3} {:>4} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>6}",
            "timeout ms",
            "hb",
            "pre",
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
    for row in failover::rows() {
        let r = failover::run_row(&row, trials, jobs, 1);
        if !json {
            println!("{:>11} {:>3} {:>4} {:>6} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>6} {:>7.0} {:>6.2}",
                        format!("{}-{}", r.election_timeout_ms[0], r.election_timeout_ms[1]), r.heartbeat_ms,
                        if r.pre_vote { "on" } else { "off" }, r.trials, r.min_ms, r.mean_ms, r.p50_ms, r.p90_ms,
                        r.p99_ms, r.max_ms, r.multi_election_trials, r.bound_ms, r.p50_over_bound);
            if r.capped_trials > 0 {
                println!("{:>11} {} trials found no leader within 20 s", "", r.capped_trials);
            }
        }
        results.push(r);
    }
    if let Err(e) = write_atomic(svg, failover::cdf_svg(&results).as_bytes()) {
        eprintln!("could not write {}: {e}", svg.display());
    }
    if json {
        println!("{}", serde_json::json!({ "rows": results }));
    } else {
        println!("cdf: {}", svg.display());
    }
    ExitCode::SUCCESS
}

/// The simulator-speed benchmark.
pub(crate) fn sim(json: bool, seconds: u64, chaos_runs: u64) -> ExitCode {
    super::info(json, "seed: 1");
    let rows = ballot_harness::bench::sim::rows(seconds);
    let chaos_rate = |jobs| {
        let config = ballot_harness::explore::chaos::ChaosConfig {
            base_seed: 1,
            runs: Some(chaos_runs),
            duration: None,
            jobs,
            shard: (0, 1),
            out: std::env::temp_dir().join(format!("ballot-bench-{}", std::process::id())),
            stop_on_violation: false,
            shrink_budget: 50,
        };
        let quiet = ballot_harness::explore::chaos::Reporter { line: &|_| {}, progress: &|_| {} };
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = ballot_harness::explore::chaos::chaos(config, stop, &quiet);
        s.runs as f64 / s.wall_s
    };
    let (one, two) = (chaos_rate(1), chaos_rate(2));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "rows": rows,
                "chaos_runs_per_s": { "jobs_1": one, "jobs_2": two, "speedup": two / one }
            })
        );
    } else {
        println!("{:>5} {:>14} {:>14} {:>6}", "nodes", "ballot sim/s", "floor sim/s", "ratio");
        for r in &rows {
            println!(
                "{:>5} {:>14.0} {:>14.0} {:>6.2}",
                r.nodes, r.sim_s_per_wall_s, r.floor_sim_s_per_wall_s, r.ratio
            );
        }
        println!(
            "chaos runs/s: {one:.1} with --jobs 1, {two:.1} with --jobs 2 ({:.2}x)",
            two / one
        );
    }
    ExitCode::SUCCESS
}
