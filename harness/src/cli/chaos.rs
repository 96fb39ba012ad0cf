//! `ballot chaos`: generated schedules on every core until time or runs run out.

use super::{
    bad_input, exit, fixture, jobs_or_cores, parse_core, parse_duration, parse_jobs, parse_shard,
    progress_bar, simulated_world, Out,
};
use crate::explore::chaos::{self, ChaosConfig, ChaosSummary, Reporter};
use crate::world::WorldName;
use crate::CoreName;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The flags of `ballot chaos`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ChaosArgs {
    #[command(subcommand)]
    command: Option<ChaosCommand>,
    /// Stop starting runs after this long: 90s, 10m, 2h.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many runs.
    #[arg(long)]
    runs: Option<u64>,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = parse_jobs)]
    jobs: Option<usize>,
    /// Base seed (default: from the clock, printed first).
    #[arg(long)]
    seed: Option<u64>,
    /// This machine's share of the seed space, K/N with K in 1..=N (default: $BALLOT_SHARD,
    /// else a Kubernetes Indexed Job's $JOB_COMPLETION_INDEX of $BALLOT_SHARDS, else 1/1).
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Where artifacts and summary.json go.
    #[arg(long, default_value = "target/chaos")]
    out: PathBuf,
    /// Stop at the first violation.
    #[arg(long)]
    stop_on_violation: bool,
    /// Most simulations to spend shrinking one failure.
    #[arg(long, default_value_t = 300)]
    shrink_budget: usize,
    /// A property already known to fail on this core (repeatable): its runs are counted
    /// (`first_runs` in summary.json) and still fail the campaign, but are not shrunk or saved.
    #[arg(long, value_name = "PROPERTY", value_parser = parse_property)]
    known: Vec<String>,
    /// Print the summary as JSON (and nothing else on stdout).
    #[arg(long)]
    json: bool,
    /// Guided: half the runs mutate schedules that reached rarely reached coverage marks (or
    /// pairs of marks), in generations of 64 runs: the same campaign whatever `--jobs`.
    #[arg(long)]
    guided: bool,
    /// The election core the nodes run: ballot, raft-rs, raft-rs-0.3.0, raft-rs-0.3.1,
    /// openraft-0.9.24, openraft-0.9.25 (turmoil only).
    #[arg(long, default_value = "ballot", value_parser = parse_core)]
    core: CoreName,
    /// Where the runs and the shrinking happen: events (the same cores and driver contract
    /// on an event queue, many times faster; every shrunk finding is replayed in turmoil)
    /// or turmoil (real async nodes, UDP and disk).
    #[arg(long, default_value = "events", value_parser = simulated_world)]
    world: WorldName,
}

/// What else `ballot chaos` does.
#[derive(clap::Subcommand)]
enum ChaosCommand {
    /// Merge the summaries and artifacts of several shards of one campaign into one.
    Merge {
        /// The shards' output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged summary and artifacts go.
        #[arg(long, default_value = "target/chaos/merged")]
        out: PathBuf,
        /// Print the merged summary as JSON (and nothing else on stdout).
        #[arg(long)]
        json: bool,
    },
}

/// This machine's shard when `--shard` is absent: `$BALLOT_SHARD` (K/N), else a Kubernetes
/// Indexed Job's (or a CI matrix's) 0-based `$JOB_COMPLETION_INDEX` of `$BALLOT_SHARDS`.
fn shard_from_env() -> Result<(u64, u64), String> {
    if let Ok(text) = std::env::var("BALLOT_SHARD") {
        return parse_shard(&text).map_err(|e| format!("BALLOT_SHARD: {e}"));
    }
    let Ok(index) = std::env::var("JOB_COMPLETION_INDEX") else { return Ok((0, 1)) };
    let count = std::env::var("BALLOT_SHARDS").map_err(|_| {
        "JOB_COMPLETION_INDEX is set but BALLOT_SHARDS (the shard count) is not".to_string()
    })?;
    let k: u64 =
        index.parse().map_err(|_| format!("JOB_COMPLETION_INDEX {index:?} is not a number"))?;
    parse_shard(&format!("{}/{count}", k + 1))
        .map_err(|e| format!("JOB_COMPLETION_INDEX of BALLOT_SHARDS: {e}"))
}

/// `--known`'s value: a property this build checks.
fn parse_property(name: &str) -> Result<String, String> {
    match crate::check::property(name) {
        Some(p) => Ok(p.name.to_string()),
        None => Err(format!("unknown property {name:?}")),
    }
}

