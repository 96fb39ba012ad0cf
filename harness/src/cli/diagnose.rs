//! `ballot diagnose`: slow failovers, frequent elections and two leaders, explained from a
//! recorded history.

use super::{bad_input, read_history, Out};
use crate::diagnose::{self, Failover, Finding};
use crate::Run;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ballot diagnose`.
#[derive(clap::Args)]
pub(crate) struct DiagnoseArgs {
    /// The history: one file the simulator wrote, or the files of a real cluster's nodes.
    #[arg(required = true, value_name = "HISTORY.jsonl")]
    histories: Vec<PathBuf>,
    /// Print `{"failovers": [...], "findings": [...]}` as JSON (and nothing else on stdout).
    #[arg(long)]
    json: bool,
}

/// Reads the history, prints what it found (exit 0 whether or not it found anything; 2 for
/// bad input).
pub(crate) fn diagnose(args: DiagnoseArgs) -> ExitCode {
    let out = Out { json: args.json };
    let read = match read_history(&args.histories) {
        Ok(read) => read,
        Err(e) => return bad_input(e),
    };
    super::describe_history(&read.origin, read.dropped_events, out);
    let run = Run::of_file(read);
    let views = run.views();
    let (failovers, findings) = (diagnose::failovers(&views), diagnose::diagnose(&views));
    if out.json {
        out.json(&serde_json::json!({ "failovers": failovers, "findings": findings }));
    } else {
        print(&failovers, &findings);
    }
    ExitCode::SUCCESS
}

/// Prints every failover and every finding with its causes and fixes.
pub(crate) fn print(failovers: &[Failover], findings: &[Finding]) {
    for f in failovers {
        println!(
            "failover: node {} (term {}) lost at {:.0} ms; node {} led term {} {:.0} ms later \
             ({} election(s); the configuration allows {:.0} ms{})",
            f.leader,
            f.term,
            f.lost_ms,
            f.next_leader,
            f.next_term,
            f.took_ms,
            f.elections,
            f.allowed_ms,
            if f.no_majority_ms > 0.0 {
                format!(", {:.0} ms of it without a majority", f.no_majority_ms)
            } else {
                String::new()
            }
        );
    }
    if findings.is_empty() {
        println!("nothing to diagnose: no slow failover, no election under a live leader, never two leaders");
        return;
    }
    for f in findings {
        let symptom = serde_json::to_value(f.symptom).expect("a name");
        let symptom = symptom.as_str().unwrap_or_default().replace('_', " ");
        println!(
            "{symptom}, {:.0}-{:.0} ms, nodes {:?}: {}",
            f.from_ms, f.to_ms, f.nodes, f.summary
        );
        for c in &f.causes {
            println!("  {}: {}", c.name, c.detail);
            println!("    fix: {}", c.fix);
        }
    }
}
