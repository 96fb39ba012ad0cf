//! `ballot repro`: replay a saved failure and say whether the same violation came back.

use super::{bad_input, exit, print_summary, write_timeline};
use ballot_harness::Artifact;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Replays the artifact at `path`; exits with the replay's own status.
pub(crate) fn repro(path: &Path, timeline: Option<PathBuf>) -> ExitCode {
    let saved = match Artifact::read(path) {
        Ok(a) => a,
        Err(e) => return bad_input(format!("{}: {e}", path.display())),
    };
    println!("seed: {}", saved.schedule.seed);
    let result = ballot_harness::run(&saved.schedule);
    if let Some(path) = timeline {
        write_timeline(&path, &saved.schedule, &result, false);
    }
    print_summary(&result.summary, false);
    let mut wanted: Vec<&str> =
        saved.summary.violations.iter().map(|v| v.property.as_str()).collect();
    wanted.dedup();
    let back: Vec<&str> = wanted.iter().copied().filter(|p| result.summary.violates(p)).collect();
    if back.is_empty() {
        println!("not reproduced: {} did not come back", wanted.join(", "));
    } else {
        println!("reproduced: {}", back.join(", "));
    }
    exit(result.summary.verdict)
}
