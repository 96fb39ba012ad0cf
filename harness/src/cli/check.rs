//! `ballot check`: judge a recorded history with every property it supports, as `ballot run`
//! judges the run it records.

use super::{bad_input, check_outputs, exit, print_history_summary, read_history, Out};
use crate::Run;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ballot check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The history: one file the simulator wrote, or the files of a real cluster's nodes
    /// (merged by wall clock). JSON lines: a meta line, then one event a line (SPEC.md).
    #[arg(required = true, value_name = "HISTORY.jsonl")]
    histories: Vec<PathBuf>,
    /// Print the summary as JSON (and nothing else on stdout).
    #[arg(long)]
    json: bool,
    /// Write the history's timeline as a self-contained HTML page.
    #[arg(long, value_name = "OUT.html")]
    timeline: Option<PathBuf>,
}

/// Reads the history, judges it, prints the summary and exits with the verdict's status.
pub(crate) fn check(args: CheckArgs) -> ExitCode {
    let out = Out { json: args.json };
    let inputs: Vec<&std::path::Path> = args.histories.iter().map(PathBuf::as_path).collect();
    if let Err(e) = check_outputs([args.timeline.as_ref()], &inputs) {
        return bad_input(e);
    }
    let read = match read_history(&args.histories) {
        Ok(read) => read,
        Err(e) => return bad_input(e),
    };
    let (origin, dropped) = (read.origin.clone(), read.dropped_events);
    let run = Run::of_file(read);
    if let Some(timeline) = args.timeline {
        let title = format!("ballot check: {:?}", run.summary.verdict);
        super::write_titled_timeline(&timeline, &title, &run, out);
    }
    print_history_summary(&origin, dropped, &run.summary, out);
    exit(run.summary.verdict)
}
