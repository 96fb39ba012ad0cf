//! `ballot`: run, reproduce and shrink fault schedules against real nodes in simulation.

use ballot_harness::{
    run, shrink, size, write_atomic, Artifact, Run, Schedule, ScheduleError, Summary, Verdict,
};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ballot",
    version,
    about = "Fault-injection harness for the ballot Raft election core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one schedule in the simulator, check every property, print a verdict.
    Run {
        /// The schedule file (JSON).
        schedule: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Write the history as JSON lines.
        #[arg(long, value_name = "OUT.jsonl")]
        history: Option<PathBuf>,
        /// Write the run's timeline as a self-contained HTML page.
        #[arg(long, value_name = "OUT.html")]
        timeline: Option<PathBuf>,
        /// Write a failure artifact (and its timeline) here if a property is violated.
        #[arg(long, value_name = "OUT.json")]
        artifact: Option<PathBuf>,
        /// Run twice and compare the histories byte for byte (exit 4 if they differ).
        #[arg(long)]
        check_determinism: bool,
    },
    /// Replay a saved failure; the exit status says whether the same violation came back.
    Repro {
        /// The failure artifact (JSON).
        artifact: PathBuf,
        /// Write the replay's timeline as a self-contained HTML page.
        #[arg(long, value_name = "OUT.html")]
        timeline: Option<PathBuf>,
    },
    /// Long randomized runs of generated schedules; failures are shrunk and saved.
    Chaos {
        /// Stop starting runs after this long: 90s, 10m, 2h.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
        /// Stop after this many runs.
        #[arg(long)]
        runs: Option<u64>,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Base seed (default: from the clock, printed first).
        #[arg(long)]
        seed: Option<u64>,
        /// This machine's share of the seed space, K/N with K in 1..=N.
        #[arg(long, value_parser = parse_shard, default_value = "1/1")]
        shard: (u64, u64),
        /// Where artifacts and summary.json go.
        #[arg(long, default_value = "target/chaos")]
        out: PathBuf,
        /// Stop at the first violation.
        #[arg(long)]
        stop_on_violation: bool,
        /// Most simulations to spend shrinking one failure.
        #[arg(long, default_value_t = 300)]
        shrink_budget: usize,
    },
    /// Benchmarks: the Raft paper's failover figure, and simulator speed.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
    /// Print the schedule that a seed generates (the same one `chaos` runs for that seed).
    Generate {
        /// The seed.
        #[arg(long)]
        seed: u64,
    },
    /// Shrink a failing schedule to a minimal one that still fails the same property.
    Shrink {
        /// The failure artifact (JSON).
        artifact: PathBuf,
        /// Where to write the minimal artifact (default: beside the input, `.min.json`).
        #[arg(long, value_name = "MIN.json")]
        out: Option<PathBuf>,
        /// Most simulations to run while shrinking.
        #[arg(long, default_value_t = 400)]
        budget: usize,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Time from a leader crash to a new leader, per election-timeout configuration (Raft
    /// paper, Figure 16).
    Failover {
        /// Trials per row.
        #[arg(long, default_value_t = 1000)]
        trials: usize,
        /// Print `{"rows": [...]}` as JSON.
        #[arg(long)]
        json: bool,
        /// Where to draw the CDFs.
        #[arg(long, default_value = "target/bench/failover.svg")]
        svg: PathBuf,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Simulated seconds per wall second, ours and turmoil's floor, and chaos runs per second.
    Sim {
        /// Print `{"rows": [...]}` as JSON.
        #[arg(long)]
        json: bool,
        /// Simulated seconds per measurement.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Chaos runs per measurement of runs per second.
        #[arg(long, default_value_t = 300)]
        chaos_runs: u64,
    },
}

/// Bad input: one line on stderr, exit 2, nothing run.
fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn read_schedule(path: &Path) -> Result<Schedule, ScheduleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScheduleError { field: path.display().to_string(), problem: e.to_string() })?;
    Schedule::from_json(&text).map_err(|e| ScheduleError {
        field: format!("{}: {}", path.display(), e.field),
        problem: e.problem,
    })
}

fn print_summary(summary: &Summary, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(summary).expect("summaries serialize"));
        return;
    }
    let s = &summary.stats;
    println!(
        "verdict: {:?} ({} elections, max term {}, {} messages, {} ms simulated)",
        summary.verdict, s.elections, s.max_term, s.messages, s.sim_ms
    );
    for v in &summary.violations {
        println!("  {} at {:.1} ms, nodes {:?}: {}", v.property, v.t_ms, v.nodes, v.message);
    }
}

