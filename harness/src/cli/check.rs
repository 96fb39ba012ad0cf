//! `ballot check`: judge a recorded history with every property, as `ballot run` judges the
//! run it records.

use super::{bad_input, check_outputs, exit, print_summary, write_timeline, Out};
use crate::Run;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ballot check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The history file (JSON lines: a meta line, then one event a line; SPEC.md, "History").
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
    if let Err(e) = check_outputs([args.timeline.as_ref()]) {
        return bad_input(e);
    }
    let [path] = &args.histories[..] else {
        return bad_input(format!(
            "{} history files given: a history is one file (the simulator's); merging the \
             per-node files of a real cluster needs node histories, which ballot-node does not \
             write yet",
            args.histories.len()
        ));
    };
    let read = match super::read_history(path) {
        Ok(read) => read,
        Err(e) => return bad_input(e),
    };
    let schedule = read.meta.schedule.clone();
    out.info(&format!("seed: {}", schedule.seed));
    out.info(&format!(
        "history: {}, a {} run in the {} world",
        path.display(),
        schedule.cluster.core,
        read.meta.world
    ));
    let run = Run::of_file(read);
    if let Some(timeline) = args.timeline {
        write_timeline(&timeline, &schedule, &run, out);
    }
    print_summary(&run.summary, out);
    exit(run.summary.verdict)
}
