//! The `ballot` command: run, reproduce and shrink fault schedules against real nodes in
//! simulation. One function per command, each in its own file; the output rules all commands
//! share live here: with `--json`, stdout carries exactly one JSON document and everything
//! else goes to stderr; bad input is one line on stderr and exit status 2, before anything
//! runs. A library function (not only a binary) so that a fixture build, which links another
//! election core, can offer the same command (see [`crate::cores`]).

mod bench;
mod chaos;
mod check;
mod diagnose;
mod fixture;
mod node;
mod repro;
mod run;
mod shrink;

use crate::check::property;
use crate::history::file::Origin;
use crate::report::timeline;
use crate::world::WorldName;
use crate::{report, CoreName, Run, Schedule, ScheduleError, Summary, Verdict};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
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
    Run(run::RunArgs),
    /// Replay a saved failure; the exit status says whether the same violation came back.
    Repro(repro::ReproArgs),
    /// Judge a recorded history (`ballot run --history`) with every property it supports.
    Check(check::CheckArgs),
    /// Explain slow failovers, frequent elections and two leaders from a recorded history.
    Diagnose(diagnose::DiagnoseArgs),
    /// Run one real node over UDP (state and history in --dir); SIGTERM stops it cleanly.
    Node(node::NodeArgs),
    /// Long randomized runs of generated schedules; failures are shrunk and saved.
    Chaos(chaos::ChaosArgs),
    /// Benchmarks: the Raft paper's failover figure, and simulator speed.
    Bench {
        #[command(subcommand)]
        which: bench::Bench,
    },
    /// Print the schedule that a seed generates (the same one `chaos` runs for that seed).
    Generate {
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// The schedule chaos runs on this core (`chaos --core`): the options and steps the
        /// core lacks left out.
        #[arg(long, value_parser = parse_core)]
        core: Option<CoreName>,
    },
    /// Shrink a failing schedule to a minimal one that still fails the same property.
    Shrink(shrink::ShrinkArgs),
}

/// Parses the command line, runs the command, and returns its exit status (SPEC.md).
pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    keep_large_allocations_in_the_heap();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Repro(args) => repro::repro(args),
        Command::Check(args) => check::check(args),
        Command::Diagnose(args) => diagnose::diagnose(args),
        Command::Node(args) => node::node(args),
        Command::Chaos(args) => chaos::chaos(args),
        Command::Bench { which } => bench::bench(which),
        Command::Generate { seed, core } => {
            let schedule = crate::explore::generate::generate(seed);
            let schedule = match core {
                Some(core) => schedule.on_core(core),
                None => schedule,
            };
            println!("{}", schedule.to_json());
            ExitCode::SUCCESS
        }
        Command::Shrink(args) => shrink::shrink(args),
    }
}

/// Rust ignores SIGPIPE, so printing to a pipe whose reader has gone (`ballot run s.json |
/// head -2`) fails and `println!` panics. Restore the default action: the command ends quietly,
/// as Unix tools do.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread starts; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A simulated disk holds each node's state file (hundreds of KB with a long log) in one
/// allocation, replaced on every save. glibc serves allocations that large with `mmap` and
/// returns them on free, so every save faulted in fresh zeroed pages: about a tenth of an
/// event-world run's time, in the kernel. Keep them in the heap instead, where they are
/// reused. (Measured with `chaos --world events --runs 2000 --seed 21`: 0.39 s of 4.7 s in
/// the kernel before, 0.02 s after.)
fn keep_large_allocations_in_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing, before any thread starts or allocates much; both are
    // documented mallopt parameters and the values are in range.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

/// A clap error as SPEC.md wants bad input: one line, exit 2 (help and version print as
/// usual and exit 0).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{}", e.render());
            return ExitCode::from(2);
        }
        _ => {}
    }
    // A missing flag is named on the lines after the first: name them all in the one line.
    if let Some(clap::error::ContextValue::Strings(missing)) =
        e.get(clap::error::ContextKind::InvalidArg)
    {
        if e.kind() == ErrorKind::MissingRequiredArgument {
            eprintln!("error: missing {} (see ballot --help)", missing.join(", "));
            return ExitCode::from(2);
        }
    }
    let text = e.render().to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("bad arguments");
    let first = first.trim_start_matches("error: ");
    eprintln!("error: {first} (see ballot --help)");
    ExitCode::from(2)
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

/// Where a command's lines go: stdout, or stderr when stdout carries one JSON document.
#[derive(Clone, Copy)]
struct Out {
    json: bool,
}

