//! `ballot repro`: replay a saved failure and say whether the same violation came back.

use super::{
    bad_input, check_outputs, exit, fixture, print_summary, read_artifact, write_timeline, Out,
};
use crate::check::property;
use crate::world::WorldName;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ballot repro`.
#[derive(clap::Args)]
pub(crate) struct ReproArgs {
    /// The failure artifact (JSON).
    artifact: PathBuf,
    /// Print the replay's summary as JSON, with `reproduced` (and nothing else on stdout).
    #[arg(long)]
    json: bool,
    /// Write the replay's timeline as a self-contained HTML page.
    #[arg(long, value_name = "OUT.html")]
    timeline: Option<PathBuf>,
    /// Replay in this world instead of the one the artifact failed in: turmoil, events or
    /// processes (an artifact of the processes world replays on processes unless told).
    #[arg(long)]
    world: Option<WorldName>,
}

/// The properties an artifact records as violated, each once, in order; bad input when it
/// records none or names a property this build does not know.
pub(crate) fn recorded(artifact: &crate::Artifact) -> Result<Vec<String>, String> {
    let mut wanted: Vec<String> = Vec::new();
    for v in &artifact.summary.violations {
        if property(&v.property).is_none() {
            return Err(format!("the artifact names an unknown property {:?}", v.property));
        }
        if !wanted.contains(&v.property) {
            wanted.push(v.property.clone());
        }
    }
    if wanted.is_empty() {
        return Err("the artifact records no violation".into());
    }
    Ok(wanted)
}

/// Replays the artifact; exits with the replay's own status.
pub(crate) fn repro(args: ReproArgs) -> ExitCode {
    if let Some(status) = fixture::hand_over(fixture::named_in(&args.artifact, true)) {
        return status;
    }
    let out = Out { json: args.json };
    let saved = match read_artifact(&args.artifact) {
        Ok(a) => a,
        Err(e) => return bad_input(e),
    };
    let wanted = match recorded(&saved) {
        Ok(w) => w,
        Err(e) => return bad_input(format!("{}: {e}", args.artifact.display())),
    };
    if let Err(e) = check_outputs([args.timeline.as_ref()], &[&args.artifact]) {
        return bad_input(e);
    }
    out.info(&format!("seed: {}", saved.schedule.seed));
    let world = args.world.unwrap_or(saved.world);
    if let Err(e) = super::check_world(saved.schedule.cluster.core, world) {
        return bad_input(e);
    }
    out.info(&format!("world: {world}"));
    let result = if world.simulated() {
        crate::run::run_in(&saved.schedule, world).expect("fixture cores were handed over")
    } else {
        if let Some(problem) = super::run::processes::refuse(&saved.schedule, false) {
            return bad_input(problem);
        }
        match super::run::processes::run_once(&saved.schedule, None) {
            Ok(result) => result,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    if let Some(path) = &args.timeline {
        write_timeline(path, &saved.schedule, &result, out);
    }
    let back: Vec<&str> =
        wanted.iter().map(String::as_str).filter(|p| result.summary.violates(p)).collect();
    if out.json {
        let mut json = serde_json::to_value(&result.summary).expect("summaries serialize");
        json["reproduced"] = serde_json::json!(back);
        out.json(&json);
    } else {
        print_summary(&result.summary, out);
        if back.is_empty() {
            println!("not reproduced: {} did not come back", wanted.join(", "));
        } else {
            println!("reproduced: {}", back.join(", "));
        }
    }
    exit(result.summary.verdict)
}
