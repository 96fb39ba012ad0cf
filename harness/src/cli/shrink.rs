//! `ballot shrink`: a failing schedule made minimal, still failing the same property.

use super::{bad_input, exit, save};
use ballot_harness::explore::shrink::{shrink as shrink_schedule, size};
use ballot_harness::Artifact;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Shrinks the artifact at `path` with at most `budget` runs and saves the result.
pub(crate) fn shrink(path: &Path, out: Option<PathBuf>, budget: usize) -> ExitCode {
    let saved = match Artifact::read(path) {
        Ok(a) => a,
        Err(e) => return bad_input(format!("{}: {e}", path.display())),
    };
    println!("seed: {}", saved.schedule.seed);
    let Some(property) = saved.summary.violations.first().map(|v| v.property.clone()) else {
        return bad_input(format!("{}: the artifact records no violation", path.display()));
    };
    let shrunk = shrink_schedule(&saved.schedule, &property, budget);
    let (before, after) = (size(&saved.schedule), size(&shrunk.schedule));
    println!(
        "shrunk {property} in {} runs: {} steps, {} nodes, {} ms -> {} steps, {} nodes, {} ms",
        shrunk.runs, before.0, before.1, before.2, after.0, after.1, after.2
    );
    let result = ballot_harness::run(&shrunk.schedule);
    let out = out.unwrap_or_else(|| path.with_extension("min.json"));
    save(&out, shrunk.schedule, &result, false);
    exit(result.summary.verdict)
}