fn exit(verdict: Verdict) -> ExitCode {
    ExitCode::from(verdict.exit_code() as u8)
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { schedule, json, history, timeline, artifact, check_determinism } => {
            let parsed = match read_schedule(&schedule) {
                Ok(s) => s,
                Err(e) => return bad_input(e),
            };
            println!("seed: {}", parsed.seed);
            let result = run(&parsed);
            if check_determinism {
                let again = run(&parsed);
                if again.history_jsonl() != result.history_jsonl() {
                    eprintln!(
                        "nondeterminism: two runs of seed {} gave different histories",
                        parsed.seed
                    );
                    return exit(Verdict::Nondeterminism);
                }
                println!("deterministic: two runs gave the same history");
            }
            if let Some(path) = history {
                if let Err(e) = write_atomic(&path, &result.history_jsonl()) {
                    return bad_input(format!("{}: {e}", path.display()));
                }
            }
            if let Some(path) = timeline {
                write_timeline(&path, &parsed, &result);
            }
            print_summary(&result.summary, json);
            if let (Some(path), false) = (artifact, result.summary.violations.is_empty()) {
                save(&path, parsed, &result);
            }
            exit(result.summary.verdict)
        }
        Command::Repro { artifact, timeline } => {
            let saved = match Artifact::read(&artifact) {
                Ok(a) => a,
                Err(e) => return bad_input(format!("{}: {e}", artifact.display())),
            };
            println!("seed: {}", saved.schedule.seed);
            let result = run(&saved.schedule);
            if let Some(path) = timeline {
                write_timeline(&path, &saved.schedule, &result);
            }
            print_summary(&result.summary, false);
            let wanted: Vec<&str> =
                saved.summary.violations.iter().map(|v| v.property.as_str()).collect();
            let back: Vec<&str> =
                wanted.iter().copied().filter(|p| result.summary.violates(p)).collect();
            if back.is_empty() {
                println!("not reproduced: {wanted:?} did not come back");
            } else {
                println!("reproduced: {back:?}");
            }
            exit(result.summary.verdict)
        }
        Command::Chaos {
            duration,
            runs,
            jobs,
            seed,
            shard,
            out,
            stop_on_violation,
            shrink_budget,
        } => {
            let base_seed = seed.unwrap_or_else(|| {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
                now.map_or(1, |d| d.as_nanos() as u64)
            });
            println!("seed: {base_seed}");
            let duration = duration.or(runs.is_none().then(|| std::time::Duration::from_secs(600)));
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let config = ballot_harness::chaos::ChaosConfig {
                base_seed,
                runs,
                duration,
                jobs,
                shard,
                out: out.clone(),
                stop_on_violation,
                shrink_budget,
            };
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (on_stop, on_interrupt) = (stop.clone(), interrupted.clone());
            let _ = ctrlc::set_handler(move || {
                on_interrupt.store(true, std::sync::atomic::Ordering::SeqCst);
                on_stop.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let bar = progress_bar(runs);
            let report = ballot_harness::chaos::Reporter {
                line: &|line| bar.suspend(|| println!("{line}")),
                progress: &|s| {
                    bar.set_position(s.runs);
                    bar.set_message(format!(
                        "{:.2} sim-h, {:.1} runs/s, violations {:?}",
                        s.sim_ms / 3.6e6,
                        s.runs as f64 / s.wall_s.max(1e-9),
                        s.violations
                    ));
                },
            };
            let summary = ballot_harness::chaos::chaos(config, stop.clone(), &report);
            bar.finish_and_clear();
            if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                println!("interrupted: runs in flight finished, every artifact is on disk");
            }
            println!("summary: {}", out.join("summary.json").display());
            println!("{}", serde_json::to_string_pretty(&summary).expect("summaries serialize"));
            let safety = summary
                .violations
                .keys()
                .any(|p| ballot_harness::class_of(p) == Some(ballot_harness::Class::Safety));
            match (safety, summary.violations.is_empty()) {
                (true, _) => exit(Verdict::Safety),
                (false, false) => exit(Verdict::Liveness),
                _ => ExitCode::SUCCESS,
            }
        }
        Command::Bench { which: Bench::Failover { trials, json, svg, jobs } } => {
            use ballot_harness::bench::failover;
            println!("seed: 1");
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let mut results = Vec::new();
            if !json {
                println!("{:>11} {:>3} {:>4} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>6}",
                    "timeout ms", "hb", "pre", "trials", "min", "mean", "p50", "p90", "p99", "max", "multi", "bound", "p50/b");
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
                        println!(
                            "{:>11} {} trials found no leader within 20 s",
                            "", r.capped_trials
                        );
                    }
                }
                results.push(r);
            }
            if let Err(e) = write_atomic(&svg, failover::cdf_svg(&results).as_bytes()) {
                eprintln!("could not write {}: {e}", svg.display());
            }
            if json {
                println!("{}", serde_json::json!({ "rows": results }));
            } else {
                println!("cdf: {}", svg.display());
            }
            ExitCode::SUCCESS
        }
        Command::Bench { which: Bench::Sim { json, seconds, chaos_runs } } => {
            println!("seed: 1");
            let rows = ballot_harness::bench::sim::rows(seconds);
            let chaos_rate = |jobs| {
                let config = ballot_harness::chaos::ChaosConfig {
                    base_seed: 1,
                    runs: Some(chaos_runs),
                    duration: None,
                    jobs,
                    shard: (0, 1),
                    out: std::env::temp_dir().join(format!("ballot-bench-{}", std::process::id())),
                    stop_on_violation: false,
                    shrink_budget: 50,
                };
                let quiet = ballot_harness::chaos::Reporter { line: &|_| {}, progress: &|_| {} };
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let s = ballot_harness::chaos::chaos(config, stop, &quiet);
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
                println!(
                    "{:>5} {:>14} {:>14} {:>6}",
                    "nodes", "ballot sim/s", "floor sim/s", "ratio"
                );
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
        Command::Generate { seed } => {
            println!("{}", ballot_harness::generate::generate(seed).to_json());
            ExitCode::SUCCESS
        }
        Command::Shrink { artifact, out, budget } => {
            let saved = match Artifact::read(&artifact) {
                Ok(a) => a,
                Err(e) => return bad_input(format!("{}: {e}", artifact.display())),
            };
            println!("seed: {}", saved.schedule.seed);
            let Some(property) = saved.summary.violations.first().map(|v| v.property.clone())
            else {
                return bad_input(format!(
                    "{}: the artifact records no violation",
                    artifact.display()
                ));
            };
            let shrunk = shrink(&saved.schedule, &property, budget);
            let (before, after) = (size(&saved.schedule), size(&shrunk.schedule));
            println!(
                "shrunk {property} in {} runs: {} steps, {} nodes, {} ms -> {} steps, {} nodes, {} ms",
                shrunk.runs, before.0, before.1, before.2, after.0, after.1, after.2
            );
            let result = run(&shrunk.schedule);
            let out = out.unwrap_or_else(|| artifact.with_extension("min.json"));
            save(&out, shrunk.schedule, &result);
            exit(result.summary.verdict)
        }
    }
}

