//! `ballot run --world processes`: a schedule against real `ballot node` processes, judged and
//! diagnosed; `--repeat N` for a reproduction rate, since the same schedule may not give the
//! same history twice.

use super::RunArgs;
use crate::cli::{bad_input, diagnose, exit, print_summary, save, write_timeline, Out};
use crate::report::{self, Verdict};
use crate::run::{run_processes, Run};
use crate::world::processes::{interrupt_cleanup, ProcessOptions};
use crate::world::WorldName;
use crate::{CoreName, Schedule};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `--world processes` says before it starts.
const NOT_DETERMINISTIC: &str = "world: processes (real `ballot node` processes on 127.0.0.1 \
    behind a fault proxy; not deterministic: the same schedule may not give the same history)";

/// Runs `schedule` once on processes (Ctrl-C, SIGTERM or SIGHUP kills every node and removes
/// the run's directory), recording to `record` if given.
pub(crate) fn run_once(schedule: &Schedule, record: Option<PathBuf>) -> Result<Run, String> {
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            interrupt_cleanup();
            eprintln!(
                "stopped by a signal: every node process killed, the run's directory removed"
            );
            std::process::exit(130);
        });
    });
    let binary = std::env::current_exe().map_err(|e| format!("the ballot binary: {e}"))?;
    let (mut run, exited) = run_processes(schedule, &ProcessOptions { binary, record })?;
    run.summary.world = Some(WorldName::Processes);
    run.summary.exited = exited;
    Ok(run)
}

/// Bad input for the processes world, if any: another core than ballot's, or a check of
/// determinism.
pub(crate) fn refuse(schedule: &Schedule, check_determinism: bool) -> Option<String> {
    if schedule.cluster.core != CoreName::Ballot {
        return Some(format!(
            "the processes world runs `ballot node`, ballot's core, not {}",
            schedule.cluster.core
        ));
    }
    check_determinism
        .then(|| "--check-determinism: the processes world is not deterministic".to_string())
}

/// `ballot run --world processes`: runs the schedule `--repeat` times (until the first
/// violation with `--stop-on-violation`); writes the history,
/// timeline and artifact of the first failing run (else the last); prints each summary (one
/// run) or each verdict and the reproduction rate (several); exits with the worst verdict.
pub(crate) fn run(args: RunArgs, schedule: Schedule) -> ExitCode {
    let out = Out { json: args.json };
    if let Some(problem) = refuse(&schedule, args.check_determinism) {
        return bad_input(problem);
    }
    out.info(&format!("seed: {}", schedule.seed));
    out.info(NOT_DETERMINISTIC);
    let repeat = args.repeat;
    // A failure keeps its record beside its artifact (removed again when nothing failed).
    let base = args
        .record
        .clone()
        .or_else(|| args.artifact.as_ref().map(|a| a.with_extension("processes")));
    let temporary = args.record.is_none();
    let mut kept: Option<(Run, Option<PathBuf>)> = None;
    let mut summaries = Vec::new();
    let mut violated: BTreeMap<String, u64> = BTreeMap::new();
    for k in 1..=repeat {
        let record = base.clone().map(|d| if repeat > 1 { d.join(format!("run-{k}")) } else { d });
        let result = match run_once(&schedule, record.clone()) {
            Ok(result) => result,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let failed = result.summary.verdict != Verdict::Pass;
        let names = names(&result);
        for p in &names {
            *violated.entry(p.to_string()).or_default() += 1;
        }
        if repeat > 1 {
            let which = if failed {
                format!(" ({})", names.iter().copied().collect::<Vec<_>>().join(", "))
            } else {
                String::new()
            };
            out.info(&format!("run {k}: {:?}{which}", result.summary.verdict));
        }
        summaries.push(result.summary.clone());
        // Keep the first failing run (else the last); a temporary record of any other goes.
        let replace = kept.as_ref().is_none_or(|(r, _)| r.summary.verdict == Verdict::Pass);
        let dropped =
            if replace { kept.replace((result, record)).and_then(|(_, d)| d) } else { record };
        if let (true, Some(dir)) = (temporary, dropped) {
            let _ = std::fs::remove_dir_all(dir);
        }
        if failed && args.stop_on_violation {
            break;
        }
    }
    let runs = summaries.len();
    let (result, record) = kept.expect("at least one run");
    if let Some(path) = &args.history {
        match report::write_atomic(path, &result.history_file(&schedule, WorldName::Processes)) {
            Ok(()) => out.info(&format!("history: {}", path.display())),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
    if let Some(path) = &args.timeline {
        write_timeline(path, &schedule, &result, out);
    }
    let worst = summaries.iter().map(|s| s.verdict).max().unwrap_or(Verdict::Pass);
    if repeat == 1 {
        print_summary(&result.summary, out);
        if !out.json {
            let views = result.views();
            println!("diagnosis:");
            diagnose::print(
                &crate::diagnose::failovers(&views),
                &crate::diagnose::diagnose(&views),
            );
        }
    } else {
        let rate: BTreeMap<&String, String> =
            violated.iter().map(|(p, k)| (p, format!("{k} of {runs}"))).collect();
        if out.json {
            out.json(&serde_json::json!({
                "world": "processes",
                "runs": runs,
                "violated": violated,
                "summaries": summaries,
            }));
        } else if rate.is_empty() {
            println!("every property held in all {runs} runs");
        } else {
            for (p, r) in rate {
                println!("{p}: violated in {r} runs");
            }
        }
    }
    let failed = result.summary.verdict != Verdict::Pass;
    if let (Some(path), true) = (&args.artifact, failed) {
        save(path, schedule.clone(), &result, WorldName::Processes, out);
        out.info(&format!(
            "re-run in the simulator: ballot repro {} --world turmoil",
            path.display()
        ));
    }
    match (&record, base) {
        (Some(dir), _) if failed || !temporary => out
            .info(&format!("the nodes' histories and output, the proxy's log: {}", dir.display())),
        (_, Some(base)) if temporary => {
            let _ = std::fs::remove_dir_all(base);
        }
        _ => {}
    }
    exit(worst)
}

/// The properties a run violated, each once.
fn names(run: &Run) -> BTreeSet<&str> {
    run.summary.violations.iter().map(|v| v.property.as_str()).collect()
}
