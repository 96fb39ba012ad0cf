//! `ballot run`: one schedule, every property, a verdict.

use super::{
    bad_input, check_outputs, exit, fixture, parse_core, print_summary, read_schedule, save,
    write_timeline, Out,
};
use crate::world::WorldName;
use crate::CoreName;
use crate::{report, Verdict};
pub(super) mod processes;

use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ballot run`.
#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The schedule file (JSON).
    pub(crate) schedule: PathBuf,
    /// Print the summary as JSON (and nothing else on stdout).
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the history as JSON lines.
    #[arg(long, value_name = "OUT.jsonl")]
    pub(crate) history: Option<PathBuf>,
    /// Write the run's timeline as a self-contained HTML page.
    #[arg(long, value_name = "OUT.html")]
    pub(crate) timeline: Option<PathBuf>,
    /// Write a failure artifact (and its timeline) here if a property is violated.
    #[arg(long, value_name = "OUT.json")]
    pub(crate) artifact: Option<PathBuf>,
    /// Run twice and compare the histories byte for byte (exit 4 if they differ).
    #[arg(long)]
    pub(crate) check_determinism: bool,
    /// Run on this election core instead of the schedule's `cluster.core`: ballot, raft-rs,
    /// raft-rs-0.3.0, raft-rs-0.3.1, openraft-0.9.24, openraft-0.9.25 (turmoil only).
    #[arg(long, value_parser = parse_core)]
    pub(crate) core: Option<CoreName>,
    /// Where the schedule runs: turmoil (real async nodes, UDP and disk), events (the same
    /// cores and driver contract on an event queue, many times faster) or processes (real
    /// `ballot node` processes on 127.0.0.1 behind a fault proxy; not deterministic).
    #[arg(long, default_value = "turmoil")]
    pub(crate) world: WorldName,
    /// Processes world: run the schedule this many times and give how often each property
    /// failed (a reproduction rate).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) repeat: u64,
    /// Keep each node's own history file here, `node-<i>-history.jsonl`, as `ballot node`
    /// writes it. Processes world: also each node's output and the proxy's log of every
    /// datagram's fate (one directory per run with `--repeat`); a failing run with
    /// `--artifact` keeps them beside the artifact without it. Turmoil world: the files are
    /// written on the simulated clocks, the same for the same seed.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
    /// Processes world, with `--repeat`: stop at the first run that violates a property.
    #[arg(long)]
    pub(crate) stop_on_violation: bool,
}

/// Makes `dir` ready for a run's record: writable, and without the node files of an earlier
/// run (a simulated node appends to its file across restarts).
fn prepare_record(dir: &std::path::Path, nodes: usize) -> std::io::Result<()> {
    crate::cli::check_output_dir(dir)?;
    for i in 0..nodes {
        match std::fs::remove_file(dir.join(format!("node-{i}-history.jsonl"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Runs the schedule (twice with `--check-determinism`), writes what was asked for, prints
/// the summary and exits with the verdict's status.
pub(crate) fn run(args: RunArgs) -> ExitCode {
    let out = Out { json: args.json };
    let core = args.core.or_else(|| fixture::named_in(&args.schedule, false));
    if let Some(status) = fixture::hand_over(core) {
        return status;
    }
    let schedule = match read_schedule(&args.schedule, args.core) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    if let Err(e) = super::check_world(schedule.cluster.core, args.world) {
        return bad_input(e);
    }
    if let Err(e) = check_outputs(
        [args.history.as_ref(), args.timeline.as_ref(), args.artifact.as_ref()],
        &[&args.schedule],
    ) {
        return bad_input(e);
    }
    if let Some(record) = &args.record {
        if args.world == WorldName::Events {
            return bad_input(
                "--record is for the turmoil and processes worlds (the events world runs no \
                 node files)",
            );
        }
        if let Err(e) = prepare_record(record, schedule.cluster.nodes) {
            return bad_input(format!("--record {}: cannot write here: {e}", record.display()));
        }
    }
    if args.world == WorldName::Processes {
        return processes::run(args, schedule);
    }
    if args.repeat > 1 {
        return bad_input("--repeat is for the processes world (a simulated run is deterministic)");
    }
    out.info(&format!("seed: {}", schedule.seed));
    let run = |s: &crate::Schedule| {
        crate::run::run_in(s, args.world).expect("fixture cores were handed over above")
    };
    let result = match &args.record {
        Some(dir) => crate::run::run_recorded(&schedule, dir).expect("handed over above"),
        None => run(&schedule),
    };
    if let Some(dir) = &args.record {
        out.info(&format!("node files: {}", dir.display()));
    }
    if args.check_determinism {
        let again = run(&schedule);
        if again.history_jsonl() != result.history_jsonl() {
            eprintln!(
                "nondeterminism: two runs of seed {} gave different histories",
                schedule.seed
            );
            return exit(Verdict::Nondeterminism);
        }
        out.info("deterministic: two runs gave the same history");
    }
    if let Some(path) = args.history {
        match report::write_atomic(&path, &result.history_file(&schedule, args.world)) {
            Ok(()) => out.info(&format!("history: {}", path.display())),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
    if let Some(path) = args.timeline {
        write_timeline(&path, &schedule, &result, out);
    }
    print_summary(&result.summary, out);
    if let (Some(path), false) = (args.artifact, result.summary.violations.is_empty()) {
        save(&path, schedule, &result, args.world, out);
    }
    exit(result.summary.verdict)
}
