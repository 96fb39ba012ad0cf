//! `ballot`: run, reproduce and shrink fault schedules against real nodes in simulation. One
//! function per command, each in its own file; the shared output rules live here.

mod bench;
mod chaos;
mod repro;
mod run;
mod shrink;

use ballot_harness::report::timeline;
use ballot_harness::{report, Run, Schedule, ScheduleError, Summary, Verdict};
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
    Chaos(chaos::ChaosArgs),
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

/// The exit status of a verdict.
fn exit(verdict: Verdict) -> ExitCode {
    ExitCode::from(verdict.exit_code())
}

/// A line of information: on stdout, or on stderr when stdout carries JSON.
fn info(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

fn read_schedule(path: &Path) -> Result<Schedule, ScheduleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScheduleError::new(path.display().to_string(), e.to_string()))?;
    Schedule::from_json(&text)
        .map_err(|e| ScheduleError::new(format!("{}: {}", path.display(), e.field), e.problem))
}

/// Prints a summary: JSON, or a verdict line, the violations, and every property that was
/// judged for less than the whole run (or not at all).
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
    let partly: Vec<String> = summary
        .checked
        .iter()
        .filter(|(_, ms)| **ms > 0.0 && **ms < s.sim_ms as f64)
        .map(|(p, ms)| format!("{p} {ms:.0} ms"))
        .collect();
    if !partly.is_empty() {
        println!("judged for part of the run: {}", partly.join(", "));
    }
    let not_checked = summary.not_checked();
    if !not_checked.is_empty() {
        println!("not checked: {} (the run could not judge them)", not_checked.join(", "));
    }
}

/// Writes a run's timeline; says where, or why not.
fn write_timeline(path: &Path, schedule: &Schedule, result: &Run, json: bool) {
    let title = format!("ballot run, seed {}: {:?}", schedule.seed, result.summary.verdict);
    let html = timeline::render(&result.views(), &result.summary.violations, &title);
    match report::write_atomic(path, html.as_bytes()) {
        Ok(()) => info(json, &format!("timeline: {}", path.display())),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Saves a failure artifact and its timeline beside it.
fn save(path: &Path, schedule: Schedule, result: &Run, json: bool) {
    write_timeline(&path.with_extension("html"), &schedule, result, json);
    let artifact = report::Artifact::new(schedule, result.summary.clone(), path);
    match artifact.write(path) {
        Ok(()) => {
            info(json, &format!("artifact: {}\nreproduce: {}", path.display(), artifact.command))
        }
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { schedule, json, history, timeline, artifact, check_determinism } => {
            run::run(&schedule, json, history, timeline, artifact, check_determinism)
        }
        Command::Repro { artifact, timeline } => repro::repro(&artifact, timeline),
        Command::Chaos(args) => chaos::chaos(args),
        Command::Bench { which: Bench::Failover { trials, json, svg, jobs } } => {
            bench::failover(trials, json, &svg, jobs)
        }
        Command::Bench { which: Bench::Sim { json, seconds, chaos_runs } } => {
            bench::sim(json, seconds, chaos_runs)
        }
        Command::Generate { seed } => {
            println!("{}", ballot_harness::explore::generate::generate(seed).to_json());
            ExitCode::SUCCESS
        }
        Command::Shrink { artifact, out, budget } => shrink::shrink(&artifact, out, budget),
    }
}

/// Worker threads: as asked, or every core.
fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
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