/// Runs a campaign (or merges shards), prints and writes its summary, exits with its
/// verdict's status.
pub(crate) fn chaos(args: ChaosArgs) -> ExitCode {
    if let Some(ChaosCommand::Merge { dirs, out, json }) = args.command {
        return merge(&dirs, &out, Out { json });
    }
    let out = Out { json: args.json };
    if let Some(status) = fixture::hand_over(Some(args.core)) {
        return status;
    }
    if let Err(e) = super::check_output_dir(&args.out) {
        return bad_input(format!("{}: cannot write here: {e}", args.out.display()));
    }
    let shard = match args.shard.map_or_else(shard_from_env, Ok) {
        Ok(shard) => shard,
        Err(e) => return bad_input(e),
    };
    let base_seed = args.seed.unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(1, |d| d.as_nanos() as u64)
    });
    if let Err(e) = super::check_world(args.core, args.world) {
        return bad_input(e);
    }
    out.info(&format!("seed: {base_seed}"));
    let config = ChaosConfig {
        base_seed,
        runs: args.runs,
        duration: args.duration.or(args.runs.is_none().then(|| Duration::from_secs(600))),
        jobs: jobs_or_cores(args.jobs),
        shard,
        out: args.out.clone(),
        stop_on_violation: args.stop_on_violation,
        shrink_budget: args.shrink_budget,
        known: args.known,
        guided: args.guided,
        generation: chaos::GENERATION,
        core: args.core,
        world: args.world,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    let (on_stop, on_interrupt) = (stop.clone(), interrupted.clone());
    let _ = ctrlc::set_handler(move || {
        on_interrupt.store(true, Ordering::SeqCst);
        on_stop.store(true, Ordering::SeqCst);
    });
    let bar = progress_bar(args.runs);
    let terminal = std::io::stderr().is_terminal();
    let last_line: Mutex<Option<Instant>> = Mutex::new(None);
    let report = Reporter {
        line: &|line| bar.suspend(|| out.info(line)),
        progress: &|s| {
            let found: u64 = s.violations.values().sum();
            let status = format!(
                "{:.2} sim-h, {:.1} runs/s, {found} found",
                s.sim_ms / 3.6e6,
                s.runs as f64 / s.wall_s.max(1e-9)
            );
            if terminal {
                bar.set_position(s.runs);
                bar.set_message(status);
                return;
            }
            // Without a terminal: a line after the first run, then one every ten seconds.
            let mut last = last_line.lock().expect("lock");
            if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                *last = Some(Instant::now());
                eprintln!("{:.0} s: {} runs, {status}", s.wall_s, s.runs);
            }
        },
    };
    let summary = chaos::chaos(config, stop, &report);
    bar.finish_and_clear();
    if interrupted.load(Ordering::SeqCst) {
        out.info("interrupted: runs in flight finished, every artifact is on disk");
    }
    let path = args.out.join("summary.json");
    let json = serde_json::to_string_pretty(&summary).expect("summaries serialize");
    if let Err(e) = crate::report::write_atomic(&path, json.as_bytes()) {
        eprintln!("could not write {}: {e}", path.display());
    }
    if out.json {
        out.json(&summary);
    } else {
        print_for_a_person(&summary, args.world, &path);
    }
    exit(summary.verdict())
}

/// The end of a campaign for a person: what ran, each finding with its world label and the
/// line that replays it, how many runs judged each property (and what the others lacked),
/// and the marks no run reached.
fn print_for_a_person(s: &ChaosSummary, world: WorldName, path: &std::path::Path) {
    println!();
    println!(
        "{} runs in the {world} world, {:.1} simulated hours, in {:.0} s ({:.0} runs/s, {} jobs)",
        s.runs,
        s.sim_ms / 3.6e6,
        s.wall_s,
        s.runs as f64 / s.wall_s.max(1e-9),
        s.jobs
    );
    match s.artifacts.len() {
        0 => println!("findings: none"),
        n => println!("findings: {n}"),
    }
    for (property, run) in s.first_runs.iter().filter(|(p, _)| !s.violations.contains_key(*p)) {
        println!("  {property} (known, not shrunk): first in run {run}");
    }
    for file in &s.artifacts {
        let Ok(artifact) = crate::report::Artifact::read_unvalidated(std::path::Path::new(file))
        else {
            println!("  {file} (unreadable)");
            continue;
        };
        let property = artifact.summary.violations.first().map_or("?", |v| v.property.as_str());
        let label = artifact.turmoil.as_deref().unwrap_or("found in turmoil");
        println!("  {property}: {label}");
        println!("    {}", artifact.command);
    }
    if s.runs > 0 {
        println!("judged (runs that judged each property for some time):");
        for p in crate::PROPERTIES {
            let judged = s.checked_runs.get(p.name).copied().unwrap_or(0);
            let why = match p.needs {
                _ if judged == s.runs => String::new(),
                Some(needs) => format!("; the others lacked {needs}"),
                None => "; the others had no liveness phase".to_string(),
            };
            println!(
                "  {:<20} {judged} of {} ({:.1} %){why}",
                p.name,
                s.runs,
                100.0 * judged as f64 / s.runs as f64
            );
        }
    }
    let unreached: Vec<&str> =
        s.marks.iter().filter(|(_, runs)| **runs == 0).map(|(m, _)| m.as_str()).collect();
    if s.runs > 0 && !unreached.is_empty() {
        println!("marks no run reached: {}", unreached.join(", "));
    }
    println!("summary: {}", path.display());
}

/// `ballot chaos merge`: one summary and one copy of each finding from several shards.
fn merge(dirs: &[PathBuf], to: &std::path::Path, out: Out) -> ExitCode {
    if let Err(e) = super::check_output_dir(to) {
        return bad_input(format!("{}: cannot write here: {e}", to.display()));
    }
    let summary = match crate::explore::merge::merge(dirs, to) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    out.info(&format!(
        "merged {} shards: {} runs, {} distinct findings; summary: {}",
        dirs.len(),
        summary.runs,
        summary.artifacts.len(),
        to.join("summary.json").display()
    ));
    out.json(&summary);
    exit(summary.verdict())
}
