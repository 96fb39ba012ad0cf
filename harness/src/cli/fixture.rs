//! A command that names a core this build lacks (a raft-rs 0.3 fixture, see
//! [`crate::cores`]) is handed, with the same arguments, to the `ballot` binary that
//! `make fixtures` built for that core.

use super::bad_input;
use crate::CoreName;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The core a schedule file (or, with `in_artifact`, an artifact's schedule) names, if the
/// file reads and names one; any problem is left for the command itself to report.
pub(super) fn named_in(path: &Path, in_artifact: bool) -> Option<CoreName> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()?;
    let schedule = if in_artifact { &value["schedule"] } else { &value };
    schedule["cluster"]["core"].as_str()?.parse().ok()
}

/// Where `make fixtures` puts the binary for `core`: `$BALLOT_FIXTURES/<core>`, else
/// `target/fixtures/bin/<core>` beside this binary's `target/<profile>/`.
fn binary(core: CoreName) -> Option<PathBuf> {
    let dir = match std::env::var_os("BALLOT_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe().ok()?.parent()?.parent()?.join("fixtures/bin"),
    };
    Some(dir.join(core.name())).filter(|p| p.is_file())
}

/// `None` if this build runs `core` (or none was named); otherwise the exit status of the
/// same command run by the fixture binary for `core`, or bad input if it is not built.
pub(super) fn hand_over(core: Option<CoreName>) -> Option<ExitCode> {
    let core = core.filter(|c| !c.available())?;
    let Some(path) = binary(core) else {
        return Some(bad_input(format!(
            "core {core} is a fixture built apart: run `make fixtures` first"
        )));
    };
    let status = std::process::Command::new(&path).args(std::env::args_os().skip(1)).status();
    Some(match status {
        Ok(status) => ExitCode::from(status.code().map_or(2, |c| c as u8)),
        Err(e) => bad_input(format!("{}: {e}", path.display())),
    })
}
