//! `ballot run`: one schedule, every property, a verdict.

use super::{bad_input, exit, info, print_summary, read_schedule, save, write_timeline};
use ballot_harness::{report, Verdict};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs the schedule at `path` (twice with `check_determinism`), writes what was asked for,
/// prints the summary and exits with the verdict's status.
pub(crate) fn run(
    path: &Path,
    json: bool,
    history: Option<PathBuf>,
    timeline: Option<PathBuf>,
    artifact: Option<PathBuf>,
    check_determinism: bool,
) -> ExitCode {
    let schedule = match read_schedule(path) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    info(json, &format!("seed: {}", schedule.seed));
    let result = ballot_harness::run(&schedule);
    if check_determinism {
        let again = ballot_harness::run(&schedule);
        if again.history_jsonl() != result.history_jsonl() {
            eprintln!(
                "nondeterminism: two runs of seed {} gave different histories",
                schedule.seed
            );
            return exit(Verdict::Nondeterminism);
        }
        info(json, "deterministic: two runs gave the same history");
    }
    if let Some(path) = history {
        if let Err(e) = report::write_atomic(&path, &result.history_jsonl()) {
            eprintln!("could not write {}: {e}", path.display());
        }
    }
    if let Some(path) = timeline {
        write_timeline(&path, &schedule, &result, json);
    }
    print_summary(&result.summary, json);
    if let (Some(path), false) = (artifact, result.summary.violations.is_empty()) {
        save(&path, schedule, &result, json);
    }
    exit(result.summary.verdict)
}