impl Out {
    /// A line of information (the seed, a path written, a finding).
    fn info(self, line: &str) {
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// The command's one JSON document: printed only with `--json`.
    fn json(self, value: &impl serde::Serialize) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).expect("outputs serialize"));
        }
    }
}

/// Reads and validates a schedule, on `core` if one is named (`--core`); the error names the
/// file once and the field at fault.
fn read_schedule(path: &Path, core: Option<CoreName>) -> Result<Schedule, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Schedule::from_json_on(&text, core).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads history files (one simulator history, or a real cluster's per-node files); the
/// error names the file.
fn read_history(paths: &[PathBuf]) -> Result<crate::history::file::HistoryFile, String> {
    let mut files: Vec<(String, Box<dyn std::io::BufRead>)> = Vec::new();
    for path in paths {
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push((path.display().to_string(), Box::new(std::io::BufReader::new(f))));
    }
    crate::history::file::read(files)
}

/// Whether `world` can run `core`: an async core (openraft) runs in the turmoil world only.
fn check_world(core: CoreName, world: WorldName) -> Result<(), String> {
    if core.turmoil_only() && world != WorldName::Turmoil {
        return Err(format!(
            "{core} runs in the turmoil world only (its nodes are async tasks): use --world turmoil"
        ));
    }
    Ok(())
}

/// A simulated world (`--world` of every command but `run` and `repro`).
pub(crate) fn simulated_world(text: &str) -> Result<WorldName, String> {
    let world: WorldName = text.parse()?;
    if !world.simulated() {
        return Err("the processes world runs only with `ballot run` (and `ballot repro`): use turmoil or events".into());
    }
    Ok(world)
}

/// `--core`'s value.
fn parse_core(text: &str) -> Result<CoreName, String> {
    text.parse()
}

/// Reads a failure artifact; the error names the file once.
fn read_artifact(path: &Path) -> Result<report::Artifact, String> {
    report::Artifact::read(path).map_err(|e: ScheduleError| {
        if e.field == path.display().to_string() {
            format!("{}: {}", e.field, e.problem)
        } else {
            format!("{}: {e}", path.display())
        }
    })
}

/// Checks, before anything runs, that a file can be written at `path` (its directory is
/// created if needed): an output path that cannot be written is bad input.
fn check_output(path: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: cannot write here: {e}", path.display());
    if path.is_dir() {
        return Err(format!("{}: is a directory", path.display()));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    check_output_dir(dir).map_err(fail)
}

/// Checks that `dir` exists (or can be made) and takes a new file.
fn check_output_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".ballot-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Checks every output path given; the first that cannot be written, or that is one of the
/// command's `inputs` (which writing would destroy), is the error.
fn check_outputs<'a>(
    paths: impl IntoIterator<Item = Option<&'a PathBuf>>,
    inputs: &[&Path],
) -> Result<(), String> {
    paths.into_iter().flatten().try_for_each(|p| {
        if let Some(input) = inputs.iter().find(|input| same_file(p, input)) {
            return Err(format!(
                "{}: is the input {}; writing it would destroy it",
                p.display(),
                input.display()
            ));
        }
        check_output(p)
    })
}

/// Whether two paths name the same existing file (links and `..` resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Prints a summary: JSON, or a verdict line, the violations, and every property that was
/// judged for less than the whole run (or not at all).
fn print_summary(summary: &Summary, out: Out) {
    if out.json {
        out.json(summary);
        return;
    }
    let s = &summary.stats;
    // Only a real cluster's history has properties it cannot support: its time is wall time,
    // and its nodes do not record the messages they send.
    if summary.world.is_some_and(|w| !w.simulated()) {
        println!(
            "verdict: {:?} ({} elections, max term {}, {} messages, {} ms of real time)",
            summary.verdict, s.elections, s.max_term, s.messages, s.sim_ms
        );
    } else if summary.unsupported.is_empty() {
        println!(
            "verdict: {:?} ({} elections, max term {}, {} messages, {} ms simulated)",
            summary.verdict, s.elections, s.max_term, s.messages, s.sim_ms
        );
    } else {
        println!(
            "verdict: {:?} ({} elections, max term {}, {} ms of history)",
            summary.verdict, s.elections, s.max_term, s.sim_ms
        );
    }
    for v in &summary.violations {
        println!("  {} at {:.1} ms, nodes {:?}: {}", v.property, v.t_ms, v.nodes, v.message);
    }
    for exit in &summary.exited {
        println!("  {exit}");
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
    let (situational, not_checked): (Vec<&str>, Vec<&str>) = summary
        .not_checked()
        .into_iter()
        .filter(|p| !summary.unsupported.contains_key(*p))
        .partition(|p| property(p).is_some_and(|p| p.needs.is_some()));
    if !not_checked.is_empty() {
        println!("not checked: {} (the run could not judge them)", not_checked.join(", "));
    }
    for p in situational {
        let needs = property(p).and_then(|p| p.needs).unwrap_or_default();
        println!("not reached: {p} (needs {needs})");
    }
}

/// What a real cluster's history is: its files and how its nodes are numbered.
fn cluster_line(c: &crate::history::file::ClusterMeta) -> String {
    let numbering: Vec<String> =
        c.members.iter().enumerate().map(|(i, m)| format!("{i} = id {}", m.id)).collect();
    format!(
        "cluster {}: files of nodes {:?} of {}, merged by wall clock from {:.0} (Unix ms); \
         nodes by position among the members: {}",
        c.cluster_id,
        c.nodes_read,
        c.members.len(),
        c.origin_wall_ms,
        numbering.join(", ")
    )
}

/// Says where a history came from (its seed, or its cluster's files and numbering), and
/// whether its nodes dropped events.
fn describe_history(origin: &Origin, dropped_events: u64, out: Out) {
    match origin {
        Origin::Simulator(meta) => out.info(&format!("seed: {}", meta.schedule.seed)),
        Origin::Cluster(c) => out.info(&cluster_line(c)),
    }
    if dropped_events > 0 {
        out.info(&format!(
            "incomplete: the nodes dropped {dropped_events} events (a pass says less than it would)"
        ));
    }
}

/// Says what a history is, then prints its summary as `print_summary` does (with the
/// properties it could not support and why).
fn print_history_summary(origin: &Origin, dropped_events: u64, summary: &Summary, out: Out) {
    describe_history(origin, dropped_events, out);
    if let Origin::Simulator(meta) = origin {
        out.info(&format!("a {} run in the {} world", meta.schedule.cluster.core, meta.world));
    }
    print_summary(summary, out);
    if !out.json {
        for (p, why) in &summary.unsupported {
            println!("unsupported: {p} ({why})");
        }
    }
}

/// Writes a run's timeline; says where, or why not.
fn write_timeline(path: &Path, schedule: &Schedule, result: &Run, out: Out) {
    let on = match result.summary.world {
        Some(world) => format!(" on {world}"),
        None => String::new(),
    };
    let title = format!("ballot run{on}, seed {}: {:?}", schedule.seed, result.summary.verdict);
    write_titled_timeline(path, &title, result, out);
}

/// Writes a timeline titled `title`; says where, or why not.
fn write_titled_timeline(path: &Path, title: &str, result: &Run, out: Out) {
    let html = timeline::render(&result.views(), &result.summary.violations, title);
    match report::write_atomic(path, html.as_bytes()) {
        Ok(()) => out.info(&format!("timeline: {}", path.display())),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Saves a failure artifact (of a run in `world`) and its timeline beside it.
fn save(path: &Path, schedule: Schedule, result: &Run, world: WorldName, out: Out) {
    write_timeline(&path.with_extension("html"), &schedule, result, out);
    let artifact = report::Artifact::new(schedule, result.summary.clone(), world, path);
    match artifact.write(path) {
        Ok(()) => {
            out.info(&format!("artifact: {}\nreproduce: {}", path.display(), artifact.command))
        }
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Worker threads: as asked, or every core.
fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Parses a worker count: at least 1.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("--jobs must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a number of worker threads")),
    }
}

/// Parses a duration like `500ms`, `90s`, `10m` or `2h` (a bare number is seconds), at most
/// a year.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    const YEAR_MS: u64 = 365 * 24 * 3_600_000;
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration like 90s or 10m"))?;
    let per_unit = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => return Err(format!("unknown unit {other:?} in {text:?} (use ms, s, m or h)")),
    };
    match n.checked_mul(per_unit) {
        Some(ms) if ms <= YEAR_MS => Ok(std::time::Duration::from_millis(ms)),
        _ => Err(format!("{text:?} is longer than a year")),
    }
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

/// A progress bar over `runs` runs, or an open-ended counter, on stderr, at most 80 columns.
fn progress_bar(runs: Option<u64>) -> indicatif::ProgressBar {
    let (bar, template) = match runs {
        Some(n) => {
            (indicatif::ProgressBar::new(n), "{elapsed_precise} [{bar:16}] {pos}/{len} {msg}")
        }
        None => {
            (indicatif::ProgressBar::new_spinner(), "{elapsed_precise} {spinner} {pos} runs {msg}")
        }
    };
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = indicatif::ProgressStyle::with_template(template).expect("valid template");
    bar.set_style(style.progress_chars("=> "));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
