//! `ballot shrink`: a failing schedule made minimal, still failing the same property.

use super::{
    bad_input, check_outputs, exit, fixture, read_artifact, repro::recorded, save, simulated_world,
    Out,
};
use crate::explore::shrink::{shrink_in, size};
use crate::run::run_in;
use crate::world::WorldName;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ballot shrink`.
#[derive(clap::Args)]
pub(crate) struct ShrinkArgs {
    /// The failure artifact (JSON).
    artifact: PathBuf,
    /// Where to write the minimal artifact (default: beside the input, `.min.json`).
    #[arg(long, value_name = "MIN.json")]
    out: Option<PathBuf>,
    /// Most simulations to run while shrinking.
    #[arg(long, default_value_t = 400)]
    budget: usize,
    /// Which recorded property the minimal schedule must still fail (default: the first).
    #[arg(long)]
    property: Option<String>,
    /// Shrink in this world instead of the one the artifact failed in: turmoil or events
    /// (an artifact of the processes world shrinks in turmoil unless told).
    #[arg(long, value_parser = simulated_world)]
    world: Option<WorldName>,
}

/// Replays the artifact, refuses if the property (the first recorded, or `--property`) does
/// not fail any more, shrinks with at most `budget` runs and saves the result.
pub(crate) fn shrink(args: ShrinkArgs) -> ExitCode {
    if let Some(status) = fixture::hand_over(fixture::named_in(&args.artifact, true)) {
        return status;
    }
    let out = Out { json: false };
    let saved = match read_artifact(&args.artifact) {
        Ok(a) => a,
        Err(e) => return bad_input(e),
    };
    let property = match (recorded(&saved), args.property) {
        (Ok(w), None) => w[0].clone(),
        (Ok(w), Some(p)) if w.contains(&p) => p,
        (Ok(w), Some(p)) => {
            let recorded = w.join(", ");
            let problem = format!("--property {p}: the artifact records only {recorded}");
            return bad_input(format!("{}: {problem}", args.artifact.display()));
        }
        (Err(e), _) => return bad_input(format!("{}: {e}", args.artifact.display())),
    };
    let target = args.out.unwrap_or_else(|| args.artifact.with_extension("min.json"));
    if let Err(e) = check_outputs([Some(&target)], &[&args.artifact]) {
        return bad_input(e);
    }
    out.info(&format!("seed: {}", saved.schedule.seed));
    let world = args.world.unwrap_or(if saved.world.simulated() {
        saved.world
    } else {
        WorldName::Turmoil
    });
    if let Err(e) = super::check_world(saved.schedule.cluster.core, world) {
        return bad_input(e);
    }
    out.info(&format!("world: {world}"));
    let run = |s: &crate::Schedule| run_in(s, world).expect("fixture cores were handed over");
    if !run(&saved.schedule).summary.violates(&property) {
        return bad_input(format!(
            "{}: {property} does not fail any more, so there is nothing to shrink (ballot repro shows the replay)",
            args.artifact.display()
        ));
    }
    let shrunk = shrink_in(&saved.schedule, &property, args.budget, world);
    let (before, after) = (size(&saved.schedule), size(&shrunk.schedule));
    println!(
        "shrunk {property} in {} runs ({:.1} s): {} steps, {} nodes, {} ms -> {} steps, {} nodes, {} ms",
        shrunk.runs,
        shrunk.took.as_secs_f64(),
        before.0,
        before.1,
        before.2,
        after.0,
        after.1,
        after.2
    );
    let result = run(&shrunk.schedule);
    save(&target, shrunk.schedule, &result, world, out);
    exit(result.summary.verdict)
}