fn save(path: &Path, schedule: Schedule, result: &Run) {
    write_timeline(&path.with_extension("html"), &schedule, result);
    let artifact = Artifact::new(schedule, result.summary.clone(), path);
    match artifact.write(path) {
        Ok(()) => println!("artifact: {}\nreproduce: {}", path.display(), artifact.command),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

fn write_timeline(path: &Path, schedule: &Schedule, result: &Run) {
    let title = format!("ballot run, seed {}: {:?}", schedule.seed, result.summary.verdict);
    let html = ballot_harness::timeline::render(
        &result.history,
        schedule.cluster.nodes,
        schedule.duration_ms as f64,
        &result.summary.violations,
        &title,
    );
    match write_atomic(path, html.as_bytes()) {
        Ok(()) => println!("timeline: {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Parses a duration like `500ms`, `90s`, `10m` or `2h` (a bare number is seconds).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration like 90s or 10m"))?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n * 1_000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        other => return Err(format!("unknown unit {other:?} in {text:?} (use ms, s, m or h)")),
    };
    Ok(std::time::Duration::from_millis(ms))
}

/// Parses `K/N` (1-based K) into a 0-based shard.
fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{text:?} is not a shard like 2/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {text}: need 1 <= K <= N"));
    }
    Ok((k - 1, n))
}

/// A progress bar over `runs` runs, or an open-ended counter.
fn progress_bar(runs: Option<u64>) -> indicatif::ProgressBar {
    let (bar, template) = match runs {
        Some(n) => {
            (indicatif::ProgressBar::new(n), "{elapsed_precise} [{bar:30}] {pos}/{len} runs, {msg}")
        }
        None => {
            (indicatif::ProgressBar::new_spinner(), "{elapsed_precise} {spinner} {pos} runs, {msg}")
        }
    };
    let style = indicatif::ProgressStyle::with_template(template).expect("valid template");
    bar.set_style(style.progress_chars("=> "));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
